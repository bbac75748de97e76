"""The provider contract: one async method, ``generate``.

A provider turns a :class:`GenerateRequest` (chat messages, model, params, seed, timeout) into a
:class:`Generation` (text, token counts, cost, latency, retrieved contexts, raw payload), or
raises a :class:`hyouka.errors.ProviderError` whose ``retryable`` flag says whether to try
again. Providers never retry by themselves: retries (``providers/calls.py``), rate limits and
timeouts (``providers/pool.py``, ``limits.py``, ``governed.py``) are the calling layer's, which
the runner and the judges share, so every provider behaves the same under load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class GenerateRequest:
    """Everything that shapes one model call."""

    messages: tuple[Message, ...]
    model: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    timeout: float = 60.0
    # The case being answered (its vars, expected, …): used by app functions, ignored by
    # chat providers.
    case: Mapping[str, Any] | None = None
    sample_index: int = 0


@dataclass
class Generation:
    """What a provider returns for one call."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    latency_ms: float | None = None
    contexts: list[dict[str, Any]] | None = None  # retrieved passages: {"id":…, "text":…, …}
    finish_reason: str | None = None
    raw_request: Any = None
    raw_response: Any = None


@runtime_checkable
class Provider(Protocol):
    """What every provider implements."""

    name: str

    async def generate(self, request: GenerateRequest) -> Generation: ...


class BaseProvider:
    """Convenience base: holds the provider's name and its config, and a no-op ``aclose``."""

    def __init__(self, name: str, options: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.options: dict[str, Any] = dict(options or {})

    async def generate(self, request: GenerateRequest) -> Generation:  # pragma: no cover
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections, threads or models the provider holds."""
        return None


@dataclass(frozen=True)
class Pricing:
    """Price in a currency unit (usually USD) per million input and output tokens."""

    input_per_mtok: float
    output_per_mtok: float

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        if input_tokens is None or output_tokens is None:
            return None
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6
