"""Simulated operators for live-ja: fills the experiment page within a minute.

    python simulate.py [--operators 240] [--seconds 40] [--model template|local] [--keep]

Starts hyouka (port 8300) and the operator app (port 8400, ``app.py``) in this process, syncs
and starts the experiment ``draft-style``, makes the app's API key and the widget's key, then
lets operators work: each asks the app for a draft over HTTP, reads it (the simulator never
learns the variant: like a person, it reacts to the text), sends 👍/👎 — sometimes with a
reason, a quick tag or a "never say this" phrase — through the widget's endpoint as the page
would, and accepts or edits the draft. Most operators prefer short drafts. At the end it
prints the live analysis; ``--keep`` keeps serving and prints the dashboard's sign-in link.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MESSAGES = [
    "注文した商品がまだ届きません。",
    "請求金額が二重になっています。",
    "パスワードを忘れてログインできません。",
    "解約の手続きを教えてください。",
    "届いた商品が壊れていました。",
]


def post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=180) as r:
        return json.loads(r.read() or b"{}")


class Server:
    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def operator_turn(rng: random.Random, op: str, likes_short: bool, app: str, hyouka: str,
                  widget_key: str, origin: str) -> None:  # fmt: skip
    d = post(f"{app}/draft", {"operator": op, "message": rng.choice(MESSAGES)})
    short = len(d["text"]) < 60
    accept_p = (0.8 if short else 0.45) if likes_short else 0.6
    accepted = rng.random() < accept_p
    if rng.random() < 0.4:  # some operators use the widget
        fb: dict[str, Any] = {
            "output_ref": d["output_id"],
            "thumb": "up" if accepted else "down",
            "output_text": d["text"],
            "idempotency_key": secrets.token_hex(8),
        }
        if not accepted and rng.random() < 0.6:
            fb["tags"] = ["長すぎる"] if not short else ["手順が抜けている"]
            if rng.random() < 0.3:
                fb["comment"] = "お客様を待たせる長さです" if not short else "手順がありません"
            if not short and rng.random() < 0.3:
                fb["phrase"] = "大変申し訳ございません"
        post(f"{hyouka}/api/widget/feedback", fb, {"X-Hyouka-Key": widget_key, "Origin": origin})
    seconds = max(5.0, rng.gauss(70 if short else 95, 20) + (0 if accepted else 40))
    post(f"{app}/done", {"operator": op, "output_id": d["output_id"], "accepted": accepted,
                         "seconds": seconds})  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operators", type=int, default=240)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--model", choices=["local", "template"], default=None)
    parser.add_argument("--hyouka-port", type=int, default=8300)
    parser.add_argument("--app-port", type=int, default=8400)
    parser.add_argument("--keep", action="store_true", help="keep serving after the simulation")
    parser.add_argument("--lang", choices=["ja", "en"], default="ja")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from app import EXPERIMENT, create_app  # type: ignore[import-not-found]

    from hyouka import humans
    from hyouka.api import Workspace
    from hyouka.experiments.analysis import verdict_lines
    from hyouka.web.app import create_app as hyouka_app

    ws = Workspace.open(HERE)
    ws.experiments.sync("simulate.py")
    if ws.experiments.get(EXPERIMENT).status != "running":
        ws.experiments.start(EXPERIMENT, "simulate.py")
    tag = secrets.token_hex(3)
    _k, api_key = ws.api_keys.add(f"live-app-{tag}")
    origin = f"http://127.0.0.1:{args.app_port}"
    _w, widget_key = ws.widget_keys.add(f"live-page-{tag}", [origin])
    hyouka = f"http://127.0.0.1:{args.hyouka_port}"
    servers = [Server(hyouka_app(ws.store, ws.name, config=ws.project), args.hyouka_port)]
    servers[0].start()  # hyouka first: the app's client fetches the allocation at once
    operator_app = create_app(hyouka, api_key, widget_key, args.model)
    servers.append(Server(operator_app, args.app_port))
    servers[1].start()
    client = operator_app.state.client
    client.refresh()
    rng = random.Random(args.seed)
    operators = [(f"op{i:03d}-{tag}", rng.random() < 0.7) for i in range(args.operators)]
    print("warming up the drafting model …", flush=True)
    post(f"{origin}/draft", {"operator": operators[0][0], "message": MESSAGES[0]})
    stop_at = time.monotonic() + args.seconds
    turns = 0
    lock = threading.Lock()

    def work(worker: int) -> None:
        nonlocal turns
        r = random.Random(args.seed * 1000 + worker)
        while time.monotonic() < stop_at:
            op, likes_short = r.choice(operators)
            operator_turn(r, op, likes_short, origin, hyouka, widget_key, origin)
            time.sleep(r.uniform(0.1, 0.5))  # people read before the next customer
            with lock:
                turns += 1

    print(f"simulating {args.operators} operators for {args.seconds:g} s …", flush=True)
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(work, range(6)))
    client.flush(20)
    report = ws.experiments.show(EXPERIMENT)
    print(f"{turns} drafts; units: {report.units}")
    for line in verdict_lines(report, args.lang):
        print(" •", line)
    if args.keep:
        _a, token = humans.add_annotator(ws.store, ws.name, f"admin-{tag}", "admins", admin=True)
        print(f"dashboard: {hyouka}/signin/{token}  then {hyouka}/admin/experiments/{EXPERIMENT}")
        print(f"operator page: {origin}/?operator={operators[0][0]}  (Ctrl-C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    for s in reversed(servers):
        s.stop()
    ws.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
