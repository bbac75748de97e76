"""conversations and tool calls: a sample's tool calls and trajectory, a judgment's turn

Why (issue 15): a sample of a conversation case may carry the model's tool calls, the whole
trajectory of an agent loop or of a simulated dialogue, and that dialogue's outcome;
``sample_conversations`` holds them beside the sample (one row per sample that has any, so
single-turn samples cost nothing). ``judgment_turns`` records the turn of the conversation a
person's complaint or "never say this" mark points at. Two new tables, no change to existing
ones (hyouka/store/schema_convo.py).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sample_conversations",
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("tool_calls", sa.JSON(), nullable=True),
        sa.Column("trajectory", sa.JSON(), nullable=True),
        sa.Column("turns", sa.Integer(), nullable=True),
        sa.Column("stop_reason", sa.String(40), nullable=True),
        sa.Column("goal_reached", sa.Boolean(), nullable=True),
        sa.Column("turns_to_goal", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sample_id"], ["samples.id"], ondelete="CASCADE",
            name=op.f("fk_sample_conversations_sample_id_samples"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("sample_id", name=op.f("pk_sample_conversations")),
    )
    op.create_table(
        "judgment_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("judgment_id", sa.Integer(), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("side", sa.String(1), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["judgment_id"], ["judgments.id"], ondelete="CASCADE",
            name=op.f("fk_judgment_turns_judgment_id_judgments"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judgment_turns")),
    )
    op.create_index("ix_judgment_turns_judgment", "judgment_turns", ["judgment_id"])


def downgrade() -> None:
    op.drop_index("ix_judgment_turns_judgment", table_name="judgment_turns")
    op.drop_table("judgment_turns")
    op.drop_table("sample_conversations")
