"""What an LLM span says, in the conventions instrumentors use: the model, the messages in and
out, tokens, user and session, and the app's variant label.

- **OpenTelemetry GenAI**, current layout (semconv ≥ 1.37): ``gen_ai.input.messages`` /
  ``gen_ai.output.messages`` / ``gen_ai.system_instructions`` (JSON with ``parts``) on the span,
  or on a ``gen_ai.client.inference.operation.details`` event / log record;
  ``gen_ai.provider.name``; ``gen_ai.usage.input_tokens`` / ``output_tokens``.
- **GenAI, previous layouts**: events (span events or OTLP log records) ``gen_ai.system.message``,
  ``gen_ai.user.message``, ``gen_ai.assistant.message``, ``gen_ai.tool.message`` and
  ``gen_ai.choice`` (body ``{content}`` / ``{message: {role, content}}``); the oldest
  ``gen_ai.content.prompt`` / ``gen_ai.content.completion`` events with ``gen_ai.prompt`` /
  ``gen_ai.completion``; indexed ``gen_ai.prompt.N.role/content`` and
  ``gen_ai.completion.N.…`` attributes; ``gen_ai.system``; ``gen_ai.usage.prompt_tokens`` /
  ``completion_tokens``.
- **OpenInference** (Phoenix's instrumentors): ``openinference.span.kind = LLM``,
  ``llm.model_name``, ``llm.input_messages.N.message.role/content`` (or
  ``.contents.M.message_content.text``), ``llm.output_messages.…``, ``llm.token_count.prompt`` /
  ``completion``, ``llm.system`` / ``llm.provider``.

Users and sessions: ``user.id`` (or ``enduser.id``), ``session.id`` (or
``gen_ai.conversation.id``). The app's variant label: ``hyouka.variant`` on the span or on the
resource. Every other attribute is kept as sent, unread; a *known* attribute with a value of
the wrong type (tokens that are not a count, a role that is not text) rejects the span with a
message naming the attribute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from hyouka.bounds import DB_INT_MAX, NAME_MAX, text_problem

MODEL_MAX = 300
SPAN_JSON_MAX = 4 * 1024 * 1024  # bytes of one span's attributes as stored
VARIANT_ATTR = "hyouka.variant"

# event names -> the role they carry (previous GenAI layout)
ROLE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
DETAILS_EVENT = "gen_ai.client.inference.operation.details"


class SpanProblem(Exception):
    """A span (or log record) that cannot be stored; the message names the attribute."""


Message = dict[str, str]


@dataclass
class Content:
    """Messages found in events or log records (joined to the span they belong to)."""

    input: list[Message] = field(default_factory=list)
    output: list[Message] = field(default_factory=list)
    system: list[Message] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.input or self.output or self.system)


def _text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, int | float | bool):
        return str(value)
    if isinstance(value, list):  # content as a list of parts
        return "".join(_part_text(p, what) for p in value)
    if isinstance(value, Mapping):
        return _part_text(value, what)
    raise SpanProblem(f"{what} must be text, got {type(value).__name__}")


def _part_text(part: Any, what: str) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, Mapping):
        kind = part.get("type", "text")
        if kind == "text" or "content" in part or "text" in part:
            return _text(part.get("content", part.get("text", "")), what)
        return ""  # an image, a tool call: not text
    return ""


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _parts_messages(value: Any, what: str) -> list[Message]:
    """Messages in the current GenAI layout: ``[{role, parts: [{type, content}]}]``."""
    value = _maybe_json(value)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpanProblem(f"{what} must be a JSON list of messages, got {type(value).__name__}")
    out: list[Message] = []
    for i, m in enumerate(value):
        if not isinstance(m, Mapping):
            raise SpanProblem(f"{what}[{i}] must be an object with 'role' and 'parts'")
        role = m.get("role", "")
        if not isinstance(role, str):
            raise SpanProblem(f"{what}[{i}].role must be text, got {type(role).__name__}")
        parts = m.get("parts", m.get("content"))
        out.append({"role": role, "content": _text(parts, f"{what}[{i}].parts")})
    return out


def _indexed(
    attrs: Mapping[str, Any], prefix: str, role_key: str, content_key: str
) -> list[Message]:
    """``prefix.N.<role_key>`` / ``prefix.N.<content_key>`` (and OpenInference's
    ``.message.contents.M.message_content.text``) as messages ordered by N."""
    found: dict[int, dict[str, Any]] = {}
    start = len(prefix) + 1
    for key, value in attrs.items():
        if not key.startswith(prefix + "."):
            continue
        index, _, rest = key[start:].partition(".")
        if not index.isdigit():
            continue
        found.setdefault(int(index), {})[rest] = value
    out: list[Message] = []
    for n in sorted(found):
        fields = found[n]
        role = fields.get(role_key, "")
        if not isinstance(role, str):
            raise SpanProblem(f"{prefix}.{n}.{role_key} must be text, got {type(role).__name__}")
        content = fields.get(content_key)
        if content is None:  # OpenInference multi-part contents
            texts = sorted(
                (k, v) for k, v in fields.items()
                if k.endswith(".message_content.text") and "contents." in k
            )  # fmt: skip
            content = "".join(_text(v, f"{prefix}.{n}.{k}") for k, v in texts)
        out.append({"role": role, "content": _text(content, f"{prefix}.{n}.{content_key}")})
    return out


def events_content(events: Iterable[tuple[str, Mapping[str, Any], Any]]) -> Content:
    """Messages in events or log records: ``(name, attributes, body)`` each."""
    got = Content()
    for name, attrs, body in events:
        if name == DETAILS_EVENT or "gen_ai.input.messages" in attrs:
            got.input.extend(_parts_messages(attrs.get("gen_ai.input.messages"), name))
            got.output.extend(_parts_messages(attrs.get("gen_ai.output.messages"), name))
            got.system.extend(_system(attrs.get("gen_ai.system_instructions"), name))
            continue
        payload = body if body is not None else _event_payload(attrs)
        if name in ROLE_EVENTS:
            data = payload if isinstance(payload, Mapping) else {"content": payload}
            role = data.get("role") or ROLE_EVENTS[name]
            got.input.append({"role": str(role), "content": _text(data.get("content"), name)})
        elif name == "gen_ai.choice":
            data = payload if isinstance(payload, Mapping) else {}
            message = data.get("message") if isinstance(data.get("message"), Mapping) else data
            assert isinstance(message, Mapping)
            role = message.get("role") or "assistant"
            got.output.append({"role": str(role), "content": _text(message.get("content"), name)})
        elif name == "gen_ai.content.prompt":
            got.input.extend(_plain_messages(attrs.get("gen_ai.prompt"), "gen_ai.prompt"))
        elif name == "gen_ai.content.completion":
            got.output.extend(_plain_messages(attrs.get("gen_ai.completion"), "gen_ai.completion"))
    return got


def _event_payload(attrs: Mapping[str, Any]) -> Any:
    """A span event's message: a JSON body attribute, else its attributes themselves
    (``content``, ``role``, ``message`` — JSON text decoded)."""
    for key in ("gen_ai.event.content", "event.body"):
        if key in attrs:
            return _maybe_json(attrs[key])
    return {k: _maybe_json(v) for k, v in attrs.items()}


def _plain_messages(value: Any, what: str) -> list[Message]:
    value = _maybe_json(value)
    if isinstance(value, str):
        return [{"role": "user" if "prompt" in what else "assistant", "content": value}]
    if isinstance(value, list):
        return [
            {"role": str(m.get("role", "")), "content": _text(m.get("content"), what)}
            for m in value
            if isinstance(m, Mapping)
        ]
    return []


def _system(value: Any, what: str) -> list[Message]:
    value = _maybe_json(value)
    if value is None:
        return []
    text = _text(value, f"{what}: gen_ai.system_instructions")
    return [{"role": "system", "content": text}] if text else []


def is_llm_span(attrs: Mapping[str, Any]) -> str | None:
    """The convention of an LLM span (``genai`` | ``openinference``), None for other spans."""
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() == "LLM":
        return "openinference"
    if "gen_ai.operation.name" in attrs or "gen_ai.request.model" in attrs:
        return "genai"
    if "gen_ai.system" in attrs or "gen_ai.provider.name" in attrs:
        return "genai"
    return None


def _count(attrs: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        if key not in attrs or attrs[key] is None:
            continue
        value = attrs[key]
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpanProblem(f"{key} must be a whole number of tokens, got {value!r:.60}")
        if not 0 <= value <= DB_INT_MAX:
            raise SpanProblem(f"{key} must be between 0 and {DB_INT_MAX}, got {value}")
        return value
    return None


def _short(attrs: Mapping[str, Any], limit: int, *keys: str) -> str | None:
    for key in keys:
        value = attrs.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str | int):
            raise SpanProblem(f"{key} must be text, got {type(value).__name__}")
        text = str(value)
        if len(text) > limit:
            raise SpanProblem(f"{key} must be at most {limit} characters (got {len(text)})")
        return text
    return None


@dataclass
class LlmSpan:
    """The typed fields of one LLM span (what ``trace_spans`` stores besides the ids)."""

    convention: str
    operation: str | None
    system: str | None
    model: str | None
    request_model: str | None
    input_messages: list[Message] | None
    output_messages: list[Message] | None
    input_tokens: int | None
    output_tokens: int | None
    user_id: str | None
    session_id: str | None
    variant: str | None
    service: str | None


CONTEXT_KEYS = ("user.id", "enduser.id", "session.id", "gen_ai.conversation.id", VARIANT_ATTR)


def read_span(
    convention: str,
    attrs: Mapping[str, Any],
    resource: Mapping[str, Any],
    events: Iterable[tuple[str, Mapping[str, Any], Any]],
    context: Mapping[str, Any] | None = None,
) -> LlmSpan:
    """The fields of an LLM span of ``convention`` (raises :class:`SpanProblem`). ``context``:
    the :data:`CONTEXT_KEYS` of its ancestor spans (user, session, variant label), for those
    the span itself lacks."""
    if convention == "openinference":
        inputs = _indexed(attrs, "llm.input_messages", "message.role", "message.content")
        outputs = _indexed(attrs, "llm.output_messages", "message.role", "message.content")
        model = _short(attrs, MODEL_MAX, "llm.model_name")
        request_model = model
        system = _short(attrs, 100, "llm.provider", "llm.system")
        input_tokens = _count(attrs, "llm.token_count.prompt")
        output_tokens = _count(attrs, "llm.token_count.completion")
        operation: str | None = "chat"
    else:
        inputs = _system(attrs.get("gen_ai.system_instructions"), "span")
        inputs += _parts_messages(attrs.get("gen_ai.input.messages"), "gen_ai.input.messages")
        outputs = _parts_messages(attrs.get("gen_ai.output.messages"), "gen_ai.output.messages")
        if not inputs:
            inputs = _indexed(attrs, "gen_ai.prompt", "role", "content")
        if not outputs:
            outputs = _indexed(attrs, "gen_ai.completion", "role", "content")
        from_events = events_content(events)
        if not inputs:
            inputs = from_events.system + from_events.input
        if not outputs:
            outputs = from_events.output
        request_model = _short(attrs, MODEL_MAX, "gen_ai.request.model")
        model = _short(attrs, MODEL_MAX, "gen_ai.response.model") or request_model
        system = _short(attrs, 100, "gen_ai.provider.name", "gen_ai.system")
        input_tokens = _count(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
        output_tokens = _count(
            attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"
        )
        operation = _short(attrs, 100, "gen_ai.operation.name")
    ctx = context or {}
    return LlmSpan(
        convention=convention,
        operation=operation,
        system=system,
        model=model,
        request_model=request_model,
        input_messages=inputs or None,
        output_messages=outputs or None,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        user_id=_short(attrs, NAME_MAX, "user.id", "enduser.id")
        or _short(ctx, NAME_MAX, "user.id", "enduser.id"),
        session_id=_short(attrs, NAME_MAX, "session.id", "gen_ai.conversation.id")
        or _short(ctx, NAME_MAX, "session.id", "gen_ai.conversation.id"),
        variant=_short(attrs, NAME_MAX, VARIANT_ATTR)
        or _short(ctx, NAME_MAX, VARIANT_ATTR)
        or _short(resource, NAME_MAX, VARIANT_ATTR),
        service=_short(resource, NAME_MAX, "service.name"),
    )


def output_text(messages: list[Message] | None) -> str | None:
    """The answer: the text of the output messages (the assistant's, when roles are given)."""
    if not messages:
        return None
    chosen = [m for m in messages if m.get("role") in ("assistant", "")] or messages
    return "\n".join(m["content"] for m in chosen if m.get("content")) or None


def check_storable(values: Iterable[str], what: str) -> None:
    for value in values:
        problem = text_problem(value)
        if problem:
            raise SpanProblem(f"{what} {problem}")
