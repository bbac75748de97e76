"""Are hyouka's intervals and verdicts calibrated? Seeded simulations of the real engine.

    python benchmarks/calibration.py            # full tables (a few minutes on 2 cores)
    python benchmarks/calibration.py --quick    # a tenth of the draws, for a smoke test

Every number comes from the functions ``hyouka compare``, ``hyouka ranking`` and
``hyouka agreement`` use (``hyouka.analysis.compare.compare_metric`` / ``apply_holm``, the arm
and difference intervals, ``hyouka.stats.bradley_terry``, ``hyouka.stats.ppi_mean``), applied
to data drawn from known populations. Each table cell is a share with its Monte Carlo SE
(± 1 SE). Targets (issue 17): coverage ≥ 93% wherever an interval is reported, false-positive
rate ≤ 5%, power within 5 points of what the advice promises.

Populations, per outcome kind (case difficulty varies strongly, samples of one case are
strongly correlated through it):

- binary: case logit θ ~ N(0.8, 2²); each sample passes with σ(θ) (B: σ(θ + β + u)).
- 0–1:    θ ~ N(0.5, 1.5²) per case; a sample is σ(θ + N(0, 0.9²)), rounded to 0.01, and
          ≥ 0.93 becomes 1 (like char-F1 with a ceiling).
- 1–5:    latent θ ~ N(0.5, 1.5²) plus N(0, 0.7²) per sample, cut at −1.5, −0.5, 0.5, 1.5.

Scenarios: A/A (same population, independent samples), "effect" (B shifted by β = 0.7 with a
per-case interaction u ~ N(0, 0.5²)), "coupled" (B shifted by β = 0.3 with common random numbers,
so B differs from A on few cases and always in one direction: the hardest case for an interval).
The true difference is the population mean of B − A, computed from 400,000 cases.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from hyouka.analysis.compare import (
    PairComparison,
    Settings,
    apply_holm,
    arm_estimate,
    compare_metric,
    metric_bounds,
)
from hyouka.analysis.data import MetricInfo
from hyouka.stats import (
    aggregate_votes,
    bradley_terry,
    holm_levels,
    paired_difference,
    ppi_mean,
)

KINDS = ("binary", "0-1", "1-5")
CUTS = np.array([-1.5, -0.5, 0.5, 1.5])
SETTINGS = Settings()


# ----------------------------------------------------------------------------- populations


@dataclass(frozen=True)
class Scenario:
    name: str
    beta: float
    tau: float
    coupled: bool


SCENARIOS = {
    "A/A": Scenario("A/A", 0.0, 0.0, False),
    "effect": Scenario("effect", 0.7, 0.5, False),
    "coupled": Scenario("coupled", 0.3, 0.0, True),
}


def draw(
    kind: str, sc: Scenario, n: int, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Cases × samples matrices for A and B."""
    shift = sc.beta + rng.normal(0.0, sc.tau, (n, 1)) if sc.tau else sc.beta
    if kind == "binary":
        th = rng.normal(0.8, 2.0, (n, 1))
        ua = rng.random((n, k))
        ub = ua if sc.coupled else rng.random((n, k))
        return (ua < expit(th)).astype(float), (ub < expit(th + shift)).astype(float)
    if kind == "0-1":
        th = rng.normal(0.5, 1.5, (n, 1))
        za = rng.normal(0.0, 0.9, (n, k))
        zb = za if sc.coupled else rng.normal(0.0, 0.9, (n, k))

        def score(z: np.ndarray) -> np.ndarray:
            x = expit(z)
            return np.where(x >= 0.93, 1.0, np.round(x, 2))

        return score(th + za), score(th + shift + zb)
    th = rng.normal(0.5, 1.5, (n, 1))
    ea = rng.normal(0.0, 0.7, (n, k))
    eb = ea if sc.coupled else rng.normal(0.0, 0.7, (n, k))
    a = 1.0 + ((th + ea)[..., None] > CUTS).sum(-1)
    b = 1.0 + ((th + shift + eb)[..., None] > CUTS).sum(-1)
    return a, b


