"""Load on the judging server: N annotators at once, each fetching an item and judging it.

Starts ``hyouka`` under uvicorn (a separate process, 127.0.0.1) on a fresh project of echo-model
outputs, signs in N annotators, and lets each loop for a bounded time: GET the next item
(``/c/<campaign>``), optionally think, POST a judgment (10% of forms are sent twice at once,
like a double click). Then it checks the store: every judgment the server acknowledged is
there exactly once (lost = acknowledged but missing, duplicated = more than one row for an
annotator's item or for a form). Reports judgments/s and p50/p95/p99 latency per request.

    python benchmarks/web_load.py [--db sqlite|postgres|both] [--annotators 200]
        [--duration 20] [--think-ms 0] [--workers 1] [--pg-url URL]

``--think-ms`` adds a random pause (0..2×value, mean = value) between reading and voting, as
a person would take; 0 is a closed loop (saturation). Target (issue 5): p99 < 100 ms,
0 lost, 0 duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

HIDDEN = re.compile(r'<input type="hidden" name="(csrf|key)" value="([^"]*)">')
ACTION = re.compile(r'<form method="post" action="(/a/[^"]+)" id="judge-form"')
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class Stats:
    get_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)  # form key -> annotator id
    double_sent: int = 0
    errors: list[str] = field(default_factory=list)
    finished: int = 0  # annotators who ran out of items
    retried: int = 0  # requests resent on a connection closed by the server


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its direct children (uvicorn workers), Linux."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def postgres_cpu_seconds() -> float:
    """CPU of every local ``postgres`` process (the database's share of the work), Linux."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, fields = text.split("(", 1)[1].split(")", 1)[0], text.rsplit(")", 1)[1].split()
        if name.startswith("postgres"):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_project(root: Path, url: str, items: int, annotators: int) -> dict[str, Any]:
    """A project with ``items`` pairs to judge, the people, and a campaign (overlap 3)."""
    import yaml

    from hyouka import humans
    from hyouka.api import Workspace

    root.mkdir(parents=True)
    (root / "data").mkdir()
    cases = items // 4 + 1  # 4 samples per case: 4 pairs per case
    (root / "data" / "cases.jsonl").write_text(
        "".join(
            json.dumps(
                {"id": f"c{i}", "vars": {"question": f"質問 {i}: 返品の方法は?"}},
                ensure_ascii=False,
            )
            + "\n"
            for i in range(cases)
        ),
        "utf-8",
    )
    project = f"load{secrets.token_hex(3)}"
    config = {
        "name": project,
        "samples": 4,
        "store": url,
        "providers": {"fake": {"type": "echo"}},
        "variants": {
            "polite": {
                "provider": "fake",
                "prompt": "{{ question }}",
                "params": {
                    "reply": "お問い合わせありがとうございます。{last} について、"
                    "ご案内いたします。" * 3
                },
            },
            "short": {
                "provider": "fake",
                "prompt": "{{ question }}",
                "params": {"reply": "{last}: こちらをご覧ください。 seed={seed}"},
            },
        },
        "datasets": {"main": "data/cases.jsonl"},
    }
    (root / "hyouka.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    ws = Workspace.open(root)
    run = ws.run(samples=4, concurrency=200).run
    campaign = humans.create_campaign(
        ws.store,
        project,
        run.id,
        humans.CampaignSpec(name="load", mode="pairwise+rating", overlap=3, seed=1),
    )
    people = [humans.add_annotator(ws.store, project, f"a{i}", "load") for i in range(annotators)]
    ws.close()
    return {
        "project": project,
        "campaign": campaign.id,
        "tokens": [(p.id, t) for p, t in people],
        "items": humans.campaign_progress(Workspace.open(root).store, campaign).items,
    }


def start_server(root: Path, url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HYOUKA_PROJECT": str(root), "HYOUKA_DATABASE_URL": url}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "hyouka.web.serve:app_from_env",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--loop",
        "asyncio",  # as hyouka serve does (see hyouka/web/serve.py)
        "--timeout-keep-alive",
        "30",
        "--workers",
        str(workers),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "died") from None
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


async def annotator(
    base: str,
    campaign: int,
    who: tuple[int, str],
    stop_at: float,
    think_ms: float,
    stats: Stats,
    rng: random.Random,
) -> None:
    pid, token = who
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base, cookie_jar=jar) as http:
        async with http.get(f"/signin/{token}", allow_redirects=False) as r:
            if r.status != 303:
                stats.errors.append(f"sign-in {r.status}")
                return
        if think_ms:
            # People do not all click in the same millisecond: start spread over one pause.
            await asyncio.sleep(rng.uniform(0, 2 * think_ms) / 1000)
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            status, page = await fetch(http, "GET", f"/c/{campaign}", None, stats)
            stats.get_ms.append((time.perf_counter() - t0) * 1000)
            action = ACTION.search(page)
            if status != 200 or action is None:
                if status == 200:
                    stats.finished += 1
                else:
                    stats.errors.append(f"GET {status}")
                return
            fields = dict(HIDDEN.findall(page))
            if think_ms:
                await asyncio.sleep(rng.uniform(0, 2 * think_ms) / 1000)
            form = {
                **fields,
                "winner": rng.choice(["left", "right", "tie", "both_bad"]),
                "rating_left": str(rng.randint(1, 5)),
                "comment": "負荷試験",
            }
            copies = 2 if rng.random() < 0.1 else 1
            stats.double_sent += copies - 1
            results = await asyncio.gather(
                *(post(http, action.group(1), form, stats) for _ in range(copies))
            )
            if any(results):
                stats.acked[fields["key"]] = pid


async def fetch(
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    form: dict[str, str] | None,
    stats: Stats,
) -> tuple[int, str]:
    """One request; a connection the server closed as idle is retried, as a browser does
    (for a POST this is exactly the resend its idempotency key makes safe)."""
    for attempt in range(3):
        try:
            async with http.request(method, path, data=form, allow_redirects=False) as r:
                return r.status, await r.text()
        except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
            if attempt == 2:
                raise
            stats.retried += 1
    raise AssertionError("unreachable")


async def post(
    http: aiohttp.ClientSession, action: str, form: dict[str, str], stats: Stats
) -> bool:
    t0 = time.perf_counter()
    status, _ = await fetch(http, "POST", action, form, stats)
    stats.post_ms.append((time.perf_counter() - t0) * 1000)
    if status != 303:
        stats.errors.append(f"POST {status}")
    return status == 303


def verify(url: str, campaign: int, stats: Stats) -> dict[str, int]:
    """Lost = acknowledged forms missing from the store; duplicated = extra rows."""
    from sqlalchemy import func, select

    from hyouka.store.schema import judgments
    from hyouka.store.store import Store

    store = Store.open(url)
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                judgments.c.idempotency_key, judgments.c.item_id, judgments.c.annotator_id
            ).where(judgments.c.campaign_id == campaign)
        ).all()
        per_pair = conn.execute(
            select(func.count())
            .select_from(judgments)
            .where(judgments.c.campaign_id == campaign)
            .group_by(judgments.c.item_id, judgments.c.annotator_id)
            .having(func.count() > 1)
        ).all()
    store.close()
    keys = {str(k).split(":", 1)[1] for k, _, _ in rows}
    lost = sum(1 for k in stats.acked if k not in keys)
    return {
        "stored": len(rows),
        "lost": lost,
        "duplicated": len(rows) - len(keys) + sum(int(n) - 1 for (n,) in per_pair),
    }


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(
    base: str, setup: dict[str, Any], duration: float, think_ms: float, seed: int
) -> tuple[Stats, float]:
    stats = Stats()
    rng = random.Random(seed)
    started = time.monotonic()
    stop_at = started + duration
    await asyncio.gather(
        *(
            annotator(
                base, setup["campaign"], who, stop_at, think_ms, stats, random.Random(rng.random())
            )
            for who in setup["tokens"]
        )
    )
    return stats, time.monotonic() - started


