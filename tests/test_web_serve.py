"""Running the server: logs without sign-in tokens, one process on SQLite, the env factory,
where the judging screens' queries run."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from humans_env import anonymous, write_project
from pg import pg_session_url  # noqa: F401  (a fixture)

from hyouka.humans import HumanEvalError
from hyouka.store.db import round_trip_ms
from hyouka.web.serve import RedactSigninTokens, app_from_env, serve


def test_access_log_lines_do_not_keep_sign_in_tokens() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/signin/SeCrEt-token_123?x=1", "1.1", 303),
        None,
    )
    assert RedactSigninTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /signin/…?x=1 HTTP/1.1" 303'
    other = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "%s", ("/c/1",), None)
    RedactSigninTokens().filter(other)
    assert other.getMessage() == "/c/1"


def test_several_processes_need_postgresql(tmp_path: Path) -> None:
    write_project(tmp_path / "p", "solo", ["{last}"])
    with pytest.raises(HumanEvalError, match="several server processes need PostgreSQL"):
        serve(tmp_path / "p", workers=2)


def test_the_factory_reads_the_project_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path / "p", "from-env", ["{last}"])
    monkeypatch.setenv("HYOUKA_PROJECT", str(tmp_path / "p"))
    monkeypatch.setenv("HYOUKA_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("HYOUKA_SECURE_COOKIES", "1")
    monkeypatch.setenv("HYOUKA_WEB_THREADS", "3")
    monkeypatch.setenv("HYOUKA_WEB_INLINE", "0")
    app = app_from_env()
    ctx = app.state.hyouka
    assert ctx.project == "from-env" and ctx.settings.secure_cookies is True
    assert ctx.settings.threads == 3 and ctx.inline is False
    assert (tmp_path / "env.db").exists()
    assert anonymous(app).get("/healthz").text == "ok"
    ctx.store.close()


def test_a_near_postgresql_is_queried_on_the_event_loop_a_far_one_on_threads(
    pg_session_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hyouka.store.store import Store
    from hyouka.web import context

    store = Store.open(pg_session_url)
    try:
        ms = round_trip_ms(store.engine)
        assert 0 < ms < 50  # a real round trip to 127.0.0.1 (~0.1 ms on an idle machine)
        # Seen as near (a threshold far above what was measured, so a busy machine's
        # slower round trip still counts as near): queries on the event loop.
        monkeypatch.setattr(context, "INLINE_MAX_ROUND_TRIP_MS", ms * 100)
        inline, why = context.choose_inline(store, None)
        assert inline is True and why.startswith("database round trip ") and "<" in why
        # The same database seen as far away: requests go to the thread pool.
        monkeypatch.setattr(context, "INLINE_MAX_ROUND_TRIP_MS", ms / 100)
        inline, why = context.choose_inline(store, None)
        assert inline is False and ">=" in why
        # A setting wins over the measurement.
        assert context.choose_inline(store, True) == (
            True,
            "set in the settings (HYOUKA_WEB_INLINE)",
        )
    finally:
        store.close()


def test_sqlite_is_always_queried_on_the_event_loop(tmp_path: Path) -> None:
    from hyouka.store.store import Store
    from hyouka.web import context

    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    try:
        assert context.choose_inline(store, None) == (True, "SQLite")
        assert context.choose_inline(store, False)[0] is False
    finally:
        store.close()
