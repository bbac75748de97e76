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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hyouka.datasets import Case, case_from_mapping
from hyouka.scorers.base import SampleView
from hyouka.scorers.queries import (
    SAMPLE_COLUMNS,
    Row,
    app_case_ids,
    case_datasets,
    sample_id_span,
    sample_rows,
)
from hyouka.store.store import RunInfo, Store

COLUMNS = SAMPLE_COLUMNS


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
        return sample_id_span(self.store, self.run.id)


def load_run(store: Store, run: RunInfo) -> RunData:
    """The run's variants and the cases its app samples answer (samples load on first use)."""
    variants = store.variants_by_id(store.run_variant_ids(run.id))
    case_ids = app_case_ids(store, run.id)
    cases = {cid: case_from_mapping(c) for cid, c in store.case_content(case_ids).items()}
    return RunData(store, run, variants, cases, case_datasets(store, run.id))
