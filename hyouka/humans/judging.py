"""Judgments from people: validation, append-only storage, idempotent submission.

What the screen posts is relative to what the person saw (``left`` / ``right``); what is stored
is relative to the item: ``winner`` ``a`` means ``sample_a_id`` won, ``rating_a`` rates
``sample_a_id``, and ``left_sample_id`` records which of the two was shown on the left. Tags
are stored as ``[{"tag": "長すぎる", "side": "a"}, …]``, ``highlight_side`` is ``a`` or ``b``.

Nothing is overwritten: judging an item again adds a row whose ``supersedes_id`` points at the
person's previous judgment of it. A resent form carries the same idempotency key (one per
rendered form) and is answered with the judgment it already created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from hyouka.humans.assign import Assignment, assignment_from_row
from hyouka.humans.campaigns import Campaign
from hyouka.humans.people import HumanEvalError
from hyouka.store.schema import assignments, campaign_items, judgment_turns, judgments
from hyouka.store.store import Store
from hyouka.store.tx import inserted_id, reading, run_write

VERDICTS = ("left", "right", "tie", "both_bad")

# Built once (see hyouka.humans.assign): the submit path runs per click.
_MINE_FOR_UPDATE = (
    select(assignments)
    .where(
        assignments.c.public_id == bindparam("public_id"),
        assignments.c.annotator_id == bindparam("person"),
        assignments.c.campaign_id == bindparam("campaign"),
    )
    .with_for_update()
)
_INSERT = insert(judgments)
_DONE = update(assignments).where(assignments.c.id == bindparam("assignment")).values(status="done")
_COUNT_DONE = (
    update(campaign_items)
    .where(campaign_items.c.id == bindparam("item"))
    .values(
        done_count=campaign_items.c.done_count + 1,
        assigned_count=campaign_items.c.assigned_count + bindparam("regained"),
    )
)
MAX_COMMENT = 5000
MAX_HIGHLIGHT = 500
MAX_KEY = 64


@dataclass(frozen=True)
class JudgmentInput:
    """One submitted judging form, in the screen's terms (left / right)."""

    idempotency_key: str
    winner: str | None = None
    rating_left: int | None = None
    rating_right: int | None = None
    comment: str | None = None
    tags_left: Sequence[str] = ()
    tags_right: Sequence[str] = ()
    highlight: str | None = None
    highlight_side: str | None = None  # left | right
    # a conversation (issue 15): the turn a complaint or "never say this" mark points at
    # (its index; a candidate reply is the turn after the case's, with its side)
    mark_turn: int | None = None
    mark_kind: str | None = None  # complaint | never
    mark_side: str | None = None  # left | right: which candidate reply (or its dialogue)
    mark_text: str | None = None  # the marked turn's text, filled by the server from the item


MARK_KINDS = ("complaint", "never")


@dataclass(frozen=True)
class SubmitResult:
    judgment_id: int
    duplicate: bool = False  # the same form was sent before; nothing new was stored
    supersedes_id: int | None = None


@dataclass(frozen=True)
class ItemSides:
    """An item's two outputs and which one the person saw on the left."""

    sample_a_id: int
    sample_b_id: int | None
    left_sample_id: int
    texts: Mapping[int, str] = field(default_factory=dict)  # sample id -> output

    def side_of_left(self) -> str:
        return "a" if self.left_sample_id == self.sample_a_id else "b"

    def to_item_side(self, screen_side: str) -> str:
        left = self.side_of_left()
        if screen_side == "left":
            return left
        return "b" if left == "a" else "a"


