"""The team's workbench (``/team/``): runs, the run page's case grid, compare, versions,
and the playground. For admins and editors only (:func:`hyouka.web.context.team`): these
pages name variants, so an annotator gets 403 on every one of them, pages and JSON alike.

Every page is rendered on the server from :attr:`WebContext.front.workbench` (the same
facade as ``ws.workbench``); the page script only adds keyboard shortcuts and toggles, and
never writes output text as markup.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

import yaml
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from hyouka.bounds import LONG_TEXT_MAX, NAME_MAX
from hyouka.config import Project, load_config
from hyouka.errors import NotFoundError
from hyouka.humans import HumanEvalError
from hyouka.web.context import (
    BadRequest,
    Viewer,
    check_csrf,
    locale_of,
    render,
    team,
    translator,
    web,
)
from hyouka.workbench import playground as pg
from hyouka.workbench.grid import GridFilter

router = APIRouter(prefix="/team", include_in_schema=False)

Ref = Annotated[str, PathParam(max_length=64)]
Text = Annotated[str, Query(max_length=200)]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
Size = Annotated[int, Query(ge=1, le=200)]


@router.get("")
@router.get("/")
def runs_page(request: Request, who: Viewer = Depends(team)) -> Response:  # noqa: B008
    bench = web(request).front.workbench
    return render(
        request, "team/runs.html", runs=bench.runs(50), variant_names=bench.variant_names()
    )


def _filter(check: str, show: str, q: str, page: int, size: int) -> GridFilter:
    return GridFilter(check=check, show=show, q=q, page=page, size=size).normalised()


@router.get("/runs/{ref}")
def run_page(
    request: Request,
    ref: Ref,
    check: Text = "",
    show: Text = "",
    q: Text = "",
    page: Page = 1,
    size: Size = 25,
    diff: bool = False,
    who: Viewer = Depends(team),  # noqa: B008
) -> Response:
    bench = web(request).front.workbench
    run = bench.run(ref)
    f = _filter(check, show, q, page, size)
    grid = bench.grid(run, f, diffs=diff)
    variants = bench.variants_of(run)
    shown = render(
        request,
        "team/run.html",
        run=run,
        variants=variants,
        grid=grid,
        f=grid.filter,
        causes=bench.errors(run)[:20],
        diffs=diff,
        query=_query,
    )
    bench.warm(run)  # the filters' index, built after this page (not competing with it)
    return shown


@router.get("/runs/{ref}/summary.json")
def run_summary_json(
    request: Request,
    ref: Ref,
    who: Viewer = Depends(team),  # noqa: B008
) -> Response:
    """Per variant: ``hyouka show``'s figures and ``hyouka compare``'s intervals and verdicts
    (against the first variant). Seconds on a large run, so the page asks for it after it is
    shown; cached per run for a minute."""
    bench = web(request).front.workbench
    run = bench.run(ref)
    lang = locale_of(request)
    s = bench.summary(run, lang)
    t = translator(request)
    first = s.variants[0].name if s.variants else ""
    return JSONResponse(
        {
            "run": run.uid,
            "level": s.level,
            "metrics": s.metrics,
            "labels": {
                "variant": t("team.variant"),
                "samples": t("team.samples"),
                "errors": t("team.errors"),
                "cost": t("team.cost"),
            },
            "variants": [
                {
                    "name": v.name,
                    "version": v.version[:8],
                    "href": f"/team/variants/{quote(v.name, safe='')}",
                    "samples": v.samples,
                    "errors": v.errors,
                    "cost": v.cost if v.cost_known else None,
                    "metrics": {
                        m: (
                            {"mean": c.mean, "low": c.low, "high": c.high}
                            if (c := s.cells.get((v.variant_id, m))) is not None
                            else None
                        )
                        for m in s.metrics
                    },
                }
                for v in s.shows
            ],
            "verdicts": [
                {
                    "text": sentence,
                    "href": f"/team/runs/{run.uid}/compare?" + _query(a=first, b=b, metric=metric),
                }
                for b, metric, sentence in s.verdicts
            ],
            "problem": s.problem,
        }
    )


@router.get("/runs/{ref}/grid.json")
def run_grid_json(
    request: Request,
    ref: Ref,
    check: Text = "",
    show: Text = "",
    q: Text = "",
    page: Page = 1,
    size: Size = 25,
    who: Viewer = Depends(team),  # noqa: B008
) -> Response:
    """The grid's page as JSON (for scripts and the API-minded; the page is server-rendered)."""
    bench = web(request).front.workbench
    run = bench.run(ref)
    names = {v.id: v.name for v in bench.variants_of(run)}
    grid = bench.grid(run, _filter(check, show, q, page, size))
    return JSONResponse(
        {
            "run": run.uid,
            "total": grid.total,
            "page": grid.page,
            "pages": grid.pages,
            "cases": [
                {
                    "case": row.key,
                    "inputs": dict(row.inputs),
                    "variants": {
                        names[vid]: [
                            {
                                "sample": s.index,
                                "status": s.status,
                                "output": s.output,
                                "error": s.error,
                                "scores": [
                                    {
                                        "check": sc.label,
                                        "passed": sc.passed,
                                        "value": sc.value,
                                        "reason": sc.reason,
                                        "judge": sc.judge,
                                    }
                                    for sc in s.scores
                                ],
                            }
                            for s in cell.samples
                        ]
                        for vid, cell in row.cells.items()
                    },
                }
                for row in grid.rows
            ],
        }
    )