def bench(db: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        schema = None
        if db == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'store.db'}"
        else:
            url, schema = pg_schema(args.pg_url)
        try:
            setup = make_project(root, url, args.items, args.annotators)
            port = free_port()
            server = start_server(root, url, port, args.workers if db == "postgres" else 1)
            try:
                cpu0, db0 = cpu_seconds(server.pid), postgres_cpu_seconds()
                stats, wall = asyncio.run(
                    load(f"http://127.0.0.1:{port}", setup, args.duration, args.think_ms, args.seed)
                )
                server_cpu = cpu_seconds(server.pid) - cpu0
                db_cpu = postgres_cpu_seconds() - db0
            finally:
                server.terminate()
                server.wait(timeout=30)
            checked = verify(url, setup["campaign"], stats)
        finally:
            if schema:
                drop_schema(args.pg_url, schema)
    both = stats.get_ms + stats.post_ms
    return {
        "db": db,
        "annotators": args.annotators,
        "think_ms": args.think_ms,
        "workers": args.workers if db == "postgres" else 1,
        "seconds": round(wall, 1),
        "items": setup["items"],
        "judgments": len(stats.acked),
        "judgments_per_s": round(len(stats.acked) / wall, 1),
        "requests_per_s": round(len(both) / wall, 1),
        "p50_ms": round(pct(both, 0.50), 1),
        "p95_ms": round(pct(both, 0.95), 1),
        "p99_ms": round(pct(both, 0.99), 1),
        "get_p99_ms": round(pct(stats.get_ms, 0.99), 1),
        "post_p99_ms": round(pct(stats.post_ms, 0.99), 1),
        "server_cpu_ms_per_judgment": round(server_cpu * 1000 / max(1, len(stats.acked)), 2),
        "postgres_cpu_ms_per_judgment": round(db_cpu * 1000 / max(1, len(stats.acked)), 2)
        if db == "postgres"
        else None,
        "load_average": round(os.getloadavg()[0], 1),
        "double_sent": stats.double_sent,
        "retried": stats.retried,
        "errors": len(stats.errors),
        "ran_out": stats.finished,
        **checked,
    }


