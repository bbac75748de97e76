"""Sample-size planning against statistics.md §8 (E4, P3) and properties."""

from __future__ import annotations

import pytest

from hyouka.stats import (
    StatsInputError,
    cases_needed,
    labels_for_half_width,
    minimum_detectable_effect,
    ppi_power,
    seed_power,
    seeds_needed,
    votes_needed,
)


def printed(value: float, text: str) -> bool:
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(value - float(text)) <= 0.5 * 10**-decimals + 1e-12


def test_miller_sample_size_e4() -> None:
    base = {"omega2": 0.1, "sigma2_a": 0.1, "sigma2_b": 0.1}
    assert printed(cases_needed(0.03, **base), "2616.29")
    assert printed(cases_needed(0.03, **base, k_a=10, k_b=10), "1046.52")
    # Classic two-proportion check: independent arms, p = 0.5 → ω² = 0.25 + 0.25.
    assert printed(cases_needed(0.05, omega2=0.5), "1569.78")


def test_mde_inverts_sample_size() -> None:
    n = cases_needed(0.03, omega2=0.1, sigma2_a=0.1, sigma2_b=0.1, k_a=5, k_b=5)
    mde = minimum_detectable_effect(n, omega2=0.1, sigma2_a=0.1, sigma2_b=0.1, k_a=5, k_b=5)
    assert mde == pytest.approx(0.03)
    assert cases_needed(0.03, omega2=0.1, design_effect=2.0) == pytest.approx(
        2 * cases_needed(0.03, omega2=0.1)
    )


def test_ppi_power_matches_ppi_python_p3() -> None:
    plan = ppi_power(0.8, cost_y=1, cost_yhat=0.01, effective_n=400)
    assert (plan.n, plan.n_unlabeled, plan.effective_n) == (163, 2013, 400)
    assert plan.cost == pytest.approx(184.76)
    plan = ppi_power(0.8, cost_y=1, cost_yhat=0.01, budget=300)
    assert (plan.n, plan.n_unlabeled, plan.effective_n) == (265, 3265, 649)
    assert plan.cost == pytest.approx(300.3)
    plan = ppi_power(0.5, cost_y=1, cost_yhat=0.01, effective_n=400)
    assert (plan.n, plan.n_unlabeled) == (317, 1515)
    assert plan.cost == pytest.approx(335.32)


def test_ppi_power_falls_back_to_humans_when_judge_is_useless() -> None:
    plan = ppi_power(0.05, cost_y=1, cost_yhat=0.5, effective_n=300)
    assert (plan.n, plan.n_unlabeled) == (300, 0)


def test_votes_needed_for_a_60_percent_win_rate() -> None:
    # ((1.959964·0.5 + 0.841621·√0.24)/0.1)² = 193.85
    assert votes_needed(0.6) == pytest.approx(193.85, abs=0.01)
    assert votes_needed(0.4) == pytest.approx(votes_needed(0.6))


def test_seeds_needed_uses_exact_t_power() -> None:
    n = seeds_needed(0.05, 0.03)
    assert seed_power(0.05, 0.03, n) >= 0.8 > seed_power(0.05, 0.03, n - 1)
    assert n == 7
    # More than the normal approximation 2·(2.8016·0.03/0.05)² = 5.65 → 6.
    assert n > 6


def test_labels_for_half_width() -> None:
    assert labels_for_half_width(0.25, 0.05) == pytest.approx(384.146, abs=1e-3)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(StatsInputError, match="exactly one"):
        ppi_power(0.5)
    with pytest.raises(StatsInputError, match="win_rate"):
        votes_needed(0.5)
