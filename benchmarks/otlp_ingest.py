"""OTLP ingestion (``POST /v1/traces``) against a real ``hyouka serve``: spans/s, latency per
export request, spans lost, server CPU per span.

Starts ``hyouka serve`` on a fresh project (SQLite, and/or a new schema of the PostgreSQL at
``HYOUKA_TEST_POSTGRES_URL``), then sends gzip'd protobuf export requests of ``--spans`` GenAI
chat spans each (messages on the span, as opentelemetry-instrumentation-openai-v2 sends them):

1. *max*: ``--senders`` exporters in a closed loop (each sends its next request on the answer)
   for ``--duration`` seconds: the sustained throughput;
2. *paced*: requests at ``--rate`` spans/s (open loop, one every spans/rate seconds) for
   ``--duration`` seconds: the latency an exporter sees at that load.

Then counts the stored spans: every acknowledged span must be there, once. Server CPU is the
server processes' user+system time over the run (/proc), per stored span.

    python benchmarks/otlp_ingest.py [--db sqlite|postgres|both] [--spans 100] [--senders 4]
        [--rate 2000] [--duration 10] [--workers 1]

Target (issue 18): ≥ 2,000 spans/s sustained on SQLite and on PostgreSQL, p99 per export
request < 100 ms at 100 spans per request, 0 spans lost.
"""

from __future__ import annotations

import argparse
import gzip
import os
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from traces_env import Project, llm_attributes, make_project, start_server, stop, trace_request

PB = {"content-type": "application/x-protobuf", "content-encoding": "gzip"}


def _cpu_seconds(pid: int) -> float:
    """User+system CPU of ``pid`` and its children (uvicorn workers), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _batches(n: int, spans: int) -> list[tuple[bytes, int]]:
    out = []
    for _ in range(n):
        trace = secrets.token_bytes(16)
        body = trace_request(
            [(trace, secrets.token_bytes(8), llm_attributes(i)) for i in range(spans)]
        )
        out.append((gzip.compress(body, 6), spans))
    return out


class Sent:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked = 0
        self.failed = 0
        self.latencies: list[float] = []

    def record(self, ok: bool, spans: int, seconds: float) -> None:
        with self.lock:
            if ok:
                self.acked += spans
                self.latencies.append(seconds)
            else:
                self.failed += 1


def _send(client: httpx.Client, body: bytes, spans: int, sent: Sent) -> None:
    started = time.perf_counter()
    try:
        ok = client.post("/v1/traces", content=body).status_code == 200
    except httpx.HTTPError:
        ok = False
    sent.record(ok, spans, time.perf_counter() - started)


def _closed_loop(
    base: str, key: str, batches: list[tuple[bytes, int]], senders: int, duration: float
) -> Sent:
    sent = Sent()
    end = time.monotonic() + duration
    it = iter(batches)
    take = threading.Lock()

    def run() -> None:
        with httpx.Client(base_url=base, headers={**PB, "x-api-key": key}, timeout=30) as client:
            while time.monotonic() < end:
                with take:
                    item = next(it, None)
                if item is None:
                    return
                _send(client, item[0], item[1], sent)

    threads = [threading.Thread(target=run) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sent


def _paced(
    base: str, key: str, batches: list[tuple[bytes, int]], rate: float, duration: float
) -> Sent:
    sent = Sent()
    interval = batches[0][1] / rate
    pool: list[threading.Thread] = []
    clients = [
        httpx.Client(base_url=base, headers={**PB, "x-api-key": key}, timeout=30) for _ in range(8)
    ]
    free = list(clients)
    free_lock = threading.Lock()

    def one(body: bytes, spans: int) -> None:
        with free_lock:
            client = (
                free.pop()
                if free
                else httpx.Client(base_url=base, headers={**PB, "x-api-key": key}, timeout=30)
            )
        _send(client, body, spans, sent)
        with free_lock:
            free.append(client)

    start = time.monotonic()
    for n, (body, spans) in enumerate(batches):
        due = start + n * interval
        if due - start >= duration:
            break
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        t = threading.Thread(target=one, args=(body, spans))
        t.start()
        pool.append(t)
    for t in pool:
        t.join()
    for c in free:
        c.close()
    return sent


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _stored(project: Project) -> int:
    from hyouka.store.tx import reading
    from hyouka.traces import queries

    ws = project.workspace()
    with reading(ws.store) as conn:
        n = queries.count_spans(conn, ws.name)
    ws.close()
    return n


def bench(db: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hyouka-otlp-"))
    schema_cm = None
    url = None
    if db == "postgres":
        from pg import temporary_schema

        from hyouka.store import db as store_db

        schema_cm = temporary_schema("hyouka_bench")
        url = schema_cm.__enter__()
        engine = store_db.create(url)
        store_db.upgrade(engine)
        engine.dispose()
    project = make_project(folder / "project", url)
    server, base = start_server(project, workers=args.workers)
    try:
        per_max = int(args.duration * 8000 / args.spans) + 10
        batches = _batches(per_max + int(args.duration * args.rate / args.spans) + 10, args.spans)
        warm = _batches(5, args.spans)
        _closed_loop(base, project.key, warm, 1, 5)
        cpu0, stored0 = _cpu_seconds(server.pid), _stored(project)
        t0 = time.perf_counter()
        top = _closed_loop(base, project.key, batches[:per_max], args.senders, args.duration)
        elapsed = time.perf_counter() - t0
        paced = _paced(base, project.key, batches[per_max:], args.rate, args.duration)
        cpu = _cpu_seconds(server.pid) - cpu0
        stored = _stored(project) - stored0
        acked = top.acked + paced.acked
        print(f"== {db} (workers {args.workers}, {args.spans} spans/request)")
        print(f"  max:   {top.acked / elapsed:,.0f} spans/s sustained over {elapsed:.1f} s "
              f"({args.senders} senders), request p50 {_p(top.latencies, .5):.1f} ms, "
              f"p99 {_p(top.latencies, .99):.1f} ms, failed requests {top.failed}")  # fmt: skip
        print(f"  paced: {args.rate:,.0f} spans/s for {args.duration:.0f} s: request p50 "
              f"{_p(paced.latencies, .5):.1f} ms, p99 {_p(paced.latencies, .99):.1f} ms, "
              f"max {_p(paced.latencies, 1.0):.1f} ms, failed requests {paced.failed}")  # fmt: skip
        print(f"  stored {stored:,} of {acked:,} acknowledged spans: lost {acked - stored:,}")
        print(f"  server CPU: {cpu:.1f} s, {cpu / max(stored, 1) * 1e6:.0f} µs per span")
    finally:
        stop(server)
        if schema_cm is not None:
            schema_cm.__exit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--spans", type=int, default=100)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        bench(db, args)


if __name__ == "__main__":
    main()
