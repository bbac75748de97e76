"""Per-provider rate limits (requests/min, tokens/min) and the retry schedule."""

from __future__ import annotations

import asyncio
import random
import time


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


class ProviderLimits:
    """The rate limits and in-flight cap of one provider."""

    def __init__(self, rpm: float | None, tpm: float | None, concurrency: int | None) -> None:
        self.requests = TokenBucket(rpm) if rpm else None
        self.tokens = TokenBucket(tpm) if tpm else None
        self.slots = asyncio.Semaphore(concurrency) if concurrency else None

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
