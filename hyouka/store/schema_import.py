"""0006: one row per imported file (``hyouka import``), committed with its samples.

An import's ``import_key`` hashes the file's content, its format and the options that shape
what is stored (``--variant``, ``--dataset``, the run it went into): importing the same file
the same way again finds this row and stores nothing (hyouka/imports/importer.py).

:mod:`hyouka.store.schema` calls :func:`define` on its MetaData (``schema.imports``): this
module imports nothing of hyouka's, so there is no import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)


def define(metadata: MetaData, utcnow: Callable[[], datetime]) -> Table:
    """The ``imports`` table on ``metadata``."""
    return Table(
        "imports",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("project", String(200), nullable=False),
        Column("import_key", String(64), nullable=False),
        Column("content_hash", String(64), nullable=False),  # sha256 of the file's bytes
        Column("format", String(20), nullable=False),  # jsonl | csv | promptfoo | inspect
        Column("path", Text, nullable=False),
        Column("run_id", ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
        Column("dataset_id", ForeignKey("datasets.id"), nullable=True),  # inline cases' dataset
        Column("rows", Integer, nullable=False),
        Column("samples", Integer, nullable=False),
        Column("scores", Integer, nullable=False),
        Column("judge_takes", Integer, nullable=False),
        Column("skipped", Integer, nullable=False, default=0),  # rows left out (--skip-bad-rows)
        Column("options", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow),
        UniqueConstraint("project", "import_key"),
    )
