"""Speed of the statistics engine against the targets in issue 6.

    python benchmarks/stats_speed.py

Prints, for each workload, the measured wall time and its target:
- Bradley–Terry: 1,000,000 votes among 20 variants, sandwich SEs and 1,000 bootstrap
  rounds (aggregation included) ≤ 10 s on 2 cores; the same votes from 10,000 raters with
  the bootstrap resampling raters (what ``hyouka ranking`` does) ≤ 10 s too.
- Krippendorff α (interval) on 100,000 items × 5 raters ≤ 2 s.
- A paired comparison at `hyouka compare` scale: 2,000 cases × 5 samples, bootstrap 2,000.
Exits non-zero if a target is missed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

from hyouka.stats import (
    aggregate_votes,
    agreement_ci,
    bradley_terry,
    gacha_summary,
    krippendorff_alpha,
    paired_difference,
)


def timed(label: str, target: float, fn: Callable[[], object]) -> bool:
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    ok = elapsed <= target
    print(f"{label:<62} {elapsed:7.3f} s  (target ≤ {target:g} s)  {'ok' if ok else 'SLOW'}")
    return ok


def votes(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    strength = rng.normal(0, 1, m)
    left = rng.integers(0, m, n)
    right = (left + rng.integers(1, m, n)) % m
    rater = rng.integers(0, 10_000, n)
    taste = rng.normal(0, 0.5, (10_000, m))
    logit = strength[left] - strength[right] + taste[rater, left] - taste[rater, right]
    p = 1 / (1 + np.exp(-logit))
    u = rng.random(n)
    outcome = np.where(u < 0.1, 0.5, np.where(u < 0.1 + 0.9 * p, 1.0, 0.0))
    return left, right, outcome, rater


def ratings(items: int, raters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.normal(3, 1, items)
    r = truth[:, None] + rng.normal(0, 0.7, (items, raters))
    r[rng.random((items, raters)) < 0.1] = np.nan
    return r


def main() -> int:
    left, right, outcome, rater = votes(1_000_000, 20, seed=0)
    r = ratings(100_000, 5, seed=1)
    rng = np.random.default_rng(2)
    case = rng.normal(0.6, 0.2, (2000, 1))
    a = np.clip(case + rng.normal(0, 0.2, (2000, 5)), 0, 1)
    b = np.clip(case + 0.02 + rng.normal(0, 0.2, (2000, 5)), 0, 1)
    results = [
        timed(
            "Bradley-Terry 1e6 votes, 20 variants, 1000 bootstrap rounds",
            10.0,
            lambda: bradley_terry(aggregate_votes(left, right, outcome), n_boot=1000, seed=0),
        ),
        timed(
            "  the same votes from 10,000 raters, 1000 rounds resampling raters",
            10.0,
            lambda: bradley_terry(
                aggregate_votes(left, right, outcome, clusters=rater), n_boot=1000, seed=0
            ),
        ),
        timed(
            "Krippendorff alpha interval, 100,000 items x 5 raters",
            2.0,
            lambda: krippendorff_alpha(r, metric="interval"),
        ),
        timed(
            "  + bootstrap CI over items (1000 rounds)",
            30.0,
            lambda: agreement_ci(r, metric="interval", n_boot=1000, seed=0),
        ),
        timed(
            "Paired B-A, 2,000 cases x 5 samples, calibrated t + gacha",
            1.0,
            lambda: (paired_difference(a, b), gacha_summary(a, b)),
        ),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
