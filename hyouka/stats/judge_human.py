"""Can an LLM judge stand in for people? Agreement with the human majority, and PPI++.

PPI++ (Angelopoulos, Duchi & Zrnic 2023, arXiv 2311.01453) combines n human labels Y with
the judge's scores Ŷ on the same items and the judge's scores Ŷ′ on N more items into an
unbiased estimate of the human mean. The tuned λ makes it never (asymptotically) worse than
using the n human labels alone, even for a poor judge. Formulas follow ``ppi_py/ppi.py``
(``ppi_mean_ci`` with ``_calc_lam_glm``); the P1 vector in statistics.md §8 is reproduced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from hyouka.stats._common import (
    FloatArray,
    StatsInputError,
    as_float_array,
    bootstrap_counts,
    check_level,
    failed_draws,
    percentile_interval,
    require_finite,
    require_min_size,
    z_value,
)
from hyouka.stats.agreement import (
    cohen_kappa_table,
    contingency_table,
    gwet_ac1_table,
    value_counts,
)
from hyouka.stats.intervals import ProportionInterval, wilson_interval

# Fewer human labels than this and ppi_mean refuses: with a lenient judge its 95% interval
# covered 87% at 10 labels and 92% at 20, 94% at 30 (t quantile, ddof-1 variances;
# benchmarks/calibration.py). ppi_py's own z interval covered 84% at 10.
MIN_LABELS = 30


@dataclass(frozen=True)
class PPIEstimate:
    """A prediction-powered mean (or paired difference) with a t (or, as ppi_py, z) interval.

    ``lam`` is the power-tuning weight (0 = humans only, 1 = plain PPI). ``classical_*`` is
    the humans-only estimate for comparison; ``effective_n`` is how many human labels alone
    would give the same SE; ``rho`` = corr(Y, Ŷ) on the labelled items, for planning with
    :func:`hyouka.stats.ppi_power`.
    """

    estimate: float
    se: float
    low: float
    high: float
    lam: float
    n_labeled: int
    n_unlabeled: int
    classical_estimate: float
    classical_se: float
    effective_n: float
    rho: float
    level: float
    method: str = "t"  # t: t_{n−1} with ddof-1 variances; ppi_py: its z interval, ddof 0


@dataclass(frozen=True)
class JudgeAgreement:
    """Judge vs human majority on items that have a human majority.

    ``table[i, j]``: items where the humans said ``categories[i]`` and the judge said
    ``categories[j]``. ``recall[i]`` is the Wilson interval for the judge matching the humans
    on items the humans labelled ``categories[i]`` (TPR/TNR for pass/fail).
    """

    categories: FloatArray
    table: FloatArray
    n_items: int
    n_no_majority: int
    accuracy: ProportionInterval
    kappa: float
    kappa_low: float
    kappa_high: float
    ac1: float
    recall: tuple[ProportionInterval, ...]
    level: float
    n_boot: int
    seed: int
    kappa_failed: int = 0  # resamples with no κ; above 5% of n_boot the κ interval is NaN


def human_majority(ratings: npt.ArrayLike) -> FloatArray:
    """Per item the strict majority label of an items × raters matrix (NaN if none/tied)."""
    values, counts = value_counts(ratings)
    out = np.full(counts.shape[0], np.nan)
    if values.size == 0:
        return out
    top = counts.max(axis=1)
    unique_top = (counts == top[:, None]).sum(axis=1) == 1
    ok = unique_top & (top > 0)
    out[ok] = values[counts[ok].argmax(axis=1)]
    return out


def judge_vs_humans(
    judge: npt.ArrayLike,
    human_ratings: npt.ArrayLike,
    *,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> JudgeAgreement:
    """Agreement of judge labels with the human majority label, per item.

    ``human_ratings`` is an items × raters matrix (NaN = missing) or a 1-D vector of already
    aggregated human labels; ``judge`` is one label per item (NaN = judge gave none).
    """
    j = as_float_array(judge, "judge")
    h_in = np.asarray(human_ratings, dtype=np.float64)
    human = human_majority(h_in) if h_in.ndim == 2 else as_float_array(h_in, "human_ratings")
    if human.shape != j.shape:
        raise StatsInputError(f"judge: {j.size} labels but {human.size} items of human ratings")
    no_majority = int(np.sum(np.isnan(human)))
    keep = ~np.isnan(human) & ~np.isnan(j)
    require_min_size(int(keep.sum()), 2, "items with both a human majority and a judge label")
    hk, jk = human[keep], j[keep]
    table, cats = contingency_table(hk, jk)
    n = int(keep.sum())
    agree = int(np.trace(table))
    low, high, failed = _kappa_bootstrap(hk, jk, cats, level, n_boot, seed)
    recall = tuple(
        wilson_interval(float(table[i, i]), int(table[i].sum()), level=level)
        for i in range(cats.size)
        if table[i].sum() > 0
    )
    return JudgeAgreement(
        categories=cats,
        table=table,
        n_items=n,
        n_no_majority=no_majority,
        accuracy=wilson_interval(agree, n, level=level),
        kappa=cohen_kappa_table(table),
        kappa_low=low,
        kappa_high=high,
        ac1=gwet_ac1_table(table) if cats.size > 1 else float("nan"),
        recall=recall,
        level=level,
        n_boot=n_boot,
        seed=seed,
        kappa_failed=failed,
    )


def _kappa_bootstrap(
    human: FloatArray, judge: FloatArray, cats: FloatArray, level: float, n_boot: int, seed: int
) -> tuple[float, float, int]:
    """Percentile interval for κ resampling items (each replicate is a reweighted table), and
    how many replicates had no κ."""
    if n_boot <= 0:
        return (float("nan"), float("nan"), 0)
    q = cats.size
    cell = np.searchsorted(cats, human) * q + np.searchsorted(cats, judge)
    one_hot = np.zeros((human.size, q * q))
    one_hot[np.arange(human.size), cell] = 1.0
    tables = (bootstrap_counts(human.size, n_boot, np.random.default_rng(seed)) @ one_hot).reshape(
        -1, q, q
    )
    draws = np.array([cohen_kappa_table(t) for t in tables])
    low, high = percentile_interval(draws, level)
    return low, high, failed_draws(draws)


def effective_n(n: float, n_unlabeled: float, rho: float) -> float:
    """Human labels alone that match PPI with correlation ρ: n(n+N)/(n+(1−ρ²)N)."""
    return n * (n + n_unlabeled) / (n + (1 - rho**2) * n_unlabeled)


def ppi_lambda(y: FloatArray, yhat: FloatArray, yhat_unlabeled: FloatArray) -> float:
    """Power-tuning λ̂ = Cov(Y,Ŷ) / ((1 + n/N)·Var(Ŷ pooled)), clipped to [0, 1] (ppi_py)."""
    n, big_n = y.size, yhat_unlabeled.size
    cov = float((y - y.mean()) @ (yhat - yhat.mean())) / n
    var = float(np.var(np.concatenate([yhat, yhat_unlabeled]), ddof=1))
    if var == 0:
        return 0.0
    return float(np.clip(cov / ((1 + n / big_n) * var), 0.0, 1.0))


def ppi_mean(
    y: npt.ArrayLike,
    yhat: npt.ArrayLike,
    yhat_unlabeled: npt.ArrayLike,
    *,
    level: float = 0.95,
    lam: float | None = None,
    min_labels: int = MIN_LABELS,
    reference: bool = False,
) -> PPIEstimate:
    """PPI++ estimate of the mean human label, with an interval.

    ``y``/``yhat``: human label and judge score on the n labelled items; ``yhat_unlabeled``:
    judge scores on N items without human labels. ``lam=None`` tunes λ; 0 gives the classical
    mean and 1 plain PPI. Assumes the labelled items are a uniformly random subset and the
    judge was not tuned on them.

    The interval uses t_{n−1} and ddof-1 variances, and fewer than ``min_labels`` human
    labels are refused (StatsInputError): below ~30 the interval under-covers however it is
    built. ``reference=True`` reproduces ppi_py's ``ppi_mean_ci`` exactly (z, ddof 0, no
    floor), for checking against it.
    """
    check_level(level)
    yy, yh, yu = _ppi_inputs(y, yhat, yhat_unlabeled)
    n, big_n = yy.size, yu.size
    if not reference and n < min_labels:
        raise StatsInputError(
            f"y: {n} human labels; PPI++ needs at least {min_labels} for an interval that "
            f"covers (with a lenient judge it covered 87% at 10 labels); label more items"
        )
    weight = ppi_lambda(yy, yh, yu) if lam is None else float(lam)
    estimate = weight * float(yu.mean()) + float((yy - weight * yh).mean())
    ddof = 0 if reference else 1
    resid = yy - weight * yh
    var_u = float(yu.var(ddof=ddof)) if big_n > ddof else 0.0
    se = math.sqrt(weight**2 * var_u / big_n + float(resid.var(ddof=ddof)) / n)
    q = z_value(level) if reference else float(special.stdtrit(n - 1, 0.5 + level / 2))
    classical_se = float(yy.std(ddof=ddof)) / math.sqrt(n)
    rho = _ppi_corr(yy, yh)
    return PPIEstimate(
        estimate=estimate,
        se=se,
        low=estimate - q * se,
        high=estimate + q * se,
        lam=weight,
        n_labeled=n,
        n_unlabeled=big_n,
        classical_estimate=float(yy.mean()),
        classical_se=classical_se,
        effective_n=(classical_se / se) ** 2 * n if se > 0 else float("inf"),
        rho=rho,
        level=level,
        method="ppi_py" if reference else "t",
    )


def _ppi_corr(y: FloatArray, yhat: FloatArray) -> float:
    """corr(Y, Ŷ) capped at 1 − 1/n, as in ppi_py's power analysis."""
    if y.std() == 0 or yhat.std() == 0:
        return 0.0
    rho = float(np.corrcoef(y, yhat)[0, 1])
    cap = 1 - 1 / y.size
    return float(np.clip(rho, -cap, cap))


