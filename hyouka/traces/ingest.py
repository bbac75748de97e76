"""Storing an OTLP export: decode, keep the LLM spans, write them in one transaction.

What the exporter is told (:class:`Outcome`): a request that cannot be read is refused whole
(:class:`~hyouka.traces.otlp.OtlpError`: 400/413/415, nothing stored); otherwise every good LLM
span is stored before the answer goes out — the transaction has committed, so a server killed
right after answering has them — and a span that cannot be stored is counted in the OTLP
partial-success answer (``rejected_spans``) with the first reasons. Spans that are not LLM
calls (HTTP, database, the app's own) are not kept; the answer says how many, as a warning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from hyouka.bounds import text_problem
from hyouka.store.store import Store
from hyouka.store.tx import run_write
from hyouka.traces import queries
from hyouka.traces.conventions import (
    CONTEXT_KEYS,
    SPAN_JSON_MAX,
    SpanProblem,
    check_storable,
    is_llm_span,
    output_text,
    read_span,
)
from hyouka.traces.otlp import LogRecord, Span, decode_logs, decode_spans

MAX_REASONS = 3


@dataclass
class Outcome:
    """What became of one export request."""

    received: int = 0
    stored: int = 0  # new rows (a resent span is accepted but not stored twice)
    duplicates: int = 0
    rejected: int = 0
    ignored: int = 0  # not LLM spans (or log records that are not GenAI events)
    reasons: list[str] = field(default_factory=list)

    def reject(self, what: str, why: str) -> None:
        self.rejected += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(f"{what}: {why}")

    def message(self, kind: str = "spans") -> str:
        """The partial-success ``error_message`` ("" when all was taken)."""
        parts: list[str] = []
        if self.rejected:
            more = self.rejected - len(self.reasons)
            tail = f" (and {more} more)" if more > 0 else ""
            parts.append(f"{self.rejected} {kind} rejected: " + "; ".join(self.reasons) + tail)
        if self.ignored:
            parts.append(
                f"{self.ignored} {kind} not kept: hyouka stores LLM calls only "
                "(gen_ai.* or OpenInference LLM attributes)"
            )
        return "; ".join(parts)


def _nanos_to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=str)


def _strings(value: Any) -> list[str]:
    """Every string in an attribute value, with the keys of mappings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    return []


def resource_problem(resource: Any) -> str | None:
    """Why a resource's attributes cannot be stored, or None (checked once per request)."""
    found = (text_problem(s) for s in _strings(dict(resource)))
    problem = next((p for p in found if p), None)
    return f"a resource attribute {problem}" if problem else None


def _context(span: Span, batch: dict[tuple[str, str], Span]) -> dict[str, Any]:
    """User, session and variant label from the span's ancestors in the same request
    (nearest first): apps often set them on the request's span, not on the LLM call's."""
    found: dict[str, Any] = {}
    parent, hops = span.parent_span_id, 0
    while parent and hops < 32:
        above = batch.get((span.trace_id, parent))
        if above is None:
            break
        for key in CONTEXT_KEYS:
            if key in above.attributes and key not in found:
                found[key] = above.attributes[key]
        parent, hops = above.parent_span_id, hops + 1
    return found


def span_row(
    project: str,
    span: Span,
    api_key_id: int | None,
    batch: dict[tuple[str, str], Span] | None = None,
) -> dict[str, Any] | None:
    """The ``trace_spans`` row of an LLM span; None for other spans (raises SpanProblem).
    ``batch``: the request's spans by (trace id, span id), for context from ancestors."""
    if span.problem:
        raise SpanProblem(span.problem)
    convention = is_llm_span(span.attributes)
    if convention is None:
        return None
    events = [(e.name, e.attributes, None) for e in span.events]
    context = _context(span, batch) if batch and span.parent_span_id else None
    llm = read_span(convention, span.attributes, span.resource, events, context)
    # one encoding checks every attribute: orjson refuses a lone surrogate, and a NUL shows
    # as \u0000 (what no database stores); the resource is checked once per request
    try:
        encoded = orjson.dumps(span.attributes, default=str)
    except orjson.JSONEncodeError as exc:
        raise SpanProblem(f"an attribute is not storable text: {exc}") from None
    if b"\\u0000" in encoded:
        raise SpanProblem("an attribute holds a NUL character (U+0000)")
    check_storable([span.name], "its name")
    attrs_size = len(encoded)
    if attrs_size > SPAN_JSON_MAX:
        raise SpanProblem(
            f"its attributes take {attrs_size} bytes, over the {SPAN_JSON_MAX} a span may hold"
        )
    if span.start_ns <= 0 or span.start_ns > 2**63 - 1:
        raise SpanProblem(f"startTimeUnixNano {span.start_ns} is not a time")
    latency = (span.end_ns - span.start_ns) / 1e6 if span.end_ns >= span.start_ns else None
    answer = output_text(llm.output_messages)
    search = [m["content"] for m in llm.input_messages or ()] + [answer or ""]
    search += [llm.model or "", llm.user_id or "", llm.variant or ""]
    return {
        "project": project,
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name[:300],
        "convention": llm.convention,
        "start_ns": span.start_ns,
        "started_at": _nanos_to_datetime(span.start_ns),
        "latency_ms": latency,
        "status": {1: "ok", 2: "error"}.get(span.status_code, "unset"),
        "error": span.status_message or None,
        "operation": llm.operation,
        "system": llm.system,
        "model": llm.model,
        "request_model": llm.request_model,
        "input_messages": llm.input_messages,
        "output_text": answer,
        "output_messages": llm.output_messages,
        "input_tokens": llm.input_tokens,
        "output_tokens": llm.output_tokens,
        "user_id": llm.user_id,
        "session_id": llm.session_id,
        "variant": llm.variant,
        "service": llm.service,
        "search_text": "\n".join(s for s in search if s).lower(),
        "attributes": span.attributes,
        "api_key_id": api_key_id,
        "received_at": datetime.now(UTC),
    }


