"""``hyouka compare``, ``ranking`` and ``agreement``: the analyses, formatted.

Every number comes from :mod:`hyouka.analysis` (via the Python API); this module only lays
out tables and sentences. ``--lang ja|en`` (or ``HYOUKA_LANG``, or the locale) picks the
language; ``--json`` prints every number, the seed and the sentences.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich import box
from rich.table import Table

from hyouka.cli.common import console, json_option, open_workspace, print_json, project_option
from hyouka.i18n.cli import Lang, resolve_lang, t

if TYPE_CHECKING:
    from hyouka.analysis import (
        AgreementReport,
        AgreementSection,
        ArmEstimate,
        CompareResult,
        GroupSplit,
        MetricComparison,
        PairComparison,
        RankingReport,
        SourceRanking,
    )
    from hyouka.analysis.judges import JudgeReport

F = TypeVar("F", bound=Callable[..., Any])


def lang_option(func: F) -> F:
    return click.option(
        "--lang", type=click.Choice(["ja", "en"]), default=None,
        help="Language of the verdicts (default: HYOUKA_LANG, then the locale).",
    )(func)  # fmt: skip


def seed_option(func: F) -> F:
    return click.option("--seed", type=int, default=None,
                        help="Seed of the bootstraps (default: the run's seed).")(func)  # fmt: skip


def _interval(low: float, high: float, digits: int, sign: bool = False) -> str:
    from hyouka.analysis import verdict as V

    show = V.signed if sign else V.num
    return f"{show(low, digits)} … {show(high, digits)}"


# ----------------------------------------------------------------------------- compare


def _arm_cell(e: ArmEstimate, dec: int) -> str:
    from hyouka.analysis import verdict as V

    return f"{V.num(e.mean, dec)} [{V.num(e.low, dec)}, {V.num(e.high, dec)}]"


def _diff_row(m: MetricComparison) -> list[str]:
    from hyouka.analysis import verdict as V

    d = m.difference
    dec = V.decimals((d.high - d.low) / 2)
    gacha = m.gacha
    return [
        m.metric + ("" if m.higher_is_better else " ↓"),
        f"{V.signed(d.estimate, dec)} [{V.signed(d.low, dec)}, {V.signed(d.high, dec)}]",
        f"{V.level_text(d.level)}%",
        V.p_text(m.p_adjusted),
        f"{m.share_favouring_b * 100:.0f}%",
        V.ratio_text(gacha.ratio) + "×" if gacha else "–",
        f"{gacha.prob_b_beats_a * 100:.0f}%" if gacha else "–",
    ]


def print_pair(pair: PairComparison, result: CompareResult, lang: Lang) -> None:
    from hyouka.analysis import verdict as V

    ci = t(lang, "col.ci", level=V.level_text(result.level))
    console.print(t(lang, "compare.header", run=result.run, a=pair.a, b=pair.b,
                    cases=pair.n_cases, seed=result.seed), highlight=False)  # fmt: skip
    arms = Table(t(lang, "col.metric"), f"A: {pair.a} [{ci}]", f"B: {pair.b} [{ci}]",
                 t(lang, "col.samples"), box=box.SIMPLE_HEAD)  # fmt: skip
    diffs = Table(
        t(lang, "col.metric"), f"{t(lang, 'col.diff')} [CI]", t(lang, "col.level"),
        t(lang, "col.p"), t(lang, "col.b_wins"), t(lang, "col.spread"), t(lang, "col.draw"),
        box=box.SIMPLE_HEAD,
    )  # fmt: skip
    diffs.columns[1].no_wrap = True
    for m in pair.metrics:
        dec = V.decimals((m.difference.high - m.difference.low) / 2)
        k = f"{m.a.samples_per_case:g} / {m.b.samples_per_case:g}"
        arms.add_row(m.metric, _arm_cell(m.a, dec), _arm_cell(m.b, dec), k)
        diffs.add_row(*_diff_row(m))
    console.print(arms)
    console.print(diffs)
    if pair.rules:
        rules = Table(t(lang, "col.metric"), t(lang, "col.rule"), t(lang, "col.cases"),
                      f"A: {pair.a}", f"B: {pair.b}", title=t(lang, "compare.rules"),
                      box=box.SIMPLE_HEAD)  # fmt: skip
        for r in pair.rules:
            shown = ", ".join(r.cases[:3]) + (
                f" … (+{len(r.cases) - 3})" if len(r.cases) > 3 else ""
            )
            rules.add_row(r.metric, r.rule, shown, V.num(r.mean_a), V.num(r.mean_b))
        console.print(rules)
    for sentence in V.pair_sentences(pair, lang, result.alpha):
        console.print(f"• {sentence}", highlight=False, markup=False, soft_wrap=True)


@click.command("compare")
@click.argument("baseline")
@click.argument("others", nargs=-1, required=True)
@project_option
@click.option("--run", "run", default="latest", show_default=True, help="Run to analyse.")
@click.option("--metric", "-m", "metrics", multiple=True, help="Only these metrics.")
@click.option(
    "--delta",
    type=float,
    default=0.05,
    show_default=True,
    help="Smallest difference worth detecting, in the metric's units.",
)
@click.option(
    "--level",
    type=click.FloatRange(0.5, 0.999),
    default=0.95,
    show_default=True,
    help="Confidence level; the significance level is 1 − level (0.9 → α = 0.1).",
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Seed of the reference permutation test (default: the run's seed).",
)
@lang_option
@json_option
def compare_cmd(
    baseline: str,
    others: tuple[str, ...],
    project_dir: Path,
    run: str,
    metrics: tuple[str, ...],
    delta: float,
    level: float,
    seed: int | None,
    lang: str | None,
    as_json: bool,
) -> None:
    """Is B better than A, or was it the gacha? (A B [C …]: each against A.)

    A and B are variant names (their latest version in the run), name@version, or a
    family of replicate fine-tunes.
    """
    from hyouka.analysis import verdict as V

    ws = open_workspace(project_dir)
    result = ws.compare(baseline, *others, run=run, metrics=metrics, delta=delta, seed=seed,
                        level=level)  # fmt: skip
    chosen = resolve_lang(lang)
    if as_json:
        print_json(V.compare_json(result, chosen))
        return
    for pair in result.comparisons:
        print_pair(pair, result, chosen)
    for note in V.compare_notes(result, chosen):
        console.print(f"[dim]{note}[/]", highlight=False)


# ----------------------------------------------------------------------------- ranking


def print_source(sr: SourceRanking, seed: int, lang: Lang) -> None:
    from hyouka.analysis import verdict as V

    source = t(lang, f"source.{sr.source}")
    if not sr.n_votes:
        console.print(t(lang, "ranking.none", source=source))
        return
    console.print(f"[bold]{t(lang, 'ranking.title', source=source, n=sr.n_votes, seed=seed)}[/]")
    if sr.bt is None:
        console.print(t(lang, "ranking.unfit", source=source, reason=sr.error), markup=False)
    else:
        bt = sr.bt
        table = Table(t(lang, "col.rank"), t(lang, "col.variant"), t(lang, "col.elo"),
                      t(lang, "col.ci", level=f"{bt.level * 100:g}"), t(lang, "col.se"),
                      t(lang, "col.share"), t(lang, "col.votes"))  # fmt: skip
        table.columns[1].no_wrap = True  # a variant name people copy: never cut
        votes = [sum(w) + sum(ti) + sum(row[i] for row in sr.wins)
                 for i, (w, ti) in enumerate(zip(sr.wins, sr.ties, strict=True))]  # fmt: skip
        for i in sorted(range(len(sr.items)), key=lambda k: -bt.elo[k]):
            table.add_row(str(bt.rank[i]), sr.items[i], f"{bt.elo[i]:.0f}",
                          _elo_interval(bt.low[i], bt.high[i]), V.num(bt.se_elo[i], 0),
                          f"{bt.share[i] * 100:.0f}%", str(votes[i]))  # fmt: skip
        console.print(table)
        for line in V.bt_notes(sr, lang):
            console.print(f"[dim]{line}[/]", highlight=False)
    _print_head_to_head(sr, lang, source)
    for sentence in V.ranking_sentences(sr, lang):
        console.print(f"• {sentence}", highlight=False, markup=False, soft_wrap=True)


def _elo_interval(low: float, high: float) -> str:
    """ "1090 … 1180", or a one-sided bound "≥ 1422" / "≤ 806" when the votes give only one."""
    if math.isinf(high) and math.isinf(low):
        return "–"
    if math.isinf(high):
        return f"≥ {low:.0f}"
    if math.isinf(low):
        return f"≤ {high:.0f}"
    return f"{low:.0f} … {high:.0f}"


def _print_head_to_head(sr: SourceRanking, lang: Lang, source: str) -> None:
    table = Table("", *sr.items, title=t(lang, "ranking.wtl", source=source))
    for i, name in enumerate(sr.items):
        cells = [
            "·" if i == j else f"{sr.wins[i][j]} / {sr.ties[i][j]} / {sr.wins[j][i]}"
            for j in range(len(sr.items))
        ]
        table.add_row(name, *cells)
    console.print(table)


@click.command("ranking")
@click.argument("campaign", required=False)
@project_option
@click.option(
    "--run",
    "run",
    default="latest",
    show_default=True,
    help="Without CAMPAIGN: rank every vote on this run's outputs.",
)
@click.option(
    "--source",
    type=click.Choice(["human", "judge"]),
    default=None,
    help="Only human votes or only judge votes (default: both, separately).",
)
@click.option(
    "--boot",
    "n_boot",
    type=click.IntRange(0, 100_000),
    default=1000,
    show_default=True,
    help="Bootstrap rounds (0: sandwich intervals only).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@lang_option
@json_option
def ranking_cmd(
    campaign: str | None,
    project_dir: Path,
    run: str,
    source: str | None,
    n_boot: int,
    seed: int,
    lang: str | None,
    as_json: bool,
) -> None:
    """Bradley–Terry ranking from pairwise votes, and whether voting can stop."""
    from hyouka.analysis import verdict as V

    ws = open_workspace(project_dir)
    sources = (source,) if source else ("human", "judge")
    report: RankingReport = ws.ranking(campaign, run=run, sources=sources, n_boot=n_boot,
                                       seed=seed)  # fmt: skip
    chosen = resolve_lang(lang)
    if as_json:
        print_json(V.ranking_json(report, chosen))
        return
    for sr in report.sources:
        print_source(sr, report.seed, chosen)


# ----------------------------------------------------------------------------- agreement


def _estimate(e: Any, lang: Lang = "en") -> str:
    from hyouka.analysis import verdict as V

    if e is None:
        return "–"
    cell = f"{V.num(e.estimate)} [{_interval(e.low, e.high, 2)}] (n={e.n_items})"
    if e.n_failed:
        cell += " " + t(lang, "agreement.failed", n=e.n_failed, boot=e.n_boot)
    return cell


def print_section(sec: AgreementSection, campaign: str, lang: Lang) -> None:
    kind = t(lang, f"agreement.kind.{sec.kind}")
    title = t(lang, "agreement.title", campaign=campaign, kind=kind, items=sec.n_items,
              raters=sec.n_raters)  # fmt: skip
    console.print(f"[bold]{title}[/]")
    table = Table(t(lang, "col.coef"), t(lang, "col.estimate"))
    alpha_name = "Krippendorff α (" + ("ordinal" if sec.kind == "rating" else "nominal") + ")"
    for name, est in ((alpha_name, sec.alpha), ("Fleiss κ", sec.fleiss), ("Gwet AC1", sec.ac1)):
        table.add_row(name, _estimate(est, lang))
    for pk in sec.cohen:
        table.add_row(f"Cohen κ {pk.rater1} × {pk.rater2}", _estimate(pk.kappa, lang))
    console.print(table)
    if sec.disputed:
        dis = Table(t(lang, "col.case"), t(lang, "col.pair"), "D", t(lang, "col.said"),
                    title=t(lang, "agreement.disputed"))  # fmt: skip
        for d in sec.disputed:
            said = ", ".join(f"{r}: {label}" for r, label in d.labels)
            dis.add_row(d.case_key, " vs ".join(d.variants), f"{d.contribution:.2f}", said)
        console.print(dis)
    if sec.rater_reports:
        _print_raters(sec, lang)


def _print_raters(sec: AgreementSection, lang: Lang) -> None:
    from hyouka.analysis import verdict as V

    table = Table(t(lang, "col.rater"), t(lang, "col.group"), t(lang, "col.items"),
                  t(lang, "col.bias"), t(lang, "col.agree"), t(lang, "col.dalpha"),
                  t(lang, "col.both_bad"), title=t(lang, "agreement.raters"))  # fmt: skip
    table.columns[3].no_wrap = True
    for r in sec.rater_reports:
        bias = (
            "–"
            if r.bias != r.bias
            else (f"{V.signed(r.bias)} [{_interval(r.low, r.high, 2, sign=True)}]")
        )
        bad = "–" if r.both_bad_rate is None else f"{r.both_bad_rate * 100:.0f}%"
        table.add_row(r.rater, r.group or "–", str(r.n_items), bias,
                      f"{r.agreement * 100:.0f}%", V.signed(r.delta_alpha, 3), bad)  # fmt: skip
    console.print(table)


def _print_judge(j: JudgeReport, lang: Lang) -> None:
    from hyouka.analysis import verdict as V

    console.print(f"• {V.judge_sentence(j, lang)}", highlight=False, markup=False, soft_wrap=True)
    ag = j.agreement
    table = Table(t(lang, "col.human_judge"), *j.categories, t(lang, "col.recall"))
    recall = iter(ag.recall)  # one interval per category the humans used
    for name, row in zip(j.categories, ag.table.tolist(), strict=True):
        r = next(recall) if sum(row) > 0 else None
        cell = (
            "–" if r is None else f"{r.estimate * 100:.0f}% [{r.low * 100:.0f}–{r.high * 100:.0f}%]"
        )
        table.add_row(name, *(f"{v:.0f}" for v in row), cell)
    console.print(table)


def _print_groups(g: GroupSplit, lang: Lang) -> None:
    from hyouka.analysis import verdict as V

    console.print(f"• {V.group_sentence(g, lang)}", highlight=False, markup=False, soft_wrap=True)
    table = Table(t(lang, "col.group"), t(lang, "col.votes"), f"{g.b} / tie / {g.a}",
                  t(lang, "col.b_rate", b=g.b), box=box.SIMPLE_HEAD)  # fmt: skip
    for gp in g.split.groups:
        iv = gp.interval
        rate = f"{iv.estimate * 100:.0f}% [{iv.low * 100:.0f}–{iv.high * 100:.0f}%]"
        table.add_row(str(gp.group), str(gp.n), f"{gp.b_wins} / {gp.ties} / {gp.a_wins}", rate)
    console.print(table)


def print_agreement(report: AgreementReport, lang: Lang) -> None:
    from hyouka.analysis import verdict as V

    if not report.sections:
        console.print(t(lang, "agreement.none", campaign=report.campaign))
    for sec in report.sections:
        print_section(sec, report.campaign, lang)
    if report.groups:
        console.print(f"[bold]{t(lang, 'agreement.groups')}[/]")
        for g in report.groups:
            _print_groups(g, lang)
    for j in report.judges:
        _print_judge(j, lang)
    for p in report.ppi:
        console.print(f"• {V.ppi_sentence(p, lang)}", highlight=False, markup=False, soft_wrap=True)
    for sk in report.ppi_skipped:
        console.print(f"• {V.ppi_skipped_sentence(sk, lang)}", highlight=False, markup=False,
                      soft_wrap=True)  # fmt: skip


@click.command("agreement")
@click.argument("campaign")
@project_option
@click.option(
    "--judge-metric",
    default=None,
    help="A score metric (e.g. a judge rubric) to combine with human ratings (PPI++).",
)
@click.option(
    "--min-overlap",
    type=click.IntRange(2),
    default=10,
    show_default=True,
    help="Shared items a rater pair needs for its Cohen κ.",
)
@click.option(
    "--top",
    type=click.IntRange(0),
    default=10,
    show_default=True,
    help="Most disputed items to show.",
)
@click.option(
    "--boot", "n_boot", type=click.IntRange(100, 100_000), default=1000, show_default=True
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--min-labels",
    "ppi_min_labels",
    type=click.IntRange(2),
    default=30,
    show_default=True,
    help="Human labels PPI++ needs; fewer under-cover (87% at 10 with a lenient judge).",
)
@lang_option
@json_option
def agreement_cmd(
    campaign: str,
    project_dir: Path,
    judge_metric: str | None,
    min_overlap: int,
    top: int,
    n_boot: int,
    seed: int,
    ppi_min_labels: int,
    lang: str | None,
    as_json: bool,
) -> None:
    """How much raters agree, where not, who prefers what, and can the judge stand in?"""
    from hyouka.analysis import verdict as V

    ws = open_workspace(project_dir)
    report = ws.agreement(campaign, judge_metric=judge_metric, min_overlap=min_overlap,
                          top=top, n_boot=n_boot, seed=seed,
                          ppi_min_labels=ppi_min_labels)  # fmt: skip
    chosen = resolve_lang(lang)
    if as_json:
        print_json(V.agreement_json(report, chosen))
        return
    print_agreement(report, chosen)


COMMANDS = [compare_cmd, ranking_cmd, agreement_cmd]
