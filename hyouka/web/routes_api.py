"""The JSON API: runs and judgments for admins, production feedback for apps (API key).

Admins authenticate with their browser session or ``Authorization: Bearer <personal token>``
(the token of their sign-in link); apps with ``X-API-Key: hk_…`` (``hyouka apikeys add``).
Failed attempts count toward the same per-address limit as sign-in links.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from hyouka.bounds import DB_INT_MAX
from hyouka.humans import (
    Annotator,
    ApiKey,
    Feedback,
    annotator_by_token,
    api_key_by_secret,
    record_signin_failure,
    session_annotator,
    signin_blocked,
)
from hyouka.web.api_models import (
    CampaignDetailOut,
    CampaignOut,
    ErrorOut,
    FeedbackIn,
    FeedbackOut,
    JudgmentOut,
    JudgmentPage,
    RunDetailOut,
    RunOut,
    VariantOut,
    VariantOutcomeOut,
)
from hyouka.web.context import QueryId, RowId, call_db, web
from hyouka.web.security import SESSION_COOKIE, client_address

bearer = HTTPBearer(auto_error=False, description="an admin's personal sign-in token")
key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="hyouka apikeys add")

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    429: {"model": ErrorOut},
}

router = APIRouter(prefix="/api", responses=ERRORS)


class ApiError(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


def _guard(request: Request) -> None:
    ctx = web(request)
    if signin_blocked(ctx.store, client_address(request), ctx.settings.signin_limit):
        raise ApiError(429, "error.too_many_attempts")


def _failed(request: Request) -> ApiError:
    ctx = web(request)
    record_signin_failure(ctx.store, client_address(request), ctx.settings.signin_limit)
    return ApiError(401, "error.bad_credentials")


def api_admin(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Security(bearer),  # noqa: B008
) -> Annotator:
    """An admin, by session cookie or by bearer token."""
    ctx = web(request)
    person: Annotator | None = None
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        person = session_annotator(ctx.store, ctx.project, cookie)
    if person is None and credentials is not None:
        _guard(request)
        person = annotator_by_token(ctx.store, ctx.project, credentials.credentials)
        if person is None:
            raise _failed(request)
    if person is None:
        raise ApiError(401, "error.not_signed_in")
    if not person.is_admin:
        raise ApiError(403, "error.admins_only")
    return person


async def api_key(
    request: Request,
    key: str | None = Security(key_header),
    credentials: HTTPAuthorizationCredentials | None = Security(bearer),  # noqa: B008
) -> ApiKey:
    """The app's API key. Checked where the judging screens run their queries (on the event
    loop on SQLite: see :func:`~hyouka.web.context.call_db`), like the feedback it guards."""
    secret = key or (credentials.credentials if credentials else None)
    if not secret:
        raise ApiError(401, "error.api_key_required")
    return await call_db(request, _api_key, request, secret)


def _api_key(request: Request, secret: str) -> ApiKey:
    _guard(request)
    ctx = web(request)
    found = api_key_by_secret(ctx.store, ctx.project, secret)
    if found is None:
        raise _failed(request)
    return found


@router.get("/runs", response_model=list[RunOut], summary="List runs (newest first)")
def runs(
    request: Request,
    limit: int = 50,
    _: Annotator = Depends(api_admin),  # noqa: B008
) -> list[dict[str, Any]]:
    ctx = web(request)
    return ctx.store.list_runs(ctx.project, limit=max(1, min(limit, 500)))


@router.get("/runs/{ref}", response_model=RunDetailOut, summary="One run, with its variants")
def run_detail(
    request: Request,
    ref: Annotated[str, Path(max_length=64)],
    _: Annotator = Depends(api_admin),  # noqa: B008
) -> dict[str, Any]:
    ctx = web(request)
    run = ctx.store.get_run(ref, ctx.project)
    found = ctx.store.variants_by_id(ctx.store.run_variant_ids(run.id))
    return {
        **run.__dict__,
        "variants": [
            VariantOut(**{k: v[k] for k in VariantOut.model_fields}) for v in found.values()
        ],
    }


def _campaign_out(request: Request, campaign: Any) -> dict[str, Any]:
    progress = web(request).front.campaigns.progress(campaign)
    return {
        **campaign.__dict__,
        "tags": list(campaign.tags),
        "groups": list(campaign.groups),
        "items": progress.items,
        "judged": progress.judged,
        "needed": progress.needed,
    }


@router.get("/campaigns", response_model=list[CampaignOut], summary="List campaigns")
def campaigns(
    request: Request,
    _: Annotator = Depends(api_admin),  # noqa: B008
) -> list[dict[str, Any]]:
    return [_campaign_out(request, c) for c in web(request).front.campaigns.list()]


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignDetailOut,
    summary="A campaign's progress and per-variant win/tie/loss counts",
)
def campaign_detail(
    request: Request,
    campaign_id: RowId,
    _: Annotator = Depends(api_admin),  # noqa: B008
) -> dict[str, Any]:
    campaigns = web(request).front.campaigns
    campaign = campaigns.get(campaign_id)
    outcomes = [
        VariantOutcomeOut(
            variant=o.variant,
            wins=o.wins,
            ties=o.ties,
            losses=o.losses,
            both_bad=o.both_bad,
            ratings=o.ratings,
            mean_rating=o.mean_rating,
        )
        for o in campaigns.outcomes(campaign)
    ]
    return {**_campaign_out(request, campaign), "outcomes": outcomes}


@router.get("/judgments", response_model=JudgmentPage, summary="Judgments, oldest first")
def judgments(
    request: Request,
    campaign: Annotated[int | None, Query(ge=0, le=DB_INT_MAX)] = None,
    source: Annotated[str | None, Query(max_length=20)] = None,
    current: bool = False,
    after_id: QueryId = 0,
    limit: int = 500,
    _: Annotator = Depends(api_admin),  # noqa: B008
) -> dict[str, Any]:
    """Page through judgments with ``after_id``. ``current=true`` leaves out judgments that a
    later edit superseded."""
    rows = web(request).front.judgments.list(
        campaign_id=campaign,
        source=source,
        current_only=current,
        after_id=after_id,
        limit=limit,
    )
    full = len(rows) >= max(1, min(limit, 5000))
    return {
        "judgments": [JudgmentOut(**r) for r in rows],
        "next_after_id": rows[-1]["id"] if rows and full else None,
    }


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    status_code=201,
    summary="Record a production user's feedback on an output",
)
async def feedback(
    request: Request,
    body: FeedbackIn,
    key: ApiKey = Depends(api_key),  # noqa: B008
    idempotency_key: str | None = Header(None, max_length=80),
) -> Any:
    """Stored as a judgment with source "production". Sending the same ``idempotency_key``
    (body or ``Idempotency-Key`` header) again returns the first one with ``duplicate: true``
    and status 200."""
    # On the event loop with the judging screens on SQLite (one writer, no lock to wait
    # for): on a worker thread it waited for the write lock behind them, polling, and got
    # ~3 requests/s through against 12 busy annotators (benchmarks/feedback_load.py).
    return await call_db(request, _feedback, request, body, key, idempotency_key)


def _feedback(request: Request, body: FeedbackIn, key: ApiKey, idempotency_key: str | None) -> Any:
    ctx = web(request)
    given = Feedback(
        thumb=body.thumb,
        comment=body.comment,
        tags=body.tags,
        input_text=body.input_text,
        output_text=body.output_text,
        external_ref=body.external_ref,
        variant=body.variant,
        idempotency_key=body.idempotency_key or idempotency_key,
    )
    if body.trace_id is not None or body.span_id is not None:
        given = ctx.front.traces.feedback(given, body.trace_id or "", body.span_id)
    result = ctx.front.feedback.record(key.id, given)
    out = FeedbackOut(id=result.judgment_id, duplicate=result.duplicate)
    if result.duplicate:
        return JSONResponse(out.model_dump(), status_code=200)
    return out
