"""Complaints: what people said was wrong, collected from judgments and grouped.

A complaint is one output someone objected to: a tag put on it, a phrase marked in it, or a
comment about it, from a human judgment (campaigns) or from production feedback. Sources are
the *current* judgments only (a row another row supersedes is left out), so a person who
changes their mind withdraws their old complaint.

Which output a comment is about: the side that carries tags; else the loser of a pairwise
verdict (both outputs for "both bad" and ties); else a rated output rated 3 or lower. A comment
on an output rated 4 or 5 is praise, not a complaint. Production feedback with a thumbs-up is
praise too. Praised outputs are what a proposed check *should pass* (see ``preview.py``).

Grouping (:func:`group_complaints`):

- a "never say this" tag (see :data:`NEVER_SAY_TAGS`) on a marked phrase, or a marked phrase
  with no comment: the phrase; phrases that are equal, contain one another, or share a long
  enough stem (prefix or suffix) form one group;
- otherwise a comment: comments whose normalised texts are similar (character-bigram Dice or
  rapidfuzz ratio, after NFKC and case folding, so full/half-width and spacing do not matter)
  form one group, single-link;
- otherwise each tag: one group per tag.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hyouka.loop import queries
from hyouka.store.store import Store
from hyouka.store.tx import utc

# Tags that mean "this phrase must never appear" (compared case-folded, NFKC).
NEVER_SAY_TAGS = frozenset(
    {
        "never say this",
        "never output this",
        "do not say this",
        "don't say this",
        "二度と言わないで",
        "言わないで",
        "言ってはいけない",
        "禁止表現",
        "ng表現",
        "ngワード",
    }
)
TEXT_SIMILARITY = 0.5  # Dice on character bigrams at or above which two comments group
RATIO_SIMILARITY = 75.0  # or rapidfuzz ratio (0-100) at or above this
STEM_SHARE = 0.5  # a shared stem must cover this share of the shorter phrase (and ≥ 2 chars)


@dataclass(frozen=True)
class Complaint:
    """One complained-about output and what was said about it."""

    key: str  # "j<judgment id>:<side>": unique per judgment and output
    judgment_id: int
    source: str  # human | production
    who: str
    group: str
    created_at: datetime
    output: str
    sample_id: int | None = None
    case_id: int | None = None
    case_key: str | None = None
    case: Mapping[str, Any] | None = None  # the case's stored content (for the regressions)
    input_text: str | None = None
    variant: str | None = None  # name@version when known
    tags: tuple[str, ...] = ()
    comment: str | None = None
    highlight: str | None = None

    @property
    def never_say(self) -> bool:
        return any(is_never_say(t) for t in self.tags)

    @property
    def kind(self) -> str:
        """phrase | text | tag: what the complaint is grouped by."""
        if self.highlight and (self.never_say or not self.comment):
            return "phrase"
        if self.comment:
            return "text"
        return "tag"

    @property
    def text(self) -> str:
        """What was said, in one line (for logs and provenance)."""
        parts = []
        if self.tags:
            parts.append(" / ".join(self.tags))
        if self.highlight:
            parts.append(f"「{self.highlight}」")
        if self.comment:
            parts.append(self.comment)
        return ": ".join(parts)


@dataclass(frozen=True)
class Praise:
    """An output someone liked (a pairwise winner, a 4-5 rating, a thumbs-up)."""

    key: str
    output: str
    sample_id: int | None
    case: Mapping[str, Any] | None
    input_text: str | None
    variant: str | None


@dataclass(frozen=True)
class ComplaintGroup:
    """Complaints about the same thing: one proposal is made per group."""

    kind: str  # phrase | text | tag
    label: str  # the phrase, the first comment, or the tag
    complaints: tuple[Complaint, ...]
    phrases: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.complaints)

    @property
    def raised_at(self) -> datetime:
        return min(c.created_at for c in self.complaints)


@dataclass
class Feedback:
    """All current complaints and praise of a project."""

    complaints: list[Complaint] = field(default_factory=list)
    praise: list[Praise] = field(default_factory=list)


# ----------------------------------------------------------------------------- text


@functools.lru_cache(maxsize=1)
def _normalizer() -> Any:
    from hyouka.text.normalize import get_normalizer

    return get_normalizer("default")


def normalize(text: str) -> str:
    """NFKC, 〜/～ and dashes unified, whitespace collapsed, case folded."""
    return str(_normalizer().apply(text)).casefold().strip()


def is_never_say(tag: str) -> bool:
    return normalize(tag) in NEVER_SAY_TAGS


def is_japanese(text: str) -> bool:
    from hyouka.scorers.metrics_text import japanese_ratio

    return japanese_ratio(text) >= 0.3


def _bigrams(text: str) -> set[str]:
    squeezed = "".join(ch for ch in normalize(text) if ch.isalnum())
    if len(squeezed) < 2:
        return {squeezed} if squeezed else set()
    return {squeezed[i : i + 2] for i in range(len(squeezed) - 1)}


def text_similarity(a: str, b: str) -> float:
    """0-1: the larger of character-bigram Dice and rapidfuzz's ratio / 100.

    Bigrams work for Japanese, which has no spaces to split words on; the ratio catches
    short texts that differ by a character or two.
    """
    from rapidfuzz import fuzz

    ga, gb = _bigrams(a), _bigrams(b)
    dice = 2 * len(ga & gb) / (len(ga) + len(gb)) if ga and gb else 0.0
    return max(dice, float(fuzz.ratio(normalize(a), normalize(b))) / 100)


def similar_texts(a: str, b: str) -> bool:
    return text_similarity(a, b) >= min(TEXT_SIMILARITY, RATIO_SIMILARITY / 100)


def shared_stem(phrases: Sequence[str]) -> tuple[str, str]:
    """The longest common prefix and suffix of the phrases (as written)."""
    prefix = phrases[0]
    suffix = phrases[0]
    for p in phrases[1:]:
        while not p.startswith(prefix):
            prefix = prefix[:-1]
        while not p.endswith(suffix):
            suffix = suffix[1:]
    return prefix, suffix


def related_phrases(a: str, b: str) -> bool:
    """Equal, one inside the other, or sharing a stem over half the shorter one."""
    na, nb = normalize(a), normalize(b)
    if not na or not nb:
        return False
    if na in nb or nb in na:
        return True
    prefix, suffix = shared_stem([na, nb])
    stem = max(len(prefix), len(suffix))
    return stem >= 2 and stem >= STEM_SHARE * min(len(na), len(nb))


# ----------------------------------------------------------------------------- grouping


def _components(items: Sequence[Any], linked: Any) -> list[list[int]]:
    """Single-link clusters (union-find) of ``items`` under the ``linked(a, b)`` relation."""
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(items)):
        for j in range(i):
            if find(i) != find(j) and linked(items[i], items[j]):
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def group_complaints(complaints: Iterable[Complaint]) -> list[ComplaintGroup]:
    """Group complaints (see the module docstring); oldest group first."""
    found = sorted(complaints, key=lambda c: (c.created_at, c.key))
    out: list[ComplaintGroup] = []
    phrased = [c for c in found if c.kind == "phrase"]
    for members in _components(phrased, lambda a, b: related_phrases(a.highlight, b.highlight)):
        group = [phrased[i] for i in members]
        phrases = tuple(dict.fromkeys(str(c.highlight).strip() for c in group))
        out.append(ComplaintGroup("phrase", phrases[0], tuple(group), phrases))
    texts = [c for c in found if c.kind == "text"]
    for members in _components(texts, lambda a, b: similar_texts(a.comment, b.comment)):
        group = [texts[i] for i in members]
        out.append(ComplaintGroup("text", str(group[0].comment), tuple(group)))
    by_tag: dict[str, list[Complaint]] = {}
    labels: dict[str, str] = {}
    for c in found:
        if c.kind != "tag":
            continue
        for tag in c.tags:
            by_tag.setdefault(normalize(tag), []).append(c)
            labels.setdefault(normalize(tag), tag)
    for norm, group in by_tag.items():
        out.append(ComplaintGroup("tag", labels[norm], tuple(group)))
    out.sort(key=lambda g: (g.raised_at, g.kind, g.label))
    return out


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _SampleInfo:
    output: str
    case_id: int
    case_key: str
    case: Mapping[str, Any]
    variant: str


def _samples(store: Store, ids: set[int]) -> dict[int, _SampleInfo]:
    return {
        sid: _SampleInfo(str(r.output or ""), int(r.case_id), str(r.case_key),
                         dict(r.content or {}), f"{r.name}@{r.version}")
        for sid, r in queries.samples_with_cases(store, ids).items()
    }  # fmt: skip


def _variant_labels(store: Store, ids: set[int]) -> dict[int, str]:
    found = store.variants_by_id(ids) if ids else {}
    return {k: f"{v['name']}@{v['version']}" for k, v in found.items()}


def _tags_by_side(row: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for t in row.tags or ():
        if isinstance(t, Mapping):
            out.setdefault(str(t.get("side") or "a"), []).append(str(t.get("tag")))
        else:  # a plain list of tag names (older rows, hand-written imports)
            out.setdefault("a", []).append(str(t))
    return out


def _comment_sides(row: Any, tagged: Mapping[str, list[str]]) -> list[str]:
    """Which outputs a judgment's comment is about (see the module docstring)."""
    sides = ["a"] + (["b"] if row.sample_b_id is not None else [])
    if len(tagged) == 1:
        return list(tagged)
    if row.winner in ("a", "b") and len(sides) == 2:
        return ["b" if row.winner == "a" else "a"]
    rated = {s: getattr(row, f"rating_{s}") for s in sides}
    if any(r is not None for r in rated.values()):
        return [s for s, r in rated.items() if r is not None and r <= 3]
    return sides