@functools.cache
def truth(kind: str, sc: Scenario) -> tuple[float, float, float]:
    """(mean A, mean B, B − A) of the population, from 400,000 cases (B − A is exactly 0
    for A/A)."""
    rng = np.random.default_rng(12345)
    if sc.name == "A/A":
        a, _ = draw(kind, sc, 400_000, 1, rng)
        return float(a.mean()), float(a.mean()), 0.0
    a, b = draw(kind, sc, 400_000, 1, rng)
    return float(a.mean()), float(b.mean()), float(b.mean() - a.mean())


def info(kind: str, name: str = "m") -> MetricInfo:
    return MetricInfo("python", name, name, kind == "binary")


def share(hits: int, total: int) -> str:
    if total == 0:
        return "–"
    p = hits / total
    se = math.sqrt(max(p * (1 - p), 1e-12) / total)
    return f"{100 * p:5.1f} ± {100 * se:3.1f}"


# ----------------------------------------------------------------------------- compare


def compare_cell(args: tuple[str, int, int, int, int]) -> tuple[str, int, int, list[int]]:
    """One (kind, n, K) cell: A/A false positives, difference coverage under "effect" and
    "coupled", and arm coverage (A and B under "effect"), with the intervals compare prints.
    The cases of all datasets are drawn at once (they are independent), then split."""
    kind, n, k, reps, seed = args
    rng = np.random.default_rng(seed)
    met = info(kind)
    fp = cov_eff = cov_cpl = arm_hits = 0
    for sc in SCENARIOS.values():
        mean_a, mean_b, diff = truth(kind, sc)
        big_a, big_b = draw(kind, sc, n * reps, k, rng)
        for r in range(reps):
            a, b = big_a[r * n : (r + 1) * n], big_b[r * n : (r + 1) * n]
            bd = metric_bounds(np.concatenate([a.ravel(), b.ravel()]), met.binary)
            d = paired_difference(a, b, scale=bd.width, bound=bd.width if bd.exact else None)
            if sc.name == "A/A":
                fp += d.excludes_zero
            elif sc.name == "coupled":
                cov_cpl += d.low <= diff <= d.high
            else:
                cov_eff += d.low <= diff <= d.high
                ea = arm_estimate(a, met.binary, SETTINGS, bd)
                eb = arm_estimate(b, met.binary, SETTINGS, bd)
                arm_hits += (ea.low <= mean_a <= ea.high) + (eb.low <= mean_b <= eb.high)
    return kind, n, k, [fp, cov_eff, cov_cpl, arm_hits]


