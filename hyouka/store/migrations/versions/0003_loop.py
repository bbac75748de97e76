"""check proposals from complaints (issue 7: closing the loop)

Why: ``hyouka feedback`` turns complaints into proposed regression checks that a person
accepts, edits or rejects. Decisions are append-only like judgments: each one adds a row
pointing at the proposal's first row (``root_id``) and at the row it replaces
(``supersedes_id``), so who decided what and when is never overwritten.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project", sa.String(length=200), nullable=False),
        sa.Column("root_id", sa.Integer(), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["root_id"],
            ["check_proposals.id"],
            name=op.f("fk_check_proposals_root_id_check_proposals"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["check_proposals.id"],
            name=op.f("fk_check_proposals_supersedes_id_check_proposals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_proposals")),
    )
    with op.batch_alter_table("check_proposals") as batch:
        batch.create_index("ix_check_proposals_project_root", ["project", "root_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("check_proposals") as batch:
        batch.drop_index("ix_check_proposals_project_root")
    op.drop_table("check_proposals")
