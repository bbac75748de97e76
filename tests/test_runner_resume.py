"""Kill -9 in the middle of a run, then resume: nothing stored is asked for again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from hyouka.testing.fake_server import prompt_key
from tests.conftest import write_project

N_CASES = 240
SAMPLES = 2


def _start_server(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hyouka.testing.fake_server",
            "--latency-ms",
            "15",
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    for _ in range(200):
        if port_file.exists() and port_file.read_text().strip():
            break
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}"


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("select count(*) from samples").fetchone()[0])
    except sqlite3.Error:
        return 0


def _hyouka(root: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hyouka", "run", "-p", str(root), "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_killed_run_resumes_without_calling_stored_samples_again(tmp_path: Path) -> None:
    server, url = _start_server(tmp_path)
    try:
        cfg = {
            "name": "resume",
            "samples": SAMPLES,
            "concurrency": 4,
            "providers": {"srv": {"type": "openai", "base_url": url + "/v1", "model": "m"}},
            "variants": {
                "a": {"provider": "srv", "prompt": "A: {{ q }}"},
                "b": {"provider": "srv", "prompt": "B: {{ q }}"},
            },
        }
        root = write_project(
            tmp_path / "proj",
            cfg,
            [{"id": f"c{i}", "vars": {"q": f"質問 {i}"}} for i in range(N_CASES)],
        )
        db = root / ".hyouka" / "hyouka.db"
        total = N_CASES * SAMPLES * 2
        first = _hyouka(root)
        deadline = time.monotonic() + 60
        while _stored(db) < total // 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        before_kill = _stored(db)
        assert 0 < before_kill < total, "the kill should land in the middle of the run"
        with sqlite3.connect(db) as conn:
            stored_requests = [
                json.loads(r[0]) for r in conn.execute("select request from sample_payloads")
            ]
            run_uid = conn.execute("select uid from runs").fetchone()[0]
        second = _hyouka(root)
        _out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err.decode()
        with urllib.request.urlopen(url + "/stats?prompts=1") as resp:
            stats = json.loads(resp.read())
    finally:
        server.terminate()
        server.wait()
    counts: dict[str, int] = stats["prompts"]
    # Every sample stored before the kill was asked for exactly once.
    assert all(counts[prompt_key(req)] == 1 for req in stored_requests)
    # Only calls in flight or waiting in the writer's last batch at the kill were repeated.
    repeated = sum(1 for c in counts.values() if c > 1)
    assert repeated <= 4 + 40
    assert len(counts) == total
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "select count(*), count(distinct variant_id || ':' || case_id || ':' || sample_index)"
            " from samples"
        ).fetchone()
        runs = conn.execute("select uid, status from runs").fetchall()
    assert rows == (total, total)  # each sample exactly once
    assert runs == [(run_uid, "finished")]  # the same run was resumed, not a new one


def test_resume_flag_alone_picks_the_latest_unfinished_run(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from hyouka.api import Workspace
    from hyouka.cli.main import cli

    root = write_project(
        tmp_path,
        {
            "name": "flag",
            "providers": {"e": {"type": "echo"}},
            "variants": {"v": {"provider": "e", "prompt": "{{ q }}"}},
        },
        [{"id": "a", "vars": {"q": "x"}}],
    )
    runner = CliRunner()
    out = runner.invoke(cli, ["run", "-p", str(root), "--resume"])
    assert out.exit_code == 2 and "no unfinished run to resume" in out.output
    ws = Workspace.open(root)
    first = ws.run()
    ws.store.set_run_status(first.run.id, "interrupted")
    out = runner.invoke(cli, ["run", "-p", str(root), "--resume", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["run"] == first.run.uid
