"""Alembic environment: runs hyouka's migrations on the connection hyouka hands it."""

from __future__ import annotations

from alembic import context

from hyouka.store.schema import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # pragma: no cover - hyouka always passes a connection
        raise RuntimeError("hyouka migrations must be run through 'hyouka db upgrade'")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
