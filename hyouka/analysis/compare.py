"""Is B really better than A, or was it the gacha? Per metric, paired by case.

One procedure per statement: for every check metric the verdict, its p-value and the interval
printed beside it all come from one calibrated t interval on the per-case differences B − A
(``hyouka.stats.calibrated_t``; the case is the cluster, samples are averaged within it). The
p-values of all metrics and comparisons are Holm-adjusted together and each interval is shown
at the level Holm tested its metric at, so "B is better" always comes with an interval that
excludes 0 and "not distinguishable" with one that contains it. Each arm's mean gets a
Clopper–Pearson (one pass/fail per case) or Korn–Graubard interval at the nominal level.

Also per metric: the exact sign test, the sign-flip permutation test and (pass/fail, one
sample) McNemar for reference (they do not decide the verdict); the share of cases where B
wins; the gacha (within-case spread, the difference in multiples of it, P(B beats A on a fresh
draw)); whether the whole interval lies within ±``delta`` (equivalence); and how many more
cases, samples or seeds would settle a ``delta`` difference at the level Holm may test it at.
Metrics with fewer than ``MIN_CASES`` shared cases are not compared; each is listed with the
reason. When the arms are replicate fine-tunes (a ``family``), Welch's t-test on the seed
means as well.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from hyouka.analysis.data import (
    Arm,
    MetricInfo,
    RuleScores,
    ScoreData,
    VariantInfo,
    family_of,
    load_scores,
    resolve_arm,
    rule_scores,
    variants_in_run,
)
from hyouka.errors import HyoukaError
from hyouka.stats import (
    GachaSummary,
    PairedDifference,
    StatsInputError,
    TestResult,
    WelchResult,
    adjust_pvalues,
    bounded_mean_interval,
    case_differences,
    clopper_pearson_interval,
    gacha_summary,
    holm_levels,
    mcnemar_from_outcomes,
    more_cases_needed,
    paired_difference,
    permutation_test_paired,
    seed_welch_test,
    seeds_needed,
    sign_test,
    variance_allowed,
    variance_components,
)
from hyouka.stats._common import FloatArray, IntArray
from hyouka.stats.paired import MIN_CASES
from hyouka.store.store import RunInfo, Store

# The Monte Carlo permutation test (reported for reference) draws resamples × cases random
# signs. Capping that product at 4 million keeps one test under ~0.3 s at 2,000 cases; 2,000
# resamples still give a p-value near 0.05 to ±0.01. Exact enumeration is used up to 16 cases.
PERMUTATION_BUDGET = 4_000_000
MIN_PERMUTATIONS = 2_000


@dataclass(frozen=True)
class Settings:
    """One knob for confidence: ``level``; the significance level is α = 1 − level."""

    level: float = 0.95
    power: float = 0.8
    delta: float = 0.05
    seed: int = 0

    @property
    def alpha(self) -> float:
        return round(1.0 - self.level, 12)


@dataclass(frozen=True)
class Bounds:
    """The range a metric's values live in: ``exact`` when it is [0, 1] (pass rates, 0–1
    scores), else the range observed in the run (used to scale, never to clip)."""

    low: float
    high: float
    exact: bool

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class ArmEstimate:
    """One arm's mean on the paired cases, with an interval that respects case clustering."""

    mean: float
    low: float
    high: float
    se: float
    method: str  # clopper-pearson | korn-graubard
    n_cases: int
    n_samples: int
    samples_per_case: float
    within_sd: float | None  # sample-to-sample spread inside a case (None with one sample)
    between_var: float | None
    level: float


@dataclass(frozen=True)
class PowerPlan:
    """How much more data would settle a ``delta`` difference with ``power``.

    Planned for the decision compare makes: the calibrated t test at ``alpha`` = α/m, the
    strictest level Holm may test this metric at among ``n_tests`` tests. ``cases_needed``
    is the current cases plus ``more_cases`` (see :func:`power_plan`).
    """

    delta: float
    alpha: float
    power: float
    n_tests: int
    omega2: float  # across-case variance of the true difference
    sigma2_a: float  # within-case variance per arm (0 when there is one sample per case)
    sigma2_b: float
    cases_needed: int | None
    more_cases: int | None
    samples_per_case_needed: int | None  # at the current number of cases; None if not enough
    more_seeds: int | None  # per arm, for families


