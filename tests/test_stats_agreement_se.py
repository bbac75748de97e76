"""Issue 17: analytic standard errors for Cohen's κ (weighted too), Gwet's AC1 and
Brennan–Prediger (missing data), against the worked examples of Gwet (2014), Handbook of
Inter-Rater Reliability, 4th ed., as reproduced by irrCAC's tests and doctests."""

from __future__ import annotations

import numpy as np
import pytest

from hyouka.stats import (
    brennan_prediger,
    cohen_kappa_se,
    cohen_kappa_table,
    gwet_ac1,
    gwet_ac1_se,
    gwet_ac1_table,
    gwet_ac1_table_se,
)

NAN = np.nan
# 223 psychiatric patients, research × clinical diagnosis (irrCAC table_cont4x4diagnosis).
DIAGNOSIS = np.array([[40, 4, 4, 17], [6, 25, 2, 13], [4, 1, 21, 12], [15, 5, 9, 45]])
# 100 pregnant women, two abstractors (irrCAC table_cont3x3abstractors; statistics.md G3).
ABSTRACTORS = np.array([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
# 4 raters × 12 units with missing ratings (Gwet 2014 p. 120; the Krippendorff K1 data).
RAW4 = np.array([
    [1, 1, NAN, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
    [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [NAN, 5, 5, 5], [NAN, NAN, 1, 1],
    [NAN, NAN, 3, NAN],
])  # fmt: skip
# 5 observers × 15 units on 0–3 with missing ratings (irrCAC raw_5observers).
OBS5 = np.array([
    [1, 1, 2, NAN, 2], [1, 1, 0, 1, NAN], [2, 3, 3, 3, NAN], [NAN, 0, 0, NAN, 0],
    [0, 0, 0, NAN, 0], [0, 0, 0, NAN, 0], [1, 0, 2, NAN, 1], [1, NAN, 2, 0, NAN],
    [2, 2, 2, NAN, 2], [2, 1, 1, 1, NAN], [NAN, 1, 0, 0, NAN], [0, 0, 0, 0, NAN],
    [1, 2, 2, 2, NAN], [3, 3, 2, 2, 3], [1, 1, 1, NAN, 1],
])  # fmt: skip


def r3(x: float) -> float:
    return round(x, 3)


@pytest.mark.parametrize(
    ("weights", "kappa", "se", "low", "high"),
    [
        (None, 0.432, 0.046, 0.341, 0.522),
        ("linear", 0.407, 0.053, 0.302, 0.512),
        ("quadratic", 0.383, 0.066, 0.254, 0.513),
    ],
)
def test_cohen_kappa_se_matches_gwet_diagnosis_table(
    weights: str | None, kappa: float, se: float, low: float, high: float
) -> None:
    res = cohen_kappa_se(DIAGNOSIS, weights=weights)  # type: ignore[arg-type]
    assert (r3(res.estimate), r3(res.se), r3(res.low), r3(res.high)) == (kappa, se, low, high)
    assert res.estimate == pytest.approx(cohen_kappa_table(DIAGNOSIS, weights=weights))  # type: ignore[arg-type]


def test_cohen_kappa_interval_matches_gwet_abstractors_table() -> None:
    res = cohen_kappa_se(ABSTRACTORS)
    assert (r3(res.estimate), round(res.low, 2), r3(res.high)) == (0.796, 0.68, 0.913)


def test_gwet_ac1_table_se_matches_the_worked_examples() -> None:
    res = gwet_ac1_table_se(ABSTRACTORS)
    assert (round(res.estimate, 5), round(res.se, 5)) == (0.84933, 0.04322)
    assert (round(res.low, 5), round(res.high, 5)) == (0.76358, 0.93508)
    assert (round(res.pa, 5), round(res.pe, 5)) == (0.89, 0.26992)
    assert res.estimate == pytest.approx(gwet_ac1_table(ABSTRACTORS))
    diag = gwet_ac1_table_se(DIAGNOSIS)
    assert (r3(diag.estimate), r3(diag.se), r3(diag.low), r3(diag.high)) == (
        0.456, 0.043, 0.371, 0.542,
    )  # fmt: skip


def test_gwet_ac1_with_missing_ratings_matches_gwet_p120() -> None:
    res = gwet_ac1_se(RAW4)
    assert (round(res.estimate, 5), round(res.se, 5)) == (0.77544, 0.14295)
    assert (round(res.pa, 5), round(res.pe, 5)) == (0.81818, 0.19032)
    assert (round(res.low, 5), res.high) == (0.46081, 1.0)
    assert res.estimate == pytest.approx(gwet_ac1(RAW4))


def test_brennan_prediger_with_missing_ratings_matches_gwet() -> None:
    res = brennan_prediger(RAW4)
    assert (r3(res.pa), r3(res.pe), r3(res.estimate), r3(res.se)) == (0.818, 0.2, 0.773, 0.145)
    assert (r3(res.low), res.high) == (0.454, 1.0)
    five = brennan_prediger(OBS5)
    assert (r3(five.pa), r3(five.pe), r3(five.estimate), r3(five.se)) == (
        0.616, 0.25, 0.487, 0.121,
    )  # fmt: skip
    assert (r3(five.low), r3(five.high)) == (0.228, 0.747)


def test_failed_resamples_are_counted_and_too_many_give_no_interval() -> None:
    """Defect 11: κ resamples with one category only used to be dropped silently, turning
    the interval into (1, 1)."""
    from hyouka.stats import agreement_ci

    # 11 items both raters call 1, one they call 2: most resamples miss the single 2.
    r = np.array([[1.0, 1.0]] * 11 + [[2.0, 2.0]])
    est = agreement_ci(r, coefficient="cohen", n_boot=2000, seed=0)
    assert est.estimate == 1.0 and est.n_failed > 100
    assert np.isnan(est.low) and np.isnan(est.high)
    fine = agreement_ci(np.array([[1.0, 1.0], [2.0, 2.0], [1.0, 2.0]] * 20), coefficient="cohen",
                        n_boot=500, seed=0)  # fmt: skip
    assert fine.n_failed == 0 and fine.low < fine.estimate < fine.high


def test_msprt_flags_an_empty_running_intersection() -> None:
    from hyouka.stats import msprt_sequence

    # A mean that jumps from −5 to +5 with σ² = 0.01: the intervals stop overlapping.
    res = msprt_sequence([-5.0] * 50 + [5.0] * 200, sigma2=0.01, tau2=1.0)
    assert res.empty and np.isnan(res.low) and np.isnan(res.high)
    ok = msprt_sequence(np.random.default_rng(0).normal(0.1, 1, 400), sigma2=1.0, tau2=1.0)
    assert not ok.empty and ok.low < ok.high
