"""Issue 18 part 2: production traces over OpenTelemetry, with real parts end to end.

The real ``openai`` SDK, instrumented by ``openinference-instrumentation-openai`` and by
``opentelemetry-instrumentation-openai-v2`` (content on the span, as OTLP log records, and the
previous event layout), exports with the real OTLP/HTTP exporter to a real ``hyouka serve``
process, calling the fake OpenAI server; the stored traces are checked field by field, then
turned into a dataset and import samples, and a thumbs-down names one of them."""

from __future__ import annotations

import gzip
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from traces_env import (
    Project,
    llm_attributes,
    make_project,
    run_app,
    serving,
    trace_request,
)

from hyouka.loop.complaints import collect_complaints
from hyouka.testing.fake_server import FakeServer
from hyouka.traces.reads import Trace

KINDS = ("openinference", "otel-span", "otel-event", "otel-legacy")
QUESTIONS = ("返品の方法は?", "営業時間を教えて")
PB = {"content-type": "application/x-protobuf"}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return make_project(tmp_path_factory.mktemp("traces") / "project")


@pytest.fixture(scope="module")
def server(project: Project) -> Iterator[str]:
    with serving(project) as base:
        yield base


@pytest.fixture(scope="module")
def exported(server: str, project: Project, fake: FakeServer) -> dict[str, list[dict[str, object]]]:
    """Each instrumented app's calls, exported to the server."""
    return {kind: run_app(kind, server, project.key, fake.base_url, QUESTIONS) for kind in KINDS}


def _by_trace(project: Project) -> dict[str, Trace]:
    ws = project.workspace()
    try:
        return {t.trace_id: t for t in ws.traces.list(limit=1000)}
    finally:
        ws.close()


@pytest.mark.parametrize("kind", KINDS)
def test_an_instrumented_app_s_calls_are_stored_field_by_field(
    kind: str, exported: dict[str, list[dict[str, object]]], project: Project
) -> None:
    stored = _by_trace(project)
    calls = exported[kind]
    assert len(calls) == len(QUESTIONS)
    for call in calls:
        trace = stored[str(call["trace_id"])]
        assert trace.convention == ("openinference" if kind == "openinference" else "genai")
        assert trace.model == "fake-model"
        assert trace.system == "openai"
        assert list(trace.input_messages) == [
            {"role": "system", "content": "丁寧に答えてください"},
            {"role": "user", "content": call["question"]},
        ]
        assert trace.output_text == call["answer"]
        assert trace.output_text == f"回答: {call['question']}"  # the fake server's answer
        assert trace.input_tokens == call["prompt_tokens"]
        assert trace.output_tokens == call["completion_tokens"]
        assert trace.user_id == call["user"]
        assert trace.session_id == call["session"]
        assert trace.variant == "prompt-v2"  # hyouka.variant on the resource
        assert trace.service == "shop-bot"
        assert trace.latency_ms is not None and 0 < trace.latency_ms < 10_000
        assert trace.status in ("ok", "unset")
        assert len(trace.span_id) == 16
        assert trace.has_feedback is False


def test_filters_select_by_model_variant_user_text_and_time(
    exported: dict[str, list[dict[str, object]]], project: Project
) -> None:
    ws = project.workspace()
    everything = ws.traces.list(limit=1000)
    assert len(everything) == len(KINDS) * len(QUESTIONS)
    assert len(ws.traces.list(model="fake-model")) == len(everything)
    assert ws.traces.list(model="gpt-none") == []
    assert len(ws.traces.list(variant="prompt-v2")) == len(everything)
    assert {t.user_id for t in ws.traces.list(user="user-1")} == {"user-1"}
    assert len(ws.traces.list(user="user-1")) == len(KINDS)
    # text search reaches messages on the span and messages in log records (otel-event)
    hours = ws.traces.list(text="営業時間")
    assert len(hours) == len(KINDS)
    assert {t.convention for t in hours} == {"genai", "openinference"}
    newest = everything[0].started_at
    assert ws.traces.list(since=newest) == [everything[0]] or len(ws.traces.list(since=newest)) >= 1
    assert ws.traces.list(until=everything[-1].started_at) == []
    ws.close()