@dataclass(frozen=True)
class SeedLevel:
    """Welch's t-test on per-seed means for replicate fine-tunes (one mean per variant)."""

    a_variants: tuple[str, ...]
    b_variants: tuple[str, ...]
    a_seed_means: tuple[float, ...]
    b_seed_means: tuple[float, ...]
    welch: WelchResult
    seed_sd: float
    seeds_needed: int | None
    more_seeds: int | None


@dataclass(frozen=True)
class MetricComparison:
    """B vs A on one metric.

    ``difference`` carries the interval at the level Holm tested this metric at
    (``difference.level``); ``unadjusted`` is the same interval at the nominal level.
    ``p_value`` is the calibrated t test's p, ``p_adjusted`` Holm's, and ``significant`` is
    True exactly when the printed interval excludes 0. ``equivalent``: not significant and
    the whole printed interval lies within ±delta.
    """

    metric: str
    check: str
    binary: bool
    higher_is_better: bool
    a: ArmEstimate
    b: ArmEstimate
    difference: PairedDifference
    unadjusted: tuple[float, float]
    sign: TestResult
    permutation: TestResult
    mcnemar: TestResult | None
    gacha: GachaSummary | None
    primary_test: str
    p_value: float
    p_adjusted: float
    significant: bool
    equivalent: bool
    identical: bool  # every case has exactly the same mean in both arms
    power: PowerPlan
    seed_level: SeedLevel | None

    @property
    def share_favouring_b(self) -> float:
        """Share of cases where B is better (accounting for lower-is-better metrics)."""
        d = self.difference
        return d.share_b_wins if self.higher_is_better else d.share_a_wins

    @property
    def b_better(self) -> bool:
        return (self.difference.estimate > 0) == self.higher_is_better


@dataclass(frozen=True)
class SkippedMetric:
    """A metric that was not compared, and why.

    ``reason``: ``only-a`` / ``only-b`` (scores for one side only), ``none`` (no ok scores for
    either), ``too-few`` (fewer than ``MIN_CASES`` cases with scores on both sides).
    ``mean_a``/``mean_b`` are the plain means of the case means each side has (None if none).
    """

    metric: str
    reason: str
    n_cases_a: int
    n_cases_b: int
    n_shared: int
    mean_a: float | None
    mean_b: float | None
    minimum: int = MIN_CASES


@dataclass(frozen=True)
class RuleRow:
    """One rule of a check with several (per-case checks), described, not tested: such a rule
    usually applies to one or a few cases. Means are over the cases both arms have."""

    metric: str
    rule: str
    n_cases: int
    mean_a: float
    mean_b: float
    cases: tuple[str, ...]


@dataclass(frozen=True)
class PairComparison:
    """B vs A over every metric they share."""

    a: str
    b: str
    a_variants: tuple[str, ...]
    b_variants: tuple[str, ...]
    n_cases: int
    dropped_cases: int
    metrics: tuple[MetricComparison, ...]
    skipped: tuple[SkippedMetric, ...] = ()
    rules: tuple[RuleRow, ...] = ()

    def metric(self, label: str) -> MetricComparison:
        for m in self.metrics:
            if label in (m.metric, m.check):
                return m
        raise KeyError(label)


@dataclass(frozen=True)
class CompareResult:
    """One or more comparisons against a baseline, with one Holm correction over all tests."""

    run: str
    seed: int
    level: float
    alpha: float
    delta: float
    power: float
    correction: str
    n_tests: int
    comparisons: tuple[PairComparison, ...]

    @property
    def first(self) -> PairComparison:
        return self.comparisons[0]

    def metric(self, label: str) -> MetricComparison:
        """The first comparison's result on ``label`` (for the common two-variant case)."""
        return self.first.metric(label)


# ----------------------------------------------------------------------------- arms


def _counts(mat: FloatArray) -> IntArray:
    counts: IntArray = np.sum(~np.isnan(mat), axis=1).astype(np.int64)
    return counts


def metric_bounds(values: FloatArray, binary: bool) -> Bounds:
    """[0, 1] for pass rates and 0–1 scores; otherwise the range seen in the run."""
    if values.size == 0 or binary or (values.min() >= 0 and values.max() <= 1):
        return Bounds(0.0, 1.0, True)
    lo, hi = float(values.min()), float(values.max())
    if hi == lo:
        pad = max(abs(lo), 1.0)
        return Bounds(lo - pad, hi + pad, False)
    return Bounds(lo, hi, False)


