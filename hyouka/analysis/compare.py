"""Is B really better than A, or was it the gacha? Per metric, paired by case.

For every check metric: each arm's mean with an interval that respects the samples' nesting in
cases (Wilson for a pass rate with one sample per case, a case-level bootstrap otherwise); the
paired difference B − A with a case-level bootstrap interval; the exact sign test, the
sign-flip permutation test and (pass/fail, one sample) McNemar; the share of cases where B
wins; the gacha (within-case spread, the difference in multiples of it, P(B beats A on a fresh
draw)); and how many more cases, samples or seeds would settle a ``delta`` difference. When the
arms are replicate fine-tunes (a ``family``), Welch's t-test on the seed means as well.
The p-values of all metrics and comparisons are Holm-adjusted together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from hyouka.analysis.data import (
    Arm,
    MetricInfo,
    ScoreData,
    VariantInfo,
    family_of,
    load_scores,
    resolve_arm,
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
    case_differences,
    cases_needed,
    cluster_bootstrap_mean,
    gacha_summary,
    mcnemar_from_outcomes,
    mean_ci,
    paired_difference,
    permutation_test_paired,
    seed_welch_test,
    seeds_needed,
    sign_test,
    variance_components,
    wilson_interval,
)
from hyouka.stats._common import FloatArray, IntArray
from hyouka.store.store import RunInfo, Store

# The Monte Carlo permutation test draws resamples × cases random signs. Capping that product
# at 4 million keeps one test under ~0.3 s at 2,000 cases (10,000 × 2,000 took 2.3 s); 2,000
# resamples still give a p-value near 0.05 to ±0.01. Exact enumeration is used up to 16 cases.
PERMUTATION_BUDGET = 4_000_000
MIN_PERMUTATIONS = 2_000
# Below a few hundred cases the normal interval under-covers (Bowyer et al. 2025); above it
# the case-level bootstrap gives the same interval at 0.2 s per arm and metric (2,000 cases).
CLT_MIN_CASES = 300


@dataclass(frozen=True)
class Settings:
    level: float = 0.95
    alpha: float = 0.05
    power: float = 0.8
    delta: float = 0.05
    n_boot: int = 2000
    seed: int = 0


@dataclass(frozen=True)
class ArmEstimate:
    """One arm's mean on the paired cases, with an interval that respects case clustering."""

    mean: float
    low: float
    high: float
    se: float
    method: str  # wilson | cluster-bootstrap | case-clt
    n_cases: int
    n_samples: int
    samples_per_case: float
    within_sd: float | None  # sample-to-sample spread inside a case (None with one sample)
    between_var: float | None


@dataclass(frozen=True)
class PowerPlan:
    """How much more data would settle a ``delta`` difference (80% power, two-sided α)."""

    delta: float
    alpha: float
    power: float
    omega2: float  # across-case variance of the true difference
    sigma2_a: float  # within-case variance per arm (0 when there is one sample per case)
    sigma2_b: float
    cases_needed: float | None
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
    """B vs A on one metric. ``p_value`` is the primary test's; ``p_adjusted`` is Holm's."""

    metric: str
    check: str
    binary: bool
    higher_is_better: bool
    a: ArmEstimate
    b: ArmEstimate
    difference: PairedDifference
    sign: TestResult
    permutation: TestResult
    mcnemar: TestResult | None
    gacha: GachaSummary | None
    primary_test: str
    p_value: float
    p_adjusted: float
    significant: bool
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
class PairComparison:
    """B vs A over every metric they share."""

    a: str
    b: str
    a_variants: tuple[str, ...]
    b_variants: tuple[str, ...]
    n_cases: int
    dropped_cases: int
    metrics: tuple[MetricComparison, ...]

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
    n_boot: int
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


