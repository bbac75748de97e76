"""Production traces (0007): LLM spans received over OTLP, and the log records that carry their
message content (``/v1/logs``), on the same MetaData as :mod:`hyouka.store.schema`.

A span is stored once per ``(project, trace_id, span_id)``: an exporter's retry, or the same
batch reaching two server processes, inserts nothing new (``ON CONFLICT DO NOTHING``). A log
record is stored once per ``(project, record_hash)`` (the sha256 of its encoded record) and is
joined to its span by trace and span id when read, so the two may arrive in any order and at
any process. See docs/design/0007-traces.md.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from hyouka.store.schema import judgments, metadata, utcnow

trace_spans = Table(
    "trace_spans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project", String(200), nullable=False),
    Column("trace_id", String(32), nullable=False),  # lowercase hex, as OTLP/JSON writes it
    Column("span_id", String(16), nullable=False),
    Column("parent_span_id", String(16), nullable=True),
    Column("name", String(300), nullable=False),
    Column("convention", String(20), nullable=False),  # genai | openinference
    Column("start_ns", BigInteger, nullable=False),  # UNIX nanoseconds, as sent
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("latency_ms", Float, nullable=True),
    Column("status", String(10), nullable=False),  # ok | error | unset
    Column("error", Text, nullable=True),
    Column("operation", String(100), nullable=True),  # chat, text_completion, embeddings…
    Column("system", String(100), nullable=True),  # openai, anthropic… (provider)
    Column("model", String(300), nullable=True),  # the response's model, else the request's
    Column("request_model", String(300), nullable=True),
    Column("input_messages", JSON, nullable=True),  # [{"role", "content"}]; NULL: not on span
    Column("output_text", Text, nullable=True),
    Column("output_messages", JSON, nullable=True),
    Column("input_tokens", Integer, nullable=True),
    Column("output_tokens", Integer, nullable=True),
    Column("user_id", String(200), nullable=True),
    Column("session_id", String(200), nullable=True),
    Column("variant", String(200), nullable=True),  # the app's label (hyouka.variant)
    Column("service", String(200), nullable=True),  # resource service.name
    Column("search_text", Text, nullable=False, default=""),  # lowercased, for `traces --text`
    Column("attributes", JSON, nullable=False),  # every attribute as sent (bounded)
    Column("api_key_id", Integer, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False, default=utcnow),
    UniqueConstraint("project", "trace_id", "span_id", name="uq_trace_spans_ids"),
    Index("ix_trace_spans_project_started", "project", "started_at"),
)

trace_logs = Table(
    "trace_logs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project", String(200), nullable=False),
    Column("record_hash", String(64), nullable=False),
    Column("trace_id", String(32), nullable=False),
    Column("span_id", String(16), nullable=False),
    Column("event_name", String(200), nullable=False),
    Column("time_ns", BigInteger, nullable=False),
    Column("body", JSON, nullable=True),
    Column("attributes", JSON, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, default=utcnow),
    UniqueConstraint("project", "record_hash", name="uq_trace_logs_hash"),
    Index("ix_trace_logs_span", "project", "trace_id", "span_id"),
)

# Feedback on a trace is a production judgment whose external_ref is "otel:<trace>:<span>";
# `hyouka traces --feedback` looks them up by it.
judgments_external_ref = Index("ix_judgments_external_ref", judgments.c.external_ref)
