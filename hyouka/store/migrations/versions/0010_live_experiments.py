"""live experiments: experiments, their allocation revisions, events, widget keys (issue 14)

Why: an experiment assigns real users to variants by hash; its allocation changes only by
new, append-only revisions (so the sample-ratio check knows the shares in force), and the
exposures and outcomes apps send are stored once each by their idempotency key. The feedback
widget posts with a publishable key scoped to one project and a list of page origins.

New tables only: nothing existing is altered.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("control", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("ramp", sa.Float(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("project", "name", name=op.f("uq_experiments_project")),
    )
    op.create_table(
        "experiment_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("shares", sa.JSON(), nullable=False),
        sa.Column("buckets", sa.JSON(), nullable=False),
        sa.Column("ramp", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_revisions_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_revisions")),
        sa.UniqueConstraint(
            "experiment_id", "revision", name=op.f("uq_experiment_revisions_experiment_id")
        ),
    )
    op.create_table(
        "experiment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project", sa.String(length=200), nullable=False),
        sa.Column("experiment", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("unit_id", sa.String(length=200), nullable=False),
        sa.Column("variant", sa.String(length=200), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("metric", sa.String(length=100), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("output_ref", sa.String(length=300), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_events")),
        sa.UniqueConstraint("idempotency_key", name="uq_experiment_events_idempotency_key"),
    )
    with op.batch_alter_table("experiment_events") as batch:
        batch.create_index(
            "ix_experiment_events_exp", ["project", "experiment", "kind"], unique=False
        )
        batch.create_index("ix_experiment_events_ref", ["project", "output_ref"], unique=False)
    op.create_table(
        "widget_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("origins", sa.JSON(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widget_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_widget_keys_key_hash")),
        sa.UniqueConstraint("project", "name", name=op.f("uq_widget_keys_project")),
    )


def downgrade() -> None:
    op.drop_table("widget_keys")
    with op.batch_alter_table("experiment_events") as batch:
        batch.drop_index("ix_experiment_events_ref")
        batch.drop_index("ix_experiment_events_exp")
    op.drop_table("experiment_events")
    op.drop_table("experiment_revisions")
    op.drop_table("experiments")
