"""Anytime-valid tests against statistics.md §8 (Q1, Q2) and a peeking simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hyouka.stats import (
    beta_binomial_e_value,
    msprt,
    msprt_sequence,
    msprt_tau2,
    vote_sequential_test,
)


def printed(value: float, text: str) -> bool:
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(value - float(text)) <= 0.5 * 10**-decimals + 1e-12


@pytest.mark.parametrize(
    ("s", "n", "text"),
    [
        (9, 10, "9.3091"), (10, 10, "93.0909"), (15, 20, "3.2206"), (16, 20, "10.3059"),
        (17, 20, "43.8002"), (60, 100, "0.9130"), (65, 100, "11.4614"),
    ],
)  # fmt: skip
def test_beta_binomial_e_values_q1(s: int, n: int, text: str) -> None:
    assert printed(beta_binomial_e_value(s, n), text)


def test_vote_sequence_stops_when_e_reaches_one_over_alpha() -> None:
    votes = [1.0] * 5 + [0.5] * 3 + [1.0] * 5
    res = vote_sequential_test(votes, alpha=0.05)
    assert res.n_decisive == 10 and res.b_wins == 10
    assert res.e_value == pytest.approx(93.0909, abs=1e-4)
    # 2^n/(n+1) ≥ 20 first at n = 7 (16) → no, n = 7 gives 16; n = 8 gives 28.44.
    assert res.stopped_at == 8 and res.decision == "B"
    assert res.p_value == pytest.approx(1 / 93.0909, abs=1e-6)


def test_vote_sequence_for_a_winning_on_a() -> None:
    res = vote_sequential_test([0.0] * 12)
    assert res.decision == "A"


def test_e_process_type_one_error_under_continuous_peeking() -> None:
    rng = np.random.default_rng(0)
    sims, horizon = 2000, 500
    rejected = 0
    for _ in range(sims):
        votes = (rng.random(horizon) < 0.5).astype(float)
        rejected += vote_sequential_test(votes, alpha=0.05).decision is not None
    assert rejected / sims <= 0.05
    # Contrast: peeking at a fixed-n z-test after every vote rejects far more often.
    naive = 0
    for _ in range(500):
        s = np.cumsum(rng.random(horizon) < 0.5)
        n = np.arange(1, horizon + 1)
        z = np.abs(s - n / 2) / np.sqrt(n / 4)
        naive += bool(np.any(z[9:] > 1.96))
    assert naive / 500 > 0.2


@pytest.mark.parametrize(("mean", "n", "text"), [(0.1, 100, "0.163244"), (0.2, 100, "0.720823")])
def test_msprt_likelihood_ratio_q2(mean: float, n: int, text: str) -> None:
    assert printed(msprt(mean, n, sigma2=1, tau2=1).likelihood_ratio, text)


def test_msprt_always_valid_ci_q2() -> None:
    res = msprt(0.1, 1000, sigma2=1, tau2=1)
    assert printed(res.likelihood_ratio, "4.667519")
    assert printed(res.p_value, "0.214247")
    assert printed(res.low, "-0.013636") and printed(res.high, "0.213636")
    assert not res.rejected


def test_msprt_sequence_running_p_is_monotone_and_matches_single_look() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0.3, 1, 400)
    res = msprt_sequence(x, sigma2=1, tau2=msprt_tau2(1, 100))
    last = msprt(float(x.mean()), 400, sigma2=1, tau2=msprt_tau2(1, 100))
    assert res.p_value <= last.p_value
    assert res.rejected and res.stopped_at is not None and res.low > 0


def test_tau2_tightest_at_horizon() -> None:
    assert printed(math.sqrt(msprt_tau2(1.0, 100)), "0.28171")
