"""What every route needs: the app's context, who is asking, rendering pages in their language.

Who is asking comes from the session cookie, checked against the database on every request
(so several server processes agree, and disabling a person takes effect at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from hyouka.humans.access import session_annotator
from hyouka.humans.items import ItemCache
from hyouka.humans.people import Annotator
from hyouka.store.store import Store
from hyouka.web.i18n import COOKIE, Messages, choose_locale, messages
from hyouka.web.security import SESSION_COOKIE, csrf_token
from hyouka.web.settings import WebSettings

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class WebContext:
    store: Store
    project: str
    settings: WebSettings
    cache: ItemCache
    env: jinja2.Environment


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every value is escaped: model output is shown as text, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


class NotSignedIn(Exception):
    """No valid session: the person must open their personal link."""


class Forbidden(Exception):
    """Signed in, but this page is for admins."""


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


def viewer(request: Request) -> Viewer:
    """The signed-in person, or :class:`NotSignedIn`."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotSignedIn()
    ctx = web(request)
    person = session_annotator(ctx.store, ctx.project, token)
    if person is None:
        raise NotSignedIn()
    found = Viewer(person, token)
    request.state.viewer = found
    return found


def admin(who: Viewer = Depends(viewer)) -> Viewer:  # noqa: B008 - FastAPI's idiom
    if not who.annotator.is_admin:
        raise Forbidden()
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
