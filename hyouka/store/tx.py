"""Write transactions for the store's writers besides the runner, and small shared helpers.

The human-evaluation tables (``hyouka.humans``) and the loop's proposals (``hyouka.loop``)
write through :func:`write_tx` / :func:`run_write`; the runner has its own single writer
thread (``hyouka/runner/writer.py``).

SQLite allows one writer at a time. Under a web server with a thread pool, letting every
thread open its own write transaction turns into ``database is locked`` retries and long
tails; instead every write through here takes one process-wide lock per database file, so
SQLite sees a single writer while reads stay parallel (WAL). PostgreSQL needs no lock: its
correctness comes from transactions, row locks and unique constraints, so several server
processes can share one database.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult, Engine
from sqlalchemy.exc import OperationalError

from hyouka.store.store import Store

T = TypeVar("T")

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()

# PostgreSQL SQLSTATEs worth one more try: deadlock_detected, serialization_failure.
_RETRY_SQLSTATES = {"40P01", "40001"}


def _sqlite_lock(engine: Engine) -> threading.Lock | None:
    if engine.dialect.name != "sqlite":
        return None
    key = str(engine.url.database or ":memory:")
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


@contextmanager
def write_tx(store: Store) -> Iterator[Connection]:
    """A write transaction: serialised per SQLite file, plain on PostgreSQL."""
    lock = _sqlite_lock(store.engine)
    if lock is None:
        with store.engine.begin() as conn:
            yield conn
        return
    with lock, store.engine.begin() as conn:
        yield conn


# Per store (weakly: a closed store's entry goes with it); building one costs ~50 µs.
_READERS: weakref.WeakKeyDictionary[Store, Engine] = weakref.WeakKeyDictionary()


def reading(store: Store) -> Connection:
    """A connection for reads. On PostgreSQL it is in autocommit: each read is one round trip
    instead of BEGIN, query, ROLLBACK (a third of the judging path's database time). Every
    statement still sees the latest committed data, as in READ COMMITTED."""
    engine = store.engine
    if engine.dialect.name == "sqlite":
        return engine.connect()
    reader = _READERS.get(store)
    if reader is None:
        reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        _READERS[store] = reader
    return reader.connect()


def run_write(store: Store, work: Callable[[Connection], T], attempts: int = 4) -> T:
    """Run ``work`` in a write transaction, retrying PostgreSQL deadlocks and serialisation
    failures (rare: row locks are always taken assignment first, then item)."""
    for attempt in range(attempts):
        try:
            with write_tx(store) as conn:
                return work(conn)
        except OperationalError as exc:
            code = getattr(exc.orig, "sqlstate", None)
            # A connection the server dropped (restart, idle timeout) is invalidated by
            # SQLAlchemy; the next attempt gets a fresh one (the engine does not pre-ping).
            retry = code in _RETRY_SQLSTATES or exc.connection_invalidated
            if not retry or attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def now_utc() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time hyouka stores is UTC. None stays None."""
    if value is None:
        return None
    return utc(value)


def utc(value: datetime) -> datetime:
    """A stored time (from a NOT NULL column) as an aware UTC datetime."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def new_secret() -> str:
    """A 32-byte random secret, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """What the database keeps of a secret: its sha256 (the secret itself is never stored)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_public_id() -> str:
    return secrets.token_urlsafe(18)


def inserted_id(result: CursorResult[Any]) -> int:
    """The new row's primary key from an INSERT result."""
    key = result.inserted_primary_key
    assert key is not None, "INSERT returned no primary key"
    return int(key[0])
