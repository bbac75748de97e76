"""Conversation turns, tools and tool calls: hyouka's neutral form and the APIs' formats.

The neutral form of a turn (a dataset's ``messages``, a stored trajectory) is a mapping::

    {"role": "system" | "user" | "assistant" | "tool", "content": "text",
     "name": "optional speaker or tool name", "timestamp": "optional, e.g. 2026-12-01T10:00",
     "tool_calls": [{"id": "c1", "name": "lookup_order", "arguments": {...}}],  # assistant
     "tool_call_id": "c1"}                                                       # tool

A tool is ``{"name", "description", "parameters": JSON Schema}`` (the OpenAI
``{"type": "function", "function": {...}}`` form is accepted too). :func:`parse_messages`,
:func:`parse_tools` and :func:`parse_expected_calls` validate a dataset row's values and raise
:class:`ConvoError` naming the turn and field, which the loaders turn into a row problem with
its line.

Arguments a model writes that are not valid JSON never raise: :func:`tool_call` keeps the raw
text and the reason on the :class:`~hyouka.providers.base.ToolCall`, and the tool checks fail
on it with the raw text in their reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hyouka.providers.base import Message, ToolCall

ROLES = ("system", "user", "assistant", "tool")
_TURN_FIELDS = {"role", "content", "name", "timestamp", "tool_calls", "tool_call_id"}
_CALL_FIELDS = {"id", "name", "arguments", "result"}
_TOOL_FIELDS = {"name", "description", "parameters"}


class ConvoError(ValueError):
    """A conversation, tool list or expected call that is not well formed.

    ``path`` is where, inside the row (e.g. ``("messages", 3, "role")``), for line numbers.
    """

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


def _where(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def parse_messages(value: Any, field: str = "messages") -> list[dict[str, Any]]:
    """A row's ``messages``: a list of turns, validated; returns plain dicts."""
    if not isinstance(value, list) or not value:
        raise ConvoError(
            f"'{field}' must be a non-empty list of turns such as {{role: user, content: ...}}",
            (field,),
        )
    out: list[dict[str, Any]] = []
    for i, turn in enumerate(value):
        path: tuple[str | int, ...] = (field, i)
        if not isinstance(turn, Mapping):
            raise ConvoError(f"{_where(path)} must be a mapping with 'role' and 'content'", path)
        unknown = set(turn) - _TURN_FIELDS
        if unknown:
            raise ConvoError(
                f"{_where(path)} has unknown field(s) {', '.join(sorted(map(str, unknown)))} "
                f"(allowed: {', '.join(sorted(_TURN_FIELDS))})",
                (*path, sorted(map(str, unknown))[0]),
            )
        role = turn.get("role")
        if role not in ROLES:
            raise ConvoError(
                f"{_where((*path, 'role'))} must be one of {', '.join(ROLES)}, got {role!r}",
                (*path, "role"),
            )
        content = turn.get("content")
        calls = turn.get("tool_calls")
        if content is None and not (role == "assistant" and calls):
            raise ConvoError(f"{_where((*path, 'content'))} is missing", path)
        if content is not None and not isinstance(content, str):
            raise ConvoError(f"{_where((*path, 'content'))} must be text", (*path, "content"))
        clean: dict[str, Any] = {"role": role, "content": content or ""}
        for key in ("name", "timestamp", "tool_call_id"):
            item = turn.get(key)
            if item is not None:
                if not isinstance(item, str | int) or isinstance(item, bool):
                    raise ConvoError(f"{_where((*path, key))} must be text", (*path, key))
                clean[key] = str(item)
        if calls is not None:
            if role != "assistant":
                raise ConvoError(
                    f"{_where((*path, 'tool_calls'))}: only assistant turns make tool calls",
                    (*path, "tool_calls"),
                )
            clean["tool_calls"] = parse_expected_calls(calls, (*path, "tool_calls"))
        if role == "tool" and "tool_call_id" not in clean and "name" not in clean:
            raise ConvoError(
                f"{_where(path)}: a tool turn needs 'tool_call_id' (or the tool's 'name')", path
            )
        out.append(clean)
    return out


