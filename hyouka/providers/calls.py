"""One model call as the runner and the judges make it: retries, then the sample row.

:func:`call_with_retries` tries a call again while it fails with a retryable
:class:`~hyouka.errors.ProviderError` (a 429, a 5xx, a timeout, a dropped connection) and
retries remain, sleeping :func:`~hyouka.providers.limits.backoff_delay` between tries (a
server's Retry-After is a floor). Any other :class:`~hyouka.errors.HyoukaError` (a template
that does not render, a missing extra) ends the call at once. Providers never retry by
themselves, so every provider behaves the same under load.

:func:`sample_record` builds the stored row of a call (role ``app`` for a variant's answer,
``judge`` for a judge's) from its :class:`SampleKey` and how it ended: answered, failed, or
served from a stored answer with the same cache key.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hyouka.errors import HyoukaError, ProviderError, RateLimitedError
from hyouka.providers.base import Generation
from hyouka.providers.limits import backoff_delay
from hyouka.store.store import CONVERSATION_FIELDS, SampleRecord


@dataclass(slots=True)
class CallOutcome:
    """How a call ended: a generation, or the status and message of the last failure."""

    generation: Generation | None
    status: str  # "ok", or the failure's status: "error", "timeout", "rate_limited", …
    error: str | None
    attempts: int  # calls made, retries included (0: not called)
    rate_limited: int = 0  # of them, refused with a 429
    exception: HyoukaError | None = None  # the last failure, for callers that raise it

    @property
    def ok(self) -> bool:
        return self.generation is not None


def failed(status: str, message: str, attempts: int = 0) -> CallOutcome:
    return CallOutcome(None, status, message, attempts)


async def call_with_retries(
    call: Callable[[], Awaitable[Generation]],
    max_retries: int,
    *,
    base_delay: float = 0.5,
    rng: random.Random | None = None,
) -> CallOutcome:
    """Call until answered, failed for good, or out of retries (see the module docstring)."""
    attempt = refused = 0
    while True:
        attempt += 1
        try:
            generation = await call()
        except ProviderError as exc:
            refused += isinstance(exc, RateLimitedError)
            if exc.retryable and attempt <= max_retries:
                await asyncio.sleep(backoff_delay(attempt, exc.retry_after, base_delay, rng=rng))
                continue
            return CallOutcome(None, exc.status, str(exc), attempt, refused, exc)
        except HyoukaError as exc:
            return CallOutcome(None, "error", str(exc), attempt, refused, exc)
        return CallOutcome(generation, "ok", None, attempt, refused)


@dataclass(slots=True)
class SampleKey:
    """Where a call's sample belongs: its run, variant (or judge), case, index and target."""

    run_id: int
    variant_id: int
    case_id: int
    sample_index: int
    seed: int | None
    cache_key: str
    target: str = ""  # "" for an app sample; what a judge judged (s:<id>, p:<a>:<b>:<ab|ba>)
    role: str = "app"  # app | judge

    def row(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "variant_id": self.variant_id, "case_id": self.case_id,
            "sample_index": self.sample_index, "target": self.target, "role": self.role,
            "seed": self.seed, "cache_key": self.cache_key,
        }  # fmt: skip


def sample_record(
    key: SampleKey,
    outcome: CallOutcome,
    *,
    keep_payloads: bool = True,
    scores: Sequence[dict[str, Any]] = (),
) -> SampleRecord:
    """The row of a call that was made: its output and usage, or its failure."""
    gen = outcome.generation
    if gen is None:
        row = {
            **key.row(), "status": outcome.status, "output": None, "error": outcome.error,
            "latency_ms": None, "input_tokens": None, "output_tokens": None, "cost": None,
            "contexts": None, "cached": False, "attempts": outcome.attempts,
        }  # fmt: skip
        return SampleRecord(row, scores=list(scores))
    row = {
        **key.row(), "status": "ok", "output": gen.text, "error": None,
        "latency_ms": gen.latency_ms, "input_tokens": gen.input_tokens,
        "output_tokens": gen.output_tokens, "cost": gen.cost, "contexts": gen.contexts,
        "cached": False, "attempts": outcome.attempts,
    }  # fmt: skip
    return SampleRecord(
        row,
        request=gen.raw_request if keep_payloads else None,
        response=gen.raw_response if keep_payloads else None,
        scores=list(scores),
        conversation=conversation_row(gen),
    )


def conversation_row(gen: Generation) -> dict[str, Any] | None:
    """A generation's ``sample_conversations`` columns; None when it has no tool call, no
    trajectory and no simulated outcome (single-turn samples store nothing more)."""
    if not gen.tool_calls and gen.trajectory is None and gen.conversation is None:
        return None
    conv = gen.conversation or {}
    return {
        "tool_calls": [c.as_dict() for c in gen.tool_calls] if gen.tool_calls else None,
        "trajectory": gen.trajectory,
        "turns": conv.get("turns"),
        "stop_reason": conv.get("stop_reason"),
        "goal_reached": conv.get("goal_reached"),
        "turns_to_goal": conv.get("turns_to_goal"),
    }


def cached_record(
    key: SampleKey, hit: Mapping[str, Any], scores: Sequence[dict[str, Any]] = ()
) -> SampleRecord:
    """The row of a call answered by a stored sample with the same cache key (no call)."""
    row = {
        **key.row(), "status": "ok", "output": hit["output"], "error": None,
        "latency_ms": hit["latency_ms"], "input_tokens": hit["input_tokens"],
        "output_tokens": hit["output_tokens"], "cost": hit["cost"],
        "contexts": hit.get("contexts"), "cached": True, "attempts": 0,
    }  # fmt: skip
    conversation = {name: hit.get(name) for name in CONVERSATION_FIELDS}
    has_any = any(value is not None for value in conversation.values())
    return SampleRecord(row, scores=list(scores), conversation=conversation if has_any else None)
