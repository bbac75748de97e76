"""B vs A on the same test cases: paired differences, exact tests, and the gacha.

Convention: every difference is **B − A**, so a positive number means B scores higher.
Samples are averaged within case first (Miller 2024 §1.4: pair the per-question means), and
resampling is done over cases, never over individual samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special
from scipy import stats as sps

from hyouka.stats._common import (
    Cases,
    FloatArray,
    StatsInputError,
    as_float_array,
    check_level,
    group_by_case,
    require_finite,
    require_min_size,
    z_value,
)

Alternative = Literal["two-sided", "greater", "less"]

# 2^16 sign patterns (65,536 × n floats) is the largest exact enumeration that stays well
# under 0.1 s; above it the Monte Carlo p-value with 10,000 draws is accurate to ±0.005.
EXACT_PERMUTATION_LIMIT = 16


# A pseudo-case of this weight, split evenly between +c and −c, goes into the variance of the
# per-case differences (c = the largest |d|, or the metric's range when every d is 0). It is the
# Agresti–Min "add ½ to the discordant cells" idea carried over to any bounded score: a handful
# of cases that all tie can no longer produce a zero-width interval. With the degrees of
# freedom taken from the cases where the arms differ, 95% intervals covered ≥ 95% of the time
# in every setting of benchmarks/calibration.py (binary, 0–1 and 1–5 scores, 5 to 100 cases).
PSEUDO_WEIGHT = 0.5
# Fewer shared cases than this and compare says the data are too few instead of a verdict.
# The calibrated t interval stays honest below it (95% intervals covered ≥ 97.5% at 3–5 cases
# in benchmarks/calibration.py's populations) but is then so wide that a verdict says little.
MIN_CASES = 6


@dataclass(frozen=True)
class TInterval:
    """A t interval ``centre ± t_{df}·se`` at any level, clipped to ``[lower, upper]``.

    The verdict, its p-value and every interval printed beside it come from this one object,
    so "different" and "the interval excludes 0" can never disagree.
    """

    centre: float
    se: float
    df: float
    lower: float = -math.inf
    upper: float = math.inf

    def interval(self, level: float) -> tuple[float, float]:
        check_level(level)
        half = float(special.stdtrit(self.df, 0.5 + level / 2.0)) * self.se
        return (max(self.centre - half, self.lower), min(self.centre + half, self.upper))

    def p_value(self, null: float = 0.0) -> float:
        """Two-sided p: the smallest 1 − level at which the interval excludes ``null``."""
        if self.se == 0:
            return 1.0 if self.centre == null else 0.0
        return float(2.0 * special.stdtr(self.df, -abs(self.centre - null) / self.se))


def calibrated_t(
    diffs: npt.ArrayLike, *, scale: float = 1.0, bound: float | None = None
) -> TInterval:
    """The interval ``hyouka compare`` uses for the mean of per-case differences.

    A Student t interval on the case-level differences (the case is the cluster, so samples
    never count as independent), made honest for small and tied data: the variance includes
    a pseudo-case of weight ``PSEUDO_WEIGHT`` split between ±c (c = max |d|, or ``scale``, the
    metric's range, when every difference is 0), and the degrees of freedom are the number of
    cases where the arms differ minus 1 (at least 1). ``bound`` clips the interval to
    [−bound, bound] when the differences cannot leave it (1 for pass rates and 0–1 scores).
    """
    d = as_float_array(diffs, "diffs")
    require_finite(d, "diffs")
    require_min_size(d.size, 2, "diffs")
    if scale < 0:
        raise StatsInputError(f"scale: must be ≥ 0, got {scale}")
    largest = float(np.max(np.abs(d)))
    c = largest if largest > 0 else float(scale)
    n_eff = d.size + PSEUDO_WEIGHT
    centre = float(d.sum()) / n_eff
    ss = float(d @ d) + PSEUDO_WEIGHT * c * c
    var = max(ss - n_eff * centre * centre, 0.0) / (n_eff - 1.0)
    se = math.sqrt(var / n_eff)
    df = float(max(int(np.count_nonzero(d)) - 1, 1))
    lim = math.inf if bound is None else float(bound)
    return TInterval(centre, se, df, -lim, lim)


@dataclass(frozen=True)
class PairedDifference:
    """Mean of per-case differences B − A with a calibrated t interval (case = cluster).

    ``estimate`` is mean(d); ``low``/``high`` are the :func:`calibrated_t` interval at
    ``level`` (``centre``, ``t_se`` and ``df`` define it at any level, see :meth:`at`), and
    ``p_value`` is the same procedure's two-sided p, so p < 1 − level exactly when the
    interval excludes 0. ``se`` is the plain CLT sd(d)/√n_cases and ``se_unpaired`` what it
    would be if the pairing were ignored; ``n_differ`` counts the cases where the arms differ.
    """

    estimate: float
    se: float
    low: float
    high: float
    mean_a: float
    mean_b: float
    se_unpaired: float
    correlation: float
    n_cases: int
    share_b_wins: float
    share_a_wins: float
    share_ties: float
    level: float
    centre: float
    t_se: float
    df: float
    p_value: float
    n_differ: int
    bound: float | None
    method: str = "t-calibrated"

    @property
    def t(self) -> TInterval:
        lim = math.inf if self.bound is None else self.bound
        return TInterval(self.centre, self.t_se, self.df, -lim, lim)

    def at(self, level: float) -> PairedDifference:
        """The same difference with its interval at another level (e.g. a Holm level)."""
        low, high = self.t.interval(level)
        return replace(self, level=level, low=low, high=high)

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class TestResult:
    """A hypothesis test: statistic, p-value and what it was computed from."""

    statistic: float
    p_value: float
    n: int
    method: str
    detail: str = ""


@dataclass(frozen=True)
class GachaSummary:
    """How large the A/B difference is compared with sample-to-sample spread within a case.

    ``ratio`` = |difference| / ``pooled_within_sd``: "the difference is 3× the spread".
    ``prob_b_beats_a`` is the chance a fresh B sample beats a fresh A sample on a random case
    (ties count ½).
    """

    difference: float
    within_sd_a: float
    within_sd_b: float
    pooled_within_sd: float
    ratio: float
    prob_b_beats_a: float
    n_cases: int


@dataclass(frozen=True)
class WelchResult:
    """Seed-level Welch t-test for replicate fine-tunes (one mean per seed)."""

    difference: float
    t: float
    df: float
    p_value: float
    low: float
    high: float
    sd_a: float
    sd_b: float
    n_a: int
    n_b: int
    level: float


def _paired_cases(
    a: npt.ArrayLike,
    a_cases: npt.ArrayLike | None,
    b: npt.ArrayLike,
    b_cases: npt.ArrayLike | None,
) -> tuple[Cases, Cases, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Group both arms by case and return the indices of cases present in both."""
    ga = group_by_case(a, a_cases, "a")
    gb = group_by_case(b, b_cases, "b")
    _, ia, ib = np.intersect1d(ga.labels, gb.labels, assume_unique=True, return_indices=True)
    if ia.size < 2:
        raise StatsInputError(
            f"a/b: only {ia.size} case(s) appear in both arms; a paired comparison needs ≥ 2"
        )
    return ga, gb, ia.astype(np.int64), ib.astype(np.int64)


def case_differences(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    a_cases: npt.ArrayLike | None = None,
    b_cases: npt.ArrayLike | None = None,
) -> FloatArray:
    """Per-case mean of B minus per-case mean of A, over cases present in both arms.

    Each arm is 1-D samples with case labels, or a 2-D cases × samples matrix (rows aligned).
    """
    ga, gb, ia, ib = _paired_cases(a, a_cases, b, b_cases)
    return gb.means[ib] - ga.means[ia]


def paired_difference(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    a_cases: npt.ArrayLike | None = None,
    b_cases: npt.ArrayLike | None = None,
    level: float = 0.95,
    scale: float | None = None,
    bound: float | None = None,
) -> PairedDifference:
    """Paired difference B − A using all samples, with the :func:`calibrated_t` interval.

    ``scale`` is the metric's range (default: the range of the values seen in both arms, or 1
    when they are all in [0, 1]); ``bound`` clips the interval (default: 1 when every value is
    in [0, 1], else no clipping).
    """
    check_level(level)
    ga, gb, ia, ib = _paired_cases(a, a_cases, b, b_cases)
    ma, mb = ga.means[ia], gb.means[ib]
    d = mb - ma
    n = d.size
    lo, hi = float(min(ga.means.min(), gb.means.min())), float(max(ga.means.max(), gb.means.max()))
    unit = lo >= 0.0 and hi <= 1.0
    if scale is None:
        scale = 1.0 if unit else hi - lo
    if bound is None and unit:
        bound = 1.0
    ti = calibrated_t(d, scale=scale, bound=bound)
    low, high = ti.interval(level)
    sd_a, sd_b = float(ma.std(ddof=1)), float(mb.std(ddof=1))
    corr = float(np.corrcoef(ma, mb)[0, 1]) if sd_a > 0 and sd_b > 0 else float("nan")
    return PairedDifference(
        estimate=float(d.mean()),
        se=float(d.std(ddof=1) / math.sqrt(n)),
        low=low,
        high=high,
        mean_a=float(ma.mean()),
        mean_b=float(mb.mean()),
        se_unpaired=math.sqrt((sd_a**2 + sd_b**2) / n),
        correlation=corr,
        n_cases=n,
        share_b_wins=float(np.mean(d > 0)),
        share_a_wins=float(np.mean(d < 0)),
        share_ties=float(np.mean(d == 0)),
        level=level,
        centre=ti.centre,
        t_se=ti.se,
        df=ti.df,
        p_value=ti.p_value(),
        n_differ=int(np.count_nonzero(d)),
        bound=bound,
    )


def paired_clt_interval(diffs: npt.ArrayLike, *, level: float = 0.95) -> tuple[float, float]:
    """Normal interval mean(d) ± z·sd(d)/√n for per-case differences."""
    d = as_float_array(diffs, "diffs")
    require_min_size(d.size, 2, "diffs")
    se = float(d.std(ddof=1) / math.sqrt(d.size))
    z = z_value(level)
    return (float(d.mean()) - z * se, float(d.mean()) + z * se)


def sign_test(diffs: npt.ArrayLike, *, alternative: Alternative = "two-sided") -> TestResult:
    """Exact sign test on per-case differences; zero differences are dropped."""
    d = as_float_array(diffs, "diffs")
    require_finite(d, "diffs")
    pos, neg = int(np.sum(d > 0)), int(np.sum(d < 0))
    n = pos + neg
    if n == 0:
        return TestResult(0.0, 1.0, 0, "sign", "all differences are zero")
    p = float(sps.binomtest(pos, n, 0.5, alternative=alternative).pvalue)
    return TestResult(float(pos), p, n, "sign", f"{pos} cases favour B, {neg} favour A")


def _sign_patterns(n: int) -> FloatArray:
    """All 2^n vectors of ±1 (rows), from the bits of 0 … 2^n − 1."""
    bits = (np.arange(2**n, dtype=np.int64)[:, None] >> np.arange(n, dtype=np.int64)) & 1
    patterns: FloatArray = 1.0 - 2.0 * bits.astype(np.float64)
    return patterns


def permutation_test_paired(
    diffs: npt.ArrayLike,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    alternative: Alternative = "two-sided",
) -> TestResult:
    """Paired permutation (sign-flip) test of mean(d) = 0.

    Exact over all 2^n sign patterns when at most 16 differences are non-zero; otherwise
    Monte Carlo with ``n_resamples`` seeded draws and the (1 + hits)/(1 + draws) p-value.
    """
    d = as_float_array(diffs, "diffs")
    require_finite(d, "diffs")
    d = d[d != 0]
    n = d.size
    if n == 0:
        return TestResult(0.0, 1.0, 0, "permutation", "all differences are zero")
    observed = float(d.sum())
    if n <= EXACT_PERMUTATION_LIMIT:
        totals = _sign_patterns(n) @ d
        hits = _tail_hits(totals, observed, alternative)
        return TestResult(observed / n, hits / totals.size, n, "permutation-exact", f"seed={seed}")
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n_resamples, n))
    totals = signs @ d
    hits = _tail_hits(totals, observed, alternative)
    p = (1.0 + hits) / (1.0 + n_resamples)
    return TestResult(observed / n, p, n, "permutation-monte-carlo", f"seed={seed}")


