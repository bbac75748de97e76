"""Issue 12's attack, kept in the suite: `kill -9` of the server while annotators write loses
no acknowledged judgment and leaves the SQLite store intact (the server starts again on it).
A killed *run* is covered by tests/test_runner_resume.py."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from humans_env import build, form_fields, free_port
from sqlalchemy import select

from hyouka.store.schema import judgments

QUESTIONS = tuple(f"質問 {i}: 返品の方法は?" for i in range(120))


def _serve(root: Path, url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HYOUKA_PROJECT": str(root), "HYOUKA_DATABASE_URL": url}
    command = [sys.executable, "-m", "uvicorn", "--factory", "hyouka.web.serve:app_from_env",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("the server did not start")


def _judge(base: str, token: str, campaign: int, acked: set[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=5) as client:
        try:
            client.get(f"/signin/{token}")
            while not stop.is_set():
                page = client.get(f"/c/{campaign}").text
                fields = form_fields(page)
                if "action" not in fields:
                    return  # nothing left to judge
                data = {"csrf": fields["csrf"], "key": fields["key"], "winner": "left",
                        "rating_left": "4", "comment": "kill -9 の試験"}  # fmt: skip
                response = client.post(fields["action"], data=data)
                if response.status_code == 303:  # acknowledged: the next item follows
                    acked.add(fields["key"])
        except httpx.HTTPError:
            return  # the server was killed


def test_kill_9_of_the_server_during_writes_loses_no_acknowledged_judgment(
    tmp_path: Path,
) -> None:
    db = tmp_path / "store.db"
    url = f"sqlite:///{db}"
    env = build(tmp_path / "project", url, questions=QUESTIONS, overlap=3, people=6)
    root, campaign = env.ws.project.root, env.campaign.id
    env.ws.close()
    acked: set[str] = set()
    for _round in range(2):
        port = free_port()
        server = _serve(root, url, port)
        stop = threading.Event()
        workers = [
            threading.Thread(
                target=_judge, args=(f"http://127.0.0.1:{port}", token, campaign, acked, stop)
            )
            for _, token in env.people
        ]
        for w in workers:
            w.start()
        time.sleep(1.0)
        os.kill(server.pid, signal.SIGKILL)  # mid-write: six people are submitting
        server.wait(timeout=30)
        stop.set()
        for w in workers:
            w.join(timeout=30)
    print(f"{len(acked)} judgments acknowledged before the kills")
    assert len(acked) >= 10  # the people did get judgments in before each kill
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    from hyouka.store.store import Store

    store = Store.open(url)
    with store.engine.connect() as conn:
        keys = [str(k) for (k,) in conn.execute(select(judgments.c.idempotency_key))]
    store.close()
    stored = {k.split(":", 1)[1] for k in keys}
    assert acked <= stored  # nothing acknowledged was lost
    assert len(keys) == len(stored)  # nothing was stored twice
    server = _serve(root, url, free_port())  # and the store still serves
    server.terminate()
    server.wait(timeout=30)
