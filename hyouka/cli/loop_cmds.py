"""``hyouka feedback`` (complaints → checks), ``hyouka gate`` (CI) and ``hyouka report`` (HTML).

Every step calls the workspace (``ws.feedback``, ``ws.reports``); this module formats.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table

from hyouka.cli.common import (
    console,
    json_option,
    open_workspace,
    print_json,
    project_option,
    say,
    say_word,
)
from hyouka.errors import HyoukaError

if TYPE_CHECKING:
    from hyouka.loop import Preview, Proposal

STATUS_STYLE = {"proposed": "yellow", "accepted": "green", "rejected": "dim"}


def _who(by: str | None) -> str:
    return by or os.environ.get("HYOUKA_USER") or getpass.getuser()


def _by_option(func: Any) -> Any:
    return click.option(
        "--by",
        default=None,
        metavar="NAME",
        help="Who decides (recorded). Default: HYOUKA_USER, then the login name.",
    )(func)


def _short(text: str | None, n: int = 70) -> str:
    one = " ".join(str(text or "").split())
    return one if len(one) <= n else one[: n - 1] + "…"


def _check_text(p: Proposal) -> str:
    spec = dict(p.spec)
    if spec.get("type") == "judge-rubric":
        return f"judge-rubric (judge {spec.get('judge')}, pass ≥ {spec.get('threshold')})"
    return f"{spec.get('type')} {json.dumps(spec.get('value'), ensure_ascii=False)}"


def print_preview(preview: Preview) -> None:
    if not preview.judged:
        note = escape(preview.note) if preview.note else say("feedback.not_judged")
        console.print(f"[yellow]{say('feedback.preview')}[/] {note}")
        return
    bad = len(preview.complained) - len(preview.missed)
    mark = "[green]✓[/]" if preview.fails_complained else "[red]✗[/]"
    console.print(f"{mark} {say('feedback.fails_complained', bad=bad, n=len(preview.complained))}")
    passes, fails = say("feedback.passes"), say("feedback.fails")
    for r in preview.missed:
        console.print(f"    [red]{passes}[/] {escape(_short(r.output))}  [dim]{escape(r.key)}[/]")
    liked_ok = sum(r.passed is True for r in preview.liked)
    mark = "[green]✓[/]" if not preview.liked_failed else "[yellow]![/]"
    console.print(f"{mark} {say('feedback.passes_liked', ok=liked_ok, n=len(preview.liked))}")
    for r in preview.liked_failed[:5]:
        console.print(f"    [yellow]{fails}[/] {escape(_short(r.output))}  [dim]{escape(r.key)}[/]")


def print_proposal(p: Proposal, preview: Preview | None = None) -> None:
    style = STATUS_STYLE.get(p.status, "")
    line = say("feedback.proposal_line", kind=p.kind, n=len(p.complaints),
               date=f"{p.raised_at:%Y-%m-%d}")  # fmt: skip
    status = say_word("proposal_status", p.status)
    console.print(f"[bold]{escape(p.metric)}[/] [{style}]{status}[/] · {line}")
    console.print(f"  {say('feedback.check', check=_check_text(p))}", highlight=False)
    if p.spec.get("rubric"):
        for line in str(p.spec["rubric"]).splitlines()[:6]:
            console.print(f"    [dim]{escape(line)}[/]", highlight=False)
    for c in p.complaints[:5]:
        console.print(
            f"  · {escape(str(c.get('who')))} ({str(c.get('when'))[:10]}, "
            f"{escape(str(c.get('variant') or '?'))}): {escape(_short(c.get('text')))}\n"
            f"      [dim]{escape(_short(c.get('output'), 90))}[/]",
            highlight=False,
        )
    if p.decided_by:
        when = f"{p.decided_at:%Y-%m-%d %H:%M}"
        console.print(f"  {say('feedback.decided', who=p.decided_by, when=when)}")
    if preview is not None:
        print_preview(preview)


# ----------------------------------------------------------------------------- feedback


@click.group("feedback")
def feedback() -> None:
    """Complaints → proposed regression checks → accepted into regressions.yaml."""


@feedback.command("list")
@project_option
@click.option("--status", type=click.Choice(["proposed", "accepted", "rejected"]))
@json_option
def list_cmd(project_dir: Path, status: str | None, as_json: bool) -> None:
    """Proposals and the complaints not proposed yet, grouped."""
    ws = open_workspace(project_dir)
    found = ws.feedback.list(status)
    pending = ws.feedback.pending() if status is None else []
    if as_json:
        print_json(
            {
                "proposals": [p.as_dict() for p in found],
                "pending": [
                    {
                        "kind": g.kind,
                        "label": g.label,
                        "complaints": list(g.keys),
                        "raised_at": g.raised_at.isoformat(),
                    }
                    for g in pending
                ],
            }
        )
        return
    table = Table("id", "status", "kind", "complaints", "raised", "check", title="proposals")
    for p in found:
        style = STATUS_STYLE.get(p.status, "")
        table.add_row(
            p.metric,
            f"[{style}]{p.status}[/]",
            p.kind,
            str(len(p.complaints)),
            f"{p.raised_at:%Y-%m-%d}",
            escape(_short(_check_text(p), 60)),
        )
    console.print(table)
    if pending:
        console.print(
            f"[yellow]{len(pending)} complaint group(s) not proposed yet[/] "
            "(hyouka feedback propose):"
        )
        for g in pending:
            console.print(f"  · {g.kind}: {escape(_short(g.label))} ({len(g.complaints)})")


@feedback.command("propose")
@project_option
@click.option("--judge", default=None, help="Judge provider for rubric checks.")
@click.option("--judge-preview", is_flag=True, help="Preview judge checks (calls the judge).")
@json_option
def propose_cmd(project_dir: Path, judge: str | None, judge_preview: bool, as_json: bool) -> None:
    """Propose a check for every new group of complaints, with its preview."""
    ws = open_workspace(project_dir)
    result = ws.feedback.propose(judge)
    previews = {p.id: ws.feedback.preview(p, judges=judge_preview) for p in result.created}
    if as_json:
        print_json(
            {
                "created": [
                    {**p.as_dict(), "preview": previews[p.id].as_dict()} for p in result.created
                ],
                "joined": [p.as_dict() for p in result.joined],
            }
        )
        return
    if not result.created and not result.joined:
        console.print(say("feedback.none_new"))
    for p in result.created:
        print_proposal(p, previews[p.id])
    for p in result.joined:
        console.print(f"{p.metric}: {escape(p.note or '')}")


@feedback.command("show")
@click.argument("proposal")
@project_option
@click.option("--judge-preview", is_flag=True, help="Preview a judge check (calls the judge).")
@json_option
def show_cmd(proposal: str, project_dir: Path, judge_preview: bool, as_json: bool) -> None:
    """One proposal: its complaints, its check, and its preview."""
    ws = open_workspace(project_dir)
    p = ws.feedback.get(proposal)
    preview = ws.feedback.preview(p, judges=judge_preview)
    if as_json:
        print_json({**p.as_dict(), "preview": preview.as_dict()})
        return
    print_proposal(p, preview)


@feedback.command("accept")
@click.argument("proposal")
@project_option
@_by_option
@click.option("--note", default=None, help="Why (recorded with the decision).")
@click.option("--force", is_flag=True, help="Accept even if it passes a complained output.")
@click.option("--judge-preview", is_flag=True, help="Preview a judge check before accepting.")
@json_option
def accept_cmd(
    proposal: str,
    project_dir: Path,
    by: str | None,
    note: str | None,
    force: bool,
    judge_preview: bool,
    as_json: bool,
) -> None:
    """Accept a proposal: write its check to regressions.yaml and its cases to the dataset."""
    ws = open_workspace(project_dir)
    result = ws.feedback.accept(proposal, _who(by), force=force, judges=judge_preview, note=note)
    if as_json:
        print_json(result.as_dict())
        return
    print_preview(result.preview)
    w = result.written
    assert w is not None
    to = say(
        "feedback.accepted_to",
        metric=result.proposal.metric,
        file=w.regressions_file.name,
        section=w.section,
    )
    console.print(
        f"[green]{say('feedback.accepted')}[/] {to}"
        + (say("feedback.cases_added", n=len(w.cases_added)) if w.cases_added else "")
        + (say("feedback.include_added") if w.include_added else "")
    )


@feedback.command("edit")
@click.argument("proposal")
@project_option
@_by_option
@click.option("--type", "type_", default=None, help="Check type, e.g. not-contains, not-regex.")
@click.option("--value", "values", multiple=True, help="The check's value (repeat for a list).")
@click.option("--rubric", default=None, help="The judge rubric text.")
@click.option("--threshold", type=float, default=None)
@click.option("--judge", default=None, help="Judge provider.")
@click.option("--spec", default=None, help="The whole check as JSON (replaces the others).")
@click.option("--note", default=None)
@json_option
def edit_cmd(
    proposal: str,
    project_dir: Path,
    by: str | None,
    type_: str | None,
    values: tuple[str, ...],
    rubric: str | None,
    threshold: float | None,
    judge: str | None,
    spec: str | None,
    note: str | None,
    as_json: bool,
) -> None:
    """Change a proposed check before accepting it (kept as a new version)."""
    ws = open_workspace(project_dir)
    changes: dict[str, Any] = {}
    if spec:
        try:
            changes = dict(json.loads(spec))
        except (json.JSONDecodeError, TypeError, ValueError) as exc:
            raise HyoukaError(f"--spec is not a JSON object: {exc}") from None
    for key, value in (
        ("type", type_),
        ("rubric", rubric),
        ("threshold", threshold),
        ("judge", judge),
    ):
        if value is not None:
            changes[key] = value
    if values:
        changes["value"] = values[0] if len(values) == 1 else list(values)
    if not changes:
        raise HyoukaError(
            "nothing to change: give --type, --value, --rubric, --threshold, --judge or --spec"
        )
    p = ws.feedback.edit(proposal, _who(by), changes, note=note)
    preview = ws.feedback.preview(p)
    if as_json:
        print_json({**p.as_dict(), "preview": preview.as_dict()})
        return
    print_proposal(p, preview)


@feedback.command("reject")
@click.argument("proposal")
@project_option
@_by_option
@click.option("--reason", default=None, help="Why (recorded with the decision).")
@json_option
def reject_cmd(
    proposal: str, project_dir: Path, by: str | None, reason: str | None, as_json: bool
) -> None:
    """Reject a proposal (an accepted one is also taken out of regressions.yaml)."""
    ws = open_workspace(project_dir)
    p = ws.feedback.reject(proposal, _who(by), reason=reason)
    if as_json:
        print_json(p.as_dict())
        return
    console.print(f"[dim]{say('feedback.rejected')}[/] {escape(p.metric)}")


@feedback.command("sync")
@project_option
@json_option
def sync_cmd(project_dir: Path, as_json: bool) -> None:
    """Write accepted checks regressions.yaml lacks (accepted in the web app, say)."""
    ws = open_workspace(project_dir)
    written = ws.feedback.sync()
    if as_json:
        print_json({"written": [w.section for w in written]})
        return
    console.print(say("feedback.synced", n=len(written)))


# ----------------------------------------------------------------------------- gate


@click.command("gate")
@project_option
@click.option("--baseline", "-a", required=True, help="Variant (name or name@version) to beat.")
@click.option("--candidate", "-b", required=True, help="Variant that wants to replace it.")
@click.option(
    "--metric",
    "-m",
    "metrics",
    multiple=True,
    help="Also fail when significantly worse on this metric (repeatable).",
)
@click.option("--run", default="latest", show_default=True, help="Run to look in first.")
@click.option(
    "--baseline-run",
    default=None,
    help="Run of the baseline (default: --run, else the newest run that has it).",
)
@click.option(
    "--max-fail-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of samples allowed to fail an accepted check.",
)
@click.option("--allow-open", is_flag=True, help="Complaints the baseline also fails only warn.")
@click.option(
    "--margin",
    type=float,
    default=0.0,
    show_default=True,
    help="A metric fails only when worse by more than this.",
)
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write JUnit XML here (one test case per rule).",
)
@json_option
def gate_cmd(
    project_dir: Path,
    baseline: str,
    candidate: str,
    metrics: tuple[str, ...],
    run: str,
    baseline_run: str | None,
    max_fail_rate: float,
    allow_open: bool,
    margin: float,
    junit: Path | None,
    as_json: bool,
) -> None:
    """Exit 1 when the candidate brings back a complaint, fails an accepted check, or is
    significantly worse than the baseline on a --metric (for CI)."""
    ws = open_workspace(project_dir)
    result = ws.feedback.gate(
        baseline,
        candidate,
        metrics=metrics,
        run=run,
        baseline_run=baseline_run,
        max_fail_rate=max_fail_rate,
        allow_open=allow_open,
        margin=margin,
    )
    if junit is not None:
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_text(result.junit_xml(), encoding="utf-8")
    if as_json:
        print_json(result.as_dict())
    else:
        head = say(
            "gate.head",
            candidate=result.candidate.label,
            crun=result.candidate.run.uid,
            baseline=result.baseline.label,
            brun=result.baseline.run.uid,
        )
        console.print(head, highlight=False)
        marks = {"pass": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]"}
        for rule in result.rules:
            console.print(f"  {marks[rule.status]} {escape(rule.message)}", highlight=False)
        if not result.rules:
            console.print(f"  {say('gate.nothing')}")
        verdict = (
            f"[green]{say('gate.passed')}[/]" if result.passed else f"[red]{say('gate.failed')}[/]"
        )
        count = say("gate.count", n=len(result.failures), total=len(result.rules))
        console.print(f"{verdict} {count}")
        if junit is not None:
            console.print(say("gate.junit", path=junit))
    if not result.passed:
        sys.exit(1)


# ----------------------------------------------------------------------------- report


@click.command("report")
@project_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("hyouka-report.html"),
    show_default=True,
)
@click.option(
    "--lang",
    type=click.Choice(["ja", "en"]),
    default=None,
    help="Language (default: HYOUKA_LANG, then the locale).",
)
@click.option("--baseline", default=None, help="Variant the others are compared with.")
@click.option("--run", default="latest", show_default=True)
@click.option("--metric", default=None, help="Metric of the gacha plot.")
def report_cmd(
    project_dir: Path,
    output: Path,
    lang: str | None,
    baseline: str | None,
    run: str,
    metric: str | None,
) -> None:
    """Write one self-contained HTML report (opens offline; plots are inline SVG)."""
    from hyouka.i18n.cli import resolve_lang

    ws = open_workspace(project_dir)
    started = time.perf_counter()
    page = ws.reports.build(
        run=run, lang=resolve_lang(lang), baseline=baseline, gacha_metric=metric
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    elapsed = time.perf_counter() - started
    kib = f"{len(page.encode()) / 1024:.0f}"
    console.print(say("report.wrote", path=output, kib=kib, seconds=f"{elapsed:.1f}"))


COMMANDS = [feedback, gate_cmd, report_cmd]