def parse_tools(value: Any, field: str = "tools") -> list[dict[str, Any]]:
    """A list of tool definitions (neutral form, or OpenAI's function form)."""
    if not isinstance(value, list):
        raise ConvoError(f"'{field}' must be a list of tools {{name, description, parameters}}")
    out = []
    seen: set[str] = set()
    for i, tool in enumerate(value):
        path: tuple[str | int, ...] = (field, i)
        if isinstance(tool, Mapping) and tool.get("type") == "function" and "function" in tool:
            tool = tool["function"]
        if not isinstance(tool, Mapping):
            raise ConvoError(f"{_where(path)} must be a mapping with 'name'", path)
        unknown = set(tool) - _TOOL_FIELDS
        if unknown:
            raise ConvoError(
                f"{_where(path)} has unknown field(s) {', '.join(sorted(map(str, unknown)))} "
                f"(allowed: {', '.join(sorted(_TOOL_FIELDS))})",
                path,
            )
        name = tool.get("name")
        if not isinstance(name, str) or not name or len(name) > 64:
            raise ConvoError(
                f"{_where((*path, 'name'))} must be a name of 1 to 64 characters", path
            )
        if name in seen:
            raise ConvoError(f"{_where(path)}: tool '{name}' is listed twice", path)
        seen.add(name)
        params = tool.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(params, Mapping):
            raise ConvoError(f"{_where((*path, 'parameters'))} must be a JSON Schema", path)
        description = tool.get("description", "")
        if not isinstance(description, str):
            raise ConvoError(f"{_where((*path, 'description'))} must be text", path)
        out.append({"name": name, "description": description, "parameters": dict(params)})
    return out


def parse_expected_calls(
    value: Any, path: tuple[str | int, ...] = ("expected_tool_calls",)
) -> list[dict[str, Any]]:
    """Tool calls as a dataset gives them: ``[{name, arguments?, id?, result?}]``."""
    if not isinstance(value, list):
        raise ConvoError(f"'{_where(path)}' must be a list of {{name, arguments}}", path)
    out = []
    for i, call in enumerate(value):
        where = (*path, i)
        if isinstance(call, str):
            call = {"name": call}
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
            raise ConvoError(f"{_where(where)} must be a mapping with a 'name'", where)
        unknown = set(call) - _CALL_FIELDS
        if unknown:
            raise ConvoError(
                f"{_where(where)} has unknown field(s) {', '.join(sorted(map(str, unknown)))} "
                f"(allowed: {', '.join(sorted(_CALL_FIELDS))})",
                where,
            )
        clean: dict[str, Any] = {"name": call["name"]}
        if "id" in call:
            clean["id"] = str(call["id"])
        if "arguments" in call:
            args = call["arguments"]
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except json.JSONDecodeError as exc:
                    raise ConvoError(
                        f"{_where((*where, 'arguments'))} is not valid JSON ({exc.msg})", where
                    ) from None
            clean["arguments"] = args
        if "result" in call:
            clean["result"] = call["result"]
        out.append(clean)
    return out


_SIMULATE_FIELDS = {"persona", "goal", "language", "opening", "max_turns"}


def parse_case_simulate(value: Any) -> dict[str, Any]:
    """A case's ``simulate`` block: persona, goal, language (ja|en), opening, max_turns."""
    if not isinstance(value, Mapping):
        raise ConvoError("'simulate' must be a mapping such as {persona: ..., goal: ...}",
                         ("simulate",))  # fmt: skip
    unknown = set(value) - _SIMULATE_FIELDS
    if unknown:
        raise ConvoError(
            f"simulate has unknown field(s) {', '.join(sorted(map(str, unknown)))} "
            f"(allowed: {', '.join(sorted(_SIMULATE_FIELDS))})",
            ("simulate", sorted(map(str, unknown))[0]),
        )
    out: dict[str, Any] = {}
    for key in ("persona", "goal", "opening"):
        if value.get(key) is not None:
            if not isinstance(value[key], str):
                raise ConvoError(f"simulate.{key} must be text", ("simulate", key))
            out[key] = value[key]
    language = value.get("language")
    if language is not None:
        if language not in ("ja", "en"):
            raise ConvoError("simulate.language must be 'ja' or 'en'", ("simulate", "language"))
        out["language"] = language
    turns = value.get("max_turns")
    if turns is not None:
        if isinstance(turns, bool) or not isinstance(turns, int) or not 1 <= turns <= 50:
            raise ConvoError("simulate.max_turns must be a whole number from 1 to 50",
                             ("simulate", "max_turns"))  # fmt: skip
        out["max_turns"] = turns
    return out


