"""A provider under its limits: rate limits, calls in flight (adapting to 429s) and a per-call
timeout.

The timeout starts when the call starts, after the wait for a slot: a local model that runs one
call at a time (``max_concurrency = 1``) must not time out calls that are merely queued. App
functions get the governed provider as their LLM, so their model calls obey the same limits.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hyouka.errors import ProviderTimeoutError, RateLimitedError
from hyouka.hashing import content_hash
from hyouka.providers.base import GenerateRequest, Generation, Provider
from hyouka.providers.limits import ProviderLimits


def request_key(request: GenerateRequest) -> str:
    """The same for a request and each of its retries (the limiter tells a request's own 429s
    from a provider's overload by it); computed only when a call is refused."""
    key: list[Any] = [
        request.model,
        [m.as_dict() for m in request.messages],
        request.params,
        request.seed,
    ]
    if request.tools:
        key.append([dict(t) for t in request.tools])
    return content_hash(key)


class GovernedProvider:
    def __init__(self, inner: Provider, limits: ProviderLimits) -> None:
        self.inner = inner
        self.name = inner.name
        self.limits = limits

    async def generate(self, request: GenerateRequest) -> Generation:
        estimate = sum(len(m.content) for m in request.messages) // 3 + int(
            request.params.get("max_tokens", 256)
        )
        await self.limits.before(estimate)
        slots = self.limits.slots
        ticket = await slots.acquire() if slots is not None else 0
        try:
            async with asyncio.timeout(request.timeout):
                gen = await self.inner.generate(request)
        except TimeoutError:
            raise ProviderTimeoutError(
                f"no answer within {request.timeout:g} s", retryable=True
            ) from None
        except RateLimitedError:
            if slots is not None:
                slots.rate_limited(ticket, request_key(request))
            raise
        finally:
            if slots is not None:
                slots.release()
        if slots is not None:
            slots.succeeded()
        total = (gen.input_tokens or 0) + (gen.output_tokens or 0)
        self.limits.after(estimate, total if gen.input_tokens is not None else None)
        return gen

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()
