"""What the fake server knows of a model call: the call, its prompt key, the default answer,
and the faults a test can inject (by call index, by a ``[[fault:SPEC]]`` marker in the prompt,
or by a rule). Used by :mod:`hyouka.testing.fake_server`; see its docstring for the specs.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

try:  # orjson parses and dumps these small bodies ~5x faster than json
    import orjson

    def _dumps(obj: object, sort: bool = False) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS if sort else 0)

    def _loads(data: bytes | bytearray) -> Any:
        return orjson.loads(data)

except ImportError:  # pragma: no cover - exercised only without orjson
    import json

    def _dumps(obj: object, sort: bool = False) -> bytes:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=sort)
        return text.encode()

    def _loads(data: bytes | bytearray) -> Any:
        return json.loads(data)


FaultKind = Literal["http", "slow", "drop", "malformed", "no_choices"]
_MARKER = re.compile(r"\[\[fault:([^\]*]+)(?:\*(\d+))?\]\]")
_SPEC_HELP = (
    "use '429', '429:2' (Retry-After seconds), any status 400-599, 'slow:5', 'drop', "
    "'drop:0.5', 'malformed' or 'no_choices'"
)


class FaultSpecError(ValueError):
    """A fault spec (argument, marker or rule result) that cannot be understood."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected misbehaviour; build it with the class methods or :func:`parse_fault`."""

    kind: FaultKind
    status: int = 200
    seconds: float = 0.0  # slow: extra delay before answering; drop: delay before closing
    retry_after: float | None = None

    @classmethod
    def http(cls, status: int, retry_after: float | None = None) -> Fault:
        if not 400 <= status <= 599:
            raise FaultSpecError(f"fault status {status} is not an error status: use 400-599")
        return cls("http", status=status, retry_after=retry_after)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        if seconds < 0:
            raise FaultSpecError(f"slow fault needs seconds >= 0, got {seconds}")
        return cls("slow", seconds=seconds)

    @classmethod
    def drop(cls, after: float = 0.0) -> Fault:
        return cls("drop", seconds=max(0.0, after))

    @classmethod
    def malformed(cls) -> Fault:
        return cls("malformed")

    @classmethod
    def no_choices(cls) -> Fault:
        return cls("no_choices")

    @property
    def label(self) -> str:
        """``"429"`` for HTTP faults, else the kind (``"slow"``, ``"drop"`` …)."""
        return str(self.status) if self.kind == "http" else self.kind


FaultSpec: TypeAlias = Fault | str | int


def parse_fault(spec: FaultSpec) -> Fault:
    """Turn ``"429:2"``, ``503``, ``"slow:5"``, ``"drop"`` … (or a :class:`Fault`) into a Fault."""
    if isinstance(spec, Fault):
        return spec
    if isinstance(spec, int):
        return Fault.http(spec)
    return _parse_text(spec)


@functools.lru_cache(maxsize=256)
def _parse_text(text: str) -> Fault:
    name, _, arg = text.strip().lower().partition(":")
    try:
        if name.isdigit():
            return Fault.http(int(name), float(arg) if arg else None)
        if name == "slow" and arg:
            return Fault.slow(float(arg))
        if name == "drop":
            return Fault.drop(float(arg) if arg else 0.0)
        if name == "malformed" and not arg:
            return Fault.malformed()
        if name == "no_choices" and not arg:
            return Fault.no_choices()
    except ValueError as exc:  # float() of a bad number; FaultSpecError is a ValueError too
        raise FaultSpecError(f"bad fault spec {text!r}: {exc}; {_SPEC_HELP}") from None
    raise FaultSpecError(f"unknown fault spec {text!r}: {_SPEC_HELP}")


@dataclass(slots=True)
class Call:
    """One model call as the server saw it (also what a ``fault_rule`` receives)."""

    index: int  # 0-based, in arrival order since start or reset
    path: str  # "/v1/chat/completions" or "/v1/messages"
    key: str  # prompt_key(body): same messages + system + seed -> same key
    attempt: int  # how many earlier calls had the same key
    model: str
    seed: int | None
    prompt: str  # "role: text" lines, system first
    last_user: str
    body: dict[str, Any]
    status: int | None = None  # HTTP status sent; None while pending or when none was sent
    fault: str | None = None  # Fault.label of the injected fault, if any
    client_gone: bool = False  # the client closed the connection before the answer


