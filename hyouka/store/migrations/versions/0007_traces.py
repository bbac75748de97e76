"""production traces received over OpenTelemetry (issue 18, part 2)

Why: ``hyouka serve`` accepts OTLP/HTTP at ``/v1/traces`` and ``/v1/logs``. LLM spans become
rows of ``trace_spans`` (typed columns for what ``hyouka traces`` filters on, every attribute
kept as JSON), unique on (project, trace_id, span_id) so that a retried export or the same
batch at two server processes stores each span once. Log records carrying message content
(``trace_logs``, unique on their content hash) are joined to their spans when read. An index on
``judgments.external_ref`` finds the production feedback given on a trace ("otel:<trace>:<span>").

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trace_spans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project", sa.String(length=200), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("span_id", sa.String(length=16), nullable=False),
        sa.Column("parent_span_id", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("convention", sa.String(length=20), nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("operation", sa.String(length=100), nullable=True),
        sa.Column("system", sa.String(length=100), nullable=True),
        sa.Column("model", sa.String(length=300), nullable=True),
        sa.Column("request_model", sa.String(length=300), nullable=True),
        sa.Column("input_messages", sa.JSON(), nullable=True),
        sa.Column("output_text", sa.Text(), nullable=True),
        sa.Column("output_messages", sa.JSON(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.String(length=200), nullable=True),
        sa.Column("session_id", sa.String(length=200), nullable=True),
        sa.Column("variant", sa.String(length=200), nullable=True),
        sa.Column("service", sa.String(length=200), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_spans")),
        sa.UniqueConstraint("project", "trace_id", "span_id", name="uq_trace_spans_ids"),
    )
    op.create_index(
        "ix_trace_spans_project_started", "trace_spans", ["project", "started_at"], unique=False
    )
    op.create_table(
        "trace_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project", sa.String(length=200), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=False),
        sa.Column("span_id", sa.String(length=16), nullable=False),
        sa.Column("event_name", sa.String(length=200), nullable=False),
        sa.Column("time_ns", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_logs")),
        sa.UniqueConstraint("project", "record_hash", name="uq_trace_logs_hash"),
    )
    op.create_index(
        "ix_trace_logs_span", "trace_logs", ["project", "trace_id", "span_id"], unique=False
    )
    op.create_index("ix_judgments_external_ref", "judgments", ["external_ref"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_judgments_external_ref", table_name="judgments")
    op.drop_index("ix_trace_logs_span", table_name="trace_logs")
    op.drop_table("trace_logs")
    op.drop_index("ix_trace_spans_project_started", table_name="trace_spans")
    op.drop_table("trace_spans")
