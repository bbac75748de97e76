"""The provider contract: one async method, ``generate``.

A provider turns a :class:`GenerateRequest` (chat messages, model, params, seed, timeout) into a
:class:`Generation` (text, token counts, cost, latency, retrieved contexts, raw payload), or
raises a :class:`hyouka.errors.ProviderError` whose ``retryable`` flag says whether to try
again. Providers never retry by themselves: retries (``providers/calls.py``), rate limits and
timeouts (``providers/pool.py``, ``limits.py``, ``governed.py``) are the calling layer's, which
the runner and the judges share, so every provider behaves the same under load.

Which variant ``params`` a provider takes is declared when its type is registered
(``register(type_name, factory, check_params)``, see hyouka/hookspecs.py): the runner checks
every prompt variant's params with it before the run starts.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from hyouka.errors import ConfigError


@dataclass(frozen=True)
class ToolCall:
    """A tool call the model made (hyouka's neutral form; see hyouka/convo/messages.py).

    ``arguments`` is the parsed JSON (usually an object); when the model wrote arguments that
    are not valid JSON, it is None, ``raw`` keeps the text as written and ``error`` says why.
    """

    id: str
    name: str
    arguments: Any = None
    raw: str | None = None
    error: str | None = None
    has_result: bool = False  # an app ran the tool: ``result`` is what it answered
    result: Any = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "arguments": self.arguments}
        if self.error is not None:
            out["error"] = self.error
            out["raw"] = self.raw
        if self.has_result:
            out["result"] = self.result
        return out


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant" | "tool"
    content: str
    name: str | None = None  # a speaker's name (OpenAI ``name``); a tool result's tool
    tool_calls: tuple[ToolCall, ...] = ()  # an assistant turn's tool calls
    tool_call_id: str | None = None  # a tool turn: the call it answers

    def as_dict(self) -> dict[str, Any]:
        """The neutral form: role and content, plus the other fields when they are set."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.name is not None:
            out["name"] = self.name
        if self.tool_calls:
            out["tool_calls"] = [c.as_dict() for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


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
    # A judge call's request also says what it judges (so a plugin provider can do what the
    # built-in judges do, e.g. replay stored verdicts): ``case`` is the judged case,
    # ``sample_index`` the judged sample's index, ``sample_id`` its id in the store (the
    # candidate's, for a pairwise judge), ``repeat`` the judge's repeat index and ``target``
    # the judge sample's target (``s:<sample id>`` or ``p:<a>:<b>:<ab|ba>``).
    sample_id: int | None = None
    repeat: int = 0
    target: str = ""
    # Tools the model may call: {"name", "description", "parameters": JSON Schema}
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: Any = None  # "auto" | "none" | "required" | a tool name; None: the API's


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
    tool_calls: list[ToolCall] | None = None  # the model's tool calls (all of an app's calls)
    # The whole conversation of an agent loop or a simulated dialogue (neutral message dicts)
    trajectory: list[dict[str, Any]] | None = None
    # A simulated conversation's outcome: turns, stop_reason, goal_reached
    conversation: dict[str, Any] | None = None


def reject_unknown_params(
    params: Mapping[str, Any], known: Collection[str], provider_type: str, hint: str = ""
) -> None:
    """Raise :class:`ConfigError` naming the ``params`` not in ``known`` (with a close match)."""
    unknown = sorted(key for key in params if key not in known)
    if not unknown:
        return
    names = ", ".join(f"'{key}'" for key in unknown)
    what = f"param {names} is" if len(unknown) == 1 else f"params {names} are"
    close = {key: difflib.get_close_matches(key, list(known), n=1, cutoff=0.75) for key in unknown}
    guesses = [
        f"'{m[0]}'" + (f" for '{key}'" if len(unknown) > 1 else "") for key, m in close.items() if m
    ]
    guess = f"; did you mean {', '.join(guesses)}?" if guesses else ""
    raise ConfigError(
        f"{what} not taken by the {provider_type} provider{guess} "
        f"It takes: {', '.join(sorted(known))}{hint}.",
        field="params",
    )


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
