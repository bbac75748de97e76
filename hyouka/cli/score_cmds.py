"""``hyouka score``: (re)score a stored run, and the judge section shared with ``show``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from hyouka.cli.common import (
    console,
    fmt_num,
    fmt_rate,
    json_option,
    open_workspace,
    print_json,
    project_option,
)

if TYPE_CHECKING:
    from hyouka.scorers.judge_report import JudgeSummary


def print_judges(judges: Sequence[JudgeSummary]) -> None:
    """The judge section: calls, cost, parse failures, self-agreement, position bias."""
    if not judges:
        return
    cols = ("judge", "model", "calls", "cached", "errors", "parse errors", "cost",
            "self-agreement", "mean |Δ|")  # fmt: skip
    table = Table(*cols, title="judges (cost: calls made; cached answers cost nothing)")
    for j in judges:
        agree = "–" if j.self_agreement is None else (
            f"{fmt_rate(j.self_agreement)} of {j.agreement_items}"
        )  # fmt: skip
        table.add_row(
            j.name, j.model or "–", str(j.calls), str(j.cached), str(j.errors),
            str(j.parse_errors), fmt_num(j.cost, 4) if j.cost_known else "–", agree,
            fmt_num(j.mean_abs_diff, 2),
        )  # fmt: skip
    console.print(table)
    pairs = [p for j in judges for p in j.pairs]
    if not pairs:
        return
    pair_cols = ("judge", "variant", "vs baseline", "pairs", "win / tie / loss", "win rate",
            "flip rate", "first shown wins")  # fmt: skip
    table = Table(*pair_cols, title="pairwise judges (both orders; a flip counts as a tie)")
    for p in pairs:
        table.add_row(
            p.judge, p.candidate, p.baseline, str(p.n), f"{p.wins} / {p.ties} / {p.losses}",
            fmt_rate(p.win_rate), fmt_rate(p.flip_rate), fmt_rate(p.first_shown_rate),
        )  # fmt: skip
    console.print(table)


@click.command("score")
@click.argument("run", default="latest")
@project_option
@click.option(
    "--check",
    "checks",
    multiple=True,
    metavar="TYPE",
    help="Only these check types (or metric names); repeat for several.",
)
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(1, 10000),
    help="Judge calls in flight (default: the project's, 16).",
)
@click.option("--no-judges", is_flag=True, help="Deterministic checks only.")
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    help="Processes for deterministic checks on large runs (default: CPU count).",
)
@json_option
def score_cmd(run: str, project_dir: Path, checks: tuple[str, ...], concurrency: int | None,
              no_judges: bool, workers: int | None, as_json: bool) -> None:  # fmt: skip
    """(Re)score RUN's stored samples (default: the latest run) without regenerating them.

    Adds the score rows that are missing for the project's current checks: a check whose
    parameters changed scores again under its new parameter hash, old rows stay. Judges run
    with the cache, so judging the same content again costs nothing.
    """
    ws = open_workspace(project_dir)
    report = ws.score(run, checks=list(checks) or None, concurrency=concurrency,
                      judges=not no_judges, workers=workers)  # fmt: skip
    if as_json:
        print_json(report.as_dict())
        return
    console.print(
        f"run [bold]{report.run.uid}[/]: {report.samples} samples, {report.written} new score "
        f"rows ({report.existing} already scored) in {report.elapsed_s:.2f} s"
    )
    for name, n in sorted(report.per_check.items()):
        console.print(f"  {name}: {n} rows")
    js = report.judge_stats
    if js is not None and (js.calls or js.cached or js.reused or js.scores):
        console.print(f"judges: {js.calls} calls, {js.cached} answered from the cache, "
                      f"{js.scores} scores, {js.judgments} pairwise judgments")  # fmt: skip
    print_judges(report.judges)


COMMANDS = [score_cmd]