def test_the_cli_lists_traces_and_writes_a_dataset_and_import_samples(
    exported: dict[str, list[dict[str, object]]], project: Project, tmp_path: Path
) -> None:
    env = {"HYOUKA_DATABASE_URL": project.url, "COLUMNS": "200"}
    base = [sys.executable, "-m", "hyouka"]
    listing = subprocess.run(
        [*base, "traces", "-p", str(project.root), "--user", "user-0", "--json"],
        capture_output=True, text=True, env={**_os_env(), **env}, check=True,
    )  # fmt: skip
    rows = json.loads(listing.stdout)
    assert len(rows) == len(KINDS) and {r["user_id"] for r in rows} == {"user-0"}
    out, samples = tmp_path / "cases.jsonl", tmp_path / "samples.jsonl"
    made = subprocess.run(
        [*base, "traces", "to-dataset", str(out), "-p", str(project.root), "--text", "返品",
         "--samples", str(samples), "--as-variant", "prod-2026-12"],
        capture_output=True, text=True, env={**_os_env(), **env}, check=True,
    )  # fmt: skip
    assert f"{len(KINDS)} case(s) written" in made.stdout
    cases = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    answers = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines()]
    assert len(cases) == len(answers) == len(KINDS)
    for case, answer in zip(cases, answers, strict=True):
        assert case["vars"]["input"] == "返品の方法は?"
        assert case["vars"]["system"] == "丁寧に答えてください"
        assert case["expected"] == "回答: 返品の方法は?"
        assert case["metadata"]["source"] == "otel"
        assert (
            answer["id"]
            == case["id"]
            == f"{case['metadata']['trace_id']}-{case['metadata']['span_id']}"
        )
        assert answer["variant"] == "prod-2026-12" and answer["sample"] == 0
        assert answer["output"] == "回答: 返品の方法は?" and answer["model"] == "fake-model"
        assert answer["input_tokens"] > 0 and answer["output_tokens"] > 0
        assert answer["latency_ms"] > 0
    # the dataset loads as a hyouka dataset
    from hyouka.datasets import load_dataset

    loaded = load_dataset("from-traces", out)
    loaded.raise_for_problems()
    assert [c.id for c in loaded.cases] == [c["id"] for c in cases]
    # ... and the production answers come back as an external variant's run (hyouka import),
    # which end users can judge in a campaign like any run's outputs
    imported = subprocess.run(
        [*base, "import", str(samples), "--cases", str(out), "-p", str(project.root),
         "--lang", "en"],
        capture_output=True, text=True, env={**_os_env(), **env},
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert f"{len(KINDS)} sample" in imported.stdout
    ws = project.workspace()
    try:
        run = ws.get_run("latest")
        _, summaries = ws.show(run.uid)
        (prod,) = summaries
        assert prod.name == "prod-2026-12" and prod.samples == len(KINDS) and prod.errors == 0
        campaign = ws.campaigns.create(
            f"prod-{secrets.token_hex(3)}", run=run.uid, mode="rating", overlap=1
        )
        assert ws.campaigns.progress(campaign).items == len(KINDS)
    finally:
        ws.close()


def _os_env() -> dict[str, str]:
    import os

    root = str(Path(__file__).parent.parent)
    return {**os.environ, "PYTHONPATH": root}


def test_feedback_naming_a_trace_attaches_to_its_production_output(
    exported: dict[str, list[dict[str, object]]], project: Project, server: str
) -> None:
    call = exported["otel-span"][1]
    headers = {"X-API-Key": project.key}
    sent = httpx.post(
        f"{server}/api/feedback",
        json={"thumb": "down", "comment": "営業時間が書かれていない", "trace_id": call["trace_id"]},
        headers=headers,
    )
    assert sent.status_code == 201, sent.text
    trace = _by_trace(project)[str(call["trace_id"])]
    assert trace.has_feedback is True
    ws = project.workspace()
    assert [t.trace_id for t in ws.traces.list(feedback=True)] == [call["trace_id"]]
    assert len(ws.traces.list(feedback=False)) == len(KINDS) * len(QUESTIONS) - 1
    # the complaint reaches `hyouka feedback` with the exact production answer
    complaints = [c for c in collect_complaints(ws.store, ws.name) if c.who.startswith("otel:")]
    assert len(complaints) == 1
    assert complaints[0].who == trace.ref
    assert complaints[0].output == call["answer"]
    assert complaints[0].input_text == call["question"]
    assert complaints[0].comment == "営業時間が書かれていない"
    ws.close()
    # bad ids and a ref with a trace are clear 400s
    bad = [
        {"thumb": "down", "trace_id": "xyz"},
        {"thumb": "down", "trace_id": call["trace_id"], "span_id": "0" * 16},
        {"thumb": "down", "trace_id": call["trace_id"], "external_ref": "mine"},
    ]
    for body in bad:
        refused = httpx.post(f"{server}/api/feedback", json=body, headers=headers)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] in ("error.bad_trace_id", "error.trace_and_ref")
    # a trace that has not arrived yet: accepted, found once it is stored
    later = secrets.token_hex(16)
    early = httpx.post(
        f"{server}/api/feedback", json={"thumb": "down", "trace_id": later}, headers=headers
    )
    assert early.status_code == 201
    span = secrets.token_bytes(8)
    request = trace_request([(bytes.fromhex(later), span, llm_attributes(1))])
    stored = httpx.post(f"{server}/v1/traces", content=request, headers={**PB, **headers})
    assert stored.status_code == 200
    ws = project.workspace()
    assert [t.has_feedback for t in ws.traces.list(trace_id=later)] == [True]
    ws.close()


