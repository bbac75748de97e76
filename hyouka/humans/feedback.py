"""Feedback from a production app's real users, stored as judgments of source "production".

The app sends a thumbs-up/down, a comment, tags, and optionally the input and output text, its
own reference for the output, and the variant that produced it. An idempotency key (the app's,
or one drawn here) makes a retried request count once.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from hyouka.humans.judging import SubmitResult
from hyouka.humans.people import HumanEvalError
from hyouka.store.schema import judgments, variants
from hyouka.store.store import Store
from hyouka.store.tx import inserted_id, reading, run_write

THUMBS = {"up": 1, "down": -1}


@dataclass(frozen=True)
class Feedback:
    thumb: str | None = None  # up | down
    comment: str | None = None
    tags: Sequence[str] = ()
    input_text: str | None = None
    output_text: str | None = None
    external_ref: str | None = None
    variant: str | None = None
    idempotency_key: str | None = None


def _check(fb: Feedback) -> None:
    if fb.thumb is not None and fb.thumb not in THUMBS:
        raise HumanEvalError("thumb must be 'up' or 'down'", "error.bad_thumb")
    if fb.thumb is None and not (fb.comment or "").strip() and not fb.tags:
        raise HumanEvalError("feedback needs a thumb, a comment or a tag", "error.empty_feedback")
    if fb.idempotency_key is not None and not 1 <= len(fb.idempotency_key) <= 80:
        raise HumanEvalError("the idempotency key must be 1 to 80 characters", "error.form_key")


def _variant_id(conn: Connection, project: str, name: str) -> int:
    found = conn.execute(
        select(variants.c.id)
        .where(variants.c.project == project, variants.c.name == name)
        .order_by(variants.c.created_at.desc(), variants.c.id.desc())
        .limit(1)
    ).scalar()
    if found is None:
        raise HumanEvalError(f"no variant named '{name}' in this project", "error.unknown_variant")
    return int(found)


def record_feedback(store: Store, project: str, api_key_id: int, fb: Feedback) -> SubmitResult:
    """Store one piece of production feedback (a resent one with the same key counts once)."""
    _check(fb)
    key = f"p{api_key_id}:{fb.idempotency_key or secrets.token_urlsafe(16)}"

    def work(conn: Connection) -> SubmitResult:
        earlier = conn.execute(
            select(judgments.c.id).where(judgments.c.idempotency_key == key)
        ).scalar()
        if earlier is not None:
            return SubmitResult(int(earlier), duplicate=True)
        variant_id = _variant_id(conn, project, fb.variant) if fb.variant else None
        new_id = inserted_id(
            conn.execute(
                insert(judgments).values(
                    project=project,
                    source="production",
                    thumb=THUMBS.get(fb.thumb or ""),
                    comment=(fb.comment or "").strip() or None,
                    tags=[{"tag": t, "side": "a"} for t in dict.fromkeys(fb.tags)],
                    input_text=fb.input_text,
                    output_text=fb.output_text,
                    external_ref=fb.external_ref,
                    variant_id=variant_id,
                    idempotency_key=key,
                )
            )
        )
        return SubmitResult(int(new_id))

    try:
        return run_write(store, work)
    except IntegrityError:
        with reading(store) as conn:
            earlier = conn.execute(
                select(judgments.c.id).where(judgments.c.idempotency_key == key)
            ).scalar()
        if earlier is None:
            raise
        return SubmitResult(int(earlier), duplicate=True)
