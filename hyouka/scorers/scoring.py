"""(Re)scoring stored samples without regenerating them: ``hyouka score`` and the Python API.

Deterministic checks are computed for every (sample, check) whose score row — keyed by the
check's name, version, parameter hash, metric and repeat — is missing, so rescoring with
changed parameters adds rows and never overwrites. The fast path reads the run in a few batched
queries, scores in worker processes (fork) when there is enough work, and writes rows with one
executemany per chunk; ``benchmarks/scoring_speed.py`` measures it. Judges then run through
:mod:`hyouka.scorers.judge_runner` (concurrency, retries, cache).

>>> report = score_run(ws.project, ws.store, "latest", checks=["char-f1"])  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from hyouka.config import Project
from hyouka.providers.http import HttpTransport
from hyouka.providers.pool import ProviderPool
from hyouka.scorers.base import Check
from hyouka.scorers.engine import CheckSet, compile_checks, run_check
from hyouka.scorers.judge_report import JudgeSummary, judge_report
from hyouka.scorers.judge_runner import JudgeRunner, JudgeRunStats
from hyouka.scorers.queries import sample_rows, scored_sample_ids
from hyouka.scorers.run_samples import RunData, load_run, make_view
from hyouka.store.score_batches import CheckColumns, ScoreBatchWriter
from hyouka.store.store import RunInfo, Store

CHUNK = 4096  # sample ids per read/check/write chunk
PARALLEL_MIN = 20_000  # check evaluations below which worker processes cost more than they save


@dataclass
class ScoreReport:
    """What a scoring pass did."""

    run: RunInfo
    samples: int = 0
    written: int = 0  # deterministic score rows added
    existing: int = 0  # deterministic (sample, check) pairs already scored
    per_check: dict[str, int] = field(default_factory=dict)  # rows added per check
    judge_stats: JudgeRunStats | None = None
    judges: list[JudgeSummary] = field(default_factory=list)
    elapsed_s: float = 0.0
    workers: int = 1

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        js = self.judge_stats
        return {
            "run": self.run.uid, "samples": self.samples, "written": self.written,
            "existing": self.existing, "per_check": dict(self.per_check),
            "elapsed_s": round(self.elapsed_s, 3), "workers": self.workers,
            "judge_calls": js.calls if js else 0, "judge_cached": js.cached if js else 0,
            "judges": [j.as_dict() for j in self.judges],
        }  # fmt: skip


# -- which checks apply ------------------------------------------------------------------------


def selected(check: Check, types: Sequence[str] | None) -> bool:
    """Whether ``--check`` names this check (by type, full name or metric)."""
    if not types:
        return True
    spec = check.spec
    return bool({spec.type, spec.full_name, spec.metric_name} & set(types))


def _case_checks(
    data: RunData, checkset: CheckSet, types: Sequence[str] | None
) -> tuple[list[Check], dict[int, tuple[int, ...]]]:
    """The distinct deterministic checks, and which of them apply to each case."""
    index: dict[int, int] = {}
    ordered: list[Check] = []
    per_case: dict[int, tuple[int, ...]] = {}
    for case_id, case in data.cases.items():
        found: list[int] = []
        for ds in data.case_datasets.get(case_id) or ("",):
            for check in checkset.for_case(ds, case.checks):
                if check.is_async or not selected(check, types):
                    continue
                if id(check) not in index:
                    index[id(check)] = len(ordered)
                    ordered.append(check)
                if index[id(check)] not in found:
                    found.append(index[id(check)])
        per_case[case_id] = tuple(found)
    return ordered, per_case


def _scored(store: Store, run_id: int, check: Check) -> set[int]:
    """Ids of the run's samples that already have this check's row (repeat 0)."""
    spec = check.spec
    return scored_sample_ids(store, run_id, spec.full_name, check.meta.version,
                             check.params_hash, spec.metric_name)  # fmt: skip


# -- computing (in worker processes when large) ------------------------------------------------


@dataclass
class _Job:
    data: RunData
    checks: list[Check]
    per_case: dict[int, tuple[int, ...]]  # case id -> indices of the checks that apply
    done: list[set[int]]  # per check: ids of samples that already have its row
    writer: ScoreBatchWriter
    # Worker processes take turns to write to SQLite: its own busy handler would make the
    # loser sleep for up to 100 ms per try (measured: two writers were slower than one).
    lock: Any = None


_JOB: _Job | None = None  # set before forking: workers inherit it instead of unpickling it


def _forked() -> None:
    # A forked worker must not use the connections pooled by its parent: drop them unclosed.
    assert _JOB is not None
    _JOB.data.store.engine.dispose(close=False)


def _work(bounds: tuple[int, int]) -> tuple[int, int, list[int]]:
    """Read, check and write the samples with ids in ``bounds``: (written, existing, counts)."""
    job = _JOB
    assert job is not None
    data, checks, per_case, done = job.data, job.checks, job.per_case, job.done
    results: list[tuple[Any, ...]] = []
    append = results.append
    existing = 0
    for row in sample_rows(data.store, data.run.id, *bounds):
        view = None
        for ci in per_case.get(row[2], ()):
            if row[0] in done[ci]:
                existing += 1
                continue
            if view is None:
                view = make_view(row, data.cases, data.names)
            r = run_check(checks[ci], view)
            append((row[0], ci, r.value, r.passed, r.status, r.reason))
    counts = [0] * len(checks)
    for found in results:
        counts[found[1]] += 1
    if job.lock is None:
        return job.writer.write(results), existing, counts
    with job.lock:
        return job.writer.write(results), existing, counts


def _can_fork() -> bool:
    # Forking a process that runs other threads (a web server, a test's fake server) can
    # deadlock the child; then the work stays in this process.
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _outcomes(
    job: _Job, bounds: list[tuple[int, int]], workers: int
) -> Iterator[tuple[int, int, list[int]]]:
    global _JOB
    _JOB = job
    try:
        if workers > 1 and len(bounds) > 1 and _can_fork():
            ctx = multiprocessing.get_context("fork")
            if job.writer.raw:
                job.lock = ctx.Lock()
            with ctx.Pool(min(workers, len(bounds)), initializer=_forked) as pool:
                yield from pool.imap_unordered(_work, bounds)
        else:
            for b in bounds:
                yield _work(b)
    finally:
        _JOB = None


# -- writing ---------------------------------------------------------------------------------


def _writer(store: Store, checks: list[Check]) -> ScoreBatchWriter:
    """The store's batched writer for these checks' rows."""
    return ScoreBatchWriter(
        store,
        [
            CheckColumns(c.spec.full_name, c.meta.version, c.params_hash, c.params,
                         c.spec.metric_name, c.spec.weight)
            for c in checks
        ],
    )  # fmt: skip


# -- the passes ------------------------------------------------------------------------------


def score_deterministic(
    store: Store,
    data: RunData,
    checkset: CheckSet,
    report: ScoreReport,
    types: Sequence[str] | None = None,
    workers: int | None = None,
) -> None:
    """Add the missing deterministic score rows of the run's samples (see module docstring)."""
    checks, per_case = _case_checks(data, checkset, types)
    if not checks:
        return
    n, low, high = data.id_span()
    done = [_scored(store, data.run.id, c) for c in checks]
    job = _Job(data, checks, per_case, done, _writer(store, checks))
    bounds = [(start, min(high, start + CHUNK - 1)) for start in range(low, high + 1, CHUNK)]
    wanted = workers or os.cpu_count() or 1
    report.workers = wanted if n * len(checks) >= PARALLEL_MIN and len(bounds) > 1 else 1
    counts = [0] * len(checks)
    for written, existing, found in _outcomes(job, bounds, report.workers):
        report.written += written
        report.existing += existing
        counts = [x + y for x, y in zip(counts, found, strict=True)]
    for check, count in zip(checks, counts, strict=True):
        if count:
            name = check.spec.metric_name
            report.per_check[name] = report.per_check.get(name, 0) + count


