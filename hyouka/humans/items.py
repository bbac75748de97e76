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
from hyouka.store.schema import campaign_items, cases, samples
from hyouka.store.store import Store
from hyouka.store.tx import reading


@dataclass(frozen=True)
class Passage:
    title: str
    text: str


@dataclass(frozen=True)
class OutputView:
    text: str
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class ItemContent:
    """The immutable content of an item (cached)."""

    case_key: str
    inputs: tuple[tuple[str, str], ...]
    aspect: str | None
    sample_a_id: int
    sample_b_id: int | None
    outputs: Mapping[int, OutputView]


@dataclass(frozen=True)
class ItemView:
    """One assignment as shown: ``right`` is None for a rating-only item."""

    inputs: tuple[tuple[str, str], ...]
    aspect: str | None
    left: OutputView
    right: OutputView | None
    shared_passages: tuple[Passage, ...]
    sides: ItemSides


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
    )
    .join(cases, cases.c.id == campaign_items.c.case_id)
    .join(
        samples,
        (samples.c.id == campaign_items.c.sample_a_id)
        | (samples.c.id == campaign_items.c.sample_b_id),
    )
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
    return ItemContent(
        case_key=str(first.case_key),
        inputs=tuple((str(k), as_text(v)) for k, v in variables.items()),
        aspect=content.get("aspect"),
        sample_a_id=int(first.sample_a_id),
        sample_b_id=None if first.sample_b_id is None else int(first.sample_b_id),
        outputs={int(r.id): OutputView(r.output or "", _passages(r.contexts)) for r in rows},
    )


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
        left = OutputView(left.text, ())
        right = OutputView(right.text, ())
    elif right is None and left.passages:
        shared, left = left.passages, OutputView(left.text, ())
    sides = ItemSides(
        content.sample_a_id,
        content.sample_b_id,
        left_id,
        {sid: out.text for sid, out in content.outputs.items()},
    )
    return ItemView(content.inputs, content.aspect, left, right, shared, sides)
