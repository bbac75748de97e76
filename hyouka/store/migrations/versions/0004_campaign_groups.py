"""campaigns for some groups only

Why: a team puts one campaign in front of its operators and another in front of its product
people. ``campaigns.groups`` lists the annotator groups that may judge a campaign; an empty
list (every existing campaign) means everyone, as before.

SQLite care (see 0002): a native ADD COLUMN with a plain-string server default, no rebuild.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "campaigns",
        sa.Column("groups", sa.JSON(), nullable=False, server_default="[]"),
    )


def downgrade() -> None:
    op.drop_column("campaigns", "groups")
