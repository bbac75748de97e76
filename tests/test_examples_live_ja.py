"""``hyouka init --example live-ja``: the operator app and its simulated operators fill the
experiment (real servers on loopback, the client, the widget's endpoint; template drafts so
the test does not wait for the local model)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from humans_env import free_port

from hyouka.config import load_config
from hyouka.projects import copy_example


def test_live_ja_example_fills_the_experiment(tmp_path: Path) -> None:
    root = copy_example("live-ja", tmp_path / "live")
    config = load_config(root).config
    assert config.experiments["draft-style"].unit == "user"
    out = subprocess.run(
        [sys.executable, "simulate.py", "--operators", "60", "--seconds", "6", "--model",
         "template", "--hyouka-port", str(free_port()), "--app-port", str(free_port()),
         "--lang", "en"],
        cwd=root, capture_output=True, text=True, timeout=240,
        env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "drafts; units:" in out.stdout
    assert "Sample ratio as allocated" in out.stdout
    # the complaints sent through the widget reached the feedback loop
    from hyouka.api import Workspace

    ws = Workspace.open(root)
    try:
        assert ws.feedback.pending()
        report = ws.experiments.show("draft-style")
        assert sum(report.units.values()) >= 30
    finally:
        ws.close()