def arm_estimate(
    mat: FloatArray, binary: bool, s: Settings, bounds: Bounds | None = None
) -> ArmEstimate:
    """Mean of case means with an interval that treats the case, not the sample, as the unit.

    One pass/fail per case: Clopper–Pearson (exact). Otherwise Korn–Graubard on the case
    means within the metric's ``bounds`` (:func:`hyouka.stats.bounded_mean_interval`): an
    effective sample size from the case-level SE, so an all-pass arm with five samples per
    case gets the interval of as many pass/fail cases, never a zero-width [1, 1].
    """
    counts = _counts(mat)
    n = mat.shape[0]
    b = bounds or metric_bounds(mat[~np.isnan(mat)], binary)
    vc = variance_components(mat) if counts.max() > 1 and n >= 2 else None
    n_samples = int(counts.sum())
    means = np.nanmean(mat, axis=1)
    se = float(means.std(ddof=1) / math.sqrt(n)) if n >= 2 else float("nan")
    if binary and counts.max() == 1:
        iv = clopper_pearson_interval(round(float(np.nansum(mat))), n, level=s.level)
    else:
        iv = bounded_mean_interval(
            means, bounds=(b.low, b.high), level=s.level,
            max_trials=float(n_samples) if binary else None,
        )  # fmt: skip
    return ArmEstimate(
        mean=float(means.mean()),
        low=iv.low,
        high=iv.high,
        se=se,
        method=iv.method,
        n_cases=n,
        n_samples=n_samples,
        samples_per_case=n_samples / n,
        within_sd=math.sqrt(vc.within_var) if vc else None,
        between_var=vc.between_var if vc else None,
        level=s.level,
    )


# ----------------------------------------------------------------------------- power


def power_plan(
    diff: PairedDifference,
    a: ArmEstimate,
    b: ArmEstimate,
    s: Settings,
    n_tests: int,
    more_seeds: int | None,
) -> PowerPlan:
    """Cases, or samples per case, for the compare test to detect ``delta`` with ``power``.

    More cases: conditional power (:func:`hyouka.stats.more_cases_needed`): the cases already
    run stay in the final test, so the plan starts from their estimate and asks how many
    more make the t test at α/m find a true ``delta`` with ``power``. More samples per case:
    Var(d) per case is split as ω² + σ²_A/K_A + σ²_B/K_B (Miller 2024 §5) and the noncentral t
    at the current number of cases says which K would do.
    """
    sig_a = a.within_sd**2 if a.within_sd is not None else 0.0
    sig_b = b.within_sd**2 if b.within_sd is not None else 0.0
    k_a, k_b = a.samples_per_case, b.samples_per_case
    n = diff.n_cases
    var_d = diff.se**2 * n
    omega2 = max(var_d - sig_a / k_a - sig_b / k_b, 0.0)
    alpha = s.alpha / max(n_tests, 1)
    empty = PowerPlan(s.delta, alpha, s.power, n_tests, omega2, sig_a, sig_b, None, None, None,
                      more_seeds)  # fmt: skip
    if var_d == 0 or s.delta == 0 or diff.n_differ == 0:
        return empty
    share = diff.n_differ / n
    try:
        more_needed = more_cases_needed(s.delta, diff.estimate, var_d, n, alpha=alpha,
                                        power=s.power, differ_share=share)  # fmt: skip
    except StatsInputError:
        return empty
    need = n + more_needed
    allowed = variance_allowed(s.delta, n, alpha=alpha, power=s.power, differ_share=share)
    k_need = None
    if sig_a + sig_b > 0 and allowed > omega2:
        k_need = max(math.ceil((sig_a + sig_b) / (allowed - omega2)), 1)
    more = max(need - n, 0)
    return PowerPlan(s.delta, alpha, s.power, n_tests, omega2, sig_a, sig_b, need, more, k_need,
                     more_seeds)  # fmt: skip


# ----------------------------------------------------------------------------- seeds


