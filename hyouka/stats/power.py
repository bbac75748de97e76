"""How much more data? Cases, samples, votes, seeds and human labels needed.

Formulas: Miller 2024 §5 sample size for paired A/B differences with K samples per case
(statistics.md §1.5), normal-approximation vote counts for a pairwise win rate, a
noncentral-t search for seeds per arm, and the PPI power analysis of ppi_py
(``ppi_power_analysis.py``, after Broska, Howes & van Loon 2024).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special
from scipy import stats as sps

from hyouka.stats._common import StatsInputError


@dataclass(frozen=True)
class PPIPlan:
    """A PPI labelling plan: ``n`` human labels, ``n_unlabeled`` judge-only items."""

    n: int
    n_unlabeled: int
    cost: float
    effective_n: int
    rho: float


def _z_sum(alpha: float, power: float) -> float:
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise StatsInputError(f"alpha/power: must be between 0 and 1, got {alpha}, {power}")
    return float(sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power))


def _variance_per_case(
    omega2: float, sigma2_a: float, sigma2_b: float, k_a: float, k_b: float
) -> float:
    if min(omega2, sigma2_a, sigma2_b) < 0 or min(k_a, k_b) <= 0:
        raise StatsInputError("variances must be ≥ 0 and samples per case k_a/k_b > 0")
    return omega2 + sigma2_a / k_a + sigma2_b / k_b


def cases_needed(
    delta: float,
    *,
    omega2: float,
    sigma2_a: float = 0.0,
    sigma2_b: float = 0.0,
    k_a: float = 1.0,
    k_b: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    design_effect: float = 1.0,
) -> float:
    """Test cases needed to detect a paired difference ``delta`` (Miller 2024 §5).

    n = (z_{1−α/2} + z_{power})² · (ω² + σ_A²/K_A + σ_B²/K_B) / δ² · DEFF, where ω² is the
    across-case variance of the difference in case means and σ² the within-case variance.
    For independent arms pass ω² = Var(x_A) + Var(x_B). Returned unrounded; round up to use.
    """
    if delta == 0:
        raise StatsInputError("delta: the difference to detect must be non-zero")
    var = _variance_per_case(omega2, sigma2_a, sigma2_b, k_a, k_b)
    return _z_sum(alpha, power) ** 2 * var / delta**2 * design_effect


def minimum_detectable_effect(
    n_cases: float,
    *,
    omega2: float,
    sigma2_a: float = 0.0,
    sigma2_b: float = 0.0,
    k_a: float = 1.0,
    k_b: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.8,
    design_effect: float = 1.0,
) -> float:
    """Smallest paired difference detectable with ``n_cases`` (inverse of :func:`cases_needed`)."""
    if n_cases <= 0:
        raise StatsInputError(f"n_cases: must be positive, got {n_cases}")
    var = _variance_per_case(omega2, sigma2_a, sigma2_b, k_a, k_b) * design_effect
    return _z_sum(alpha, power) * math.sqrt(var / n_cases)


def t_test_power(
    delta: float, variance: float, n_cases: float, *, alpha: float = 0.05, differ_share: float = 1.0
) -> float:
    """Power of the two-sided t test on ``n_cases`` per-case differences with Var(d) = variance.

    The degrees of freedom follow ``hyouka compare``'s interval: the cases expected to differ
    (``differ_share`` · n) minus 1, at least 1. Exact noncentral t, not the normal formula,
    which overstates power at the small counts where planning matters most.
    """
    if variance <= 0 or n_cases < 2:
        raise StatsInputError("variance must be > 0 and n_cases ≥ 2")
    df = max(differ_share * n_cases - 1.0, 1.0)
    nc = abs(delta) * math.sqrt(n_cases / variance)
    crit = float(special.stdtrit(df, 1 - alpha / 2))
    return _two_sided(crit, df, nc)


def _two_sided(crit: float, df: float, nc: float) -> float:
    """P(|T| > crit) for a noncentral t (scipy.special directly: ~15× faster than scipy.stats,
    which matters because planning evaluates it a few dozen times per metric)."""
    return _above(crit, df, nc) + _above(crit, df, -nc)


def _above(crit: float, df: float, nc: float) -> float:
    """P(T > crit | df, nc) via the lower tail at −nc; NaN where the far tail underflows."""
    v = float(special.nctdtr(df, -nc, -crit))
    if math.isnan(v):
        v = 1.0 - float(special.nctdtr(df, nc, crit))
    if math.isnan(v):
        v = 1.0 if nc > crit else 0.0
    return v


def cases_needed_t(
    delta: float,
    variance: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    differ_share: float = 1.0,
    max_cases: int = 100_000_000,
) -> int:
    """Fewest cases for :func:`t_test_power` to reach ``power`` (None-free: raises if > max)."""
    _z_sum(alpha, power)
    if delta == 0:
        raise StatsInputError("delta: the difference to detect must be non-zero")
    # Start from the normal formula (the t answer is a little above it) and bracket locally.
    z_n = _z_sum(alpha, power) ** 2 * variance / delta**2 / max(differ_share, 1e-9)
    lo = max(2, int(z_n * 0.9))
    if t_test_power(delta, variance, lo, alpha=alpha, differ_share=differ_share) >= power:
        lo = 2
    hi = max(lo + 1, int(z_n * 1.1) + 8)
    while t_test_power(delta, variance, hi, alpha=alpha, differ_share=differ_share) < power:
        lo, hi = hi, hi * 2
        if hi > max_cases:
            raise StatsInputError(
                f"delta: {delta} is too small next to a per-case variance of {variance:.3g}; "
                f"more than {max_cases} cases would be needed"
            )
    while lo < hi:
        mid = (lo + hi) // 2
        if t_test_power(delta, variance, mid, alpha=alpha, differ_share=differ_share) >= power:
            hi = mid
        else:
            lo = mid + 1
    return hi


def more_cases_needed(
    delta: float,
    estimate: float,
    variance: float,
    n_cases: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    differ_share: float = 1.0,
    max_cases: int = 100_000_000,
) -> int:
    """Cases to add to the ``n_cases`` already run so that the t test on all of them finds a
    true difference of ``delta`` with probability ``power`` (conditional power).

    The cases already run stay in the test, so their observed mean difference ``estimate``
    counts: with N more cases whose mean difference is ~N(±delta, variance/N), in the
    direction ``estimate`` leans, the test on n + N cases rejects when
    (n·estimate + N·D̄_new)/(n + N) exceeds t_{α/2, df}·√(variance/(n + N)). The power is
    averaged over the uncertainty of the SD estimated from the n cases. Returns the smallest
    N ≥ 1 that reaches ``power``. Planning a fresh study instead (cases_needed_t)
    overstates what adding cases achieves after an unclear first look, because that first
    look is part of the final answer.
    """
    _z_sum(alpha, power)
    if delta == 0 or variance <= 0 or n_cases < 2:
        raise StatsInputError("delta must be non-zero, variance > 0 and n_cases ≥ 2")
    lean = abs(estimate)
    d = abs(delta)
    # The per-case SD is itself estimated from n cases: average the power over its sampling
    # distribution (σ = s·√((n−1)/χ²_{n−1}) at ten quantiles), so an unlucky small s does not
    # promise power the cases cannot deliver.
    dof = max(differ_share * n_cases - 1.0, 1.0)
    q = np.arange(0.05, 1.0, 0.1)
    sds = math.sqrt(variance) * np.sqrt(dof / special.chdtri(dof, q))

    def achieved(more: int) -> float:
        total = n_cases + more
        df = max(differ_share * total - 1.0, 1.0)
        crit = float(special.stdtrit(df, 1 - alpha / 2))
        z = (more * d + n_cases * lean - crit * sds * math.sqrt(total)) / (sds * math.sqrt(more))
        return float(np.mean(special.ndtr(z)))

    lo, hi = 1, 1
    while achieved(hi) < power:
        lo, hi = hi + 1, hi * 2
        if hi > max_cases:
            raise StatsInputError(
                f"delta: {delta} is too small next to a per-case variance of {variance:.3g}; "
                f"more than {max_cases} cases would be needed"
            )
    while lo < hi:
        mid = (lo + hi) // 2
        if achieved(mid) >= power:
            hi = mid
        else:
            lo = mid + 1
    return hi


def variance_allowed(
    delta: float,
    n_cases: int,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    differ_share: float = 1.0,
) -> float:
    """Largest Var(d) per case at which ``n_cases`` reach ``power`` for ``delta`` (0 if none).

    Inverts :func:`t_test_power` in the variance; compare uses it to say how many samples per
    case would settle the question with the cases already there.
    """
    _z_sum(alpha, power)
    if n_cases < 2 or delta == 0:
        return 0.0
    df = max(differ_share * n_cases - 1.0, 1.0)
    crit = float(special.stdtrit(df, 1 - alpha / 2))

    def gap(nc: float) -> float:
        return _two_sided(crit, df, nc) - power

    hi = crit + 10.0
    while gap(hi) < 0:
        hi *= 2
    nc = float(optimize.brentq(gap, 0.0, hi, xtol=1e-10))
    return delta * delta * n_cases / (nc * nc) if nc > 0 else math.inf


def votes_needed(win_rate: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Decisive votes needed to show a true win rate ``win_rate`` differs from ½.

    n = ((z_{1−α/2}·½ + z_{power}·√(p(1−p))) / (p − ½))², the one-sample proportion test.
    """
    if not 0 < win_rate < 1 or win_rate == 0.5:
        raise StatsInputError(f"win_rate: must be in (0, 1) and not 0.5, got {win_rate}")
    z_a = float(sps.norm.ppf(1 - alpha / 2))
    z_b = float(sps.norm.ppf(power))
    p = win_rate
    return ((z_a * 0.5 + z_b * math.sqrt(p * (1 - p))) / (p - 0.5)) ** 2


