"""Admin pages: campaigns (list, create, dashboard, close), people (add, disable)."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from hyouka.bounds import LONG_TEXT_MAX, NAME_MAX, TAG_MAX
from hyouka.export import csv_text, jsonl_text
from hyouka.humans import (
    DEFAULT_TAGS,
    JUDGMENT_COLUMNS,
    MODES,
    CampaignSpec,
    HumanEvalError,
    add_annotator,
    annotator_progress,
    campaign_progress,
    create_campaign,
    get_campaign,
    item_progress,
    judgment_rows,
    latest_complaints,
    list_annotators,
    list_api_keys,
    list_campaigns,
    preference_pairs,
    run_overview,
    set_campaign_status,
    set_disabled,
    signin_link,
    tag_counts,
    variant_outcomes,
)
from hyouka.web.context import (
    BadRequest,
    RowId,
    Viewer,
    admin,
    check_csrf,
    render,
    translator,
    web,
)

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("")
def index(request: Request, who: Viewer = Depends(admin)) -> Response:  # noqa: B008
    ctx = web(request)
    campaigns = [
        {"campaign": c, "progress": campaign_progress(ctx.store, c)}
        for c in reversed(list_campaigns(ctx.store, ctx.project))
    ]
    return render(
        request,
        "admin/index.html",
        campaigns=campaigns,
        runs=ctx.store.list_runs(ctx.project, limit=30),
        people=list_annotators(ctx.store, ctx.project),
        api_keys=list_api_keys(ctx.store, ctx.project),
    )


def _run_choices(request: Request, run_ref: str) -> dict[str, Any]:
    ctx = web(request)
    run = ctx.store.get_run(run_ref, ctx.project)
    return {"run": run, "overview": run_overview(ctx.store, run.id)}


@router.get("/campaigns/new")
def new_campaign(
    request: Request,
    run: Annotated[str, Query(max_length=64)] = "latest",
    who: Viewer = Depends(admin),  # noqa: B008
) -> Response:
    ctx = web(request)
    human = _human_defaults(request)
    return render(
        request,
        "admin/new_campaign.html",
        modes=MODES,
        defaults=human,
        error=None,
        runs=ctx.store.list_runs(ctx.project, limit=30),
        groups=_groups(request),
        chosen_groups=[],
        chosen_judge="",
        only_unsettled=False,
        **_run_choices(request, run),
    )


def _groups(request: Request) -> list[str]:
    """The project's annotator groups (what a campaign can be limited to)."""
    ctx = web(request)
    return sorted({p.group for p in list_annotators(ctx.store, ctx.project) if p.group})


def _human_defaults(request: Request) -> dict[str, Any]:
    config = getattr(request.app.state, "human_defaults", None) or {}
    return {
        "mode": config.get("mode", "pairwise+rating"),
        "overlap": config.get("overlap", 3),
        "rubric": config.get("rubric") or "",
        "instructions": config.get("instructions") or "",
        "tags": "\n".join(config.get("tags") or DEFAULT_TAGS),
    }


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _short(items: list[str], limit: int = NAME_MAX) -> list[str]:
    """A form's repeated field (variants, groups, tags), each value at most ``limit`` long."""
    if any(len(item) > limit for item in items):
        raise BadRequest("error.too_long")
    return items


def _count(text: str) -> int | None:
    """An optional positive count typed in a form: None when empty, -1 when not a number
    (refused by the campaign's checks with a message)."""
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else -1


Short = Annotated[str, Form(max_length=NAME_MAX)]
Long = Annotated[str, Form(max_length=LONG_TEXT_MAX)]


@router.post("/campaigns")
def create(
    *,
    request: Request,
    who: Viewer = Depends(admin),  # noqa: B008
    csrf: Short = "",
    run: Short,
    name: Short = "",
    mode: Short = "pairwise+rating",
    variant: list[str] = Form([]),  # noqa: B008
    case_keys: Long = "",
    overlap: int = Form(3),
    rubric: Long = "",
    instructions: Long = "",
    tags: Annotated[str, Form(max_length=(TAG_MAX + 1) * 100)] = "",
    seed: int = Form(0),
    max_samples: Short = "",
    assignment_minutes: int = Form(30),
    group: list[str] = Form([]),  # noqa: B008
    judge_first: Short = "",
    only_unsettled: Short = "",
) -> Response:
    check_csrf(who, csrf)
    ctx = web(request)
    spec = CampaignSpec(
        name=name,
        mode=mode,
        variants=_short(variant),
        cases=_lines(case_keys),
        overlap=overlap,
        rubric=rubric or None,
        instructions=instructions or None,
        tags=[line.strip() for line in tags.splitlines() if line.strip()],
        seed=seed,
        max_samples=_count(max_samples),
        assignment_minutes=assignment_minutes,
        groups=_short(group),
        judge_first=judge_first or None,
        only_unsettled=bool(judge_first and only_unsettled),
    )
    choices = _run_choices(request, run)
    try:
        campaign = create_campaign(ctx.store, ctx.project, choices["run"].id, spec)
    except HumanEvalError as exc:
        form = {
            "mode": mode,
            "overlap": overlap,
            "rubric": rubric,
            "instructions": instructions,
            "tags": tags,
        }
        return render(
            request,
            "admin/new_campaign.html",
            400,
            modes=MODES,
            defaults=form,
            error=translator(request)(exc.code),
            name=name,
            runs=ctx.store.list_runs(ctx.project, limit=30),
            groups=_groups(request),
            chosen_groups=group,
            chosen_judge=judge_first,
            only_unsettled=bool(only_unsettled),
            **choices,
        )
    return RedirectResponse(f"/admin/campaigns/{campaign.id}", status_code=303)