# A responder answers with text, or with a reply that makes tool calls:
# {"content": "text or empty", "tool_calls": [{"name": "t", "arguments": {...} | "raw text"}]}
Answer: TypeAlias = str | dict[str, Any]
Responder: TypeAlias = Callable[[dict[str, Any]], Answer]
FaultRule: TypeAlias = Callable[[Call], FaultSpec | None]


def _text_of(content: object) -> str:
    """Message content (a string, or OpenAI/Anthropic parts with ``text``) as plain text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p["text"]) for p in content if isinstance(p, dict) and "text" in p)
    return "" if content is None else str(content)


def _last_user(messages: list[Any]) -> str:
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user" and not _tool_results(m):
            return _text_of(m.get("content"))
    return ""


def _tool_results(m: Mapping[str, Any]) -> list[str]:
    """The tool results a message carries: an OpenAI ``tool`` turn, Anthropic blocks."""
    if m.get("role") == "tool":
        return [_text_of(m.get("content"))]
    content = m.get("content")
    if isinstance(content, list):
        return [
            _text_of(b.get("content"))
            for b in content
            if isinstance(b, dict) and b.get("type") == "tool_result"
        ]
    return []


# [[call:NAME ARGS]] in the last user message: the fake model calls tool NAME with ARGS as
# written (JSON, or anything else to test malformed arguments), when the request has tools.
_CALL_MARKER = re.compile(r"\[\[call:([A-Za-z0-9_.-]+)(?: (.*?))?\]\]")


def tool_call_reply(request: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fake model's tool-call behaviour (see :func:`default_responder`), or None."""
    messages = request.get("messages") or []
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    results = _tool_results(last)
    if results:
        return {"content": "ツール結果: " + " / ".join(results)[:400]}
    if not request.get("tools"):
        return None
    calls = [
        {"name": m.group(1), "arguments": m.group(2) or "{}"}
        for m in _CALL_MARKER.finditer(_last_user(messages))
    ]
    return {"content": "", "tool_calls": calls} if calls else None


def _prompt_text(body: Mapping[str, Any]) -> str:
    lines = [f"system: {_text_of(body['system'])}"] if body.get("system") else []
    for m in body.get("messages") or ():
        if isinstance(m, dict):
            lines.append(f"{m.get('role', '')}: {_text_of(m.get('content'))}")
    return "\n".join(lines)


def prompt_key(body: Mapping[str, Any]) -> str:
    """16 hex chars identifying a request by its messages, Anthropic ``system`` and ``seed``."""
    raw = _dumps([body.get("system"), body.get("messages"), body.get("seed")], sort=True)
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def default_responder(request: dict[str, Any]) -> Answer:
    """``"回答: " + last user message`` (first 200 chars), plus ``" (seed=N)"`` when seeded.

    Tool calls: when the request offers ``tools`` and the last user message holds
    ``[[call:NAME ARGS]]`` markers, the answer calls those tools with ARGS as written (not
    parsed: malformed JSON goes out as it is); when the last message is a tool result, the
    answer is ``"ツール結果: " + the result``."""
    reply = tool_call_reply(request)
    if reply is not None:
        return reply
    text = "回答: " + _last_user(request.get("messages") or [])[:200]
    seed = request.get("seed")
    return text if seed is None else f"{text} (seed={seed})"


def _ntokens(text: str) -> int:
    # A cheap deterministic stand-in for a tokenizer: ~4 UTF-8 bytes per token.
    return max(1, (len(text.encode()) + 3) // 4)


def _marker_fault(call: Call) -> Fault | None:
    m = _MARKER.search(call.last_user)
    if m is None:
        raise FaultSpecError(
            f"bad fault marker in call {call.index}: write [[fault:SPEC]] and {_SPEC_HELP}"
        )
    if m.group(2) is not None and call.attempt >= int(m.group(2)):
        return None
    return parse_fault(m.group(1))