# -- turns as the providers take them ---------------------------------------------------------


def to_message(turn: Mapping[str, Any], index: int = 0) -> Message:
    """A neutral turn as a :class:`Message` (the timestamp is for people, not the model)."""
    calls = tuple(
        ToolCall(str(c.get("id") or f"call_{index}_{j}"), str(c["name"]), c.get("arguments"))
        for j, c in enumerate(turn.get("tool_calls") or ())
    )
    return Message(
        str(turn["role"]),
        str(turn.get("content") or ""),
        name=turn.get("name"),
        tool_calls=calls,
        tool_call_id=turn.get("tool_call_id"),
    )


def to_messages(turns: Sequence[Mapping[str, Any]]) -> tuple[Message, ...]:
    return tuple(to_message(t, i) for i, t in enumerate(turns))


def tool_call(call_id: str, name: str, arguments: Any) -> ToolCall:
    """A ToolCall from an API's arguments: a JSON string (OpenAI) or an object (Anthropic).

    Text that is not JSON (or JSON that is not an object) is kept raw with an error."""
    if isinstance(arguments, Mapping):
        return ToolCall(call_id, name, dict(arguments))
    if arguments is None or arguments == "":
        return ToolCall(call_id, name, {})
    if not isinstance(arguments, str):
        raw = json.dumps(arguments, ensure_ascii=False)
        return ToolCall(call_id, name, None, raw, "arguments are not a JSON object")
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as exc:
        return ToolCall(
            call_id, name, None, arguments, f"arguments are not valid JSON: {exc.msg} "
            f"at column {exc.colno}"
        )  # fmt: skip
    if not isinstance(parsed, dict):
        return ToolCall(call_id, name, None, arguments, "arguments are not a JSON object")
    return ToolCall(call_id, name, parsed)


def openai_tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": t["name"],
                "description": t.get("description", ""),
                "parameters": t.get("parameters") or {"type": "object", "properties": {}},
            },
        }
        for t in tools
    ]


def openai_message(m: Message) -> dict[str, Any]:
    """A Message in the chat-completions format (tool calls as ``function`` calls)."""
    if not m.tool_calls and m.tool_call_id is None:
        out: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.name is not None and m.role != "tool":
            out["name"] = m.name
        return out
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id or "", "content": m.content}
    return {
        "role": "assistant",
        "content": m.content or None,
        "tool_calls": [
            {
                "id": c.id,
                "type": "function",
                "function": {
                    "name": c.name,
                    "arguments": c.raw
                    if c.raw is not None
                    else json.dumps(c.arguments or {}, ensure_ascii=False),
                },
            }
            for c in m.tool_calls
        ],
    }


def openai_tool_calls(message: Mapping[str, Any]) -> list[ToolCall] | None:
    """The tool calls of a chat-completions answer's message (None when it made none)."""
    raw_calls = message.get("tool_calls")
    if not raw_calls:
        return None
    out = []
    for i, c in enumerate(raw_calls if isinstance(raw_calls, list) else []):
        fn = c.get("function") if isinstance(c, Mapping) else None
        if not isinstance(fn, Mapping):
            out.append(ToolCall(f"call_{i}", "", None, json.dumps(c), "not a function call"))
            continue
        out.append(tool_call(str(c.get("id") or f"call_{i}"), str(fn.get("name") or ""),
                             fn.get("arguments")))  # fmt: skip
    return out