def _liked_sides(row: Any) -> list[str]:
    sides = ["a"] + (["b"] if row.sample_b_id is not None else [])
    liked = [row.winner] if row.winner in ("a", "b") and len(sides) == 2 else []
    liked += [s for s in sides if (getattr(row, f"rating_{s}") or 0) >= 4 and s not in liked]
    return liked


def _human(row: Any, info: Mapping[int, _SampleInfo], fb: Feedback) -> None:
    tagged = _tags_by_side(row)
    comment = (row.comment or "").strip() or None
    comment_sides = _comment_sides(row, tagged) if comment else []
    highlight = (row.highlight or "").strip() or None
    mark_side = row.highlight_side or ("a" if row.sample_b_id is None else None)
    if highlight and mark_side is None:  # a pasted phrase: the output that contains it
        inside = [s for s in ("a", "b") if highlight in _side_text(row, s, info)]
        mark_side = inside[0] if len(inside) == 1 else None
    complained: set[str] = set()
    for side in ("a", "b"):
        sample_id = getattr(row, f"sample_{side}_id")
        if sample_id is None or int(sample_id) not in info:
            continue
        tags = tuple(tagged.get(side, ()))
        mark = highlight if mark_side == side else None
        said = comment if side in comment_sides else None
        if not (tags or mark or said):
            continue
        complained.add(side)
        s = info[int(sample_id)]
        fb.complaints.append(
            Complaint(
                key=f"j{row.id}:{side}",
                judgment_id=int(row.id),
                source="human",
                who=str(row.who or f"annotator {row.annotator_id}"),
                group=str(row.group_name or ""),
                created_at=utc(row.created_at),
                output=s.output,
                sample_id=int(sample_id),
                case_id=s.case_id,
                case_key=s.case_key,
                case=s.case,
                variant=s.variant,
                tags=tags,
                comment=said,
                highlight=mark,
            )
        )
    for side in _liked_sides(row):
        sample_id = getattr(row, f"sample_{side}_id")
        if side in complained or sample_id is None or int(sample_id) not in info:
            continue
        s = info[int(sample_id)]
        fb.praise.append(
            Praise(f"j{row.id}:{side}", s.output, int(sample_id), s.case, None, s.variant)
        )