def seed_level(
    data: ScoreData,
    metric: int,
    fam_a: Sequence[VariantInfo],
    fam_b: Sequence[VariantInfo],
    s: Settings,
) -> SeedLevel | None:
    """Welch on per-seed means over the cases every seed has (≥ 2 seeds per arm)."""
    if len(fam_a) < 2 or len(fam_b) < 2 or {v.id for v in fam_a} == {v.id for v in fam_b}:
        return None
    per_variant = {v.id: data.matrix(metric, [v.id]) for v in (*fam_a, *fam_b)}
    shared: IntArray | None = None
    for case_ids, _ in per_variant.values():
        shared = case_ids if shared is None else np.intersect1d(shared, case_ids)
    if shared is None or shared.size < 2:
        return None

    def seed_mean(vid: int) -> float:
        case_ids, mat = per_variant[vid]
        rows = np.isin(case_ids, shared)
        return float(np.nanmean(mat[rows], axis=1).mean())

    a_means = tuple(seed_mean(v.id) for v in fam_a)
    b_means = tuple(seed_mean(v.id) for v in fam_b)
    welch = seed_welch_test(a_means, b_means, level=s.level)
    sd = math.sqrt((welch.sd_a**2 + welch.sd_b**2) / 2)
    try:
        need: int | None = seeds_needed(s.delta, sd, alpha=s.alpha, power=s.power)
    except StatsInputError:
        need = None
    more = None if need is None else max(need - min(len(fam_a), len(fam_b)), 0)
    return SeedLevel(
        tuple(v.label for v in fam_a), tuple(v.label for v in fam_b), a_means, b_means,
        welch, sd, need, more,
    )  # fmt: skip


# ----------------------------------------------------------------------------- one metric