def arm_estimate(mat: FloatArray, binary: bool, s: Settings) -> ArmEstimate:
    """Mean of case means with an interval that treats the case, not the sample, as the unit.

    One pass/fail per case: Wilson. Fewer than ``CLT_MIN_CASES`` cases: a case-level
    bootstrap. More: the normal interval on case means (sd(case means)/√n, which already
    holds both the between-case and the within-case variance; statistics.md §1.3).
    """
    counts = _counts(mat)
    n = mat.shape[0]
    vc = variance_components(mat) if counts.max() > 1 and n >= 2 else None
    n_samples = int(counts.sum())
    if binary and counts.max() == 1:
        w = wilson_interval(float(np.nansum(mat)), n, level=s.level)
        se = math.sqrt(w.estimate * (1 - w.estimate) / n)
        low, high, mean, method = w.low, w.high, w.estimate, "wilson"
    elif n >= CLT_MIN_CASES:
        means = np.nanmean(mat, axis=1)
        est = mean_ci(means, level=s.level)
        low, high, mean, se, method = est.low, est.high, est.estimate, est.se, "case-clt"
    else:
        bm = cluster_bootstrap_mean(mat, level=s.level, n_boot=s.n_boot, seed=s.seed)
        low, high, mean, se, method = bm.low, bm.high, bm.estimate, bm.se, "cluster-bootstrap"
    return ArmEstimate(
        mean=mean,
        low=low,
        high=high,
        se=se,
        method=method,
        n_cases=int(mat.shape[0]),
        n_samples=n_samples,
        samples_per_case=n_samples / mat.shape[0],
        within_sd=math.sqrt(vc.within_var) if vc else None,
        between_var=vc.between_var if vc else None,
    )


# ----------------------------------------------------------------------------- power


def _z2(s: Settings) -> float:
    # cases_needed(δ=1, ω²=1) is exactly (z_{1−α/2} + z_power)²: reuse the engine's constant.
    return cases_needed(1.0, omega2=1.0, alpha=s.alpha, power=s.power)


def power_plan(
    d: FloatArray, a: ArmEstimate, b: ArmEstimate, s: Settings, more_seeds: int | None
) -> PowerPlan:
    """Cases (Miller 2024 §5), or samples per case, needed to detect ``delta``."""
    sig_a = a.within_sd**2 if a.within_sd is not None else 0.0
    sig_b = b.within_sd**2 if b.within_sd is not None else 0.0
    k_a, k_b = a.samples_per_case, b.samples_per_case
    var_d = float(d.var(ddof=1))
    omega2 = max(var_d - sig_a / k_a - sig_b / k_b, 0.0)
    if var_d == 0 or s.delta == 0:
        return PowerPlan(s.delta, s.alpha, s.power, omega2, sig_a, sig_b, None, None, None,
                         more_seeds)  # fmt: skip
    need = cases_needed(
        s.delta, omega2=omega2, sigma2_a=sig_a, sigma2_b=sig_b, k_a=k_a, k_b=k_b,
        alpha=s.alpha, power=s.power,
    )  # fmt: skip
    budget = d.size * s.delta**2 / _z2(s)  # the per-case variance the current n can afford
    k_need = None
    if sig_a + sig_b > 0 and budget > omega2:
        k_need = max(math.ceil((sig_a + sig_b) / (budget - omega2)), 1)
    more = max(math.ceil(need) - d.size, 0)
    return PowerPlan(s.delta, s.alpha, s.power, omega2, sig_a, sig_b, need, more, k_need,
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
) -> MetricComparison:
    """Every number for one metric; ``mat_a``/``mat_b`` are cases × samples, rows aligned."""
    a, b = arms or (arm_estimate(mat_a, info.binary, s), arm_estimate(mat_b, info.binary, s))
    diff = paired_difference(mat_a, mat_b, level=s.level, n_boot=s.n_boot, seed=s.seed)
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
    primary = mcnemar if mcnemar is not None else perm
    more_seeds = seeds.more_seeds if seeds else None
    return MetricComparison(
        metric=info.label,
        check=info.check,
        binary=info.binary,
        higher_is_better=info.higher_is_better,
        a=a,
        b=b,
        difference=diff,
        sign=sign,
        permutation=perm,
        mcnemar=mcnemar,
        gacha=gacha,
        primary_test=primary.method,
        p_value=primary.p_value,
        p_adjusted=primary.p_value,
        significant=primary.p_value < s.alpha,
        identical=bool(np.all(d == 0)),
        power=power_plan(d, a, b, s, more_seeds),
        seed_level=seeds,
    )


