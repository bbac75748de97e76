"""Reading judgments: the one rule for which judgment rows count.

Judgments are append-only: a person who changes their verdict adds a row whose
``supersedes_id`` names the row it replaces (:mod:`hyouka.humans.judging`). The *current*
judgments are the rows no later row supersedes — :func:`is_current` is that rule as a SQL
condition, and every reader of judgments (the dashboard, exports and the JSON API in
``hyouka/humans/``, the loop's complaints in ``hyouka/loop/queries.py``, the statistics in
``hyouka/analysis/data.py``) filters with it, so they all see the same judgments.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from hyouka.store.schema import judgments


def is_current() -> ColumnElement[bool]:
    """Judgments no later row supersedes (NOT EXISTS on the ``supersedes_id`` index)."""
    later = judgments.alias("later")
    return ~select(later.c.id).where(later.c.supersedes_id == judgments.c.id).exists()