def _check(campaign: Campaign, data: JudgmentInput) -> None:
    key = data.idempotency_key
    if not key or len(key) > MAX_KEY:
        raise HumanEvalError("the form is missing its key; reload the page", "error.form_key")
    if campaign.pairwise and data.winner not in VERDICTS:
        raise HumanEvalError("choose which output is better (1–4)", "error.verdict_required")
    if not campaign.pairwise and data.rating_left is None:
        raise HumanEvalError("choose a rating from 1 to 5", "error.rating_required")
    for rating in (data.rating_left, data.rating_right):
        if rating is not None and not 1 <= rating <= 5:
            raise HumanEvalError("ratings go from 1 to 5", "error.bad_rating")
    if data.comment and len(data.comment) > MAX_COMMENT:
        raise HumanEvalError(f"the comment is over {MAX_COMMENT} characters", "error.too_long")
    if data.highlight and len(data.highlight) > MAX_HIGHLIGHT:
        raise HumanEvalError(
            f"the marked phrase is over {MAX_HIGHLIGHT} characters", "error.too_long"
        )
    if data.mark_turn is not None and (
        data.mark_turn < 0 or data.mark_kind not in MARK_KINDS
        or data.mark_side not in (None, "left", "right")
    ):  # fmt: skip
        raise HumanEvalError("the marked turn is not one of this conversation's",
                             "error.bad_turn")  # fmt: skip
    unknown = set(data.tags_left) | set(data.tags_right)
    unknown -= set(campaign.tags)
    if unknown:
        raise HumanEvalError(f"unknown tag(s): {', '.join(sorted(unknown))}", "error.bad_tag")


def _winner(sides: ItemSides, verdict: str | None) -> str | None:
    if verdict in ("left", "right"):
        return sides.to_item_side(verdict)
    return verdict


def _highlight_side(sides: ItemSides, data: JudgmentInput) -> str | None:
    phrase = (data.highlight or "").strip()
    if not phrase:
        return None
    if data.highlight_side in ("left", "right"):
        return sides.to_item_side(data.highlight_side)
    # Typed or pasted without the selection tool: find the output that contains it.
    inside = [
        s
        for s, sid in (("a", sides.sample_a_id), ("b", sides.sample_b_id))
        if sid is not None and phrase in sides.texts.get(sid, "")
    ]
    return inside[0] if len(inside) == 1 else None


def judgment_row(
    campaign: Campaign, assignment: Assignment, sides: ItemSides, data: JudgmentInput
) -> dict[str, Any]:
    """The row to append for this form (pure: no database access)."""
    tags = [{"tag": t, "side": sides.to_item_side("left")} for t in dict.fromkeys(data.tags_left)]
    if sides.sample_b_id is not None:
        right = sides.to_item_side("right")
        tags += [{"tag": t, "side": right} for t in dict.fromkeys(data.tags_right)]
    ratings: dict[str, int | None] = {"a": None, "b": None}
    if campaign.rating:
        ratings[sides.to_item_side("left")] = data.rating_left
        if sides.sample_b_id is not None:
            ratings[sides.to_item_side("right")] = data.rating_right
    return {
        "project": campaign.project,
        "source": "human",
        "campaign_id": campaign.id,
        "item_id": assignment.item_id,
        "annotator_id": assignment.annotator_id,
        "sample_a_id": sides.sample_a_id,
        "sample_b_id": sides.sample_b_id,
        "left_sample_id": sides.left_sample_id,
        "winner": _winner(sides, data.winner) if campaign.pairwise else None,
        "rating_a": ratings["a"],
        "rating_b": ratings["b"],
        "comment": (data.comment or "").strip() or None,
        "tags": tags,
        "highlight": (data.highlight or "").strip() or None,
        "highlight_side": _highlight_side(sides, data),
        "idempotency_key": f"h{assignment.annotator_id}:{data.idempotency_key}",
    }


def submit_judgment(
    store: Store,
    campaign: Campaign,
    public_id: str,
    annotator_id: int,
    data: JudgmentInput,
    sides: ItemSides | None = None,
) -> SubmitResult:
    """Append this person's judgment of one assignment (see the module docstring).

    ``sides`` (from :func:`hyouka.humans.items.item_view` of this assignment) saves a query
    and, with the output texts, lets a typed highlight be placed in its output.
    """
    _check(campaign, data)
    key = f"h{annotator_id}:{data.idempotency_key}"

    def work(conn: Connection) -> SubmitResult:
        found = conn.execute(
            _MINE_FOR_UPDATE,
            {"public_id": public_id, "person": annotator_id, "campaign": campaign.id},
        ).first()
        if found is None:
            raise HumanEvalError("no such item for you", "error.not_found")
        assignment = assignment_from_row(found._mapping)
        # An open assignment has no judgment yet (the first one marks it done), so the
        # resend and edit lookups are only needed once it is done, expired or skipped; a key
        # reused elsewhere still meets the unique index.
        previous = None
        if assignment.status != "open":
            earlier = _by_key(conn, key)
            if earlier is not None:
                return SubmitResult(earlier, duplicate=True)
            previous = _current_id(conn, assignment)
        shown = sides if sides is not None else _sides(conn, assignment)
        if assignment.left_sample_id not in (None, shown.left_sample_id):
            raise HumanEvalError("these outputs are not this assignment's", "error.generic")
        row = judgment_row(campaign, assignment, shown, data)
        new_id = inserted_id(conn.execute(_INSERT, {**row, "supersedes_id": previous}))
        if data.mark_turn is not None:
            conn.execute(insert(judgment_turns), [turn_row(int(new_id), shown, data)])
        if previous is None:
            _mark_done(conn, assignment)
        return SubmitResult(int(new_id), supersedes_id=previous)

    try:
        return run_write(store, work)
    except IntegrityError:
        # The same key raced in from another process: report the stored one.
        with reading(store) as conn:
            earlier = _by_key(conn, key)
        if earlier is None:
            raise
        return SubmitResult(earlier, duplicate=True)


