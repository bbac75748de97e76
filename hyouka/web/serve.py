"""Running the web app with uvicorn (what ``hyouka serve`` calls).

With SQLite there is one server process (its writes go through one writer). With PostgreSQL
``workers > 1`` starts several processes sharing the database; each builds its app from the
environment (``HYOUKA_PROJECT``, ``HYOUKA_DATABASE_URL``) through :func:`app_from_env`.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from hyouka.humans.people import HumanEvalError
from hyouka.web.app import create_app
from hyouka.web.settings import WebSettings

_TOKEN_IN_PATH = re.compile(r"/signin/[^\s\"?]+")


class RedactSigninTokens(logging.Filter):
    """Access logs must not keep sign-in tokens: ``/signin/<token>`` becomes ``/signin/…``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_PATH.sub("/signin/…", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def _workspace_app(project_dir: Path, database_url: str | None, settings: WebSettings) -> FastAPI:
    from hyouka.api import Workspace

    ws = Workspace.open(project_dir, database_url)
    # With the project's files: accepting a proposal on /admin/feedback writes the check to
    # regressions.yaml at once (without them, `hyouka feedback sync` does it later).
    return create_app(ws.store, ws.name, settings, config=ws.project)


def app_from_env() -> FastAPI:
    """The app of the project in ``HYOUKA_PROJECT`` (a uvicorn factory for several workers)."""
    threads = os.environ.get("HYOUKA_WEB_THREADS")
    settings = WebSettings(
        secure_cookies=_flag(os.environ.get("HYOUKA_SECURE_COOKIES")),
        public_url=os.environ.get("HYOUKA_PUBLIC_URL") or None,
        threads=int(threads) if threads else None,
        inline=_flag(os.environ.get("HYOUKA_WEB_INLINE")),
    )
    return _workspace_app(
        Path(os.environ.get("HYOUKA_PROJECT", ".")),
        os.environ.get("HYOUKA_DATABASE_URL") or None,
        settings,
    )


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.lower() in ("1", "true", "yes", "on")


def serve(
    project_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8300,
    *,
    database_url: str | None = None,
    workers: int = 1,
    settings: WebSettings | None = None,
    proxy_headers: bool = False,
    log_level: str = "info",
) -> None:
    """Run the server until interrupted."""
    import uvicorn

    settings = settings or WebSettings()
    logging.getLogger("uvicorn.access").addFilter(RedactSigninTokens())
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        # uvloop, when installed, left some connections waiting ~8 s under overload in our
        # benchmark (200 annotators, SQLite inline); asyncio's loop stayed fair.
        "loop": "asyncio",
        # People pause 5-30 s between clicks; uvicorn's 5 s default closed nearly every
        # connection in between (a reconnect per judgment, and resets when a browser reuses
        # a connection just as the server closes it).
        "timeout_keep_alive": 30,
        "proxy_headers": proxy_headers,
        "forwarded_allow_ips": "*" if proxy_headers else None,
        "log_level": log_level,
    }
    if workers <= 1:
        app = _workspace_app(project_dir, database_url, settings)
        uvicorn.run(app, **common)
        return
    app = _workspace_app(project_dir, database_url, settings)  # checks the store first
    if app.state.hyouka.store.dialect == "sqlite":
        raise HumanEvalError(
            "several server processes need PostgreSQL: SQLite has one writer. "
            "Use --workers 1, or set HYOUKA_DATABASE_URL to a PostgreSQL database"
        )
    os.environ["HYOUKA_PROJECT"] = str(project_dir.resolve())
    if database_url:
        os.environ["HYOUKA_DATABASE_URL"] = database_url
    if settings.secure_cookies is not None:
        os.environ["HYOUKA_SECURE_COOKIES"] = "1" if settings.secure_cookies else "0"
    if settings.public_url:
        os.environ["HYOUKA_PUBLIC_URL"] = settings.public_url
    if settings.threads:
        os.environ["HYOUKA_WEB_THREADS"] = str(settings.threads)
    if settings.inline is not None:
        os.environ["HYOUKA_WEB_INLINE"] = "1" if settings.inline else "0"
    uvicorn.run("hyouka.web.serve:app_from_env", factory=True, workers=workers, **common)
