"""Every database read and write of the scorers package (the store's tables, as scoring needs
them). The batched score writer is the store's (:mod:`hyouka.store.score_batches`); single
score rows go through :meth:`hyouka.store.store.Store.write_scores`.

Core aliases only: ``sqlalchemy.orm`` (aliased) costs ~0.15 s to import at start-up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from hyouka.store.schema import (
    dataset_cases,
    datasets,
    judgments,
    run_datasets,
    sample_conversations,
    samples,
    scores,
    variants,
)
from hyouka.store.store import CONVERSATION_COLUMNS, Store

# The columns of a sample row tuple, in order (hyouka.scorers.run_samples.make_view reads it).
SAMPLE_COLUMNS = (
    samples.c.id, samples.c.variant_id, samples.c.case_id, samples.c.sample_index,
    samples.c.status, samples.c.output, samples.c.latency_ms, samples.c.cost,
    samples.c.input_tokens, samples.c.output_tokens, samples.c.contexts,
    *CONVERSATION_COLUMNS,
)  # fmt: skip
Row = tuple[Any, ...]


# -- a run's app samples ------------------------------------------------------------------------


def sample_rows(
    store: Store, run_id: int, low: int | None = None, high: int | None = None
) -> list[Row]:
    """The run's app sample rows (see SAMPLE_COLUMNS), in id order, optionally ids in
    [low, high]."""
    joined = samples.outerjoin(sample_conversations)
    if low is None or high is None:
        query = (
            select(*SAMPLE_COLUMNS)
            .select_from(joined)
            .where(samples.c.run_id == run_id, samples.c.role == "app")
        )
    else:
        # "run_id + 0" keeps the planner off the run_id index, so it walks the id range only
        # instead of every sample of the run for each chunk (SQLite and PostgreSQL alike).
        query = select(*SAMPLE_COLUMNS).select_from(joined).where(
            samples.c.id.between(low, high), samples.c.run_id + 0 == run_id,
            samples.c.role == "app",
        )  # fmt: skip
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query.order_by(samples.c.id))]


def sample_id_span(store: Store, run_id: int) -> tuple[int, int, int]:
    """(number of app samples, lowest id, highest id) of the run."""
    query = select(func.count(), func.min(samples.c.id), func.max(samples.c.id)).where(
        samples.c.run_id == run_id, samples.c.role == "app"
    )
    with store.engine.connect() as conn:
        n, low, high = conn.execute(query).one()
    return int(n), int(low or 0), int(high or -1)


def app_case_ids(store: Store, run_id: int) -> set[int]:
    """Ids of the cases the run's app samples answer."""
    query = (
        select(samples.c.case_id)
        .where(samples.c.run_id == run_id, samples.c.role == "app")
        .distinct()
    )
    with store.engine.connect() as conn:
        return {int(cid) for (cid,) in conn.execute(query)}


def case_datasets(store: Store, run_id: int) -> dict[int, tuple[str, ...]]:
    """Case id -> the names of the run's datasets that hold it."""
    query = (
        select(dataset_cases.c.case_id, datasets.c.name)
        .join(datasets, datasets.c.id == dataset_cases.c.dataset_id)
        .join(run_datasets, run_datasets.c.dataset_id == datasets.c.id)
        .where(run_datasets.c.run_id == run_id)
    )
    found: dict[int, set[str]] = defaultdict(set)
    with store.engine.connect() as conn:
        for case_id, name in conn.execute(query):
            found[int(case_id)].add(str(name))
    return {cid: tuple(sorted(names)) for cid, names in found.items()}


def scored_sample_ids(
    store: Store, run_id: int, check_name: str, version: str, params_hash: str, metric: str
) -> set[int]:
    """Ids of the run's samples that already have this check's row (repeat 0)."""
    query = (
        select(scores.c.sample_id)
        .join(samples, samples.c.id == scores.c.sample_id)
        .where(
            samples.c.run_id == run_id,
            scores.c.check_name == check_name,
            scores.c.check_version == version,
            scores.c.params_hash == params_hash,
            scores.c.metric == metric,
            scores.c.repeat == 0,
        )
    )
    with store.engine.connect() as conn:
        return {int(sid) for (sid,) in conn.execute(query)}


# -- judges: what is stored already, and writing judgments ------------------------------------


