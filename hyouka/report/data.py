"""Everything the report shows, read from the store once (no project folder needed, so the web
dashboard can build the same report).

Each section is computed on its own: one that lacks data (no judgments yet, one variant) is
left empty with the reason, and the rest of the report still renders.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import select

from hyouka import __version__
from hyouka.analysis import AgreementReport, CompareResult, RankingReport
from hyouka.analysis.compare import ArmEstimate, Settings, arm_estimate
from hyouka.analysis.data import (
    ScoreData,
    VariantInfo,
    load_judgments,
    load_scores,
    variants_in_run,
)
from hyouka.errors import HyoukaError
from hyouka.loop.complaints import ComplaintGroup
from hyouka.loop.speed import PREFIX, LoopSpeed, Triggered
from hyouka.stats import StatsInputError
from hyouka.store.schema import campaigns, cases, judgments, samples
from hyouka.store.store import RunInfo, Store
from hyouka.summary import VariantSummary, summarize_run

MAX_METRICS = 12
GACHA_CASES = 24
N_BOOT = 1000


@dataclass(frozen=True)
class MetricRow:
    metric: str
    binary: bool
    higher_is_better: bool
    arms: tuple[tuple[VariantInfo, ArmEstimate | None], ...]


@dataclass(frozen=True)
class GachaData:
    metric: str
    variants: tuple[str, ...]
    rows: tuple[tuple[str, tuple[tuple[float, ...], ...]], ...]  # (case, per variant: values)
    n_cases: int
    within_sd: tuple[float | None, ...]  # per variant: the typical sample-to-sample spread


@dataclass(frozen=True)
class Example:
    """One case behind a difference: its input and both sides' first output."""

    case: str
    inputs: tuple[tuple[str, str], ...]
    a: str
    b: str
    diff: float


@dataclass(frozen=True)
class Examples:
    a: str
    b: str
    metric: str
    cases: tuple[Example, ...]


@dataclass
class ReportData:
    project: str
    run: RunInfo
    generated_at: datetime
    version: str
    variants: list[VariantInfo]
    summaries: list[VariantSummary]
    n_cases: int
    baseline: str | None = None
    metrics: list[MetricRow] = field(default_factory=list)
    compare: CompareResult | None = None
    gacha: GachaData | None = None
    judged_run: RunInfo | None = None  # the run people judged (this one, else the newest judged)
    ranking: RankingReport | None = None
    agreement: list[AgreementReport] = field(default_factory=list)
    loop: LoopSpeed | None = None
    pending: list[ComplaintGroup] = field(default_factory=list)
    triggered: dict[str, list[Triggered]] = field(default_factory=dict)
    examples: list[Examples] = field(default_factory=list)
    # section -> why it is empty: a message key of hyouka.report.i18n, or an error's text
    notes: dict[str, str] = field(default_factory=dict)
    # live experiments (hyouka.experiments.analysis.ExperimentReport), given by the caller
    experiments: list[Any] = field(default_factory=list)


def _is_complaint(label: str) -> bool:
    return label.startswith(PREFIX) or f"/{PREFIX}" in label


def _main_metrics(data: ScoreData) -> list[int]:
    return [i for i, m in enumerate(data.metrics) if not _is_complaint(m.label)][:MAX_METRICS]


def _arm(data: ScoreData, metric: int, v: VariantInfo, s: Settings) -> ArmEstimate | None:
    _, mat = data.matrix(metric, [v.id])
    if mat.size == 0:
        return None
    try:
        return arm_estimate(mat, data.metrics[metric].binary, s)
    except (StatsInputError, ValueError, ZeroDivisionError):
        return None


def metric_rows(data: ScoreData, variants: Sequence[VariantInfo], s: Settings) -> list[MetricRow]:
    out = []
    for m in _main_metrics(data):
        info = data.metrics[m]
        arms = tuple((v, _arm(data, m, v, s)) for v in variants)
        out.append(MetricRow(info.label, info.binary, info.higher_is_better, arms))
    return out


def _pick_gacha_metric(data: ScoreData, wanted: str | None) -> int | None:
    candidates = _main_metrics(data)
    if wanted:
        return data.metric_index(wanted)
    if not candidates:
        return None
    # A measured score shows the spread best; a pass/fail metric when that is all there is.
    graded = [i for i in candidates if not data.metrics[i].binary]
    return (graded or candidates)[0]


