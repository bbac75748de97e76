"""Live experiments over HTTP: assignment and events for apps (API key), and the in-app
feedback widget (a publishable key, CORS for the key's page origins).

- ``GET /api/experiments/allocations``: what :mod:`hyouka.client` caches and assigns from.
- ``POST /api/assign``: the same assignment for apps in other languages (no database work:
  the allocation is cached per process for one second).
- ``POST /api/events``: exposures, outputs and outcomes in batches, idempotent per event.
- ``GET /widget.js``: the widget script; ``GET /api/widget/config`` and
  ``POST /api/widget/feedback``: what it calls, cross-origin, with an ``hkp_`` key.
- ``GET /admin/experiments`` and ``/admin/experiments/{name}``: the live dashboard.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Header, Path, Request, Security
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from hyouka.experiments import queries as q
from hyouka.experiments.allocation import Allocation
from hyouka.humans import ApiKey
from hyouka.i18n.cli import Lang
from hyouka.web.api_models import Comment, Key, LongText, Ref, Tag
from hyouka.web.context import Viewer, admin, call_db, render, translator, web
from hyouka.web.routes_api import ERRORS, ApiError, api_key, bearer, key_header
from hyouka.web.security import client_address

router = APIRouter()
WIDGET_JS = FsPath(__file__).parent / "static" / "widget.js"
ALLOCATION_TTL = 1.0  # seconds a process keeps the allocations before reading them again
KEY_TTL = 5.0  # seconds a valid API key is trusted without a lookup (disabling takes ≤ 5 s)
WIDGET_RATE = 600  # widget posts per address per minute (a contact centre may share one NAT)


class _Cache:
    """Per app: allocations and recently seen valid API keys (assign must not touch the DB)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.allocs: dict[str, Allocation] = {}
        self.raw: list[dict[str, Any]] = []
        self.loaded = -1e9
        self.keys: dict[str, tuple[float, ApiKey]] = {}
        self.posts: dict[str, list[float]] = {}


def _cache(request: Request) -> _Cache:
    state = request.app.state
    found = getattr(state, "experiments_cache", None)
    if found is None:
        found = _Cache()
        state.experiments_cache = found
    assert isinstance(found, _Cache)
    return found


def _allocations(request: Request) -> tuple[dict[str, Allocation], list[dict[str, Any]]]:
    cache = _cache(request)
    now = time.monotonic()
    if now - cache.loaded > ALLOCATION_TTL:
        raw = web(request).front.experiments.allocations()
        with cache.lock:
            cache.raw = raw
            cache.allocs = {a["name"]: Allocation.from_json(a) for a in raw}
            cache.loaded = now
    return cache.allocs, cache.raw


async def app_key(
    request: Request,
    key: str | None = Security(key_header),
    credentials: HTTPAuthorizationCredentials | None = Security(bearer),  # noqa: B008
) -> ApiKey:
    """The app's API key, trusted for :data:`KEY_TTL` seconds once checked."""
    secret = key or (credentials.credentials if credentials else None)
    if secret:
        digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
        hit = _cache(request).keys.get(digest)
        if hit is not None and time.monotonic() - hit[0] < KEY_TTL:
            return hit[1]
    found = await api_key(request, key, credentials)
    if secret:
        _cache(request).keys[digest] = (time.monotonic(), found)
    return found


# -- assignment and events -----------------------------------------------------------------


class AllocationsOut(BaseModel):
    experiments: list[dict[str, Any]]
    refresh_seconds: float = 30.0


@router.get(
    "/api/experiments/allocations",
    response_model=AllocationsOut,
    responses=ERRORS,
    summary="The experiments' allocations (what hyouka.client caches and assigns from)",
)
async def allocations_route(
    request: Request,
    _: ApiKey = Depends(app_key),  # noqa: B008
) -> dict[str, Any]:
    _allocs, raw = _allocations(request)
    return {"experiments": raw, "refresh_seconds": 30.0}


class AssignIn(BaseModel):
    experiment: Annotated[str, Field(min_length=1, max_length=200)]
    unit_id: Annotated[str, Field(min_length=1, max_length=q.UNIT_MAX)]


class AssignOut(BaseModel):
    variant: str
    enrolled: bool = Field(description="false: the control, outside the experiment (not logged)")
    revision: int


