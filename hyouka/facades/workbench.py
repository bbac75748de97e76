"""The team's workbench through the front door: runs, the run grid, compare, versions.

``ws.workbench`` (and the web app's ``/team/`` pages) call this. The numbers are those of
``hyouka show`` (:func:`hyouka.summary.summarize_run`) and ``hyouka compare``
(:func:`hyouka.analysis.compare_variants`): the same functions, not a copy.
"""

from __future__ import annotations

import builtins
import itertools
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hyouka.errors import HyoukaError
from hyouka.facades.scope import Scope
from hyouka.store.store import RunInfo
from hyouka.summary import ErrorCause, VariantSummary, error_causes, summarize_run
from hyouka.workbench import queries as Q
from hyouka.workbench.diff import Segment, changed_share, char_diff
from hyouka.workbench.grid import CaseRow, GridFilter, GridPage, build_rows, grid_page
from hyouka.workbench.index import IndexCache
from hyouka.workbench.playground import Jobs

if TYPE_CHECKING:
    from hyouka.analysis import CompareResult, MetricComparison, PairComparison

# A summary (show + compare over the whole run: seconds on a large run) is kept this long per
# run: a minute while the run is running, ten once it is finished (a rescore shows within).
SUMMARY_TTL = 60.0
SUMMARY_TTL_FINISHED = 600.0


@dataclass(frozen=True)
class VariantRef:
    id: int
    name: str
    version: str


@dataclass
class MetricCell:
    mean: float
    low: float | None
    high: float | None
    n_cases: int


@dataclass
class RunSummary:
    """Per variant: ``hyouka show``'s figures, and per metric the mean with the interval
    ``hyouka compare`` gives it (each arm against the run's first variant)."""

    run: RunInfo
    variants: list[VariantRef]
    shows: list[VariantSummary]
    metrics: list[str]
    cells: dict[tuple[int, str], MetricCell]
    level: float
    verdicts: list[tuple[str, str, str]]  # (b, metric, sentence) against the first variant
    problem: str = ""


@dataclass
class CompareRow:
    row: CaseRow
    a: str
    b: str
    diff: list[Segment]
    changed: float
    drive: float | None  # B − A on the chosen metric (the case's share of the difference)


@dataclass
class ComparePage:
    run: RunInfo
    a: VariantRef
    b: VariantRef
    pair: PairComparison | None
    sentences: list[tuple[str, str]]  # (metric, sentence)
    notes: list[str]
    metric: str
    rows: list[CompareRow]
    total: int
    page: int
    pages: int
    problem: str = ""


@dataclass
class VersionView:
    id: int
    version: str
    created_at: Any
    n: int
    prompt: str
    params: str
    prompt_diff: list[Segment] = field(default_factory=list)
    params_diff: list[Segment] = field(default_factory=list)


