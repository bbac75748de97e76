"""Character-level differences between two texts (Japanese has no spaces to split words on).

The result is a list of ``(kind, text)`` segments — ``same``, ``del`` (only in A), ``ins``
(only in B) — that a template shows as escaped text in spans: no markup is ever built from
the texts themselves.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

# Beyond this many characters on a side the diff falls back to lines then characters within
# changed lines (SequenceMatcher is quadratic in the worst case).
CHAR_LIMIT = 6000


@dataclass(frozen=True)
class Segment:
    kind: str  # same | del | ins
    text: str


def _chars(a: str, b: str) -> list[Segment]:
    out: list[Segment] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(Segment("same", a[i1:i2]))
            continue
        if i2 > i1:
            out.append(Segment("del", a[i1:i2]))
        if j2 > j1:
            out.append(Segment("ins", b[j1:j2]))
    return out


def char_diff(a: str, b: str) -> list[Segment]:
    """The segments turning ``a`` into ``b``, character by character."""
    if len(a) <= CHAR_LIMIT and len(b) <= CHAR_LIMIT:
        return _merge(_chars(a, b))
    out: list[Segment] = []
    la, lb = a.splitlines(keepends=True), b.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, la, lb, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        left, right = "".join(la[i1:i2]), "".join(lb[j1:j2])
        if op == "equal":
            out.append(Segment("same", left))
        elif len(left) <= CHAR_LIMIT and len(right) <= CHAR_LIMIT:
            out.extend(_chars(left, right))
        else:
            out.extend([Segment("del", left), Segment("ins", right)])
    return _merge(out)


def _merge(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for s in segments:
        if not s.text:
            continue
        if merged and merged[-1].kind == s.kind:
            merged[-1] = Segment(s.kind, merged[-1].text + s.text)
        else:
            merged.append(s)
    return merged


def changed_share(segments: list[Segment]) -> float:
    """The share of characters that differ (0: identical, 1: nothing in common)."""
    total = sum(len(s.text) for s in segments)
    changed = sum(len(s.text) for s in segments if s.kind != "same")
    return changed / total if total else 0.0


def line_diff(a: str, b: str) -> list[Segment]:
    """Line-level segments (for prompts and params between versions), then characters
    within each changed block."""
    return char_diff(a, b)
