"""The store's revision is read without Alembic (start-up); the answers must be Alembic's."""

from __future__ import annotations

from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from pg import temporary_schema
from sqlalchemy import inspect

from hyouka.store import db


def alembic_current(url: str) -> str | None:
    with db.create(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_head_revision_is_alembics_head() -> None:
    assert db.head_revision() == ScriptDirectory(str(db.MIGRATIONS)).get_current_head()


def test_current_revision_agrees_with_alembic_empty_and_at_each_step(store_url: str) -> None:
    engine = db.create(store_url)
    assert db.current_revision(engine) is None
    assert alembic_current(store_url) is None
    for step in ("0001", "0002", "head"):
        db.upgrade(engine, step)
        assert db.current_revision(engine) == alembic_current(store_url)
    assert db.current_revision(engine) == db.head_revision()
    db.downgrade(engine, "base")
    assert db.current_revision(engine) is None
    assert alembic_current(store_url) is None


def schema_of(url: str) -> dict[str, object]:
    """Every table's columns, keys, indexes and constraints, as the database reports them."""
    found = inspect(db.create(url))
    out: dict[str, object] = {}
    for table in sorted(found.get_table_names()):
        out[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                for c in found.get_columns(table)
            ],
            "pk": found.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted(
                (str(f["name"]), tuple(f["constrained_columns"]), f["referred_table"])
                for f in found.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (str(i["name"]), tuple(i["column_names"]), bool(i["unique"]))
                for i in found.get_indexes(table)
            ),
            "unique": sorted(
                (str(u["name"]), tuple(u["column_names"]))
                for u in found.get_unique_constraints(table)
            ),
        }
    return out


def test_a_new_store_created_at_head_has_the_migrated_schema(
    store_url: str, sqlite_url: str, tmp_path: Path
) -> None:
    migrated = f"sqlite:///{tmp_path / 'migrated.db'}" if "sqlite" in store_url else store_url
    db.upgrade(db.create(migrated))
    fresh = sqlite_url if "sqlite" in store_url else None
    if fresh is None:  # PostgreSQL: a second empty schema for the fast path
        with temporary_schema() as other:
            db.create_at_head(db.create(other))
            assert schema_of(other) == schema_of(migrated)
            assert db.current_revision(db.create(other)) == db.head_revision()
        return
    engine = db.create(fresh)
    db.ensure_current(engine)  # an empty SQLite store: created at head, without migrations
    assert db.current_revision(engine) == db.head_revision() == alembic_current(fresh)
    assert schema_of(fresh) == schema_of(migrated)
    db.upgrade(engine)  # nothing to do
    db.downgrade(engine, "base")  # the migrations apply to it like to a migrated store
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