# ----------------------------------------------------------------------------- runs


class _ArmCache:
    """Arm estimates are reused when a baseline is compared with several variants."""

    def __init__(self, s: Settings) -> None:
        self.s = s
        self.done: dict[tuple[tuple[int, ...], int, bytes], ArmEstimate] = {}

    def get(
        self, arm: Arm, metric: int, cases: IntArray, mat: FloatArray, binary: bool
    ) -> ArmEstimate:
        key = (arm.ids, metric, cases.tobytes())
        if key not in self.done:
            self.done[key] = arm_estimate(mat, binary, self.s)
        return self.done[key]


def _aligned(
    data: ScoreData, metric: int, a: Arm, b: Arm
) -> tuple[IntArray, FloatArray, FloatArray, int]:
    ca, ma = data.matrix(metric, a.ids)
    cb, mb = data.matrix(metric, b.ids)
    shared, ia, ib = np.intersect1d(ca, cb, assume_unique=True, return_indices=True)
    dropped = ca.size + cb.size - 2 * shared.size
    return shared.astype(np.int64), ma[ia], mb[ib], int(dropped)


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
    n_cases, dropped = 0, 0
    fam_a, fam_b = family_of(a, available), family_of(b, available)
    for m in metrics:
        info = data.metrics[m]
        cases, ma, mb, drop = _aligned(data, m, a, b)
        if cases.size < 2:
            continue
        arms = (cache.get(a, m, cases, ma, info.binary), cache.get(b, m, cases, mb, info.binary))
        seeds = seed_level(data, m, fam_a, fam_b, s)
        out.append(compare_metric(info, ma, mb, s, seeds, arms))
        n_cases, dropped = max(n_cases, cases.size), max(dropped, drop)
    return PairComparison(
        a.label, b.label, tuple(v.label for v in a.variants), tuple(v.label for v in b.variants),
        n_cases, dropped, tuple(out),
    )  # fmt: skip


def _holm(pairs: list[PairComparison], alpha: float) -> list[PairComparison]:
    flat = [m.p_value for p in pairs for m in p.metrics]
    if not flat:
        return pairs
    adjusted = iter(adjust_pvalues(flat, method="holm").tolist())
    out = []
    for p in pairs:
        ms = []
        for m in p.metrics:
            q = next(adjusted)
            ms.append(replace(m, p_adjusted=q, significant=q < alpha))
        out.append(replace(p, metrics=tuple(ms)))
    return out


def _pick_metrics(data: ScoreData, arms: Sequence[Arm], wanted: Sequence[str]) -> list[int]:
    if wanted:
        return [data.metric_index(w) for w in wanted]
    shared = set(range(len(data.metrics)))
    for arm in arms:
        shared &= data.metrics_of(arm.ids)
    return sorted(shared)


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
    alpha: float = 0.05,
    power: float = 0.8,
    n_boot: int = 2000,
) -> CompareResult:
    """Compare each of ``others`` with ``baseline`` in ``run`` (B − A, B = the other).

    ``seed`` defaults to the run's seed, so the printed numbers can be reproduced.
    """
    if not others:
        raise HyoukaError("compare: name at least two variants, e.g. hyouka compare A B")
    s = Settings(level, alpha, power, delta, n_boot, run.seed if seed is None else seed)
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
        raise HyoukaError(
            f"no metric has scores on at least 2 shared cases for {base.label} and "
            f"{', '.join(a.label for a in arms)} in run {run.uid}; check `hyouka show {run.uid}` "
            f"for errors"
        )
    pairs = _holm(pairs, alpha)
    n_tests = sum(len(p.metrics) for p in pairs)
    return CompareResult(
        run.uid, s.seed, level, alpha, delta, power, n_boot, "holm", n_tests, tuple(pairs)
    )
