"""Admin pages of the feedback loop: ``/admin/report`` (the report) and ``/admin/feedback``
(complaints → proposed checks, with their preview, accepted or rejected by an admin).

Accepting writes the check into ``regressions.yaml`` when the app knows the project folder
(``app.state.project``, a :class:`hyouka.config.Project`, set by ``hyouka serve``); otherwise
the decision is recorded and ``hyouka feedback sync`` writes it later. Judge checks are not
previewed here: that would make model calls from a page view.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from hyouka.bounds import COMMENT_MAX
from hyouka.config import Project
from hyouka.errors import HyoukaError
from hyouka.loop import (
    Preview,
    Proposal,
    accept_proposal,
    list_proposals,
    pending_groups,
    preview_proposal,
    propose_checks,
    reject_proposal,
)
from hyouka.web.context import RowId, Viewer, admin, check_csrf, locale_of, render, web

router = APIRouter(prefix="/admin", include_in_schema=False)

Ref = Annotated[str, Query(max_length=200)]
MaybeRef = Annotated[str | None, Query(max_length=200)]

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Complaints → checks",
        "report": "Report",
        "propose": "Propose checks for new complaints",
        "pending": "{n} complaint group(s) not proposed yet",
        "none": "No proposals yet.",
        "check": "Check",
        "complaints": "Complaints",
        "preview": "Preview",
        "fails": "fails {bad}/{n} complained outputs (must fail all)",
        "passes_liked": "passes {ok}/{n} liked outputs (should pass them)",
        "not_judged": "judge check: preview it with `hyouka feedback show {id} --judge-preview`",
        "accept": "Accept",
        "reject": "Reject",
        "reason": "reason (optional)",
        "decided": "{status} by {by} on {at}",
        "written": "Accepted {metric}: written to regressions.yaml.",
        "recorded": "Accepted {metric}. Run `hyouka feedback sync` in the project to write it.",
        "rejected": "Rejected {metric}.",
        "proposed": "{n} new proposal(s).",
    },
    "ja": {
        "title": "苦情 → チェック",
        "report": "レポート",
        "propose": "新しい苦情からチェックを提案",
        "pending": "未提案の苦情グループが {n} 件あります",
        "none": "提案はまだありません。",
        "check": "チェック",
        "complaints": "苦情",
        "preview": "プレビュー",
        "fails": "苦情を受けた出力 {n} 件中 {bad} 件で不合格（すべて不合格になる必要があります）",
        "passes_liked": "好評だった出力 {n} 件中 {ok} 件で合格（合格するのが望ましい）",
        "not_judged": "審査員チェック: `hyouka feedback show {id} --judge-preview` で確認できます",
        "accept": "採用",
        "reject": "却下",
        "reason": "理由（任意）",
        "decided": "{at} に {by} が {status}",
        "written": "{metric} を採用し、regressions.yaml に書き込みました。",
        "recorded": "{metric} を採用しました。プロジェクトで `hyouka feedback sync` を実行して"
        "書き込んでください。",
        "rejected": "{metric} を却下しました。",
        "proposed": "{n} 件の新しい提案。",
    },
}


def _words(request: Request) -> Any:
    table = WORDS["ja" if locale_of(request) == "ja" else "en"]

    def w(key: str, **fields: object) -> str:
        return (table.get(key) or WORDS["en"][key]).format(**fields)

    return w


def _project(request: Request) -> Project | None:
    found = getattr(request.app.state, "project", None)
    return found if isinstance(found, Project) else None


@router.get("/report")
def report_page(
    request: Request,
    run: Ref = "latest",
    baseline: MaybeRef = None,
    metric: MaybeRef = None,
    lang: Annotated[str | None, Query(max_length=10)] = None,
    who: Viewer = Depends(admin),  # noqa: B008 - FastAPI's idiom
) -> Response:
    from hyouka.report import build_report

    ctx = web(request)
    page = build_report(
        ctx.store, ctx.project, run=run, lang=lang or locale_of(request), baseline=baseline,
        gacha_metric=metric, css_href="/admin/report.css", back_href="/admin",
        back_label="admin",
    )  # fmt: skip
    return HTMLResponse(page)


@router.get("/report.css")
def report_css(who: Viewer = Depends(admin)) -> Response:  # noqa: B008
    from hyouka.report.render import CSS

    return PlainTextResponse(CSS.read_text(encoding="utf-8"), media_type="text/css")


def _row(store: Any, project: str, p: Proposal) -> dict[str, Any]:
    preview: Preview | None = None
    if p.status == "proposed":
        try:
            preview = preview_proposal(store, project, p)
        except HyoukaError:
            preview = None
    return {"p": p, "preview": preview}


@router.get("/feedback")
def feedback_page(
    request: Request,
    done: Annotated[str | None, Query(max_length=2000)] = None,
    who: Viewer = Depends(admin),  # noqa: B008
) -> Response:
    ctx = web(request)
    rows = [
        _row(ctx.store, ctx.project, p) for p in reversed(list_proposals(ctx.store, ctx.project))
    ]
    return render(
        request, "admin/loop_feedback.html", w=_words(request), rows=rows,
        pending=pending_groups(ctx.store, ctx.project), done=done,
    )  # fmt: skip


@router.post("/feedback/propose")
def propose(
    request: Request,
    who: Viewer = Depends(admin),  # noqa: B008
    csrf: str = Form(""),
) -> Response:
    check_csrf(who, csrf)
    ctx = web(request)
    result = propose_checks(ctx.store, ctx.project, _project(request))
    note = _words(request)("proposed", n=len(result.created))
    return RedirectResponse(f"/admin/feedback?done={note}", status_code=303)


@router.post("/feedback/{proposal_id}/decide")
def decide(
    *,
    request: Request,
    proposal_id: RowId,
    who: Viewer = Depends(admin),  # noqa: B008
    csrf: Annotated[str, Form(max_length=200)] = "",
    decision: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=COMMENT_MAX)] = "",
) -> Response:
    check_csrf(who, csrf)
    ctx = web(request)
    w = _words(request)
    project = _project(request)
    by = who.annotator.name
    try:
        if decision == "accept":
            result = accept_proposal(ctx.store, ctx.project, proposal_id, by, project=project,
                                     note=reason or None)  # fmt: skip
            key = "written" if result.written is not None else "recorded"
            note = w(key, metric=result.proposal.metric)
        else:
            rejected = reject_proposal(ctx.store, ctx.project, proposal_id, by,
                                       reason=reason or None, project=project)  # fmt: skip
            note = w("rejected", metric=rejected.metric)
    except HyoukaError as exc:
        note = str(exc)
    return RedirectResponse(f"/admin/feedback?done={note}", status_code=303)
