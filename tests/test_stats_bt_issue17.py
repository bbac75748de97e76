"""Issue 17, defects 6 and 7: Bradley–Terry when a variant never lost, and raters as clusters."""

from __future__ import annotations

import math

import numpy as np

from hyouka.stats import aggregate_votes, bradley_terry, sandwich_cov
from hyouka.stats.ranking import PRIOR_SD, fit_bradley_terry, unbounded_items


def never_lost() -> tuple[list[str], list[str], list[float]]:
    # a beats b 20–0 and c 10–0; b and c split 12–8.
    left = ["a"] * 20 + ["b"] * 20 + ["c"] * 10
    right = ["b"] * 20 + ["c"] * 20 + ["a"] * 10
    out = [1.0] * 20 + [1.0] * 12 + [0.0] * 8 + [0.0] * 10
    return left, right, out


def test_a_variant_that_never_lost_gets_a_stated_prior_and_a_one_sided_bound() -> None:
    votes = aggregate_votes(*never_lost())
    res = bradley_terry(votes, n_boot=400, seed=1)
    a = res.items.index("a")
    assert res.prior_items == ("a", "b", "c") and res.prior_sd == PRIOR_SD
    # Finite (the old Newton step cap gave Elo ≈ 4,600) and equal to the MAP with the prior.
    map_beta = fit_bradley_terry(votes, prior_sd=PRIOR_SD)
    assert np.allclose(res.beta, map_beta) and res.elo[a] < 2000
    # Only a lower bound for the never-beaten variant; the SE is not claimed.
    assert math.isinf(res.high[a]) and res.low[a] <= res.elo[a]
    assert math.isnan(res.se_elo[a])
    # b and c never beat a: in the centred scale they are bounded above only.
    for x in ("b", "c"):
        k = res.items.index(x)
        assert math.isinf(res.low[k]) and res.high[k] >= res.elo[k]
    assert list(res.rank) == [1, 2, 2]


def test_unbounded_items_follow_the_scored_against_graph() -> None:
    i, j = np.array([0, 1]), np.array([1, 2])
    # 0 beat 1 (never lost), 1 and 2 tied: 0 is on top, {1, 2} at the bottom.
    top, bottom = unbounded_items(i, j, np.array([3.0, 1.0]), np.array([3.0, 2.0]), 3)
    assert list(top) == [0] and list(bottom) == [1, 2]
    top, bottom = unbounded_items(i, j, np.array([2.0, 1.0]), np.array([3.0, 2.0]), 3)
    assert top.size == bottom.size == 0  # 1 beat 0 once: strongly connected


def test_the_mle_is_untouched_when_it_exists() -> None:
    rng = np.random.default_rng(2)
    left = rng.integers(0, 4, 400)
    right = (left + rng.integers(1, 4, 400)) % 4
    out = (rng.random(400) < 0.5).astype(float)
    votes = aggregate_votes(left, right, out)
    res = bradley_terry(votes, n_boot=0)
    assert res.prior_items == () and np.allclose(res.beta, fit_bradley_terry(votes))


def test_se_and_interval_come_from_the_same_bootstrap() -> None:
    rng = np.random.default_rng(5)
    left = rng.integers(0, 3, 300)
    right = (left + rng.integers(1, 3, 300)) % 3
    out = (rng.random(300) < 0.55).astype(float)
    res = bradley_terry(aggregate_votes(left, right, out), n_boot=2000, seed=4)
    # For a symmetric bootstrap distribution the 95% percentile interval is ≈ ±1.96 SD.
    assert np.allclose(res.high - res.low, 2 * 1.96 * res.se_elo, rtol=0.08)
    assert not np.allclose(res.se_elo, res.sandwich_se_elo, rtol=1e-6)


def test_one_vote_per_cluster_is_the_per_vote_sandwich() -> None:
    rng = np.random.default_rng(6)
    left = rng.integers(0, 4, 500)
    right = (left + rng.integers(1, 4, 500)) % 4
    out = rng.choice([0.0, 0.5, 1.0], 500)
    plain = aggregate_votes(left, right, out)
    each = aggregate_votes(left, right, out, clusters=np.arange(500))
    beta = fit_bradley_terry(plain)
    assert np.allclose(fit_bradley_terry(each), beta)
    assert np.allclose(sandwich_cov(each, beta), sandwich_cov(plain, beta))


def _campaign(rng: np.random.Generator, taste_sd: float) -> tuple[np.ndarray, ...]:
    strength = np.array([-0.6, -0.1, 0.2, 0.5])
    rater = np.repeat(np.arange(10), 100)
    left = rng.integers(0, 4, 1000)
    right = (left + rng.integers(1, 4, 1000)) % 4
    taste = rng.normal(0.0, taste_sd, (10, 4))
    logit = strength[left] - strength[right] + taste[rater, left] - taste[rater, right]
    return left, right, (rng.random(1000) < 1 / (1 + np.exp(-logit))).astype(float), rater


def test_resampling_raters_covers_when_raters_have_their_own_taste() -> None:
    """10 raters × 100 votes, taste SD 1 logit: resampling votes covered 44% (issue 17)."""
    rng = np.random.default_rng(7)
    big = [_campaign(rng, 1.0) for _ in range(300)]
    pooled = aggregate_votes(*(np.concatenate([c[k] for c in big]) for k in range(3)))
    target = bradley_terry(pooled, n_boot=0).elo  # what infinitely many such raters give
    hits = by_vote = 0
    runs = 120
    for r in range(runs):
        left, right, out, rater = _campaign(rng, 1.0)
        clustered = bradley_terry(aggregate_votes(left, right, out, clusters=rater), n_boot=300,
                                  seed=r)  # fmt: skip
        naive = bradley_terry(aggregate_votes(left, right, out), n_boot=300, seed=r)
        hits += bool(clustered.low[0] <= target[0] <= clustered.high[0])
        by_vote += bool(naive.low[0] <= target[0] <= naive.high[0])
        assert clustered.cluster == "rater" and clustered.n_clusters == 10
    assert hits / runs >= 0.85, hits / runs
    assert by_vote / runs < 0.75, by_vote / runs
