"""Store.write_samples on SQLite: SQLAlchemy Core against the driver-level writer.

Writes N finished samples (each with its request/response payload and two score rows, as a
run with one check and one metric more does) in batches of 500, as the run's writer thread
does, once through SQLAlchemy Core (``INSERT … RETURNING`` executemany) and once through
hyouka/store/sample_batches.py, alternating ``--rounds`` times; prints the CPU milliseconds per
sample of each and their ratio (medians).

    python benchmarks/store_write_speed.py [--n 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from hyouka.datasets import Dataset, case_from_mapping
from hyouka.store.store import SampleRecord, Store


def _records(run_id: int, vid: int, case_id: int, n: int) -> list[SampleRecord]:
    params = {"value": "ID-00001", "normalize": "none"}
    out = []
    for i in range(n):
        row: dict[str, Any] = {
            "run_id": run_id, "variant_id": vid, "case_id": case_id, "sample_index": i,
            "target": "", "role": "app", "seed": 1000 + i, "status": "ok",
            "output": f"回答: 質問 {i} です", "error": None, "latency_ms": 51.2,
            "input_tokens": 12, "output_tokens": 9, "cost": None, "contexts": None,
            "cache_key": f"{i:032x}", "cached": False, "attempts": 1,
        }  # fmt: skip
        score = {
            "check_name": "contains", "check_version": "1", "params_hash": "0" * 16,
            "params": params, "metric": "contains", "repeat": 0, "value": 1.0,
            "passed": True, "status": "ok", "reason": "found: 'ID-00001'", "weight": 1.0,
        }  # fmt: skip
        out.append(
            SampleRecord(
                row,
                request={"model": "m", "messages": [{"role": "user", "content": f"質問 {i}"}]},
                response={"choices": [{"message": {"content": row["output"]}}]},
                scores=[score, {**score, "metric": "other"}],
            )
        )
    return out


def measure(n: int, core: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'h.db'}", auto_upgrade=True)
        case = case_from_mapping({"id": "c0", "vars": {"q": "質問"}})
        ds_id, case_ids = store.save_dataset("p", Dataset("main", Path("c.jsonl"), [case]))
        vid = store.save_variant("p", "a", "va", "prompt", {"prompt": "x"}, "openai", "m")
        run = store.create_run(
            "p", seed=1, n_samples=n, fingerprint="f" * 32, config={},
            variant_ids=[vid], dataset_ids=[ds_id],
        )  # fmt: skip
        if core:
            store._raw = None
        records = _records(run.id, vid, case_ids["c0"], n)
        started = time.process_time()
        for i in range(0, n, 500):
            store.write_samples(records[i : i + 500])
        cpu = time.process_time() - started
        store.engine.dispose()
    return cpu * 1000 / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    got: dict[str, list[float]] = {"core": [], "driver": []}
    for _ in range(args.rounds):
        got["core"].append(measure(args.n, core=True))
        got["driver"].append(measure(args.n, core=False))
    core, driver = statistics.median(got["core"]), statistics.median(got["driver"])
    print(f"{args.n} samples (payload + 2 scores each) in batches of 500, SQLite, median of "
          f"{args.rounds}")  # fmt: skip
    for label, value, key in (("SQLAlchemy Core:   ", core, "core"),
                              ("driver executemany:", driver, "driver")):  # fmt: skip
        runs = ", ".join(f"{x:.3f}" for x in got[key])
        print(f"{label} {value:.3f} ms CPU per sample (runs: {runs})")
    print(f"driver / Core:        {driver / core:.2f}")


if __name__ == "__main__":
    main()