def ppi_correlation(y: npt.ArrayLike, yhat: npt.ArrayLike) -> float:
    """The PPI correlation ρ = corr(Y, Ŷ) on labelled items (capped at 1 − 1/n)."""
    yy = as_float_array(y, "y")
    yh = as_float_array(yhat, "yhat")
    if yy.shape != yh.shape:
        raise StatsInputError("y/yhat: need one judge score per human label")
    return _ppi_corr(yy, yh)


def _ppi_inputs(
    y: npt.ArrayLike, yhat: npt.ArrayLike, yhat_unlabeled: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    yy = as_float_array(y, "y")
    yh = as_float_array(yhat, "yhat")
    yu = as_float_array(yhat_unlabeled, "yhat_unlabeled")
    for arr, name in ((yy, "y"), (yh, "yhat"), (yu, "yhat_unlabeled")):
        require_finite(arr, name)
    if yy.shape != yh.shape:
        raise StatsInputError(
            f"yhat: {yh.size} judge scores for {yy.size} human labels; need one each"
        )
    require_min_size(yy.size, 2, "y (human-labelled items)")
    require_min_size(yu.size, 1, "yhat_unlabeled")
    return yy, yh, yu


def ppi_paired_difference(
    y_a: npt.ArrayLike,
    y_b: npt.ArrayLike,
    yhat_a: npt.ArrayLike,
    yhat_b: npt.ArrayLike,
    yhat_a_unlabeled: npt.ArrayLike,
    yhat_b_unlabeled: npt.ArrayLike,
    *,
    level: float = 0.95,
    lam: float | None = None,
    min_labels: int = MIN_LABELS,
    reference: bool = False,
) -> PPIEstimate:
    """PPI++ estimate of the human-judged difference B − A on the same items.

    Pairing and PPI combine: the per-item human difference is the label and the per-item
    judge difference the prediction (statistics.md §3.3). Same floor as :func:`ppi_mean`.
    """
    ya, yb = as_float_array(y_a, "y_a"), as_float_array(y_b, "y_b")
    ha, hb = as_float_array(yhat_a, "yhat_a"), as_float_array(yhat_b, "yhat_b")
    ua = as_float_array(yhat_a_unlabeled, "yhat_a_unlabeled")
    ub = as_float_array(yhat_b_unlabeled, "yhat_b_unlabeled")
    if ya.shape != yb.shape or ua.shape != ub.shape:
        raise StatsInputError("y_a/y_b and the unlabelled judge scores must be paired item by item")
    return ppi_mean(yb - ya, hb - ha, ub - ua, level=level, lam=lam, min_labels=min_labels,
                    reference=reference)  # fmt: skip