# -- bad input --------------------------------------------------------------------------------


def _count(project: Project) -> int:
    from hyouka.store.tx import reading
    from hyouka.traces import queries

    ws = project.workspace()
    with reading(ws.store) as conn:
        n = queries.count_spans(conn, ws.name)
    ws.close()
    return n


def test_bad_requests_are_clear_4xx_and_store_nothing(project: Project, server: str) -> None:
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    key = {"X-API-Key": project.key}
    good = trace_request([(secrets.token_bytes(16), secrets.token_bytes(8), llm_attributes(0))])
    before = _count(project)
    cases = [
        ({**PB, **key}, b"\x0a\xff\xff\xff\x0fnot protobuf", 400, "not a valid OTLP"),
        ({**PB, "X-API-Key": "hk_wrong"}, good, 401, "API key"),
        (PB, good, 401, "API key"),
        ({"content-type": "text/plain", **key}, good, 415, "Content-Type"),
        ({"content-type": "application/json", **key}, b"{not json", 400, "not JSON"),
        ({"content-type": "application/json", **key}, b'{"resourceSpans": 3}', 400, "a list"),
        ({**PB, "content-encoding": "gzip", **key}, good, 400, "cannot be decompressed"),
        ({**PB, "content-encoding": "br", **key}, good, 415, "Content-Encoding"),
        # a gzip bomb: 40 MB of zeros in ~40 KB
        ({**PB, "content-encoding": "gzip", **key}, gzip.compress(b"\0" * 40_000_000), 413, "MB"),
    ]  # fmt: skip
    for headers, body, status, words in cases:
        answer = httpx.post(f"{server}/v1/traces", content=body, headers=headers)
        assert answer.status_code == status, (headers, answer.text)
        if headers.get("content-type") == "application/x-protobuf":
            # a google.rpc.Status: field 2 is the message
            assert words.encode() in answer.content, answer.content
        else:
            assert words in answer.json()["message"], answer.text
    too_big = httpx.post(
        f"{server}/v1/traces", content=b"\0" * (5 * 1024 * 1024), headers={**PB, **key}
    )
    assert too_big.status_code == 413
    assert _count(project) == before
    # the partial-success answer: good spans stored, broken ones counted with the reason
    t = secrets.token_bytes(16)
    spans = [(t, secrets.token_bytes(8), llm_attributes(n)) for n in range(3)]
    spans.append(
        (t, secrets.token_bytes(8), {**llm_attributes(9), "gen_ai.usage.input_tokens": "many"})
    )
    spans.append((b"\0" * 16, secrets.token_bytes(8), llm_attributes(10)))
    spans.append((t, secrets.token_bytes(8), {"http.method": "GET", "some.unknown": 1}))
    spans.append((t, secrets.token_bytes(8), {**llm_attributes(11), "x.unknown.attr": [1, 2]}))
    body = trace_request(spans)
    for _attempt in range(2):  # a retry of the same batch stores nothing twice
        answer = httpx.post(f"{server}/v1/traces", content=gzip.compress(body),
                            headers={**PB, **key, "content-encoding": "gzip"})  # fmt: skip
        assert answer.status_code == 200
        reply = trace_service_pb2.ExportTraceServiceResponse.FromString(answer.content)
        assert reply.partial_success.rejected_spans == 2
        message = reply.partial_success.error_message
        assert "2 spans rejected" in message
        assert "gen_ai.usage.input_tokens must be a whole number of tokens, got 'many'" in message
        assert "traceId must be 16 bytes" in message
        assert "1 spans not kept: hyouka stores LLM calls only" in message
        assert _count(project) == before + 4
    ws = project.workspace()
    kept = ws.traces.list(trace_id=t.hex(), limit=10)
    ws.close()
    assert len(kept) == 4
    unknown = [k for k in kept if "x.unknown.attr" in k.attributes]
    assert unknown and unknown[0].attributes["x.unknown.attr"] == [1, 2]  # kept as sent


