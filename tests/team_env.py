"""A real project for the team's workbench tests: three echo-model variants whose outputs
carry markup, RTL and zero-width characters, two checks (one failing for one variant, one
failing for one sample of every variant: a spread), three samples per case; people of every
role; a campaign (for the annotator's side).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI

from hyouka import humans
from hyouka.api import Workspace
from hyouka.humans import Annotator, Campaign, CampaignSpec
from hyouka.web import WebSettings, create_app

VARIANTS = ("zzbase-secret", "zzscript-secret", "zzrtl-secret")
REPLIES = (
    "ご質問「{last}」への回答です。手順をご案内します #{sample}",
    "<script>window.__pwned = 1</script>{last} ありがとう #{sample}",
    '<img src=x onerror="window.__pwned = 2">\u202e逆順\u200b{last} の回答です #{sample}',
)
QUESTIONS = (
    "返品の方法を教えて", "営業時間は?", "パスワードを忘れました", "請求書の再発行",
    "配送状況を知りたい", "解約したい", "ポイントの有効期限は?", "会員登録のやり方",
)  # fmt: skip


@dataclass
class TeamEnv:
    root: Path
    ws: Workspace
    project: str
    run_uid: str
    campaign: Campaign
    admin_token: str
    editor_token: str
    annotator: Annotator
    annotator_token: str
    app: FastAPI

    @property
    def store(self) -> Any:
        return self.ws.store


def write_project(root: Path, name: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    lines = [
        json.dumps({"id": f"q{i}", "vars": {"question": q}}, ensure_ascii=False)
        for i, q in enumerate(QUESTIONS)
    ]
    (root / "data" / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = {
        "name": name,
        "samples": 3,
        "providers": {"fake": {"type": "echo"}},
        "variants": {
            v: {"provider": "fake", "prompt": "{{ question }}", "params": {"reply": r}}
            for v, r in zip(VARIANTS, REPLIES, strict=True)
        },
        "datasets": {"main": "data/cases.jsonl"},
        "checks": [
            {"type": "contains", "value": "回答"},
            {"type": "not-contains", "value": "#1"},
        ],
    }
    (root / "hyouka.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")


def build_team(root: Path, url: str) -> TeamEnv:
    project = f"t{secrets.token_hex(5)}"
    write_project(root, project)
    ws = Workspace.open(root, url)
    run = ws.run().run
    store = ws.store
    _admin, admin_token = humans.add_annotator(store, project, "kanri", "pdm", admin=True)
    _editor, editor_token = humans.add_annotator(store, project, "henshu", "pdm", role="editor")
    annotator, annotator_token = humans.add_annotator(store, project, "op0", "operators")
    campaign = humans.create_campaign(
        store, project, run.id, CampaignSpec(name="round-1", mode="pairwise", overlap=1, seed=3)
    )
    app = create_app(store, project, WebSettings(), config=ws.project)
    return TeamEnv(
        root, ws, project, run.uid, campaign, admin_token, editor_token, annotator,
        annotator_token, app,
    )  # fmt: skip
