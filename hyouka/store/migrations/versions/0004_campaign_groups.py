"""campaigns for some groups only, and what the LLM judge could not settle first

Why: a team puts one campaign in front of its operators and another in front of its product
people. ``campaigns.groups`` lists the annotator groups that may judge a campaign; an empty
list (every existing campaign) means everyone, as before. ``campaigns.selection`` records how
items were chosen and ordered when a campaign puts the pairs a pairwise LLM judge could not
settle first (the judge, and how many items were unsettled, unjudged and settled); NULL for
a plain campaign.

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
    op.add_column("campaigns", sa.Column("selection", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("campaigns", "selection")
    op.drop_column("campaigns", "groups")
