"""Aggregates for the admin dashboard, always recomputed from the judgment rows.

Only *current* judgments count: a row that a later row supersedes (an edit) is kept in the
table but left out here. Counts are plain counts; intervals belong to ``hyouka.stats``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, cast, func, or_, select
from sqlalchemy.orm import aliased

from hyouka.humans.campaigns import Campaign
from hyouka.humans.items import as_text
from hyouka.humans.people import annotator_from_row
from hyouka.store.judgments import is_current
from hyouka.store.schema import (
    annotators,
    assignments,
    campaign_items,
    cases,
    judgments,
    samples,
    variants,
)
from hyouka.store.store import Store
from hyouka.store.tx import as_utc, reading


@dataclass(frozen=True)
class CampaignProgress:
    items: int
    overlap: int
    judged: int  # sum over items of distinct people who judged it, capped at the overlap
    complete_items: int

    @property
    def needed(self) -> int:
        return self.items * self.overlap

    @property
    def fraction(self) -> float:
        return self.judged / self.needed if self.needed else 0.0


@dataclass(frozen=True)
class AnnotatorProgress:
    name: str
    group: str
    done: int
    open: int
    skipped: int
    expired: int
    edits: int
    last_at: datetime | None


@dataclass(frozen=True)
class ItemProgress:
    position: int
    case_key: str
    variant_a: str
    variant_b: str | None
    done: int
    assigned: int


@dataclass(frozen=True)
class VariantOutcome:
    variant: str
    wins: int = 0
    ties: int = 0
    losses: int = 0
    both_bad: int = 0
    ratings: int = 0
    rating_sum: int = 0

    @property
    def mean_rating(self) -> float | None:
        return self.rating_sum / self.ratings if self.ratings else None


def campaign_progress(store: Store, campaign: Campaign) -> CampaignProgress:
    capped = case(
        (campaign_items.c.done_count > campaign.overlap, campaign.overlap),
        else_=campaign_items.c.done_count,
    )
    complete = case((campaign_items.c.done_count >= campaign.overlap, 1), else_=0)
    query = select(func.count(), func.sum(capped), func.sum(complete)).where(
        campaign_items.c.campaign_id == campaign.id
    )
    with reading(store) as conn:
        n, judged, done = conn.execute(query).one()
    return CampaignProgress(int(n), campaign.overlap, int(judged or 0), int(done or 0))


def my_done(store: Store, campaign_id: int, annotator_id: int) -> int:
    query = select(func.count()).where(
        assignments.c.campaign_id == campaign_id,
        assignments.c.annotator_id == annotator_id,
        assignments.c.status == "done",
    )
    with reading(store) as conn:
        return int(conn.execute(query).scalar_one())


def annotator_progress(store: Store, campaign: Campaign) -> list[AnnotatorProgress]:
    """Per person: what they did here. Everyone the campaign is for is listed, also those who
    have not opened it yet (zeros, never active); admins only once they took an item."""
    status = assignments.c.status
    query = (
        select(
            annotators.c.name,
            annotators.c.group_name,
            func.sum(case((status == "done", 1), else_=0)),
            func.sum(case((status == "open", 1), else_=0)),
            func.sum(case((status == "skipped", 1), else_=0)),
            func.sum(case((status == "expired", 1), else_=0)),
            func.max(assignments.c.created_at),
        )
        .join(annotators, annotators.c.id == assignments.c.annotator_id)
        .where(assignments.c.campaign_id == campaign.id)
        .group_by(annotators.c.id, annotators.c.name, annotators.c.group_name)
        .order_by(annotators.c.name)
    )
    edits_q = (
        select(judgments.c.annotator_id, func.count(), func.max(judgments.c.created_at))
        .where(judgments.c.campaign_id == campaign.id, judgments.c.supersedes_id.is_not(None))
        .group_by(judgments.c.annotator_id)
    )
    names_q = select(annotators.c.id, annotators.c.name)
    people_q = select(annotators).where(
        annotators.c.project == campaign.project, annotators.c.disabled.is_(False)
    )
    with reading(store) as conn:
        rows = conn.execute(query).all()
        names = {int(i): str(n) for i, n in conn.execute(names_q)}
        edits = {names[int(a)]: int(n) for a, n, _ in conn.execute(edits_q) if a is not None}
        people = [annotator_from_row(r._mapping) for r in conn.execute(people_q)]
    seen = {str(r[0]) for r in rows}
    idle: list[tuple[Any, ...]] = [
        (p.name, p.group, 0, 0, 0, 0, None)
        for p in people
        if p.name not in seen and not p.is_admin and campaign.open_to(p)
    ]
    listed = sorted([*(tuple(r) for r in rows), *idle], key=lambda r: str(r[0]))
    return [
        AnnotatorProgress(
            str(name),
            str(group or ""),
            int(d or 0),
            int(o or 0),
            int(s or 0),
            int(e or 0),
            edits.get(str(name), 0),
            as_utc(last),
        )
        for name, group, d, o, s, e, last in listed
    ]


def item_progress(store: Store, campaign: Campaign, limit: int = 200) -> list[ItemProgress]:
    """Items least judged first (the ones still waiting for people)."""
    sa, sb = aliased(samples), aliased(samples)
    va, vb = aliased(variants), aliased(variants)
    query = (
        select(
            campaign_items.c.position,
            cases.c.case_key,
            va.c.name,
            vb.c.name,
            campaign_items.c.done_count,
            campaign_items.c.assigned_count,
        )
        .join(cases, cases.c.id == campaign_items.c.case_id)
        .join(sa, sa.c.id == campaign_items.c.sample_a_id)
        .join(va, va.c.id == sa.c.variant_id)
        .outerjoin(sb, sb.c.id == campaign_items.c.sample_b_id)
        .outerjoin(vb, vb.c.id == sb.c.variant_id)
        .where(campaign_items.c.campaign_id == campaign.id)
        .order_by(campaign_items.c.done_count, campaign_items.c.position)
        .limit(limit)
    )
    with reading(store) as conn:
        return [
            ItemProgress(int(p), str(k), str(a), b, int(d), int(n))
            for p, k, a, b, d, n in conn.execute(query)
        ]


def _judgment_variants_query(campaign_id: int) -> Any:
    sa, sb = aliased(samples), aliased(samples)
    va, vb = aliased(variants), aliased(variants)
    return (
        select(judgments, va.c.name.label("variant_a"), vb.c.name.label("variant_b"))
        .outerjoin(sa, sa.c.id == judgments.c.sample_a_id)
        .outerjoin(va, va.c.id == sa.c.variant_id)
        .outerjoin(sb, sb.c.id == judgments.c.sample_b_id)
        .outerjoin(vb, vb.c.id == sb.c.variant_id)
        .where(judgments.c.campaign_id == campaign_id, judgments.c.source == "human", is_current())
    )


def variant_outcomes(store: Store, campaign: Campaign) -> list[VariantOutcome]:
    """Per variant: pairwise wins / ties / losses / both-bad, and the ratings it received."""
    tallies: dict[str, Counter[str]] = defaultdict(Counter)
    with reading(store) as conn:
        for row in conn.execute(_judgment_variants_query(campaign.id)):
            _tally(tallies, row)
    return [
        VariantOutcome(
            name, c["wins"], c["ties"], c["losses"], c["both_bad"], c["ratings"], c["rating_sum"]
        )
        for name, c in sorted(tallies.items())
    ]


def _tally(tallies: dict[str, Counter[str]], row: Any) -> None:
    a, b = row.variant_a, row.variant_b
    if a is not None and b is not None and row.winner is not None:
        outcome = {
            "a": (("wins", a), ("losses", b)),
            "b": (("wins", b), ("losses", a)),
            "tie": (("ties", a), ("ties", b)),
            "both_bad": (("both_bad", a), ("both_bad", b)),
        }.get(row.winner, ())
        for key, name in outcome:
            tallies[name][key] += 1
    for name, rating in ((a, row.rating_a), (b, row.rating_b)):
        if name is None:
            continue
        counter = tallies[name]  # every judged variant gets a line, even with no rating
        if rating is not None:
            counter["ratings"] += 1
            counter["rating_sum"] += int(rating)


@dataclass(frozen=True)
class JudgmentRemark:
    """One current judgment of a campaign that has words (a comment, a tag or a marked
    phrase), as the dashboard lists it: both outputs' variants side by side.

    The loop turns the same current judgments (:func:`hyouka.store.judgments.is_current`) into
    one :class:`hyouka.loop.complaints.Complaint` per complained-about *output*; this is the
    judgment-level view of them, for the people running a campaign."""

    id: int
    created_at: datetime | None
    annotator: str
    group: str
    case_key: str
    winner: str | None
    variant_a: str | None
    variant_b: str | None
    comment: str | None
    tags: tuple[tuple[str, str | None], ...]  # (tag, variant it was put on)
    highlight: str | None
    highlight_variant: str | None
    input_text: str = ""  # the case's input as people saw it (for the dashboard, shortened)


def latest_complaints(store: Store, campaign: Campaign, limit: int = 50) -> list[JudgmentRemark]:
    """The newest current judgments with a comment, a tag or a marked phrase."""
    base = _judgment_variants_query(campaign.id).subquery()
    # JSON compares portably as text: '[]' is an empty tag list on both databases.
    has_tags = func.length(cast(base.c.tags, String)) > 2
    wordy = or_(base.c.comment.is_not(None), base.c.highlight.is_not(None), has_tags)
    query = (
        select(
            base,
            annotators.c.name.label("who"),
            annotators.c.group_name,
            cases.c.case_key,
            cases.c.content.label("case_content"),
        )
        .outerjoin(annotators, annotators.c.id == base.c.annotator_id)
        .outerjoin(campaign_items, campaign_items.c.id == base.c.item_id)
        .outerjoin(cases, cases.c.id == campaign_items.c.case_id)
        .where(wordy)
        .order_by(base.c.id.desc())
        .limit(limit)
    )
    with reading(store) as conn:
        return [_complaint(row) for row in conn.execute(query)]


def _tags(row: Any) -> tuple[tuple[str, str | None], ...]:
    names = {"a": row.variant_a, "b": row.variant_b}
    return tuple((str(t.get("tag")), names.get(str(t.get("side")))) for t in row.tags or ())


def _complaint(row: Any) -> JudgmentRemark:
    names = {"a": row.variant_a, "b": row.variant_b}
    tags = _tags(row)
    return JudgmentRemark(
        id=int(row.id),
        created_at=as_utc(row.created_at),
        annotator=str(row.who or ""),
        group=str(row.group_name or ""),
        case_key=str(row.case_key or ""),
        winner=row.winner,
        variant_a=row.variant_a,
        variant_b=row.variant_b,
        comment=row.comment,
        tags=tags,
        highlight=row.highlight,
        highlight_variant=names.get(row.highlight_side) if row.highlight_side else None,
        input_text=_input_text(row.case_content),
    )


def _input_text(content: Any, limit: int = 120) -> str:
    variables = (content or {}).get("vars") or {}
    text = " / ".join(as_text(v) for v in variables.values())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tag_counts(store: Store, campaign: Campaign) -> list[tuple[str, str, int]]:
    """(tag, variant, count) over current judgments, most frequent first."""
    counts: Counter[tuple[str, str]] = Counter()
    with reading(store) as conn:
        for row in conn.execute(_judgment_variants_query(campaign.id)):
            for tag, variant in _tags(row):
                counts[(tag, variant or "?")] += 1
    return [(t, v, n) for (t, v), n in counts.most_common()]
