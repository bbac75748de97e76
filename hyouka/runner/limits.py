"""Per-provider rate limits (requests/min, tokens/min), calls in flight, and the retry schedule.

Calls in flight adapt to the provider (AIMD, as TCP does and as promptfoo and Inspect AI do for
model APIs): a 429 halves the number of calls allowed in flight, and every run of successes as
long as that number adds one back, up to the configured cap. Halving happens once per
episode: the 429s of calls that were sent before the last cut do not cut again (they were sent
under the old limit), so a burst of 429s from one moment halves once, not down to one.

A 429 can also belong to one request rather than to the provider (a content filter or a
per-prompt quota answering 429 to that prompt every time). Such a request is retried with its
own backoff, as every refused call is; what it must not do is starve the rest. So a refusal
says which request it was (a key equal for all its retries): when a request that was refused
before is refused again while other calls were answered and hardly any other request was
refused for the first time in between (:attr:`Slots.OWN_TOLERANCE`), the refusal is the
request's own. It does not cut, and the cut its first refusal made is undone. An overloaded provider
refuses many different requests, so overload still cuts.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import time
from collections.abc import Hashable
from dataclasses import dataclass


class TokenBucket:
    """A bucket refilled continuously at ``rate_per_min``; capacity one minute's worth.

    ``acquire(n)`` waits until ``n`` units are available. Starting full lets a run begin at
    once; a minute's capacity keeps the long-run rate at the limit.
    """

    def __init__(self, rate_per_min: float, capacity: float | None = None) -> None:
        self.rate = rate_per_min / 60.0
        self.capacity = capacity if capacity is not None else max(1.0, rate_per_min)
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    async def acquire(self, amount: float = 1.0) -> None:
        amount = min(amount, self.capacity)
        async with self._lock:
            while True:
                self._refill()
                if self.level >= amount:
                    self.level -= amount
                    return
                await asyncio.sleep((amount - self.level) / self.rate)

    def debit(self, amount: float) -> None:
        """Take more after the fact (the real token count exceeded the estimate)."""
        self._refill()
        self.level -= amount


@dataclass(frozen=True)
class SlotsReport:
    """How a provider's calls in flight went during a run."""

    ceiling: int  # the cap: the provider's ``concurrency``, else the run's
    lowest: int  # the lowest limit reached after 429s
    final: int  # the limit at the end
    cuts: int  # how many times 429s halved it
    refused: int  # calls the provider refused with a 429
    suggested: int | None  # one below the limit the provider last refused at (None: never)
    adaptive: bool
    request_refusals: int = 0  # 429s told apart as one request's own (they did not cut)
    undone: int = 0  # cuts undone when the refusal that made them turned out to be one request's


@dataclass
class _Refusal:
    """What the limiter remembers of a request it saw refused."""

    answered: int  # answers counted when it was last refused
    fresh: int  # first refusals of any request counted when it was last refused
    cut: bool  # its refusal cut the limit (and the cut was not undone yet)
    limit_before: int  # the limit before that cut


