"""The web app factory: ``create_app(store, project)`` gives an ASGI app (FastAPI).

Admin pages and the admin JSON API call the same facades as the CLI (``web(request).front``:
:class:`hyouka.facades.Front`); the annotator screens call :mod:`hyouka.humans` per request.

Routes are split by concern: ``routes_auth`` (sign-in link, sign-out, language),
``routes_judge`` (annotator screens), ``routes_admin`` (dashboard, campaigns, people) and
``routes_api`` (JSON API with OpenAPI at ``/openapi.json``), ``routes_otlp`` (OpenTelemetry
traces and logs at ``/v1/traces``, ``/v1/logs``: an API key). Everything but the sign-in link,
the language switch, ``/healthz`` and the static files needs a session.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hyouka import __version__
from hyouka.config import Project
from hyouka.errors import NotFoundError
from hyouka.humans import HumanEvalError, ItemCache, api_key_by_secret, session_annotator
from hyouka.store.store import Store
from hyouka.web import (
    routes_admin,
    routes_api,
    routes_auth,
    routes_experiments,
    routes_judge,
    routes_loop,
    routes_otlp,
    routes_team,
)
from hyouka.web.context import (
    BadRequest,
    Forbidden,
    NotSignedIn,
    WebContext,
    choose_inline,
    make_env,
    render,
    translator,
    web,
)
from hyouka.web.routes_api import ApiError, api_admin
from hyouka.web.security import SESSION_COOKIE, RequestGuard, SecurityHeaders
from hyouka.web.settings import WebSettings

# uvicorn's logger: what it prints at start-up, `hyouka serve` prints.
log = logging.getLogger("uvicorn.error")
STATIC = Path(__file__).parent / "static"


def create_app(
    store: Store,
    project: str,
    settings: WebSettings | None = None,
    *,
    config: Project | None = None,
) -> FastAPI:
    """The web app for project ``project``'s store. ``config``: the loaded project, when the
    folder is known: its ``human:`` section and seed are the defaults of new campaigns, and
    checks accepted on /admin/feedback are written to its regressions.yaml at once."""
    settings = settings or WebSettings()
    threads = settings.threads or (2 if store.dialect == "sqlite" else 8)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Few worker threads (admin pages and the API; the judging screens run inline on
        # SQLite): with many, the thread holding the SQLite write lock waits for the GIL
        # behind the others (benchmarks/web_load.py: 1-2 threads used ~7% less CPU per
        # judgment than 4-8, and far less than anyio's default 40).
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="hyouka",
        version=__version__,
        description="Human evaluation of LLM app outputs: judgments, runs, production feedback.",
        docs_url=None,  # the interactive docs load scripts from a CDN: not on a team server
        redoc_url=None,
        openapi_url=None,  # served below, behind sign-in
    )
    inline, why = choose_inline(store, settings.inline)
    log.info(
        "hyouka: judging requests run %s (%s)",
        "on the event loop" if inline else f"on {threads} worker threads",
        why,
    )
    app.state.hyouka = WebContext(
        store, project, settings, ItemCache(settings.item_cache_size), make_env(), inline,
        config=config,
    )  # fmt: skip
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for module in (
        routes_auth, routes_judge, routes_admin, routes_api, routes_loop, routes_otlp,
        routes_experiments, routes_team,
    ):  # fmt: skip
        app.include_router(module.router)
    _add_meta_routes(app)
    _add_error_handlers(app)
    app.add_middleware(routes_experiments.AssignFastPath)  # inside the guard and the headers
    app.add_middleware(RequestGuard, default_locale=settings.default_locale)
    app.add_middleware(SecurityHeaders)
    return app


def _add_meta_routes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> JSONResponse:
        if not _may_read_schema(request):
            raise ApiError(401, "error.not_signed_in")
        return JSONResponse(app.openapi())


def _may_read_schema(request: Request) -> bool:
    """Any signed-in person, an admin token, or an app's API key."""
    ctx = web(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and session_annotator(ctx.store, ctx.project, cookie):
        return True
    key = request.headers.get("x-api-key")
    if key and api_key_by_secret(ctx.store, ctx.project, key):
        return True
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token.strip())
        try:
            api_admin(request, credentials)
        except ApiError:
            return False
        return True
    return False


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


def _error(request: Request, status: int, code: str, title: str = "error.title") -> Response:
    if _is_api(request):
        message = translator(request)(code)
        return JSONResponse({"error": code, "message": message}, status_code=status)
    return render(request, "message.html", status, title=title, body=code)


def _add_error_handlers(app: FastAPI) -> None:
    async def not_signed_in(request: Request, _exc: Exception) -> Response:
        return _error(request, 401, "signin.required_body", "signin.required_title")

    async def forbidden(request: Request, exc: Exception) -> Response:
        return _error(request, 403, getattr(exc, "code", "error.admins_only"))

    async def bad_request(request: Request, exc: Exception) -> Response:
        return _error(request, 400, getattr(exc, "code", "error.generic"))

    async def not_found(request: Request, _exc: Exception) -> Response:
        return _error(request, 404, "error.not_found")

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        response = _error(request, exc.status, exc.code)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return _error(request, 404, "error.not_found")
        if exc.status_code == 405:
            return _error(request, 405, "error.method")
        return _error(request, exc.status_code, "error.generic")

    async def refused_value(request: Request, exc: Exception) -> Response:
        # The last line of defence: every value is bounded before it reaches the database
        # (hyouka/bounds.py); should one slip through, the database's refusal is the client's
        # error (422), said so, and logged for us to bound it at the edge.
        log.warning("hyouka: the database refused a value of %s: %s", request.url.path, exc)
        web(request).refused_values += 1
        return _error(request, 422, "error.invalid_request")

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if all((e.get("loc") or ("",))[0] == "path" for e in exc.errors()):
            # an id that is not a number, or beyond any id the database can hold: no such page
            return _error(request, 404, "error.not_found")
        if _is_api(request):
            errors = [{"loc": e.get("loc"), "msg": e.get("msg")} for e in exc.errors()]
            return JSONResponse(
                {
                    "error": "error.invalid_request",
                    "message": translator(request)("error.invalid_request"),
                    "detail": errors,
                },
                status_code=422,
            )
        return _error(request, 400, "error.invalid_request")

    app.add_exception_handler(NotSignedIn, not_signed_in)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(BadRequest, bad_request)
    app.add_exception_handler(HumanEvalError, bad_request)
    app.add_exception_handler(NotFoundError, not_found)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(DataError, refused_value)
