"""The run page's grid: cases × variants, filtered, ordered and paged.

A page is built in two steps (see :mod:`hyouka.workbench.queries`): the ids of the cases that
match (each filter is one aggregate query; the "disagree most" orders one more), then the
samples, scores and complaints of that page's cases only. Nothing here loads a whole run.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from hyouka.store.store import Store
from hyouka.workbench import queries as Q
from hyouka.workbench.diff import Segment, char_diff
from hyouka.workbench.index import RunIndex

PAGE_SIZE = 25
PAGE_SIZE_MAX = 200
GRID_DIFF_CHARS = 1500  # longer outputs are diffed on the case and compare pages only
SHOWS = ("", "errors", "complained", "variants", "samples")


@dataclass(frozen=True)
class GridFilter:
    """What the grid shows: failing ``check``; ``show``: errors | complained (only those
    cases), variants | samples (cases where they disagree, the most first); text ``q``."""

    check: str = ""
    show: str = ""
    q: str = ""
    page: int = 1
    size: int = PAGE_SIZE

    def normalised(self) -> GridFilter:
        show = self.show if self.show in SHOWS else ""
        size = min(max(self.size, 1), PAGE_SIZE_MAX)
        return GridFilter(self.check.strip(), show, self.q.strip(), max(self.page, 1), size)

    @property
    def active(self) -> bool:
        return bool(self.check or self.show or self.q)


@dataclass
class ScoreView:
    check: str
    metric: str
    value: float | None
    passed: bool | None
    status: str
    reason: str | None
    judge: bool

    @property
    def label(self) -> str:
        return self.check if self.metric == self.check else f"{self.check}.{self.metric}"


@dataclass
class SampleView:
    id: int
    index: int
    status: str
    output: str
    error: str | None
    latency_ms: float | None
    cost: float | None
    scores: list[ScoreView] = field(default_factory=list)

    @property
    def failed(self) -> list[ScoreView]:
        return [s for s in self.scores if s.passed is False]


@dataclass
class Cell:
    variant_id: int
    samples: list[SampleView] = field(default_factory=list)

    @property
    def first(self) -> SampleView | None:
        return self.samples[0] if self.samples else None

    @property
    def errors(self) -> int:
        return sum(1 for s in self.samples if s.status != "ok")

    @functools.cached_property
    def spread(self) -> bool:
        """The samples disagree: different outputs, or a check passing on some only."""
        ok = [s for s in self.samples if s.status == "ok"]
        if len({s.output for s in ok}) > 1:
            return True
        verdicts: dict[str, set[bool]] = defaultdict(set)
        for s in ok:
            for sc in s.scores:
                if sc.passed is not None:
                    verdicts[sc.label].add(sc.passed)
        return any(len(v) > 1 for v in verdicts.values())

    @functools.cached_property
    def checks(self) -> list[tuple[str, int, int]]:
        """Per check: (label, samples passing, samples with a verdict)."""
        out: dict[str, list[int]] = {}
        for s in self.samples:
            for sc in s.scores:
                if sc.passed is None:
                    continue
                entry = out.setdefault(sc.label, [0, 0])
                entry[0] += int(sc.passed)
                entry[1] += 1
        return [(k, v[0], v[1]) for k, v in out.items()]

    @property
    def judged(self) -> list[ScoreView]:
        """The judge scores of the first sample (all samples' are in the samples view)."""
        first = self.first
        return [s for s in first.scores if s.judge] if first else []


@dataclass
class CaseRow:
    case_id: int
    key: str
    inputs: list[tuple[str, str]]
    cells: dict[int, Cell]
    complaints: list[dict[str, Any]] = field(default_factory=list)
    # per variant (but the first): its first output against the first variant's, by character
    diffs: dict[int, list[Segment]] = field(default_factory=dict)
    why: str = ""  # the order's figure: how much the variants / samples disagree

    @property
    def failing(self) -> bool:
        return any(s.failed or s.status != "ok" for c in self.cells.values() for s in c.samples)


@dataclass
class GridPage:
    rows: list[CaseRow]
    total: int  # cases matching
    run_cases: int
    page: int
    pages: int
    filter: GridFilter
    checks: list[str]


def case_inputs(content: dict[str, Any]) -> list[tuple[str, str]]:
    """A case's inputs as (name, text) pairs, in the dataset's order."""
    values = content.get("vars")
    if isinstance(values, dict) and values:
        return [(str(k), v if isinstance(v, str) else repr(v)) for k, v in values.items()]
    return [(k, str(v)) for k, v in content.items() if k not in ("id", "vars")]


def matching_cases(index: RunIndex, f: GridFilter) -> tuple[list[int], dict[int, str]]:
    """The ordered ids of the cases matching ``f`` and the figure each order shows."""
    ids = index.case_ids
    keep: set[int] | None = None

    def narrow(found: set[int]) -> None:
        nonlocal keep
        keep = found if keep is None else keep & found

    if f.check:
        narrow(index.failing.get(f.check, set()))
    if f.show == "errors":
        narrow(index.errors)
    if f.show == "complained":
        narrow(index.complained)
    if f.q:
        narrow(index.search(f.q))
    if keep is not None:
        ids = [i for i in ids if i in keep]
    why: dict[int, str] = {}
    if f.show in ("variants", "samples"):
        spread = index.variant_gap if f.show == "variants" else index.sample_split
        ids = [i for i in ids if spread.get(i, 0) > 0]
        position = {c: n for n, c in enumerate(ids)}
        ids.sort(key=lambda c: (-spread[c], position[c]))
        for c in ids:
            value = spread[c]
            why[c] = f"{value:.2f}" if f.show == "variants" else f"{math.floor(value):d}"
    return ids, why


def grid_page(
    store: Store,
    run_id: int,
    variant_ids: list[int],
    f: GridFilter,
    index: RunIndex | None,
    diffs: bool = False,
) -> GridPage:
    """One page of the grid. Without ``index`` (still being built) only the unfiltered
    grid can be shown: the run's case ids come from one query."""
    f = f.normalised()
    if index is not None:
        ids, why = matching_cases(index, f)
        run_cases = len(index.case_ids)
    else:
        ids, why = Q.run_case_ids(store, run_id), {}
        run_cases = len(ids)
    pages = max(1, math.ceil(len(ids) / f.size))
    page = min(f.page, pages)
    chosen = ids[(page - 1) * f.size : page * f.size]
    said = None if index is None else index.complained & set(chosen)
    rows = build_rows(store, run_id, variant_ids, chosen, GRID_DIFF_CHARS if diffs else -1, said)
    for row in rows:
        row.why = why.get(row.case_id, "")
    if index is not None:
        checks = index.checks
    else:
        checks = sorted(
            {
                sc.check
                for r in rows
                for c in r.cells.values()
                for s in c.samples
                for sc in s.scores
                if sc.passed is not None
            }
        )
    return GridPage(rows, len(ids), run_cases, page, pages, f, checks)


def build_rows(
    store: Store,
    run_id: int,
    variant_ids: list[int],
    case_ids: list[int],
    diff_chars: int = GRID_DIFF_CHARS,
    complained: set[int] | None = None,
) -> list[CaseRow]:
    """The rows of these cases, in this order, every sample with its newest scores."""
    by_id: dict[int, SampleView] = {}
    case_of: dict[int, int] = {}
    cells: dict[tuple[int, int], Cell] = {}
    for sid, case_id, variant_id, index, status, output, error, latency, cost in Q.page_samples(
        store, run_id, case_ids, variant_ids
    ):
        view = SampleView(sid, index, status, output or "", error, latency, cost)
        by_id[sid] = view
        case_of[sid] = case_id
        cells.setdefault((case_id, variant_id), Cell(variant_id)).samples.append(view)
    newest: dict[tuple[int, str, str, int], tuple[Any, ...]] = {}
    for score in Q.page_scores(store, run_id, case_ids):
        newest[(score[0], score[1], score[2], score[3])] = score
    for sid, check, metric, _repeat, value, passed, status, reason, judge in newest.values():
        found = by_id.get(sid)
        if found is not None:
            found.scores.append(
                ScoreView(check, metric, value, passed, status, reason, judge is not None)
            )
    said: dict[int, list[dict[str, Any]]] = defaultdict(list)
    # ``complained``: the cases known to have complaints (from the run's index), if known
    asked = (
        list(by_id) if complained is None else [s for s, c in case_of.items() if c in complained]
    )
    for j in Q.page_complaints(store, asked):
        for column in ("sample_a_id", "sample_b_id"):
            case_id = case_of.get(j[column]) if j[column] is not None else None
            if case_id is None:
                continue
            said[case_id].append(
                {
                    "comment": j["comment"] or "",
                    "tags": list(j["tags"] or []),
                    "highlight": j["highlight"] or "",
                }
            )
    content = store.case_content(case_ids)
    keys = Q.case_keys(store, case_ids)
    rows = []
    for case_id in case_ids:
        row_cells = {v: cells.get((case_id, v), Cell(v)) for v in variant_ids}
        row = CaseRow(
            case_id,
            keys.get(case_id, str(case_id)),
            case_inputs(content.get(case_id, {})),
            row_cells,
            said.get(case_id, [])[:20],
        )
        base = row_cells[variant_ids[0]].first if variant_ids else None
        for v in variant_ids[1:]:
            other = row_cells[v].first
            if base is None or other is None:
                continue
            if len(base.output) <= diff_chars and len(other.output) <= diff_chars:
                row.diffs[v] = char_diff(base.output, other.output)
        rows.append(row)
    return rows