@router.get("/runs/{ref}/cases/{key}")
def case_page(
    request: Request,
    ref: Ref,
    key: Annotated[str, PathParam(max_length=200)],
    who: Viewer = Depends(team),  # noqa: B008
) -> Response:
    bench = web(request).front.workbench
    run = bench.run(ref)
    return render(
        request,
        "team/case.html",
        run=run,
        variants=bench.variants_of(run),
        row=bench.case(run, key),
    )


@router.get("/runs/{ref}/cases/{key}/samples.json")
def case_samples_json(
    request: Request,
    ref: Ref,
    key: Annotated[str, PathParam(max_length=200)],
    variant: Text,
    who: Viewer = Depends(team),  # noqa: B008
) -> Response:
    """Every sample of one variant on one case, with its scores (the grid's "all samples")."""
    bench = web(request).front.workbench
    run = bench.run(ref)
    row = bench.case(run, key)
    t = translator(request)
    for v in bench.variants_of(run):
        if v.name == variant:
            cell = row.cells[v.id]
            break
    else:
        raise NotFoundError(f"no variant '{variant}' in run {run.uid}")
    return JSONResponse(
        {
            "samples": [
                {
                    "index": s.index,
                    "status": s.status,
                    "status_label": t("team.status." + s.status),
                    "text": s.output if s.status == "ok" else (s.error or s.status),
                    "latency_ms": s.latency_ms,
                    "scores": [
                        {
                            "label": sc.label,
                            "passed": sc.passed,
                            "value": sc.value,
                            "reason": sc.reason
                            if (sc.passed is False or sc.judge or sc.status != "ok")
                            else None,
                            "judge": sc.judge,
                        }
                        for sc in s.scores
                    ],
                }
                for s in cell.samples
            ]
        }
    )


@router.get("/runs/{ref}/compare")
def compare_page(
    request: Request,
    ref: Ref,
    a: Text = "",
    b: Text = "",
    metric: Text = "",
    page: Page = 1,
    who: Viewer = Depends(team),  # noqa: B008
) -> Response:
    bench = web(request).front.workbench
    run = bench.run(ref)
    variants = bench.variants_of(run)
    if not a or not b:
        if len(variants) < 2:
            return render(request, "message.html", 400, title="error.title", body="team.need_two")
        a = a or variants[0].name
        b = b or next(v.name for v in variants if v.name != a)
    view = bench.compare(run, a, b, metric=metric, page=page, lang=locale_of(request))
    return render(request, "team/compare.html", run=run, variants=variants, view=view, query=_query)


@router.get("/variants/{name}")
def versions_page(
    request: Request,
    name: Annotated[str, PathParam(max_length=200)],
    who: Viewer = Depends(team),  # noqa: B008
) -> Response:
    bench = web(request).front.workbench
    versions = bench.versions(name)
    return render(request, "team/versions.html", name=name, versions=list(reversed(versions)))


# -- the playground --------------------------------------------------------------------------

LongText = Annotated[str, Form(max_length=LONG_TEXT_MAX)]
ShortText = Annotated[str, Form(max_length=NAME_MAX)]


def _project(request: Request) -> Project:
    """The project as hyouka.yaml says now (re-read: the playground writes it)."""
    ctx = web(request)
    if ctx.config is None:
        raise BadRequest("team.playground_no_folder")
    return load_config(ctx.config.root)


def _playground(request: Request, status: int = 200, **values: Any) -> Response:
    project = _project(request)
    names = [n for n, v in project.config.variants.items() if v.app is None and v.prompt]
    if not names:
        raise BadRequest("team.playground_no_prompt")
    base = values.pop("base", "") or names[0]
    if base not in names:
        base = names[0]
    config = project.config.variants[base]
    context: dict[str, Any] = {
        "names": names,
        "base": base,
        "prompt": pg.prompt_text(project, base),
        "params": yaml.safe_dump(dict(config.params), allow_unicode=True, sort_keys=False)
        if config.params
        else "",
        "cases": pg.dataset_cases(project, 50),
        "chosen": [],
        "new_name": "",
        "error": None,
        "saved": None,
    }
    context.update(values)
    return render(request, "team/playground.html", status, **context)


@router.get("/playground")
def playground_page(
    request: Request,
    variant: Text = "",
    who: Viewer = Depends(team),  # noqa: B008
) -> Response:
    return _playground(request, base=variant)


