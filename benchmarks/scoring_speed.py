"""Rescoring speed: ``hyouka score`` over 100,000 stored samples with 5 deterministic checks.

Builds a SQLite store holding one run of 2 variants × 5,000 cases × 10 samples (synthetic
Japanese answers of 40–120 characters, each case with two references), then times
:func:`hyouka.scorers.scoring.score_run` with the checks ``contains``, ``not-contains``, ``regex``,
``char-f1`` (JGLUE bag-of-characters F1, max over the references) and ``ja-ratio`` — first in
one process, then with worker processes — deleting the score rows between passes. Prints the
samples per second of each pass and where the time goes (read, check, write).

    python benchmarks/scoring_speed.py [--samples 100000] [--workers 2]

Target (issue 4): ≥ 20,000 samples per second on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml
from sqlalchemy import delete

from hyouka.config import load_config
from hyouka.datasets import Dataset, case_from_mapping
from hyouka.scorers.engine import compile_checks, run_check
from hyouka.scorers.queries import sample_rows
from hyouka.scorers.run_samples import load_run, make_view
from hyouka.scorers.scoring import score_run
from hyouka.store.schema import scores
from hyouka.store.store import SampleRecord, Store

CHECKS = [
    {"type": "contains", "value": "東京"},
    {"type": "not-contains", "value": "AIとして"},
    {"type": "regex", "value": r"\d+円"},
    {"type": "char-f1", "threshold": 0.5},
    {"type": "ja-ratio"},
]
WORDS = tuple(
    [
        "東京",
        "大阪",
        "京都",
        "日本",
        "首都",
        "料金",
        "は",
        "が",
        "を",
        "に",
        "の",
        "です",
        "ます",
        "。",
        "、",
        "1000円",
        "2500円",
        "お問い合わせ",
        "ありがとう",
        "ございます",
        "返金",
        "手続き",
        "注文",
        "番号",
        "確認",
        "AIとして",
        "お答え",
        "できません",
        "営業時間",
        "10時〜18時",
        "ご不便",
        "おかけして",
        "申し訳",
        "Tokyo",
        "refund",
    ]
)


def sentence(rng: random.Random) -> str:
    out = ""
    while len(out) < rng.randint(40, 120):
        out += rng.choice(WORDS)
    return out


def build(root: Path, n_samples: int, seed: int = 0) -> tuple[Store, str]:
    cfg = {"name": "bench", "providers": {"e": {"type": "echo"}},
           "variants": {"a": {"provider": "e", "prompt": "{{ q }}"},
                        "b": {"provider": "e", "prompt": "{{ q }}!"}},
           "datasets": {"main": "cases.jsonl"}, "checks": CHECKS}  # fmt: skip
    (root / "hyouka.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    rng = random.Random(seed)
    n_cases, per = n_samples // 20, 10
    rows = [{"id": f"c{i}", "vars": {"q": f"質問{i}"},
             "expected": [sentence(rng), sentence(rng)]} for i in range(n_cases)]  # fmt: skip
    cases = [case_from_mapping(r) for r in rows]
    store = Store.open(f"sqlite:///{root / 'bench.db'}")
    ds_id, case_ids = store.save_dataset("bench", Dataset("main", root / "cases.jsonl", cases))
    vids = [store.save_variant("bench", name, name, "prompt", {"n": name}) for name in "ab"]
    run = store.create_run("bench", seed=0, n_samples=per, fingerprint="bench", config={},
                           variant_ids=vids, dataset_ids=[ds_id])  # fmt: skip
    records = [
        SampleRecord(
            {
                "run_id": run.id,
                "variant_id": vid,
                "case_id": case_ids[c.id],
                "sample_index": k,
                "target": "",
                "role": "app",
                "seed": k,
                "status": "ok",
                "output": sentence(rng),
                "error": None,
                "latency_ms": 100.0,
                "input_tokens": 10,
                "output_tokens": 30,
                "cost": 0.0,
                "contexts": None,
                "cache_key": f"{vid}:{c.id}:{k}",
                "cached": False,
                "attempts": 1,
            }
        )
        for c in cases
        for k in range(per)
        for vid in vids
    ]
    for start in range(0, len(records), 5000):
        store.write_samples(records[start : start + 5000])
    return store, run.uid


def phases(root: Path, store: Store, uid: str) -> dict[str, float]:
    """CPU time of each phase in one process, to show where the time goes."""
    project = load_config(root)
    c0 = time.process_time()
    data = load_run(store, store.get_run(uid))
    rows = sample_rows(store, data.run.id)
    c1 = time.process_time()
    views = [make_view(r, data.cases, data.names) for r in rows]
    c2 = time.process_time()
    checks = list(compile_checks(project).global_checks)
    results = [run_check(c, v) for v in views for c in checks]
    c3 = time.process_time()
    return {"read_s": c1 - c0, "views_s": c2 - c1, "checks_s": c3 - c2, "evaluations": len(results)}


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the worker processes)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(root: Path, store: Store, uid: str, workers: int) -> dict[str, float]:
    with store.engine.begin() as conn:
        conn.execute(delete(scores))
    project = load_config(root)
    t0, c0 = time.perf_counter(), cpu_seconds()
    report = score_run(project, store, uid, judges=False, workers=workers)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    # CPU time is what the machine's other load does not change: samples per CPU-second times
    # the cores is the rate an idle machine reaches when the work splits evenly.
    return {
        "workers": report.workers,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "rows": report.written,
        "samples_per_s": round(report.samples / wall),
        "samples_per_cpu_s": round(report.samples / cpu),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        store, uid = build(root, args.samples)
        setup = time.perf_counter() - t0
        single = timed(root, store, uid, 1)
        parallel = timed(root, store, uid, args.workers)
        split = phases(root, store, uid)
    out = {"samples": args.samples, "checks": [c["type"] for c in CHECKS],
           "cpus": os.cpu_count(), "setup_s": round(setup, 1), "one_process": single,
           "parallel": parallel, "phases_one_process": {k: round(v, 3) for k, v in split.items()},
           "target_samples_per_s": 20_000}  # fmt: skip
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