class Slots:
    """Calls in flight, at most ``limit``; with ``adaptive``, the limit follows 429s (AIMD).

    ``acquire()`` returns a ticket (the episode the call was sent in) to hand back to
    :meth:`rate_limited`, so that only a call sent under the current limit can cut it.
    ``release()`` and the limit's changes are synchronous (nothing to cancel half-way), and a
    waiter that is cancelled after being woken passes its turn on, so a cancelled call can
    neither keep a slot nor strand the calls queued behind it.
    """

    def __init__(self, ceiling: int, adaptive: bool = True, floor: int = 1) -> None:
        self.ceiling = max(1, ceiling)
        self.floor = max(1, min(floor, self.ceiling))
        self.adaptive = adaptive
        self.limit = self.ceiling
        self.lowest = self.ceiling
        self.in_flight = 0
        self.cuts = 0
        self.refused = 0
        self.refused_at: int | None = None
        self.request_refusals = 0
        self.undone = 0
        self._episode = 0
        self._successes = 0
        self._answered = 0  # every answer (not reset by a cut)
        self._fresh = 0  # refusals of a request not refused before (or of an unnamed one)
        self._refusals: collections.OrderedDict[Hashable, _Refusal] = collections.OrderedDict()
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> int:
        # A free slot goes to whoever asks (as asyncio.Semaphore does): handing it to the
        # longest waiter instead cost ~7% of wall time in benchmarks/adaptive_limits.py.
        if self.in_flight < self.limit:
            self.in_flight += 1
            return self._episode
        first = True
        while True:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if first:
                self._waiters.append(waiter)
            else:
                self._waiters.appendleft(waiter)  # woken but beaten to it: first in line
            first = False
            try:
                await waiter
            except asyncio.CancelledError:
                self._discard(waiter)
                self._wake()  # a turn it was given, or room it was counted against, moves on
                raise
            self._discard(waiter)
            if self.in_flight < self.limit:
                self.in_flight += 1
                return self._episode

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _discard(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def _wake(self) -> None:
        """Wake as many waiters as there is room for; one already woken (not yet running)
        counts against the room, and each checks the limit again when it runs."""
        room = self.limit - self.in_flight
        for waiter in self._waiters:
            if room <= 0:
                return
            if waiter.cancelled():
                continue  # its task is going away: it takes no slot
            if not waiter.done():
                waiter.set_result(None)
            room -= 1

    MAX_REMEMBERED = 4096  # refused requests remembered (the oldest are forgotten first)
    # A request refused again is refused on its own account when, since its last refusal,
    # other calls were answered and at most OWN_TOLERANCE other requests were refused for
    # the first time (another request refusing on its own account may start meanwhile; an
    # overloaded provider refuses many).
    OWN_TOLERANCE = 1

    def _own(self, seen: _Refusal) -> bool:
        answered = self._answered - seen.answered
        fresh = self._fresh - seen.fresh
        return answered > 0 and fresh <= self.OWN_TOLERANCE

    def rate_limited(self, ticket: int, key: Hashable | None = None) -> None:
        """A call sent in episode ``ticket`` was refused with a 429. ``key`` names the request
        (the same for each of its retries; None: unknown, every refusal counts as overload)."""
        self.refused += 1
        if not self.adaptive:
            return
        seen = self._refusals.get(key) if key is not None else None
        if seen is not None and self._own(seen):
            # Refused again while the others were answered: this request's own refusal.
            # No cut; and the cut its first refusal made is undone.
            self.request_refusals += 1
            seen.answered, seen.fresh = self._answered, self._fresh
            self._refusals.move_to_end(key)
            if seen.cut and seen.limit_before > self.limit:
                self.limit = min(self.ceiling, seen.limit_before)
                self.undone += 1
                self._wake()
            seen.cut = False
            return
        if seen is None:
            self._fresh += 1
        cut_now = ticket == self._episode
        limit_before = self.limit
        if cut_now:
            self._episode += 1
            self._successes = 0
            self.refused_at = self.limit
            cut = max(self.floor, self.limit // 2)
            if cut < self.limit:
                self.limit = cut
                self.cuts += 1
                self.lowest = min(self.lowest, cut)
        if key is not None:
            cut_made = cut_now and self.limit < limit_before
            self._refusals[key] = _Refusal(self._answered, self._fresh, cut_made, limit_before)
            self._refusals.move_to_end(key)
            while len(self._refusals) > self.MAX_REMEMBERED:
                self._refusals.popitem(last=False)

    def succeeded(self) -> None:
        """A call was answered: after ``limit`` answers in a row, allow one more in flight."""
        if not self.adaptive:
            return
        self._answered += 1
        if self.limit >= self.ceiling:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            self._wake()

    def report(self) -> SlotsReport:
        suggested = None if self.refused_at is None else max(1, self.refused_at - 1)
        return SlotsReport(
            self.ceiling,
            self.lowest,
            self.limit,
            self.cuts,
            self.refused,
            suggested,
            self.adaptive,
            self.request_refusals,
            self.undone,
        )


class ProviderLimits:
    """The rate limits and calls in flight of one provider.

    ``concurrency``: the provider's cap on calls in flight (None: only the run's). With
    ``adaptive``, calls in flight start at the cap (else at ``run_concurrency``) and follow the
    provider's 429s; without, a ``concurrency`` cap is fixed and no cap means none.
    """

    def __init__(
        self,
        rpm: float | None,
        tpm: float | None,
        concurrency: int | None,
        *,
        adaptive: bool = False,
        run_concurrency: int | None = None,
    ) -> None:
        self.requests = TokenBucket(rpm) if rpm else None
        self.tokens = TokenBucket(tpm) if tpm else None
        ceiling = concurrency or (run_concurrency if adaptive else None)
        self.slots = Slots(ceiling, adaptive=adaptive and ceiling > 1) if ceiling else None

    async def before(self, estimated_tokens: int) -> None:
        if self.requests is not None:
            await self.requests.acquire(1)
        if self.tokens is not None:
            await self.tokens.acquire(estimated_tokens)

    def after(self, estimated_tokens: int, actual_tokens: int | None) -> None:
        if self.tokens is not None and actual_tokens is not None:
            extra = actual_tokens - estimated_tokens
            if extra > 0:
                self.tokens.debit(extra)


def backoff_delay(
    attempt: int,
    retry_after: float | None,
    base: float = 0.5,
    cap: float = 30.0,
    rng: random.Random | None = None,
) -> float:
    """Exponential backoff with full jitter; a server's Retry-After is honoured as a floor."""
    rng = rng or random.Random()
    delay = rng.uniform(0, min(cap, base * (2 ** (attempt - 1))))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
