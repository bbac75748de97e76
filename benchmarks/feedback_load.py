"""Production feedback (``POST /api/feedback``) while annotators judge: does it queue behind them?

Starts ``hyouka`` under uvicorn (as benchmarks/web_load.py does, on a fresh project) and sends
feedback from ``--senders`` apps in a closed loop (each waits for its answer, then sends the
next) for ``--duration`` seconds: first alone, then while ``--annotators`` people judge without
pause. Prints feedback/s alone and under load, its p50/p99 latency, and judgments/s; then
checks the store: every acknowledged feedback is there exactly once.

    python benchmarks/feedback_load.py [--db sqlite|postgres|both] [--annotators 12]
        [--senders 4] [--duration 10]

Target (issue 12): ≥ 50 feedback/s under 12 busy annotators, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))
from web_load import (
    PG_DEFAULT,
    Stats,
    annotator,
    drop_schema,
    free_port,
    make_project,
    pct,
    pg_schema,
    start_server,
)


@dataclass
class Sent:
    ms: list[float] = field(default_factory=list)
    acked: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


async def sender(base: str, key: str, stop_at: float, sent: Sent, rng: random.Random) -> None:
    headers = {"X-API-Key": key}
    async with aiohttp.ClientSession(base, headers=headers) as http:
        while time.monotonic() < stop_at:
            ref = secrets.token_hex(8)
            body = {
                "thumb": rng.choice(["up", "down"]),
                "comment": "回答が長すぎます" if rng.random() < 0.3 else None,
                "tags": ["長すぎる"] if rng.random() < 0.2 else [],
                "input_text": "返品の方法は?",
                "output_text": "お問い合わせありがとうございます。" * 5,
                "external_ref": ref,
                "idempotency_key": ref,
            }
            t0 = time.perf_counter()
            async with http.post("/api/feedback", json=body) as r:
                await r.read()
                status = r.status
            sent.ms.append((time.perf_counter() - t0) * 1000)
            if status == 201:
                sent.acked.add(ref)
            else:
                sent.errors.append(str(status))


async def phase(
    base: str, setup: dict[str, Any], args: argparse.Namespace, annotators: int
) -> tuple[Sent, Stats, float]:
    sent, stats = Sent(), Stats()
    rng = random.Random(args.seed + annotators)
    started = time.monotonic()
    stop_at = started + args.duration
    people = setup["tokens"][:annotators]
    await asyncio.gather(
        *(sender(base, setup["key"], stop_at, sent, random.Random(rng.random()))
          for _ in range(args.senders)),
        *(annotator(base, setup["campaign"], who, stop_at, 0, stats, random.Random(rng.random()))
          for who in people),
    )  # fmt: skip
    return sent, stats, time.monotonic() - started


def stored_refs(url: str, project: str) -> list[str]:
    from sqlalchemy import select

    from hyouka.store.schema import judgments
    from hyouka.store.store import Store

    store = Store.open(url)
    with store.engine.connect() as conn:
        refs = conn.execute(
            select(judgments.c.external_ref).where(
                judgments.c.project == project, judgments.c.source == "production"
            )
        ).scalars()
        out = [str(r) for r in refs]
    store.close()
    return out


def bench(db: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    from hyouka import humans
    from hyouka.store.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        schema = None
        if db == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'store.db'}"
        else:
            url, schema = pg_schema(args.pg_url)
        try:
            setup = make_project(root, url, args.items, args.annotators)
            store = Store.open(url)
            setup["key"] = humans.add_api_key(store, setup["project"], "bench-app")[1]
            store.close()
            port = free_port()
            server = start_server(root, url, port, 1)
            rows = []
            acked: set[str] = set()
            try:
                for people in (0, args.annotators):
                    sent, stats, wall = asyncio.run(
                        phase(f"http://127.0.0.1:{port}", setup, args, people)
                    )
                    acked |= sent.acked
                    rows.append(
                        {
                            "db": db,
                            "annotators": people,
                            "senders": args.senders,
                            "feedback_per_s": round(len(sent.acked) / wall, 1),
                            "feedback_p50_ms": round(pct(sent.ms, 0.5), 1),
                            "feedback_p99_ms": round(pct(sent.ms, 0.99), 1),
                            "judgments_per_s": round(len(stats.acked) / wall, 1),
                            "errors": len(sent.errors) + len(stats.errors),
                            "load_average": round(os.getloadavg()[0], 1),
                        }
                    )
            finally:
                server.terminate()
                server.wait(timeout=30)
            refs = stored_refs(url, setup["project"])
            lost = len(acked - set(refs))
            duplicated = len(refs) - len(set(refs))
            for row in rows:
                row.update(lost=lost, duplicated=duplicated)
        finally:
            if schema:
                drop_schema(args.pg_url, schema)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--annotators", type=int, default=12)
    parser.add_argument("--senders", type=int, default=4, help="apps sending feedback at once")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--items", type=int, default=20000, help="pairs in the campaign")
    parser.add_argument("--pg-url", default=os.environ.get("HYOUKA_TEST_POSTGRES_URL", PG_DEFAULT))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows = [row for db in dbs for row in bench(db, args)]
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))
    for r in rows:
        busy = r["annotators"] > 0
        verdict = "" if not busy else (" [ok]" if r["feedback_per_s"] >= 50 else " [MISS]")
        print(
            f"{r['db']:8} feedback with {r['annotators']:2} busy annotators: "
            f"{r['feedback_per_s']:6.1f}/s (p50 {r['feedback_p50_ms']} ms, p99 "
            f"{r['feedback_p99_ms']} ms); judgments {r['judgments_per_s']}/s; errors "
            f"{r['errors']}, lost {r['lost']}, duplicated {r['duplicated']} "
            f"(load average {r['load_average']}){verdict}"
        )


if __name__ == "__main__":
    main()