def anthropic_tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": t["name"],
            "description": t.get("description", ""),
            "input_schema": t.get("parameters") or {"type": "object", "properties": {}},
        }
        for t in tools
    ]


def anthropic_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Non-system Messages in the Messages-API format: tool calls as ``tool_use`` blocks,
    tool results as ``tool_result`` blocks in a user turn (consecutive ones merged)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id or "",
                     "content": m.content}  # fmt: skip
            last = out[-1] if out else None
            if last and last["role"] == "user" and isinstance(last["content"], list):
                last["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
            continue
        if m.tool_calls:
            blocks: list[dict[str, Any]] = []
            if m.content:
                blocks.append({"type": "text", "text": m.content})
            for c in m.tool_calls:
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": c.id,
                        "name": c.name,
                        "input": c.arguments if isinstance(c.arguments, dict) else {},
                    }
                )
            out.append({"role": "assistant", "content": blocks})
            continue
        out.append({"role": m.role, "content": m.content})
    return out


def anthropic_tool_calls(content: Sequence[Any]) -> list[ToolCall] | None:
    out = []
    for i, block in enumerate(content):
        if isinstance(block, Mapping) and block.get("type") == "tool_use":
            out.append(tool_call(str(block.get("id") or f"toolu_{i}"),
                                 str(block.get("name") or ""), block.get("input")))  # fmt: skip
    return out or None


def tool_choice_openai(choice: Any) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": str(choice)}}


def tool_choice_anthropic(choice: Any) -> Any:
    if choice == "required":
        return {"type": "any"}
    if choice in ("auto", "none"):
        return {"type": choice}
    return {"type": "tool", "name": str(choice)}


def calls_as_dicts(calls: Sequence[ToolCall] | None) -> list[dict[str, Any]] | None:
    return [c.as_dict() for c in calls] if calls else None


def render_trajectory(turns: Sequence[Mapping[str, Any]], *, ja: bool = True) -> str:
    """A conversation as text for a judge's prompt: one line per turn, tool calls and their
    results included."""
    names = (
        {
            "system": "システム",
            "user": "ユーザー",
            "assistant": "アシスタント",
            "tool": "ツール結果",
        }
        if ja
        else {"system": "System", "user": "User", "assistant": "Assistant", "tool": "Tool result"}
    )
    lines = []
    for i, t in enumerate(turns):
        role = names.get(str(t.get("role")), str(t.get("role")))
        text = str(t.get("content") or "")
        if text:
            lines.append(f"[{i}] {role}: {text}")
        for c in t.get("tool_calls") or ():
            args = c.get("arguments")
            shown = c.get("raw") if args is None else json.dumps(args, ensure_ascii=False)
            label = "ツール呼び出し" if ja else "Tool call"
            lines.append(f"[{i}] {role} → {label} {c.get('name')}({shown})")
            if "result" in c:
                lines.append(f"    = {json.dumps(c['result'], ensure_ascii=False)}")
    return "\n".join(lines)


def judge_conversation_vars(view: Any, question: str) -> tuple[str, str, str]:
    """What a judge sees of a conversation sample: ``input`` (the turns before the reply),
    ``output`` (the reply, its tool calls and their results after its text) and
    ``conversation`` (every turn, the reply's included)."""
    ja = True
    history = list(view.case.messages or ())
    if history:
        from hyouka.scorers.metrics_text import japanese_ratio

        ja = japanese_ratio(" ".join(str(t.get("content") or "") for t in history)) >= 0.3
    reply: dict[str, Any] = {"role": "assistant", "content": view.output}
    if view.tool_calls:
        reply["tool_calls"] = [dict(c) for c in view.tool_calls]
    whole = list(view.trajectory) if view.trajectory else [*history, reply]
    question = render_trajectory(history, ja=ja) if history else question
    output = view.output
    if view.tool_calls:
        calls = render_trajectory([{**reply, "content": ""}], ja=ja)
        output = f"{output}\n{calls}" if output else calls
    return question, output, render_trajectory(whole, ja=ja)