def _permutations(n: int) -> int:
    return max(MIN_PERMUTATIONS, min(10_000, PERMUTATION_BUDGET // max(n, 1)))


def compare_metric(
    info: MetricInfo,
    mat_a: FloatArray,
    mat_b: FloatArray,
    s: Settings,
    seeds: SeedLevel | None = None,
    arms: tuple[ArmEstimate, ArmEstimate] | None = None,
    bounds: Bounds | None = None,
    *,
    plan: bool = True,
) -> MetricComparison:
    """Every number for one metric; ``mat_a``/``mat_b`` are cases × samples, rows aligned.

    Alone (one test) the interval is at ``s.level``; :func:`apply_holm` moves a family of
    comparisons to their Holm levels and plans for α/m (``plan=False`` leaves that to it).
    """
    if mat_a.shape[0] < MIN_CASES:
        raise StatsInputError(
            f"cases: {mat_a.shape[0]} shared cases; a comparison needs at least {MIN_CASES}"
        )
    both = np.concatenate([mat_a[~np.isnan(mat_a)], mat_b[~np.isnan(mat_b)]])
    bd = bounds or metric_bounds(both, info.binary)
    a, b = arms or (
        arm_estimate(mat_a, info.binary, s, bd),
        arm_estimate(mat_b, info.binary, s, bd),
    )
    diff = paired_difference(mat_a, mat_b, level=s.level, scale=bd.width,
                             bound=bd.width if bd.exact else None)  # fmt: skip
    d = case_differences(mat_a, mat_b)
    sign = sign_test(d)
    perm = permutation_test_paired(d, n_resamples=_permutations(d.size), seed=s.seed)
    single = info.binary and _counts(mat_a).max() == 1 and _counts(mat_b).max() == 1
    mcnemar = None
    if single:
        mcnemar = mcnemar_from_outcomes(np.nanmax(mat_a, axis=1), np.nanmax(mat_b, axis=1))
    try:
        gacha: GachaSummary | None = gacha_summary(mat_a, mat_b)
    except StatsInputError:  # one sample per case: there is no within-case spread to measure
        gacha = None
    more_seeds = seeds.more_seeds if seeds else None
    return _decide(
        MetricComparison(
            metric=info.label,
            check=info.check,
            binary=info.binary,
            higher_is_better=info.higher_is_better,
            a=a,
            b=b,
            difference=diff,
            unadjusted=(diff.low, diff.high),
            sign=sign,
            permutation=perm,
            mcnemar=mcnemar,
            gacha=gacha,
            primary_test=diff.method,
            p_value=diff.p_value,
            p_adjusted=diff.p_value,
            significant=diff.excludes_zero,
            equivalent=False,
            identical=bool(np.all(d == 0)),
            power=_no_plan(s, more_seeds),
            seed_level=seeds,
        ),
        s.level,
        diff.p_value,
        s,
        1 if plan else None,
    )


def _no_plan(s: Settings, more_seeds: int | None) -> PowerPlan:
    return PowerPlan(s.delta, s.alpha, s.power, 0, 0.0, 0.0, 0.0, None, None, None, more_seeds)


def _decide(
    m: MetricComparison, level: float, p_adjusted: float, s: Settings, n_tests: int | None
) -> MetricComparison:
    """Put the interval at ``level`` and read the verdict off that very interval."""
    diff = m.difference.at(level)
    significant = diff.excludes_zero
    equivalent = not significant and -s.delta < diff.low and diff.high < s.delta
    more_seeds = m.seed_level.more_seeds if m.seed_level else None
    plan = m.power if n_tests is None else power_plan(m.difference, m.a, m.b, s, n_tests,
                                                      more_seeds)  # fmt: skip
    return replace(
        m, difference=diff, p_adjusted=p_adjusted, significant=significant,
        equivalent=equivalent, power=plan,
    )  # fmt: skip


# ----------------------------------------------------------------------------- runs


class _ArmCache:
    """Arm estimates are reused when a baseline is compared with several variants."""

    def __init__(self, s: Settings) -> None:
        self.s = s
        self.done: dict[tuple[tuple[int, ...], int, bytes], ArmEstimate] = {}

    def get(
        self, arm: Arm, metric: int, cases: IntArray, mat: FloatArray, binary: bool, b: Bounds
    ) -> ArmEstimate:
        key = (arm.ids, metric, cases.tobytes())
        if key not in self.done:
            self.done[key] = arm_estimate(mat, binary, self.s, b)
        return self.done[key]


def _aligned(
    data: ScoreData, metric: int, a: Arm, b: Arm
) -> tuple[
    IntArray, FloatArray, FloatArray, int, tuple[IntArray, FloatArray, IntArray, FloatArray]
]:
    ca, ma = data.matrix(metric, a.ids)
    cb, mb = data.matrix(metric, b.ids)
    shared, ia, ib = np.intersect1d(ca, cb, assume_unique=True, return_indices=True)
    dropped = ca.size + cb.size - 2 * shared.size
    return shared.astype(np.int64), ma[ia], mb[ib], int(dropped), (ca, ma, cb, mb)


def _case_mean(mat: FloatArray) -> float | None:
    if mat.shape[0] == 0 or mat.shape[1] == 0:
        return None
    return float(np.nanmean(np.nanmean(mat, axis=1)))


def _skipped(
    info: MetricInfo, n_shared: int, full: tuple[IntArray, FloatArray, IntArray, FloatArray]
) -> SkippedMetric:
    ca, ma, cb, mb = full
    if ca.size == 0 and cb.size == 0:
        reason = "none"
    elif cb.size == 0:
        reason = "only-a"
    elif ca.size == 0:
        reason = "only-b"
    else:
        reason = "too-few"
    return SkippedMetric(info.label, reason, int(ca.size), int(cb.size), n_shared,
                         _case_mean(ma), _case_mean(mb))  # fmt: skip


def compare_pair(
    data: ScoreData,
    a: Arm,
    b: Arm,
    available: Sequence[VariantInfo],
    metrics: Sequence[int],
    s: Settings,
    cache: _ArmCache,
) -> PairComparison:
    out = []
    skipped = []
    n_cases, dropped = 0, 0
    fam_a, fam_b = family_of(a, available), family_of(b, available)
    for m in metrics:
        info = data.metrics[m]
        cases, ma, mb, drop, full = _aligned(data, m, a, b)
        if cases.size < MIN_CASES:
            skipped.append(_skipped(info, int(cases.size), full))
            continue
        bd = metric_bounds(data.value[data.metric == m], info.binary)
        arms = (cache.get(a, m, cases, ma, info.binary, bd),
                cache.get(b, m, cases, mb, info.binary, bd))  # fmt: skip
        seeds = seed_level(data, m, fam_a, fam_b, s)
        out.append(compare_metric(info, ma, mb, s, seeds, arms, bd, plan=False))
        n_cases, dropped = max(n_cases, cases.size), max(dropped, drop)
    return PairComparison(
        a.label, b.label, tuple(v.label for v in a.variants), tuple(v.label for v in b.variants),
        n_cases, dropped, tuple(out), tuple(skipped),
    )  # fmt: skip


def apply_holm(pairs: list[PairComparison], s: Settings) -> list[PairComparison]:
    """Holm across every metric of every comparison: adjusted p-values, and each interval at
    the level Holm tested its metric at (see :func:`hyouka.stats.holm_levels`)."""
    flat = [m.p_value for p in pairs for m in p.metrics]
    if not flat:
        return pairs
    adjusted = iter(adjust_pvalues(flat, method="holm").tolist())
    levels = iter(holm_levels(flat, alpha=s.alpha).tolist())
    out = []
    for p in pairs:
        ms = [_decide(m, next(levels), next(adjusted), s, len(flat)) for m in p.metrics]
        out.append(replace(p, metrics=tuple(ms)))
    return out


def rule_rows(
    rules: Sequence[RuleScores], a: Arm, b: Arm, wanted: set[tuple[str, str]]
) -> tuple[RuleRow, ...]:
    """Each rule of a check with several rules, with both arms' means on its shared cases
    (a family arm's members are pooled)."""
    out = []
    for r in rules:
        if (r.check, r.metric) not in wanted:
            continue
        per_arm = []
        for arm in (a, b):
            cells: dict[str, list[float]] = {}
            for (vid, cid), v in r.values.items():
                if vid in arm.ids:
                    cells.setdefault(cid, []).append(v)
            per_arm.append({c: float(np.mean(v)) for c, v in cells.items()})
        shared = sorted(set(per_arm[0]) & set(per_arm[1]))
        if not shared:
            continue
        mean_a = float(np.mean([per_arm[0][c] for c in shared]))
        mean_b = float(np.mean([per_arm[1][c] for c in shared]))
        label = r.metric if r.metric == r.check else f"{r.check}/{r.metric}"
        out.append(RuleRow(label, r.rule, len(shared), mean_a, mean_b, tuple(shared)))
    return tuple(out)


def _pick_metrics(data: ScoreData, arms: Sequence[Arm], wanted: Sequence[str]) -> list[int]:
    if wanted:
        return [data.metric_index(w) for w in wanted]
    found: set[int] = set()
    for arm in arms:
        found |= data.metrics_of(arm.ids)
    return sorted(found)


def compare_variants(
    store: Store,
    run: RunInfo,
    baseline: str,
    others: Sequence[str],
    *,
    metrics: Sequence[str] = (),
    delta: float = 0.05,
    seed: int | None = None,
    level: float = 0.95,
    power: float = 0.8,
) -> CompareResult:
    """Compare each of ``others`` with ``baseline`` in ``run`` (B − A, B = the other).

    ``level`` is the one confidence knob: intervals are at ``level`` (before Holm) and the
    significance level is 1 − ``level``. ``seed`` (for the reference permutation test)
    defaults to the run's seed, so the printed numbers can be reproduced. Every metric any
    arm has is considered; those that cannot be compared are listed in ``skipped``.
    """
    if not others:
        raise HyoukaError("compare: name at least two variants, e.g. hyouka compare A B")
    if not 0.5 <= level < 1:
        raise HyoukaError(f"compare: level must be between 0.5 and 1 (e.g. 0.95), got {level}")
    s = Settings(level, power, delta, run.seed if seed is None else seed)
    available = variants_in_run(store, run.id)
    base = resolve_arm(available, baseline, run.uid)
    arms = [resolve_arm(available, ref, run.uid) for ref in others]
    involved = {v.id for arm in (base, *arms) for v in (*arm.variants, *family_of(arm, available))}
    data = load_scores(store, run.id, sorted(involved))
    chosen = _pick_metrics(data, [base, *arms], metrics)
    if not chosen:
        raise HyoukaError(
            f"{base.label} and {', '.join(a.label for a in arms)} share no check metric in run "
            f"{run.uid}; add checks to hyouka.yaml and run `hyouka run` again"
        )
    cache = _ArmCache(s)
    pairs = [compare_pair(data, base, arm, available, chosen, s, cache) for arm in arms]
    if not any(p.metrics for p in pairs):
        why = "; ".join(
            f"`{sk.metric}` vs {p.b}: {sk.reason} ({sk.n_shared} shared)"
            for p in pairs for sk in p.skipped
        )  # fmt: skip
        raise HyoukaError(
            f"no metric has scores on at least {MIN_CASES} shared cases for {base.label} and "
            f"{', '.join(a.label for a in arms)} in run {run.uid} ({why}); check "
            f"`hyouka show {run.uid}` for errors"
        )
    pairs = apply_holm(pairs, s)
    rules = rule_scores(store, run.id, sorted(involved))
    wanted = {(data.metrics[m].check, data.metrics[m].metric) for m in chosen}
    pairs = [replace(p, rules=rule_rows(rules, base, arm, wanted))
             for p, arm in zip(pairs, arms, strict=True)]  # fmt: skip
    n_tests = sum(len(p.metrics) for p in pairs)
    return CompareResult(
        run.uid, s.seed, level, s.alpha, delta, power, "holm", n_tests, tuple(pairs)
    )
