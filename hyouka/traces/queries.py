"""Every SQL statement of production traces (tables in :mod:`hyouka.store.schema_traces`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, exists, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from hyouka.store.schema import judgments
from hyouka.store.schema_traces import trace_logs, trace_spans


def _insert_ignoring_duplicates(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> int:
    """INSERT … ON CONFLICT DO NOTHING of every row (one executemany of one cached statement:
    a multi-row VALUES is compiled anew each time, ~2 ms per span); how many rows were new."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        # psycopg's executemany rowcount is not a count of new rows, and RETURNING made
        # SQLAlchemy batch the rows into multi-row VALUES at ~2.5x the CPU per span: count
        # the rows already there first (informational: a concurrent writer may add more)
        there = _already_there(conn, table, rows)
        conn.execute(postgresql.insert(table).on_conflict_do_nothing(), list(rows))
        return len(rows) - there
    result = conn.execute(sqlite.insert(table).on_conflict_do_nothing(), list(rows))
    count = int(result.rowcount if result.rowcount is not None else -1)
    return count if count >= 0 else len(rows)


def _already_there(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> int:
    project = rows[0]["project"]
    if table is trace_spans:
        keys = {(r["trace_id"], r["span_id"]) for r in rows}
        query = select(trace_spans.c.trace_id, trace_spans.c.span_id).where(
            trace_spans.c.project == project,
            trace_spans.c.trace_id.in_(sorted({t for t, _ in keys})),
        )
        return sum(1 for r in conn.execute(query) if (r.trace_id, r.span_id) in keys)
    hashes = {r["record_hash"] for r in rows}
    counting = select(func.count()).where(
        trace_logs.c.project == project, trace_logs.c.record_hash.in_(sorted(hashes))
    )
    return int(conn.execute(counting).scalar_one())


def insert_spans(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    return _insert_ignoring_duplicates(conn, trace_spans, rows)


def insert_logs(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    return _insert_ignoring_duplicates(conn, trace_logs, rows)


@dataclass(frozen=True)
class TraceFilter:
    """Which traces: every field None (or False) is no condition."""

    since: datetime | None = None
    until: datetime | None = None
    model: str | None = None
    variant: str | None = None
    user: str | None = None
    session: str | None = None
    trace_id: str | None = None
    text: str | None = None
    feedback: bool | None = None  # True: with production feedback; False: without
    limit: int = 100


def _ref_of_span() -> ColumnElement[str]:
    return literal("otel:") + trace_spans.c.trace_id + literal(":") + trace_spans.c.span_id


def _ref_of_trace() -> ColumnElement[str]:
    return literal("otel:") + trace_spans.c.trace_id


def feedback_exists() -> ColumnElement[bool]:
    return exists().where(
        judgments.c.project == trace_spans.c.project,
        judgments.c.source == "production",
        or_(
            judgments.c.external_ref == _ref_of_span(), judgments.c.external_ref == _ref_of_trace()
        ),
    )


def select_spans(conn: Connection, project: str, f: TraceFilter) -> list[dict[str, Any]]:
    conditions: list[ColumnElement[bool]] = [trace_spans.c.project == project]
    if f.since is not None:
        conditions.append(trace_spans.c.started_at >= f.since)
    if f.until is not None:
        conditions.append(trace_spans.c.started_at < f.until)
    if f.model:
        conditions.append(
            or_(trace_spans.c.model == f.model, trace_spans.c.request_model == f.model)
        )
    if f.variant:
        conditions.append(trace_spans.c.variant == f.variant)
    if f.user:
        conditions.append(trace_spans.c.user_id == f.user)
    if f.session:
        conditions.append(trace_spans.c.session_id == f.session)
    if f.trace_id:
        conditions.append(trace_spans.c.trace_id == f.trace_id.lower())
    if f.text:
        needle = f"%{_escape_like(f.text.lower())}%"
        in_logs = exists().where(
            trace_logs.c.project == trace_spans.c.project,
            trace_logs.c.trace_id == trace_spans.c.trace_id,
            trace_logs.c.span_id == trace_spans.c.span_id,
            func.lower(func.cast(trace_logs.c.body, trace_spans.c.search_text.type)).like(
                needle, escape="\\"
            )
            | func.lower(func.cast(trace_logs.c.attributes, trace_spans.c.search_text.type)).like(
                needle, escape="\\"
            ),
        )
        conditions.append(or_(trace_spans.c.search_text.like(needle, escape="\\"), in_logs))
    with_feedback = feedback_exists()
    if f.feedback is True:
        conditions.append(with_feedback)
    elif f.feedback is False:
        conditions.append(~with_feedback)
    query = (
        select(trace_spans, with_feedback.label("has_feedback"))
        .where(and_(*conditions))
        .order_by(trace_spans.c.started_at.desc(), trace_spans.c.id.desc())
        .limit(max(1, min(f.limit, 100_000)))
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def logs_of(conn: Connection, project: str, ids: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """The log records of these (trace id, span id) pairs, oldest first."""
    if not ids:
        return []
    traces = sorted({t for t, _ in ids})
    wanted = set(ids)
    out: list[dict[str, Any]] = []
    for start in range(0, len(traces), 500):
        query = (
            select(trace_logs)
            .where(
                trace_logs.c.project == project,
                trace_logs.c.trace_id.in_(traces[start : start + 500]),
            )
            .order_by(trace_logs.c.time_ns, trace_logs.c.id)
        )
        out.extend(
            dict(r._mapping) for r in conn.execute(query) if (r.trace_id, r.span_id) in wanted
        )
    return out


def last_span_of_trace(conn: Connection, project: str, trace_id: str) -> dict[str, Any] | None:
    """The trace's LLM span that ended last (its final answer), or None."""
    row = conn.execute(
        select(trace_spans)
        .where(trace_spans.c.project == project, trace_spans.c.trace_id == trace_id)
        .order_by(
            (trace_spans.c.start_ns + func.coalesce(trace_spans.c.latency_ms, 0) * 1e6).desc(),
            trace_spans.c.id.desc(),
        )
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None


def span_by_ids(
    conn: Connection, project: str, trace_id: str, span_id: str
) -> dict[str, Any] | None:
    row = conn.execute(
        select(trace_spans).where(
            trace_spans.c.project == project,
            trace_spans.c.trace_id == trace_id,
            trace_spans.c.span_id == span_id,
        )
    ).first()
    return dict(row._mapping) if row else None


def count_spans(conn: Connection, project: str) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(trace_spans).where(trace_spans.c.project == project)
        ).scalar_one()
    )


def feedback_on(conn: Connection, project: str, refs: Sequence[str]) -> list[dict[str, Any]]:
    """Production judgments whose external_ref is one of ``refs``."""
    if not refs:
        return []
    query = select(
        judgments.c.id, judgments.c.external_ref, judgments.c.thumb, judgments.c.comment
    ).where(
        judgments.c.project == project,
        judgments.c.source == "production",
        judgments.c.external_ref.in_(list(refs)),
    )
    return [dict(r._mapping) for r in conn.execute(query)]
