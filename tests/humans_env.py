"""A real project for human-evaluation tests: echo-model variants, a finished run, people, a
campaign; plus a signed-in HTTP client, form parsing and a uvicorn server in a thread.

Variant names are deliberately distinctive (``zzalpha-secret``…) so leak tests can search the
annotators' pages for them.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hyouka import humans
from hyouka.api import Workspace
from hyouka.humans import Annotator, Campaign, CampaignSpec
from hyouka.web import WebSettings, create_app

VARIANTS = ("zzalpha-secret", "zzbeta-secret", "zzgamma-secret")
QUESTIONS = ("返品の方法を教えて", "営業時間は?", "パスワードを忘れました", "請求書の再発行")


@dataclass
class Env:
    ws: Workspace
    project: str
    run_id: int
    campaign: Campaign
    admin: Annotator
    admin_token: str
    people: list[tuple[Annotator, str]]
    variant_names: tuple[str, ...]
    app: FastAPI
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> Any:
        return self.ws.store


def write_project(
    root: Path,
    name: str,
    replies: Sequence[str],
    questions: Sequence[str] = QUESTIONS,
    contexts: bool = False,
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "cases.jsonl").write_text(
        "\n".join(_json_line(i, q) for i, q in enumerate(questions)) + "\n", encoding="utf-8"
    )
    variants: dict[str, Any] = {}
    for vname, reply in zip(VARIANTS, replies, strict=False):
        variants[vname] = {
            "provider": "fake",
            "prompt": "{{ question }}",
            "params": {"reply": reply},
        }
    if contexts:
        module = f"ctxapp_{secrets.token_hex(4)}"
        (root / f"{module}.py").write_text(CONTEXT_APP, encoding="utf-8")
        for vname in variants:
            variants[vname] = {
                "app": f"{module}:answer",
                "params": {"reply": variants[vname]["params"]["reply"]},
            }
    config = {
        "name": name,
        "samples": 1,
        "providers": {"fake": {"type": "echo"}},
        "variants": variants,
        "datasets": {"main": "data/cases.jsonl"},
    }
    (root / "hyouka.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")


def _json_line(i: int, question: str) -> str:
    return json.dumps(
        {"id": f"q{i}", "vars": {"question": question}, "aspect": f"観点{i}"}, ensure_ascii=False
    )


CONTEXT_APP = """
def answer(case, params):
    return {
        "output": params["reply"].format(last=case.vars["question"]),
        "contexts": [
            {"id": "faq-1", "title": "FAQ <i>1</i>", "text": "返品は30日以内 <b>です</b>"}
        ],
    }
"""


def build(
    root: Path,
    url: str,
    *,
    mode: str = "pairwise+rating",
    overlap: int = 2,
    n_variants: int = 2,
    replies: Sequence[str] | None = None,
    questions: Sequence[str] = QUESTIONS,
    samples: int = 1,
    people: int = 3,
    tags: Sequence[str] = ("長すぎる", "事実と違う", "never say this"),
    settings: WebSettings | None = None,
    contexts: bool = False,
    seed: int = 7,
) -> Env:
    project = f"p{secrets.token_hex(5)}"
    replies = replies or [f"回答{i}: {{last}} です。" for i in range(n_variants)]
    write_project(root, project, replies[:n_variants], questions, contexts)
    ws = Workspace.open(root, url)
    run = ws.run(samples=samples).run
    store = ws.store
    admin, admin_token = humans.add_annotator(store, project, "kanri", "pdm", admin=True)
    folks = [humans.add_annotator(store, project, f"op{i}", "operators") for i in range(people)]
    campaign = humans.create_campaign(
        store,
        project,
        run.id,
        CampaignSpec(
            name="round-1",
            mode=mode,
            overlap=overlap,
            tags=tags,
            seed=seed,
            rubric="丁寧さと正確さ",
            instructions="より良い回答を選んでください",
        ),
    )
    app = create_app(store, project, settings or WebSettings())
    return Env(ws, project, run.id, campaign, admin, admin_token, folks, VARIANTS[:n_variants], app)


@contextmanager
def env_for(root: Path, url: str, **options: Any) -> Iterator[Env]:
    env = build(root, url, **options)
    try:
        yield env
    finally:
        env.ws.close()


# -- HTTP --------------------------------------------------------------------------------------


def anonymous(app: FastAPI, **client_options: Any) -> TestClient:
    """A client with an address of its own: failed sign-ins of one test never block another
    (they share the PostgreSQL schema)."""
    client_options.setdefault("client", (f"10.9.{secrets.token_hex(3)}", 50000))
    return TestClient(app, **client_options)


def signed_in(app: FastAPI, token: str, **client_options: Any) -> TestClient:
    client = anonymous(app, **client_options)
    response = client.get(f"/signin/{token}", follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


_INPUT = re.compile(r"<input\b([^>]*)>", re.S)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def form_fields(page: str) -> dict[str, str]:
    """Hidden inputs of the judging form, plus its action."""
    out: dict[str, str] = {}
    for attrs in _INPUT.findall(page):
        found = dict(_ATTR.findall(attrs))
        if found.get("type") == "hidden" and "name" in found:
            out[found["name"]] = html.unescape(found.get("value", ""))
    action = re.search(r'<form method="post" action="(/a/[^"]+)" id="judge-form"', page)
    if action:
        out["action"] = action.group(1)
    return out


def output_texts(page: str) -> dict[str, str]:
    """The left/right output text as shown (unescaped)."""
    found = re.findall(r'<div class="text output-text" id="text-(\w+)">(.*?)</div>', page, re.S)
    return {side: html.unescape(text) for side, text in found}


def vote(client: TestClient | httpx.Client, page: str, **fields: Any) -> httpx.Response:
    form = form_fields(page)
    data: dict[str, Any] = {"csrf": form["csrf"], "key": form["key"], **fields}
    return client.post(form["action"], data=data, follow_redirects=False)


# -- a real server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1 in a background thread."""

    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


# -- fixtures (import them into a test module: `from humans_env import db_url, env`) -------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated store: a SQLite file, or the session's PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_session_url"))


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Iterator[Env]:
    with env_for(tmp_path / "project", db_url) as built:
        yield built