def turn_row(judgment_id: int, sides: ItemSides, data: JudgmentInput) -> dict[str, Any]:
    """The ``judgment_turns`` row of a form's turn mark (side in item terms: a | b)."""
    side = sides.to_item_side(data.mark_side) if data.mark_side else None
    return {
        "judgment_id": judgment_id,
        "turn": data.mark_turn,
        "kind": data.mark_kind,
        "side": side,
        "text": (data.mark_text or "")[:MAX_COMMENT] or None,
    }


def _by_key(conn: Connection, key: str) -> int | None:
    found = conn.execute(select(judgments.c.id).where(judgments.c.idempotency_key == key)).scalar()
    return None if found is None else int(found)


def _sides(conn: Connection, assignment: Assignment) -> ItemSides:
    item = conn.execute(
        select(campaign_items.c.sample_a_id, campaign_items.c.sample_b_id).where(
            campaign_items.c.id == assignment.item_id
        )
    ).one()
    left = assignment.left_sample_id or int(item.sample_a_id)
    return ItemSides(int(item.sample_a_id), item.sample_b_id, int(left))


def _current_id(conn: Connection, assignment: Assignment) -> int | None:
    found = conn.execute(
        select(judgments.c.id)
        .where(
            judgments.c.item_id == assignment.item_id,
            judgments.c.annotator_id == assignment.annotator_id,
            judgments.c.source == "human",
        )
        .order_by(judgments.c.id.desc())
        .limit(1)
    ).scalar()
    return None if found is None else int(found)


def _mark_done(conn: Connection, assignment: Assignment) -> None:
    conn.execute(_DONE, {"assignment": assignment.id})
    # An expired or skipped assignment judged late still counts: the judgment is kept
    # (never refused), and the item's count goes back up for it.
    regained = 1 if assignment.status in ("expired", "skipped") else 0
    conn.execute(_COUNT_DONE, {"item": assignment.item_id, "regained": regained})


def current_judgment(store: Store, item_id: int, annotator_id: int) -> dict[str, Any] | None:
    """This person's latest judgment of an item (the one no later row supersedes)."""
    query = (
        select(judgments)
        .where(
            judgments.c.item_id == item_id,
            judgments.c.annotator_id == annotator_id,
            judgments.c.source == "human",
        )
        .order_by(judgments.c.id.desc())
        .limit(1)
    )
    with reading(store) as conn:
        row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def screen_values(judgment: Mapping[str, Any], sides: ItemSides) -> dict[str, Any]:
    """A stored judgment in the screen's terms (left / right), to fill the form for an edit."""
    left = sides.side_of_left()
    right = "b" if left == "a" else "a"
    to_screen = {left: "left", right: "right"}
    winner = judgment.get("winner")
    tags: dict[str, list[str]] = {"left": [], "right": []}
    for tag in judgment.get("tags") or ():
        screen = to_screen.get(str(tag.get("side")))
        if screen is not None:
            tags[screen].append(str(tag.get("tag")))
    return {
        "winner": to_screen.get(winner, winner) if winner else None,
        "rating": {
            "left": judgment.get(f"rating_{left}"),
            "right": judgment.get(f"rating_{right}"),
        },
        "tags": tags,
        "comment": judgment.get("comment") or "",
        "highlight": judgment.get("highlight") or "",
        "highlight_side": to_screen.get(judgment.get("highlight_side") or ""),
    }
