"""A run's stored app samples, read back in batched queries for (re)scoring.

Everything a check sees of a sample (:class:`SampleView`) is rebuilt from the store: the case
from its stored content, the output, status, latency, cost, tokens and contexts, and which of
the run's datasets the case belongs to (for per-dataset checks). Rows stay plain tuples until a
view is needed: building 100,000 views up front cost more than reading the rows (measured in
benchmarks/scoring_speed.py), and deterministic scoring builds them inside its worker
processes instead.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from hyouka.datasets import Case, case_from_mapping
from hyouka.scorers.base import SampleView
from hyouka.store.schema import (
    dataset_cases,
    datasets,
    run_datasets,
    sample_conversations,
    samples,
)
from hyouka.store.store import CONVERSATION_COLUMNS, RunInfo, Store

# The columns of a sample row tuple, in order.
COLUMNS = (
    samples.c.id, samples.c.variant_id, samples.c.case_id, samples.c.sample_index,
    samples.c.status, samples.c.output, samples.c.latency_ms, samples.c.cost,
    samples.c.input_tokens, samples.c.output_tokens, samples.c.contexts,
    *CONVERSATION_COLUMNS,
)  # fmt: skip
Row = tuple[Any, ...]


@dataclass(frozen=True)
class StoredSample:
    id: int
    variant_id: int
    case_id: int
    index: int
    view: SampleView


def make_view(row: Row, cases: Mapping[int, Case], names: Mapping[int, str]) -> SampleView:
    _, vid, cid, _, status, output, latency, cost, tin, tout, contexts = row[:11]
    calls, trajectory, turns, stop, goal, to_goal = row[11:17]
    conversation = None
    if stop is not None:
        conversation = {"turns": turns, "stop_reason": stop, "goal_reached": goal,
                        "turns_to_goal": to_goal}  # fmt: skip
    return SampleView(output or "", cases[cid], status, latency, cost, tin, tout, contexts,
                      names.get(vid, ""), calls, trajectory, conversation)  # fmt: skip


@dataclass
class RunData:
    """A run's variants, cases and (lazily) its app samples."""

    store: Store
    run: RunInfo
    variants: dict[int, dict[str, Any]]
    cases: dict[int, Case]
    case_datasets: dict[int, tuple[str, ...]]

    def variant_name(self, variant_id: int) -> str:
        return str(self.variants[variant_id]["name"])

    @functools.cached_property
    def names(self) -> dict[int, str]:
        return {vid: str(v["name"]) for vid, v in self.variants.items()}

    @functools.cached_property
    def samples(self) -> list[StoredSample]:
        """Every app sample of the run, in id order, with its view."""
        return [
            StoredSample(r[0], r[1], r[2], r[3], make_view(r, self.cases, self.names))
            for r in sample_rows(self.store, self.run.id)
        ]

    def id_span(self) -> tuple[int, int, int]:
        """(number of app samples, lowest id, highest id)."""
        query = select(func.count(), func.min(samples.c.id), func.max(samples.c.id)).where(
            samples.c.run_id == self.run.id, samples.c.role == "app"
        )
        with self.store.engine.connect() as conn:
            n, low, high = conn.execute(query).one()
        return int(n), int(low or 0), int(high or -1)


def sample_rows(
    store: Store, run_id: int, low: int | None = None, high: int | None = None
) -> list[Row]:
    """The run's app sample rows (see COLUMNS), in id order, optionally ids in [low, high]."""
    joined = samples.outerjoin(sample_conversations)
    if low is None or high is None:
        query = (
            select(*COLUMNS)
            .select_from(joined)
            .where(samples.c.run_id == run_id, samples.c.role == "app")
        )
    else:
        # "run_id + 0" keeps the planner off the run_id index, so it walks the id range only
        # instead of every sample of the run for each chunk (SQLite and PostgreSQL alike).
        query = select(*COLUMNS).select_from(joined).where(
            samples.c.id.between(low, high), samples.c.run_id + 0 == run_id,
            samples.c.role == "app",
        )  # fmt: skip
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query.order_by(samples.c.id))]


def _case_datasets(store: Store, run_id: int) -> dict[int, tuple[str, ...]]:
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


def load_run(store: Store, run: RunInfo) -> RunData:
    """The run's variants and the cases its app samples answer (samples load on first use)."""
    variants = store.variants_by_id(store.run_variant_ids(run.id))
    query = (
        select(samples.c.case_id)
        .where(samples.c.run_id == run.id, samples.c.role == "app")
        .distinct()
    )
    with store.engine.connect() as conn:
        case_ids = {int(cid) for (cid,) in conn.execute(query)}
    cases = {cid: case_from_mapping(c) for cid, c in store.case_content(case_ids).items()}
    return RunData(store, run, variants, cases, _case_datasets(store, run.id))
