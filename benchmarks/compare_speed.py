"""Speed of ``hyouka compare`` on a run of 10 variants × 2,000 cases × 5 samples.

    python benchmarks/compare_speed.py [--keep DIR]

Builds the store directly with bulk inserts (100,000 samples, 300,000 scores: two pass/fail
checks and one 0–1 score), then times, on a warm process:

- ``Workspace.compare("v0", "v1")``: one comparison over all 3 metrics (target ≤ 5 s);
- ``Workspace.compare("v0", "v1", …, "v9")``: all 9 comparisons against the baseline;
- the ``hyouka compare v0 v1`` command in a fresh process (Python start-up included).

Exits non-zero if the single comparison misses its target.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from sqlalchemy import insert

import hyouka.analysis  # noqa: F401  (imported up front: the timings are of a warm process)
from hyouka.api import Workspace
from hyouka.store.schema import cases, run_variants, runs, samples, scores, variants

N_VARIANTS, N_CASES, K = 10, 2000, 5
TARGET_S = 5.0


def write_project(root: Path) -> None:
    cfg = {
        "name": "bench",
        "providers": {"e": {"type": "echo"}},
        "variants": {f"v{i}": {"provider": "e", "prompt": "{{ q }}"} for i in range(N_VARIANTS)},
    }
    (root / "hyouka.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")


def _bulk(conn: object, table: object, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), 20_000):
        conn.execute(insert(table), rows[start : start + 20_000])  # type: ignore[attr-defined]


def _scores_of(v: int, difficulty: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Variant v passes `correct` a bit more often than v − 1; `half` is a coin; `quality`
    is a 0–1 score."""
    p = 1 / (1 + np.exp(-(difficulty + 0.08 * v)))
    return {
        "correct": (rng.random((N_CASES, K)) < p[:, None]).astype(float),
        "half": (rng.random((N_CASES, K)) < 0.5).astype(float),
        "quality": np.clip(rng.normal(0.6 + 0.01 * v, 0.2, (N_CASES, K)), 0, 1),
    }


def _rows(rng: np.random.Generator) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    difficulty = rng.normal(0, 1, N_CASES)
    sample_rows: list[dict[str, object]] = []
    score_rows: list[dict[str, object]] = []
    for v in range(N_VARIANTS):
        values = _scores_of(v, difficulty, rng)
        for c in range(N_CASES):
            for k in range(K):
                sid = len(sample_rows) + 1
                sample_rows.append(
                    {"id": sid, "run_id": 1, "variant_id": v + 1, "case_id": c + 1,
                     "sample_index": k, "status": "ok", "cache_key": f"k{sid}", "target": "",
                     "role": "app"}
                )  # fmt: skip
                for name, table in values.items():
                    value = float(table[c, k])
                    score_rows.append(
                        {"sample_id": sid, "check_name": name, "check_version": "1",
                         "params_hash": "p", "params": {}, "metric": name, "repeat": 0,
                         "value": value, "passed": None if name == "quality" else value == 1,
                         "status": "ok", "weight": 1.0}
                    )  # fmt: skip
    return sample_rows, score_rows


def fill(ws: Workspace, seed: int = 0) -> None:
    """One finished run of every variant over every case, K samples each."""
    sample_rows, score_rows = _rows(np.random.default_rng(seed))
    run = {"id": 1, "uid": "bench-run", "project": "bench", "status": "finished", "seed": 0,
           "samples": K, "fingerprint": "x", "config": {}, "hyouka_version": "bench"}  # fmt: skip
    with ws.store.engine.begin() as conn:
        _bulk(conn, cases, [{"id": c + 1, "case_hash": f"h{c}", "case_key": f"c{c}",
                             "content": {}} for c in range(N_CASES)])  # fmt: skip
        _bulk(conn, variants, [{"id": v + 1, "project": "bench", "name": f"v{v}",
                                "version": f"ver{v}", "kind": "prompt", "spec": {}}
                               for v in range(N_VARIANTS)])  # fmt: skip
        conn.execute(insert(runs).values(**run))
        _bulk(conn, run_variants, [{"run_id": 1, "variant_id": v + 1} for v in range(N_VARIANTS)])
        _bulk(conn, samples, sample_rows)
        _bulk(conn, scores, score_rows)


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the CLI run)."""
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + child.ru_utime + child.ru_stime


def timed(label: str, fn: object, target: float | None = None) -> float:
    """Wall time (what the target is about) and this process's CPU time (which shows how
    much of the wall time was waiting for a busy machine)."""
    start, cpu = time.perf_counter(), _cpu()
    fn()  # type: ignore[operator]
    elapsed, used = time.perf_counter() - start, _cpu() - cpu
    goal = f"(target ≤ {target:g} s)  {'ok' if elapsed <= target else 'SLOW'}" if target else ""
    print(f"{label:<48} {elapsed:7.3f} s wall {used:7.3f} s cpu  {goal}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", type=Path, help="build the project here and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="hyouka-compare-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    write_project(root)
    ws = Workspace.open(root)
    if not ws.runs():
        start = time.perf_counter()
        fill(ws)
        print(f"built {N_VARIANTS} × {N_CASES} × {K} store in {time.perf_counter() - start:.1f} s")
    others = [f"v{i}" for i in range(1, N_VARIANTS)]
    one = timed("compare v0 v1 (3 metrics, API)", lambda: ws.compare("v0", "v1"), TARGET_S)
    timed("compare v0 against v1…v9 (27 tests, API)", lambda: ws.compare("v0", *others))
    cmd = [sys.executable, "-m", "hyouka", "compare", "v0", "v1", "-p", str(root), "--json"]
    timed("hyouka compare v0 v1 --json (fresh process)",
          lambda: subprocess.run(cmd, check=True, capture_output=True))  # fmt: skip
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0 if one <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
