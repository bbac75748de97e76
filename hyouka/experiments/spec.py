"""The ``experiments:`` section of hyouka.yaml (pydantic models only: imported by the config).

An experiment shows two or more versions of the app to real users, each unit (a user, a
session, a conversation) always the same one, and measures what the users do with them::

    experiments:
      draft-tone:
        variants: [polite, concise]     # the first is the control unless `control:` says
        weights: {polite: 50, concise: 50}
        unit: user                      # user | session | conversation
        ramp: 0.2                       # share of units enrolled (raise it later)
        outcomes:
          thumbs: {kind: thumbs}
          accepted: {kind: accepted}    # draft accepted (1) or edited (0)
          handling_s: {kind: value, better: lower, mde: 20}
        guardrails:
          - {metric: latency_ms, max_increase: 300}
          - {metric: complaint, max_increase: 0.02}
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hyouka.bounds import NAME_MAX, name_problem

OutcomeKind = Literal["thumbs", "complaint", "tag", "accepted", "edited", "value"]
Unit = Literal["user", "session", "conversation"]

# What "better" means for each kind when the config does not say.
DEFAULT_BETTER: dict[str, str] = {
    "thumbs": "higher",  # share of thumbs-up among thumbs
    "complaint": "lower",  # complaints per exposure
    "tag": "lower",  # a quick tag (a complaint's reason) per exposure
    "accepted": "higher",  # drafts accepted as they were
    "edited": "lower",  # drafts the operator had to edit
}
# Guardrail metrics every experiment knows: numeric events the client sends.
BUILTIN_GUARDRAILS = ("latency_ms", "cost", "error", "complaint")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class OutcomeConfig(_Model):
    """One outcome metric: what users did with an output."""

    kind: OutcomeKind = Field(
        description="thumbs, complaint, tag (needs `tag`), accepted, edited, or value (numeric)"
    )
    tag: str | None = Field(None, max_length=100, description="the quick tag, for kind: tag")
    better: Literal["higher", "lower"] | None = Field(
        None, description="which direction is better (default by kind; required for value)"
    )
    mde: float | None = Field(
        None,
        gt=0,
        description="smallest difference worth finding, in the metric's units: the scale of "
        "the sequential test's mixture (default 0.05 for rates; for values a quarter of the "
        "first units' spread)",
    )

    @model_validator(mode="after")
    def _needs(self) -> OutcomeConfig:
        if self.kind == "tag" and not self.tag:
            raise ValueError("an outcome of kind 'tag' needs 'tag: <the quick tag>'")
        if self.kind == "value" and self.better is None:
            raise ValueError("an outcome of kind 'value' needs 'better: higher' or 'lower'")
        return self

    @property
    def direction(self) -> str:
        return self.better or DEFAULT_BETTER.get(self.kind, "higher")

    @property
    def is_rate(self) -> bool:
        return self.kind != "value"


class GuardrailConfig(_Model):
    """A metric that must not get worse than the control by more than ``max_increase``."""

    metric: str = Field(
        max_length=100,
        description="latency_ms, cost, error, complaint, or one of the experiment's outcomes",
    )
    max_increase: float = Field(
        0.0, ge=0, description="allowed increase over the control, in the metric's units"
    )


class ExperimentConfig(_Model):
    """One live experiment."""

    variants: list[str] = Field(min_length=2, max_length=20)
    control: str | None = Field(None, description="default: the first variant")
    weights: dict[str, float] | None = Field(
        None, description="allocation weights per variant (any scale); default: equal"
    )
    unit: Unit = Field("user", description="what is randomised: user, session or conversation")
    ramp: float = Field(
        1.0, gt=0, le=1, description="share of units enrolled; others get the control unlogged"
    )
    outcomes: dict[str, OutcomeConfig] = Field(default_factory=dict)
    guardrails: list[GuardrailConfig] = Field(default_factory=list)
    alpha: float = Field(0.05, gt=0, lt=0.5, description="error rate of the sequential tests")
    seed: int | None = Field(
        None, ge=0, description="hash seed (default: the project's); fixed when first started"
    )
    description: str = ""

    @field_validator("variants")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            problem = name_problem(name, f"the variant name '{name[:40]}'")
            if problem:
                raise ValueError(problem)
        if len(set(value)) != len(value):
            raise ValueError("each variant may appear only once")
        return value

    @field_validator("outcomes")
    @classmethod
    def _outcome_names(cls, value: dict[str, OutcomeConfig]) -> dict[str, OutcomeConfig]:
        for name in value:
            if not name.strip() or len(name) > 100 or name_problem(name):
                raise ValueError(f"'{name[:40]}' cannot be an outcome name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentConfig:
        if self.control is not None and self.control not in self.variants:
            raise ValueError(f"control '{self.control}' is not one of the variants")
        if self.weights is not None:
            unknown = sorted(set(self.weights) - set(self.variants))
            if unknown:
                raise ValueError(f"weights name unknown variant(s): {', '.join(unknown)}")
            if any(w < 0 for w in self.weights.values()):
                raise ValueError("weights cannot be negative")
            if sum(self.weights.get(v, 0.0) for v in self.variants) <= 0:
                raise ValueError("at least one weight must be positive")
        known = {*self.outcomes, *BUILTIN_GUARDRAILS}
        for g in self.guardrails:
            if g.metric not in known:
                raise ValueError(
                    f"guardrail metric '{g.metric}' is neither built in "
                    f"({', '.join(BUILTIN_GUARDRAILS)}) nor an outcome of this experiment"
                )
        return self

    @property
    def control_variant(self) -> str:
        return self.control or self.variants[0]

    def shares(self) -> dict[str, float]:
        """The weights normalised to sum to 1 (equal when not given)."""
        raw = {v: (self.weights or {}).get(v, 0.0 if self.weights else 1.0) for v in self.variants}
        total = sum(raw.values())
        return {v: w / total for v, w in raw.items()}


def experiment_name_problem(name: str) -> str | None:
    if len(name) > NAME_MAX:
        return "an experiment name is at most 200 characters"
    return name_problem(name, f"the experiment name '{name[:40]}'")
