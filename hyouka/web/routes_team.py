"""The team's workbench (``/team/``): runs, the run page's case grid, compare, versions,
and the playground. For admins and editors only (:func:`hyouka.web.context.team`): these
pages name variants, so an annotator gets 403 on every one of them, pages and JSON alike.

Every page is rendered on the server from :attr:`WebContext.front.workbench` (the same
facade as ``ws.workbench``); the page script only adds keyboard shortcuts and toggles, and
never writes output text as markup.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response

from hyouka.errors import NotFoundError
from hyouka.web.context import Viewer, locale_of, render, team, translator, web
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
    return render(
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


def _query(**values: Any) -> str:
    """A query string of the non-empty values (for the grid's links)."""
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in values.items() if v not in ("", None)})


__all__ = ["router", "translator"]
