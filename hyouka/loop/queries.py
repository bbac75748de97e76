"""Every database read and write of the feedback loop (complaints, proposals, speed).

Writes take the connection of the caller's :func:`hyouka.store.tx.write_tx` block, so one
decision is one transaction; reads open their own connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from hyouka.store.judgments import is_current
from hyouka.store.schema import (
    annotators,
    cases,
    check_proposals,
    judgments,
    runs,
    samples,
    scores,
    utcnow,
    variants,
)
from hyouka.store.store import Store

# -- complaints and praise --------------------------------------------------------------------


def current_feedback_judgments(store: Store, project: str) -> list[Any]:
    """The project's current (not superseded) human and production judgments, oldest first,
    with the annotator's name (``who``) and group."""
    query = (
        select(judgments, annotators.c.name.label("who"), annotators.c.group_name)
        .outerjoin(annotators, annotators.c.id == judgments.c.annotator_id)
        .where(judgments.c.project == project)
        .where(judgments.c.source.in_(("human", "production")))
        .where(is_current())
        .order_by(judgments.c.created_at, judgments.c.id)
    )
    with store.engine.connect() as conn:
        return list(conn.execute(query))


def samples_with_cases(store: Store, ids: Iterable[int]) -> dict[int, Any]:
    """Sample id -> (output, case_id, case_key, content, name, version) of those samples."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = (
        select(
            samples.c.id,
            samples.c.output,
            samples.c.case_id,
            cases.c.case_key,
            cases.c.content,
            variants.c.name,
            variants.c.version,
        )
        .join(cases, cases.c.id == samples.c.case_id)
        .join(variants, variants.c.id == samples.c.variant_id)
        .where(samples.c.id.in_(wanted))
    )
    with store.engine.connect() as conn:
        return {int(r.id): r for r in conn.execute(query)}


# -- proposals (append-only rows) -------------------------------------------------------------


def proposal_rows(store: Store, project: str) -> list[Any]:
    """Every row of every proposal of the project, in id order."""
    query = (
        select(check_proposals)
        .where(check_proposals.c.project == project)
        .order_by(check_proposals.c.id)
    )
    with store.engine.connect() as conn:
        return list(conn.execute(query))


def newest_proposal_row_id(conn: Connection, proposal_id: int) -> int | None:
    """The id of the proposal's newest row (inside the caller's write transaction)."""
    found = conn.execute(
        select(check_proposals.c.id)
        .where((check_proposals.c.root_id == proposal_id) | (check_proposals.c.id == proposal_id))
        .order_by(check_proposals.c.id.desc())
        .limit(1)
    ).scalar()
    return None if found is None else int(found)


def insert_proposal_row(conn: Connection, **values: Any) -> int:
    """Append a proposal row (inside the caller's write transaction); its id."""
    result = conn.execute(insert(check_proposals).values(created_at=utcnow(), **values))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


# -- speed: complaint checks over runs --------------------------------------------------------


def complaint_score_rows(
    store: Store,
    project: str,
    prefix: str,
    run_ids: Sequence[int] | None = None,
    metrics: Sequence[str] | None = None,
) -> list[Any]:
    """Score rows of the project's app samples whose metric starts with ``prefix``, oldest
    first, with their run, variant and case."""
    query = (
        select(
            scores.c.sample_id,
            scores.c.metric,
            scores.c.repeat,
            scores.c.passed,
            scores.c.status,
            scores.c.reason,
            samples.c.run_id,
            samples.c.variant_id,
            runs.c.uid,
            runs.c.created_at.label("run_at"),
            variants.c.name,
            variants.c.version,
            variants.c.created_at.label("variant_at"),
            cases.c.case_key,
        )
        .join(samples, samples.c.id == scores.c.sample_id)
        .join(runs, runs.c.id == samples.c.run_id)
        .join(variants, variants.c.id == samples.c.variant_id)
        .join(cases, cases.c.id == samples.c.case_id)
        .where(runs.c.project == project, samples.c.role == "app")
        .where(scores.c.metric.like(f"{prefix}%"))
        .order_by(scores.c.id)
    )
    if run_ids is not None:
        query = query.where(samples.c.run_id.in_(list(run_ids)))
    if metrics is not None:
        query = query.where(scores.c.metric.in_(list(metrics)))
    with store.engine.connect() as conn:
        return list(conn.execute(query))
