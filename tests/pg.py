"""PostgreSQL for tests: one fresh schema per test session, dropped at the end.

Usage in a test module::

    from pg import pg_session_url  # noqa: F401  (a pytest fixture)

    def test_x(pg_session_url: str) -> None: ...

``pg_session_url`` is a URL whose ``search_path`` is a new schema ``hyouka_test_<random>``,
migrated to head once. Tests sharing it keep apart by using their own project names (every
table but ``cases`` is keyed by project). Where a test needs an empty database, use
:func:`temporary_schema` directly.

Without a server: skipped locally with the reason, but a failure when ``CI=true`` — a skip
there would hide an untested store. The server is ``HYOUKA_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``, trust auth).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_BASE = os.environ.get(
    "HYOUKA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def unreachable() -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(_libpq_url(PG_BASE), connect_timeout=3):
            return None
    except Exception as exc:  # any failure means: no usable server here
        return f"{type(exc).__name__}: {exc}".strip()


def require_postgres() -> None:
    """Skip (locally) or fail (CI=true) when the server is not reachable."""
    problem = unreachable()
    if problem is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL at {PG_BASE} is required in CI: {problem}")
    pytest.skip(f"no PostgreSQL server at {PG_BASE} ({problem}); set HYOUKA_TEST_POSTGRES_URL")


def schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_BASE else "?"
    return f"{PG_BASE}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def temporary_schema(prefix: str = "hyouka_test") -> Iterator[str]:
    """A URL to a new, empty schema; the schema is dropped afterwards."""
    import psycopg

    require_postgres()
    schema = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(_libpq_url(PG_BASE), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(schema)
    finally:
        with psycopg.connect(_libpq_url(PG_BASE), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    """One migrated schema for the whole test session."""
    from hyouka.store import db

    with temporary_schema() as url:
        engine = db.create(url)
        db.upgrade(engine)
        engine.dispose()
        yield url