GENAI_EVENTS = ("gen_ai.",)


def log_row(project: str, record: LogRecord) -> dict[str, Any] | None:
    """The ``trace_logs`` row of a GenAI event log record; None for other records."""
    name = record.event_name
    if not name.startswith(GENAI_EVENTS):
        return None
    ok_ids = len(record.trace_id) == 32 and len(record.span_id) == 16
    if not ok_ids or not record.trace_id.strip("0") or not record.span_id.strip("0"):
        raise SpanProblem(
            f"event {name!r} names no span (traceId/spanId missing): it cannot be joined"
        )
    check_storable([name, *_strings(record.attributes), *_strings(record.body)], "a value")
    # what the record says, parsed, so that a bad message layout is refused now, not when read
    from hyouka.traces.conventions import events_content

    events_content([(name, record.attributes, record.body)])
    size = len(_dumps(record.attributes)) + len(_dumps(record.body))
    if size > SPAN_JSON_MAX:
        raise SpanProblem(f"it takes {size} bytes, over the {SPAN_JSON_MAX} a record may hold")
    return {
        "project": project,
        "record_hash": hashlib.sha256(record.raw).hexdigest(),
        "trace_id": record.trace_id,
        "span_id": record.span_id,
        "event_name": name[:200],
        "time_ns": min(max(record.time_ns, 0), 2**63 - 1),
        "body": record.body,
        "attributes": record.attributes,
        "received_at": datetime.now(UTC),
    }


def _rows(
    items: list[Any], make: Callable[[Any], dict[str, Any] | None], what: str
) -> tuple[list[dict[str, Any]], Outcome]:
    outcome = Outcome(received=len(items))
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for n, item in enumerate(items):
        ident = getattr(item, "span_id", "") or str(n)
        try:
            row = make(item)
        except SpanProblem as exc:
            outcome.reject(f"{what} {ident}", str(exc))
            continue
        if row is None:
            outcome.ignored += 1
            continue
        key = (row["trace_id"], row.get("span_id") or "", row.get("record_hash") or "")
        if key in seen:  # the same span twice in one request: once
            outcome.duplicates += 1
            continue
        seen.add(key)
        rows.append(row)
    return rows, outcome


def ingest_spans(
    store: Store,
    project: str,
    body: bytes,
    content_type: str | None,
    encoding: str | None = None,
    api_key_id: int | None = None,
) -> Outcome:
    """Decode and store one ``/v1/traces`` request (raises OtlpError when it cannot be read)."""
    spans = decode_spans(body, content_type, encoding)
    batch = {(s.trace_id, s.span_id): s for s in spans}
    resources = {id(s.resource): s.resource for s in spans}  # alive while `spans` is
    for key, problem in ((k, resource_problem(r)) for k, r in resources.items()):
        if problem:
            for s in spans:
                if id(s.resource) == key and s.problem is None:
                    s.problem = problem
    rows, outcome = _rows(spans, lambda s: span_row(project, s, api_key_id, batch), "span")
    if rows:
        new = run_write(store, lambda conn: queries.insert_spans(conn, rows))
        outcome.stored = new
        outcome.duplicates += len(rows) - new
    return outcome


def ingest_logs(
    store: Store,
    project: str,
    body: bytes,
    content_type: str | None,
    encoding: str | None = None,
) -> Outcome:
    """Decode and store one ``/v1/logs`` request."""
    records = decode_logs(body, content_type, encoding)
    rows, outcome = _rows(records, lambda r: log_row(project, r), "log record")
    if rows:
        new = run_write(store, lambda conn: queries.insert_logs(conn, rows))
        outcome.stored = new
        outcome.duplicates += len(rows) - new
    return outcome