def judge_score_keys(store: Store, run_id: int, check_names: Iterable[str]) -> set[Row]:
    """(sample id, check name, version, params hash, metric, repeat) of the run's score rows of
    these checks."""
    query = (
        select(scores.c.sample_id, scores.c.check_name, scores.c.check_version,
               scores.c.params_hash, scores.c.metric, scores.c.repeat)
        .join(samples, samples.c.id == scores.c.sample_id)
        .where(samples.c.run_id == run_id, scores.c.check_name.in_(sorted(check_names)))
    )  # fmt: skip
    with store.engine.connect() as conn:
        return {tuple(r) for r in conn.execute(query)}


def judge_samples(store: Store, run_id: int) -> dict[tuple[int, int, int, str], dict[str, Any]]:
    """The run's stored judge calls by (judge variant id, case id, sample index, target)."""
    cols = (samples.c.id, samples.c.variant_id, samples.c.case_id, samples.c.sample_index,
            samples.c.target, samples.c.status, samples.c.output, samples.c.error)  # fmt: skip
    query = select(*cols).where(samples.c.run_id == run_id, samples.c.role == "judge")
    out: dict[tuple[int, int, int, str], dict[str, Any]] = {}
    with store.engine.connect() as conn:
        for r in conn.execute(query):
            key = (int(r.variant_id), int(r.case_id), int(r.sample_index), str(r.target))
            out[key] = dict(r._mapping)
    return out


def judgment_keys(store: Store, judge_ids: Iterable[int]) -> set[str]:
    """Idempotency keys of the judgments these judges stored."""
    query = select(judgments.c.idempotency_key).where(
        judgments.c.judge_variant_id.in_(sorted(judge_ids))
    )
    with store.engine.connect() as conn:
        return {str(k) for (k,) in conn.execute(query)}


def judge_sample_id(store: Store, row: Mapping[str, Any]) -> int:
    """The id of the judge sample stored under ``row``'s unique key (another writer's)."""
    query = select(samples.c.id).where(
        samples.c.run_id == row["run_id"],
        samples.c.variant_id == row["variant_id"],
        samples.c.case_id == row["case_id"],
        samples.c.sample_index == row["sample_index"],
        samples.c.target == row["target"],
    )
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def insert_judgments(store: Store, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert judge judgments; a row whose idempotency key is stored is skipped. The count
    written."""
    written = 0
    with store.engine.begin() as conn:
        for row in rows:
            try:
                with conn.begin_nested():
                    conn.execute(insert(judgments).values(**row))
                    written += 1
            except IntegrityError:  # idempotency key already stored
                continue
    return written


# -- the judge report ---------------------------------------------------------------------------


def judge_calls(store: Store, run_id: int) -> list[Any]:
    """The run's judge calls: variant id, status, cached, attempts, cost, tokens."""
    cols = (samples.c.variant_id, samples.c.status, samples.c.cached, samples.c.attempts,
            samples.c.cost, samples.c.input_tokens, samples.c.output_tokens)  # fmt: skip
    query = select(*cols).where(samples.c.run_id == run_id, samples.c.role == "judge")
    with store.engine.connect() as conn:
        return list(conn.execute(query))


def judge_score_rows(store: Store, run_id: int) -> list[Any]:
    """Score rows written from the run's judge calls, oldest first."""
    judge_sample = samples.alias()
    query = (
        select(
            judge_sample.c.variant_id,
            scores.c.sample_id,
            scores.c.check_name,
            scores.c.params_hash,
            scores.c.metric,
            scores.c.repeat,
            scores.c.value,
            scores.c.status,
        )
        .join(judge_sample, judge_sample.c.id == scores.c.judge_sample_id)
        .where(judge_sample.c.run_id == run_id)
        .order_by(scores.c.id)
    )
    with store.engine.connect() as conn:
        return list(conn.execute(query))


def pairwise_judgments(store: Store, judge_ids: Iterable[int]) -> list[Any]:
    """These judges' pairwise judgments with the two variants' names, oldest first."""
    a, b = samples.alias(), samples.alias()
    va, vb = variants.alias(), variants.alias()
    query = (
        select(
            judgments.c.judge_variant_id,
            judgments.c.winner,
            judgments.c.comment,
            va.c.name.label("candidate"),
            vb.c.name.label("baseline"),
        )
        .join(a, a.c.id == judgments.c.sample_a_id)
        .join(b, b.c.id == judgments.c.sample_b_id)
        .join(va, va.c.id == a.c.variant_id)
        .join(vb, vb.c.id == b.c.variant_id)
        .where(judgments.c.source == "judge", judgments.c.judge_variant_id.in_(list(judge_ids)))
        .order_by(judgments.c.id)
    )
    with store.engine.connect() as conn:
        return list(conn.execute(query))