@router.post(
    "/api/assign",
    response_model=AssignOut,
    responses=ERRORS,
    summary="The variant of a unit (sticky: the same unit always gets the same answer)",
)
async def assign_route(
    request: Request,
    body: AssignIn,
    _: ApiKey = Depends(app_key),  # noqa: B008
) -> dict[str, Any]:
    """Log the exposure yourself with ``POST /api/events`` (kind ``exposure``) when the
    variant is shown, with this ``variant`` and ``revision``."""
    allocs, _raw = _allocations(request)
    found = allocs.get(body.experiment)
    if found is None:
        raise ApiError(404, "error.not_found")
    variant, enrolled = found.assign(body.unit_id)
    return {"variant": variant, "enrolled": enrolled, "revision": found.revision}


class EventModel(BaseModel):
    kind: Literal["exposure", "output", "outcome"]
    experiment: Annotated[str, Field(min_length=1, max_length=200)]
    unit_id: Annotated[str, Field(min_length=1, max_length=q.UNIT_MAX)]
    idempotency_key: Key
    variant: Annotated[str, Field(max_length=200)] | None = None
    revision: int | None = None
    metric: Annotated[str, Field(max_length=q.METRIC_MAX)] | None = None
    value: float | None = None
    output_ref: Ref | None = None
    at: float | None = Field(None, description="seconds since 1970 (the sender's clock)")


class EventsIn(BaseModel):
    events: Annotated[list[EventModel], Field(max_length=q.BATCH_MAX)]


class EventsOut(BaseModel):
    accepted: int
    duplicates: int = Field(description="events whose idempotency key was already stored")


@router.post(
    "/api/events",
    response_model=EventsOut,
    responses=ERRORS,
    summary="Store exposures, outputs and outcomes (a batch: all or nothing)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": EventsIn.model_json_schema()}},
        }
    },
)
async def events_route(
    request: Request,
    _: ApiKey = Depends(app_key),  # noqa: B008
) -> Any:
    """The body is read with orjson and each event checked by
    :func:`hyouka.experiments.queries.check_event` (pydantic per event cost more than the
    insert: benchmarks/experiments_load.py); a problem names the event and the field."""
    try:
        events = _parse_events(await request.body())
        result = await call_db(request, web(request).front.experiments.ingest, events)
    except q.ExperimentError as exc:
        return JSONResponse(
            {
                "error": exc.code,
                "message": translator(request)(exc.code),
                "detail": str(exc),
            },
            status_code=422,
        )
    return {"accepted": result.accepted, "duplicates": result.duplicates}


_EVENT_FIELDS = {
    "kind": str, "experiment": str, "unit_id": str, "idempotency_key": str, "variant": str,
    "revision": int, "metric": str, "value": float, "output_ref": str, "at": float,
}  # fmt: skip
_REQUIRED = ("kind", "experiment", "unit_id", "idempotency_key")


def _parse_events(body: bytes) -> list[q.EventIn]:
    import orjson

    def bad(why: str) -> q.ExperimentError:
        return q.ExperimentError(why, "error.invalid_request")

    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise bad('the body must be {"events": [...]}')
    raw = data["events"]
    if len(raw) > q.BATCH_MAX:
        raise bad(f"at most {q.BATCH_MAX} events per batch, got {len(raw)}")
    out = []
    for i, e in enumerate(raw):
        if not isinstance(e, dict):
            raise bad(f"events[{i}]: must be an object")
        for name, value in e.items():
            kind = _EVENT_FIELDS.get(name)
            if kind is None:
                raise bad(f"events[{i}].{name}: unknown field")
            if value is None:
                continue
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                e[name] = float(value)
            elif (kind is int and isinstance(value, bool)) or not isinstance(e[name], kind):
                raise bad(f"events[{i}].{name}: must be a {kind.__name__}")
            if isinstance(value, str) and ("\x00" in value or _lone_surrogate(value)):
                raise bad(f"events[{i}].{name}: holds a character that cannot be stored")
        missing = [f for f in _REQUIRED if not e.get(f)]
        if missing:
            raise bad(f"events[{i}].{missing[0]}: required")
        out.append(q.EventIn(**e))
    return out


def _lone_surrogate(text: str) -> bool:
    from hyouka.bounds import text_problem

    return text_problem(text) is not None


