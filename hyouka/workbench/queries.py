"""Every SQL statement of the team's workbench (``/team/``), in one place.

The run page reads a run in two steps, so that its cost grows with the page, not the run:
which cases match the filters (:mod:`hyouka.workbench.index`, built once per run), then the
samples and scores of the page's cases only (``IN`` over at most a page of case ids).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, String, and_, cast, distinct, func, or_, select

from hyouka.store.schema import cases, judgments, samples, scores, variants
from hyouka.store.store import Store
from hyouka.store.tx import reading

_APP = samples.c.role == "app"


def run_case_ids(store: Store, run_id: int) -> list[int]:
    """The run's cases (those with an app sample), in dataset order (first stored first)."""
    query = (
        select(samples.c.case_id)
        .distinct()
        .where(samples.c.run_id == run_id, _APP)
        .order_by(samples.c.case_id)
    )
    with reading(store) as conn:
        return [int(r[0]) for r in conn.execute(query)]


def complained_case_ids(store: Store, run_id: int) -> set[int]:
    """Cases with a comment, a tag or a marked phrase on one of their samples (humans)."""
    said = or_(
        and_(judgments.c.comment.is_not(None), judgments.c.comment != ""),
        and_(judgments.c.highlight.is_not(None), judgments.c.highlight != ""),
        cast(judgments.c.tags, String) != "[]",
    )
    found: set[int] = set()
    with reading(store) as conn:
        for column in (judgments.c.sample_a_id, judgments.c.sample_b_id):
            query = (
                select(samples.c.case_id)
                .distinct()
                .join(judgments, column == samples.c.id)
                .where(samples.c.run_id == run_id, _APP, said)
            )
            found.update(int(r[0]) for r in conn.execute(query))
    return found


def metric_case_means(
    store: Store, run_id: int, variant_ids: Sequence[int], metric: str
) -> list[tuple[int, int, float]]:
    """Per (case, variant): the mean of ``metric`` (check or metric name) over samples."""
    query = (
        select(samples.c.case_id, samples.c.variant_id, func.avg(scores.c.value))
        .join(scores, scores.c.sample_id == samples.c.id)
        .where(
            samples.c.run_id == run_id,
            _APP,
            samples.c.variant_id.in_(list(variant_ids)),
            scores.c.status == "ok",
            scores.c.value.is_not(None),
            or_(scores.c.metric == metric, scores.c.check_name == metric),
        )
        .group_by(samples.c.case_id, samples.c.variant_id)
    )
    with reading(store) as conn:
        return [(int(c), int(v), float(m)) for c, v, m in conn.execute(query)]


SAMPLE_COLUMNS = (
    samples.c.id,
    samples.c.case_id,
    samples.c.variant_id,
    samples.c.sample_index,
    samples.c.status,
    samples.c.output,
    samples.c.error,
    samples.c.latency_ms,
    samples.c.cost,
)


def page_samples(
    store: Store, run_id: int, case_ids: Sequence[int], variant_ids: Sequence[int] | None = None
) -> list[tuple[Any, ...]]:
    """The app samples of these cases: rows of :data:`SAMPLE_COLUMNS`."""
    if not case_ids:
        return []
    query = select(*SAMPLE_COLUMNS).where(
        samples.c.run_id == run_id, _APP, samples.c.case_id.in_(list(case_ids))
    )
    if variant_ids is not None:
        query = query.where(samples.c.variant_id.in_(list(variant_ids)))
    query = query.order_by(samples.c.case_id, samples.c.variant_id, samples.c.sample_index)
    with reading(store) as conn:
        return [tuple(r) for r in conn.execute(query)]


SCORE_COLUMNS = (
    scores.c.sample_id,
    scores.c.check_name,
    scores.c.metric,
    scores.c.repeat,
    scores.c.value,
    scores.c.passed,
    scores.c.status,
    scores.c.reason,
    scores.c.judge_sample_id,
)