async def run_judges(
    project: Project,
    store: Store,
    run: RunInfo,
    *,
    data: RunData | None = None,
    checkset: CheckSet | None = None,
    types: Sequence[str] | None = None,
    concurrency: int | None = None,
    transport: HttpTransport | None = None,
    retry_base_delay: float = 0.5,
    pool: ProviderPool | None = None,
) -> JudgeRunStats:
    """Run the project's judges over the run's stored samples (called by ``hyouka run`` too).

    ``pool``: the providers to call through (``hyouka run`` passes its own, so a provider used
    by variants and judges keeps its connections and what it learned about 429s; the run
    closes it); without one, the judges build their own and close them."""
    runner = JudgeRunner(
        project, store, data or load_run(store, run), checkset or compile_checks(project),
        types=types, concurrency=concurrency, transport=transport,
        retry_base_delay=retry_base_delay, pool=pool,
    )  # fmt: skip
    return await runner.run()


async def ascore_run(
    project: Project,
    store: Store,
    run_ref: str = "latest",
    *,
    checks: Sequence[str] | None = None,
    concurrency: int | None = None,
    judges: bool = True,
    workers: int | None = None,
    transport: HttpTransport | None = None,
    retry_base_delay: float = 0.5,
) -> ScoreReport:
    """Score a stored run: missing deterministic rows, then judges (see :func:`score_run`)."""
    started = time.perf_counter()
    run = store.get_run(run_ref, project.config.name)
    data = load_run(store, run)
    checkset = compile_checks(project)
    report = ScoreReport(run, samples=data.id_span()[0])
    score_deterministic(store, data, checkset, report, checks, workers)
    if judges:
        report.judge_stats = await run_judges(
            project, store, run, data=data, checkset=checkset, types=checks,
            concurrency=concurrency, transport=transport, retry_base_delay=retry_base_delay,
        )  # fmt: skip
        report.judges = judge_report(store, run.id)
    report.elapsed_s = time.perf_counter() - started
    return report


def score_run(
    project: Project, store: Store, run_ref: str = "latest", **options: Any
) -> ScoreReport:
    """(Re)score run ``run_ref`` of the project's ``store`` (see :func:`ascore_run`).

    ``checks``: only these check types / metric names; ``concurrency``: judge calls in flight;
    ``judges=False``: deterministic checks only; ``workers``: processes for deterministic
    checks (default: the CPU count, used only for large runs).
    """
    return asyncio.run(ascore_run(project, store, run_ref, **options))


__all__ = [
    "ScoreReport",
    "ascore_run",
    "judge_report",
    "run_judges",
    "score_deterministic",
    "score_run",
]
