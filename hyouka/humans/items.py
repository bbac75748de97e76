"""What a person sees of an item: the input, the per-case aspect, the outputs (left/right) and
the retrieved passages, and nothing that names a variant or a sample.

Cases and outputs never change once stored, so their text is cached per process
(:class:`ItemCache`): the judging screen's hot path then reads only the assignment.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from hyouka.errors import NotFoundError
from hyouka.humans.assign import Assignment
from hyouka.humans.judging import ItemSides
from hyouka.store.schema import campaign_items, cases, sample_conversations, samples
from hyouka.store.store import Store
from hyouka.store.tx import reading


@dataclass(frozen=True)
class Passage:
    title: str
    text: str


@dataclass(frozen=True)
class ToolCallView:
    """A tool call as shown (collapsed): its name, arguments and result as text."""

    name: str
    arguments: str
    result: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Turn:
    """One turn of a conversation as shown (a bubble); ``index`` is what a mark points at."""

    index: int
    role: str  # system | user | assistant | tool
    text: str
    name: str | None = None
    timestamp: str | None = None
    tool_calls: tuple[ToolCallView, ...] = ()


@dataclass(frozen=True)
class OutputView:
    text: str
    passages: tuple[Passage, ...]
    # conversations (issue 15): the reply's tool calls; a simulated dialogue's turns after
    # the case's own (empty otherwise)
    tool_calls: tuple[ToolCallView, ...] = ()
    dialogue: tuple[Turn, ...] = ()


@dataclass(frozen=True)
class ItemContent:
    """The immutable content of an item (cached)."""

    case_key: str
    inputs: tuple[tuple[str, str], ...]
    aspect: str | None
    sample_a_id: int
    sample_b_id: int | None
    outputs: Mapping[int, OutputView]
    conversation: tuple[Turn, ...] = ()  # a conversation case's turns so far


@dataclass(frozen=True)
class ItemView:
    """One assignment as shown: ``right`` is None for a rating-only item."""

    inputs: tuple[tuple[str, str], ...]
    aspect: str | None
    left: OutputView
    right: OutputView | None
    shared_passages: tuple[Passage, ...]
    sides: ItemSides
    conversation: tuple[Turn, ...] = ()

    @property
    def has_conversation(self) -> bool:
        """Turns, tool calls or a dialogue to show (the judging screen's conversation parts)."""
        outs = [self.left] if self.right is None else [self.left, self.right]
        return bool(self.conversation) or any(o.tool_calls or o.dialogue for o in outs)

    @property
    def next_turn(self) -> int:
        """The index a mark on a candidate reply points at: the turn after the case's."""
        return len(self.conversation)


class ItemCache:
    """A small thread-safe LRU of :class:`ItemContent` by item id."""

    def __init__(self, size: int = 20000) -> None:
        self.size = size
        self._data: OrderedDict[int, ItemContent] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, item_id: int) -> ItemContent | None:
        with self._lock:
            found = self._data.get(item_id)
            if found is not None:
                self._data.move_to_end(item_id)
            return found

    def put(self, item_id: int, content: ItemContent) -> None:
        with self._lock:
            self._data[item_id] = content
            while len(self._data) > self.size:
                self._data.popitem(last=False)


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=1)


def _passages(contexts: Any) -> tuple[Passage, ...]:
    if not isinstance(contexts, list):
        return ()
    out = []
    for ctx in contexts:
        if isinstance(ctx, Mapping):
            title = ctx.get("title") or ctx.get("id") or ""
            out.append(Passage(str(title), as_text(ctx.get("text", ""))))
        else:
            out.append(Passage("", as_text(ctx)))
    return tuple(out)


_ITEM = (
    select(
        campaign_items.c.sample_a_id,
        campaign_items.c.sample_b_id,
        cases.c.case_key,
        cases.c.content,
        samples.c.id,
        samples.c.output,
        samples.c.contexts,
        sample_conversations.c.tool_calls,
        sample_conversations.c.trajectory,
    )
    .join(cases, cases.c.id == campaign_items.c.case_id)
    .join(
        samples,
        (samples.c.id == campaign_items.c.sample_a_id)
        | (samples.c.id == campaign_items.c.sample_b_id),
    )
    .outerjoin(sample_conversations, sample_conversations.c.sample_id == samples.c.id)
    .where(campaign_items.c.id == bindparam("item"))
)


