"""Tables of conversations and tool calls (issue 15, migration 0009), on the shared MetaData.

``sample_conversations``: per sample that has any, the model's tool calls (neutral form, see
hyouka/convo/messages.py), the whole trajectory (an agent loop's or a simulated dialogue's
turns) and a simulated conversation's outcome. One row per sample, written in the same
transaction as the sample, immutable like it; a sample with none has no row.

``judgment_turns``: the turn a person's judgment points at (a complaint or a "never say this"
mark on one turn of the conversation shown), append-only like the judgments.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)


def _now() -> datetime:
    return datetime.now(UTC)


def define(metadata: MetaData) -> tuple[Table, Table]:
    """The two tables on ``metadata`` (called once, by hyouka/store/schema.py)."""
    return _sample_conversations(metadata), _judgment_turns(metadata)


def _sample_conversations(metadata: MetaData) -> Table:
    return Table(
        "sample_conversations",
        metadata,
        Column("sample_id", ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True),
        Column("tool_calls", JSON, nullable=True),
        Column("trajectory", JSON, nullable=True),
        Column("turns", Integer, nullable=True),  # assistant turns of a simulated conversation
        Column("stop_reason", String(40), nullable=True),  # goal | gave_up | max_turns | error
        Column("goal_reached", Boolean, nullable=True),
        Column("turns_to_goal", Integer, nullable=True),
    )


def _judgment_turns(metadata: MetaData) -> Table:
    return Table(
        "judgment_turns",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("judgment_id", ForeignKey("judgments.id", ondelete="CASCADE"), nullable=False),
        # the turn's index in the conversation shown (the case's messages; then "next" turns)
        Column("turn", Integer, nullable=False),
        Column("kind", String(20), nullable=False),  # complaint | never
        Column("side", String(1), nullable=True),  # a | b when it marks a candidate reply
        Column("text", Text, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, default=_now),
        Index("ix_judgment_turns_judgment", "judgment_id"),
    )
