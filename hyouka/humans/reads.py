"""Reading judgments back (for the JSON API, exports and the statistics), with variant names.

Admin-only data: these rows name the variants behind each output.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from hyouka.store.judgments import is_current
from hyouka.store.schema import annotators, campaign_items, cases, judgments, samples, variants
from hyouka.store.store import Store
from hyouka.store.tx import as_utc, reading


def list_judgments(
    store: Store,
    project: str,
    *,
    campaign_id: int | None = None,
    source: str | None = None,
    current_only: bool = False,
    after_id: int = 0,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Judgments in id order after ``after_id`` (page with the last id you received)."""
    sa, sb = aliased(samples), aliased(samples)
    va, vb, vp = aliased(variants), aliased(variants), aliased(variants)
    query = (
        select(
            judgments,
            va.c.name.label("variant_a"),
            vb.c.name.label("variant_b"),
            vp.c.name.label("variant"),
            annotators.c.name.label("annotator"),
            annotators.c.group_name.label("group"),
            cases.c.case_key,
            sa.c.sample_index,
        )
        .outerjoin(sa, sa.c.id == judgments.c.sample_a_id)
        .outerjoin(va, va.c.id == sa.c.variant_id)
        .outerjoin(sb, sb.c.id == judgments.c.sample_b_id)
        .outerjoin(vb, vb.c.id == sb.c.variant_id)
        .outerjoin(vp, vp.c.id == judgments.c.variant_id)
        .outerjoin(annotators, annotators.c.id == judgments.c.annotator_id)
        .outerjoin(campaign_items, campaign_items.c.id == judgments.c.item_id)
        .outerjoin(cases, cases.c.id == campaign_items.c.case_id)
        .where(judgments.c.project == project, judgments.c.id > after_id)
        .order_by(judgments.c.id)
        .limit(max(1, min(limit, 5000)))
    )
    if campaign_id is not None:
        query = query.where(judgments.c.campaign_id == campaign_id)
    if source is not None:
        query = query.where(judgments.c.source == source)
    if current_only:
        query = query.where(is_current())
    with reading(store) as conn:
        return [_judgment_dict(row._mapping) for row in conn.execute(query)]


def _judgment_dict(row: Any) -> dict[str, Any]:
    out = {k: row[k] for k in row if k not in ("idempotency_key",)}
    out["created_at"] = as_utc(row["created_at"])
    out["thumb"] = {1: "up", -1: "down"}.get(row["thumb"]) if row["thumb"] is not None else None
    out["group"] = row["group"] or None
    return out