def compare_tables(reps: int, pool: ProcessPoolExecutor) -> None:
    cells = [(kind, n, k, reps, 1000 + i) for i, (kind, n, k) in enumerate(
        (kind, n, k) for kind in KINDS for n in (12, 30, 100) for k in (1, 3, 5)
    )]  # fmt: skip
    print(f"\n## compare: one metric, {reps} datasets per cell (95% intervals, α = 0.05)\n")
    print("| outcome | cases | samples | A/A false positives (= 100 − A/A coverage) "
          "| coverage, effect | coverage, coupled | arm coverage (A and B) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    worst_cov, worst_fp = 1.0, 0.0
    for kind, n, k, (fp, cov_eff, cov_cpl, arm) in pool.map(compare_cell, cells):
        worst_cov = min(worst_cov, cov_eff / reps, cov_cpl / reps, arm / (2 * reps))
        worst_fp = max(worst_fp, fp / reps)
        print(f"| {kind} | {n} | {k} | {share(fp, reps)} | {share(cov_eff, reps)} | "
              f"{share(cov_cpl, reps)} | {share(arm, 2 * reps)} |")  # fmt: skip
    print(
        f"\nlowest coverage {100 * worst_cov:.1f}% (target ≥ 93%); "
        f"highest false-positive rate {100 * worst_fp:.1f}% (target ≤ 5%)"
    )


def holm_cell(args: tuple[int, int, int, int]) -> tuple[int, int, int]:
    """Family-wise error over 5 null metrics (mixed kinds) at n cases × K samples: the
    calibrated t of each metric, then Holm (``holm_levels`` and the interval at that level,
    which is what ``apply_holm`` does; the reference tests are skipped for speed)."""
    n, k, reps, seed = args
    rng = np.random.default_rng(seed)
    kinds = ("binary", "0-1", "1-5", "binary", "0-1")
    wrong = 0
    for _ in range(reps):
        diffs = []
        for kind in kinds:
            a, b = draw(kind, SCENARIOS["A/A"], n, k, rng)
            bd = metric_bounds(np.concatenate([a.ravel(), b.ravel()]), kind == "binary")
            diffs.append(paired_difference(a, b, scale=bd.width,
                                           bound=bd.width if bd.exact else None))  # fmt: skip
        levels = holm_levels([d.p_value for d in diffs], alpha=SETTINGS.alpha)
        wrong += any(d.at(lv).excludes_zero for d, lv in zip(diffs, levels, strict=True))
    return n, k, wrong


def holm_table(reps: int, pool: ProcessPoolExecutor) -> None:
    cells = [(n, k, reps, 2000 + i) for i, (n, k) in enumerate(((12, 3), (30, 1), (30, 5)))]
    print(f"\n## Holm: family-wise false positives over 5 null metrics, {reps} families\n")
    print("| cases | samples | any metric called different (target ≤ 5%) |")
    print("|---|---|---|")
    for n, k, wrong in pool.map(holm_cell, cells):
        print(f"| {n} | {k} | {share(wrong, reps)} |")


def power_cell(args: tuple[int, int, int]) -> tuple[int, int, int, int, float]:
    """Pilot of 30 cases (0–1 score, K = 3, a real difference δ; with 3 metrics the other two
    are null and Holm adjusts). When compare is not sure it says "about N more cases would
    settle a δ difference": add those N cases, compare all 30 + N again, count "different"."""
    n_metrics, reps, seed = args
    rng = np.random.default_rng(seed)
    sc = Scenario("power", 0.35, 0.0, False)
    _, _, delta = truth("0-1", sc)
    s = Settings(delta=round(delta, 3))
    advised = settled = 0

    def run(mats: list[tuple[np.ndarray, np.ndarray]]) -> PairComparison:
        ms = [compare_metric(info("0-1", f"m{j}"), a, b, s, plan=False)
              for j, (a, b) in enumerate(mats)]  # fmt: skip
        (pair,) = apply_holm([PairComparison("A", "B", ("A",), ("B",), 0, 0, tuple(ms))], s)
        return pair

    for _ in range(reps):
        pilot = [draw("0-1", sc, 30, 3, rng)]
        pilot += [draw("0-1", SCENARIOS["A/A"], 30, 3, rng) for _ in range(n_metrics - 1)]
        m = run(pilot).metrics[0]
        more = m.power.more_cases
        if m.significant or not more:
            continue
        advised += 1
        add = [draw("0-1", sc, more, 3, rng)]
        add += [draw("0-1", SCENARIOS["A/A"], more, 3, rng) for _ in range(n_metrics - 1)]
        grown = [(np.vstack([a, a2]), np.vstack([b, b2]))
                 for (a, b), (a2, b2) in zip(pilot, add, strict=True)]  # fmt: skip
        settled += run(grown).metrics[0].significant
    return n_metrics, reps, advised, settled, s.delta


def power_table(reps: int, pool: ProcessPoolExecutor) -> None:
    print(f"\n## Planning: achieved power of \"about N more cases would settle it\" ({reps} "
          "pilots of 30 cases)\n")  # fmt: skip
    print("| metrics (Holm) | true δ | pilots not yet sure (advised) | compare says \"different\" "
          "after adding the N cases | promised |")  # fmt: skip
    print("|---|---|---|---|---|")
    for n_metrics, _, advised, settled, delta in pool.map(
        power_cell, [(1, reps, 3000), (3, reps, 3001)]
    ):
        print(f"| {n_metrics} | {delta:g} | {advised} | {share(settled, advised)} | 80 |")


# ----------------------------------------------------------------------------- ranking


def bt_votes(
    setting: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """4 variants; 10 voters × 100 votes. Returns left, right, outcome, rater, true β."""
    strength = np.array([-0.6, -0.1, 0.2, 0.5])
    strength = strength - strength.mean()
    n_raters, per = 10, 100
    rater = np.repeat(np.arange(n_raters), per)
    left = rng.integers(0, 4, rater.size)
    right = (left + rng.integers(1, 4, rater.size)) % 4
    taste = np.zeros((n_raters, 4))
    if setting == "taste":
        taste = rng.normal(0.0, 1.0, (n_raters, 4))
    elif setting == "fans":
        fans = rng.random(n_raters) < 0.3
        taste[fans, 0] = 3.0
    logit = strength[left] - strength[right] + taste[rater, left] - taste[rater, right]
    outcome = (rng.random(rater.size) < expit(logit)).astype(float)
    # The population estimand: strengths averaged over the voter population's taste.
    return left, right, outcome, rater, strength


def bt_truth(setting: str) -> np.ndarray:
    """β that a Bradley–Terry fit converges to with infinitely many voters of this kind."""
    rng = np.random.default_rng(777)
    left, right, outcome, _, _ = bt_votes(setting, rng)
    parts = [bt_votes(setting, rng) for _ in range(400)]
    left = np.concatenate([p[0] for p in parts])
    right = np.concatenate([p[1] for p in parts])
    outcome = np.concatenate([p[2] for p in parts])
    return np.asarray(bradley_terry(aggregate_votes(left, right, outcome), n_boot=0).elo)


def bt_cell(args: tuple[str, int, int]) -> tuple[str, int, list[int]]:
    """Coverage of the ranking's intervals: votes clustered by rater, as ``hyouka ranking``
    does for human votes."""
    setting, reps, seed = args
    rng = np.random.default_rng(seed)
    target = bt_truth(setting)
    hits = [0, 0, 0, 0]
    for _ in range(reps):
        left, right, outcome, rater, _ = bt_votes(setting, rng)
        votes = aggregate_votes(left, right, outcome, clusters=rater)
        fit = bradley_terry(votes, n_boot=300, seed=int(rng.integers(1 << 30)))
        for i in range(4):
            hits[i] += bool(fit.low[i] <= target[i] <= fit.high[i])
    return setting, reps, hits


def bt_table(reps: int, pool: ProcessPoolExecutor) -> None:
    print(f"\n## Bradley–Terry: 95% interval coverage per variant, 10 voters × 100 votes, "
          f"{reps} campaigns\n")  # fmt: skip
    print("| voters | weakest | 2nd | 3rd | strongest |")
    print("|---|---|---|---|---|")
    cells = [(s, reps, 4000 + i) for i, s in enumerate(("independent", "fans", "taste"))]
    for setting, n, hits in pool.map(bt_cell, cells):
        print(f"| {setting} | " + " | ".join(share(h, n) for h in hits) + " |")


# ----------------------------------------------------------------------------- PPI++


def ppi_cell(args: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """Human pass/fail with rate 0.6; a lenient judge says pass for 90% of human passes and
    50% of human fails. n human labels, N = 1,000 judge-only items."""
    n, reps, seed = args
    rng = np.random.default_rng(seed)
    hits = refused = 0
    for _ in range(reps):
        y = (rng.random(n + 1000) < 0.6).astype(float)
        judge = np.where(y == 1, rng.random(y.size) < 0.9, rng.random(y.size) < 0.5).astype(float)
        try:
            r = ppi_mean(y[:n], judge[:n], judge[n:])
        except ValueError:
            refused += 1
            continue
        hits += r.low <= 0.6 <= r.high
    return n, reps, hits, refused


def ppi_table(reps: int, pool: ProcessPoolExecutor) -> None:
    print(f"\n## PPI++: 95% interval coverage of the human pass rate, lenient judge, {reps} "
          "draws\n")  # fmt: skip
    print("| human labels | coverage | refused (too few labels) |")
    print("|---|---|---|")
    for n, total, hits, refused in pool.map(ppi_cell, [(n, reps, 5000 + n) for n in (10, 30, 100)]):
        print(f"| {n} | {share(hits, total - refused)} | {refused} of {total} |")


# ----------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the draws")
    parser.add_argument("--only", choices=["compare", "holm", "power", "bt", "ppi"], default=None)
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    sections: dict[str, tuple[Callable[[int, ProcessPoolExecutor], None], int]] = {
        "compare": (compare_tables, 2000),
        "holm": (holm_table, 1000),
        "power": (power_table, 1000),
        "bt": (bt_table, 1000),
        "ppi": (ppi_table, 8000),
    }
    started = time.perf_counter()
    print("# hyouka calibration (seeded; ± is one Monte Carlo SE)")
    with ProcessPoolExecutor(max_workers=2) as pool:
        for name, (fn, reps) in sections.items():
            if args.only in (None, name):
                t0 = time.perf_counter()
                fn(max(int(reps * scale), 20), pool)
                print(f"\n({name}: {time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