def seed_power(delta: float, seed_sd: float, seeds_per_arm: int, *, alpha: float = 0.05) -> float:
    """Power of a two-sided seed-level t-test (equal seeds and SD per arm)."""
    if seeds_per_arm < 2:
        return 0.0
    df = 2 * (seeds_per_arm - 1)
    nc = abs(delta) / (seed_sd * math.sqrt(2.0 / seeds_per_arm))
    crit = float(sps.t.ppf(1 - alpha / 2, df))
    return float(sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc))


def seeds_needed(
    delta: float,
    seed_sd: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    max_seeds: int = 10_000,
) -> int:
    """Seeds per arm for a seed-level t-test to detect ``delta`` with the given power.

    Uses the exact noncentral t power, so small counts are not underestimated the way the
    normal formula would. Raises if even ``max_seeds`` would not be enough.
    """
    if seed_sd <= 0:
        raise StatsInputError(f"seed_sd: must be positive, got {seed_sd}")
    if delta == 0:
        raise StatsInputError("delta: the difference to detect must be non-zero")
    lo, hi = 2, 2
    while seed_power(delta, seed_sd, hi, alpha=alpha) < power:
        lo, hi = hi, hi * 2
        if hi > max_seeds:
            raise StatsInputError(
                f"delta: {delta} is too small next to a seed SD of {seed_sd}; "
                f"more than {max_seeds} seeds per arm would be needed"
            )
    while lo < hi:
        mid = (lo + hi) // 2
        if seed_power(delta, seed_sd, mid, alpha=alpha) >= power:
            hi = mid
        else:
            lo = mid + 1
    return hi


