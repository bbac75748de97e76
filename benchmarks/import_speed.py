"""Import speed: ``hyouka import`` of generic JSONL rows with scores, at two sizes.

Writes a project with one dataset of 2,000 cases and JSONL files of N rows (2,000 cases ×
5 variants × N/10,000 samples; each row an id, variant, sample index, a Japanese output of
40–120 characters, latency, tokens, cost and two scores), then imports each file in a fresh
process (so its peak RSS is its own) through the Python API, and prints rows per second and
the peak RSS. Memory is flat in N when the two peaks are close.

    python benchmarks/import_speed.py [--sizes 20000,100000] [--db URL]

``--db`` a PostgreSQL URL: the benchmark works in a new schema of that database and drops it
at the end; default: a fresh SQLite file per size. Target (issue 18): ≥ 20,000 rows/s on 2
cores, memory flat in N.
The import runs in one process (the database server, for PostgreSQL, is the other): rows per
CPU-second of that process is the figure that does not depend on what else the machine runs.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = 2000
VARIANTS = 5
TEXT = "東京は日本の首都で、人口はおよそ千四百万人です。政治と経済の中心でもあります。"


def write_files(root: Path, n: int) -> Path:
    (root / "data").mkdir(parents=True, exist_ok=True)
    cases = root / "data" / "cases.jsonl"
    if not cases.exists():
        with cases.open("w", encoding="utf-8") as fh:
            for i in range(CASES):
                row = {"id": f"c{i}", "vars": {"question": f"質問 {i}"}, "expected": "東京"}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        (root / "hyouka.yaml").write_text(
            "name: importbench\ndatasets:\n  main: data/cases.jsonl\n", encoding="utf-8"
        )
    samples = max(1, n // (CASES * VARIANTS))
    path = root / f"rows-{n}.jsonl"
    rng = random.Random(n)
    with path.open("w", encoding="utf-8") as fh:
        written = 0
        for k in range(samples):
            for i in range(CASES):
                for v in range(VARIANTS):
                    if written == n:
                        break
                    cut = rng.randint(40, 120)
                    row = {
                        "id": f"c{i}", "variant": f"model-{v}", "sample": k,
                        "output": (TEXT * 3)[:cut], "latency_ms": round(rng.uniform(50, 900), 1),
                        "input_tokens": rng.randint(20, 80), "output_tokens": cut // 2,
                        "cost": 0.0001, "scores": {"exact": rng.random() < 0.5,
                                                   "quality": round(rng.random(), 3)},
                    }  # fmt: skip
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                    written += 1
    return path


def child(root: str, file: str, url: str) -> None:
    from hyouka.api import Workspace, upgrade_schema

    if not url.startswith("sqlite"):
        upgrade_schema(root, url)
    ws = Workspace.open(root, url)
    import hyouka.imports.importer  # noqa: F401  (its import time is not the import's)

    started, cpu = time.perf_counter(), time.process_time()
    result = ws.imports.file(file)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": result.rows, "samples": result.samples, "scores": result.scores,
                      "seconds": elapsed, "cpu": cpu, "peak_mb": peak_mb}))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="20000,100000")
    ap.add_argument("--db", default=None, help="a PostgreSQL URL (default: SQLite)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    schema = None
    if args.db:  # a fresh schema of that database, dropped at the end
        import secrets

        import psycopg

        schema = f"import_bench_{secrets.token_hex(4)}"
        raw = args.db.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in args.db else "?"
        args.db = f"{args.db}{sep}options=-csearch_path%3D{schema}"
    try:
        run_sizes(sizes, args.db)
    finally:
        if schema is not None:
            with psycopg.connect(raw, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def run_sizes(sizes: list[int], db: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"store: {'PostgreSQL' if db else 'SQLite'}; {CASES} cases × {VARIANTS} "
              "variants; 2 scores per row")  # fmt: skip
        for n in sizes:
            file = write_files(root, n)
            url = db or f"sqlite:///{root / f'store-{n}.db'}"
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(root), str(file), url],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            found = json.loads(out.stdout.strip().splitlines()[-1])
            rate = found["rows"] / found["seconds"]
            per_cpu = found["rows"] / found["cpu"]
            print(f"{n:>7,} rows: {found['seconds']:6.2f} s  {rate:>8,.0f} rows/s  "
                  f"({per_cpu:,.0f} rows per CPU-second of the importing process)  "
                  f"{found['scores']:,} scores  peak RSS {found['peak_mb']:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
