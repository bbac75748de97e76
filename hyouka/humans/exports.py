"""Getting judgments out: every vote, rating, complaint and production thumb, with what was
judged; and the people's pairwise preferences as preference pairs for DPO-style fine-tuning.

Admin-only data: rows name the variants behind each output and the person who judged.

``judgment_rows`` gives one row per stored judgment, oldest first: by default only the current
ones (an edited judgment's latest row), with ``history`` every row, the superseded ones marked
``current = False`` (pages are read one after another: a judgment edited during the export can
appear as both rows). Side ``a``/``b`` is the item's stored order (``variant_a`` is the variant
named first when the campaign was made); ``shown_left`` says which of them the person saw on
the left. Pages of 1,000 rows keep memory flat in the number of judgments.

``preference_pairs`` gives one row per pairwise item the people settled: the current human
votes for ``a`` and for ``b`` (ties and "both bad" count for neither) and the output with
strictly more votes is ``chosen``. ``prompt`` is the input as people saw it (one variable:
its text; several: ``name: text`` lines), ``chosen`` and ``rejected`` the two outputs: the
prompt/chosen/rejected layout that preference trainers such as TRL's DPOTrainer read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from hyouka.humans.campaigns import Campaign
from hyouka.humans.items import as_text, load_item
from hyouka.store.judgments import is_current
from hyouka.store.schema import (
    annotators,
    campaign_items,
    campaigns,
    cases,
    judgments,
    samples,
    variants,
)
from hyouka.store.store import Store
from hyouka.store.tx import as_utc, reading

JUDGMENT_COLUMNS = [
    "id",
    "source",
    "campaign",
    "item_position",
    "case_id",
    "sample_index",
    "input",
    "variant_a",
    "variant_b",
    "output_a",
    "output_b",
    "shown_left",
    "winner",
    "winner_variant",
    "rating_a",
    "rating_b",
    "comment",
    "tags_a",
    "tags_b",
    "highlight",
    "highlight_side",
    "annotator",
    "group",
    "judge",
    "thumb",
    "variant",
    "output_text",
    "external_ref",
    "created_at",
    "supersedes_id",
    "current",
]

PAIR_COLUMNS = [
    "prompt",
    "chosen",
    "rejected",
    "campaign",
    "case_id",
    "sample_index",
    "variant_chosen",
    "variant_rejected",
    "votes_chosen",
    "votes_rejected",
    "votes",
]

PAGE = 1000


def _query(project: str) -> Select[Any]:
    sa, sb = aliased(samples), aliased(samples)
    va, vb = aliased(variants), aliased(variants)
    judge, named = aliased(variants), aliased(variants)
    return (
        select(
            judgments,
            campaigns.c.name.label("campaign"),
            campaign_items.c.position,
            cases.c.case_key,
            cases.c.content.label("case_content"),
            sa.c.sample_index,
            sa.c.output.label("output_a"),
            sb.c.output.label("output_b"),
            va.c.name.label("variant_a"),
            vb.c.name.label("variant_b"),
            judge.c.name.label("judge"),
            named.c.name.label("variant"),
            annotators.c.name.label("annotator"),
            annotators.c.group_name,
            is_current().label("current"),
        )
        .outerjoin(campaigns, campaigns.c.id == judgments.c.campaign_id)
        .outerjoin(campaign_items, campaign_items.c.id == judgments.c.item_id)
        .outerjoin(sa, sa.c.id == judgments.c.sample_a_id)
        .outerjoin(sb, sb.c.id == judgments.c.sample_b_id)
        .outerjoin(va, va.c.id == sa.c.variant_id)
        .outerjoin(vb, vb.c.id == sb.c.variant_id)
        .outerjoin(cases, cases.c.id == sa.c.case_id)
        .outerjoin(judge, judge.c.id == judgments.c.judge_variant_id)
        .outerjoin(named, named.c.id == judgments.c.variant_id)
        .outerjoin(annotators, annotators.c.id == judgments.c.annotator_id)
        .where(judgments.c.project == project)
        .order_by(judgments.c.id)
        .limit(PAGE)
    )


def judgment_rows(
    store: Store,
    project: str,
    *,
    campaign: Campaign | None = None,
    source: str | None = None,
    history: bool = False,
) -> Iterator[dict[str, Any]]:
    """Every judgment of the project (or of one campaign, or of one source), oldest first."""
    query = _query(project)
    if campaign is not None:
        query = query.where(judgments.c.campaign_id == campaign.id)
    if source is not None:
        query = query.where(judgments.c.source == source)
    if not history:
        query = query.where(is_current())
    after = 0
    while True:
        with reading(store) as conn:
            page = conn.execute(query.where(judgments.c.id > after)).all()
        for row in page:
            yield _judgment_row(row._mapping)
        if len(page) < PAGE:
            return
        after = int(page[-1].id)


def _input_text(content: Mapping[str, Any] | None) -> str | None:
    variables = (content or {}).get("vars") or {}
    if not variables:
        return None
    if len(variables) == 1:
        return _text(next(iter(variables.values())))
    return "\n".join(f"{k}: {_text(v)}" for k, v in variables.items())


def _text(value: Any) -> str:
    return as_text(value)  # as the judging screen shows it


def _judgment_row(r: Mapping[Any, Any]) -> dict[str, Any]:
    winner = r["winner"]
    names = {"a": r["variant_a"], "b": r["variant_b"]}
    tags: dict[str, list[str]] = {"a": [], "b": []}
    for tag in r["tags"] or ():
        side = tag.get("side") if isinstance(tag, dict) else None
        text = tag.get("tag") if isinstance(tag, dict) else tag
        tags["b" if side == "b" else "a"].append(str(text))
    shown_left = None  # a judge saw both orders: no one side was shown on the left
    if r["left_sample_id"] is not None and r["source"] != "judge":
        shown_left = "a" if r["left_sample_id"] == r["sample_a_id"] else "b"
    return {
        "id": int(r["id"]),
        "source": r["source"],
        "campaign": r["campaign"],
        # from 1, as the dashboard numbers items
        "item_position": None if r["position"] is None else int(r["position"]) + 1,
        "case_id": r["case_key"],
        "sample_index": r["sample_index"],
        "input": _input_text(r["case_content"]) or r["input_text"],
        "variant_a": r["variant_a"],
        "variant_b": r["variant_b"],
        "output_a": r["output_a"],
        "output_b": r["output_b"],
        "shown_left": shown_left,
        "winner": winner,
        "winner_variant": names.get(winner) if winner else None,  # None: tie or both bad
        "rating_a": r["rating_a"],
        "rating_b": r["rating_b"],
        "comment": r["comment"],
        "tags_a": tags["a"],
        "tags_b": tags["b"],
        "highlight": r["highlight"],
        "highlight_side": r["highlight_side"],
        "annotator": r["annotator"],
        "group": r["group_name"] or None,
        "judge": r["judge"],
        "thumb": {1: "up", -1: "down"}.get(r["thumb"]) if r["thumb"] is not None else None,
        "variant": r["variant"],
        "output_text": r["output_text"],
        "external_ref": r["external_ref"],
        "created_at": as_utc(r["created_at"]),
        "supersedes_id": r["supersedes_id"],
        "current": bool(r["current"]),
    }


def preference_pairs(store: Store, campaign: Campaign) -> Iterator[dict[str, Any]]:
    """The items of a pairwise campaign whose current human votes favour one output."""
    votes: dict[int, dict[str, int]] = {}
    query = (
        select(judgments.c.item_id, judgments.c.winner)
        .where(
            judgments.c.campaign_id == campaign.id,
            judgments.c.source == "human",
            judgments.c.winner.in_(["a", "b", "tie", "both_bad"]),
            is_current(),
        )
        .order_by(judgments.c.item_id)
    )
    with reading(store) as conn:
        for item_id, winner in conn.execute(query):
            counts = votes.setdefault(int(item_id), {"a": 0, "b": 0, "all": 0})
            counts["all"] += 1
            if winner in ("a", "b"):
                counts[winner] += 1
        names = {
            int(i): (int(p), str(va), str(vb), int(index))
            for i, p, va, vb, index in conn.execute(_item_variants(campaign.id))
        }
    for item_id in sorted(votes, key=lambda i: names[i][0]):
        counts = votes[item_id]
        if counts["a"] == counts["b"]:
            continue
        content = load_item(store, item_id)
        assert content.sample_b_id is not None  # a pairwise item (inner join above)
        won = "a" if counts["a"] > counts["b"] else "b"
        chosen, rejected = (
            (content.sample_a_id, content.sample_b_id)
            if won == "a"
            else (content.sample_b_id, content.sample_a_id)
        )
        _, variant_a, variant_b, sample_index = names[item_id]
        inputs = content.inputs
        prompt = inputs[0][1] if len(inputs) == 1 else "\n".join(f"{k}: {v}" for k, v in inputs)
        yield {
            "prompt": prompt,
            "chosen": content.outputs[chosen].text,
            "rejected": content.outputs[rejected].text,
            "campaign": campaign.name,
            "case_id": content.case_key,
            "sample_index": sample_index,
            "variant_chosen": variant_a if won == "a" else variant_b,
            "variant_rejected": variant_b if won == "a" else variant_a,
            "votes_chosen": counts[won],
            "votes_rejected": counts["b" if won == "a" else "a"],
            "votes": counts["all"],
        }


def _item_variants(campaign_id: int) -> Select[Any]:
    sa, sb = aliased(samples), aliased(samples)
    va, vb = aliased(variants), aliased(variants)
    return (
        select(
            campaign_items.c.id, campaign_items.c.position, va.c.name, vb.c.name, sa.c.sample_index
        )
        .join(sa, sa.c.id == campaign_items.c.sample_a_id)
        .join(sb, sb.c.id == campaign_items.c.sample_b_id)
        .join(va, va.c.id == sa.c.variant_id)
        .join(vb, vb.c.id == sb.c.variant_id)
        .where(campaign_items.c.campaign_id == campaign_id)
    )
