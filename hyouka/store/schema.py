"""The tables, defined once for SQLite and PostgreSQL (SQLAlchemy Core).

Data rules (docs/design/0001-store-and-runner.md): typed columns for anything filtered or
aggregated, JSON only for opaque payloads, raw provider payloads in a side table, explicit
``status`` columns, machine outputs immutable, human judgments append-only (``supersedes_id``).
Any change here needs a new Alembic migration in ``hyouka/store/migrations/versions`` (a test
compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from hyouka.store import schema_convo, schema_import

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata: MetaData = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _created() -> Column[datetime]:
    return Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow)


datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("version", String(64), nullable=False),
    Column("path", Text, nullable=False, default=""),
    Column("n_cases", Integer, nullable=False),
    _created(),
    UniqueConstraint("project", "name", "version"),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_hash", String(64), nullable=False, unique=True),
    Column("case_key", String(200), nullable=False, index=True),
    Column("content", JSON, nullable=False),
    _created(),
)

dataset_cases = Table(
    "dataset_cases",
    metadata,
    Column("dataset_id", ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
)

variants = Table(
    "variants",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("version", String(64), nullable=False),
    Column("kind", String(20), nullable=False),  # prompt | app | judge
    Column("provider_type", String(100), nullable=True),
    Column("model", String(300), nullable=True),
    Column("family", String(200), nullable=True),
    Column("spec", JSON, nullable=False),
    _created(),
    UniqueConstraint("project", "name", "version"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(40), nullable=False, unique=True),
    Column("project", String(200), nullable=False, index=True),
    Column("status", String(20), nullable=False),  # running | finished | interrupted | failed
    Column("seed", Integer, nullable=False),
    Column("samples", Integer, nullable=False),
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("config", JSON, nullable=False),
    Column("hyouka_version", String(40), nullable=False),
    _created(),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    # 0005: the process running it and its last sign of life (see store.effective_status)
    Column("owner_host", String(255), nullable=True),
    Column("owner_pid", Integer, nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True),
)

run_variants = Table(
    "run_variants",
    metadata,
    Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("variant_id", ForeignKey("variants.id"), primary_key=True),
)

run_datasets = Table(
    "run_datasets",
    metadata,
    Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("dataset_id", ForeignKey("datasets.id"), primary_key=True),
)

samples = Table(
    "samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("variant_id", ForeignKey("variants.id"), nullable=False),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("sample_index", Integer, nullable=False),
    # "" for an app's own output; for a judge call, what it judged (e.g. "s:<sample id>:r0")
    Column("target", String(120), nullable=False, default=""),
    Column("role", String(10), nullable=False, default="app"),  # app | judge
    Column("seed", Integer, nullable=True),
    Column("status", String(20), nullable=False),  # ok | error | timeout | rate_limited
    Column("output", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("input_tokens", Integer, nullable=True),
    Column("output_tokens", Integer, nullable=True),
    Column("cost", Float, nullable=True),
    Column("contexts", JSON, nullable=True),
    Column("cache_key", String(64), nullable=False),
    Column("cached", Boolean, nullable=False, default=False),
    Column("attempts", Integer, nullable=False, default=1),
    _created(),
    UniqueConstraint("run_id", "variant_id", "case_id", "sample_index", "target"),
    Index("ix_samples_cache_key_status", "cache_key", "status"),
    # 0008: the team's run page reads one page of cases at a time (hyouka/workbench)
    Index("ix_samples_run_case", "run_id", "case_id"),
)

sample_payloads = Table(
    "sample_payloads",
    metadata,
    Column("sample_id", ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True),
    Column("request", JSON, nullable=True),
    Column("response", JSON, nullable=True),
)

scores = Table(
    "scores",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sample_id", ForeignKey("samples.id", ondelete="CASCADE"), nullable=False),
    Column("check_name", String(100), nullable=False),
    Column("check_version", String(20), nullable=False),
    Column("params_hash", String(32), nullable=False),
    Column("params", JSON, nullable=False),
    Column("metric", String(200), nullable=False),
    Column("repeat", Integer, nullable=False, default=0),
    Column("value", Float, nullable=True),
    Column("passed", Boolean, nullable=True),
    Column("status", String(20), nullable=False),  # ok | error | parse_error | skipped
    Column("reason", Text, nullable=True),
    Column("weight", Float, nullable=False, default=1.0),
    Column("judge_sample_id", ForeignKey("samples.id"), nullable=True),
    _created(),
    UniqueConstraint("sample_id", "check_name", "check_version", "params_hash", "metric", "repeat"),
)

annotators = Table(
    "annotators",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("group_name", String(200), nullable=False, default=""),
    Column("role", String(20), nullable=False, default="annotator"),  # annotator | admin
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("locale", String(10), nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    _created(),
    UniqueConstraint("project", "name"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(128), nullable=False, unique=True),
    Column("disabled", Boolean, nullable=False, default=False),
    _created(),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("run_id", ForeignKey("runs.id"), nullable=False),
    Column("mode", String(20), nullable=False),  # pairwise | rating | pairwise+rating
    Column("overlap", Integer, nullable=False),
    Column("rubric", Text, nullable=True),
    Column("instructions", Text, nullable=True),
    Column("tags", JSON, nullable=False),
    Column("variant_ids", JSON, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("status", String(20), nullable=False, default="open"),  # open | closed
    _created(),
    # an assignment not judged within this many minutes returns to the pool (0002)
    Column("assignment_minutes", Integer, nullable=False, default=30, server_default="30"),
    # the annotator groups that may judge it; empty: everyone (0004)
    Column("groups", JSON, nullable=False, default=list, server_default="[]"),
    # how items were chosen when the judge's unsettled pairs go first (0004); NULL: plain
    Column("selection", JSON, nullable=True),
    UniqueConstraint("project", "name"),
)

campaign_items = Table(
    "campaign_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("sample_a_id", ForeignKey("samples.id"), nullable=False),
    Column("sample_b_id", ForeignKey("samples.id"), nullable=True),
    Column("done_count", Integer, nullable=False, default=0),
    # open + done assignments: capped at the campaign's overlap, served lowest first (0002)
    Column("assigned_count", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("campaign_id", "position"),
    Index("ix_campaign_items_pick", "campaign_id", "assigned_count", "position"),
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    Column("item_id", ForeignKey("campaign_items.id", ondelete="CASCADE"), nullable=False),
    Column("annotator_id", ForeignKey("annotators.id"), nullable=False),
    Column("status", String(20), nullable=False),  # open | done | skipped | expired
    Column("left_sample_id", ForeignKey("samples.id"), nullable=True),
    _created(),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    # the opaque id annotators see in URLs and forms (0002): never a sample or variant id
    Column("public_id", String(40), nullable=False),
    UniqueConstraint("item_id", "annotator_id"),
    UniqueConstraint("public_id", name="uq_assignments_public_id"),
    Index("ix_assignments_annotator", "annotator_id", "campaign_id", "status"),
    Index("ix_assignments_status_expires", "status", "expires_at"),
)

judgments = Table(
    "judgments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project", String(200), nullable=False, index=True),
    Column("source", String(20), nullable=False),  # human | judge | production
    Column("campaign_id", ForeignKey("campaigns.id"), nullable=True, index=True),
    Column("item_id", ForeignKey("campaign_items.id"), nullable=True),
    Column("annotator_id", ForeignKey("annotators.id"), nullable=True),
    Column("judge_variant_id", ForeignKey("variants.id"), nullable=True),
    Column("sample_a_id", ForeignKey("samples.id"), nullable=True),
    Column("sample_b_id", ForeignKey("samples.id"), nullable=True),
    Column("left_sample_id", ForeignKey("samples.id"), nullable=True),
    Column("winner", String(10), nullable=True),  # a | b | tie | both_bad
    Column("rating_a", Integer, nullable=True),
    Column("rating_b", Integer, nullable=True),
    Column("comment", Text, nullable=True),
    Column("tags", JSON, nullable=False),
    Column("highlight", Text, nullable=True),  # a phrase the person marked in the output
    Column("idempotency_key", String(100), nullable=False, unique=True),
    Column("supersedes_id", ForeignKey("judgments.id"), nullable=True),
    Column("external_ref", String(300), nullable=True),  # production feedback: app's output id
    Column("output_text", Text, nullable=True),  # production feedback: the output judged
    _created(),
    # 0002: production feedback's thumb (+1 up / -1 down), input, and the variant it names
    # (variants.id; no FOREIGN KEY so SQLite adds the column without rebuilding this table,
    # which would cascade through its references); which output ('a' | 'b') the
    # highlighted phrase was marked in
    Column("thumb", Integer, nullable=True),
    Column("input_text", Text, nullable=True),
    Column("variant_id", Integer, nullable=True),
    Column("highlight_side", String(1), nullable=True),
    Index("ix_judgments_item_annotator", "item_id", "annotator_id"),
    Index("ix_judgments_supersedes", "supersedes_id"),
)

# 0002: a browser session (the cookie holds the token; only its sha256 is stored)
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("annotator_id", ForeignKey("annotators.id", ondelete="CASCADE"), nullable=False),
    _created(),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# 0002: failed sign-in attempts by client address, for rate limiting shared by all processes
signin_failures = Table(
    "signin_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client", String(100), nullable=False),
    _created(),
    Index("ix_signin_failures_client", "client", "created_at"),
)

# 0003: a check proposed from complaints, and every decision on it (append-only: accepting,
# editing or rejecting adds a row whose ``root_id`` is the first row's id and whose
# ``supersedes_id`` is the row it replaces; the newest row of a root is the current state).
# The check's metric is ``complaint-<root id>``.
check_proposals = Table(
    "check_proposals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project", String(200), nullable=False),
    Column("root_id", ForeignKey("check_proposals.id"), nullable=True),
    Column("supersedes_id", ForeignKey("check_proposals.id"), nullable=True),
    Column("status", String(20), nullable=False),  # proposed | accepted | rejected
    Column("kind", String(20), nullable=False),  # phrase | text | tag
    Column("title", Text, nullable=False),
    Column("spec", JSON, nullable=False),  # the check mapping, without its metric
    Column("provenance", JSON, nullable=False),  # complaints: judgment ids, who, when, text
    Column("decided_by", String(200), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("note", Text, nullable=True),
    _created(),
    Index("ix_check_proposals_project_root", "project", "root_id"),
)

# 0006: imported files (defined in hyouka/store/schema_import.py, on this MetaData)
imports = schema_import.define(metadata, utcnow)
# 0010: live experiments and the feedback widget's keys (defined in their own module)
from hyouka.store.schema_experiments import define as _define_experiments  # noqa: E402

experiments, experiment_revisions, experiment_events, widget_keys = _define_experiments(
    metadata, utcnow
)
# 0009: conversations and tool calls (hyouka/store/schema_convo.py)
sample_conversations, judgment_turns = schema_convo.define(metadata)
