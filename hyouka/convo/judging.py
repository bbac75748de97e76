"""People judging conversations: which turn a mark points at, checked against the item."""

from __future__ import annotations

import dataclasses

from hyouka.humans.items import ItemView
from hyouka.humans.judging import JudgmentInput


def with_marked_text(view: ItemView, data: JudgmentInput) -> JudgmentInput:
    """``data`` with the marked turn's text taken from the item (never from the browser); a
    turn the item does not have becomes index -1, which validation refuses (a 400)."""
    turn = data.mark_turn
    if turn is None:
        return data
    text: str | None = None
    if data.mark_side in ("left", "right"):
        out = view.left if data.mark_side == "left" else view.right
        if out is not None and out.dialogue:
            text = next((t.text for t in out.dialogue if t.index == turn), None)
        elif out is not None and turn == view.next_turn:
            text = out.text
    else:
        text = next((t.text for t in view.conversation if t.index == turn), None)
    if text is None:
        return dataclasses.replace(data, mark_turn=-1)
    return dataclasses.replace(data, mark_text=text)
