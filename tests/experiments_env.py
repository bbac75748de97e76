"""A project with a live experiment, its store, its web app and keys (for the experiment tests).

``build_live(root, url)`` writes hyouka.yaml (two variants on the echo provider, one
experiment ``tone`` with thumbs, accepted, handling time and a latency guardrail), runs it
once so the variants are stored (feedback then names them), syncs and starts the experiment,
and makes an API key and a widget key for ``origin``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI

from hyouka import humans
from hyouka.api import Workspace
from hyouka.web.app import create_app

EXPERIMENT: dict[str, Any] = {
    "variants": ["polite", "concise"],
    "unit": "user",
    "outcomes": {
        "thumbs": {"kind": "thumbs"},
        "complaint": {"kind": "complaint"},
        "accepted": {"kind": "accepted"},
        "handling_s": {"kind": "value", "better": "lower", "mde": 10},
    },
    "guardrails": [{"metric": "latency_ms", "max_increase": 300}],
}


@dataclass
class Live:
    root: Path
    ws: Workspace
    app: FastAPI
    project: str
    api_key: str
    widget_key: str
    admin_token: str

    def close(self) -> None:
        self.ws.close()


def write_live_project(
    root: Path, name: str, experiment: dict[str, Any] | None = None, tags: list[str] | None = None
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cases.jsonl").write_text('{"id": "q1", "vars": {"question": "hi"}}\n', "utf-8")
    config = {
        "name": name,
        "providers": {"fake": {"type": "echo"}},
        "variants": {
            "polite": {"provider": "fake", "prompt": "{{ question }}", "params": {"reply": "丁寧"}},
            "concise": {"provider": "fake", "prompt": "{{ question }}", "params": {"reply": "短"}},
        },
        "datasets": {"main": "cases.jsonl"},
        "human": {"tags": tags or ["長すぎる", "事実と違う"]},
        "experiments": {"tone": experiment or EXPERIMENT},
    }
    (root / "hyouka.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")


def build_live(
    root: Path,
    url: str,
    origin: str = "http://127.0.0.1:1",
    *,
    run: bool = True,
    experiment: dict[str, Any] | None = None,
    tags: list[str] | None = None,
) -> Live:
    project = f"x{secrets.token_hex(5)}"
    write_live_project(root, project, experiment, tags)
    ws = Workspace.open(root, url)
    if run:
        ws.run()
    ws.experiments.sync("test")
    ws.experiments.start("tone", "test")
    _key, secret = ws.api_keys.add("app")
    _wk, widget = ws.widget_keys.add("page", [origin])
    _admin, token = humans.add_annotator(ws.store, project, "kanri", "pdm", admin=True)
    app = create_app(ws.store, project, config=ws.project)
    return Live(root, ws, app, project, secret, widget, token)