def gacha_data(
    store: Store, data: ScoreData, variants: Sequence[VariantInfo], wanted: str | None
) -> GachaData | None:
    """Per case and variant, every sample's value; the cases whose samples disagree most."""
    metric = _pick_gacha_metric(data, wanted)
    if metric is None:
        return None
    mats = {v.id: dict(zip(*_rows(data, metric, v.id), strict=True)) for v in variants}
    case_ids = sorted({c for m in mats.values() for c in m})
    if not case_ids:
        return None

    def spread(case: int) -> float:
        total = 0.0
        for m in mats.values():
            vals = [x for x in m.get(case, ()) if math.isfinite(x)]
            total += (max(vals) - min(vals)) if len(vals) > 1 else 0.0
        return total

    chosen = sorted(case_ids, key=lambda c: (-spread(c), c))[:GACHA_CASES]
    keys = _case_keys(store, chosen)
    rows = tuple(
        (keys.get(c, str(c)), tuple(tuple(mats[v.id].get(c, ())) for v in variants)) for c in chosen
    )
    within = tuple(_within_sd(mats[v.id]) for v in variants)
    return GachaData(
        data.metrics[metric].label, tuple(v.label for v in variants), rows, len(case_ids), within
    )


def _rows(data: ScoreData, metric: int, vid: int) -> tuple[list[int], list[tuple[float, ...]]]:
    cases_, mat = data.matrix(metric, [vid])
    return [int(c) for c in cases_], [
        tuple(float(x) for x in row if not np.isnan(x)) for row in mat
    ]


def _within_sd(by_case: dict[int, tuple[float, ...]]) -> float | None:
    groups = [v for v in by_case.values() if len(v) > 1]
    if not groups:
        return None
    pooled = sum(float(np.var(g, ddof=1)) for g in groups) / len(groups)
    return math.sqrt(pooled)


def _case_keys(store: Store, ids: Sequence[int]) -> dict[int, str]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(cases.c.id, cases.c.case_key).where(cases.c.id.in_(list(ids))))
        return {int(i): str(k) for i, k in rows}


def _campaign_ids(store: Store, project: str, run_id: int) -> list[tuple[int, str]]:
    query = (
        select(campaigns.c.id, campaigns.c.name)
        .where(campaigns.c.project == project, campaigns.c.run_id == run_id)
        .order_by(campaigns.c.id)
    )
    with store.engine.connect() as conn:
        return [(int(i), str(n)) for i, n in conn.execute(query)]


# ----------------------------------------------------------------------------- sections


def _section(report: ReportData, name: str, work: Any) -> Any:
    """Run one section; a section that cannot be computed records why instead of failing."""
    try:
        return work()
    except (HyoukaError, StatsInputError, ValueError, KeyError, ZeroDivisionError) as exc:
        report.notes[name] = str(exc)
        return None


def _compare(store: Store, report: ReportData, data: ScoreData) -> CompareResult | None:
    from hyouka.analysis import compare_variants

    if len(report.variants) < 2:
        report.notes["forest"] = "note_one_variant"
        return None
    base = report.baseline or report.variants[0].label
    others = [v.label for v in report.variants if v.label != base and v.name != base]
    labels = [data.metrics[i].label for i in _main_metrics(data)]
    return compare_variants(store, report.run, base, others, metrics=labels)


EXAMPLES_PER_METRIC = 3


def _examples(store: Store, report: ReportData) -> list[Examples]:
    """For each compared metric with a difference, the cases that drive it (the largest
    per-case B − A in the direction of the estimate) with both sides' first output."""
    from hyouka.workbench import queries as Q
    from hyouka.workbench.grid import build_rows

    assert report.compare is not None
    by_label = {v.label: v for v in report.variants} | {v.name: v for v in report.variants}
    out: list[Examples] = []
    for pair in report.compare.comparisons:
        a, b = by_label.get(pair.a), by_label.get(pair.b)
        if a is None or b is None:
            continue
        for m in pair.metrics:
            if m.identical or m.difference.estimate == 0:
                continue
            sign = 1.0 if m.difference.estimate > 0 else -1.0
            means = {
                (c, v): x
                for c, v, x in Q.metric_case_means(store, report.run.id, [a.id, b.id], m.metric)
            }
            diffs = {
                c: means[(c, b.id)] - means[(c, a.id)]
                for (c, v) in means
                if v == a.id and (c, b.id) in means
            }
            driving = sorted(
                (c for c, d in diffs.items() if d * sign > 0), key=lambda c: -diffs[c] * sign
            )
            chosen = driving[:EXAMPLES_PER_METRIC]
            rows = build_rows(store, report.run.id, [a.id, b.id], chosen, diff_chars=-1)
            cases_out = []
            for row in rows:
                first_a, first_b = row.cells[a.id].first, row.cells[b.id].first
                cases_out.append(
                    Example(
                        row.key,
                        tuple(row.inputs),
                        _text(first_a),
                        _text(first_b),
                        diffs[row.case_id],
                    )
                )
            if cases_out:
                out.append(Examples(pair.a, pair.b, m.metric, tuple(cases_out)))
    return out


