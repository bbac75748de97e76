"""Speed of the team's run page (``/team/runs/<run>``) on 2,000 cases × 5 variants × 5 samples.

    python benchmarks/workbench_speed.py [--postgres URL] [--browser] [--repeat N]

Builds the store with bulk inserts (50,000 samples with Japanese outputs, 150,000 scores:
two pass/fail checks — one with a failure reason — and one 0–1 judge score with its
reasoning), then times the server's answer over real HTTP (uvicorn on 127.0.0.1, a signed-in
editor), median of ``--repeat`` requests:

- the run's first view on a fresh server (no filter index yet; target < 300 ms), and the first
  filter, which waits for the run's index to be built (once per run and server process);
- then, the index built, the first page of the grid (target < 300 ms);
- each filter: failing a check, errors, complained about, variants disagree most, samples
  disagree most, a Japanese text search (target < 200 ms);
- the summary (show + compare's intervals, loaded by the page after the grid: no target;
  its first, uncached call and a cached one).

``--browser``: Chromium (Playwright) opens the page; time until the grid is usable (the
page script ready and the first case focusable; target < 1.5 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from hyouka import humans
from hyouka.api import Workspace
from hyouka.store.schema import (
    cases,
    judgments,
    run_variants,
    runs,
    samples,
    scores,
    variants,
)
from hyouka.web import WebSettings, create_app

N_VARIANTS, N_CASES, K = 5, 2000, 5
FIRST_PAGE_MS, FILTER_MS, BROWSER_S = 300, 200, 1.5
WORDS = ("返品", "営業時間", "パスワード", "請求書", "配送", "解約", "ポイント", "会員登録")


def write_project(root: Path) -> None:
    cfg = {
        "name": "bench",
        "providers": {"e": {"type": "echo"}},
        "variants": {f"v{i}": {"provider": "e", "prompt": "{{ q }}"} for i in range(N_VARIANTS)},
        "datasets": {"main": "cases.jsonl"},
    }
    (root / "hyouka.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    (root / "cases.jsonl").write_text('{"id": "c0", "vars": {"q": "x"}}\n', encoding="utf-8")


def _bulk(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 10_000):
        conn.execute(insert(table), rows[start : start + 10_000])


def fill(ws: Workspace, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 1, N_CASES)
    sample_rows: list[dict[str, Any]] = []
    score_rows: list[dict[str, Any]] = []
    for v in range(N_VARIANTS):
        p = 1 / (1 + np.exp(-(difficulty + 0.1 * v)))
        for c in range(N_CASES):
            word = WORDS[c % len(WORDS)]
            for k in range(K):
                sid = len(sample_rows) + 1
                error = rng.random() < 0.004
                variety = int(rng.integers(0, 3))
                sample_rows.append(
                    {
                        "id": sid,
                        "run_id": 1,
                        "variant_id": v + 1,
                        "case_id": c + 1,
                        "sample_index": k,
                        "status": "error" if error else "ok",
                        "output": None
                        if error
                        else f"{word}についてのご案内です(案{variant_choice(variety)})。"
                        f"手順{c}をご確認ください。バリアント{v}より。" * 3,
                        "error": "HTTP 503 from provider: upstream overloaded (request id "
                        f"req{sid:08d})"
                        if error
                        else None,
                        "latency_ms": float(rng.integers(200, 2000)),
                        "cost": 0.0001,
                        "cache_key": f"k{sid}",
                        "target": "",
                        "role": "app",
                    }
                )
                if error:
                    continue
                ok = bool(rng.random() < p[c])
                polite = bool(rng.random() < 0.9)
                score_rows += [
                    {
                        "sample_id": sid,
                        "check_name": "correct",
                        "check_version": "1",
                        "params_hash": "p",
                        "params": {},
                        "metric": "correct",
                        "repeat": 0,
                        "value": float(ok),
                        "passed": ok,
                        "status": "ok",
                        "weight": 1.0,
                        "reason": None if ok else f"「{word}」の手順が含まれていません",
                    },
                    {
                        "sample_id": sid,
                        "check_name": "polite",
                        "check_version": "1",
                        "params_hash": "p",
                        "params": {},
                        "metric": "polite",
                        "repeat": 0,
                        "value": float(polite),
                        "passed": polite,
                        "status": "ok",
                        "weight": 1.0,
                        "reason": None if polite else "敬語ではありません",
                    },
                    {
                        "sample_id": sid,
                        "check_name": "judge",
                        "check_version": "1",
                        "params_hash": "p",
                        "params": {},
                        "metric": "quality",
                        "repeat": 0,
                        "value": float(np.clip(rng.normal(0.6 + 0.02 * v, 0.2), 0, 1)),
                        "passed": None,
                        "status": "ok",
                        "weight": 1.0,
                        "reason": "丁寧で正確だが、やや長い。",
                    },
                ]
    run = {
        "id": 1,
        "uid": "bench-run",
        "project": "bench",
        "status": "finished",
        "seed": 0,
        "samples": K,
        "fingerprint": "x",
        "config": {},
        "hyouka_version": "bench",
    }
    with ws.store.engine.begin() as conn:
        _bulk(
            conn,
            cases,
            [
                {
                    "id": c + 1,
                    "case_hash": f"h{c}",
                    "case_key": f"c{c}",
                    "content": {
                        "id": f"c{c}",
                        "vars": {"q": f"{WORDS[c % len(WORDS)]}について教えて ({c})"},
                    },
                }
                for c in range(N_CASES)
            ],
        )
        _bulk(
            conn,
            variants,
            [
                {
                    "id": v + 1,
                    "project": "bench",
                    "name": f"v{v}",
                    "version": f"ver{v}",
                    "kind": "prompt",
                    "spec": {},
                }
                for v in range(N_VARIANTS)
            ],
        )
        conn.execute(insert(runs).values(**run))
        _bulk(conn, run_variants, [{"run_id": 1, "variant_id": v + 1} for v in range(N_VARIANTS)])
        _bulk(conn, samples, sample_rows)
        _bulk(conn, scores, score_rows)
        _bulk(
            conn,
            judgments,
            [
                {
                    "project": "bench",
                    "source": "production",
                    "sample_a_id": 1 + 37 * i,
                    "comment": "説明が長すぎる",
                    "tags": [],
                    "idempotency_key": f"j{i}",
                }
                for i in range(200)
            ],
        )


def variant_choice(n: int) -> str:
    return "ABC"[n]


def median_ms(client: httpx.Client, path: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return statistics.median(times)


def browser_seconds(url: str, path: str, cookies: list[dict[str, Any]]) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_cookies(cookies)
        page = context.new_page()
        page.goto(url + path)  # warm: the first launch's own costs are not the page's
        times = []
        for _ in range(3):
            start = time.perf_counter()
            page.goto(url + path, wait_until="commit")
            page.wait_for_selector("html[data-team-ready=yes] #case-1", state="attached")
            page.keyboard.press("j")
            page.wait_for_selector("#case-1.current")
            times.append(time.perf_counter() - start)
        browser.close()
    return statistics.median(times)


def measure(url: str, label: str, repeat: int, browser: bool) -> bool:
    from humans_env import ServerThread

    root = Path(tempfile.mkdtemp(prefix="hyouka-workbench-bench-"))
    write_project(root)
    ws = Workspace.open(root, url)
    start = time.perf_counter()
    fill(ws)
    print(
        f"[{label}] built {N_CASES} cases × {N_VARIANTS} variants × {K} samples "
        f"in {time.perf_counter() - start:.1f} s"
    )
    _editor, token = humans.add_annotator(ws.store, "bench", "ed", role="editor")
    app = create_app(ws.store, "bench", WebSettings())
    ok = True
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get(f"/signin/{token}").status_code in (200, 303)
        base = "/team/runs/bench-run"
        rows = [
            ("first page", base, FIRST_PAGE_MS),
            ("filter: failing check 'correct'", base + "?check=correct", FILTER_MS),
            ("filter: errors", base + "?show=errors", FILTER_MS),
            ("filter: complained about", base + "?show=complained", FILTER_MS),
            ("filter: variants disagree most", base + "?show=variants", FILTER_MS),
            ("filter: samples disagree most", base + "?show=samples", FILTER_MS),
            ("filter: search 返品", base + "?q=返品", FILTER_MS),
            ("filter: failing 'polite' + search 配送", base + "?check=polite&q=配送", FILTER_MS),
            ("page 40 of 80", base + "?page=40", FIRST_PAGE_MS),
        ]
        client.get("/team")  # warm the process (imports, templates), not the run's data
        start = time.perf_counter()
        client.get(base)
        cold = (time.perf_counter() - start) * 1000
        print(
            f"[{label}] {'first view of the run (cold, no index yet)':<42} {cold:8.1f} ms  "
            f"(target < {FIRST_PAGE_MS} ms) {'ok' if cold < FIRST_PAGE_MS else 'SLOW'}"
        )
        start = time.perf_counter()
        client.get(base + "?check=polite")
        print(
            f"[{label}] {'first filter (waits for the index build)':<42} "
            f"{(time.perf_counter() - start) * 1000:8.1f} ms  (once per run and server)"
        )
        ok = ok and cold < FIRST_PAGE_MS
        for name, path, target in rows:
            ms = median_ms(client, path, repeat)
            verdict = "ok" if ms < target else "SLOW"
            ok = ok and ms < target
            print(f"[{label}] {name:<42} {ms:8.1f} ms  (target < {target} ms) {verdict}")
        start = time.perf_counter()
        client.get(base + "/summary.json")
        print(
            f"[{label}] {'summary.json (show + compare), uncached':<42} "
            f"{(time.perf_counter() - start) * 1000:8.1f} ms  (loaded after the grid)"
        )
        ms = median_ms(client, base + "/summary.json", repeat)
        print(f"[{label}] {'summary.json, cached':<42} {ms:8.1f} ms")
        if browser:
            cookie = client.cookies.get("hyouka_session")
            cookies = [{"name": "hyouka_session", "value": cookie, "url": server.url}]
            s = browser_seconds(server.url, base, cookies)
            verdict = "ok" if s < BROWSER_S else "SLOW"
            ok = ok and s < BROWSER_S
            print(
                f"[{label}] {'browser: navigation to usable grid':<42} {s * 1000:8.1f} ms  "
                f"(target < {BROWSER_S * 1000:.0f} ms) {verdict}"
            )
    print(
        f"[{label}] load average while measuring: {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )
    ws.close()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres",
        help="also measure on PostgreSQL: 'auto' (a new schema on the test server of "
        "tests/pg.py, dropped afterwards) or the URL of an empty, migrated schema",
    )
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hyouka-workbench-sqlite-"))
    ok = measure(f"sqlite:///{root / 'store.db'}", "sqlite", args.repeat, args.browser)
    if args.postgres == "auto":
        from pg import temporary_schema

        from hyouka.store import db

        with temporary_schema("hyouka_bench") as url:
            engine = db.create(url)
            db.upgrade(engine)
            engine.dispose()
            ok = measure(url, "postgres", args.repeat, args.browser) and ok
    elif args.postgres:
        ok = measure(args.postgres, "postgres", args.repeat, args.browser) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
