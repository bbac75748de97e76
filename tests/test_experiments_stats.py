"""The experiments' statistics by simulation (vectorised; the larger runs are in
benchmarks/experiments_stats.py): A/A with a look after every 100 units keeps the
false-positive rate of "decided" ≤ 5%; with a real effect the test stops and its interval
covers the true difference ≥ 93%; the sample-ratio check fires on 52/48 of 20,000 units."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hyouka.experiments import stats as xs


def _clustered(rng: np.random.Generator, reps: int, units: int, pa: float, pb: float):
    """Units with 1 + Poisson(2) events each and their own rate (Beta around the arm's)."""
    b = rng.random((reps, units)) < 0.5
    n = 1 + rng.poisson(2, (reps, units))
    p = np.where(b, pb, pa)
    conc = 6.0
    y = rng.binomial(n, rng.beta(p * conc, (1 - p) * conc))
    return b, y.astype(float), n.astype(float)


def _stop_interval(path: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    stop = path["stop"].astype(int)
    decided = stop >= 0
    at = np.where(decided, stop, path["low_path"].shape[-1] - 1)
    low = np.take_along_axis(path["low_path"], at[:, None], 1)[:, 0]
    high = np.take_along_axis(path["high_path"], at[:, None], 1)[:, 0]
    return decided, low, high


def test_aa_false_positive_rate_looking_every_100_units() -> None:
    rng = np.random.default_rng(20261202)
    b, y, n = _clustered(rng, 500, 3000, 0.3, 0.3)
    path = xs.sequential_paths(b, y, n, tau=0.05, alpha=0.05, step=100)
    decided, _low, _high = _stop_interval(path)
    assert decided.mean() <= 0.05, decided.mean()
    # the naive analysis (a fixed-n z-test at every look) would have "decided" far more often
    naive = np.abs(path["diff"]) / np.sqrt(path["var"]) > 1.96
    assert (naive & (path["ok"] > 0)).any(axis=-1).mean() > 0.15


def test_real_effect_stops_and_interval_covers_the_truth() -> None:
    rng = np.random.default_rng(7)
    true = 0.07
    b, y, n = _clustered(rng, 500, 4000, 0.30, 0.30 + true)
    path = xs.sequential_paths(b, y, n, tau=0.05, alpha=0.05, step=100)
    decided, low, high = _stop_interval(path)
    assert decided.mean() >= 0.9, decided.mean()
    # the ratio estimand of the Beta-mixture arm is its mean rate: pa + true
    covered = (low <= true) & (true <= high)
    assert covered[decided].mean() >= 0.93, covered[decided].mean()
    assert np.all(low[decided] > 0)  # a decision in the right direction


def test_clustered_standard_error_is_calibrated() -> None:
    rng = np.random.default_rng(1)
    b, y, n = _clustered(rng, 400, 1000, 0.3, 0.3)
    estimates = [xs.ratio_estimate(y[i][b[i]], n[i][b[i]]) for i in range(400)]
    spread = float(np.std([e.mean for e in estimates]))
    clustered = float(np.mean([e.se for e in estimates]))
    naive = float(np.mean([math.sqrt(e.mean * (1 - e.mean) / e.events) for e in estimates]))
    assert abs(clustered / spread - 1) < 0.1  # the clustered SE is the estimate's real spread
    assert naive / spread < 0.9  # treating a unit's events as independent understates it


def test_one_look_matches_hyouka_stats_sequential() -> None:
    rng = np.random.default_rng(2)
    b, y, n = _clustered(rng, 1, 1000, 0.3, 0.4)
    path = xs.sequential_paths(b[0], y[0], n[0], tau=0.05, alpha=0.05, step=1000)
    d, v = float(path["diff"][-1]), float(path["var"][-1])
    lam, half = xs.check_consistency(d, v, 0.05, 0.05)
    assert float(path["log_lam"][-1]) == pytest.approx(math.log(lam))
    assert float(path["low_path"][-1]) == pytest.approx(d - half)


def test_srm_fires_on_52_48_of_20000_and_not_on_50_50() -> None:
    bad = xs.srm_check([({"a": 10_400, "b": 9_600}, {"a": 0.5, "b": 0.5})])
    assert bad.mismatch and bad.p_value < 1e-6 and bad.e_value > 1000
    good = xs.srm_check([({"a": 10_050, "b": 9_950}, {"a": 0.5, "b": 0.5})])
    assert not good.mismatch and good.p_value > 0.05
    # per revision: 90/10 then 50/50, each as allocated: no mismatch
    segs = [
        ({"a": 9000, "b": 1000}, {"a": 0.9, "b": 0.1}),
        ({"a": 5000, "b": 5000}, {"a": 0.5, "b": 0.5}),
    ]
    assert not xs.srm_check(segs).mismatch
    # pooled against the final shares it would look broken: the segments matter
    assert xs.srm_check([({"a": 14000, "b": 6000}, {"a": 0.5, "b": 0.5})]).mismatch


def test_srm_false_alarms_are_rare_when_checked_daily() -> None:
    rng = np.random.default_rng(5)
    alarms = 0
    for _ in range(300):
        daily = rng.binomial(1000, 0.5, 20)
        a = np.cumsum(daily)
        b = np.cumsum(1000 - daily)
        alarms += any(xs.srm_check([({"a": int(x), "b": int(z)}, {"a": 0.5, "b": 0.5})]).mismatch
                      for x, z in zip(a, b, strict=True))  # fmt: skip
    assert alarms / 300 <= 0.01
