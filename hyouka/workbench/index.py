"""A run's filter index: what every grid filter needs, computed in one pass and kept.

Filtering 2,000 cases × 5 variants × 5 samples by SQL costs one aggregate over 150,000
score rows per filter (0.2-0.7 s on SQLite); the index reads the run once (about a second)
and then answers every filter, order and search from memory in milliseconds. The run page
starts building it in the background on first view (its first page needs only the case ids),
so that it is ready by the time a filter is chosen.

It is rebuilt when the run's status changes, every ``FRESH_RUNNING`` seconds while the run
is running, and after ``FRESH_FINISHED`` seconds otherwise (a rescore adds score rows).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from hyouka.store.schema import cases, samples, scores
from hyouka.store.store import RunInfo, Store
from hyouka.store.tx import reading
from hyouka.summary import ErrorCause, error_causes
from hyouka.workbench import queries as Q

FRESH_RUNNING = 10.0
FRESH_FINISHED = 300.0
MAX_RUNS = 8  # indexes kept at once (the most recently used)


@dataclass
class RunIndex:
    run_id: int
    status: str
    built_at: float
    case_ids: list[int]
    checks: list[str]
    failing: dict[str, set[int]]  # check or metric name → cases failing it (any sample)
    errors: set[int]
    complained: set[int]
    variant_gap: dict[int, float]  # case → largest gap between variants' pass rates
    sample_split: dict[int, float]  # case → checks split across samples (+ output variety)
    text: dict[int, str]  # case → its key, inputs and distinct outputs, casefolded
    causes: list[ErrorCause] = field(default_factory=list)
    seconds: float = 0.0

    def fresh(self, run: RunInfo) -> bool:
        age = time.monotonic() - self.built_at
        limit = FRESH_RUNNING if run.status == "running" else FRESH_FINISHED
        return self.status == run.status and age < limit

    def search(self, text: str) -> set[int]:
        needle = text.casefold()
        return {c for c, hay in self.text.items() if needle in hay}


def build_index(store: Store, run: RunInfo) -> RunIndex:
    start = time.perf_counter()
    run_id = run.id
    app = (samples.c.run_id == run_id) & (samples.c.role == "app")
    outputs: dict[int, set[str]] = defaultdict(set)
    per_variant_outputs: dict[tuple[int, int], set[str]] = defaultdict(set)
    errors: set[int] = set()
    case_set: set[int] = set()
    with reading(store) as conn:
        for case_id, variant_id, status, output in conn.execute(
            select(
                samples.c.case_id, samples.c.variant_id, samples.c.status, samples.c.output
            ).where(app)
        ):
            case_set.add(case_id)
            if status != "ok":
                errors.add(case_id)
                continue
            said = output or ""
            outputs[case_id].add(said)
            per_variant_outputs[(case_id, variant_id)].add(said)
        # the newest row per (sample, check, metric, repeat) counts (a rescore adds rows):
        # kept by score id here rather than sorted by the database (a sort of every row)
        newest: dict[tuple[int, str, str, int], tuple[int, int, int, bool]] = {}
        for score_id, sample_id, case_id, variant_id, check, metric, repeat, passed in conn.execute(
            select(
                scores.c.id,
                scores.c.sample_id,
                samples.c.case_id,
                samples.c.variant_id,
                scores.c.check_name,
                scores.c.metric,
                scores.c.repeat,
                scores.c.passed,
            )
            .join(samples, samples.c.id == scores.c.sample_id)
            .where(app, scores.c.passed.is_not(None))
        ):
            key = (sample_id, check, metric, repeat)
            kept = newest.get(key)
            if kept is None or kept[0] < score_id:
                newest[key] = (score_id, case_id, variant_id, bool(passed))
        contents = {
            int(i): (str(k), c)
            for i, k, c in conn.execute(
                select(cases.c.id, cases.c.case_key, cases.c.content).where(
                    cases.c.id.in_(select(samples.c.case_id).where(app).distinct())
                )
            )
        }
    failing: dict[str, set[int]] = defaultdict(set)
    verdicts: dict[tuple[int, int, str], list[bool]] = defaultdict(list)
    for (_sid, check, metric, _repeat), (_id, case_id, variant_id, passed) in newest.items():
        if not passed:
            failing[check].add(case_id)
            if metric != check:
                failing[metric].add(case_id)
        verdicts[(case_id, variant_id, check)].append(passed)
    rates: dict[tuple[int, str], list[float]] = defaultdict(list)
    split: dict[int, float] = defaultdict(float)
    for (case_id, _vid, check), values in verdicts.items():
        rates[(case_id, check)].append(sum(values) / len(values))
        if len(set(values)) > 1:
            split[case_id] += 1.0
    for (case_id, _vid), texts in per_variant_outputs.items():
        if len(texts) > 1:
            split[case_id] += 0.01 * min(len(texts), 99)
    gap: dict[int, float] = {}
    for (case_id, _check), means in rates.items():
        if len(means) > 1 and max(means) > min(means):
            gap[case_id] = max(gap.get(case_id, 0.0), max(means) - min(means))
    text: dict[int, str] = {}
    for case_id in case_set:
        case_key, content = contents.get(case_id, ("", {}))
        parts = [case_key, _content_text(content), *outputs.get(case_id, ())]
        text[case_id] = "\n".join(parts).casefold()
    checks = sorted({check for (_s, check, _m, _r) in newest})
    index = RunIndex(
        run_id,
        run.status,
        time.monotonic(),
        sorted(case_set),
        checks,
        dict(failing),
        errors,
        Q.complained_case_ids(store, run_id),
        gap,
        dict(split),
        text,
        error_causes(store, run_id),
    )
    index.seconds = time.perf_counter() - start
    return index


def _content_text(content: object) -> str:
    if isinstance(content, dict):
        return "\n".join(_content_text(v) for k, v in content.items() if k != "id")
    if isinstance(content, list):
        return "\n".join(_content_text(v) for v in content)
    return "" if content is None else str(content)


class IndexCache:
    """Run indexes, built once per run (in the background when asked to warm one)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._found: dict[int, RunIndex] = {}
        self._building: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def ready(self, run: RunInfo) -> RunIndex | None:
        """The run's index if it is built and fresh (never waits)."""
        with self._lock:
            found = self._found.get(run.id)
        return found if found is not None and found.fresh(run) else None

    def warm(self, run: RunInfo) -> None:
        """Start building the run's index in a background thread (if not built or building)."""
        if self.ready(run) is not None:
            return
        with self._lock:
            if run.id in self._building:
                return
            self._building[run.id] = threading.Event()
        threading.Thread(target=self._build, args=(run,), daemon=True).start()

    def get(self, run: RunInfo) -> RunIndex:
        """The run's index, waiting for (or doing) its build."""
        found = self.ready(run)
        if found is not None:
            return found
        with self._lock:
            event = self._building.get(run.id)
            if event is None:
                event = self._building[run.id] = threading.Event()
                mine = True
            else:
                mine = False
        if mine:
            return self._build(run, event)
        event.wait(120)
        return self.ready(run) or self._build(run)

    def _build(self, run: RunInfo, event: threading.Event | None = None) -> RunIndex:
        try:
            index = build_index(self.store, run)
            with self._lock:
                self._found[run.id] = index
                while len(self._found) > MAX_RUNS:
                    oldest = min(self._found.values(), key=lambda i: i.built_at)
                    del self._found[oldest.run_id]
            return index
        finally:
            with self._lock:
                done = self._building.pop(run.id, None)
            for e in {event, done} - {None}:
                assert e is not None
                e.set()
