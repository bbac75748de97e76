"""The HTTP path to remote models, and the seam tests inject into.

Providers talk to servers through an :class:`HttpTransport`: one method that posts JSON bytes
and returns status, headers and body. The default, :class:`AiohttpTransport`, keeps one
keep-alive connection pool per provider; it costs ~0.2 ms CPU per call where the official
OpenAI SDK costs ~1.9 ms (shared/bench/RESULTS-peers.md), which matters when hyouka drives a
fast local serving cluster. Tests pass a transport (or a base URL) pointing at the fake server
on 127.0.0.1, so the same code path runs over real HTTP.

Errors are classified here once for every provider: connection problems, 5xx and 429 are
retryable (429 carries ``Retry-After``), a timeout is a :class:`ProviderTimeoutError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import aiohttp
import orjson

from hyouka.errors import (
    ProviderError,
    ProviderResponseError,
    ProviderTimeoutError,
    RateLimitedError,
)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


class HttpTransport(Protocol):
    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> HttpResponse: ...

    async def aclose(self) -> None: ...


class AiohttpTransport:
    """A keep-alive connection pool created on first use (inside the running event loop)."""

    def __init__(self, limit: int = 0) -> None:
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, skip_auto_headers=("User-Agent",)
            )
        return self._session

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> HttpResponse:
        session = self._get_session()
        try:
            async with session.post(
                url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                data = await resp.read()
                return HttpResponse(resp.status, dict(resp.headers), data)
        except TimeoutError:
            raise ProviderTimeoutError(
                f"no answer from {url} within {timeout:g} s", retryable=True
            ) from None
        except aiohttp.ClientError as exc:
            raise ProviderError(
                f"connection to {url} failed: {type(exc).__name__}: {exc}", retryable=True
            ) from None

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
            # Let aiohttp finish closing the transports before the loop ends.
            await asyncio.sleep(0)


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a ``Retry-After`` header: seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _error_text(body: bytes) -> str:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:300].decode("utf-8", "replace")
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err)[:300]
        return str(err)[:300]
    return str(data)[:300]


def check_response(resp: HttpResponse, url: str) -> Any:
    """Raise the right ProviderError for a failed response; return the parsed JSON otherwise."""
    if resp.status == 429:
        raise RateLimitedError(
            f"rate limited by {url} (HTTP 429): {_error_text(resp.body)}",
            retryable=True,
            retry_after=retry_after_seconds(resp.headers.get("Retry-After")),
            http_status=429,
        )
    if resp.status >= 500 or resp.status in (408, 409):
        raise ProviderError(
            f"server error from {url} (HTTP {resp.status}): {_error_text(resp.body)}",
            retryable=True,
            retry_after=retry_after_seconds(resp.headers.get("Retry-After")),
            http_status=resp.status,
        )
    if resp.status >= 400:
        hint = " (check the API key env var)" if resp.status in (401, 403) else ""
        raise ProviderResponseError(
            f"{url} refused the request (HTTP {resp.status}){hint}: {_error_text(resp.body)}",
            http_status=resp.status,
        )
    try:
        return orjson.loads(resp.body)
    except orjson.JSONDecodeError:
        raise ProviderResponseError(
            f"{url} sent a body that is not JSON: {resp.body[:120]!r}", retryable=True
        ) from None
