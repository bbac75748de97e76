"""The store's revision is read without Alembic (start-up); the answers must be Alembic's."""

from __future__ import annotations

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

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
