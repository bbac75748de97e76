"""Tables of live experiments (migration 0010; docs/design/0010-live-experiments.md).

- ``experiments``: one row per experiment with its current state (status, allocation
  revision, ramp) — the allocation itself lives in ``experiment_revisions``, append-only, so
  the sample-ratio check knows the shares in force when each unit arrived.
- ``experiment_events``: exposures (a unit was shown a variant), outputs (an output id shown
  to a unit, to link widget feedback) and outcomes (a metric's value for a unit), each with
  the sender's idempotency key (unique: a resent batch counts once).
- ``widget_keys``: publishable keys of the feedback widget: one project, feedback only, from
  the listed page origins.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

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


def define(metadata: MetaData, utcnow: Callable[[], datetime]) -> tuple[Table, Table, Table, Table]:
    """The four tables on ``metadata`` (hyouka/store/schema.py calls this once, so this module
    does not import the schema: no import cycle)."""
    return _define(metadata, utcnow)


def _define(
    metadata: MetaData, utcnow: Callable[[], datetime]
) -> tuple[Table, Table, Table, Table]:
    experiments = Table(
        "experiments",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("project", String(200), nullable=False),
        Column("name", String(200), nullable=False),
        Column("status", String(20), nullable=False),  # draft | running | stopped
        Column("unit", String(20), nullable=False),
        Column("seed", Integer, nullable=False),
        Column("variants", JSON, nullable=False),  # names in bucket-index order (only appended)
        Column("control", String(200), nullable=False),
        Column("revision", Integer, nullable=False),
        Column("ramp", Float, nullable=False),
        Column("started_at", DateTime(timezone=True), nullable=True),
        Column("stopped_at", DateTime(timezone=True), nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow),
        UniqueConstraint("project", "name"),
    )

    experiment_revisions = Table(
        "experiment_revisions",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("experiment_id", ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False),
        Column("revision", Integer, nullable=False),
        Column("shares", JSON, nullable=False),  # variant -> share (sums to 1)
        Column("buckets", JSON, nullable=False),  # run-length [[variant index, count], ...]
        Column("ramp", Float, nullable=False),
        Column("status", String(20), nullable=False),
        Column("note", Text, nullable=True),  # what changed and who changed it
        Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow),
        UniqueConstraint("experiment_id", "revision"),
    )

    experiment_events = Table(
        "experiment_events",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("project", String(200), nullable=False),
        Column("experiment", String(200), nullable=False),
        Column("kind", String(10), nullable=False),  # exposure | output | outcome
        Column("unit_id", String(200), nullable=False),
        Column("variant", String(200), nullable=True),
        Column("revision", Integer, nullable=True),
        Column("metric", String(100), nullable=True),
        Column("value", Float, nullable=True),
        Column("output_ref", String(300), nullable=True),
        Column("idempotency_key", String(100), nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow),
        UniqueConstraint("idempotency_key", name="uq_experiment_events_idempotency_key"),
        Index("ix_experiment_events_exp", "project", "experiment", "kind"),
        Index("ix_experiment_events_ref", "project", "output_ref"),
    )

    widget_keys = Table(
        "widget_keys",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("project", String(200), nullable=False),
        Column("name", String(200), nullable=False),
        Column("key_hash", String(128), nullable=False, unique=True),
        Column("origins", JSON, nullable=False),  # allowed page origins, e.g. https://app.example
        Column("disabled", Boolean, nullable=False, default=False),
        Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow),
        UniqueConstraint("project", "name"),
    )
    return experiments, experiment_revisions, experiment_events, widget_keys
