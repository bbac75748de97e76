"""web sessions, sign-in rate limiting, opaque assignment ids, production feedback fields

Why: the judging web app (issue 5) needs
- ``assignments.public_id``: annotators see an opaque random id, never a sample or variant id;
- ``campaign_items.assigned_count``: open + done assignments, so items are served lowest first
  and capped at the overlap with one conditional UPDATE (safe across server processes);
- ``campaigns.assignment_minutes``: when an abandoned assignment returns to the pool;
- ``judgments.thumb / input_text / variant_id``: a production app's thumbs-up/down feedback;
  ``judgments.highlight_side``: which output a "never say this" phrase was marked in;
- ``web_sessions`` and ``signin_failures``: sessions and rate limiting kept in the database so
  several server processes on one PostgreSQL share them.

SQLite care: rebuilding a table ("batch" copy-and-move) drops the old one, and with foreign
keys on, that DROP deletes the rows of every table that references it with ON DELETE CASCADE
(assignments, campaign items…). So only ``assignments``, which no table references, is
rebuilt; everything else uses SQLite's native ADD/DROP COLUMN and CREATE/DROP INDEX, and
server defaults are plain strings (an SQL-expression default forces a rebuild).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("annotator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["annotator_id"],
            ["annotators.id"],
            name=op.f("fk_web_sessions_annotator_id_annotators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    op.create_table(
        "signin_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_failures")),
    )
    op.create_index("ix_signin_failures_client", "signin_failures", ["client", "created_at"])

    op.add_column(
        "campaigns",
        sa.Column("assignment_minutes", sa.Integer(), nullable=False, server_default="30"),
    )
    op.add_column(
        "campaign_items",
        sa.Column("assigned_count", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index(
        "ix_campaign_items_pick", "campaign_items", ["campaign_id", "assigned_count", "position"]
    )
    _count_existing_assignments()
    _add_assignment_public_ids()
    op.add_column("judgments", sa.Column("thumb", sa.Integer(), nullable=True))
    op.add_column("judgments", sa.Column("input_text", sa.Text(), nullable=True))
    op.add_column("judgments", sa.Column("variant_id", sa.Integer(), nullable=True))
    op.add_column("judgments", sa.Column("highlight_side", sa.String(length=1), nullable=True))
    op.create_index("ix_judgments_item_annotator", "judgments", ["item_id", "annotator_id"])
    op.create_index("ix_judgments_supersedes", "judgments", ["supersedes_id"])


def _count_existing_assignments() -> None:
    # assigned_count = open + done assignments of each item, for stores that already have some.
    op.execute(
        "UPDATE campaign_items SET assigned_count = (SELECT count(*) FROM assignments"
        " WHERE assignments.item_id = campaign_items.id"
        " AND assignments.status IN ('open', 'done'))"
    )


def _add_assignment_public_ids() -> None:
    # Added nullable, filled row by row with fresh random ids, then made NOT NULL + unique
    # (on SQLite by rebuilding assignments, which no other table references).
    op.add_column("assignments", sa.Column("public_id", sa.String(length=40), nullable=True))
    conn = op.get_bind()
    table = sa.table("assignments", sa.column("id", sa.Integer), sa.column("public_id"))
    for (row_id,) in conn.execute(sa.select(table.c.id)).fetchall():
        conn.execute(
            table.update().where(table.c.id == row_id).values(public_id=secrets.token_urlsafe(18))
        )
    with op.batch_alter_table("assignments") as batch:
        batch.alter_column("public_id", existing_type=sa.String(length=40), nullable=False)
        batch.create_unique_constraint("uq_assignments_public_id", ["public_id"])
        batch.create_index(
            "ix_assignments_annotator", ["annotator_id", "campaign_id", "status"], unique=False
        )
        batch.create_index("ix_assignments_status_expires", ["status", "expires_at"], unique=False)


def downgrade() -> None:
    # Native DROP COLUMN (SQLite >= 3.35): indexes on a column go first.
    op.drop_index("ix_judgments_supersedes", table_name="judgments")
    op.drop_index("ix_judgments_item_annotator", table_name="judgments")
    for column in ("highlight_side", "variant_id", "input_text", "thumb"):
        op.drop_column("judgments", column)
    with op.batch_alter_table("assignments") as batch:
        batch.drop_index("ix_assignments_status_expires")
        batch.drop_index("ix_assignments_annotator")
        batch.drop_constraint("uq_assignments_public_id", type_="unique")
        batch.drop_column("public_id")
    op.drop_index("ix_campaign_items_pick", table_name="campaign_items")
    op.drop_column("campaign_items", "assigned_count")
    op.drop_column("campaigns", "assignment_minutes")
    op.drop_index("ix_signin_failures_client", table_name="signin_failures")
    op.drop_table("signin_failures")
    op.drop_table("web_sessions")
