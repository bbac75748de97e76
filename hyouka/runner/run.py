"""Running variants × cases × samples.

The producer walks the cases in chunks (memory stays flat however big the dataset), skips what
the run already stored (resume) and what the cache already has, and feeds a bounded queue;
``concurrency`` workers call the providers under each provider's rate limits, retry with
backoff, score each sample with the deterministic checks and hand it to the writer thread.

Sample k of a case gets the seed ``derive_seed(run seed, case id, k)``: the same for every
variant (common random numbers make paired comparisons tighter) and the same on every rerun.
The cache key covers the variant version, the case content, the sample index and the seed.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hyouka.config import Project, run_option
from hyouka.datasets import Case, Dataset, load_dataset
from hyouka.errors import ConfigError, HyoukaError, ProviderTimeoutError
from hyouka.hashing import content_hash, derive_seed
from hyouka.providers.base import GenerateRequest, Generation, Provider
from hyouka.providers.calls import (
    SampleKey,
    cached_record,
    call_with_retries,
    failed,
    sample_record,
)
from hyouka.providers.http import HttpTransport
from hyouka.providers.limits import SlotsReport
from hyouka.providers.pool import ProviderPool
from hyouka.runner.heartbeat import Heartbeat
from hyouka.runner.preflight import check_before_run
from hyouka.runner.writer import SampleWriter
from hyouka.scorers.base import Check, SampleView
from hyouka.scorers.engine import CheckSet, compile_checks, score_sample
from hyouka.store.store import RunInfo, SampleRecord, Store
from hyouka.variants import VariantSpec, resolve_variants

if TYPE_CHECKING:
    from hyouka.convo.simulate import Simulator
    from hyouka.scorers.judge_runner import JudgeRunStats

CHUNK = 256
APP_TIMEOUT_FACTOR = 10


@dataclass
class RunOptions:
    variants: list[str] | None = None
    datasets: list[str] | None = None
    samples: int | None = None
    concurrency: int | None = None
    seed: int | None = None
    limit: int | None = None
    use_cache: bool = True
    resume: str | None = "auto"  # "auto": resume an unfinished identical run; a run ref; None
    skip_bad_rows: bool = False
    retry_base_delay: float = 0.5
    store_payloads: bool = True
    transport: HttpTransport | None = None


@dataclass
class Progress:
    total: int = 0
    done: int = 0
    skipped: int = 0  # already stored (resume)
    cached: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    calls: int = 0
    rate_limited: int = 0  # calls a provider refused with a 429 (retried)


@dataclass
class RunResult:
    run: RunInfo
    progress: Progress
    resumed: bool
    bad_rows: list[str] = field(default_factory=list)
    judges: JudgeRunStats | None = None  # when the project has judges
    # per provider: how its calls in flight went (cut by 429s or not)
    limits: dict[str, SlotsReport] = field(default_factory=dict)


@dataclass(frozen=True)
class _Work:
    variant: VariantSpec
    variant_id: int
    dataset: str
    case: Case
    case_id: int
    index: int
    seed: int
    cache_key: str


@dataclass
class _Plan:
    project: Project
    variants: list[tuple[VariantSpec, int]]
    datasets: list[tuple[Dataset, int, dict[str, int]]]
    checks: CheckSet
    samples: int
    seed: int
    fingerprint: str
    bad_rows: list[str]
    # simulated datasets (hyouka/convo/simulate.py): name -> simulator version
    simulated: dict[str, str] = field(default_factory=dict)


def load_datasets(
    project: Project, names: Sequence[str] | None, skip_bad: bool, checks: CheckSet | None = None
) -> tuple[list[Dataset], list[str]]:
    configured = project.config.datasets
    if not configured:
        raise ConfigError("the project has no datasets", project.locate("datasets"), "datasets")
    chosen = list(names) if names else list(configured)
    unknown = [n for n in chosen if n not in configured]
    if unknown:
        raise ConfigError(
            f"unknown dataset(s): {', '.join(unknown)}; known: {', '.join(configured)}"
        )
    out: list[Dataset] = []
    bad: list[str] = []
    for name in chosen:
        dataset = load_dataset(name, project.resolve(configured[name].path))
        _validate_case_checks(dataset, checks)
        if dataset.problems and not skip_bad:
            dataset.raise_for_problems()
        bad.extend(str(p) for p in dataset.problems)
        out.append(dataset)
    return out, bad


def _validate_case_checks(dataset: Dataset, checks: CheckSet | None) -> None:
    from hyouka.datasets import RowProblem
    from hyouka.errors import Location
    from hyouka.scorers.engine import validate_case_checks

    good = []
    for i, case in enumerate(dataset.cases):
        problem = validate_case_checks(case.checks, checks) if case.checks else None
        if problem:
            dataset.problems.append(
                RowProblem(
                    Location(str(dataset.path), 0), f"case '{case.id}' (#{i + 1}): {problem}"
                )
            )
        else:
            good.append(case)
    dataset.cases = good


def plan_run(project: Project, store: Store, options: RunOptions) -> _Plan:
    cfg = project.config
    variants = resolve_variants(project, options.variants)
    if not variants:
        raise ConfigError("the project has no variants", project.locate("variants"), "variants")
    checks = compile_checks(project)
    datasets, bad = load_datasets(project, options.datasets, options.skip_bad_rows, checks)
    if options.limit is not None:
        for ds in datasets:
            ds.cases = ds.cases[: options.limit]
    bad.extend(check_before_run(project, variants, datasets, options.skip_bad_rows))
    samples = run_option(options.samples, "samples", cfg.samples)
    seed = cfg.seed if options.seed is None else options.seed
    stored_variants = [
        (
            v,
            store.save_variant(
                cfg.name,
                v.name,
                v.version,
                v.kind,
                v.identity,
                v.provider_type,
                v.model,
                v.family,
            ),
        )
        for v in variants
    ]
    stored_datasets = []
    for ds in datasets:
        ds_id, case_ids = store.save_dataset(cfg.name, ds)
        stored_datasets.append((ds, ds_id, case_ids))
    simulated = _simulated(project, [ds.name for ds in datasets])
    identity: dict[str, Any] = {
        "project": cfg.name,
        "variants": sorted(v.version for v, _ in stored_variants),
        "datasets": sorted(ds.version for ds, _, _ in stored_datasets),
        "samples": samples,
        "seed": seed,
    }
    if simulated:
        identity["simulated"] = simulated
    fingerprint = content_hash(identity, 32)
    return _Plan(
        project, stored_variants, stored_datasets, checks, samples, seed, fingerprint, bad,
        simulated,
    )  # fmt: skip


def _simulated(project: Project, names: Sequence[str]) -> dict[str, str]:
    configured = project.config.datasets
    found = {n: configured[n].simulate for n in names}
    if not any(found.values()):
        return {}
    from hyouka.convo.simulate import simulator_version

    return {n: simulator_version(project, sim) for n, sim in found.items() if sim is not None}


def _cache_key(version: str, case: Case, index: int, seed: int) -> str:
    """``content_hash([variant version, case hash, index, seed], 32)``."""
    return content_hash([version, case.hash, index, seed], 32)


def _iter_chunks(plan: _Plan) -> Iterator[list[_Work]]:
    # A variant's version hashes its identity: once per run, not once per sample.
    versions = {vid: variant.version for variant, vid in plan.variants}
    for ds, _ds_id, case_ids in plan.datasets:
        sim = plan.simulated.get(ds.name)
        if sim is not None:  # a simulated dialogue also depends on the simulated user
            versions = {vid: f"{variant.version}+sim:{sim}" for variant, vid in plan.variants}
        else:
            versions = {vid: variant.version for variant, vid in plan.variants}
        for start in range(0, len(ds.cases), CHUNK):
            chunk: list[_Work] = []
            for case in ds.cases[start : start + CHUNK]:
                for k in range(plan.samples):
                    seed = derive_seed(plan.seed, case.id, k)
                    for variant, vid in plan.variants:
                        chunk.append(
                            _Work(
                                variant,
                                vid,
                                ds.name,
                                case,
                                case_ids[case.id],
                                k,
                                seed,
                                _cache_key(versions[vid], case, k, seed),
                            )
                        )
            yield chunk


class Runner:
    """Executes one run: see the module docstring."""

    def __init__(
        self,
        project: Project,
        store: Store,
        options: RunOptions,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.project = project
        self.store = store
        self.options = options
        self.on_progress = on_progress
        self.progress = Progress()
        # The variants' providers, shared with the run's judges (run_judges).
        self.pool = ProviderPool(
            project, concurrency=self._concurrency, transport=options.transport
        )
        self.app_providers: dict[str, Provider] = {}
        self.simulators: dict[str, Simulator] = {}
        self._rng = random.Random()

    @property
    def _concurrency(self) -> int:
        return run_option(self.options.concurrency, "concurrency", self.project.config.concurrency)

    # -- set-up -----------------------------------------------------------------------------

    def _build_providers(self, plan: _Plan) -> None:
        """Every provider the variants use, before the first call (a bad one fails fast)."""
        for name in sorted({v.provider for v, _ in plan.variants if v.provider}):
            self.pool.get(name)
        from hyouka.providers.python_app import PythonAppProvider, import_app

        for variant, _ in plan.variants:
            if variant.app:
                llm = self.pool.get(variant.provider) if variant.provider else None
                func = import_app(variant.app, self.project.root)
                self.app_providers[variant.name] = PythonAppProvider(
                    variant.name, func, llm=llm, model=variant.model
                )
        if plan.simulated:
            from hyouka.convo.simulate import Simulator

            for name in plan.simulated:
                sim = self.project.config.datasets[name].simulate
                assert sim is not None
                self.simulators[name] = Simulator(self.project, sim, self.pool.get(sim.provider))

    def _select_run(self, plan: _Plan) -> tuple[RunInfo, bool]:
        cfg = self.project.config
        resume = self.options.resume
        if resume == "unfinished":  # `hyouka run --resume` without a run id
            latest = self.store.latest_unfinished_run(cfg.name)
            if latest is None:
                raise HyoukaError("there is no unfinished run to resume (see: hyouka runs)")
            resume = latest.uid
        if resume and resume != "auto":
            run = self.store.get_run(resume, cfg.name)
            if run.fingerprint != plan.fingerprint:
                raise HyoukaError(
                    f"run {run.uid} was made with other variants, datasets, samples or seed; "
                    "it cannot be resumed with this configuration"
                )
            return run, True
        if resume == "auto":
            found = self.store.latest_unfinished_run(cfg.name, plan.fingerprint)
            if found is not None:
                return found, True
        config_snapshot = {
            "config": cfg.model_dump(mode="json"),
            "variants": {v.name: {"version": v.version, **v.identity} for v, _ in plan.variants},
            "datasets": {ds.name: ds.version for ds, _, _ in plan.datasets},
        }
        run = self.store.create_run(
            cfg.name,
            seed=plan.seed,
            n_samples=plan.samples,
            fingerprint=plan.fingerprint,
            config=config_snapshot,
            variant_ids=[vid for _, vid in plan.variants],
            dataset_ids=[ds_id for _, ds_id, _ in plan.datasets],
        )
        return run, False

    # -- execution --------------------------------------------------------------------------

    async def execute(self) -> RunResult:
        plan = plan_run(self.project, self.store, self.options)
        try:  # providers first: a missing API key or extra stops here and stores no run
            self._build_providers(plan)
            run, resumed = self._select_run(plan)
        except BaseException:
            await self.pool.aclose()
            raise
        if resumed:
            self.store.set_run_status(run.id, "running")
        self.progress.total = (
            sum(len(ds.cases) for ds, _, _ in plan.datasets) * plan.samples * len(plan.variants)
        )
        writer = SampleWriter(self.store)
        status = "failed"
        judges = None
        try:
            with Heartbeat(self.store, run.id):
                await self._run_all(plan, run, writer)
                judges = await self._run_judges(plan, run, writer)
            status = "finished"
        except (asyncio.CancelledError, KeyboardInterrupt):
            status = "interrupted"
            raise
        finally:
            await self.pool.aclose()
            writer.close()
            self.store.set_run_status(run.id, status)
            self._notify()
        return RunResult(
            self.store.get_run(run.uid), self.progress, resumed, plan.bad_rows, judges,
            self.pool.reports(),
        )  # fmt: skip

    async def _run_judges(
        self, plan: _Plan, run: RunInfo, writer: SampleWriter
    ) -> JudgeRunStats | None:
        """Judges configured in ``checks:`` grade the stored samples (scorers/scoring.py)."""
        if not plan.checks.has_judges(c for ds, _, _ in plan.datasets for c in ds.cases):
            return None
        # Imported only when there are judges: a run without them never loads the judging
        # machinery (worker processes, report queries).
        from hyouka.scorers.scoring import run_judges

        writer.close()  # the judges read the app samples back from the store
        return await run_judges(
            self.project, self.store, run, checkset=plan.checks,
            concurrency=self.options.concurrency, retry_base_delay=self.options.retry_base_delay,
            pool=self.pool,
        )  # fmt: skip

    def _notify(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress)

    async def _run_all(self, plan: _Plan, run: RunInfo, writer: SampleWriter) -> None:
        concurrency = self._concurrency
        queue: asyncio.Queue[_Work | None] = asyncio.Queue(maxsize=concurrency * 2)
        workers = [
            asyncio.create_task(self._worker(queue, plan, run, writer)) for _ in range(concurrency)
        ]
        try:
            for chunk in _iter_chunks(plan):
                # The look-ups run in a thread so the workers keep the calls flowing meanwhile.
                stored, cached = await asyncio.to_thread(self._lookup, chunk, run)
                for work in self._filter_chunk(chunk, plan, run, writer, stored, cached):
                    await queue.put(work)
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    def _lookup(
        self, chunk: list[_Work], run: RunInfo
    ) -> tuple[set[tuple[int, int, int, str]], dict[str, dict[str, Any]]]:
        """What of this chunk the run already stored (resume) and what the cache holds."""
        stored = self.store.stored_keys(run.id, sorted({w.case_id for w in chunk}))
        cached = self.store.cached([w.cache_key for w in chunk]) if self.options.use_cache else {}
        return stored, cached

    def _filter_chunk(
        self,
        chunk: list[_Work],
        plan: _Plan,
        run: RunInfo,
        writer: SampleWriter,
        stored: set[tuple[int, int, int, str]],
        cached: dict[str, dict[str, Any]],
    ) -> Iterator[_Work]:
        for work in chunk:
            if (work.variant_id, work.case_id, work.index, "") in stored:
                self.progress.skipped += 1
                self.progress.done += 1
                continue
            hit = cached.get(work.cache_key)
            if hit is not None:
                writer.put(self._cached_record(work, run, plan, hit))
                self.progress.cached += 1
                self.progress.done += 1
                continue
            yield work
        self._notify()

    async def _worker(
        self,
        queue: asyncio.Queue[_Work | None],
        plan: _Plan,
        run: RunInfo,
        writer: SampleWriter,
    ) -> None:
        while True:
            work = await queue.get()
            if work is None:
                return
            record = await self._sample(work, plan, run)
            writer.put(record)
            self.progress.done += 1
            if self.progress.done % 16 == 0:
                self._notify()

    def _request(
        self, work: _Work, history: list[dict[str, Any]] | None = None, seed: int | None = None
    ) -> GenerateRequest:
        case = work.case.content()
        if history is not None:
            case = {**case, "messages": history}
        return GenerateRequest(
            messages=work.variant.render(work.case, history),
            model=work.variant.model,
            params=work.variant.params,
            seed=work.seed if seed is None else seed,
            timeout=self.pool.policy(work.variant.provider).timeout,
            case=case,
            sample_index=work.index,
            tools=work.variant.tools_for(work.case),
        )

    async def _call(self, work: _Work, request: GenerateRequest) -> Generation:
        simulator = self.simulators.get(work.dataset)
        if simulator is None:
            return await self._call_once(work, request)

        async def answer(history: list[dict[str, Any]], seed: int) -> Generation:
            return await self._call_once(work, self._request(work, history, seed))

        return await simulator.run(work.case, work.seed, work.index, answer)

    async def _call_once(self, work: _Work, request: GenerateRequest) -> Generation:
        variant = work.variant
        app = self.app_providers.get(variant.name)
        if app is None:
            return await self.pool.get(variant.provider or "").generate(request)
        # An app's own model calls are governed (limits, per-call timeout); the app as a
        # whole gets APP_TIMEOUT_FACTOR × that timeout, since it may call the model often.
        limit = request.timeout * (APP_TIMEOUT_FACTOR if variant.provider else 1)
        try:
            async with asyncio.timeout(limit):
                return await app.generate(request)
        except TimeoutError:
            raise ProviderTimeoutError(
                f"the app did not finish within {limit:g} s", retryable=True
            ) from None

    async def _sample(self, work: _Work, plan: _Plan, run: RunInfo) -> SampleRecord:
        try:
            # a simulated dialogue starts from the case's turns, or from none
            simulated = work.dataset in self.simulators
            request = self._request(work, list(work.case.messages or ()) if simulated else None)
        except HyoukaError as exc:
            outcome = failed("error", str(exc))
        else:
            outcome = await call_with_retries(
                lambda: self._call(work, request),
                self.pool.policy(work.variant.provider).max_retries,
                base_delay=self.options.retry_base_delay,
                rng=self._rng,
            )
        p = self.progress
        p.calls += outcome.attempts
        p.rate_limited += outcome.rate_limited
        gen = outcome.generation
        if gen is None:
            p.errors += 1
            return sample_record(self._key(work, run), outcome)
        p.input_tokens += gen.input_tokens or 0
        p.output_tokens += gen.output_tokens or 0
        p.cost += gen.cost or 0.0
        record = sample_record(
            self._key(work, run), outcome, keep_payloads=self.options.store_payloads
        )
        record.scores = self._scores(work, plan, record.row, record.conversation)
        return record

    def _key(self, work: _Work, run: RunInfo) -> SampleKey:
        return SampleKey(
            run.id, work.variant_id, work.case_id, work.index, work.seed, work.cache_key
        )

    def _scores(
        self,
        work: _Work,
        plan: _Plan,
        row: dict[str, Any],
        conversation: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        checks: list[Check] = plan.checks.for_case(work.dataset, work.case.checks)
        if not checks:
            return []
        conv = conversation or {}
        view = SampleView(
            output=row["output"] or "",
            case=work.case,
            status=row["status"],
            latency_ms=row["latency_ms"],
            cost=row["cost"],
            input_tokens=row["input_tokens"],
            output_tokens=row["output_tokens"],
            contexts=row["contexts"],
            variant=work.variant.name,
            tool_calls=conv.get("tool_calls"),
            trajectory=conv.get("trajectory"),
            conversation=conv if conv.get("stop_reason") else None,
        )
        return score_sample(checks, view)

    def _cached_record(
        self, work: _Work, run: RunInfo, plan: _Plan, hit: dict[str, Any]
    ) -> SampleRecord:
        record = cached_record(self._key(work, run), hit)
        record.scores = self._scores(work, plan, record.row, record.conversation)
        return record
