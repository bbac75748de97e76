"""An operator assistant (FastAPI): drafts a reply to a customer's message in the style of the
operator's experiment variant, and shows hyouka's feedback widget next to it.

- ``GET /?operator=NAME``: the operator's page (the widget script comes from hyouka).
- ``POST /draft`` ``{"operator", "message"}`` → ``{"output_id", "text"}``: assigns the
  operator (``hyouka.client``: in-process, no network wait), drafts, logs the output id (so
  the widget's feedback on it finds the variant) and the drafting time (``latency_ms``).
- ``POST /done`` ``{"operator", "output_id", "accepted", "seconds"}``: the operator sent the
  draft as it was (``accepted: true``) or edited it, after ``seconds``.

Settings (environment): ``HYOUKA_URL`` (http://127.0.0.1:8300), ``HYOUKA_API_KEY`` (an app key:
``hyouka apikeys add``), ``HYOUKA_WIDGET_KEY`` (``hyouka widgetkeys add page --origin
http://127.0.0.1:8400``), ``LIVE_MODEL`` (``local`` or ``template``; default: local when
installed).
"""

from __future__ import annotations

import asyncio
import html
import importlib.util
import json
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from hyouka.client import Client

log = logging.getLogger("live-ja")
EXPERIMENT = "draft-style"
HERE = Path(__file__).resolve().parent
TEMPLATES = {
    "polite": (
        "お問い合わせいただき誠にありがとうございます。{topic}の件でご不便をおかけしており、"
        "大変申し訳ございません。恐れ入りますが、ご登録のメールアドレスとご注文番号をお知らせ"
        "いただけますでしょうか。確認のうえ、担当より手順をご案内いたします。"
    ),
    "concise": (
        "{topic}の件、申し訳ございません。ご注文番号をお知らせいただければすぐ確認いたします。"
    ),
}


def model_kind() -> str:
    wanted = os.environ.get("LIVE_MODEL", "")
    if wanted in ("local", "template"):
        return wanted
    return "local" if importlib.util.find_spec("xllamacpp") else "template"


class DraftIn(BaseModel):
    operator: str = Field(min_length=1, max_length=100)
    message: str = Field(min_length=1, max_length=2000)


class DoneIn(BaseModel):
    operator: str = Field(min_length=1, max_length=100)
    output_id: str = Field(min_length=1, max_length=100)
    accepted: bool
    seconds: float = Field(ge=0, le=36000)


def create_app(hyouka_url: str, api_key: str, widget_key: str, kind: str | None = None) -> FastAPI:
    client = Client(hyouka_url, api_key, controls={EXPERIMENT: "polite"}, flush_seconds=0.5)
    kind = kind or model_kind()
    log.info("live-ja: drafts come from %s", "the local model" if kind == "local" else "templates")
    app = FastAPI(title="live-ja operator assistant")
    app.state.client = client
    providers: dict[str, Any] = {}

    async def draft(variant: str, message: str) -> str:
        if kind != "local":
            topic = message.split("。")[0][:20] or "お問い合わせ"
            return TEMPLATES[variant].format(topic=topic)
        from hyouka.api import Workspace
        from hyouka.providers.base import GenerateRequest, Message

        if not providers:
            ws = Workspace.open(HERE)
            providers["ws"] = ws
        ws = providers["ws"]
        spec = ws.project.config.variants[variant]
        if "local" not in providers:  # one engine serves both variants
            from hyouka.providers.llamacpp import LlamaCppProvider

            providers["local"] = LlamaCppProvider("local", {})
        prompt = str(spec.prompt).replace("{{ message }}", message)
        request = GenerateRequest(
            messages=(Message("system", str(spec.system)), Message("user", prompt)),
            params=dict(spec.params),
        )
        result = await providers["local"].generate(request)
        return str(result.text).strip()

    @app.get("/", response_class=HTMLResponse)
    def page(operator: str = "op1") -> str:
        return str(
            '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>オペレーター画面</title>"
            f'<script src="{html.escape(hyouka_url)}/widget.js"'
            f' data-key="{html.escape(widget_key)}"'
            ' data-lang="ja" defer></script></head><body>'
            f"<h1>オペレーター: {html.escape(operator)}</h1>"
            '<form id="f"><textarea id="m" rows="3" cols="60">注文した商品が届きません。</textarea>'
            '<button type="submit">返信案を作る</button></form><div id="drafts"></div>'
            f'<script src="/static.js?operator={html.escape(operator)}"></script>'
            "</body></html>"
        )

    @app.get("/static.js")
    def page_script(operator: str = "op1") -> Any:
        from fastapi.responses import Response

        js = (
            "document.getElementById('f').addEventListener('submit', async (e) => {"
            "e.preventDefault();"
            "const r = await fetch('/draft', {method: 'POST', headers: {'Content-Type': "
            f"'application/json'}}, body: JSON.stringify({{operator: {json.dumps(operator)}, "
            "message: document.getElementById('m').value})});"
            "const d = await r.json(); const div = document.createElement('div');"
            "div.setAttribute('data-hyouka-output', d.output_id); div.textContent = d.text;"
            "document.getElementById('drafts').prepend(div); window.hyoukaWidget.scan();});"
        )
        return Response(js, media_type="text/javascript")

    @app.post("/draft")
    async def draft_route(body: DraftIn) -> dict[str, str]:
        a = client.assign(EXPERIMENT, body.operator)
        variant = a.variant or "polite"
        started = time.perf_counter()
        text = await draft(variant, body.message)
        ms = (time.perf_counter() - started) * 1000
        output_id = secrets.token_hex(8)
        if a.enrolled:
            client.output(EXPERIMENT, body.operator, output_id)
            client.track(EXPERIMENT, body.operator, "latency_ms", ms, output_id=output_id)
        return {"output_id": output_id, "text": text}

    @app.post("/done")
    def done(body: DoneIn) -> dict[str, bool]:
        client.track(EXPERIMENT, body.operator, "accepted", 1.0 if body.accepted else 0.0,
                     output_id=body.output_id)  # fmt: skip
        client.track(EXPERIMENT, body.operator, "handling_s", body.seconds,
                     output_id=body.output_id)  # fmt: skip
        return {"ok": True}

    @app.on_event("shutdown")
    async def flush() -> None:
        await asyncio.to_thread(client.close)

    return app


def app_from_env() -> FastAPI:
    return create_app(
        os.environ.get("HYOUKA_URL", "http://127.0.0.1:8300"),
        os.environ["HYOUKA_API_KEY"],
        os.environ["HYOUKA_WIDGET_KEY"],
    )