def test_otlp_json_is_accepted_with_hex_ids(project: Project, server: str) -> None:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    doc = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "json-app"}}]},
        "scopeSpans": [{"scope": {"name": "x"}, "spans": [{
            "traceId": trace_id, "spanId": span_id, "name": "chat", "kind": 3,
            "startTimeUnixNano": "1764633600000000000", "endTimeUnixNano": "1764633600420000000",
            "status": {"code": 2, "message": "rate limited"},
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.system", "value": {"stringValue": "anthropic"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "claude-x"}},
                {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": "12"}},
                {"key": "gen_ai.usage.completion_tokens", "value": {"intValue": 3}},
                {"key": "gen_ai.prompt.0.role", "value": {"stringValue": "user"}},
                {"key": "gen_ai.prompt.0.content", "value": {"stringValue": "こんにちは"}},
                {"key": "gen_ai.completion.0.role", "value": {"stringValue": "assistant"}},
                {"key": "gen_ai.completion.0.content", "value": {"stringValue": "はい"}},
            ]}]}]}]}  # fmt: skip
    answer = httpx.post(f"{server}/v1/traces", json=doc, headers={"X-API-Key": project.key})
    assert answer.status_code == 200 and answer.json() == {}
    ws = project.workspace()
    [got] = ws.traces.list(trace_id=trace_id)
    ws.close()
    assert (got.span_id, got.model, got.system, got.service) == (
        span_id,
        "claude-x",
        "anthropic",
        "json-app",
    )
    assert (got.input_tokens, got.output_tokens, got.latency_ms) == (12, 3, 420.0)
    assert list(got.input_messages) == [{"role": "user", "content": "こんにちは"}]
    assert (got.output_text, got.status, got.error) == ("はい", "error", "rate limited")
    assert got.started_at.isoformat() == "2025-12-02T00:00:00+00:00"


def test_wrong_keys_are_limited_per_address_but_a_valid_key_still_exports(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path / "project")
    body = trace_request([(secrets.token_bytes(16), secrets.token_bytes(8), llm_attributes(0))])
    with serving(project) as base:
        statuses = [
            httpx.post(f"{base}/v1/traces", content=body, headers={**PB, "X-API-Key": f"hk_{n}"})
            for n in range(22)
        ]
        assert {a.status_code for a in statuses[:20]} == {401}  # SigninLimit: 20 attempts
        assert statuses[-1].status_code == 429
        assert b"too many failed attempts" in statuses[-1].content
        ok = httpx.post(
            f"{base}/v1/traces",
            content=body,
            headers={**PB, "Authorization": f"Bearer {project.key}"},
        )
        assert ok.status_code == 200


