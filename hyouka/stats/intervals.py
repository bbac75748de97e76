"""Scores with intervals: means, clustered SEs, binomial intervals, nested samples.

The estimand is the mean score over a super-population of test cases (Miller 2024,
"Adding Error Bars to Evals", arXiv 2411.00640). Repeated samples of one case are not
independent cases, so every function here that sees samples first averages them within case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special
from scipy import stats as sps

from hyouka.stats._common import (
    StatsInputError,
    as_float_array,
    bootstrap_counts,
    check_level,
    group_by_case,
    percentile_interval,
    require_finite,
    require_min_size,
    z_value,
)

ClusterForm = Literal["inspect", "paper"]


@dataclass(frozen=True)
class MeanEstimate:
    """A mean with its standard error and a two-sided interval."""

    estimate: float
    se: float
    low: float
    high: float
    n: int
    level: float
    method: str


@dataclass(frozen=True)
class ProportionInterval:
    """An interval for a binomial proportion ``successes / n``."""

    estimate: float
    low: float
    high: float
    successes: float
    n: int
    level: float
    method: str


@dataclass(frozen=True)
class BootstrapMean:
    """A cluster (case-level) bootstrap interval for the mean of case means."""

    estimate: float
    se: float
    low: float
    high: float
    n_cases: int
    n_samples: int
    level: float
    n_boot: int
    seed: int


@dataclass(frozen=True)
class VarianceComponents:
    """Split of score variance for K samples per case (Miller 2024 §1.3 model).

    ``within_var`` is E[σ²], the average sample-to-sample variance inside a case (the gacha);
    ``between_var`` is Var(x), how much the cases' true means differ. ``se`` is the SE of the
    mean of case means; ``se_floor`` is the SE if K were infinite (only Var(x) remains).
    """

    mean: float
    n_cases: int
    mean_k: float
    within_var: float
    between_var: float
    var_case_means: float
    se: float
    se_floor: float

    def se_for(self, k: float, n_cases: int | None = None) -> float:
        """Projected SE with ``k`` samples per case (and optionally a different case count)."""
        n = self.n_cases if n_cases is None else n_cases
        return math.sqrt(max(self.between_var + self.within_var / k, 0.0) / n)


def _interval(estimate: float, se: float, level: float) -> tuple[float, float]:
    z = z_value(level)
    return (estimate - z * se, estimate + z * se)


def mean_ci(values: npt.ArrayLike, *, level: float = 0.95) -> MeanEstimate:
    """Mean with the CLT standard error sd(ddof=1)/√n and a normal interval."""
    x = as_float_array(values, "values")
    require_finite(x, "values")
    require_min_size(x.size, 2, "values")
    mean = float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(x.size))
    low, high = _interval(mean, se, level)
    return MeanEstimate(mean, se, low, high, int(x.size), level, "clt")


def clustered_se(
    values: npt.ArrayLike, clusters: npt.ArrayLike, *, form: ClusterForm = "inspect"
) -> float:
    """Standard error of the mean when scores share a cluster (document, template, user…).

    ``form="inspect"``: sqrt(C/(C−1) · Σ_c (Σ_{i∈c}(s_i − s̄))²)/n, as in inspect_ai's
    ``stderr(cluster=...)`` (CR0 with a finite-cluster correction).
    ``form="paper"``: SE²_CLT (ddof 1) plus the within-cluster cross products (Miller 2024 §A).
    """
    x = as_float_array(values, "values")
    require_finite(x, "values")
    labels = np.asarray(clusters)
    if labels.shape != x.shape:
        raise StatsInputError(f"clusters: need one label per value ({x.size}), got {labels.size}")
    require_min_size(x.size, 2, "values")
    _, inverse = np.unique(labels, return_inverse=True)
    resid = x - x.mean()
    sums = np.bincount(inverse.ravel(), weights=resid)
    n = x.size
    n_clusters = sums.size
    if form == "inspect":
        if n_clusters < 2:
            raise StatsInputError("clusters: need at least 2 clusters for a clustered SE")
        return float(math.sqrt(n_clusters / (n_clusters - 1) * float(sums @ sums)) / n)
    if form == "paper":
        se_clt_sq = float(x.var(ddof=1)) / n
        cross = float(sums @ sums) - float(resid @ resid)  # Σ_c Σ_{i≠j∈c} r_i r_j
        return math.sqrt(max(se_clt_sq + cross / n**2, 0.0))
    raise StatsInputError(f"form: expected 'inspect' or 'paper', got {form!r}")


def clustered_mean_ci(
    values: npt.ArrayLike,
    clusters: npt.ArrayLike,
    *,
    level: float = 0.95,
    form: ClusterForm = "inspect",
) -> MeanEstimate:
    """Mean with a clustered SE (see :func:`clustered_se`) and a normal interval."""
    x = as_float_array(values, "values")
    se = clustered_se(x, clusters, form=form)
    mean = float(x.mean())
    low, high = _interval(mean, se, level)
    return MeanEstimate(mean, se, low, high, int(x.size), level, f"clustered-{form}")


def _check_counts(successes: float, n: int) -> None:
    if n <= 0:
        raise StatsInputError(f"n: need at least one trial, got {n}")
    if not 0 <= successes <= n:
        raise StatsInputError(f"successes: must be between 0 and n={n}, got {successes}")


def wilson_interval(successes: float, n: int, *, level: float = 0.95) -> ProportionInterval:
    """Wilson score interval; the default for pass rates on small test sets (n < a few hundred).

    ``successes`` may be fractional (ties counted as ½ in a win rate).
    """
    _check_counts(successes, n)
    z = z_value(level)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return ProportionInterval(p, low, high, successes, n, level, "wilson")


def clopper_pearson_interval(successes: int, n: int, *, level: float = 0.95) -> ProportionInterval:
    """Exact (Clopper–Pearson) binomial interval from Beta quantiles; conservative."""
    _check_counts(successes, n)
    check_level(level)
    tail = (1.0 - level) / 2.0
    k = successes
    low = 0.0 if k == 0 else float(sps.beta.ppf(tail, k, n - k + 1))
    high = 1.0 if k == n else float(sps.beta.ppf(1 - tail, k + 1, n - k))
    return ProportionInterval(k / n, low, high, k, n, level, "clopper-pearson")


def bounded_mean_interval(
    case_means: npt.ArrayLike,
    *,
    bounds: tuple[float, float] = (0.0, 1.0),
    level: float = 0.95,
    max_trials: float | None = None,
) -> ProportionInterval:
    """Interval for the mean of case means of a score in ``bounds`` (Korn & Graubard 1998).

    The score is rescaled to [0, 1] and treated like a proportion measured with an effective
    sample size n_eff = p̂(1 − p̂)/SE², SE² = Var(case means)/n (so samples nested in a case
    never count as independent), shrunk by (z/t_{n−1})² for the few degrees of freedom, and
    the Clopper–Pearson interval is taken at that size. n_eff is at most ``max_trials`` (the
    number of pass/fail samples, for a pass rate); when every case scored the same extreme
    (an all-pass arm) n_eff is the number of cases, so 20 all-pass cases with 5 samples each
    still give [0.83, 1], not [1, 1].
    """
    check_level(level)
    x = as_float_array(case_means, "case_means")
    require_finite(x, "case_means")
    require_min_size(x.size, 2, "case_means")
    lo, hi = float(bounds[0]), float(bounds[1])
    if not hi > lo:
        raise StatsInputError(f"bounds: need lowest < highest, got {bounds}")
    if np.any(x < lo - 1e-12) or np.any(x > hi + 1e-12):
        raise StatsInputError(f"case_means: values outside bounds {bounds}")
    n = x.size
    u = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    p = float(u.mean())
    s2 = float(u.var(ddof=1))
    n_eff = float(n)
    if 0 < p < 1 and s2 > 0:
        n_eff = p * (1 - p) * n / s2
        if max_trials is not None:
            n_eff = min(n_eff, float(max_trials))
    tail = (1.0 - level) / 2.0
    shrink = (float(special.ndtri(1 - tail)) / float(special.stdtrit(n - 1, 1 - tail))) ** 2
    size = n_eff * shrink
    k = p * size
    low = 0.0 if k <= 0 else float(special.betaincinv(k, size - k + 1, tail))
    high = 1.0 if k >= size else float(special.betaincinv(k + 1, size - k, 1 - tail))
    width = hi - lo
    return ProportionInterval(
        lo + width * p, lo + width * low, lo + width * high, k, n, level, "korn-graubard"
    )


def variance_components(
    values: npt.ArrayLike, cases: npt.ArrayLike | None = None
) -> VarianceComponents:
    """Within-case E[σ²] and between-case Var(x) for samples nested in cases.

    ``values`` is 1-D with ``cases`` labels, or a 2-D cases × samples matrix (NaN = missing).
    Var̂(x) = Var(s̄_i) − mean_i(σ̂²_i / K_i), which is the §1.3 estimator when every K_i = K.
    Cases with one sample give no within-case information and are left out of E[σ²].
    """
    grouped = group_by_case(values, cases, "values")
    n = grouped.means.size
    require_min_size(n, 2, "cases")
    multi = grouped.counts > 1
    if not np.any(multi):
        raise StatsInputError(
            "values: every case has one sample; need K ≥ 2 for a within-case spread"
        )
    within = float(np.mean(grouped.variances[multi]))
    var_means = float(np.var(grouped.means, ddof=1))
    per_case_noise = np.where(multi, grouped.variances, within) / grouped.counts
    between = var_means - float(np.mean(per_case_noise))
    se = math.sqrt(var_means / n)
    floor = math.sqrt(max(between, 0.0) / n)
    return VarianceComponents(
        float(grouped.means.mean()),
        n,
        float(grouped.counts.mean()),
        within,
        between,
        var_means,
        se,
        floor,
    )


def cluster_bootstrap_mean(
    values: npt.ArrayLike,
    cases: npt.ArrayLike | None = None,
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> BootstrapMean:
    """Percentile interval for the mean of case means, resampling whole cases.

    Samples stay with their case, so the interval reflects the number of cases, not the
    number of samples.
    """
    check_level(level)
    grouped = group_by_case(values, cases, "values")
    n = grouped.means.size
    require_min_size(n, 2, "cases")
    rng = np.random.default_rng(seed)
    draws = bootstrap_counts(n, n_boot, rng) @ grouped.means / n
    low, high = percentile_interval(draws, level)
    return BootstrapMean(
        float(grouped.means.mean()),
        float(draws.std(ddof=1)),
        low,
        high,
        n,
        int(grouped.counts.sum()),
        level,
        n_boot,
        seed,
    )