def _tail_hits(totals: FloatArray, observed: float, alternative: Alternative) -> float:
    # A small tolerance so that exact ties with the observed sum count as "as extreme".
    eps = 1e-12 * max(1.0, abs(observed))
    if alternative == "greater":
        return float(np.sum(totals >= observed - eps))
    if alternative == "less":
        return float(np.sum(totals <= observed + eps))
    return float(np.sum(np.abs(totals) >= abs(observed) - eps))


def mcnemar_test(
    b_only: int, a_only: int, *, exact: bool = True, correction: bool = True
) -> TestResult:
    """McNemar test on discordant pass/fail pairs.

    ``b_only``: cases B passes and A fails; ``a_only``: A passes and B fails. ``exact=True``
    is a binomial test on the discordant pairs; otherwise χ² with continuity ``correction``.
    """
    if b_only < 0 or a_only < 0:
        raise StatsInputError("b_only/a_only: discordant counts cannot be negative")
    n = b_only + a_only
    if n == 0:
        return TestResult(0.0, 1.0, 0, "mcnemar", "no discordant pairs")
    if exact:
        p = float(sps.binomtest(b_only, n, 0.5).pvalue)
        return TestResult(float(min(b_only, a_only)), p, n, "mcnemar-exact")
    diff = abs(b_only - a_only) - (1.0 if correction else 0.0)
    chi2 = max(diff, 0.0) ** 2 / n
    p = float(sps.chi2.sf(chi2, 1))
    return TestResult(chi2, p, n, "mcnemar-chi2" + ("-cc" if correction else ""))