def _side_text(row: Any, side: str, info: Mapping[int, _SampleInfo]) -> str:
    sample_id = getattr(row, f"sample_{side}_id")
    found = info.get(int(sample_id)) if sample_id is not None else None
    return found.output if found else ""


def _production(row: Any, labels: Mapping[int, str], fb: Feedback) -> None:
    variant = labels.get(int(row.variant_id)) if row.variant_id else None
    output = str(row.output_text or "")
    if row.thumb is not None and row.thumb > 0:
        if output:
            fb.praise.append(Praise(f"j{row.id}:a", output, None, None, row.input_text, variant))
        return
    tags = tuple(t for side in _tags_by_side(row).values() for t in side)
    comment = (row.comment or "").strip() or None
    highlight = (row.highlight or "").strip() or None
    if not (tags or comment or highlight) or not output:
        return
    fb.complaints.append(
        Complaint(
            key=f"j{row.id}:a",
            judgment_id=int(row.id),
            source="production",
            who=str(row.external_ref or "production"),
            group="production",
            created_at=utc(row.created_at),
            output=output,
            input_text=row.input_text,
            variant=variant,
            tags=tags,
            comment=comment,
            highlight=highlight,
        )
    )


def collect_feedback(store: Store, project: str) -> Feedback:
    """Every current complaint and praised output of ``project``, oldest first."""
    rows = queries.current_feedback_judgments(store, project)
    sample_ids = {int(s) for r in rows for s in (r.sample_a_id, r.sample_b_id) if s is not None}
    info = _samples(store, sample_ids)
    labels = _variant_labels(store, {int(r.variant_id) for r in rows if r.variant_id})
    fb = Feedback()
    for row in rows:
        if row.source == "human":
            _human(row, info, fb)
        else:
            _production(row, labels, fb)
    return fb


def collect_complaints(store: Store, project: str) -> list[Complaint]:
    return collect_feedback(store, project).complaints