class Workbench:
    """What the team sees of runs: lists, summaries, the case grid, two variants compared."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self._cache: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self.indexes = IndexCache(scope.store)
        self.jobs = Jobs()  # background runs started from the playground

    # -- caching ----------------------------------------------------------------------------

    def _cached(self, key: Any, make: Any) -> Any:
        now = time.monotonic()
        ttl = SUMMARY_TTL_FINISHED if "finished" in key else SUMMARY_TTL
        with self._lock:
            found = self._cache.get(key)
        if found is not None and now - found[0] < ttl:
            return found[1]
        value = make()
        with self._lock:
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = (now, value)
        return value

    # -- runs -------------------------------------------------------------------------------

    def run(self, ref: str) -> RunInfo:
        return self.scope.store.get_run(ref, self.scope.name)

    def runs(self, limit: int = 50) -> builtins.list[dict[str, Any]]:
        """The project's runs, newest first: status, variants, cases, samples, errors, cost."""
        store = self.scope.store
        rows = store.list_runs(self.scope.name, limit)
        ids = [int(r["id"]) for r in rows]
        costs = Q.run_cost(store, ids)
        names = Q.run_variant_names(store, ids)
        for r in rows:
            cost, n_cases = costs.get(int(r["id"]), (None, 0))
            r["cost"] = cost
            r["n_cases"] = n_cases
            r["variants"] = names.get(int(r["id"]), [])
        return rows

    def variants_of(self, run: RunInfo) -> builtins.list[VariantRef]:
        return [VariantRef(i, n, v) for i, n, v in Q.run_variants(self.scope.store, run.id)]

    def errors(self, run: RunInfo) -> builtins.list[ErrorCause]:
        """``hyouka show``'s error causes (counts and one example each)."""
        index = self.indexes.ready(run)
        return index.causes if index is not None else error_causes(self.scope.store, run.id)

    def shows(self, run: RunInfo) -> builtins.list[VariantSummary]:
        """``hyouka show``'s per-variant figures."""
        return summarize_run(self.scope.store, run.id)

    def summary(self, run: RunInfo, lang: str = "en") -> RunSummary:
        return self._cached(("summary", run.id, run.status, lang), lambda: self._summary(run, lang))  # type: ignore[no-any-return]

    def _summary(self, run: RunInfo, lang: str) -> RunSummary:
        from hyouka.analysis import verdict as V

        refs = self.variants_of(run)
        shows = summarize_run(self.scope.store, run.id)
        metrics: builtins.list[str] = []
        for s in shows:
            for c in s.checks.values():
                label = c.check if c.metric == c.check else c.metric
                if label not in metrics:
                    metrics.append(label)
        cells: dict[tuple[int, str], MetricCell] = {}
        verdicts: builtins.list[tuple[str, str, str]] = []
        level = 0.95
        problem = ""
        names = _unique_names(refs)
        if len(refs) >= 2:
            try:
                result = self.compare_result(
                    run, names[refs[0].id], [names[r.id] for r in refs[1:]]
                )
            except HyoukaError as exc:
                problem = str(exc)
            else:
                level = result.level
                for pair, ref in zip(result.comparisons, refs[1:], strict=True):
                    for m in pair.metrics:
                        cells[(refs[0].id, m.metric)] = _cell(m, "a")
                        cells[(ref.id, m.metric)] = _cell(m, "b")
                        sentence = V.metric_sentence(
                            m, pair.a, pair.b, _lang(lang), result.alpha, name_pair=True
                        )
                        verdicts.append((pair.b, m.metric, sentence))
        for s in shows:  # metrics compare could not test: the plain mean, no interval
            for c in s.checks.values():
                label = c.check if c.metric == c.check else c.metric
                mean = c.pass_rate if c.pass_rate is not None else c.mean
                if (s.variant_id, label) not in cells and mean is not None:
                    cells[(s.variant_id, label)] = MetricCell(mean, None, None, c.n)
        return RunSummary(run, refs, shows, metrics, cells, level, verdicts, problem)

    def compare_result(self, run: RunInfo, a: str, b: Sequence[str]) -> CompareResult:
        from hyouka.analysis import compare_variants

        key = ("compare", run.id, run.status, a, tuple(b))
        return self._cached(key, lambda: compare_variants(self.scope.store, run, a, b))  # type: ignore[no-any-return]

    def grid(self, run: RunInfo, f: GridFilter, diffs: bool = False) -> GridPage:
        """One page of the case grid. A filter waits for the run's index; the unfiltered
        first view does not, and starts building it for the filters to come."""
        ids = [v.id for v in self.variants_of(run)]
        f = f.normalised()
        index = self.indexes.get(run) if f.active else self.indexes.ready(run)
        return grid_page(self.scope.store, run.id, ids, f, index, diffs)

    def warm(self, run: RunInfo) -> None:
        """Start building the run's filter index in the background (the web app calls it
        once the run's first page is rendered, so the two do not compete)."""
        self.indexes.warm(run)

    def case(self, run: RunInfo, case_key: str) -> CaseRow:
        ids = [v.id for v in self.variants_of(run)]
        found = Q.case_id_by_key(self.scope.store, run.id, case_key)
        if found is None:
            from hyouka.errors import NotFoundError

            raise NotFoundError(f"no case '{case_key}' in run {run.uid}")
        return build_rows(self.scope.store, run.id, ids, [found], diff_chars=10**9)[0]

    # -- compare ----------------------------------------------------------------------------

    def compare(
        self,
        run: RunInfo,
        a: str,
        b: str,
        *,
        metric: str = "",
        page: int = 1,
        size: int = 20,
        lang: str = "en",
    ) -> ComparePage:
        """Two variants side by side per case, with ``compare``'s verdict; ``metric``
        orders the cases by how much each drives that metric's difference."""
        from hyouka.analysis import verdict as V

        refs = self.variants_of(run)
        names = _unique_names(refs)
        by_name = {n: r for r in refs for n in (names[r.id], r.name, f"{r.name}@{r.version}")}
        if a not in by_name or b not in by_name:
            from hyouka.errors import NotFoundError

            raise NotFoundError(f"no variant '{a if a not in by_name else b}' in run {run.uid}")
        ra, rb = by_name[a], by_name[b]
        pair: PairComparison | None = None
        sentences: builtins.list[tuple[str, str]] = []
        notes: builtins.list[str] = []
        problem = ""
        if ra.id != rb.id:
            try:
                result = self.compare_result(run, names[ra.id], [names[rb.id]])
            except HyoukaError as exc:
                problem = str(exc)
            else:
                pair = result.first
                sentences = [
                    (m.metric, V.metric_sentence(m, pair.a, pair.b, _lang(lang), result.alpha))
                    for m in pair.metrics
                ]
                notes = V.compare_notes(result, _lang(lang))
        store = self.scope.store
        ids = Q.run_case_ids(store, run.id)
        drive: dict[int, float] = {}
        if metric:
            means: dict[tuple[int, int], float] = {
                (c, v): m for c, v, m in Q.metric_case_means(store, run.id, [ra.id, rb.id], metric)
            }
            sign = 1.0
            if pair is not None:
                for m in pair.metrics:
                    if metric in (m.metric, m.check):
                        sign = 1.0 if m.difference.estimate >= 0 else -1.0
            for c in ids:
                if (c, ra.id) in means and (c, rb.id) in means:
                    drive[c] = means[(c, rb.id)] - means[(c, ra.id)]
            # the cases that push the difference the way it went, the most first
            ids = [c for c in ids if drive.get(c, 0.0) * sign > 0]
            ids.sort(key=lambda c: -drive[c] * sign)
        pages = max(1, -(-len(ids) // size))
        page = min(max(page, 1), pages)
        chosen = ids[(page - 1) * size : page * size]
        built = build_rows(store, run.id, [ra.id, rb.id], chosen)
        rows = []
        for row in built:
            first_a, first_b = row.cells[ra.id].first, row.cells[rb.id].first
            text_a = _shown(first_a)
            text_b = _shown(first_b)
            segments = char_diff(text_a, text_b)
            rows.append(
                CompareRow(
                    row, text_a, text_b, segments, changed_share(segments), drive.get(row.case_id)
                )
            )
        return ComparePage(
            run, ra, rb, pair, sentences, notes, metric, rows, len(ids), page, pages, problem
        )

    # -- versions ---------------------------------------------------------------------------

    def versions(self, name: str) -> builtins.list[VersionView]:
        """Every stored version of variant ``name``, oldest first, each with the diff of its
        prompt and params against the version before."""
        rows = Q.variant_rows(self.scope.store, self.scope.name, name)
        if not rows:
            from hyouka.errors import NotFoundError

            raise NotFoundError(f"no variant '{name}' in project '{self.scope.name}'")
        out: builtins.list[VersionView] = []
        for r in rows:
            spec = r["spec"] or {}
            out.append(
                VersionView(
                    int(r["id"]),
                    str(r["version"]),
                    r["created_at"],
                    int(r["n"] or 0),
                    _prompt_text(spec),
                    _params_text(spec),
                )
            )
        for before, after in itertools.pairwise(out):
            after.prompt_diff = char_diff(before.prompt, after.prompt)
            after.params_diff = char_diff(before.params, after.params)
        return out

    def variant_names(self) -> builtins.list[str]:
        return sorted({str(r["name"]) for r in self.scope.store.variant_history(self.scope.name)})


def _lang(lang: str) -> Any:
    return "ja" if lang == "ja" else "en"


def _cell(m: MetricComparison, side: str) -> MetricCell:
    arm = m.a if side == "a" else m.b
    return MetricCell(arm.mean, arm.low, arm.high, arm.n_cases)


def _unique_names(refs: Sequence[VariantRef]) -> dict[int, str]:
    """How ``compare`` names each variant: its name, or name@version when a run has two
    versions of one name."""
    counts: dict[str, int] = {}
    for r in refs:
        counts[r.name] = counts.get(r.name, 0) + 1
    return {r.id: r.name if counts[r.name] == 1 else f"{r.name}@{r.version}" for r in refs}


def _shown(sample: Any) -> str:
    if sample is None:
        return ""
    return str(sample.output if sample.status == "ok" else (sample.error or sample.status))


def _prompt_text(spec: dict[str, Any]) -> str:
    """The prompt a stored variant spec holds (its messages' templates, or its app)."""
    messages = spec.get("messages")
    if isinstance(messages, list) and messages:
        parts = []
        for m in messages:
            if isinstance(m, (list, tuple)) and len(m) == 2:
                parts.append(f"[{m[0]}]\n{m[1]}" if len(messages) > 1 else str(m[1]))
            elif isinstance(m, dict):
                parts.append(f"[{m.get('role', '')}]\n{m.get('content', m.get('template', ''))}")
        return "\n\n".join(parts)
    for key in ("prompt", "template", "app"):
        if spec.get(key):
            return str(spec[key])
    return ""


def _params_text(spec: dict[str, Any]) -> str:
    shown = {k: v for k, v in spec.items() if k not in ("messages", "prompt", "template")}
    return json.dumps(shown, ensure_ascii=False, indent=2, sort_keys=True, default=str)