def page_scores(store: Store, run_id: int, case_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """The scores of these cases' app samples (rows of :data:`SCORE_COLUMNS`), oldest first:
    a rescore's newer row replaces the older. Selected by case, not by a long list of
    sample ids (one short IN list, the same statement for every page)."""
    if not case_ids:
        return []
    query = (
        select(*SCORE_COLUMNS)
        .join(samples, samples.c.id == scores.c.sample_id)
        .where(samples.c.run_id == run_id, _APP, samples.c.case_id.in_(list(case_ids)))
        .order_by(scores.c.id)
    )
    with reading(store) as conn:
        return [tuple(r) for r in conn.execute(query)]


def page_complaints(store: Store, sample_ids: Sequence[int]) -> list[dict[str, Any]]:
    """What people said about these samples (comment, tags, marked phrase), newest first."""
    if not sample_ids:
        return []
    ids = list(sample_ids)
    query = (
        select(
            judgments.c.sample_a_id,
            judgments.c.sample_b_id,
            judgments.c.comment,
            judgments.c.tags,
            judgments.c.highlight,
        )
        .where(or_(judgments.c.sample_a_id.in_(ids), judgments.c.sample_b_id.in_(ids)))
        .order_by(judgments.c.id.desc())
        .limit(500)
    )
    with reading(store) as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def case_id_by_key(store: Store, run_id: int, key: str) -> int | None:
    """The id of the run's case named ``key`` (None when the run has no such case)."""
    query = (
        select(cases.c.id)
        .join(samples, samples.c.case_id == cases.c.id)
        .where(cases.c.case_key == key, samples.c.run_id == run_id, _APP)
        .limit(1)
    )
    with reading(store) as conn:
        found = conn.execute(query).scalar()
    return None if found is None else int(found)


def case_keys(store: Store, case_ids: Sequence[int]) -> dict[int, str]:
    if not case_ids:
        return {}
    query = select(cases.c.id, cases.c.case_key).where(cases.c.id.in_(list(case_ids)))
    with reading(store) as conn:
        return {int(i): str(k) for i, k in conn.execute(query)}


def run_cost(store: Store, run_ids: Sequence[int]) -> dict[int, tuple[float | None, int]]:
    """Per run: the known cost of its app samples (None when none is known) and its cases."""
    if not run_ids:
        return {}
    query = (
        select(
            samples.c.run_id,
            func.sum(samples.c.cost),
            func.count(distinct(samples.c.case_id)),
        )
        .where(samples.c.run_id.in_(list(run_ids)), _APP)
        .group_by(samples.c.run_id)
    )
    with reading(store) as conn:
        return {
            int(r): (None if c is None else float(c), int(n or 0))
            for r, c, n in conn.execute(query)
        }


def run_variant_names(store: Store, run_ids: Sequence[int]) -> dict[int, list[str]]:
    from hyouka.store.schema import run_variants

    if not run_ids:
        return {}
    query = (
        select(run_variants.c.run_id, variants.c.name)
        .join(variants, variants.c.id == run_variants.c.variant_id)
        .where(run_variants.c.run_id.in_(list(run_ids)))
        .order_by(variants.c.id)
    )
    out: dict[int, list[str]] = {}
    with reading(store) as conn:
        for run_id, name in conn.execute(query):
            out.setdefault(int(run_id), []).append(str(name))
    return out


def run_variants(store: Store, run_id: int) -> list[tuple[int, str, str]]:
    """The run's variants (id, name, version), oldest first: the order of ``hyouka.analysis``
    (``variants_in_run``), without importing it (numpy and scipy: seconds on a cold server)."""
    from hyouka.store.schema import run_variants as rv

    query = (
        select(variants.c.id, variants.c.name, variants.c.version)
        .join(rv, rv.c.variant_id == variants.c.id)
        .where(rv.c.run_id == run_id)
        .order_by(variants.c.id)
    )
    with reading(store) as conn:
        return [(int(i), str(n), str(v)) for i, n, v in conn.execute(query)]


def variant_rows(store: Store, project: str, name: str) -> list[dict[str, Any]]:
    """Every stored version of variant ``name``, oldest first, with its sample count."""
    count = (
        select(func.count())
        .where(samples.c.variant_id == variants.c.id, _APP)
        .scalar_subquery()
        .cast(Integer)
    )
    query = (
        select(variants, count.label("n"))
        .where(variants.c.project == project, variants.c.name == name)
        .order_by(variants.c.created_at, variants.c.id)
    )
    with reading(store) as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