# -- the widget -----------------------------------------------------------------------------


@router.get("/widget.js", include_in_schema=False)
def widget_js() -> FileResponse:
    return FileResponse(
        WIDGET_JS,
        media_type="text/javascript; charset=utf-8",
        headers={"cache-control": "public, max-age=300", "access-control-allow-origin": "*"},
    )


def _cors_headers(origin: str) -> dict[str, str]:
    return {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers": "content-type, x-hyouka-key",
        "access-control-max-age": "600",
        "vary": "Origin",
    }


def _origin(request: Request) -> str:
    return q.normalise_origin(request.headers.get("origin", ""))


@router.options("/api/widget/{path}", include_in_schema=False)
async def widget_preflight(request: Request, path: Annotated[str, Path(max_length=20)]) -> Response:
    origin = _origin(request)
    allowed = await call_db(request, q.origins_allowed, web(request).store, web(request).project)
    if path not in ("config", "feedback") or not origin or origin not in allowed:
        return Response(status_code=403, headers={"vary": "Origin"})
    return Response(status_code=204, headers=_cors_headers(origin))


def _widget_key(request: Request, secret: str | None) -> q.WidgetKey:
    """The publishable key, valid for this project and for the page's origin."""
    ctx = web(request)
    if not secret or not secret.startswith("hkp_") or len(secret) > 100:
        raise ApiError(401, "error.bad_credentials")
    found = q.widget_key_by_secret(ctx.store, ctx.project, secret)
    if found is None:
        raise ApiError(401, "error.bad_credentials")
    if _origin(request) not in found.origins:
        raise ApiError(403, "error.bad_origin")
    return found


def _limited(request: Request) -> bool:
    posts = _cache(request).posts
    now = time.monotonic()
    mine = [t for t in posts.get(client_address(request), []) if now - t < 60]
    mine.append(now)
    posts[client_address(request)] = mine
    if len(posts) > 10000:  # bounded: forget the quietest addresses
        for k in list(posts)[:5000]:
            posts.pop(k, None)
    return len(mine) > WIDGET_RATE


@router.get("/api/widget/config", include_in_schema=False)
async def widget_config(
    request: Request, x_hyouka_key: Annotated[str | None, Header(max_length=100)] = None
) -> JSONResponse:
    key = await call_db(request, _widget_key, request, x_hyouka_key)
    project = web(request).config
    tags = list(project.config.human.tags) if project is not None else []
    return JSONResponse({"tags": tags, "key": key.name}, headers=_cors_headers(_origin(request)))


class WidgetFeedbackIn(BaseModel):
    output_ref: Ref = Field(min_length=1)
    thumb: Literal["up", "down"] | None = None
    comment: Comment | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] = Field(default_factory=list)
    phrase: Comment | None = Field(None, description="'never say this' on a marked phrase")
    output_text: LongText | None = None
    idempotency_key: Key | None = None


@router.post("/api/widget/feedback", include_in_schema=False)
async def widget_feedback(
    request: Request,
    body: WidgetFeedbackIn,
    x_hyouka_key: Annotated[str | None, Header(max_length=100)] = None,
) -> JSONResponse:
    """A user's feedback from the widget; stored like ``POST /api/feedback`` (production)."""
    if _limited(request):
        raise ApiError(429, "error.too_many_attempts")
    ctx = web(request)

    def work() -> tuple[int, bool]:
        key = _widget_key(request, x_hyouka_key)
        fb = q.WidgetFeedback(
            output_ref=body.output_ref,
            thumb=body.thumb,
            comment=body.comment,
            tags=tuple(body.tags),
            phrase=body.phrase,
            output_text=body.output_text,
            idempotency_key=body.idempotency_key,
        )
        return q.record_widget_feedback(ctx.store, ctx.project, key, fb)

    try:
        new_id, duplicate = await call_db(request, work)
    except q.ExperimentError as exc:
        return JSONResponse(
            {"error": exc.code, "message": translator(request)(exc.code)},
            status_code=422,
            headers=_cors_headers(_origin(request)),
        )
    # Only an opaque receipt: nothing about the variant reaches the page.
    return JSONResponse(
        {"ok": True, "duplicate": duplicate, "id": new_id},
        status_code=200 if duplicate else 201,
        headers=_cors_headers(_origin(request)),
    )


