"""Hostile OTLP input never escapes as a server error: random and mutated protobuf, random
OTLP/JSON documents and attribute values either store (the good spans) or are refused with an
:class:`OtlpError` (a 4xx) or a rejected-span count. Real store (SQLite), real decoding."""

from __future__ import annotations

import gzip
import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from traces_env import llm_attributes, make_project, trace_request

from hyouka.api import Workspace
from hyouka.traces.otlp import OtlpError

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    project = make_project(tmp_path_factory.mktemp("fuzz") / "p")
    return project.workspace()


def _ingest(ws: Workspace, body: bytes, kind: str, encoding: str | None = None) -> None:
    try:
        outcome = ws.traces.ingest_spans(body, kind, encoding)
    except OtlpError as exc:
        assert 400 <= exc.status < 500 and exc.message
        return
    assert (
        outcome.received == outcome.stored + outcome.duplicates + outcome.rejected + outcome.ignored
    )


GOOD = trace_request(
    [(secrets.token_bytes(16), secrets.token_bytes(8), llm_attributes(n)) for n in range(3)]
)


@SETTINGS
@given(st.binary(max_size=2000))
def test_random_bytes_as_protobuf(ws: Workspace, body: bytes) -> None:
    _ingest(ws, body, "application/x-protobuf")


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), max_size=8))
def test_mutated_protobuf(ws: Workspace, flips: list[tuple[int, int]]) -> None:
    body = bytearray(GOOD)
    for at, value in flips:
        body[at] = value
    _ingest(ws, bytes(body), "application/x-protobuf")
    _ingest(
        ws, gzip.compress(bytes(body))[: max(1, len(body) // 2)], "application/x-protobuf", "gzip"
    )


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _any_value(value: Any) -> Any:
    return (
        {"stringValue": value}
        if isinstance(value, str)
        else {"intValue": value}
        if isinstance(value, int)
        else value
    )


@SETTINGS
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "gen_ai.operation.name",
                "gen_ai.request.model",
                "gen_ai.usage.input_tokens",
                "gen_ai.input.messages",
                "gen_ai.output.messages",
                "gen_ai.prompt.0.role",
                "gen_ai.prompt.0.content",
                "llm.input_messages.0.message.role",
                "llm.token_count.prompt",
                "openinference.span.kind",
                "user.id",
                "hyouka.variant",
                "gen_ai.system_instructions",
                "x.other",
            ]
        ),
        values,
        max_size=6,
    ),
    values,
)
def test_random_json_attributes_and_shapes(ws: Workspace, attrs: dict[str, Any], junk: Any) -> None:
    span = {"traceId": secrets.token_hex(16), "spanId": secrets.token_hex(8), "name": "chat",
            "startTimeUnixNano": "1764633600000000000", "endTimeUnixNano": "1764633601000000000",
            "attributes": [{"key": k, "value": _any_value(v)} for k, v in attrs.items()],
            }  # fmt: skip
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    _ingest(ws, json.dumps(doc, default=str).encode(), "application/json")
    broken = {"resourceSpans": [{"scopeSpans": [{"spans": [{**span, "attributes": junk}]}]}]}
    _ingest(ws, json.dumps(broken, default=str).encode(), "application/json")
    _ingest(ws, json.dumps(junk, default=str).encode(), "application/json")


def test_the_store_is_still_readable(ws: Workspace, tmp_path: Path) -> None:
    found = ws.traces.list(limit=100_000)
    assert all(t.trace_id and t.span_id for t in found)
    ws.traces.to_dataset(tmp_path / "all.jsonl", samples=tmp_path / "s.jsonl", limit=100_000)


def test_nul_and_lone_surrogates_reject_their_span_only(ws: Workspace) -> None:
    trace = secrets.token_bytes(16)
    body = trace_request([
        (trace, secrets.token_bytes(8), {**llm_attributes(0), "user.id": "a\x00b"}),
        (trace, secrets.token_bytes(8), llm_attributes(1)),
    ])  # fmt: skip
    outcome = ws.traces.ingest_spans(body, "application/x-protobuf")
    assert (outcome.stored, outcome.rejected) == (1, 1)
    assert "NUL" in outcome.message()
    ids = f'"traceId":"{secrets.token_hex(16)}","spanId":"{secrets.token_hex(8)}"'
    doc = (
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{' + ids + ',"startTimeUnixNano":"1",'
        '"attributes":[{"key":"gen_ai.request.model","value":{"stringValue":"\\ud800"}}]}]}]}]}'
    )
    try:
        outcome = ws.traces.ingest_spans(doc.encode(), "application/json")
    except OtlpError as exc:
        assert exc.status == 400
    else:
        assert outcome.rejected == 1 and outcome.stored == 0


def test_the_previous_layout_as_span_events_is_read(ws: Workspace) -> None:
    """Semconv ≤ 1.36 instrumentors put the messages in span events (not log records):
    ``gen_ai.system.message`` / ``gen_ai.user.message`` with the content in attributes, and
    ``gen_ai.choice`` with the message as JSON; the oldest ``gen_ai.content.prompt``."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    from traces_env import key_value

    request = trace_service_pb2.ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add()
    trace_ids = []
    for layout in ("events", "oldest"):
        span = spans.spans.add()
        span.trace_id, span.span_id = secrets.token_bytes(16), secrets.token_bytes(8)
        trace_ids.append(span.trace_id.hex())
        span.name, span.start_time_unix_nano = "chat", 1_764_633_600_000_000_000
        span.end_time_unix_nano = span.start_time_unix_nano + 5_000_000
        span.attributes.extend([key_value("gen_ai.system", "openai"),
                                key_value("gen_ai.request.model", "gpt-old")])  # fmt: skip
        if layout == "events":
            for name, attrs in (
                ("gen_ai.system.message", {"content": "簡潔に"}),
                ("gen_ai.user.message", {"content": "送料は?"}),
                ("gen_ai.choice", {"message": '{"role": "assistant", "content": "無料です"}'}),
            ):
                event = span.events.add(name=name, time_unix_nano=span.start_time_unix_nano)
                event.attributes.extend(key_value(k, v) for k, v in attrs.items())
        else:
            prompt = span.events.add(name="gen_ai.content.prompt")
            prompt.attributes.extend(
                [key_value("gen_ai.prompt", '[{"role": "user", "content": "送料は?"}]')]
            )
            completion = span.events.add(name="gen_ai.content.completion")
            completion.attributes.extend([key_value("gen_ai.completion", "無料です")])
    outcome = ws.traces.ingest_spans(request.SerializeToString(), "application/x-protobuf")
    assert (outcome.stored, outcome.rejected) == (2, 0), outcome.message()
    new, old = (ws.traces.list(trace_id=t)[0] for t in trace_ids)
    assert list(new.input_messages) == [
        {"role": "system", "content": "簡潔に"},
        {"role": "user", "content": "送料は?"},
    ]
    assert list(old.input_messages) == [{"role": "user", "content": "送料は?"}]
    assert new.output_text == old.output_text == "無料です"
    assert (new.model, new.system, new.latency_ms) == ("gpt-old", "openai", 5.0)
