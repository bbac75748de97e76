"""Stop collecting when the question is settled: anytime-valid tests (statistics.md §7).

Peeking at an ordinary p-value after every vote and stopping at p < α inflates false
positives far above α. These tests stay valid however often you look: by Ville's
inequality an e-process that starts at 1 reaches 1/α under the null with probability ≤ α.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betaln

from hyouka.stats._common import FloatArray, StatsInputError, as_float_array, require_finite


@dataclass(frozen=True)
class VoteSequentialResult:
    """Beta-binomial mixture e-process over decisive votes (ties dropped).

    ``decision`` is "B", "A" or None (keep collecting). ``stopped_at`` is the number of
    decisive votes at which E first reached 1/α (None if never). ``p_value`` is the
    anytime-valid p = min over time of 1/E.
    """

    n_decisive: int
    b_wins: int
    e_value: float
    p_value: float
    alpha: float
    decision: str | None
    stopped_at: int | None
    e_path: FloatArray


@dataclass(frozen=True)
class MSPRTResult:
    """mSPRT (Johari et al.) for a mean: mixture likelihood ratio, always-valid p and CI."""

    mean: float
    n: int
    likelihood_ratio: float
    p_value: float
    low: float
    high: float
    alpha: float
    rejected: bool
    stopped_at: int | None
    empty: bool = False  # the running intersection of the intervals is empty (see msprt_sequence)


def beta_binomial_e_value(successes: int, n: int, *, a: float = 1.0, b: float = 1.0) -> float:
    """E_n = B(a + S, b + n − S) / B(a, b) · 2ⁿ: Beta(a, b) mixture vs p = ½."""
    if not 0 <= successes <= n:
        raise StatsInputError(f"successes: must be between 0 and n={n}, got {successes}")
    return math.exp(betaln(a + successes, b + n - successes) - betaln(a, b) + n * math.log(2.0))


def vote_sequential_test(
    outcomes: npt.ArrayLike, *, alpha: float = 0.05, a: float = 1.0, b: float = 1.0
) -> VoteSequentialResult:
    """Anytime-valid test that B and A are equally preferred, over votes in arrival order.

    ``outcomes`` is B's score per vote: 1 (B wins), 0 (A wins), 0.5 (tie; ignored).
    """
    y = as_float_array(outcomes, "outcomes")
    require_finite(y, "outcomes")
    decisive = y[y != 0.5]
    if np.any((decisive != 0) & (decisive != 1)):
        raise StatsInputError("outcomes: each vote must be 1 (B wins), 0.5 (tie) or 0 (A wins)")
    s = np.cumsum(decisive)
    n = np.arange(1, decisive.size + 1)
    log_e = betaln(a + s, b + n - s) - betaln(a, b) + n * math.log(2.0)
    e_path = np.exp(log_e)
    hit = np.flatnonzero(e_path >= 1.0 / alpha)
    stopped = int(hit[0]) + 1 if hit.size else None
    e_final = float(e_path[-1]) if e_path.size else 1.0
    p = float(min(1.0, 1.0 / e_path.max())) if e_path.size else 1.0
    decision = None
    if stopped is not None:
        decision = "B" if s[stopped - 1] / stopped > 0.5 else "A"
    wins = int(s[-1]) if s.size else 0
    return VoteSequentialResult(
        int(decisive.size), wins, e_final, p, alpha, decision, stopped, e_path
    )


def msprt_likelihood_ratio(
    mean: float, n: int, *, sigma2: float, tau2: float, theta0: float = 0.0
) -> float:
    """Λ_n = √(σ²/(σ²+nτ²)) · exp(n²τ²(x̄−θ0)² / (2σ²(σ²+nτ²)))."""
    if sigma2 <= 0 or tau2 <= 0 or n < 1:
        raise StatsInputError("sigma2 and tau2 must be positive and n ≥ 1")
    v = sigma2 + n * tau2
    return math.sqrt(sigma2 / v) * math.exp(n * n * tau2 * (mean - theta0) ** 2 / (2 * sigma2 * v))


def msprt_half_width(n: int, *, sigma2: float, tau2: float, alpha: float = 0.05) -> float:
    """Half-width of the always-valid CI: √(2σ²(σ²+nτ²)/(n²τ²) · log(√((σ²+nτ²)/σ²)/α))."""
    v = sigma2 + n * tau2
    return math.sqrt(2 * sigma2 * v / (n * n * tau2) * math.log(math.sqrt(v / sigma2) / alpha))


def msprt(
    mean: float,
    n: int,
    *,
    sigma2: float,
    tau2: float,
    theta0: float = 0.0,
    alpha: float = 0.05,
) -> MSPRTResult:
    """mSPRT at one look: Λ_n, p = min(1, 1/Λ_n), and the always-valid CI around ``mean``."""
    lam = msprt_likelihood_ratio(mean, n, sigma2=sigma2, tau2=tau2, theta0=theta0)
    half = msprt_half_width(n, sigma2=sigma2, tau2=tau2, alpha=alpha)
    p = min(1.0, 1.0 / lam)
    return MSPRTResult(mean, n, lam, p, mean - half, mean + half, alpha, p <= alpha, None)


def msprt_sequence(
    diffs: npt.ArrayLike,
    *,
    sigma2: float,
    tau2: float,
    theta0: float = 0.0,
    alpha: float = 0.05,
) -> MSPRTResult:
    """Run mSPRT over observations in arrival order (e.g. per-case paired differences).

    p_n = min(p_{n−1}, 1/Λ_n); the reported CI is the running intersection of the
    always-valid intervals, which is itself always valid. If that intersection is empty (the
    data contradict ``sigma2``, or the mean is not constant) ``empty`` is True and the
    bounds are NaN rather than a low above the high.
    """
    x = as_float_array(diffs, "diffs")
    require_finite(x, "diffs")
    if x.size == 0:
        raise StatsInputError("diffs: need at least one observation")
    n = np.arange(1, x.size + 1, dtype=np.float64)
    means = np.cumsum(x) / n
    v = sigma2 + n * tau2
    log_lam = 0.5 * np.log(sigma2 / v) + n * n * tau2 * (means - theta0) ** 2 / (2 * sigma2 * v)
    p_path = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_lam)))
    half = np.sqrt(2 * sigma2 * v / (n * n * tau2) * np.log(np.sqrt(v / sigma2) / alpha))
    low = float(np.max(means - half))
    high = float(np.min(means + half))
    # The intersection is empty only when the observations contradict the model (σ² too
    # small, or the mean drifts): then there is no valid interval to report, and it says so.
    empty = low > high
    if empty:
        low = high = float("nan")
    hit = np.flatnonzero(p_path <= alpha)
    stopped = int(hit[0]) + 1 if hit.size else None
    with np.errstate(over="ignore"):  # Λ beyond ~1e308 is reported as infinity
        last_lam = float(np.exp(log_lam[-1]))
    return MSPRTResult(
        float(means[-1]),
        int(x.size),
        last_lam,
        float(p_path[-1]),
        low,
        high,
        alpha,
        stopped is not None,
        stopped,
        empty,
    )


def msprt_tau2(sigma2: float, horizon: int, *, alpha: float = 0.05) -> float:
    """τ² making the confidence sequence tightest at ``horizon`` observations.

    ρ = √((−2 log α + log(−2 log α + 1)) / t*), τ² = ρ²σ² (Waudby-Smith et al.).
    """
    if horizon < 1:
        raise StatsInputError(f"horizon: must be ≥ 1, got {horizon}")
    c = -2 * math.log(alpha)
    rho2 = (c + math.log(c + 1)) / horizon
    return rho2 * sigma2
