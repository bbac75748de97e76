"""Settings of the web app (what ``hyouka serve`` options set)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hyouka.humans.access import SigninLimit


@dataclass(frozen=True)
class WebSettings:
    """How the server behaves.

    ``secure_cookies``: None marks cookies ``Secure`` when the request came over https (as seen
    by the server, or through ``X-Forwarded-Proto`` when uvicorn trusts the proxy); True or False
    forces it. ``public_url`` is the address people use (for sign-in links made in the admin
    page); by default the address of the request.
    """

    secure_cookies: bool | None = None
    session_days: int = 30
    signin_limit: SigninLimit = field(default_factory=SigninLimit)
    public_url: str | None = None
    default_locale: str = "ja"
    item_cache_size: int = 20000
    threads: int | None = None  # request worker threads (default: 2 on SQLite, 8 otherwise)
    inline: bool | None = None  # judging screens' queries on the event loop (default: SQLite
    # or a PostgreSQL under 0.5 ms away; see hyouka.web.context.choose_inline)