# -- the dashboard ---------------------------------------------------------------------------


@router.get("/admin/experiments", response_class=HTMLResponse, include_in_schema=False)
def experiments_page(request: Request, who: Viewer = Depends(admin)) -> HTMLResponse:  # noqa: B008
    found = web(request).front.experiments.list()
    return render(request, "admin/experiments.html", who=who, experiments=found)


@router.get("/admin/experiments/{name}", response_class=HTMLResponse, include_in_schema=False)
def experiment_page(
    request: Request,
    name: Annotated[str, Path(max_length=200)],
    who: Viewer = Depends(admin),  # noqa: B008
) -> HTMLResponse:
    from hyouka.web.context import locale_of

    report = web(request).front.experiments.show(name)
    lang: Lang = "ja" if locale_of(request) == "ja" else "en"
    return render(
        request,
        "admin/experiment.html",
        who=who,
        report=report,
        sentences=report.sentences(lang),
    )


def _set_status(request: Request, name: str, who: Viewer, csrf: str, stop: bool) -> Response:
    from fastapi.responses import RedirectResponse

    from hyouka.web.context import check_csrf

    check_csrf(who, csrf)
    front = web(request).front.experiments
    by = who.annotator.name
    front.stop(name, by) if stop else front.start(name, by)
    return RedirectResponse("/admin/experiments", status_code=303)


@router.post("/admin/experiments/{name}/start", include_in_schema=False)
def experiment_start(
    request: Request,
    name: Annotated[str, Path(max_length=200)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    who: Viewer = Depends(admin),  # noqa: B008
) -> Response:
    return _set_status(request, name, who, csrf, stop=False)


@router.post("/admin/experiments/{name}/stop", include_in_schema=False)
def experiment_stop(
    request: Request,
    name: Annotated[str, Path(max_length=200)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    who: Viewer = Depends(admin),  # noqa: B008
) -> Response:
    return _set_status(request, name, who, csrf, stop=True)


# -- the fast path of POST /api/assign ------------------------------------------------------

_JSON_HEADERS = [
    (b"content-type", b"application/json"),
]


class AssignFastPath:
    """Pure ASGI: answers ``POST /api/assign`` from the in-memory allocations and the cache of
    valid keys, without FastAPI's routing and validation (~10× cheaper per request;
    benchmarks/experiments_load.py). Anything it is not sure of — a key not seen in the last
    :data:`KEY_TTL` seconds, allocations older than :data:`ALLOCATION_TTL`, a body it cannot
    read — goes on to the regular route, which checks, answers and refreshes the caches."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope.get("path") != "/api/assign"
            or scope.get("method") != "POST"
        ):
            await self.app(scope, receive, send)
            return
        cache = getattr(scope["app"].state, "experiments_cache", None)
        answer = None
        body = b""
        more = True
        if isinstance(cache, _Cache) and time.monotonic() - cache.loaded <= ALLOCATION_TTL:
            key = dict(scope.get("headers") or []).get(b"x-api-key")
            hit = cache.keys.get(hashlib.sha256(key).hexdigest()) if key else None
            if hit is not None and time.monotonic() - hit[0] < KEY_TTL:
                message = await receive()
                body = message.get("body", b"")
                more = message.get("more_body", False)
                if not more:
                    answer = _fast_answer(cache, body)
        if answer is None:
            if body or not more:
                replayed = False

                async def replay() -> Any:
                    nonlocal replayed
                    if not replayed:
                        replayed = True
                        return {"type": "http.request", "body": body, "more_body": more}
                    return await receive()

                await self.app(scope, replay, send)
            else:
                await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            *_JSON_HEADERS, (b"content-length", str(len(answer)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": answer})


def _fast_answer(cache: _Cache, body: bytes) -> bytes | None:
    import orjson

    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or set(data) != {"experiment", "unit_id"}:
        return None
    exp, unit = data["experiment"], data["unit_id"]
    if not isinstance(exp, str) or not isinstance(unit, str) or not 1 <= len(unit) <= q.UNIT_MAX:
        return None
    found = cache.allocs.get(exp)
    if found is None:
        return None
    variant, enrolled = found.assign(unit)
    return orjson.dumps({"variant": variant, "enrolled": enrolled, "revision": found.revision})
