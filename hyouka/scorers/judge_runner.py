"""Running a run's LLM judges: calls, retries, cache, and what is stored.

For every app sample × judge × repeat (``judge_samples``) whose score row is missing:

1. render the prompt; its cache key is (judge version, prompt, repeat, and the judged
   samples' variant version, case and sample index unless the judge says ``cache: text``);
2. reuse the judge sample this run already stored for that target, or a stored answer with the
   same cache key (any run), or an identical call in flight; otherwise call the judge
   provider from the run's :class:`~hyouka.providers.pool.ProviderPool` (its rate limits)
   through :func:`~hyouka.providers.calls.call_with_retries`, as the runner does;
3. store the call as a sample (role ``judge``, target ``s:<sample id>`` or
   ``p:<a>:<b>:<ab|ba>``, raw output kept even when it cannot be parsed), then the score row on
   the judged sample with ``judge_sample_id``; pairwise verdicts also become ``judgments``.

Pairwise judging runs both orders; when the two verdicts disagree the pair is a tie and is
marked ``flipped`` (position bias).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hyouka.config import Project, run_option
from hyouka.errors import ConfigError, HyoukaError
from hyouka.providers.base import GenerateRequest, Generation
from hyouka.providers.calls import SampleKey, cached_record, call_with_retries, sample_record
from hyouka.providers.http import HttpTransport
from hyouka.providers.pool import ProviderPool
from hyouka.scorers.base import CheckResult
from hyouka.scorers.engine import CheckSet, score_row
from hyouka.scorers.judges import JudgeCheck, PairwiseJudge
from hyouka.scorers.queries import (
    insert_judgments,
    judge_sample_id,
    judge_samples,
    judge_score_keys,
    judgment_keys,
)
from hyouka.scorers.run_samples import RunData, StoredSample
from hyouka.store.store import SampleRecord, Store

FLUSH_EVERY = 32
FLUSH_SECONDS = 1.0


@dataclass
class JudgeRunStats:
    """What one judging pass did (the totals per judge come from the store: judge_report)."""

    calls: int = 0  # provider calls, retries included
    cached: int = 0  # answered from a stored judge sample with the same cache key
    reused: int = 0  # the run already held this judge sample
    scores: int = 0
    judgments: int = 0
    elapsed_s: float = 0.0


@dataclass
class _Unit:
    """One judge call."""

    check: JudgeCheck
    judge_id: int
    case_id: int
    repeat: int
    target: str
    prompt: str
    cache_key: str
    judged: StoredSample | None = None  # the sample judged (the candidate, for pairwise)


@dataclass
class _Answer:
    sample_id: int | None
    status: str
    text: str | None
    error: str | None
    record: SampleRecord | None = None


@dataclass
class _Done:
    """A finished task: judge samples to store, then score/judgment rows pointing at them."""

    answers: list[_Answer]
    score: dict[str, Any]
    judgment: dict[str, Any] | None = None


@dataclass
class _Existing:
    score_keys: set[tuple[Any, ...]] = field(default_factory=set)
    judge_samples: dict[tuple[int, int, int, str], dict[str, Any]] = field(default_factory=dict)
    judgment_keys: set[str] = field(default_factory=set)


def score_key(sample_id: int, row: dict[str, Any]) -> tuple[Any, ...]:
    return (sample_id, row["check_name"], row["check_version"], row["params_hash"], row["metric"],
            row["repeat"])  # fmt: skip


class JudgeRunner:
    """Judges one run; see the module docstring."""

    def __init__(
        self,
        project: Project,
        store: Store,
        data: RunData,
        checks: CheckSet,
        *,
        types: Sequence[str] | None = None,
        concurrency: int | None = None,
        transport: HttpTransport | None = None,
        retry_base_delay: float = 0.5,
        pool: ProviderPool | None = None,
    ) -> None:
        self.project = project
        self.store = store
        self.data = data
        self.checkset = checks
        self.types = set(types or ())
        self.concurrency = run_option(concurrency, "concurrency", project.config.concurrency)
        self.retry_base_delay = retry_base_delay
        self.stats = JudgeRunStats()
        # The run's providers when ``hyouka run`` judges (it closes them), else our own.
        self._owns_pool = pool is None
        self.pool = pool or ProviderPool(project, concurrency=self.concurrency, transport=transport)
        self.judge_ids: dict[int, int] = {}  # id(check) -> judge variant id
        self._inflight: dict[str, asyncio.Future[_Answer]] = {}
        self._cache: dict[str, dict[str, Any]] = {}
        self._rng = random.Random()
        self._slots = asyncio.Semaphore(self.concurrency)
        self._units: list[_Unit] = []  # every call the missing work needs (set by _tasks)
        self._existing = _Existing()  # what the run already stored (set by run)
        # (variant id, case id, sample index) -> app sample, for finding pairwise baselines
        self._pairs_index = {(s.variant_id, s.case_id, s.index): s for s in data.samples}

    # -- set-up -----------------------------------------------------------------------------

    def judges_for(self, sample: StoredSample) -> list[JudgeCheck]:
        found: dict[int, JudgeCheck] = {}
        datasets = self.data.case_datasets.get(sample.case_id) or ("",)
        case = sample.view.case
        for ds in datasets:
            for check in self.checkset.for_case(ds, case.checks):
                if isinstance(check, JudgeCheck) and self._selected(check):
                    found[id(check)] = check
        return list(found.values())

    def _selected(self, check: JudgeCheck) -> bool:
        if not self.types:
            return True
        spec = check.spec
        return bool({spec.type, spec.full_name, spec.metric_name} & self.types)

    def _bind(self, check: JudgeCheck) -> int:
        judge_id = self.judge_ids.get(id(check))
        if judge_id is not None:
            return judge_id
        try:
            check.bind(self.project)
        except ValueError as exc:
            where = f"check '{check.spec.full_name}' ({check.spec.origin})"
            raise ConfigError(f"{where}: {exc}; fix it in hyouka.yaml") from None
        judge_id = self.store.save_variant(
            self.project.config.name, check.variant_name, check.version, "judge", check.identity,
            check.provider_type, check.model,
        )  # fmt: skip
        self.judge_ids[id(check)] = judge_id
        return judge_id

    def _read_existing(self, checks: list[JudgeCheck]) -> _Existing:
        out = _Existing()
        names = sorted({c.spec.full_name for c in checks})
        judge_ids = sorted(set(self.judge_ids.values()))
        run_id = self.data.run.id
        out.score_keys = judge_score_keys(self.store, run_id, names)
        out.judge_samples = judge_samples(self.store, run_id)
        out.judgment_keys = judgment_keys(self.store, judge_ids)
        return out

    # -- run --------------------------------------------------------------------------------

    async def run(self) -> JudgeRunStats:
        started = time.monotonic()
        per_sample = [(s, self.judges_for(s)) for s in self.data.samples]
        checks = {id(c): c for _, found in per_sample for c in found}
        if not checks:
            return self.stats
        for check in checks.values():
            self._bind(check)
        existing = self._existing = self._read_existing(list(checks.values()))
        done: list[_Done] = []
        tasks = self._tasks(per_sample, existing, done)
        self._cache = self.store.cached([u.cache_key for u in self._units])
        running = [asyncio.ensure_future(t()) for t in tasks]
        try:
            pending: list[_Done] = list(done)
            flushed = time.monotonic()
            for next_done in asyncio.as_completed(running):
                pending.append(await next_done)
                # Batches keep SQLite writes few; the clock bounds what a crash can lose.
                if len(pending) >= FLUSH_EVERY or time.monotonic() - flushed > FLUSH_SECONDS:
                    self._flush(pending)
                    pending, flushed = [], time.monotonic()
            self._flush(pending)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await self._close()
        self.stats.elapsed_s = time.monotonic() - started
        return self.stats

    async def _close(self) -> None:
        if self._owns_pool:
            await self.pool.aclose()

    def _tasks(
        self,
        per_sample: list[tuple[StoredSample, list[JudgeCheck]]],
        existing: _Existing,
        done: list[_Done],
    ) -> list[Any]:
        """Coroutine factories for the missing work; immediate results go to ``done``."""
        tasks: list[Any] = []
        for sample, found in per_sample:
            for check in found:
                if isinstance(check, PairwiseJudge):
                    tasks.extend(self._pair_tasks(check, sample, existing, done))
                else:
                    tasks.extend(self._graded_tasks(check, sample, existing, done))
        return tasks

    def _graded_tasks(
        self, check: JudgeCheck, sample: StoredSample, existing: _Existing, done: list[_Done]
    ) -> list[Any]:
        judge_id = self.judge_ids[id(check)]
        view = sample.view
        out = []
        prompt: str | CheckResult | None = None
        for repeat in range(check.samples):
            row = score_row(check, CheckResult(None, None), repeat)
            if score_key(sample.id, row) in existing.score_keys:
                continue
            if view.status != "ok":
                skip = CheckResult(None, None, f"sample has status {view.status}", "skipped")
                done.append(_Done([], {**score_row(check, skip, repeat), "sample_id": sample.id}))
                continue
            if prompt is None:
                prompt = check.prompt(view)
            if isinstance(prompt, CheckResult):
                done.append(_Done([], {**score_row(check, prompt, repeat), "sample_id": sample.id}))
                continue
            unit = _Unit(check, judge_id, sample.case_id, repeat, f"s:{sample.id}", prompt,
                         check.cache_key(prompt, repeat, _owner(sample)), sample)  # fmt: skip
            self._units.append(unit)
            out.append(self._graded_factory(unit, sample.id))
        return out

    def _graded_factory(self, unit: _Unit, sample_id: int) -> Any:
        async def task() -> _Done:
            answer = await self._answer(unit)
            result = _verdict_or_error(unit.check, answer)
            row = {**score_row(unit.check, result, unit.repeat), "sample_id": sample_id}
            return _Done([answer], row)

        return task

    def _baseline(self, check: PairwiseJudge, sample: StoredSample) -> StoredSample | None:
        index = self._pairs_index
        ids = [vid for vid, v in self.data.variants.items() if v["name"] == check.baseline]
        if not ids:
            names = ", ".join(sorted(str(v["name"]) for v in self.data.variants.values()))
            raise HyoukaError(
                f"judge-pairwise: the baseline '{check.baseline}' is not a variant of run "
                f"{self.data.run.uid} (its variants: {names}); fix 'baseline' in hyouka.yaml"
            )
        if sample.variant_id in ids:
            return None
        for vid in ids:
            found = index.get((vid, sample.case_id, sample.index))
            if found is not None:
                return found
        return None

    def _pair_tasks(
        self, check: PairwiseJudge, sample: StoredSample, existing: _Existing, done: list[_Done]
    ) -> list[Any]:
        if self.data.variant_name(sample.variant_id) == check.baseline:
            return []
        base = self._baseline(check, sample)
        judge_id = self.judge_ids[id(check)]
        out = []
        for repeat in range(check.samples):
            row = score_row(check, CheckResult(None, None), repeat)
            key = f"judge:{judge_id}:{sample.id}:{base.id if base else 0}:r{repeat}"
            if score_key(sample.id, row) in existing.score_keys:
                continue
            reason = _pair_skip(sample, base)
            if reason is not None or base is None:
                skip = CheckResult(None, None, reason, "skipped")
                done.append(_Done([], {**score_row(check, skip, repeat), "sample_id": sample.id}))
                continue
            units = []
            for order, first, second in (("ab", sample, base), ("ba", base, sample)):
                prompt = check.pair_prompt(first.view, second.view)
                owner = f"{_owner(first)}|{_owner(second)}"
                units.append(_Unit(check, judge_id, sample.case_id, repeat,
                                   f"p:{sample.id}:{base.id}:{order}", prompt,
                                   check.cache_key(prompt, repeat, owner), sample))  # fmt: skip
            self._units.extend(units)
            out.append(
                self._pair_factory(check, sample, base, units, key, key in existing.judgment_keys)
            )
        return out

    def _pair_factory(
        self,
        check: PairwiseJudge,
        a: StoredSample,
        b: StoredSample,
        units: list[_Unit],
        key: str,
        judged: bool,
    ) -> Any:
        async def task() -> _Done:
            answers = list(await asyncio.gather(*(self._answer(u) for u in units)))
            result, judgment = _pair_outcome(check, answers, units[0].repeat)
            row = {**score_row(check, result, units[0].repeat), "sample_id": a.id}
            if judgment is not None and not judged:
                judgment.update(
                    project=self.project.config.name, source="judge",
                    judge_variant_id=units[0].judge_id, sample_a_id=a.id, sample_b_id=b.id,
                    left_sample_id=a.id, idempotency_key=key,
                )  # fmt: skip
            return _Done(answers, row, None if judged else judgment)

        return task

    # -- one call ---------------------------------------------------------------------------

    async def _answer(self, unit: _Unit) -> _Answer:
        stored = self._existing.judge_samples.get(
            (unit.judge_id, unit.case_id, unit.repeat, unit.target)
        )
        if stored is not None:
            self.stats.reused += 1
            return _Answer(int(stored["id"]), str(stored["status"]), stored["output"],
                           stored["error"])  # fmt: skip
        hit = self._cache.get(unit.cache_key)
        if hit is not None:
            self.stats.cached += 1
            return self._cached_answer(unit, hit)
        inflight = self._inflight.get(unit.cache_key)
        if inflight is not None:
            first = await inflight
            if first.status == "ok" and first.record is not None:
                self.stats.cached += 1
                return self._cached_answer(unit, {**first.record.row, "id": None})
        future: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        self._inflight[unit.cache_key] = future
        try:
            answer = await self._call(unit)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        future.set_result(answer)
        return answer

    def _key(self, unit: _Unit, seed: int | None) -> SampleKey:
        return SampleKey(
            self.data.run.id, unit.judge_id, unit.case_id, unit.repeat, seed, unit.cache_key,
            unit.target, "judge",
        )  # fmt: skip

    def _cached_answer(self, unit: _Unit, hit: dict[str, Any]) -> _Answer:
        seed = unit.check.request(unit.prompt, unit.repeat).seed
        return _Answer(None, "ok", hit["output"], None, cached_record(self._key(unit, seed), hit))

    async def _call(self, unit: _Unit) -> _Answer:
        check = unit.check
        request = _judging(check.request(unit.prompt, unit.repeat), unit)
        outcome = await call_with_retries(
            lambda: self._generate(check.provider_name, request),
            self.pool.policy(check.provider_name).max_retries,
            base_delay=self.retry_base_delay,
            rng=self._rng,
        )
        self.stats.calls += outcome.attempts
        record = sample_record(self._key(unit, request.seed), outcome)
        text = outcome.generation.text if outcome.generation is not None else None
        return _Answer(None, outcome.status, text, outcome.error, record)

    async def _generate(self, name: str, request: GenerateRequest) -> Generation:
        # The judge's provider under its limits (rate, calls in flight adapting to 429s,
        # timeout), within the judging run's own concurrency.
        provider = self.pool.get(name, role="judge provider")
        async with self._slots:
            return await provider.generate(request)

    # -- storing ----------------------------------------------------------------------------

    def _flush(self, done: list[_Done]) -> None:
        if not done:
            return
        new = [a for d in done for a in d.answers if a.sample_id is None and a.record]
        ids = self.store.write_samples([a.record for a in new if a.record is not None])
        for answer, sid in zip(new, ids, strict=True):
            answer.sample_id = sid or self._lookup_id(answer)
        rows = []
        for d in done:
            if d.answers:
                d.score["judge_sample_id"] = d.answers[0].sample_id
            rows.append(d.score)
        self.stats.scores += self.store.write_scores(rows)
        found = [d.judgment for d in done if d.judgment is not None]
        if found:
            self.stats.judgments += insert_judgments(self.store, found)

    def _lookup_id(self, answer: _Answer) -> int:
        """The id of a judge sample another writer stored first (unique key hit)."""
        assert answer.record is not None
        return judge_sample_id(self.store, answer.record.row)


def _judging(request: GenerateRequest, unit: _Unit) -> GenerateRequest:
    """The judge request with what it judges: the case, the sample (its index and id), the
    repeat and the target (see :class:`~hyouka.providers.base.GenerateRequest`)."""
    judged = unit.judged
    if judged is None:
        return dataclasses.replace(request, repeat=unit.repeat, target=unit.target)
    return dataclasses.replace(
        request, case=judged.view.case.content(), sample_index=judged.index,
        sample_id=judged.id, repeat=unit.repeat, target=unit.target,
    )  # fmt: skip


def _verdict_or_error(check: JudgeCheck, answer: _Answer) -> CheckResult:
    if answer.status != "ok":
        return CheckResult(None, None, f"judge call failed ({answer.status}): {answer.error}",
                           "error")  # fmt: skip
    return check.verdict(answer.text or "")


def _pair_skip(sample: StoredSample, base: StoredSample | None) -> str | None:
    if base is None:
        return "the baseline has no sample for this case and sample index"
    if sample.view.status != "ok":
        return f"sample has status {sample.view.status}"
    if base.view.status != "ok":
        return f"the baseline's sample has status {base.view.status}"
    return None


_FIRST = {"A": "a", "B": "b", "C": "tie"}  # order ab: A is the candidate
_SECOND = {"A": "b", "B": "a", "C": "tie"}  # order ba: A is the baseline
_VALUE = {"a": 1.0, "tie": 0.5, "b": 0.0}


def _pair_outcome(
    check: PairwiseJudge, answers: list[_Answer], repeat: int
) -> tuple[CheckResult, dict[str, Any] | None]:
    """The combined verdict of both orders, and the judgment row (None on a failure)."""
    failed = [a for a in answers if a.status != "ok"]
    if failed:
        reason = f"judge call failed ({failed[0].status}): {failed[0].error}"
        return CheckResult(None, None, reason, "error"), None
    first, second = (check.pair_verdict(a.text or "") for a in answers)
    for order, verdict in (("a-b", first), ("b-a", second)):
        if verdict.winner is None:
            reason = f"order {order}: {verdict.reason}"
            return CheckResult(None, None, reason, "parse_error"), None
    assert first.winner is not None and second.winner is not None
    won_ab, won_ba = _FIRST[first.winner], _SECOND[second.winner]
    flipped = won_ab != won_ba
    winner = "tie" if flipped else won_ab
    comment = {
        "verdict_ab": first.winner, "verdict_ba": second.winner, "winner_ab": won_ab,
        "winner_ba": won_ba, "flipped": flipped, "repeat": repeat,
    }  # fmt: skip
    reason = f"a-b: {first.winner} → {won_ab}; b-a: {second.winner} → {won_ba}"
    reason += "; flipped with the order → tie" if flipped else f" → {winner}"
    judgment = {"winner": winner, "comment": json.dumps(comment, ensure_ascii=False),
                "tags": ["flipped"] if flipped else []}  # fmt: skip
    return CheckResult(_VALUE[winner], None, reason), judgment


def _owner(sample: StoredSample) -> str:
    """A judged sample's identity across runs: variant version, case and sample index."""
    return f"{sample.variant_id}:{sample.case_id}:{sample.index}"