def _text(sample: Any) -> str:
    if sample is None:
        return ""
    return str(sample.output if sample.status == "ok" else (sample.error or sample.status))


def judged_run(store: Store, project: str, run: RunInfo) -> RunInfo:
    """``run`` when people or judges judged it; else the newest earlier run they judged.

    People judge a run after it finishes, so the newest run rarely has votes yet; the report
    then shows the latest votes there are, and says which run they are about.
    """
    query = (
        select(samples.c.run_id)
        .join(judgments, judgments.c.sample_a_id == samples.c.id)
        .where(judgments.c.project == project, judgments.c.source.in_(("human", "judge")))
        .where(samples.c.run_id <= run.id)
        .order_by(samples.c.run_id.desc())
        .limit(1)
    )
    with store.engine.connect() as conn:
        found = conn.execute(query).scalar()
    return run if found is None or int(found) == run.id else store.get_run(str(found), project)


def _ranking(store: Store, report: ReportData) -> RankingReport | None:
    from hyouka.analysis import rank_votes

    run = report.judged_run or report.run
    js = load_judgments(store, report.project, run.id)
    if not any(j.variant_b is not None for j in js.rows):
        report.notes["ranking"] = "note_no_votes"
        return None
    return rank_votes(js, run.uid, n_boot=N_BOOT, seed=run.seed)


def _agreement(store: Store, report: ReportData) -> list[AgreementReport]:
    from hyouka.analysis import campaign_agreement

    run = report.judged_run or report.run
    out = []
    for cid, name in _campaign_ids(store, report.project, run.id):
        js = load_judgments(store, report.project, run.id, cid)
        if js.of("human"):
            out.append(campaign_agreement(js, name, n_boot=N_BOOT, seed=run.seed))
    if not out:
        report.notes["agreement"] = "note_no_humans"
    if not any(a.judges for a in out):
        report.notes["judges"] = "note_no_judges"
    return out


def _loop(store: Store, report: ReportData) -> None:
    from hyouka.loop.speed import loop_speed, still_triggered
    from hyouka.loop.workflow import pending_groups

    report.loop = loop_speed(store, report.project)
    report.pending = pending_groups(store, report.project)
    report.triggered = still_triggered(store, report.project, report.run.id)


def gather(
    store: Store,
    project: str,
    run: str = "latest",
    baseline: str | None = None,
    gacha_metric: str | None = None,
) -> ReportData:
    """Read and compute every section of the report for ``run``."""
    info = store.get_run(run, project)
    variants = variants_in_run(store, info.id)
    summaries = summarize_run(store, info.id)
    report = ReportData(
        project, info, datetime.now(UTC), __version__, variants, summaries, 0, baseline
    )
    data = load_scores(store, info.id, [v.id for v in variants])
    report.n_cases = int(np.unique(data.case).size)
    s = Settings(seed=info.seed)
    report.metrics = metric_rows(data, variants, s)
    report.compare = _section(report, "forest", lambda: _compare(store, report, data))
    if report.compare is not None:
        report.examples = _section(report, "examples", lambda: _examples(store, report)) or []
    report.gacha = _section(
        report, "gacha", lambda: gacha_data(store, data, variants, gacha_metric)
    )
    report.judged_run = judged_run(store, project, info)
    report.ranking = _section(report, "ranking", lambda: _ranking(store, report))
    report.agreement = _section(report, "agreement", lambda: _agreement(store, report)) or []
    _section(report, "complaints", lambda: _loop(store, report))
    return report


__all__ = ["Example", "Examples", "GachaData", "MetricRow", "ReportData", "gather"]
