"""Writing a batch of finished samples on SQLite straight through the driver.

:meth:`Store.write_samples` stores a batch (samples, their payloads, their scores) in one
transaction. Through SQLAlchemy Core that cost ~13% of a run's CPU (benchmarks/cli_overhead.py):
Core's ``INSERT … RETURNING`` executemany goes a row at a time on SQLite and compiles and
processes every parameter set. Here each table gets one ``executemany`` on the driver with the
values bound as Core binds them (the same JSON serialiser, booleans, timestamps; the column
defaults filled in), so the stored rows are the ones Core would store.

The new sample ids are read back without ``RETURNING``: the batch is one statement on one
connection, which holds SQLite's write lock from its first row to the commit, so nothing else
inserts meanwhile and SQLite gives each row ``max(rowid) + 1``: the ids are the contiguous
range ending at ``last_insert_rowid()``. That is checked (the range must hold exactly this
batch's rows of this run) before any payload or score points at them. Timestamps: one
``created_at`` per batch (the batch commits at once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Table

from hyouka.store.schema import sample_payloads, samples, scores


class _TableWriter:
    """INSERT of the given columns of one table, with Core's defaults and bind processing."""

    def __init__(self, table: Table, keys: Iterable[str], dialect: Any) -> None:
        given = list(keys)
        self.keys = given
        self.defaults: list[tuple[str, Any, bool]] = []  # (column, value or callable, callable)
        for col in table.columns:
            default = col.default
            if col.name in given or default is None:
                continue
            arg = getattr(default, "arg", None)
            self.defaults.append((col.name, arg, bool(getattr(default, "is_callable", False))))
        self.columns = given + [name for name, _, _ in self.defaults]
        self.binds: list[Callable[[Any], Any] | None] = [
            table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.columns
        ]
        self.json_keys = {k for k in given if isinstance(table.c[k].type, JSON)}
        marks = ", ".join("?" for _ in self.columns)
        self.sql = f"INSERT INTO {table.name} ({', '.join(self.columns)}) VALUES ({marks})"

    def rows(self, dicts: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        """The parameter tuples, built column by column (a bind processor maps a column)."""
        n = len(dicts)
        columns: list[Sequence[Any]] = []
        for key, bind in zip(self.keys, self.binds, strict=False):
            values = [d[key] for d in dicts]
            if bind is not None:
                if key in self.json_keys:
                    values = _json_column(values, bind)
                else:
                    values = [bind(v) for v in values]
            columns.append(values)
        # A callable default (created_at) is called once per batch (ctx None, as Core's
        # wrapper of a zero-argument callable ignores it); every value goes through its
        # column's processor, None included, as in Core (JSON stores None as null).
        for (_, arg, is_callable), bind in zip(
            self.defaults, self.binds[len(self.keys) :], strict=True
        ):
            value = arg(None) if is_callable else arg
            columns.append([bind(value) if bind is not None else value] * n)
        return list(zip(*columns, strict=True))


def _json_column(values: list[Any], bind: Callable[[Any], Any]) -> list[Any]:
    """Serialise a JSON column; a value shared by many rows (a check's params) once."""
    seen: dict[int, Any] = {}
    out = []
    for v in values:
        key = id(v)
        done = seen.get(key, _MISSING)
        if done is _MISSING:
            done = seen[key] = bind(v)
        out.append(done)
    return out


_MISSING = object()


class SqliteSampleBatch:
    """One writer per store (its statements are prepared once per set of columns)."""

    def __init__(self, dialect: Any) -> None:
        self.dialect = dialect
        self._writers: dict[tuple[str, tuple[str, ...]], _TableWriter] = {}

    def _writer(self, table: Table, keys: tuple[str, ...]) -> _TableWriter:
        w = self._writers.get((table.name, keys))
        if w is None:
            w = self._writers[(table.name, keys)] = _TableWriter(table, keys, self.dialect)
        return w

    def _insert(self, conn: Connection, table: Table, dicts: Sequence[Mapping[str, Any]]) -> None:
        # Rows of one batch usually share their keys; group them when they do not.
        groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
        for d in dicts:
            groups.setdefault(tuple(d), []).append(d)
        for keys, group in groups.items():
            w = self._writer(table, keys)
            conn.exec_driver_sql(w.sql, w.rows(group))

    def insert_samples(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert the sample rows (one statement per set of keys); their ids, in order."""
        if not rows:
            return []
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, d in enumerate(rows):
            groups.setdefault(tuple(d), []).append(i)
        ids = [0] * len(rows)
        for keys, idx in groups.items():
            w = self._writer(samples, keys)
            conn.exec_driver_sql(w.sql, w.rows([rows[i] for i in idx]))
            last = int(conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
            first = last - len(idx) + 1
            run_ids = {rows[i]["run_id"] for i in idx}
            found = conn.exec_driver_sql(
                "SELECT count(*) FROM samples WHERE id BETWEEN ? AND ? AND run_id IN "
                f"({', '.join('?' for _ in run_ids)})",
                (first, last, *run_ids),
            ).scalar_one()
            if found != len(idx):  # pragma: no cover - SQLite assigns max(rowid) + 1
                raise AssertionError("the new sample ids are not one contiguous range")
            for offset, i in enumerate(idx):
                ids[i] = first + offset
        return ids

    def insert_payloads(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self._insert(conn, sample_payloads, rows)

    def insert_scores(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self._insert(conn, scores, rows)
