"""The annotator's screens: open campaigns, the judging screen, submit, skip.

Everything here is addressed by opaque ids (campaign id, assignment public id): no sample id,
variant name or variant id ever reaches the page, the URL or the form.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from hyouka.humans import Assignment, Campaign, HumanEvalError, JudgmentInput
from hyouka.web.context import (
    Forbidden,
    RowId,
    Viewer,
    call_db,
    check_csrf,
    render,
    translator,
    viewer,
    web,
)

router = APIRouter(include_in_schema=False)

PublicId = Annotated[str, PathParam(max_length=64)]
Short = Annotated[str, Form(max_length=200)]


@router.get("/")
async def home(request: Request, who: Viewer = Depends(viewer)) -> Response:  # noqa: B008
    return await call_db(request, _home, request, who)


def _home(request: Request, who: Viewer) -> Response:
    ctx = web(request)
    judging = ctx.front.judging
    rows = [
        {
            "campaign": c,
            "progress": ctx.progress.get(ctx.store, c),
            "mine": judging.done(c.id, who.id),
        }
        for c in judging.open_campaigns(who.annotator)
    ]
    return render(request, "home.html", rows=rows)


def _campaign(request: Request, campaign_id: int) -> Campaign:
    return web(request).front.judging.campaign(campaign_id)


@router.get("/c/{campaign_id}")
async def next_item(
    request: Request,
    campaign_id: RowId,
    who: Viewer = Depends(viewer),  # noqa: B008
) -> Response:
    """The person's current item in this campaign (picked now if they have none)."""
    return await call_db(request, _next_item, request, campaign_id, who)


def _next_item(request: Request, campaign_id: int, who: Viewer) -> Response:
    campaign = _campaign(request, campaign_id)
    if not campaign.open_to(who.annotator):
        raise Forbidden("error.campaign_not_for_you")
    assignment = web(request).front.judging.next_item(campaign, who.id)
    if assignment is None:
        return _finished(request, campaign, who)
    return _judge_page(request, campaign, assignment, who)


def _finished(request: Request, campaign: Campaign, who: Viewer) -> Response:
    mine, previous = web(request).front.judging.standing(campaign.id, who.id)
    return render(request, "done.html", campaign=campaign, mine=mine, previous=previous)


def _judge_page(
    request: Request,
    campaign: Campaign,
    assignment: Assignment,
    who: Viewer,
    error: str | None = None,
    posted: dict[str, Any] | None = None,
    form_key: str | None = None,
) -> Response:
    ctx = web(request)
    judging = ctx.front.judging
    view = judging.view(assignment, ctx.cache)
    previous = judging.previous(assignment, who.id)
    values = posted or (
        judging.screen_values(previous, view.sides) if previous else _empty_values()
    )
    t = translator(request)
    mine, last = judging.standing(campaign.id, who.id)
    progress = ctx.progress.get(ctx.store, campaign)
    # Another server process may have recorded this person's last vote after the cached
    # figure was taken: everyone's count is never shown below the person's own.
    everyone = max(progress.judged, mine)
    return render(
        request,
        "judge.html",
        400 if error else 200,
        campaign=campaign,
        a=assignment,
        view=view,
        values=values,
        editing=previous is not None,
        error=t(error) if error else None,
        form_key=form_key or secrets.token_urlsafe(16),
        progress=progress,
        everyone=everyone,
        mine=mine,
        previous=None if previous else last,
        js_messages=t.with_prefix("js."),
    )


def _empty_values() -> dict[str, Any]:
    return {
        "winner": None,
        "rating": {"left": None, "right": None},
        "tags": {"left": [], "right": []},
        "comment": "",
        "highlight": "",
        "highlight_side": None,
    }


def _mine(request: Request, public_id: str, who: Viewer) -> tuple[Campaign, Assignment]:
    return web(request).front.judging.mine(public_id, who.id)


@router.get("/a/{public_id}")
async def show_assignment(
    request: Request,
    public_id: PublicId,
    who: Viewer = Depends(viewer),  # noqa: B008
) -> Response:
    """One of the person's items again (to finish it, or to change their judgment)."""
    return await call_db(request, _show_assignment, request, public_id, who)


def _show_assignment(request: Request, public_id: str, who: Viewer) -> Response:
    campaign, assignment = _mine(request, public_id, who)
    return _judge_page(request, campaign, assignment, who)


def _rating(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return -1  # refused by validation with a clear message


@router.post("/a/{public_id}")
async def submit(
    request: Request,
    public_id: PublicId,
    who: Viewer = Depends(viewer),  # noqa: B008
    csrf: Short = "",
    key: Short = "",
    winner: Annotated[str | None, Form(max_length=20)] = None,
    rating_left: Annotated[str | None, Form(max_length=20)] = None,
    rating_right: Annotated[str | None, Form(max_length=20)] = None,
    comment: str = Form(""),
    tags_left: list[str] = Form([]),  # noqa: B008
    tags_right: list[str] = Form([]),  # noqa: B008
    highlight: str = Form(""),
    highlight_side: Short = "",
    mark_turn: Short = "",
    mark_kind: Short = "",
    mark_side: Short = "",
) -> Response:
    check_csrf(who, csrf)
    data = JudgmentInput(
        idempotency_key=key,
        winner=winner or None,
        rating_left=_rating(rating_left),
        rating_right=_rating(rating_right),
        comment=comment,
        tags_left=tags_left,
        tags_right=tags_right,
        highlight=highlight,
        highlight_side=highlight_side or None,
        mark_turn=_rating(mark_turn),
        mark_kind=mark_kind or None,
        mark_side=mark_side or None,
    )
    return await call_db(request, _submit, request, public_id, who, data)


def _submit(request: Request, public_id: str, who: Viewer, data: JudgmentInput) -> Response:
    campaign, assignment = _mine(request, public_id, who)
    ctx = web(request)
    view = ctx.front.judging.view(assignment, ctx.cache)
    try:
        ctx.front.judging.submit(campaign, public_id, who.id, data, view)
    except HumanEvalError as exc:
        posted = {
            "winner": data.winner,
            "rating": {"left": data.rating_left, "right": data.rating_right},
            "tags": {"left": list(data.tags_left), "right": list(data.tags_right)},
            "comment": data.comment or "",
            "highlight": data.highlight or "",
            "highlight_side": data.highlight_side,
            "mark_turn": data.mark_turn
            if data.mark_turn is not None and data.mark_turn >= 0
            else None,
            "mark_kind": data.mark_kind,
            "mark_side": data.mark_side,
        }
        return _judge_page(
            request, campaign, assignment, who, exc.code, posted, data.idempotency_key
        )
    ctx.progress.forget(campaign.id)
    return RedirectResponse(f"/c/{campaign.id}", status_code=303)


@router.post("/a/{public_id}/skip")
async def skip(
    request: Request,
    public_id: PublicId,
    who: Viewer = Depends(viewer),  # noqa: B008
    csrf: str = Form(""),
) -> Response:
    check_csrf(who, csrf)
    return await call_db(request, _skip, request, public_id, who)


def _skip(request: Request, public_id: str, who: Viewer) -> Response:
    campaign, _assignment = _mine(request, public_id, who)
    web(request).front.judging.skip(public_id, who.id)
    return RedirectResponse(f"/c/{campaign.id}", status_code=303)
