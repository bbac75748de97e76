"""Statistics of live experiments: clustered ratio estimates, an anytime-valid test of a
difference, and the sample-ratio-mismatch check (docs/experiments.md, "Statistics").

- **Clustered by the randomisation unit.** A user sends many thumbs; they are not
  independent. Each metric is a ratio of per-unit sums, r = Σyᵢ / Σnᵢ (thumbs-up over
  thumbs, complaints over exposures, seconds over drafts), with the cluster-robust (delta
  method) variance Σ(yᵢ − r·nᵢ)² · K / ((K − 1) · (Σnᵢ)²) over the K units.
- **Anytime valid.** The difference d = r_B − r_A with variance V = V_A + V_B is tested by
  the mSPRT of :mod:`hyouka.stats.sequential` on the estimate itself (a normal mixture with
  prior scale τ): Λ = √(V/(V+τ²))·exp(τ²d²/(2V(V+τ²))), which is
  :func:`~hyouka.stats.sequential.msprt_likelihood_ratio` with n = 1 and σ² = V. Λ is
  computed after every unit in arrival order; "decided" once max Λ ≥ 1/α, p = 1/max Λ, and
  the interval is the running intersection of the always-valid intervals. With V estimated
  (plug-in) the guarantee is asymptotic; the test waits for ``min_units`` units with data
  per arm. tests/test_experiments_stats.py and benchmarks/experiments_stats.py check the
  false-positive rate and the coverage by simulation.
- **Sample-ratio mismatch.** Units per variant against the shares in force (per allocation
  revision): a Dirichlet-multinomial e-value (Lindon & Malek 2022, anytime valid, so it may
  be checked every day) and, for reference, Pearson's χ² p-value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats as sps
from scipy.special import gammaln

from hyouka.stats.sequential import msprt_half_width, msprt_likelihood_ratio

FloatArray = npt.NDArray[np.float64]
MIN_UNITS = 100  # units with data per arm before the sequential test counts
SRM_ALPHA = 0.001


@dataclass(frozen=True)
class RatioEstimate:
    units: int  # units with data (nᵢ > 0)
    events: float  # Σnᵢ
    mean: float
    se: float

    def interval(self, z: float = 1.959963984540054) -> tuple[float, float]:
        return self.mean - z * self.se, self.mean + z * self.se


def ratio_estimate(y: npt.ArrayLike, n: npt.ArrayLike) -> RatioEstimate:
    """r = Σy/Σn with the cluster-robust standard error (units with n = 0 carry nothing)."""
    ya = np.asarray(y, dtype=np.float64)
    na = np.asarray(n, dtype=np.float64)
    keep = na > 0
    ya, na = ya[keep], na[keep]
    k = int(ya.size)
    total = float(na.sum())
    if k == 0 or total <= 0:
        return RatioEstimate(k, total, math.nan, math.nan)
    r = float(ya.sum() / total)
    if k < 2:
        return RatioEstimate(k, total, r, math.nan)
    ss = float(np.sum((ya - r * na) ** 2))
    return RatioEstimate(k, total, r, math.sqrt(ss * k / ((k - 1) * total * total)))


@dataclass(frozen=True)
class SequentialDiff:
    """B − A on one metric, over units in arrival order."""

    diff: float  # at the last look
    low: float  # running intersection of the always-valid intervals (NaN: not yet)
    high: float
    p_value: float  # anytime-valid: 1 / max Λ (1.0 before the test starts)
    alpha: float
    decided: bool
    stopped_at: int | None  # units (both arms) at the first look with Λ ≥ 1/α
    looks: int  # looks the test counted (enough units on both arms)
    tau: float


def _arm_sums(arm: npt.NDArray[np.bool_], y: FloatArray, n: FloatArray) -> tuple[FloatArray, ...]:
    """Cumulative K, Σy, Σn, Σy², Σyn, Σn² of one arm (mask ``arm``), along the last axis."""
    m = arm.astype(np.float64)
    has = m * (n > 0)
    return (
        np.cumsum(has, axis=-1),
        np.cumsum(m * y, axis=-1),
        np.cumsum(m * n, axis=-1),
        np.cumsum(m * y * y, axis=-1),
        np.cumsum(m * y * n, axis=-1),
        np.cumsum(m * n * n, axis=-1),
    )


def _ratio_var(sums: tuple[FloatArray, ...]) -> tuple[FloatArray, FloatArray, FloatArray]:
    k, sy, sn, syy, syn, snn = sums
    with np.errstate(divide="ignore", invalid="ignore"):
        r = sy / sn
        ss = syy - 2 * r * syn + r * r * snn
        var = np.maximum(ss, 0.0) * k / ((k - 1) * sn * sn)
    return r, var, k


def sequential_paths(
    in_b: npt.ArrayLike,
    y: npt.ArrayLike,
    n: npt.ArrayLike,
    *,
    tau: float,
    alpha: float = 0.05,
    step: int = 1,
    min_units: int = MIN_UNITS,
) -> dict[str, FloatArray]:
    """The test's path for one sequence or many (leading axes: replications), vectorised.

    ``in_b``: True for units of B, False for A, in arrival order (last axis). Looks are after
    every ``step`` units and at the end. Returns arrays over looks: ``diff``, ``var``,
    ``lam`` (NaN where the test has not started), and per sequence ``max_lam``, ``low``,
    ``high``, ``stop`` (index of the first look with Λ ≥ 1/α, −1 if none)."""
    b = np.asarray(in_b, dtype=bool)
    ya = np.broadcast_to(np.asarray(y, dtype=np.float64), b.shape)
    na = np.broadcast_to(np.asarray(n, dtype=np.float64), b.shape)
    total = b.shape[-1]
    idx = np.arange(step - 1, total, step)
    if idx.size == 0 or idx[-1] != total - 1:
        idx = np.append(idx, total - 1)
    ra, va, ka = (x[..., idx] for x in _ratio_var(_arm_sums(~b, ya, na)))
    rb, vb, kb = (x[..., idx] for x in _ratio_var(_arm_sums(b, ya, na)))
    d = rb - ra
    v = va + vb
    ok = (ka >= min_units) & (kb >= min_units) & np.isfinite(v) & (v > 0)
    tau2 = tau * tau
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        vs = np.where(ok, v, 1.0)
        log_lam = 0.5 * np.log(vs / (vs + tau2)) + tau2 * d * d / (2 * vs * (vs + tau2))
        half = np.sqrt(2 * vs * (vs + tau2) / tau2 * np.log(np.sqrt((vs + tau2) / vs) / alpha))
    log_lam = np.where(ok, log_lam, -np.inf)
    lows = np.where(ok, d - half, -np.inf)
    highs = np.where(ok, d + half, np.inf)
    crossed = log_lam >= math.log(1 / alpha)
    stop = np.where(crossed.any(axis=-1), crossed.argmax(axis=-1), -1)
    return {
        "looks_at": (idx + 1).astype(np.float64),
        "diff": d,
        "var": v,
        "ok": ok.astype(np.float64),
        "log_lam": log_lam,
        "max_log_lam": log_lam.max(axis=-1),
        "low_path": np.maximum.accumulate(lows, axis=-1),
        "high_path": np.minimum.accumulate(highs, axis=-1),
        "stop": stop.astype(np.float64),
    }


def sequential_diff(
    in_b: npt.ArrayLike,
    y: npt.ArrayLike,
    n: npt.ArrayLike,
    *,
    tau: float,
    alpha: float = 0.05,
    min_units: int = MIN_UNITS,
) -> SequentialDiff:
    """One comparison, looking after every unit (valid however often anyone looked)."""
    b = np.asarray(in_b, dtype=bool)
    if b.size == 0:
        return SequentialDiff(math.nan, math.nan, math.nan, 1.0, alpha, False, None, 0, tau)
    path = sequential_paths(b, y, n, tau=tau, alpha=alpha, min_units=min_units)
    ok = path["ok"] > 0
    looks = int(ok.sum())
    diff = float(path["diff"][-1])
    if looks == 0:
        return SequentialDiff(diff, math.nan, math.nan, 1.0, alpha, False, None, 0, tau)
    low = float(path["low_path"][-1])
    high = float(path["high_path"][-1])
    if low > high:  # the intervals contradict one another (a drifting effect): say so
        low = high = math.nan
    max_log = float(path["max_log_lam"])
    p = float(min(1.0, math.exp(-max_log))) if math.isfinite(max_log) else 1.0
    stop = int(path["stop"])
    stopped_at = int(path["looks_at"][stop]) if stop >= 0 else None
    return SequentialDiff(diff, low, high, p, alpha, stop >= 0, stopped_at, looks, tau)


def check_consistency(d: float, v: float, tau: float, alpha: float) -> tuple[float, float]:
    """Λ and the half-width at one look through :mod:`hyouka.stats.sequential` (the same
    formulas as the vectorised path; tests compare them)."""
    lam = msprt_likelihood_ratio(d, 1, sigma2=v, tau2=tau * tau)
    return lam, msprt_half_width(1, sigma2=v, tau2=tau * tau, alpha=alpha)


@dataclass(frozen=True)
class SRMResult:
    counts: dict[str, int]
    expected: dict[str, float]  # expected units per variant
    chi2: float
    p_value: float  # Pearson's χ² (for reference: not anytime valid)
    e_value: float  # Dirichlet-multinomial e-value (anytime valid)
    alpha: float
    mismatch: bool  # e ≥ 1/alpha

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def srm_log_e(
    counts: Sequence[int], shares: Sequence[float], concentration: float = 100.0
) -> float:
    """log of the Dirichlet(c·p₀) mixture over the multinomial likelihood at p₀."""
    c = np.asarray(counts, dtype=np.float64)
    p0 = np.asarray(shares, dtype=np.float64)
    keep = p0 > 0
    if np.any(c[~keep] > 0):
        return math.inf  # a unit in a variant with no share: certainly wrong
    c, p0 = c[keep], p0[keep]
    a = concentration * p0
    n = float(c.sum())
    log_mix = float(gammaln(a.sum()) - gammaln(a.sum() + n) + np.sum(gammaln(a + c) - gammaln(a)))
    log_null = float(np.sum(c * np.log(p0)))
    return log_mix - log_null


def srm_check(
    segments: Sequence[tuple[Mapping[str, int], Mapping[str, float]]], alpha: float = SRM_ALPHA
) -> SRMResult:
    """Units per variant against the shares in force, per allocation segment (revision).

    The e-values of the segments multiply (disjoint units); χ² statistics add."""
    names: list[str] = []
    for counts, shares in segments:
        for v in [*shares, *counts]:
            if v not in names:
                names.append(v)
    total_counts = dict.fromkeys(names, 0)
    expected = dict.fromkeys(names, 0.0)
    log_e = 0.0
    chi2 = 0.0
    dof = 0
    for counts, shares in segments:
        n = sum(counts.values())
        if n == 0:
            continue
        c = [int(counts.get(v, 0)) for v in names]
        s = [float(shares.get(v, 0.0)) for v in names]
        log_e += srm_log_e(c, s)
        live = [(ci, si) for ci, si in zip(c, s, strict=True) if si > 0]
        chi2 += sum((ci - n * si) ** 2 / (n * si) for ci, si in live)
        dof += max(len(live) - 1, 0)
        for v, ci, si in zip(names, c, s, strict=True):
            total_counts[v] += ci
            expected[v] += n * si
    p = float(sps.chi2.sf(chi2, dof)) if dof > 0 else 1.0
    e = math.exp(min(log_e, 700.0))
    return SRMResult(total_counts, expected, chi2, p, e, alpha, log_e >= math.log(1 / alpha))
