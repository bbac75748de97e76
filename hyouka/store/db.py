"""Opening a database and migrating it.

SQLite (the default, a file in the project folder) is opened in WAL mode with foreign keys on
and migrated automatically: it belongs to one user. PostgreSQL is shared by a team, so its
migrations are explicit (``hyouka db upgrade``); opening an out-of-date PostgreSQL store says so.

Two processes may open a new store at the same moment (``hyouka serve`` and ``hyouka run``, or
two commands in a script): migrating is serialised, on SQLite by an exclusive lock on a file
next to the database (``hyouka.db.lock``), on PostgreSQL by a transaction-scoped advisory lock;
whoever gets the lock second finds the schema at head and does nothing.
"""

from __future__ import annotations

import contextlib
import functools
import re
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError

from hyouka.errors import MissingDependencyError, StoreError

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported only to migrate: it adds ~0.2 s to every start-up (python -X importtime),
# and opening a store only reads the current revision.

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps
# `revision = "0004"` / `down_revision: str | None = "0003"` at the start of a line
_REVISION_LINE = re.compile(r"^(?P<name>(?:down_)?revision)\b[^=\n]*=(?P<value>[^\n#]+)", re.M)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _json_dumps(value: Any) -> str:
    # orjson: ~10x faster than json.dumps for the payload side table (measured in
    # benchmarks/runner_overhead.py); non-JSON values fall back to their str().
    return orjson.dumps(value, default=str).decode("utf-8")


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def create(url: str) -> Engine:
    """An engine for ``url`` (SQLite file folders are created)."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"'{url}' is not a database URL (examples: sqlite:///path/to/hyouka.db, "
            "postgresql://user@host/dbname)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=_json_dumps)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(
            url,
            pool_size=10,
            max_overflow=20,
            # No pre-ping: it cost ~22% of the web server's CPU per judgment on PostgreSQL
            # (benchmarks/web_load.py). Connections are recycled every 10 minutes, and a
            # judgment write that meets a dropped connection is retried on a fresh one
            # (hyouka/store/tx.py run_write).
            pool_recycle=600,
            json_serializer=_json_dumps,
        )
    except (NoSuchModuleError, ModuleNotFoundError):
        raise MissingDependencyError("psycopg", "postgres", "A PostgreSQL store") from None


def round_trip_ms(engine: Engine, tries: int = 15) -> float:
    """The median time of a trivial query (``SELECT 1``) on one pooled connection, in ms:
    how far the database is, as the code that queries it sees it (driver and network)."""
    times: list[float] = []
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # the first one may open the connection
        for _ in range(tries):
            started = time.perf_counter()
            conn.execute(text("SELECT 1"))
            times.append((time.perf_counter() - started) * 1000)
        conn.rollback()
    return statistics.median(times)


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


@functools.lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration: the one no other migration names as its ``down_revision``.

    Read from the migration files' own ``revision`` lines rather than through Alembic, whose
    import cost ~0.2 s of every start-up; tests/test_store_revisions.py checks that both agree.
    """
    revisions: dict[str, object] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = _revision_lines(path)
        if "revision" in found:
            revisions[str(found["revision"])] = found.get("down_revision")
    below: set[str] = set()
    for down in revisions.values():
        below.update(down if isinstance(down, tuple) else () if down is None else (str(down),))
    heads = sorted(set(revisions) - below)
    if len(heads) != 1:
        raise StoreError(f"the migrations have {len(heads)} heads ({', '.join(heads)}), not one")
    return heads[0]


def _revision_lines(path: Path) -> dict[str, object]:
    """The ``revision`` and ``down_revision`` assignments of one migration file."""
    import ast

    out: dict[str, object] = {}
    for match in _REVISION_LINE.finditer(path.read_text(encoding="utf-8")):
        out[match["name"]] = ast.literal_eval(match["value"].strip())
    return out


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in the store (None: empty), read with one query, without Alembic."""
    try:
        with engine.connect() as conn:
            if not engine.dialect.has_table(conn, VERSION_TABLE):
                return None
            found = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
            versions = sorted(str(v) for v in found)
    except OperationalError as exc:
        raise StoreError(f"cannot open the database {engine.url!r}: {exc.orig}") from None
    except DatabaseError as exc:  # e.g. SQLite's "file is not a database"
        where = engine.url.database if engine.dialect.name == "sqlite" else repr(engine.url)
        raise StoreError(
            f"{where} is not a readable {engine.dialect.name} database ({exc.orig}): the file "
            "is damaged or is not hyouka's store. Nothing was changed; restore it from a "
            "backup, or move it away and hyouka starts a new, empty store there"
        ) from None
    if len(versions) > 1:
        raise StoreError(f"the store is stamped with several revisions: {', '.join(versions)}")
    return versions[0] if versions else None


# Any constant: the key of the advisory lock that serialises hyouka's migrations on PostgreSQL.
_PG_MIGRATION_LOCK = 0x6879_6F75_6B61  # "hyouka"


def _lock_file(handle: Any) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:  # LK_LOCK gives up after ~10 s: keep waiting
                continue
    import fcntl

    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Hold the SQLite store's migration lock (a no-op for an in-memory database)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    path = Path(database).with_name(Path(database).name + ".lock")
    try:
        handle = open(path, "a+b")  # noqa: SIM115 - held open for the lock's lifetime
    except OSError as exc:
        raise StoreError(f"cannot create the lock file {path}: {exc.strerror}") from None
    with handle:
        _lock_file(handle)
        try:
            yield
        finally:
            if sys.platform == "win32":  # pragma: no cover
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
            # closing the file releases the flock on POSIX


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (safe to call from several processes at once)."""
    from alembic import command

    cfg = _alembic_config(engine)
    with _migration_lock(engine), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Waits for another process's migration to commit; alembic then reads the
            # version it left and has nothing left to do.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def create_at_head(engine: Engine) -> bool:
    """Create the schema of an empty database from the table definitions, stamped at head;
    False (and nothing done) when the database has tables (another process was first).

    What the migrations build, without Alembic: a new project's first command took ~0.5 s more
    to import Alembic and replay every migration. It takes the migration lock as
    :func:`upgrade` does. tests/test_store_revisions.py checks that the two give the same
    schema and that later migrations and downgrades apply to it.
    """
    from hyouka.store.schema import metadata

    with _migration_lock(engine), engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        if engine.dialect.get_table_names(conn):
            return False
        metadata.create_all(conn)
        conn.execute(
            text(
                f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
                f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))"
            )
        )
        conn.execute(
            text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:v)"), {"v": head_revision()}
        )
    return True


def ensure_current(engine: Engine, auto_upgrade: bool | None = None) -> None:
    """Make sure the schema is at head: upgrade SQLite, or tell the user what to run."""
    if auto_upgrade is None:
        auto_upgrade = engine.dialect.name == "sqlite"
    current = current_revision(engine)
    if current == head_revision():
        return
    if auto_upgrade:
        # Both under the migration lock: a second process finds nothing to do.
        if current is None and create_at_head(engine):
            return
        upgrade(engine)
        return
    state = "empty" if current is None else f"at revision {current}"
    raise StoreError(
        f"the database {engine.url.render_as_string(hide_password=True)} is {state}, "
        f"not at hyouka's schema {head_revision()}; run: hyouka db upgrade"
    )
