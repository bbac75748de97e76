"""Simulation checks: 95% intervals cover the truth 93–97% of the time over seeded draws."""

from __future__ import annotations

import numpy as np

from hyouka.stats import (
    aggregate_votes,
    bradley_terry,
    cluster_bootstrap_mean,
    clustered_mean_ci,
    mean_ci,
    paired_difference,
    ppi_mean,
    wilson_interval,
)


def assert_coverage(hits: int, total: int) -> None:
    share = hits / total
    assert 0.93 <= share <= 0.97, f"coverage {share:.3f} over {total} draws"


def test_clt_mean_interval_coverage() -> None:
    rng = np.random.default_rng(100)
    hits = 0
    for _ in range(2000):
        x = rng.normal(0.6, 0.3, 200)
        r = mean_ci(x)
        hits += r.low <= 0.6 <= r.high
    assert_coverage(hits, 2000)


def test_wilson_interval_coverage_small_n() -> None:
    rng = np.random.default_rng(101)
    hits = 0
    for _ in range(3000):
        k = int(rng.binomial(40, 0.3))
        r = wilson_interval(k, 40)
        hits += r.low <= 0.3 <= r.high
    assert_coverage(hits, 3000)


def test_clustered_interval_coverage() -> None:
    rng = np.random.default_rng(102)
    hits = 0
    clusters = np.repeat(np.arange(80), 5)
    for _ in range(1500):
        x = rng.normal(0, 1, 80)[clusters] + rng.normal(0, 1, 400)
        r = clustered_mean_ci(x, clusters)
        hits += r.low <= 0.0 <= r.high
    assert_coverage(hits, 1500)


def test_cluster_bootstrap_coverage_for_samples_nested_in_cases() -> None:
    rng = np.random.default_rng(103)
    hits = 0
    for seed in range(1000):
        x = rng.normal(0, 1, (100, 1)) + rng.normal(0, 1, (100, 5))
        r = cluster_bootstrap_mean(x, n_boot=400, seed=seed)
        hits += r.low <= 0.0 <= r.high
    assert_coverage(hits, 1000)


def test_paired_difference_interval_coverage() -> None:
    rng = np.random.default_rng(104)
    hits = 0
    for _ in range(1000):
        case = rng.normal(0, 1, (100, 1))
        a = case + rng.normal(0, 0.5, (100, 3))
        b = case + 0.2 + rng.normal(0, 0.5, (100, 3)) + rng.normal(0, 0.3, (100, 1))
        r = paired_difference(a, b)
        hits += r.low <= 0.2 <= r.high
    assert_coverage(hits, 1000)


def test_ppi_interval_coverage() -> None:
    rng = np.random.default_rng(105)
    hits = 0
    for _ in range(2000):
        y = rng.normal(1.0, 1, 1100)
        judge = 0.8 * y + rng.normal(0, 0.5, 1100) + 0.3
        r = ppi_mean(y[:100], judge[:100], judge[100:])
        hits += r.low <= 1.0 <= r.high
    assert_coverage(hits, 2000)


def test_bradley_terry_sandwich_coverage() -> None:
    rng = np.random.default_rng(106)
    truth = np.array([-0.5, 0.0, 0.2, 0.3])
    elo_truth = 400 / np.log(10) * (truth - truth.mean()) + 1000
    hits = 0
    for _ in range(600):
        left = rng.integers(0, 4, 1500)
        right = (left + rng.integers(1, 4, 1500)) % 4
        p = 1 / (1 + np.exp(-(truth[left] - truth[right])))
        score = (rng.random(1500) < p).astype(float)
        r = bradley_terry(aggregate_votes(left, right, score), n_boot=0)
        hits += bool(r.low[0] <= elo_truth[0] <= r.high[0])
    assert_coverage(hits, 600)