def pg_schema(base: str) -> tuple[str, str]:
    import psycopg

    from hyouka.store import db

    schema = f"hyouka_bench_{secrets.token_hex(3)}"
    with psycopg.connect(base.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    engine = db.create(url)
    db.upgrade(engine)
    engine.dispose()
    return url, schema


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(base.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--annotators", type=int, default=200)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--think-ms", type=float, default=0.0)
    parser.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL)")
    parser.add_argument("--items", type=int, default=6000, help="pairs in the campaign")
    parser.add_argument("--pg-url", default=os.environ.get("HYOUKA_TEST_POSTGRES_URL", PG_DEFAULT))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = [
        bench(db, args) for db in (["sqlite", "postgres"] if args.db == "both" else [args.db])
    ]
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "web_load.json").write_text(json.dumps(results, indent=2), "utf-8")
    for r in results:
        print(json.dumps(r, ensure_ascii=False))
    for r in results:
        verdict = "ok" if r["p99_ms"] < 100 and r["lost"] == 0 and r["duplicated"] == 0 else "MISS"
        print(
            f"{r['db']:8} {r['annotators']} annotators, think {r['think_ms']:.0f} ms, "
            f"{r['workers']} worker(s): {r['judgments_per_s']} judgments/s, "
            f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, lost {r['lost']}, "
            f"duplicated {r['duplicated']}; CPU per judgment: server "
            f"{r['server_cpu_ms_per_judgment']} ms, postgres {r['postgres_cpu_ms_per_judgment']} ms"
            f" (load average {r['load_average']}) [{verdict}]"
        )


if __name__ == "__main__":
    main()