def mcnemar_from_outcomes(
    a_pass: npt.ArrayLike, b_pass: npt.ArrayLike, *, exact: bool = True, correction: bool = True
) -> TestResult:
    """McNemar test from per-case pass/fail arrays (one sample per case)."""
    a = as_float_array(a_pass, "a_pass").astype(bool)
    b = as_float_array(b_pass, "b_pass").astype(bool)
    if a.shape != b.shape:
        raise StatsInputError("a_pass/b_pass: need one outcome per case in both arms")
    b_only, a_only = int(np.sum(b & ~a)), int(np.sum(a & ~b))
    return mcnemar_test(b_only, a_only, exact=exact, correction=correction)


def _padded(cases: Cases, values: FloatArray, rows: npt.NDArray[np.int64]) -> FloatArray:
    """Samples of the selected cases as a NaN-padded (cases × max K) matrix."""
    kmax = int(cases.counts[rows].max())
    out = np.full((rows.size, kmax), np.nan)
    pos = np.full(cases.counts.size, -1, dtype=np.int64)
    pos[rows] = np.arange(rows.size)
    order = np.argsort(cases.inverse, kind="stable")
    inv = cases.inverse[order]
    starts = np.concatenate(([0], np.cumsum(cases.counts)[:-1]))
    col = np.arange(inv.size) - starts[inv]
    sel = pos[inv] >= 0
    out[pos[inv[sel]], col[sel]] = values[order][sel]
    return out


