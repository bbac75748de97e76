"""Request and response shapes of the JSON API (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from hyouka.bounds import (
    COMMENT_MAX,
    LONG_TEXT_MAX,
    NAME_MAX,
    REF_MAX,
    TAG_MAX,
    TAGS_MAX,
    text_problem,
)


def _storable(text: str) -> str:
    problem = text_problem(text)
    if problem:
        raise ValueError(f"the text {problem}")
    return text


# Bounded strings that a database can store (no NUL, no lone surrogate).
Comment = Annotated[str, Field(max_length=COMMENT_MAX), AfterValidator(_storable)]
LongText = Annotated[str, Field(max_length=LONG_TEXT_MAX), AfterValidator(_storable)]
Ref = Annotated[str, Field(max_length=REF_MAX), AfterValidator(_storable)]
Name = Annotated[str, Field(max_length=NAME_MAX), AfterValidator(_storable)]
Key = Annotated[str, Field(max_length=80), AfterValidator(_storable)]
Tag = Annotated[str, Field(max_length=TAG_MAX), AfterValidator(_storable)]


class ErrorOut(BaseModel):
    error: str = Field(description="a stable code, e.g. error.bad_thumb")
    message: str = Field(description="what went wrong, in the caller's language")


class RunOut(BaseModel):
    id: int
    uid: str
    status: str
    seed: int
    samples: int
    n_samples: int | None = None
    n_errors: int | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None


class VariantOut(BaseModel):
    id: int
    name: str
    version: str
    kind: str
    model: str | None = None


class RunDetailOut(RunOut):
    variants: list[VariantOut]
    config: dict[str, Any]


class CampaignOut(BaseModel):
    id: int
    name: str
    run_id: int
    mode: str
    overlap: int
    status: str
    tags: list[str]
    groups: list[str] = Field(description="annotator groups who judge it; empty: everyone")
    selection: dict[str, Any] | None = Field(
        None,
        description="judge-first campaigns: the judge, and how many items it left unsettled, "
        "did not judge and settled (served in that order)",
    )
    seed: int
    items: int
    judged: int = Field(description="distinct (item, person) judgments, capped at the overlap")
    needed: int


class VariantOutcomeOut(BaseModel):
    variant: str
    wins: int
    ties: int
    losses: int
    both_bad: int
    ratings: int
    mean_rating: float | None


class CampaignDetailOut(CampaignOut):
    outcomes: list[VariantOutcomeOut]


class TagOut(BaseModel):
    tag: str
    side: str | None = None


class JudgmentOut(BaseModel):
    """One judgment. ``winner`` a/b and ``rating_a``/``rating_b`` refer to ``sample_a_id`` /
    ``sample_b_id``; ``left_sample_id`` is the output the person saw on the left."""

    id: int
    source: Literal["human", "judge", "production"] | str
    campaign_id: int | None
    item_id: int | None
    case_key: str | None
    sample_index: int | None
    annotator: str | None
    group: str | None
    sample_a_id: int | None
    sample_b_id: int | None
    variant_a: str | None
    variant_b: str | None
    left_sample_id: int | None
    winner: str | None
    rating_a: int | None
    rating_b: int | None
    comment: str | None
    tags: list[TagOut]
    highlight: str | None
    highlight_side: str | None
    thumb: str | None
    input_text: str | None
    output_text: str | None
    external_ref: str | None
    variant: str | None
    supersedes_id: int | None
    created_at: datetime | None


class JudgmentPage(BaseModel):
    judgments: list[JudgmentOut]
    next_after_id: int | None = Field(description="pass as after_id for the next page")


class FeedbackIn(BaseModel):
    """A real user's feedback on one output of your production app. Every text is bounded
    (``hyouka/bounds.py``) and may hold no NUL character or lone surrogate."""

    thumb: Literal["up", "down"] | None = None
    comment: Comment | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=TAGS_MAX)
    input_text: LongText | None = None
    output_text: LongText | None = None
    external_ref: Ref | None = Field(None, description="your id for the output")
    variant: Name | None = Field(None, description="the variant that answered")
    idempotency_key: Key | None = Field(
        None, description="same key = same feedback (or use Idempotency-Key)"
    )
    trace_id: Key | None = Field(
        None,
        description="the OpenTelemetry trace of the output (32 hex digits); see docs/traces.md",
    )
    span_id: Key | None = Field(None, description="its LLM span (16 hex digits); default: the last")


class FeedbackOut(BaseModel):
    id: int
    duplicate: bool = Field(description="true when this key was already recorded")
