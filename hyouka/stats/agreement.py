"""How much do raters agree, and where do they not?

Ratings are an items × raters matrix of numbers with NaN for "this rater did not rate this
item". Nominal labels must be coded as numbers first (any codes; only equality matters).
Coefficients: Cohen κ (weighted too), Fleiss κ, Krippendorff α (nominal, ordinal, interval,
ratio; missing data), Gwet AC1, each with a bootstrap interval over items.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from hyouka.stats._common import (
    FloatArray,
    IntArray,
    StatsInputError,
    as_float_array,
    check_level,
    failed_draws,
    percentile_interval,
    require_min_size,
)
from hyouka.stats.intervals import ProportionInterval, wilson_interval

Metric = Literal["nominal", "ordinal", "interval", "ratio"]
KappaWeights = Literal["linear", "quadratic"] | None
Coefficient = Literal["alpha", "cohen", "fleiss", "ac1"]


@dataclass(frozen=True)
class AgreementEstimate:
    """An agreement coefficient with a percentile bootstrap interval over items.

    ``n_failed`` resamples gave no value (e.g. κ when a resample holds one category only);
    when they are more than 5% of ``n_boot`` the interval is NaN (undefined), not an interval
    from the others.
    """

    coefficient: str
    estimate: float
    low: float
    high: float
    n_items: int
    level: float
    n_boot: int
    seed: int
    n_failed: int = 0


@dataclass(frozen=True)
class ItemDisagreement:
    """Per-item disagreement, one entry per item (NaN where an item has < 2 ratings).

    ``agreement``: share of agreeing rater pairs (Fleiss P_i); ``entropy``: label entropy
    normalised to [0, 1]; ``spread``: SD of the ratings; ``contribution``: the item's share of
    Krippendorff's observed disagreement, D_o,u / D_e (larger = more contested).
    """

    n_ratings: IntArray
    majority_share: FloatArray
    agreement: FloatArray
    entropy: FloatArray
    spread: FloatArray
    contribution: FloatArray

    def most_disputed(self, top: int = 10) -> IntArray:
        """Indices of the ``top`` items with the largest contribution to disagreement."""
        score = np.where(np.isnan(self.contribution), -np.inf, self.contribution)
        return np.argsort(-score, kind="stable")[:top].astype(np.int64)


@dataclass(frozen=True)
class RaterLeniency:
    """One rater against the others.

    ``bias``: mean of (this rating − mean of the other raters) over shared items, with a
    t interval (positive = more lenient on a "higher is better" scale; NaN for nominal).
    ``agreement``: share of pairs with another rater that match exactly.
    ``delta_alpha``: α with everyone − α without this rater (negative = this rater lowers α).
    """

    rater: int
    n_items: int
    bias: float
    low: float
    high: float
    agreement: float
    delta_alpha: float


@dataclass(frozen=True)
class GroupPreference:
    """Votes of one annotator group: B's win rate (ties ½) with a Wilson interval."""

    group: object
    n: int
    b_wins: int
    ties: int
    a_wins: int
    interval: ProportionInterval


@dataclass(frozen=True)
class PreferenceSplit:
    """Preference per annotator group, plus a χ² test that all groups share one preference."""

    groups: tuple[GroupPreference, ...]
    chi2: float
    p_value: float


def _ratings(ratings: npt.ArrayLike) -> FloatArray:
    r = as_float_array(ratings, "ratings", ndim=2)
    if np.any(np.isinf(r)):
        raise StatsInputError("ratings: contains infinity; use NaN for a missing rating")
    return r