def prob_b_beats_a(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    a_cases: npt.ArrayLike | None = None,
    b_cases: npt.ArrayLike | None = None,
) -> float:
    """P(a fresh B sample > a fresh A sample) + ½ P(tie), averaged over shared cases."""
    ga, gb, ia, ib = _paired_cases(a, a_cases, b, b_cases)
    va = _flat_values(a)
    vb = _flat_values(b)
    pa = _padded(ga, va, ia)[:, :, None]
    pb = _padded(gb, vb, ib)[:, None, :]
    valid = ~np.isnan(pa) & ~np.isnan(pb)
    score = np.where(valid, (pb > pa) + 0.5 * (pb == pa), 0.0)
    per_case = score.sum(axis=(1, 2)) / valid.sum(axis=(1, 2))
    return float(per_case.mean())


def _flat_values(values: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 2:
        flat = arr.ravel()
        return flat[~np.isnan(flat)]
    return arr


def gacha_summary(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    a_cases: npt.ArrayLike | None = None,
    b_cases: npt.ArrayLike | None = None,
) -> GachaSummary:
    """Compare the B − A difference with the within-case sample-to-sample spread."""
    ga, gb, ia, ib = _paired_cases(a, a_cases, b, b_cases)
    d = gb.means[ib] - ga.means[ia]
    wa = _mean_within_var(ga, ia)
    wb = _mean_within_var(gb, ib)
    pooled = math.sqrt((wa + wb) / 2.0)
    diff = float(d.mean())
    ratio = abs(diff) / pooled if pooled > 0 else float("inf") if diff else 0.0
    prob = prob_b_beats_a(a, b, a_cases=a_cases, b_cases=b_cases)
    return GachaSummary(diff, math.sqrt(wa), math.sqrt(wb), pooled, ratio, prob, int(d.size))


def _mean_within_var(cases: Cases, rows: npt.NDArray[np.int64]) -> float:
    v = cases.variances[rows]
    v = v[~np.isnan(v)]
    if v.size == 0:
        raise StatsInputError(
            "samples: need at least one case with K ≥ 2 samples to measure spread"
        )
    return float(v.mean())


def seed_welch_test(
    a_seed_means: npt.ArrayLike, b_seed_means: npt.ArrayLike, *, level: float = 0.95
) -> WelchResult:
    """Welch t-test on per-seed means (one number per fine-tune seed), difference B − A."""
    a = as_float_array(a_seed_means, "a_seed_means")
    b = as_float_array(b_seed_means, "b_seed_means")
    require_finite(a, "a_seed_means")
    require_finite(b, "b_seed_means")
    require_min_size(a.size, 2, "a_seed_means")
    require_min_size(b.size, 2, "b_seed_means")
    va, vb = float(a.var(ddof=1)) / a.size, float(b.var(ddof=1)) / b.size
    se = math.sqrt(va + vb)
    diff = float(b.mean() - a.mean())
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    t = diff / se
    p = float(2 * sps.t.sf(abs(t), df))
    half = float(sps.t.ppf(0.5 + level / 2, df)) * se
    return WelchResult(
        diff,
        t,
        df,
        p,
        diff - half,
        diff + half,
        float(a.std(ddof=1)),
        float(b.std(ddof=1)),
        int(a.size),
        int(b.size),
        level,
    )


def expected_best_of_n(values: npt.ArrayLike, n: int) -> float:
    """Expected maximum of ``n`` draws from the observed runs (Dodge et al. 2019).

    E[max] = Σ_i v_(i)·[(i/N)^n − ((i−1)/N)^n] over the ascending-sorted values.
    """
    v = np.sort(as_float_array(values, "values"))
    require_min_size(v.size, 1, "values")
    if n < 1:
        raise StatsInputError(f"n: must be ≥ 1, got {n}")
    i = np.arange(1, v.size + 1) / v.size
    weights = i**n - (i - 1.0 / v.size) ** n
    return float(v @ weights)


def adjust_pvalues(
    p_values: npt.ArrayLike, *, method: Literal["holm", "bh"] = "holm"
) -> FloatArray:
    """Holm (family-wise) or Benjamini–Hochberg (false discovery rate) adjusted p-values."""
    p = as_float_array(p_values, "p_values")
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p)
    ranked = p[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "bh":
        adj = np.minimum.accumulate((m / np.arange(1, m + 1) * ranked)[::-1])[::-1]
    else:
        raise StatsInputError(f"method: expected 'holm' or 'bh', got {method!r}")
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def holm_levels(p_values: npt.ArrayLike, *, alpha: float = 0.05) -> FloatArray:
    """The confidence level at which Holm's step-down procedure tests each hypothesis.

    Sorted by p, the j-th hypothesis (0-based) is tested at α/(m − j) while every earlier one
    was rejected; once one is not rejected, it and all later ones keep that last level. An
    interval at these levels excludes the null value exactly when Holm rejects, and each one
    contains the unadjusted 1 − α interval, so it still covers at ≥ 1 − α on its own.
    """
    p = as_float_array(p_values, "p_values")
    m = p.size
    out = np.empty(m)
    if m == 0:
        return out
    if not 0 < alpha < 1:
        raise StatsInputError(f"alpha: must be between 0 and 1, got {alpha}")
    order = np.argsort(p, kind="stable")
    stopped: float | None = None
    for j, idx in enumerate(order.tolist()):
        step = alpha / (m - j)
        if stopped is None and not p[idx] < step:
            stopped = step
        out[idx] = 1.0 - (step if stopped is None else stopped)
    return out
