"""What every route needs: the app's context, who is asking, rendering pages in their language.

Who is asking comes from the session cookie, checked against the database on every request
(so several server processes agree, and disabling a person takes effect at once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import jinja2
from fastapi import Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from hyouka.bounds import DB_INT_MAX
from hyouka.config import Project
from hyouka.facades import Front, Scope
from hyouka.humans.access import session_annotator
from hyouka.humans.campaigns import Campaign
from hyouka.humans.dashboard import CampaignProgress, campaign_progress
from hyouka.humans.items import ItemCache
from hyouka.humans.people import Annotator
from hyouka.store.db import round_trip_ms
from hyouka.store.store import Store
from hyouka.web.i18n import COOKIE, Messages, choose_locale, messages
from hyouka.web.security import SESSION_COOKIE, csrf_token
from hyouka.web.settings import WebSettings

TEMPLATES = Path(__file__).parent / "templates"
T = TypeVar("T")

# Every integer a route takes is bounded here, at the edge, to what a database column holds:
# an id beyond it names nothing (404: RequestValidationError on a path parameter), any other
# number beyond it is a wrong request (422 / 400), never a database error.
RowId = Annotated[int, PathParam(ge=0, le=DB_INT_MAX)]
QueryId = Annotated[int, Query(ge=0, le=DB_INT_MAX)]


class ProgressCache:
    """Campaign progress for the judging screen's progress bar, at most ``ttl`` seconds old.

    Summing every item's count on each page view grows with the campaign; the bar does not
    need to be exact to the request (the dashboard and the API always recompute).
    """

    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._data: dict[int, tuple[float, CampaignProgress]] = {}
        self._lock = threading.Lock()

    def get(self, store: Store, campaign: Campaign) -> CampaignProgress:
        now = time.monotonic()
        with self._lock:
            found = self._data.get(campaign.id)
        if found is not None and now - found[0] < self.ttl:
            return found[1]
        fresh = campaign_progress(store, campaign)
        with self._lock:
            self._data[campaign.id] = (now, fresh)
        return fresh

    def forget(self, campaign_id: int) -> None:
        """Drop a campaign's cached progress (this process just recorded a judgment in it:
        the next screen must count it, or "you: 3 · everyone: 2" contradicts itself)."""
        with self._lock:
            self._data.pop(campaign_id, None)


# A database closer than this (a trivial query's median round trip) is queried on the event loop.
INLINE_MAX_ROUND_TRIP_MS = 0.5


def choose_inline(store: Store, setting: bool | None) -> tuple[bool, str]:
    """Whether the judging screens run their queries on the event loop, and why.

    SQLite always (its queries take tens of microseconds; one thread is the single writer it
    wants). PostgreSQL when it is near: a judging request makes ~8 round trips, and on a
    thread pool each one waits to take the GIL back from the event loop and the other threads
    (measured on 127.0.0.1 with 200 annotators: p99 86-173 ms on threads, 31-50 ms inline, and
    ~30% less CPU per judgment). A far database would hold the loop for every round trip, so
    above :data:`INLINE_MAX_ROUND_TRIP_MS` requests go to the thread pool.
    """
    if setting is not None:
        return setting, "set in the settings (HYOUKA_WEB_INLINE)"
    if store.dialect == "sqlite":
        return True, "SQLite"
    ms = round_trip_ms(store.engine)
    near = ms < INLINE_MAX_ROUND_TRIP_MS
    relation = "<" if near else ">="
    return near, f"database round trip {ms:.2f} ms {relation} {INLINE_MAX_ROUND_TRIP_MS} ms"


@dataclass
class WebContext:
    store: Store
    project: str
    settings: WebSettings
    cache: ItemCache
    env: jinja2.Environment
    # Run the judging screens' database work on the event loop itself (see choose_inline).
    inline: bool = True
    progress: ProgressCache = field(default_factory=ProgressCache)
    # Values the database refused although the edge should have bounded them (app.py logs
    # each one); the fuzz tests check that it stays 0.
    refused_values: int = 0
    # The facades the routes call (the same as a Workspace's; see hyouka.facades).
    front: Front = field(init=False)
    # The project's folder and config when the app knows them (``hyouka serve`` does).
    config: Project | None = None

    def __post_init__(self) -> None:
        self.front = Front(Scope(self.store, self.project, self.config))


async def call_db(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Run ``work`` (sync: queries, rendering) for a request: on the event loop itself when
    the database is SQLite or a near PostgreSQL (:func:`choose_inline`), else in the thread
    pool, so that a far database's network wait never blocks the loop."""
    if web(request).inline:
        return work(*args)
    return await run_in_threadpool(work, *args)


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every value is escaped: model output is shown as text, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from hyouka.workbench.text import reveal

    env.filters["reveal"] = reveal  # output text with its invisible characters shown (/team/)
    return env


class NotSignedIn(Exception):
    """No valid session: the person must open their personal link."""


class Forbidden(Exception):
    """Signed in, but not allowed here; ``code`` names the message in the catalogs."""

    def __init__(self, code: str = "error.admins_only") -> None:
        super().__init__(code)
        self.code = code


class BadRequest(Exception):
    """A form that cannot be accepted; ``code`` names the message in the catalogs."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Viewer:
    """The signed-in person and their session (for the CSRF token)."""

    annotator: Annotator
    session_token: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.session_token)

    @property
    def id(self) -> int:
        return self.annotator.id


def web(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.hyouka
    return ctx


async def viewer(request: Request) -> Viewer:
    """The signed-in person, or :class:`NotSignedIn`."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotSignedIn()
    ctx = web(request)
    person = await call_db(request, session_annotator, ctx.store, ctx.project, token)
    if person is None:
        raise NotSignedIn()
    found = Viewer(person, token)
    request.state.viewer = found
    return found


async def admin(who: Viewer = Depends(viewer)) -> Viewer:  # noqa: B008 - FastAPI's idiom
    if not who.annotator.is_admin:
        raise Forbidden()
    return who


async def team(who: Viewer = Depends(viewer)) -> Viewer:  # noqa: B008 - FastAPI's idiom
    """Admins and editors: the people who may see which variant wrote what (/team/)."""
    if not who.annotator.is_team:
        raise Forbidden("error.team_only")
    return who


def check_csrf(who: Viewer, sent: str | None) -> None:
    from hyouka.web.security import csrf_ok

    if not csrf_ok(who.session_token, sent):
        raise BadRequest("error.csrf")


def locale_of(request: Request) -> str:
    who: Viewer | None = getattr(request.state, "viewer", None)
    saved = who.annotator.locale if who else None
    return choose_locale(
        request.cookies.get(COOKIE),
        saved,
        request.headers.get("accept-language"),
        web(request).settings.default_locale,
    )


def translator(request: Request) -> Messages:
    return messages(locale_of(request))


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    t = translator(request)
    who: Viewer | None = getattr(request.state, "viewer", None)
    page = (
        web(request)
        .env.get_template(template)
        .render(
            t=t,
            lang=t.locale,
            viewer=who,
            csrf=who.csrf if who else "",
            here=request.url.path,
            **context,
        )
    )
    return HTMLResponse(page, status_code=status)