def labels_for_half_width(variance: float, half_width: float, *, level: float = 0.95) -> float:
    """Independent labels for a CI of ± ``half_width`` on a mean: n = z²·Var/E²."""
    if half_width <= 0 or variance < 0:
        raise StatsInputError("half_width must be > 0 and variance ≥ 0")
    z = float(sps.norm.ppf(0.5 + level / 2))
    return z * z * variance / half_width**2


def ppi_power(
    rho: float,
    *,
    cost_y: float = 1.0,
    cost_yhat: float = 0.0,
    cost_x: float = 0.0,
    effective_n: float | None = None,
    budget: float | None = None,
) -> PPIPlan:
    """Cheapest (n human, N judge-only) plan reaching ``effective_n``, or the most powerful
    plan for ``budget`` (ppi_py ``ppi_power`` with σ² = 1; counts rounded to nearest).

    Falls back to humans only when the judge is too weak or too costly to help.
    """
    if not -1 < rho < 1:
        raise StatsInputError(f"rho: must be strictly between -1 and 1, got {rho}")
    if (effective_n is None) == (budget is None):
        raise StatsInputError("ppi_power: give exactly one of effective_n or budget")
    r2 = rho * rho
    gamma = (cost_yhat + cost_x) / cost_y
    ppi_cost = cost_y * (1 - r2 + gamma * r2 + 2 * math.sqrt(gamma * r2 * (1 - r2)))
    classical_cost = cost_y + cost_x
    n0 = effective_n if effective_n is not None else float(budget or 0) / ppi_cost
    plan = _optimal_pair(n0, rho, gamma, cost_x, cost_y, cost_yhat)
    if classical_cost < ppi_cost or plan.n_unlabeled < 0:
        n = round(n0) if effective_n is not None else int(float(budget or 0) / classical_cost)
        return PPIPlan(n, 0, n * classical_cost, n, rho)
    return plan


def _optimal_pair(
    n0: float, rho: float, gamma: float, cost_x: float, cost_y: float, cost_yhat: float
) -> PPIPlan:
    r2 = rho * rho
    n_f = n0 * (1 - r2 + math.sqrt(gamma * r2 * (1 - r2)))
    big_f = n_f * (n0 - n_f) / (n_f - (1 - r2) * n0) if rho != 0 else 0.0
    n, big_n = round(n_f), round(big_f)
    cost = n * cost_y + (n + big_n) * (cost_yhat + cost_x)
    var_ratio = (1 / n) * (1 - r2 * big_n / (n + big_n))  # SE² with σ² = 1
    return PPIPlan(n, big_n, cost, round(1 / var_ratio), rho)