def value_counts(ratings: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(sorted distinct values, items × values count matrix) ignoring NaN."""
    r = _ratings(ratings)
    mask = ~np.isnan(r)
    values, inv = np.unique(r[mask], return_inverse=True)
    rows = np.nonzero(mask)[0]
    counts = np.zeros((r.shape[0], values.size))
    np.add.at(counts, (rows, inv.ravel()), 1.0)
    return values, counts


# ---------------------------------------------------------------- Cohen / Fleiss / Gwet


def _weight_matrix(q: int, weights: KappaWeights) -> FloatArray:
    """Disagreement weights on category positions (R irr / sklearn convention)."""
    idx = np.arange(q, dtype=np.float64)
    diff = np.abs(idx[:, None] - idx[None, :])
    if weights is None:
        return (diff > 0).astype(np.float64)
    if weights == "linear":
        return diff
    if weights == "quadratic":
        return diff**2
    raise StatsInputError(f"weights: expected None, 'linear' or 'quadratic', got {weights!r}")


def cohen_kappa_table(table: npt.ArrayLike, *, weights: KappaWeights = None) -> float:
    """Cohen's κ from a q × q contingency table (rows rater 1, columns rater 2)."""
    t = as_float_array(table, "table", ndim=2)
    if t.shape[0] != t.shape[1]:
        raise StatsInputError(
            f"table: must be square (same categories for both raters), got {t.shape}"
        )
    p = t / t.sum()
    expected = np.outer(p.sum(axis=1), p.sum(axis=0))
    v = _weight_matrix(t.shape[0], weights)
    denom = float((v * expected).sum())
    if denom == 0:
        return float("nan")
    return 1.0 - float((v * p).sum()) / denom


def cohen_kappa(
    rater1: npt.ArrayLike,
    rater2: npt.ArrayLike,
    *,
    weights: KappaWeights = None,
    categories: npt.ArrayLike | None = None,
) -> float:
    """Cohen's κ for two raters; items where either is NaN are dropped.

    Weights act on the *positions* of ``categories`` (default: sorted observed values), as in
    R ``irr::kappa2`` and scikit-learn.
    """
    table, _ = contingency_table(rater1, rater2, categories=categories)
    return cohen_kappa_table(table, weights=weights)


def contingency_table(
    rater1: npt.ArrayLike, rater2: npt.ArrayLike, *, categories: npt.ArrayLike | None = None
) -> tuple[FloatArray, FloatArray]:
    """q × q counts of (rater1 value, rater2 value) over items both rated; and the categories."""
    a = as_float_array(rater1, "rater1")
    b = as_float_array(rater2, "rater2")
    if a.shape != b.shape:
        raise StatsInputError("rater1/rater2: need one rating per item from each rater")
    keep = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[keep], b[keep]
    require_min_size(a.size, 1, "items rated by both raters")
    cats = (
        np.unique(np.concatenate([a, b]))
        if categories is None
        else as_float_array(categories, "categories")
    )
    ia, ib = np.searchsorted(cats, a), np.searchsorted(cats, b)
    bad = (ia >= cats.size) | (ib >= cats.size)
    if (
        np.any(bad)
        or np.any(cats[np.minimum(ia, cats.size - 1)] != a)
        or np.any(cats[np.minimum(ib, cats.size - 1)] != b)
    ):
        raise StatsInputError("categories: a rating is not among the given categories (sorted)")
    table = np.zeros((cats.size, cats.size))
    np.add.at(table, (ia, ib), 1.0)
    return table, cats


def fleiss_kappa(
    counts: npt.ArrayLike, *, method: Literal["fleiss", "randolph"] = "fleiss"
) -> float:
    """Fleiss' κ from an items × categories count matrix (same number of raters per item).

    ``method="randolph"`` gives the free-marginal κ (chance agreement 1/q).
    """
    c = as_float_array(counts, "counts", ndim=2)
    m = c.sum(axis=1)
    if not np.all(m == m[0]) or m[0] < 2:
        raise StatsInputError(
            "counts: Fleiss κ needs the same number (≥ 2) of ratings per item; "
            "use krippendorff_alpha for missing ratings"
        )
    per_item = ((c * c).sum(axis=1) - m) / (m * (m - 1))
    p_bar = float(per_item.mean())
    if method == "fleiss":
        p_j = c.sum(axis=0) / c.sum()
        p_e = float((p_j**2).sum())
    elif method == "randolph":
        p_e = 1.0 / c.shape[1]
    else:
        raise StatsInputError(f"method: expected 'fleiss' or 'randolph', got {method!r}")
    return (p_bar - p_e) / (1.0 - p_e)


def ratings_to_counts(ratings: npt.ArrayLike) -> FloatArray:
    """Items × categories counts from an items × raters matrix (for :func:`fleiss_kappa`)."""
    return value_counts(ratings)[1]


def gwet_ac1(ratings: npt.ArrayLike, *, n_categories: int | None = None) -> float:
    """Gwet's AC1 for any number of raters with missing data (irrCAC ``gwet`` formulas).

    Resistant to the "kappa paradox" when one label dominates. ``n_categories`` defaults to
    the number of distinct observed values; pass it when some category was never used.
    """
    _, r = value_counts(ratings)
    q = r.shape[1] if n_categories is None else n_categories
    if q < 2:
        return float("nan")
    ri = r.sum(axis=1)
    rated, pairable = ri >= 1, ri >= 2
    require_min_size(int(pairable.sum()), 1, "items with ≥ 2 ratings")
    rp, mp = r[pairable], ri[pairable]
    p_a = float(((rp * (rp - 1)).sum(axis=1) / (mp * (mp - 1))).mean())
    pi = (r[rated] / ri[rated, None]).mean(axis=0)
    p_e = float((pi * (1 - pi)).sum()) / (q - 1)
    return (p_a - p_e) / (1.0 - p_e)


def gwet_ac1_table(table: npt.ArrayLike) -> float:
    """Gwet's AC1 from a two-rater q × q contingency table."""
    t = as_float_array(table, "table", ndim=2)
    n, q = float(t.sum()), int(t.shape[0])
    p_a = float(np.trace(t)) / n
    pi = (t.sum(axis=0) + t.sum(axis=1)) / (2 * n)
    p_e = float((pi * (1 - pi)).sum()) / (q - 1)
    return (p_a - p_e) / (1.0 - p_e)


@dataclass(frozen=True)
class CoefficientSE:
    """An agreement coefficient with its analytic (linearisation) standard error.

    ``low``/``high`` are coefficient ± t_{n−1}·se, the upper end capped at 1 (Gwet 2014, as
    in irrCAC). ``pa``/``pe`` are the observed and chance agreement it is built from.
    """

    coefficient: str
    estimate: float
    se: float
    low: float
    high: float
    pa: float
    pe: float
    n_items: int
    level: float


def _with_t_interval(
    name: str, est: float, se: float, pa: float, pe: float, n: int, level: float
) -> CoefficientSE:
    check_level(level)
    half = float(sps.t.ppf(0.5 + level / 2, max(n - 1, 1))) * se
    return CoefficientSE(name, est, se, est - half, min(est + half, 1.0), pa, pe, n, level)


def _agreement_weights(q: int, weights: KappaWeights) -> FloatArray:
    """Agreement weights 1 − v/v_max from the disagreement weights (identity when None)."""
    v = _weight_matrix(q, weights)
    top = float(v.max())
    return 1.0 - v / top if top > 0 else np.ones((q, q))


def cohen_kappa_se(
    table: npt.ArrayLike, *, weights: KappaWeights = None, level: float = 0.95
) -> CoefficientSE:
    """Cohen's κ (weighted too) from a q × q table, with the large-sample SE of Fleiss, Cohen
    & Everitt (1969) in Gwet's (2014) form:

    var = [Σ p_kl (w_kl − (1 − κ)(w̄_k· + w̄_·l))² − (p_a − 2(1 − κ)p_e)²] / (n(1 − p_e)²),
    with w̄_k· = Σ_l w_kl p_·l and w̄_·l = Σ_k w_kl p_k·. Reproduces Gwet's worked examples
    (the 223-patient diagnosis table: κ 0.432, SE 0.046).
    """
    t = as_float_array(table, "table", ndim=2)
    if t.shape[0] != t.shape[1]:
        raise StatsInputError(f"table: must be square, got {t.shape}")
    n = float(t.sum())
    require_min_size(int(n), 2, "table (items)")
    w = _agreement_weights(t.shape[0], weights)
    p = t / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    pa = float((w * p).sum())
    pe = float(rows @ w @ cols)
    kappa = (pa - pe) / (1 - pe)
    w_row = w @ cols  # w̄_k·
    w_col = rows @ w  # w̄_·l
    inner = w - (1 - kappa) * (w_row[:, None] + w_col[None, :])
    var = (float((p * inner**2).sum()) - (pa - 2 * (1 - kappa) * pe) ** 2) / (n * (1 - pe) ** 2)
    name = "cohen" if weights is None else f"cohen-{weights}"
    return _with_t_interval(name, kappa, math.sqrt(max(var, 0.0)), pa, pe, int(n), level)


def gwet_ac1_table_se(table: npt.ArrayLike, *, level: float = 0.95) -> CoefficientSE:
    """Gwet's AC1 from a two-rater q × q table with its analytic SE (Gwet 2008, 2014):

    var = [Σ p_kl (δ_kl − 2(1 − AC1)(1 − (π_k + π_l)/2)/(q − 1))² − (p_a − 2(1 − AC1)p_e)²]
    / (n(1 − p_e)²), π_k = (p_k· + p_·k)/2. Worked example: the 100-women abstractor table
    gives AC1 0.84933 with SE 0.04322.
    """
    t = as_float_array(table, "table", ndim=2)
    n, q = float(t.sum()), int(t.shape[0])
    if q < 2 or t.shape[0] != t.shape[1]:
        raise StatsInputError(f"table: need a square table with ≥ 2 categories, got {t.shape}")
    p = t / n
    pi = (p.sum(axis=0) + p.sum(axis=1)) / 2
    pa = float(np.trace(p))
    pe = float((pi * (1 - pi)).sum()) / (q - 1)
    ac1 = (pa - pe) / (1 - pe)
    inner = np.eye(q) - 2 * (1 - ac1) * (1 - (pi[:, None] + pi[None, :]) / 2) / (q - 1)
    var = (float((p * inner**2).sum()) - (pa - 2 * (1 - ac1) * pe) ** 2) / (n * (1 - pe) ** 2)
    return _with_t_interval("ac1", ac1, math.sqrt(max(var, 0.0)), pa, pe, int(n), level)


def _raw_agreement(
    ratings: npt.ArrayLike, n_categories: int | None
) -> tuple[FloatArray, FloatArray, FloatArray, int, int]:
    """Per rated item: counts per category, ratings, per-item agreement; items, q."""
    _, counts = value_counts(ratings)
    r = counts.sum(axis=1)
    counts, r = counts[r >= 1], r[r >= 1]
    q = counts.shape[1] if n_categories is None else int(n_categories)
    if q < 2:
        raise StatsInputError(
            "ratings: need at least 2 categories for a chance-corrected coefficient"
        )
    pairable = r >= 2
    require_min_size(int(pairable.sum()), 1, "items with ≥ 2 ratings")
    den = np.where(pairable, r * (r - 1), 1.0)
    pa_i = np.where(pairable, (counts * (counts - 1)).sum(axis=1) / den, 0.0)
    return counts, r, pa_i, int(pairable.sum()), q


def gwet_ac1_se(
    ratings: npt.ArrayLike, *, n_categories: int | None = None, level: float = 0.95
) -> CoefficientSE:
    """Gwet's AC1 for any number of raters with missing ratings, with the linearisation SE
    of Gwet (2014, ch. 5), as irrCAC's ``raw.gwet``. Worked example: Gwet's 4 raters × 12
    units (Handbook p. 120): AC1 0.77544, SE 0.14295, p_a 0.81818, p_e 0.19032.
    """
    counts, r, pa_i, n2, q = _raw_agreement(ratings, n_categories)
    n = counts.shape[0]
    pa = float(pa_i[r >= 2].mean())
    pi = (counts / r[:, None]).mean(axis=0)
    if pi.size < q:
        pi = np.concatenate([pi, np.zeros(q - pi.size)])
    pe = float((pi * (1 - pi)).sum()) / (q - 1)
    ac1 = (pa - pe) / (1 - pe)
    ac1_i = (n / n2) * (pa_i - pe * (r >= 2)) / (1 - pe)
    pe_i = (counts @ (1 - pi[: counts.shape[1]])) / r / (q - 1)
    lin = ac1_i - 2 * (1 - ac1) * (pe_i - pe) / (1 - pe)
    var = float(((lin - ac1) ** 2).sum()) / (n * (n - 1)) if n > 1 else float("nan")
    return _with_t_interval("ac1", ac1, math.sqrt(max(var, 0.0)), pa, pe, n, level)


def brennan_prediger(
    ratings: npt.ArrayLike, *, n_categories: int | None = None, level: float = 0.95
) -> CoefficientSE:
    """Brennan–Prediger coefficient (chance agreement 1/q) for any number of raters with
    missing ratings, with its linearisation SE (Gwet 2014). Items rated once count in the
    SE's n but carry no agreement, as in Gwet's formulas. Worked example: Gwet's 4 raters ×
    12 units: 0.773, SE 0.145 (p_a 0.818, p_e 0.2). ``n_categories`` defaults to the number
    of distinct observed values; pass the scale's size when some category was never used.
    """
    counts, r, pa_i, n2, q = _raw_agreement(ratings, n_categories)
    n = counts.shape[0]
    pa = float(pa_i[r >= 2].mean())
    pe = 1.0 / q
    bp = (pa - pe) / (1 - pe)
    bp_i = (n / n2) * (pa_i - pe * (r >= 2)) / (1 - pe)
    var = float(((bp_i - bp) ** 2).sum()) / (n * (n - 1)) if n > 1 else float("nan")
    return _with_t_interval("brennan-prediger", bp, math.sqrt(max(var, 0.0)), pa, pe, n, level)


# ---------------------------------------------------------------- Krippendorff's alpha


def _delta(values: FloatArray, margins: FloatArray, metric: Metric) -> FloatArray:
    """Squared difference δ²_ck between every pair of distinct values."""
    c, k = values[:, None], values[None, :]
    if metric == "nominal":
        unequal: FloatArray = (c != k).astype(np.float64)
        return unequal
    if metric == "interval":
        return (c - k) ** 2
    if metric == "ratio":
        with np.errstate(invalid="ignore", divide="ignore"):
            d: FloatArray = ((c - k) / (c + k)) ** 2
        d[~np.isfinite(d)] = 0.0  # 0/0 only when both values are 0, i.e. no difference
        return d
    if metric == "ordinal":
        cum = np.cumsum(margins)
        lo = np.minimum(np.arange(values.size)[:, None], np.arange(values.size)[None, :])
        hi = np.maximum(np.arange(values.size)[:, None], np.arange(values.size)[None, :])
        between = cum[hi] - np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
        return (between - (margins[:, None] + margins[None, :]) / 2.0) ** 2
    raise StatsInputError(f"metric: expected nominal/ordinal/interval/ratio, got {metric!r}")


# A values × values matrix beyond this many distinct values costs > 100 MB; such data is
# continuous and belongs to the closed-form interval path.
MAX_DISTINCT_VALUES = 3000


def _matrix_counts(ratings: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    values, counts = value_counts(ratings)
    if values.size > MAX_DISTINCT_VALUES:
        raise StatsInputError(
            f"ratings: {values.size} distinct values; nominal/ordinal/ratio α needs a value × "
            f"value table. Round or bin the ratings, or use metric='interval'"
        )
    return values, counts


def coincidence_matrix(ratings: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Krippendorff's coincidence matrix o_ck over pairable units, and the values."""
    values, counts = _matrix_counts(ratings)
    m = counts.sum(axis=1)
    keep = m >= 2
    return values, _coincidences(counts[keep], m[keep], np.ones(int(keep.sum())))


def _coincidences(counts: FloatArray, m: FloatArray, w: FloatArray) -> FloatArray:
    scaled = counts * (w / (m - 1))[:, None]
    return scaled.T @ counts - np.diag(scaled.sum(axis=0))


def _alpha_from_coincidences(o: FloatArray, values: FloatArray, metric: Metric) -> float:
    margins = o.sum(axis=1)
    n = margins.sum()
    delta = _delta(values, margins, metric)
    d_o = float((o * delta).sum()) / n
    d_e = float(margins @ delta @ margins) / (n * (n - 1))
    return 1.0 - d_o / d_e if d_e > 0 else float("nan")


def _interval_unit_stats(r: FloatArray) -> FloatArray:
    """Per pairable unit: (m, Σx, Σx², within-unit disagreement numerator)."""
    mask = ~np.isnan(r)
    m = mask.sum(axis=1).astype(np.float64)
    x = np.where(mask, r, 0.0)
    s1, s2 = x.sum(axis=1), (x * x).sum(axis=1)
    keep = m >= 2
    m, s1, s2 = m[keep], s1[keep], s2[keep]
    # Σ over ordered pairs i≠j of (x_i − x_j)² = 2mΣx² − 2(Σx)², divided by m − 1.
    within = (2 * m * s2 - 2 * s1 * s1) / (m - 1)
    return np.column_stack([m, s1, s2, within])


def _alpha_interval_from_stats(stats: FloatArray) -> float:
    """Interval α in closed form; O(items), no value × value matrix (fast for 10⁵ items)."""
    n, s1, s2, within = stats.sum(axis=0)
    d_o = within / n
    d_e = (2 * n * s2 - 2 * s1 * s1) / (n * (n - 1))
    return 1.0 - d_o / d_e if d_e > 0 else float("nan")


def krippendorff_alpha(ratings: npt.ArrayLike, *, metric: Metric = "nominal") -> float:
    """Krippendorff's α for an items × raters matrix (NaN = missing; any number of raters).

    Units with fewer than two ratings carry no pairable information and are ignored.
    """
    r = _ratings(ratings)
    if metric == "interval":
        stats = _interval_unit_stats(r)
        require_min_size(stats.shape[0], 1, "items with ≥ 2 ratings")
        return _alpha_interval_from_stats(stats)
    values, o = coincidence_matrix(r)
    require_min_size(int(o.sum() > 0), 1, "items with ≥ 2 ratings")
    return _alpha_from_coincidences(o, values, metric)


# ---------------------------------------------------------------- bootstrap over items


def _bootstrap(
    n_items: int, stat: Callable[[IntArray], float], n_boot: int, seed: int
) -> FloatArray:
    """Recompute ``stat`` on ``n_boot`` resamples; stat receives per-item draw counts."""
    rng = np.random.default_rng(seed)
    out = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, n_items, size=n_items)
        out[b] = stat(np.bincount(idx, minlength=n_items).astype(np.int64))
    return out


def _alpha_stat(r: FloatArray, metric: Metric) -> tuple[int, Callable[[IntArray], float]]:
    if metric == "interval":
        stats = _interval_unit_stats(r)
        return stats.shape[0], lambda w: _alpha_interval_from_stats(stats * w[:, None])
    values, counts = _matrix_counts(r)
    m = counts.sum(axis=1)
    keep = m >= 2
    counts, m = counts[keep], m[keep]

    def stat(w: IntArray) -> float:
        return _alpha_from_coincidences(
            _coincidences(counts, m, w.astype(np.float64)), values, metric
        )

    return counts.shape[0], stat


def _row_stat(r: FloatArray, fn: Callable[[FloatArray], float]) -> Callable[[IntArray], float]:
    return lambda w: fn(np.repeat(r, w, axis=0))


def agreement_ci(
    ratings: npt.ArrayLike,
    *,
    coefficient: Coefficient = "alpha",
    metric: Metric = "nominal",
    weights: KappaWeights = None,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> AgreementEstimate:
    """An agreement coefficient with a percentile bootstrap interval resampling items.

    ``coefficient``: "alpha" (Krippendorff, using ``metric``), "cohen" (exactly 2 rater
    columns, using ``weights``), "fleiss" (complete data), "ac1" (Gwet).
    """
    check_level(level)
    r = _ratings(ratings)
    n_items, stat, point = _coefficient(r, coefficient, metric, weights)
    draws = _bootstrap(n_items, stat, n_boot, seed)
    low, high = percentile_interval(draws, level)
    name = f"alpha-{metric}" if coefficient == "alpha" else coefficient
    return AgreementEstimate(
        name, float(point), low, high, n_items, level, n_boot, seed, failed_draws(draws)
    )


def _coefficient(
    r: FloatArray, coefficient: Coefficient, metric: Metric, weights: KappaWeights
) -> tuple[int, Callable[[IntArray], float], float]:
    if coefficient == "alpha":
        n_items, stat = _alpha_stat(r, metric)
        return n_items, stat, krippendorff_alpha(r, metric=metric)
    fn: Callable[[FloatArray], float]
    if coefficient == "cohen":
        if r.shape[1] != 2:
            raise StatsInputError(
                f"ratings: Cohen's κ needs exactly 2 rater columns, got {r.shape[1]}"
            )
        r = r[~np.isnan(r).any(axis=1)]
        cats = np.unique(r)

        def fn(x: FloatArray) -> float:
            return cohen_kappa(x[:, 0], x[:, 1], weights=weights, categories=cats)

    elif coefficient == "fleiss":

        def fn(x: FloatArray) -> float:
            return fleiss_kappa(value_counts(x)[1])

    elif coefficient == "ac1":
        q = np.unique(r[~np.isnan(r)]).size

        def fn(x: FloatArray) -> float:
            return gwet_ac1(x, n_categories=q)

    else:
        raise StatsInputError(f"coefficient: expected alpha/cohen/fleiss/ac1, got {coefficient!r}")
    return r.shape[0], _row_stat(r, fn), fn(r)


# ---------------------------------------------------------------- where raters disagree


def item_disagreement(ratings: npt.ArrayLike, *, metric: Metric = "nominal") -> ItemDisagreement:
    """Per-item disagreement measures (see :class:`ItemDisagreement`)."""
    r = _ratings(ratings)
    values, counts = value_counts(r)
    m = counts.sum(axis=1)
    q = max(values.size, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = counts / m[:, None]
        agreement = np.where(m >= 2, ((counts * (counts - 1)).sum(axis=1)) / (m * (m - 1)), np.nan)
        logs = np.where(share > 0, share * np.log(np.where(share > 0, share, 1.0)), 0.0)
        entropy = np.where(m >= 1, np.maximum(-logs.sum(axis=1), 0.0) / math.log(q), np.nan)
        majority = np.where(m >= 1, counts.max(axis=1) / m, np.nan)
    spread = np.full(r.shape[0], np.nan)
    multi = m >= 2
    spread[multi] = np.nanstd(r[multi], axis=1, ddof=1)
    contribution = _item_contribution(counts, m, values, metric)
    return ItemDisagreement(m.astype(np.int64), majority, agreement, entropy, spread, contribution)


def _item_contribution(
    counts: FloatArray, m: FloatArray, values: FloatArray, metric: Metric
) -> FloatArray:
    """D_o,u / D_e: each pairable unit's share of observed disagreement relative to chance."""
    out = np.full(m.size, np.nan)
    keep = m >= 2
    if not np.any(keep):
        return out
    o = _coincidences(counts[keep], m[keep], np.ones(int(keep.sum())))
    margins = o.sum(axis=1)
    n = margins.sum()
    delta = _delta(values, margins, metric)
    d_e = float(margins @ delta @ margins) / (n * (n - 1))
    ck = counts[keep]
    per_unit = ((ck @ delta) * ck).sum(axis=1) / (m[keep] - 1) / n
    out[keep] = per_unit / d_e if d_e > 0 else np.nan
    return out


def rater_leniency(
    ratings: npt.ArrayLike, *, metric: Metric = "interval", level: float = 0.95
) -> tuple[RaterLeniency, ...]:
    """Each rater's bias against the others and their effect on α (leave-one-rater-out)."""
    r = _ratings(ratings)
    require_min_size(r.shape[1], 3, "raters (leave-one-out needs ≥ 3)")
    alpha_all = krippendorff_alpha(r, metric=metric)
    mask = ~np.isnan(r)
    total = np.where(mask, r, 0.0).sum(axis=1)
    count = mask.sum(axis=1)
    out = []
    for j in range(r.shape[1]):
        shared = mask[:, j] & (count >= 2)
        x = r[shared, j]
        others_mean = (total[shared] - x) / (count[shared] - 1)
        others = np.delete(r[shared], j, axis=1)
        agree = (
            float(np.nanmean((others == x[:, None])[~np.isnan(others)])) if x.size else float("nan")
        )
        bias, low, high = (
            _mean_t_interval(x - others_mean, level)
            if metric != "nominal"
            else (float("nan"), float("nan"), float("nan"))
        )
        without = krippendorff_alpha(np.delete(r, j, axis=1), metric=metric)
        out.append(RaterLeniency(j, int(x.size), bias, low, high, agree, alpha_all - without))
    return tuple(out)


def _mean_t_interval(d: FloatArray, level: float) -> tuple[float, float, float]:
    if d.size < 2:
        return (float(d.mean()) if d.size else float("nan"), float("nan"), float("nan"))
    mean = float(d.mean())
    half = float(sps.t.ppf(0.5 + level / 2, d.size - 1)) * float(d.std(ddof=1)) / math.sqrt(d.size)
    return (mean, mean - half, mean + half)


def preference_by_group(
    outcomes: npt.ArrayLike, groups: npt.ArrayLike, *, level: float = 0.95
) -> PreferenceSplit:
    """Pairwise preference per annotator group ("operators prefer B, researchers prefer A").

    ``outcomes`` is B's score per vote (1 B wins, 0.5 tie, 0 A wins); ``groups`` the voter's
    group. The χ² test asks whether the groups' A/tie/B splits differ more than chance.
    """
    y = as_float_array(outcomes, "outcomes")
    g = np.asarray(groups)
    if g.shape != y.shape:
        raise StatsInputError("groups: need one group label per vote")
    labels, inv = np.unique(g, return_inverse=True)
    table = np.zeros((labels.size, 3))
    code = np.rint(y * 2).astype(np.int64)
    if np.any((code < 0) | (code > 2)) or np.any(np.abs(y * 2 - code) > 1e-9):
        raise StatsInputError("outcomes: each vote must be 1 (B wins), 0.5 (tie) or 0 (A wins)")
    np.add.at(table, (inv.ravel(), code), 1.0)
    prefs = []
    for k, label in enumerate(labels.tolist()):
        a, t, b = (int(v) for v in table[k])
        n = a + t + b
        prefs.append(GroupPreference(label, n, b, t, a, wilson_interval(b + t / 2, n, level=level)))
    used = table[:, table.sum(axis=0) > 0]
    if labels.size < 2 or used.shape[1] < 2:
        return PreferenceSplit(tuple(prefs), 0.0, 1.0)
    chi2, p, _, _ = sps.chi2_contingency(used, correction=False)
    return PreferenceSplit(tuple(prefs), float(chi2), float(p))
