"""The experiments' sequential test by simulation, at a larger scale than the tests.

A/A and real-effect replications of clustered units (1 + Poisson(2) events per unit, each unit
with its own rate), a look after every ``--step`` units: the false-positive rate of "decided",
and for real effects how often it stopped, the median stopping point and how often the
interval at the stop covered the true difference. Prints one line per scenario.

    python benchmarks/experiments_stats.py [--reps 2000] [--units 5000] [--step 100]

Targets (issue 14): A/A "decided" ≤ 5%; with an effect it stops and covers ≥ 93%.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hyouka.experiments import stats as xs


def scenario(rng: np.random.Generator, reps: int, units: int, pa: float, pb: float,
             step: int, tau: float) -> dict[str, float]:  # fmt: skip
    decided = stopped_at = covered = 0.0
    stops: list[float] = []
    n_dec = 0
    chunk = 250
    for start in range(0, reps, chunk):
        r = min(chunk, reps - start)
        b = rng.random((r, units)) < 0.5
        n = 1 + rng.poisson(2, (r, units))
        p = np.where(b, pb, pa)
        y = rng.binomial(n, rng.beta(p * 6, (1 - p) * 6)).astype(float)
        path = xs.sequential_paths(b, y, n.astype(float), tau=tau, alpha=0.05, step=step)
        stop = path["stop"].astype(int)
        dec = stop >= 0
        at = np.where(dec, stop, path["low_path"].shape[-1] - 1)
        low = np.take_along_axis(path["low_path"], at[:, None], 1)[:, 0]
        high = np.take_along_axis(path["high_path"], at[:, None], 1)[:, 0]
        true = pb - pa
        decided += dec.sum()
        covered += ((low <= true) & (true <= high) & dec).sum()
        n_dec += int(dec.sum())
        stops.extend(path["looks_at"][stop[dec]].tolist())
    stopped_at = float(np.median(stops)) if stops else float("nan")
    return {
        "decided": decided / reps,
        "covered_at_stop": covered / n_dec if n_dec else float("nan"),
        "median_stop_units": stopped_at,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--step", type=int, default=100)
    parser.add_argument("--tau", type=float, default=0.05)
    args = parser.parse_args()
    rng = np.random.default_rng(20261202)
    for name, pa, pb in (("A/A p=0.30", 0.3, 0.3), ("A/A p=0.05", 0.05, 0.05),
                         ("effect +0.03", 0.3, 0.33), ("effect +0.07", 0.3, 0.37)):  # fmt: skip
        started = time.perf_counter()
        r = scenario(rng, args.reps, args.units, pa, pb, args.step, args.tau)
        covered = "—" if pa == pb else f"{r['covered_at_stop'] * 100:.1f}%"
        print(
            f"{name}: decided {r['decided'] * 100:.1f}% of {args.reps} · covered at stop "
            f"{covered} · median stop {r['median_stop_units']:.0f} units "
            f"({time.perf_counter() - started:.1f} s)"
        )


if __name__ == "__main__":
    main()
