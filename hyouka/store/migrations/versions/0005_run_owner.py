"""who is running a run, and when it last said so

Why: a run killed mid-way (``kill -9``, a closed laptop, an out-of-memory kill) never got to
write its final status and showed as ``running`` forever. ``runs.owner_host`` and
``runs.owner_pid`` name the process that runs it, and ``runs.heartbeat_at`` is refreshed by
that process while it runs (hyouka/runner/heartbeat.py). A reader sees a ``running`` run whose
owner process is gone (same host) or whose heartbeat is stale (any host) as ``interrupted``
(``hyouka.store.store.effective_status``). Existing rows get NULLs: a ``running`` run without a
heartbeat counts as interrupted once it is older than the staleness limit.

SQLite care (see 0002): native ADD COLUMN of nullable columns, no rebuild.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("owner_host", sa.String(255), nullable=True))
    op.add_column("runs", sa.Column("owner_pid", sa.Integer(), nullable=True))
    op.add_column("runs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "heartbeat_at")
    op.drop_column("runs", "owner_pid")
    op.drop_column("runs", "owner_host")
