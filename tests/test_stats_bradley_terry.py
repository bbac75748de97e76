"""Bradley–Terry, Elo and vote tables against statistics.md §8 (B2, B3) and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hyouka.stats import (
    StatsInputError,
    aggregate_votes,
    bootstrap_bradley_terry,
    bradley_terry,
    fastchat_rank,
    fit_bradley_terry,
    online_elo,
    win_tie_loss,
)

# evalica simple.csv: (left, right, score of left).
SIMPLE = [
    (0, 1, 0.5), (0, 2, 0.0), (0, 2, 0.5), (0, 4, 0.5), (1, 0, 1.0), (1, 2, 0.5),
    (1, 2, 0.5), (1, 3, 0.5), (2, 4, 0.5), (3, 0, 1.0), (3, 1, 1.0), (3, 2, 1.0),
    (3, 4, 0.5), (3, 4, 0.5), (4, 0, 1.0), (4, 3, 1.0),
]  # fmt: skip


def printed(value: float, text: str) -> bool:
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(value - float(text)) <= 0.5 * 10**-decimals + 1e-12


def simple_votes() -> tuple[list[int], list[int], list[float]]:
    left, right, score = zip(*SIMPLE, strict=True)
    return list(left), list(right), list(score)


def test_bt_with_ties_as_half_matches_evalica_golden_b2() -> None:
    res = bradley_terry(aggregate_votes(*simple_votes()), n_boot=0)
    golden = {4: "0.349475", 3: "0.336889", 2: "0.131686", 1: "0.131151", 0: "0.050800"}
    for item, text in golden.items():
        assert printed(float(res.share[res.items.index(item)]), text)
    assert res.beta.sum() == pytest.approx(0.0, abs=1e-12)
    assert res.elo.mean() == pytest.approx(1000.0)


def test_elo_scale_is_400_over_ln10_times_beta() -> None:
    res = bradley_terry(aggregate_votes(*simple_votes()), n_boot=0)
    gap = res.elo[4] - res.elo[0]
    p = 1 / (1 + 10 ** (-gap / 400))
    assert p == pytest.approx(1 / (1 + math.exp(-(res.beta[4] - res.beta[0]))))


def test_online_elo_matches_evalica_golden_b3_and_is_zero_sum() -> None:
    ratings = online_elo(*simple_votes())
    golden = {4: "1004.0562", 3: "1003.8862", 2: "999.9773", 1: "999.9772", 0: "992.1031"}
    for item, text in golden.items():
        assert printed(ratings[item], text)
    assert sum(ratings.values()) == pytest.approx(5 * 1000.0)


def test_counts_fit_equals_duplicated_rows_fit() -> None:
    left, right, score = simple_votes()
    once = fit_bradley_terry(aggregate_votes(left, right, score))
    tripled = fit_bradley_terry(aggregate_votes(left * 3, right * 3, score * 3))
    assert np.allclose(once, tripled, atol=1e-9)


def test_swapping_sides_and_flipping_outcome_changes_nothing() -> None:
    left, right, score = simple_votes()
    flipped = fit_bradley_terry(aggregate_votes(right, left, [1 - s for s in score]))
    assert np.allclose(flipped, fit_bradley_terry(aggregate_votes(left, right, score)))


def test_bt_recovers_true_strengths_from_simulated_votes() -> None:
    rng = np.random.default_rng(4)
    truth = np.array([-1.0, -0.3, 0.0, 0.4, 0.9])
    left = rng.integers(0, 5, 20_000)
    right = (left + rng.integers(1, 5, 20_000)) % 5
    p = 1 / (1 + np.exp(-(truth[left] - truth[right])))
    score = (rng.random(20_000) < p).astype(float)
    res = bradley_terry(aggregate_votes(left, right, score), n_boot=200, seed=3)
    assert np.allclose(res.beta, truth - truth.mean(), atol=0.06)
    assert list(res.rank) == [5, 4, 3, 2, 1]
    # Sandwich and bootstrap agree on the width for well-specified data.
    boot_width = res.high - res.low
    assert np.allclose(boot_width, 2 * 1.96 * res.se_elo, rtol=0.25)
    assert res.seed == 3 and res.ci_method == "bootstrap"


def test_bootstrap_is_reproducible_from_seed() -> None:
    votes = aggregate_votes(*simple_votes())
    beta = fit_bradley_terry(votes)
    one = bootstrap_bradley_terry(votes, beta, n_boot=50, seed=9)
    two = bootstrap_bradley_terry(votes, beta, n_boot=50, seed=9)
    assert np.array_equal(one, two)


def test_fastchat_rank_groups_overlapping_intervals() -> None:
    low = np.array([1100.0, 1090.0, 1000.0])
    high = np.array([1150.0, 1120.0, 1050.0])
    assert list(fastchat_rank(low, high)) == [1, 1, 3]


def test_win_tie_loss_table_counts() -> None:
    t = win_tie_loss(aggregate_votes(*simple_votes()))
    idx = {item: k for k, item in enumerate(t.items)}
    assert t.wins[idx[3], idx[0]] == 1 and t.wins[idx[0], idx[3]] == 0
    assert t.ties[idx[3], idx[4]] == 2 == t.ties[idx[4], idx[3]]
    assert t.wins[idx[2], idx[0]] == 1  # (0, 2, right wins)
    assert t.wins.sum() + t.ties.sum() // 2 == len(SIMPLE)
    assert np.array_equal(t.losses, t.wins.T)


def test_disconnected_votes_are_refused_with_the_names() -> None:
    with pytest.raises(StatsInputError, match="never compared"):
        fit_bradley_terry(aggregate_votes(["a", "c"], ["b", "d"], [1.0, 0.0]))


def test_bad_outcome_is_refused() -> None:
    with pytest.raises(StatsInputError, match="outcome"):
        aggregate_votes(["a"], ["b"], [0.7])
