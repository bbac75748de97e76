"""Paired comparisons, exact tests and the gacha against statistics.md §8 (E3, S1, S2)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from hyouka.stats import (
    adjust_pvalues,
    case_differences,
    expected_best_of_n,
    gacha_summary,
    mcnemar_from_outcomes,
    mcnemar_test,
    paired_difference,
    permutation_test_paired,
    prob_b_beats_a,
    seed_welch_test,
    sign_test,
)

A = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 1], dtype=float)
B = np.array([1, 0, 0, 1, 0, 0, 1, 1, 0, 0], dtype=float)


def printed(value: float, text: str) -> bool:
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(value - float(text)) <= 0.5 * 10**-decimals + 1e-12


def test_paired_se_matches_e3_and_pairing_shrinks_it() -> None:
    # statistics.md defines d = A − B = 0.3; hyouka reports B − A.
    res = paired_difference(A, B)
    assert res.estimate == pytest.approx(-0.3)
    assert printed(res.se, "0.1527525")
    assert printed(res.se_unpaired, "0.2236068")
    assert printed(res.correlation, "0.5345225")
    assert (res.share_b_wins, res.share_a_wins, res.share_ties) == (0.0, 0.3, 0.7)
    # The interval: d = three −1s and seven 0s plus a pseudo-case of weight ½ at ±1, so
    # centre = −3/10.5, var = (3 + 0.5 − 10.5·centre²)/9.5, se = √(var/10.5), and df = 3 − 1.
    centre = -3 / 10.5
    se = ((3.5 - 10.5 * centre**2) / 9.5 / 10.5) ** 0.5
    half = sps.t.ppf(0.975, 2) * se
    assert (res.centre, res.t_se, res.df, res.n_differ) == pytest.approx((centre, se, 2, 3))
    assert (res.low, res.high) == pytest.approx((centre - half, min(centre + half, 1.0)))
    assert res.p_value == pytest.approx(2 * sps.t.sf(abs(centre) / se, 2))
    assert res.method == "t-calibrated" and res.bound == 1.0


def test_mcnemar_matches_e3_exact_and_chi2() -> None:
    exact = mcnemar_test(10, 3)
    assert printed(exact.p_value, "0.0922852")
    assert exact.p_value == pytest.approx(sps.binomtest(10, 13).pvalue)
    chi2 = mcnemar_test(10, 3, exact=False)
    assert printed(chi2.statistic, "2.769231")
    assert printed(chi2.p_value, "0.0960923")


def test_mcnemar_from_outcomes_counts_discordant_pairs() -> None:
    a = np.array([1] * 40 + [1] * 3 + [0] * 10 + [0] * 47)
    b = np.array([1] * 40 + [0] * 3 + [1] * 10 + [0] * 47)
    assert mcnemar_from_outcomes(a, b).p_value == pytest.approx(0.0922852, abs=5e-8)


def test_paired_difference_averages_samples_within_case_first() -> None:
    # Case 0 has 4 samples for A and 1 for B; each case still counts once.
    a_vals = [0, 0, 0, 1, 1, 0.5]
    a_cases = ["c0", "c0", "c0", "c0", "c1", "c2"]
    b_vals = [1, 1, 1]
    b_cases = ["c0", "c1", "c2"]
    d = case_differences(a_vals, b_vals, a_cases=a_cases, b_cases=b_cases)
    assert list(d) == [0.75, 0.0, 0.5]
    res = paired_difference(a_vals, b_vals, a_cases=a_cases, b_cases=b_cases)
    assert res.estimate == pytest.approx(1.25 / 3)
    assert res.share_b_wins == pytest.approx(2 / 3)


def test_paired_difference_ignores_cases_missing_from_one_arm() -> None:
    d = case_differences([1, 2, 3], [2, 4], a_cases=["x", "y", "z"], b_cases=["y", "z"])
    assert list(d) == [0.0, 1.0]


def test_sign_test_is_exact_binomial_on_nonzero_differences() -> None:
    d = np.array([0.2, 0.1, 0.3, -0.1, 0.0, 0.5, 0.4, 0.2, 0.1, 0.3])
    res = sign_test(d)
    assert res.n == 9 and res.statistic == 8
    assert res.p_value == pytest.approx(sps.binomtest(8, 9).pvalue)


def test_exact_permutation_test_hand_computed() -> None:
    # d = (1, 2, 3): of 8 sign patterns only ±(1+2+3) reach |sum| ≥ 6 → p = 2/8.
    res = permutation_test_paired([1.0, 2.0, 3.0])
    assert res.method == "permutation-exact"
    assert res.p_value == pytest.approx(0.25)
    assert permutation_test_paired([1.0, 2.0, 3.0], alternative="greater").p_value == 0.125


def test_monte_carlo_permutation_test_is_seeded_and_close_to_t_test() -> None:
    rng = np.random.default_rng(5)
    d = rng.normal(0.3, 1.0, 60)
    one = permutation_test_paired(d, seed=11)
    two = permutation_test_paired(d, seed=11)
    assert one.method == "permutation-monte-carlo" and one.p_value == two.p_value
    assert one.p_value == pytest.approx(sps.ttest_1samp(d, 0).pvalue, abs=0.02)


def test_prob_b_beats_a_counts_sample_pairs_with_half_ties() -> None:
    a = np.array([[0.0, 1.0], [0.0, 0.0]])
    b = np.array([[1.0, 1.0], [0.0, 1.0]])
    # Case 0: pairs (0,1)(0,1)(1,1)(1,1) → 1,1,½,½ → 0.75; case 1: 0.5·½ + 0.5·1 → 0.75.
    assert prob_b_beats_a(a, b) == pytest.approx(0.75)


def test_gacha_summary_ratio_of_difference_to_within_case_spread() -> None:
    rng = np.random.default_rng(2)
    truth = rng.normal(0, 1, 200)
    a = truth[:, None] + rng.normal(0, 0.5, (200, 8))
    b = truth[:, None] + 0.5 + rng.normal(0, 0.5, (200, 8))
    g = gacha_summary(a, b)
    assert g.difference == pytest.approx(0.5, abs=0.05)
    assert g.pooled_within_sd == pytest.approx(0.5, abs=0.02)
    assert g.ratio == pytest.approx(1.0, abs=0.12)
    # B − A per sample pair ~ N(0.5, 0.5²·2): P(> 0) = Φ(0.5/0.7071) ≈ 0.760.
    assert g.prob_b_beats_a == pytest.approx(0.760, abs=0.02)


def test_seed_welch_matches_s1() -> None:
    res = seed_welch_test([0.70, 0.74, 0.66], [0.78, 0.75, 0.81])
    assert printed(res.t, "2.77128")
    assert printed(res.df, "3.7092")
    assert printed(res.p_value, "0.054700")
    assert res.difference == pytest.approx(0.08)
    assert res.low < 0 < res.high


def test_expected_best_of_n_matches_s2() -> None:
    v = [0.80, 0.82, 0.85, 0.90]
    expected = {1: "0.8425", 2: "0.863125", 3: "0.874844", 4: "0.882227", 10: "0.897155"}
    for n, text in expected.items():
        assert printed(expected_best_of_n(v, n), text)


def test_holm_and_bh_adjustments() -> None:
    p = [0.01, 0.04, 0.03, 0.20]
    assert list(adjust_pvalues(p, method="holm")) == pytest.approx([0.04, 0.09, 0.09, 0.20])
    assert list(adjust_pvalues(p, method="bh")) == pytest.approx(
        [0.04, 0.05333333, 0.05333333, 0.20]
    )
