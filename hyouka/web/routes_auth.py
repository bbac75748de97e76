"""Signing in with the personal link, signing out, switching language."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from hyouka.humans.access import (
    end_session,
    record_signin_failure,
    signin_blocked,
    start_session,
)
from hyouka.humans.people import annotator_by_token
from hyouka.web.context import Viewer, call_db, check_csrf, render, viewer, web
from hyouka.web.i18n import COOKIE, LOCALES
from hyouka.web.security import SESSION_COOKIE, client_address, safe_next, set_cookie

router = APIRouter(include_in_schema=False)


@router.get("/signin/{token}")
async def signin(request: Request, token: str) -> Response:
    """Exchange the personal link's token for a session cookie, then leave the link's URL."""
    return await call_db(request, _signin, request, token)


def _signin(request: Request, token: str) -> Response:
    ctx = web(request)
    client = client_address(request)
    limit = ctx.settings.signin_limit
    if signin_blocked(ctx.store, client, limit):
        page = render(
            request, "message.html", 429, title="signin.blocked_title", body="signin.blocked_body"
        )
        page.headers["Retry-After"] = str(int(limit.window.total_seconds()))
        return page
    person = annotator_by_token(ctx.store, ctx.project, token)
    if person is None:
        record_signin_failure(ctx.store, client, limit)
        return render(
            request, "message.html", 403, title="signin.bad_title", body="signin.bad_body"
        )
    session = start_session(ctx.store, person.id, ctx.settings.session_days)
    response = RedirectResponse("/", status_code=303)
    set_cookie(
        response,
        request,
        ctx.settings,
        SESSION_COOKIE,
        session,
        max_age=ctx.settings.session_days * 86400,
    )
    return response


@router.post("/signout")
async def signout(
    request: Request,
    csrf: str = Form(""),
    who: Viewer = Depends(viewer),  # noqa: B008
) -> Response:
    check_csrf(who, csrf)
    await call_db(request, end_session, web(request).store, who.session_token)
    response = render(request, "message.html", title="signout.title", body="signout.body")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str = "/") -> Response:
    """Remember the chosen language in a cookie and go back to the page.

    Open without signing in (the "bad link" page needs it too); it only sets a cookie and
    redirects to a local path.
    """
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LOCALES:
        ctx = web(request)
        set_cookie(response, request, ctx.settings, COOKIE, code, max_age=365 * 86400)
    return response
