"""Admin pages: campaigns (list, create, dashboard, close), people (add, disable)."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from hyouka.bounds import LONG_TEXT_MAX, NAME_MAX, TAG_MAX
from hyouka.export import csv_text, jsonl_text
from hyouka.facades.humans import CampaignDefaults
from hyouka.humans import JUDGMENT_COLUMNS, MODES, HumanEvalError
from hyouka.humans.campaigns import MAX_OVERLAP, MIN_OVERLAP
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
    front = ctx.front
    campaigns = [
        {"campaign": c, "progress": front.campaigns.progress(c)}
        for c in reversed(front.campaigns.list())
    ]
    return render(
        request,
        "admin/index.html",
        campaigns=campaigns,
        runs=ctx.store.list_runs(ctx.project, limit=30),
        people=front.people.list(),
        api_keys=front.api_keys.list(),
    )


def _run_choices(request: Request, run_ref: str) -> dict[str, Any]:
    campaigns = web(request).front.campaigns
    run = campaigns.run(run_ref)
    return {"run": run, "overview": campaigns.overview(run)}


@router.get("/campaigns/new")
def new_campaign(
    request: Request,
    run: Annotated[str, Query(max_length=64)] = "latest",
    who: Viewer = Depends(admin),  # noqa: B008
) -> Response:
    ctx = web(request)
    return render(
        request,
        "admin/new_campaign.html",
        modes=MODES,
        defaults=_form(ctx.front.campaigns.defaults()),
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
    return web(request).front.people.groups()


def _form(d: CampaignDefaults) -> dict[str, Any]:
    """The new-campaign form's initial values: the campaign defaults (hyouka.yaml's human:)."""
    return {
        "mode": d.mode,
        "overlap": d.overlap,
        "rubric": d.rubric or "",
        "instructions": d.instructions or "",
        "tags": "\n".join(d.tags),
        "seed": d.seed,
        "assignment_minutes": d.assignment_minutes,
        "overlap_bounds": (MIN_OVERLAP, MAX_OVERLAP),  # human.overlap's, in hyouka.yaml's model
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
MaybeShort = Annotated[str | None, Form(max_length=NAME_MAX)]
MaybeLong = Annotated[str | None, Form(max_length=LONG_TEXT_MAX)]


@router.post("/campaigns")
def create(
    *,
    request: Request,
    who: Viewer = Depends(admin),  # noqa: B008
    csrf: Short = "",
    run: Short,
    name: Short = "",
    # A field left out takes the campaign default (ws.campaigns.defaults(), as in the CLI).
    mode: MaybeShort = None,
    variant: list[str] = Form([]),  # noqa: B008
    case_keys: Long = "",
    overlap: int | None = Form(None),
    rubric: MaybeLong = None,
    instructions: MaybeLong = None,
    tags: Annotated[str | None, Form(max_length=(TAG_MAX + 1) * 100)] = None,
    seed: int | None = Form(None),
    max_samples: Short = "",
    assignment_minutes: int | None = Form(None),
    group: list[str] = Form([]),  # noqa: B008
    judge_first: Short = "",
    only_unsettled: Short = "",
) -> Response:
    check_csrf(who, csrf)
    ctx = web(request)
    choices = _run_choices(request, run)
    try:
        campaign = ctx.front.campaigns.create(
            name,
            run=choices["run"].uid,
            mode=mode,
            variants=_short(variant),
            cases=_lines(case_keys),
            overlap=overlap,
            rubric=rubric,
            instructions=instructions,
            tags=None if tags is None else [t.strip() for t in tags.splitlines() if t.strip()],
            seed=seed,
            max_samples=_count(max_samples),
            assignment_minutes=assignment_minutes,
            groups=_short(group),
            judge_first=judge_first or None,
            only_unsettled=bool(judge_first and only_unsettled),
        )
    except HumanEvalError as exc:
        form = {
            **_form(ctx.front.campaigns.defaults()),
            **{
                k: v
                for k, v in {
                    "mode": mode, "overlap": overlap, "rubric": rubric,
                    "instructions": instructions, "tags": tags, "seed": seed,
                    "assignment_minutes": assignment_minutes,
                }.items()
                if v is not None
            },
        }  # fmt: skip
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
    campaigns = web(request).front.campaigns
    campaign = campaigns.get(campaign_id)
    return render(
        request,
        "admin/campaign.html",
        campaign=campaign,
        progress=campaigns.progress(campaign),
        people=campaigns.annotators(campaign),
        items=campaigns.items(campaign),
        outcomes=campaigns.outcomes(campaign),
        complaints=campaigns.complaints(campaign),
        tags=campaigns.tags(campaign)[:30],
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
    front = web(request).front
    campaign = front.campaigns.get(campaign_id)
    rows = front.judgments.rows(campaign, history=history)
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
    front = web(request).front
    campaign = front.campaigns.get(campaign_id)
    if not campaign.pairwise:
        raise HumanEvalError("a rating-only campaign has no pairs", "error.not_found")
    rows = front.judgments.pairs(campaign)
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
    web(request).front.campaigns.set_status(campaign_id, status)
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
        person, token = ctx.front.people.add(name, group, role == "admin", role or None)
    except HumanEvalError as exc:
        return render(request, "message.html", 400, title="error.title", body=exc.code)
    base = ctx.settings.public_url or str(request.base_url)
    link = ctx.front.people.signin_link(base, token)
    return render(request, "admin/person_link.html", person=person, link=link)


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
    web(request).front.people.set_disabled(name, disabled)
    return RedirectResponse("/admin", status_code=303)
