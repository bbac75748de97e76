"""A provider that refuses calls beyond its capacity (429): fixed vs adaptive calls in flight.

The fake OpenAI-compatible server answers after ``--latency-ms`` and refuses (429, no
Retry-After) any call arriving while ``--capacity`` calls are in flight, like an API key's
concurrency limit or a busy vLLM gateway. hyouka runs N cases with ``--conc`` workers, once with
a fixed limit (``adaptive: false``: all workers call at once) and once adaptive (the default:
a 429 halves the calls in flight, answers add them back). Prints, for each: wall time against
the ideal (N × latency / capacity), model calls per sample, 429s, and samples lost to exhausted
retries.

    python benchmarks/adaptive_limits.py [--n 400] [--capacity 8] [--conc 64] [--latency-ms 50]
    python benchmarks/adaptive_limits.py --refusing 3 [--n 3000] [--conc 16]

Target: adaptive loses no sample, and its wall time stays within 1.5 × the ideal.

``--refusing K`` measures the other kind of 429 (issue 12): a provider without a capacity
limit, and K prompts that it refuses every time (a content filter or a per-prompt quota
answering 429), spread over the first half of the dataset. Those K samples end as
``rate_limited`` after their retries; the other calls must not slow down for them. Prints the
run without the refusing prompts and the run with them (same N); target: with ≤ 1.2 × without.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from hyouka.api import Workspace
from hyouka.testing import FakeServer


def refusing_positions(n: int, k: int) -> set[int]:
    """K case positions spread over the first half of N (never the very last cases: a
    refusing case there would only measure its own retries)."""
    return {(j + 1) * n // (2 * (k + 1)) for j in range(k)}


def write_project(
    root: Path,
    base_url: str,
    n: int,
    conc: int,
    adaptive: bool,
    refusing: set[int] = frozenset(),
    max_retries: int = 8,
) -> Path:
    import yaml

    root.mkdir(parents=True)
    lines = []
    for i in range(n):
        q = f"質問 {i}" + (" [[fault:429]]" if i in refusing else "")
        lines.append(json.dumps({"id": f"c{i}", "vars": {"q": q}}, ensure_ascii=False) + "\n")
    (root / "cases.jsonl").write_text("".join(lines), "utf-8")
    config = {
        "name": "busy-provider",
        "samples": 1,
        "concurrency": conc,
        "providers": {
            "srv": {
                "type": "openai",
                "base_url": base_url,
                "model": "fake",
                "max_retries": max_retries,
                "adaptive": adaptive,
            }
        },
        "variants": {"v": {"provider": "srv", "prompt": "{{ q }}"}},
        "datasets": {"main": "cases.jsonl"},
    }
    (root / "hyouka.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    return root


def trial(args: argparse.Namespace, adaptive: bool) -> dict[str, Any]:
    latency = args.latency_ms / 1000
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeServer(latency=latency, capacity=args.capacity, keep_calls=False) as srv,
    ):
        root = write_project(Path(tmp) / "p", srv.base_url, args.n, args.conc, adaptive)
        ws = Workspace.open(root)
        started = time.perf_counter()
        result = ws.run(retry_base_delay=0.1)
        wall = time.perf_counter() - started
        calls = srv.stats()["model_calls"]
        ws.close()
    ideal = args.n * latency / args.capacity
    limits = result.limits.get("srv")
    return {
        "mode": "adaptive" if adaptive else "fixed",
        "wall_s": round(wall, 2),
        "ideal_s": round(ideal, 2),
        "ratio": round(wall / ideal, 2),
        "calls_per_sample": round(calls / args.n, 2),
        "rate_limited": result.progress.rate_limited,
        "lost": result.progress.errors,
        "limit": None if limits is None else f"{limits.ceiling}→{limits.lowest}..{limits.final}",
    }


def refusing_trial(args: argparse.Namespace, k: int) -> dict[str, Any]:
    latency = args.latency_ms / 1000
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeServer(latency=latency, keep_calls=False) as srv,
    ):
        refusing = refusing_positions(args.n, k)
        root = write_project(
            Path(tmp) / "p", srv.base_url, args.n, args.conc, True, refusing, max_retries=6
        )
        ws = Workspace.open(root)
        started = time.perf_counter()
        result = ws.run(retry_base_delay=0.1)
        wall = time.perf_counter() - started
        calls = srv.stats()["model_calls"]
        ws.close()
    limits = result.limits.get("srv")
    return {
        "wall_s": wall,
        "calls": calls,
        "rate_limited": result.progress.rate_limited,
        "lost": result.progress.errors,
        "limit": None if limits is None else f"{limits.ceiling}→{limits.lowest}..{limits.final}",
        "cuts": None if limits is None else limits.cuts,
    }


def main_refusing(args: argparse.Namespace) -> None:
    ideal = args.n * args.latency_ms / 1000 / args.conc
    print(
        f"{args.n} cases, {args.conc} workers, no capacity limit, latency {args.latency_ms:g} ms "
        f"(ideal {ideal:.2f} s); {args.refusing} prompts refused (429) every time, "
        f"at positions {sorted(refusing_positions(args.n, args.refusing))}"
    )
    runs = {}
    for k in (0, args.refusing):
        r = runs[k] = refusing_trial(args, k)
        print(
            f"{k} refusing: wall {r['wall_s']:6.2f} s, {r['calls']} calls, "
            f"{r['rate_limited']} refused (429), {r['lost']} samples not ok, "
            f"calls in flight {r['limit']} ({r['cuts']} cuts)"
        )
    ratio = runs[args.refusing]["wall_s"] / runs[0]["wall_s"]
    print(f"with/without: {ratio:.2f} × " + ("[ok]" if ratio <= 1.2 else "[MISS]") + " (≤ 1.2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--capacity", type=int, default=8)
    parser.add_argument("--conc", type=int, default=None)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--refusing", type=int, default=0, help="prompts refused every time")
    args = parser.parse_args()
    if args.refusing:
        args.n = args.n or 3000
        args.conc = args.conc or 16
        main_refusing(args)
        return
    args.n = args.n or 400
    args.conc = args.conc or 64
    print(
        f"{args.n} cases, {args.conc} workers, provider capacity {args.capacity}, "
        f"latency {args.latency_ms:g} ms"
    )
    for adaptive in (False, True):
        r = trial(args, adaptive)
        ok = r["lost"] == 0 and r["ratio"] <= 1.5
        print(
            f"{r['mode']:8} wall {r['wall_s']:6.2f} s = {r['ratio']:5.2f} × ideal "
            f"({r['ideal_s']:.2f} s); {r['calls_per_sample']:.2f} calls per sample, "
            f"{r['rate_limited']} refused (429), {r['lost']} samples lost"
            + (f"; calls in flight {r['limit']}" if r["limit"] else "")
            + ("" if not adaptive else (" [ok]" if ok else " [MISS]"))
        )


if __name__ == "__main__":
    main()