def load_item(store: Store, item_id: int) -> ItemContent:
    """The item's case and its one or two outputs, in one query."""
    with reading(store) as conn:
        rows = conn.execute(_ITEM, {"item": item_id}).all()
    if not rows:
        raise NotFoundError(f"no campaign item {item_id}")
    first = rows[0]
    content = dict(first.content or {})
    variables = content.get("vars") or {}
    history = content.get("messages") or []
    conversation = turns(history)
    return ItemContent(
        case_key=str(first.case_key),
        inputs=tuple((str(k), as_text(v)) for k, v in variables.items()),
        aspect=content.get("aspect"),
        sample_a_id=int(first.sample_a_id),
        sample_b_id=None if first.sample_b_id is None else int(first.sample_b_id),
        outputs={
            int(r.id): OutputView(
                r.output or "",
                _passages(r.contexts),
                _calls(r.tool_calls) if not r.trajectory else (),
                # a simulated dialogue: its turns after the case's own, numbered on
                turns(r.trajectory[len(history) :], len(history)) if r.trajectory else (),
            )
            for r in rows
        },
        conversation=conversation,
    )


def _calls(raw: Any) -> tuple[ToolCallView, ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for c in raw:
        if not isinstance(c, Mapping):
            continue
        args = c.get("arguments")
        shown = str(c.get("raw") or "") if args is None else as_text(args)
        result = as_text(c["result"]) if "result" in c else None
        error = str(c["error"]) if c.get("error") else None
        out.append(ToolCallView(str(c.get("name") or ""), shown, result, error))
    return tuple(out)


def turns(raw: Any, start: int = 0) -> tuple[Turn, ...]:
    """A stored conversation (neutral turns) as bubbles. A tool turn that answers a call
    shown in the same conversation folds into that call (its result), so a person sees one
    collapsed tool step; its index is skipped, the others keep theirs."""
    if not isinstance(raw, list):
        return ()
    called = _called_ids(raw)
    results = {
        str(t.get("tool_call_id")): as_text(t.get("content", ""))
        for t in raw
        if isinstance(t, Mapping) and t.get("role") == "tool"
    }
    out: list[Turn] = []
    for i, t in enumerate(raw, start):
        if not isinstance(t, Mapping):
            continue
        if t.get("role") == "tool" and str(t.get("tool_call_id")) in called:
            continue
        calls = []
        for c in t.get("tool_calls") or ():
            if not isinstance(c, Mapping):
                continue
            (view,) = _calls([c])
            if view.result is None and str(c.get("id")) in results:
                view = ToolCallView(view.name, view.arguments, results[str(c.get("id"))],
                                    view.error)  # fmt: skip
            calls.append(view)
        out.append(Turn(i, str(t.get("role") or ""), as_text(t.get("content") or ""),
                        t.get("name"), t.get("timestamp"), tuple(calls)))  # fmt: skip
    return tuple(out)


def _called_ids(raw: list[Any]) -> set[str]:
    return {
        str(c.get("id"))
        for t in raw
        if isinstance(t, Mapping)
        for c in t.get("tool_calls") or ()
        if isinstance(c, Mapping)
    }


def item_content(store: Store, item_id: int, cache: ItemCache | None = None) -> ItemContent:
    found = cache.get(item_id) if cache is not None else None
    if found is None:
        found = load_item(store, item_id)
        if cache is not None:
            cache.put(item_id, found)
    return found


def item_view(store: Store, assignment: Assignment, cache: ItemCache | None = None) -> ItemView:
    content = item_content(store, assignment.item_id, cache)
    left_id = assignment.left_sample_id or content.sample_a_id
    right_id = None
    if content.sample_b_id is not None:
        right_id = content.sample_b_id if left_id == content.sample_a_id else content.sample_a_id
    left = content.outputs[left_id]
    right = content.outputs[right_id] if right_id is not None else None
    shared: tuple[Passage, ...] = ()
    if right is not None and left.passages and left.passages == right.passages:
        # The same passages under both outputs: show them once, with the input.
        shared = left.passages
        left = OutputView(left.text, (), left.tool_calls, left.dialogue)
        right = OutputView(right.text, (), right.tool_calls, right.dialogue)
    elif right is None and left.passages:
        shared, left = left.passages, OutputView(left.text, (), left.tool_calls, left.dialogue)
    sides = ItemSides(
        content.sample_a_id,
        content.sample_b_id,
        left_id,
        {sid: out.text for sid, out in content.outputs.items()},
    )
    return ItemView(
        content.inputs, content.aspect, left, right, shared, sides, content.conversation
    )