def test_the_five_line_snippet_of_docs_traces_md_works_as_printed(
    tmp_path: Path, project: Project, server: str, fake: FakeServer
) -> None:
    """The README-style promise: copy the snippet, set the environment, the call is a trace."""
    import os
    import re

    doc = (Path(__file__).parent.parent / "docs" / "traces.md").read_text(encoding="utf-8")
    snippet = re.search(r"## Instrument an app in five lines.*?```python\n(.*?)```", doc, re.S)
    assert snippet is not None
    lines = snippet.group(1).strip().splitlines()
    assert len(lines) == 5
    question = f"スニペットの確認 {secrets.token_hex(3)}"
    app = tmp_path / "app.py"
    app.write_text(
        snippet.group(1)
        + "import openai\n"
        + f"client = openai.OpenAI(base_url={fake.base_url!r}, api_key='sk-x')\n"
        + f"messages = [{{'role': 'user', 'content': {question!r}}}]\n"
        + "client.chat.completions.create(model='fake-model', messages=messages)\n"
        + "p.force_flush()\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": server,
        "OTEL_EXPORTER_OTLP_HEADERS": f"x-api-key={project.key}",
        "OTEL_RESOURCE_ATTRIBUTES": "service.name=shop-bot,hyouka.variant=prompt-v2",
    }
    done = subprocess.run(
        [sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    ws = project.workspace()
    [got] = ws.traces.list(text=question)
    ws.close()
    assert (got.model, got.variant, got.output_text) == (
        "fake-model",
        "prompt-v2",
        f"回答: {question}",
    )


def test_logs_without_a_span_are_rejected_and_other_records_are_not_kept(
    project: Project, server: str
) -> None:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)

    def record(name: str, trace: str, span: str, body: dict[str, object]) -> dict[str, object]:
        values = [{"key": k, "value": {"stringValue": v}} for k, v in body.items()]
        return {"timeUnixNano": "1764633600000000000", "eventName": name, "traceId": trace,
                "spanId": span, "body": {"kvlistValue": {"values": values}}}  # fmt: skip

    doc = {"resourceLogs": [{"resource": {}, "scopeLogs": [{"logRecords": [
        record("gen_ai.user.message", trace_id, span_id, {"content": "ログの質問"}),
        record("gen_ai.user.message", "", "", {"content": "どのスパンでもない"}),
        record("app.started", trace_id, span_id, {"content": "not GenAI"}),
    ]}]}]}  # fmt: skip
    answer = httpx.post(f"{server}/v1/logs", json=doc, headers={"X-API-Key": project.key})
    assert answer.status_code == 200
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedLogRecords"] == 1
    assert "names no span (traceId/spanId missing)" in partial["errorMessage"]
    assert "1 log records not kept" in partial["errorMessage"]
    # the span arrives afterwards, without content: the log record gives its input
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m-logs"}
    body = trace_request([(bytes.fromhex(trace_id), bytes.fromhex(span_id), attrs)])
    assert httpx.post(f"{server}/v1/traces", content=body,
                      headers={**PB, "X-API-Key": project.key}).status_code == 200  # fmt: skip
    ws = project.workspace()
    [got] = ws.traces.list(trace_id=trace_id)
    ws.close()
    assert list(got.input_messages) == [{"role": "user", "content": "ログの質問"}]
    assert got.output_text is None and got.model == "m-logs"


def test_a_request_over_the_span_limit_is_413_and_stores_nothing(
    project: Project, server: str
) -> None:
    from hyouka.traces.otlp import ITEMS_MAX

    trace = secrets.token_bytes(16)
    spans = [(trace, n.to_bytes(8, "big"), {}) for n in range(1, ITEMS_MAX + 2)]
    body = gzip.compress(trace_request(spans))
    before = _count(project)
    answer = httpx.post(
        f"{server}/v1/traces", content=body,
        headers={**PB, "content-encoding": "gzip", "X-API-Key": project.key},
    )  # fmt: skip
    assert answer.status_code == 413
    assert f"at most {ITEMS_MAX} per request".encode() in answer.content
    assert _count(project) == before