@router.get("/campaigns/{campaign_id}")
def dashboard(
    request: Request,
    campaign_id: RowId,
    who: Viewer = Depends(admin),  # noqa: B008
) -> Response:
    ctx = web(request)
    campaign = get_campaign(ctx.store, ctx.project, campaign_id)
    return render(
        request,
        "admin/campaign.html",
        campaign=campaign,
        progress=campaign_progress(ctx.store, campaign),
        people=annotator_progress(ctx.store, campaign),
        items=item_progress(ctx.store, campaign),
        outcomes=variant_outcomes(ctx.store, campaign),
        complaints=latest_complaints(ctx.store, campaign),
        tags=tag_counts(ctx.store, campaign)[:30],
    )


_UNSAFE_IN_QUOTES = re.compile(r'[^\x20-\x7e]|["\\%]')


def content_disposition(filename: str) -> str:
    """An ``attachment`` header for ``filename`` (RFC 6266): ``filename*`` carries the name
    in UTF-8, percent-encoded (so no character can break the header), and ``filename`` an
    ASCII stand-in for old clients, every other character replaced by ``_``."""
    fallback = _UNSAFE_IN_QUOTES.sub("_", filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _download(body: Any, filename: str, media_type: str) -> StreamingResponse:
    disposition = content_disposition(filename)
    return StreamingResponse(
        body, media_type=media_type, headers={"Content-Disposition": disposition}
    )


@router.get("/campaigns/{campaign_id}/judgments.csv")
def download_judgments(
    request: Request,
    campaign_id: RowId,
    history: bool = False,
    who: Viewer = Depends(admin),  # noqa: B008
) -> Response:
    """Every judgment of the campaign with what was judged (``hyouka judgments export``)."""
    ctx = web(request)
    campaign = get_campaign(ctx.store, ctx.project, campaign_id)
    rows = judgment_rows(ctx.store, ctx.project, campaign=campaign, history=history)
    suffix = "-history" if history else ""
    return _download(
        csv_text(rows, JUDGMENT_COLUMNS),
        f"{campaign.name}-judgments{suffix}.csv",
        "text/csv; charset=utf-8",
    )


@router.get("/campaigns/{campaign_id}/pairs.jsonl")
def download_pairs(
    request: Request,
    campaign_id: RowId,
    who: Viewer = Depends(admin),  # noqa: B008
) -> Response:
    """The people's settled preferences as prompt/chosen/rejected rows (``--pairs``)."""
    ctx = web(request)
    campaign = get_campaign(ctx.store, ctx.project, campaign_id)
    if not campaign.pairwise:
        raise HumanEvalError("a rating-only campaign has no pairs", "error.not_found")
    rows = preference_pairs(ctx.store, campaign)
    return _download(
        jsonl_text(rows), f"{campaign.name}-pairs.jsonl", "application/x-ndjson; charset=utf-8"
    )


@router.post("/campaigns/{campaign_id}/status")
def change_status(
    *,
    request: Request,
    campaign_id: RowId,
    who: Viewer = Depends(admin),  # noqa: B008
    csrf: Short = "",
    status: Short,
) -> Response:
    check_csrf(who, csrf)
    ctx = web(request)
    set_campaign_status(ctx.store, ctx.project, campaign_id, status)
    return RedirectResponse(f"/admin/campaigns/{campaign_id}", status_code=303)


@router.post("/annotators")
def add_person(
    request: Request,
    who: Viewer = Depends(admin),  # noqa: B008
    csrf: Short = "",
    name: Short = "",
    group: Short = "",
    role: Short = "annotator",
) -> Response:
    check_csrf(who, csrf)
    ctx = web(request)
    try:
        person, token = add_annotator(ctx.store, ctx.project, name, group, role == "admin")
    except HumanEvalError as exc:
        return render(request, "message.html", 400, title="error.title", body=exc.code)
    base = ctx.settings.public_url or str(request.base_url)
    return render(request, "admin/person_link.html", person=person, link=signin_link(base, token))


@router.post("/annotators/status")
def person_status(
    *,
    request: Request,
    who: Viewer = Depends(admin),  # noqa: B008
    csrf: Short = "",
    name: Short,
    disabled: bool = Form(...),
) -> Response:
    check_csrf(who, csrf)
    ctx = web(request)
    set_disabled(ctx.store, ctx.project, name, disabled)
    return RedirectResponse("/admin", status_code=303)
