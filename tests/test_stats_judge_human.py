"""Judge vs humans and PPI++ against statistics.md §8 (P1, P2, P4) and properties."""

from __future__ import annotations

import numpy as np
import pytest

from hyouka.stats import (
    effective_n,
    human_majority,
    judge_vs_humans,
    ppi_correlation,
    ppi_mean,
    ppi_paired_difference,
)

Y = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 1], dtype=float)
YHAT = np.array([1, 0, 1, 0, 0, 1, 1, 1, 1, 1], dtype=float)
YHAT_U = np.array(
    [1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1],
    dtype=float,
)


def printed(value: float, text: str) -> bool:
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(value - float(text)) <= 0.5 * 10**-decimals + 1e-12


def test_ppi_plus_plus_matches_ppi_python_p1() -> None:
    res = ppi_mean(Y, YHAT, YHAT_U, level=0.90, reference=True)
    assert printed(res.lam, "0.429")
    assert printed(res.estimate, "0.7286")
    assert printed(res.low, "0.517159") and printed(res.high, "0.940041")


def test_classical_and_plain_ppi_match_p1() -> None:
    classical = ppi_mean(Y, YHAT, YHAT_U, level=0.90, lam=0.0, reference=True)
    assert classical.estimate == pytest.approx(0.7)
    assert printed(classical.low, "0.461638") and printed(classical.high, "0.938362")
    plain = ppi_mean(Y, YHAT, YHAT_U, level=0.90, lam=1.0, reference=True)
    assert printed(plain.estimate, "0.766667")
    assert printed(plain.low, "0.501631") and printed(plain.high, "1.031702")


def test_lambda_zero_equals_classical_estimate() -> None:
    res = ppi_mean(Y, YHAT, YHAT_U, lam=0.0, min_labels=10)
    assert res.estimate == res.classical_estimate
    assert res.se == pytest.approx(res.classical_se)


def test_ppi_corrects_a_biased_judge_p2() -> None:
    # Judge = truth + 2 on labelled items and a constant 2 elsewhere → estimate 0.
    res = ppi_mean(Y, Y + 2, np.full(30, 2.0), min_labels=10)
    assert res.estimate == pytest.approx(0.0, abs=1e-12)


def test_effective_n_p4() -> None:
    assert printed(effective_n(100, 1000, 0.8), "239.1304")


def test_good_judge_shrinks_the_interval() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(0, 1, 2100)
    judge = truth + rng.normal(0, 0.3, 2100) + 0.5  # biased but well correlated
    res = ppi_mean(truth[:100], judge[:100], judge[100:])
    assert res.se < 0.6 * res.classical_se
    assert res.effective_n > 250
    assert ppi_correlation(truth[:100], judge[:100]) == pytest.approx(res.rho)
    assert res.low < 0 < res.high


def test_ppi_paired_difference_uses_per_item_differences() -> None:
    rng = np.random.default_rng(1)
    ya, yb = rng.normal(0, 1, 50), rng.normal(0.3, 1, 50)
    ha, hb = ya + rng.normal(0, 0.2, 50), yb + rng.normal(0, 0.2, 50)
    ua, ub = rng.normal(0, 1, 500), rng.normal(0.3, 1, 500)
    res = ppi_paired_difference(ya, yb, ha, hb, ua, ub)
    direct = ppi_mean(yb - ya, hb - ha, ub - ua)
    assert res.estimate == direct.estimate and res.se == direct.se


def test_human_majority_leaves_ties_undecided() -> None:
    ratings = [[1, 1, 0], [0, 1, np.nan], [0, 0, 0], [np.nan, np.nan, np.nan]]
    out = human_majority(ratings)
    assert out[0] == 1 and np.isnan(out[1]) and out[2] == 0 and np.isnan(out[3])


def test_judge_vs_humans_confusion_kappa_and_recall() -> None:
    # 50 items: humans (majority of 3) vs judge, table [[20, 5], [10, 15]] → κ = 0.4 (C1).
    human = np.array([0] * 25 + [1] * 25, dtype=float)
    judge = np.array([0] * 20 + [1] * 5 + [0] * 10 + [1] * 15, dtype=float)
    ratings = np.column_stack([human, human, 1 - human])
    res = judge_vs_humans(judge, ratings, n_boot=500, seed=2)
    assert np.array_equal(res.table, [[20, 5], [10, 15]])
    assert res.kappa == pytest.approx(0.4)
    assert res.accuracy.estimate == pytest.approx(0.7)
    assert res.kappa_low < 0.4 < res.kappa_high and res.seed == 2
    assert res.recall[0].estimate == pytest.approx(0.8)  # TNR on "fail"
    assert res.recall[1].estimate == pytest.approx(0.6)  # TPR on "pass"
    assert res.n_items == 50 and res.n_no_majority == 0
