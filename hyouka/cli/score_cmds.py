"""``hyouka score``: (re)score a stored run, and the judge section shared with ``show``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from hyouka.cli.common import (
    console,
    esc,
    fmt_num,
    fmt_rate,
    json_option,
    lang_option,
    open_workspace,
    print_json,
    project_option,
)
from hyouka.i18n.cli import Lang, resolve_lang, t

if TYPE_CHECKING:
    from hyouka.scorers.judge_report import JudgeSummary


def print_judges(judges: Sequence[JudgeSummary], lang: Lang = "en") -> None:
    """The judge section: calls, cost, parse failures, self-agreement, position bias."""
    if not judges:
        return
    cols = [t(lang, f"col.{k}") for k in ("judge", "model", "calls", "cached", "errors",
            "parse_errors", "cost", "self_agree", "mean_abs")]  # fmt: skip
    table = Table(*cols, title=t(lang, "table.judges"))
    for j in judges:
        agree = "–" if j.self_agreement is None else t(
            lang, "judges.agree_of", rate=fmt_rate(j.self_agreement), n=j.agreement_items
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
    pair_cols = [t(lang, f"col.{k}") for k in ("judge", "variant", "vs_baseline", "pairs",
            "wtl", "win_rate", "flip_rate", "first_wins")]  # fmt: skip
    table = Table(*pair_cols, title=t(lang, "table.pairwise"))
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
@lang_option
@json_option
def score_cmd(run: str, project_dir: Path, checks: tuple[str, ...], concurrency: int | None,
              no_judges: bool, workers: int | None, lang: str | None,
              as_json: bool) -> None:  # fmt: skip
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
    language = resolve_lang(lang)
    console.print(t(language, "score.line", run=f"[bold]{report.run.uid}[/]",
                    samples=report.samples, written=report.written, existing=report.existing,
                    seconds=f"{report.elapsed_s:.2f}"))  # fmt: skip
    for name, n in sorted(report.per_check.items()):
        console.print(f"  {esc(t(language, 'score.rows', name=name, n=n))}")
    js = report.judge_stats
    if js is not None and (js.calls or js.cached or js.reused or js.scores):
        console.print(esc(t(language, "score.judges", calls=js.calls, cached=js.cached,
                            scores=js.scores, judgments=js.judgments)))  # fmt: skip
    print_judges(report.judges, language)


COMMANDS = [score_cmd]
