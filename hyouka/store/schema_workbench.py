"""The team's workbench's additions to the schema (migration 0008): one index.

``ix_samples_run_case`` (run, case): the run page reads one page of cases at a time
(``samples.case_id IN (…)`` within a run); without it each page scans every sample of the
run (the unique key starts with run, variant).
"""

from __future__ import annotations

from sqlalchemy import Index

from hyouka.store.schema import samples

ix_samples_run_case = Index("ix_samples_run_case", samples.c.run_id, samples.c.case_id)
