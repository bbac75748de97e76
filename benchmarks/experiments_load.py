"""Live experiments: in-process assignment, ``POST /api/assign`` at a fixed rate, and event
ingestion through the client, on SQLite and PostgreSQL.

1. ``hyouka.client.Client.assign`` in-process (hash + cached allocation + buffering the
   exposure), per call, over ``--calls`` units.
2. ``POST /api/assign`` sent open-loop at ``--rate`` requests/s for ``--duration`` seconds
   over 16 keep-alive connections to one ``hyouka`` server process; latency is measured from
   the moment each request was *due* (queueing included); p50/p99.
3. ``--events`` events (exposures and outcomes) pushed through 4 clients as fast as they
   go, then flushed: events/s from the first push to the last acknowledgement, then the store
   is counted: every event must be there exactly once (0 lost, 0 duplicated).

    python benchmarks/experiments_load.py [--db sqlite|postgres|both] [--rate 500]
        [--duration 10] [--events 50000] [--calls 200000]

Targets (issue 14): assignment ≤ 10 µs per call; /api/assign p99 < 10 ms at 500 requests/s
on 2 cores; ingestion ≥ 5,000 events/s on SQLite and PostgreSQL with 0 lost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from web_load import PG_DEFAULT, cpu_seconds, drop_schema, free_port, pct, pg_schema, start_server


def make_project(root: Path, url: str) -> str:
    from hyouka.api import Workspace

    root.mkdir(parents=True, exist_ok=True)
    config = {
        "name": "bench",
        "experiments": {
            "tone": {
                "variants": ["polite", "concise"],
                "outcomes": {"accepted": {"kind": "accepted"}},
                "guardrails": [{"metric": "latency_ms", "max_increase": 300}],
            }
        },
    }
    (root / "hyouka.yaml").write_text(yaml.safe_dump(config), "utf-8")
    ws = Workspace.open(root, url)
    ws.experiments.start("tone")
    _key, secret = ws.api_keys.add("bench")
    ws.close()
    return secret


def bench_in_process(calls: int) -> dict[str, float]:
    from hyouka.client import Client
    from hyouka.experiments import allocation as alloc

    a = alloc.Allocation.from_json(
        {"name": "tone", "status": "running", "revision": 1, "seed": 0,
         "variants": ["polite", "concise"], "control": "polite", "ramp": 1.0,
         "buckets": alloc.encode(alloc.initial_buckets([0.5, 0.5]))}
    )  # fmt: skip
    client = Client("http://127.0.0.1:9", "hk_x", start=False, max_buffer=calls + 10)
    client._allocs = {"tone": a}
    units = [f"user-{i}" for i in range(calls // 5)]
    logged: list[float] = []
    bare: list[float] = []
    for _ in range(5):  # best and median of 5 rounds: the machine is shared
        started = time.perf_counter()
        for u in units:
            client.assign("tone", u)
        logged.append((time.perf_counter() - started) / len(units) * 1e6)
        started = time.perf_counter()
        for u in units:
            client.assign("tone", u, log_exposure=False)
        bare.append((time.perf_counter() - started) / len(units) * 1e6)
    return {
        "assign_us": min(logged),
        "assign_us_median": sorted(logged)[2],
        "assign_no_log_us": min(bare),
    }


async def open_loop(base: str, key: str, rate: float, duration: float) -> dict[str, Any]:
    conn = aiohttp.TCPConnector(limit=16)
    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(base, connector=conn, headers={"X-API-Key": key}) as http:
        for i in range(50):  # warm up the connections and the allocation cache
            async with http.post("/api/assign", json={"experiment": "tone", "unit_id": f"w{i}"}):
                pass
        start = time.perf_counter()
        total = int(rate * duration)

        async def one(i: int) -> None:
            nonlocal errors
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            async with http.post(
                "/api/assign", json={"experiment": "tone", "unit_id": f"u{i}"}
            ) as r:
                await r.read()
                if r.status != 200:
                    errors += 1
            latencies.append((time.perf_counter() - due) * 1000)

        await asyncio.gather(*(one(i) for i in range(total)))
        elapsed = time.perf_counter() - start
    return {
        "sent": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50_ms": pct(latencies, 0.50),
        "p99_ms": pct(latencies, 0.99),
        "max_ms": max(latencies),
        "errors": errors,
    }


def ingest(base: str, key: str, n_events: int, url: str) -> dict[str, Any]:
    from hyouka.client import Client
    from hyouka.experiments.queries import count_events
    from hyouka.store.store import Store

    clients = [Client(base, key, flush_seconds=0.05, max_buffer=n_events) for _ in range(4)]
    deadline = time.monotonic() + 20
    while any("tone" not in c._allocs for c in clients) and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.perf_counter()
    per = n_events // 4 // 2
    for k, c in enumerate(clients):
        for i in range(per):
            u = f"c{k}-u{i}"
            c.assign("tone", u)
            c.track("tone", u, "accepted", i % 2)
    for c in clients:
        assert c.flush(300), c.last_error
    elapsed = time.perf_counter() - started
    for c in clients:
        c.close()
    sent = per * 2 * 4
    store = Store.open(url)
    counts = count_events(store, "bench", "tone")
    store.close()
    stored = sum(counts.values())
    return {
        "events": sent,
        "events_per_s": sent / elapsed,
        "stored": stored,
        "lost": sent - stored if stored <= sent else 0,
        "duplicated": max(0, stored - sent),
        "dropped_by_clients": sum(c.dropped for c in clients),
        "retries": sum(c.retries for c in clients),
    }


def bench_db(db: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        schema = None
        if db == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'hyouka.db'}"
        else:
            url, schema = pg_schema(os.environ.get("HYOUKA_TEST_POSTGRES_URL", PG_DEFAULT))
        try:
            key = make_project(root, url)
            port = free_port()
            server = start_server(root, url, port, 1)
            base = f"http://127.0.0.1:{port}"
            try:
                cpu0 = cpu_seconds(server.pid)
                assign = asyncio.run(open_loop(base, key, args.rate, args.duration))
                cpu1 = cpu_seconds(server.pid)
                events = ingest(base, key, args.events, url)
                cpu2 = cpu_seconds(server.pid)
                assign["server_cpu_us"] = (cpu1 - cpu0) / max(1, assign["sent"] + 50) * 1e6
                events["server_cpu_us"] = (cpu2 - cpu1) / max(1, events["events"]) * 1e6
            finally:
                server.terminate()
                server.wait(timeout=30)
        finally:
            if schema:
                drop_schema(os.environ.get("HYOUKA_TEST_POSTGRES_URL", PG_DEFAULT), schema)
    return {"assign": assign, "ingest": events}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    local = bench_in_process(args.calls)
    print(
        f"in-process assign: {local['assign_us']:.2f} µs/call with the exposure buffered "
        f"(median of 5 rounds {local['assign_us_median']:.2f}), {local['assign_no_log_us']:.2f} "
        f"µs without (target ≤ 10 µs)"
    )
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        r = bench_db(db, args)
        a, e = r["assign"], r["ingest"]
        print(
            f"{db}: POST /api/assign at {a['rate']:.0f}/s over {a['sent']} requests: "
            f"p50 {a['p50_ms']:.2f} ms, p99 {a['p99_ms']:.2f} ms, max {a['max_ms']:.1f} ms, "
            f"{a['errors']} errors; server CPU {a['server_cpu_us']:.0f} µs/request "
            f"(target p99 < 10 ms at 500/s)"
        )
        print(
            f"{db}: ingestion {e['events_per_s']:,.0f} events/s ({e['events']:,} sent, "
            f"{e['stored']:,} stored, {e['lost']} lost, {e['duplicated']} duplicated, "
            f"{e['retries']} retried batches; server CPU {e['server_cpu_us']:.0f} µs/event) "
            f"(target ≥ 5,000/s, 0 lost)"
        )


if __name__ == "__main__":
    main()