@router.post("/playground/try")
async def playground_try(
    request: Request,
    who: Viewer = Depends(team),  # noqa: B008
    csrf: ShortText = "",
    variant: ShortText = "",
    prompt: LongText = "",
    params: LongText = "",
    case: list[str] = Form([]),  # noqa: B008
) -> Response:
    """Server-sent events: ``start``, ``output`` or ``error`` per case, then ``done``."""
    check_csrf(who, csrf)
    project = _project(request)
    t = translator(request)
    try:
        d = pg.Draft(variant, prompt, pg.parse_params(params))
        pg.draft_spec(project, d)
    except pg.PlaygroundError as exc:
        return JSONResponse({"error": "team.try_failed", "message": str(exc)}, status_code=400)

    async def events() -> AsyncIterator[bytes]:
        try:
            async for event in pg.try_cases(project, d, [c[:200] for c in case[:50]]):
                yield _sse(event)
        except pg.PlaygroundError as exc:
            yield _sse({"event": "error", "case": "", "message": str(exc)})
            yield _sse({"event": "done", "cases": 0})
        except Exception as exc:
            yield _sse({"event": "error", "case": "", "message": f"{t('team.try_failed')}: {exc}"})
            yield _sse({"event": "done", "cases": 0})

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['event']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n".encode()


@router.post("/playground/save")
def playground_save(
    request: Request,
    who: Viewer = Depends(team),  # noqa: B008
    csrf: ShortText = "",
    variant: ShortText = "",
    prompt: LongText = "",
    params: LongText = "",
    name: ShortText = "",
    case: list[str] = Form([]),  # noqa: B008
) -> Response:
    check_csrf(who, csrf)
    project = _project(request)
    keep: dict[str, Any] = {
        "base": variant,
        "prompt": prompt,
        "params": params,
        "new_name": name,
        "chosen": case,
    }
    try:
        d = pg.Draft(variant, prompt, pg.parse_params(params))
        written = pg.save_variant(project, d, name, who.annotator.name)
    except pg.PlaygroundError as exc:
        return _playground(request, 400, error=str(exc), **keep)
    shown = str(written.relative_to(project.root))
    return _playground(request, saved={"name": name.strip(), "file": shown}, **keep)


@router.post("/playground/run")
def playground_run(
    request: Request,
    who: Viewer = Depends(team),  # noqa: B008
    csrf: ShortText = "",
    variant: ShortText = "",
) -> Response:
    """Run the saved variant and the current best on the datasets, in the background."""
    check_csrf(who, csrf)
    project = _project(request)
    if variant not in project.config.variants:
        raise BadRequest("team.unknown_variant")
    ctx = web(request)
    best = pg.best_variant(ctx.store, ctx.project, exclude=variant)
    names = [variant] + ([best] if best else [])
    job = ctx.front.workbench.jobs.start(project.root, ctx.store, names)
    return RedirectResponse(f"/team/playground/jobs/{job.id}", status_code=303)


JobId = Annotated[str, PathParam(max_length=40)]


@router.get("/playground/jobs/{job_id}.json")
def playground_job_json(
    request: Request,
    job_id: JobId,
    who: Viewer = Depends(team),  # noqa: B008
) -> Response:
    job = web(request).front.workbench.jobs.get(job_id)
    if job is None:
        raise NotFoundError(f"no playground run '{job_id}'")
    return JSONResponse(
        {"status": job.status, "total": job.total, "done": job.done, "errors": job.errors,
         "run": job.run, "message": job.message, "variants": job.variants}
    )  # fmt: skip


@router.get("/playground/jobs/{job_id}")
def playground_job(
    request: Request,
    job_id: JobId,
    campaign: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    who: Viewer = Depends(team),  # noqa: B008
) -> Response:
    ctx = web(request)
    job = ctx.front.workbench.jobs.get(job_id)
    if job is None:
        raise NotFoundError(f"no playground run '{job_id}'")
    opened = ctx.front.campaigns.get(campaign) if campaign is not None else None
    return render(request, "team/job.html", job=job, opened=opened)


@router.post("/playground/campaign")
def playground_campaign(
    request: Request,
    who: Viewer = Depends(team),  # noqa: B008
    csrf: ShortText = "",
    job: ShortText = "",
) -> Response:
    """One click: a campaign putting the new variant against the current best, before the
    people who judge (blind, as every campaign)."""
    check_csrf(who, csrf)
    ctx = web(request)
    found = ctx.front.workbench.jobs.get(job)
    if found is None or found.run is None or len(found.variants) < 2:
        raise BadRequest("team.campaign_needs_run")
    new, best = found.variants[0], found.variants[1]
    try:
        # named for the try, not the variants: annotators see a campaign's name
        when = datetime.now(UTC).strftime("%m%d-%H%M")
        campaign = ctx.front.campaigns.create(
            f"playground-{when}-{found.id[:6]}", run=found.run, variants=[new, best]
        )
    except HumanEvalError as exc:
        raise BadRequest(exc.code) from None
    return RedirectResponse(
        f"/team/playground/jobs/{found.id}?campaign={campaign.id}", status_code=303
    )


def _query(**values: Any) -> str:
    """A query string of the non-empty values (for the grid's links)."""
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in values.items() if v not in ("", None)})


__all__ = ["router", "translator"]
