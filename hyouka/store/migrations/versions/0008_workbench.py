"""the team's workbench: an index of samples by (run, case)

Why: the run page (/team/runs/<run>) reads one page of cases at a time
(``samples.case_id IN (…)`` within a run); the unique key (run, variant, case, …) cannot
serve that, so each page scanned all the run's samples (50,000 for 2,000 cases × 5 variants
× 5 samples). See docs/design/0008-workbench.md.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_samples_run_case", "samples", ["run_id", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_samples_run_case", table_name="samples")
