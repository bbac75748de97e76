"""The check contract: metadata, a resolved spec, and a ``score`` method.

A check class carries a :class:`CheckMeta` (label, description, value type, whether it needs
an LLM, a reference or retrieved contexts …) that drives config validation and the generated
docs page ``docs/checks.md``. Every score row records the check's name, version and a hash of
its parameters, so rescoring with other parameters adds rows instead of overwriting.

A check's ``score`` returns a :class:`CheckResult`: a numeric ``value`` (1.0/0.0 for yes/no
checks), ``passed`` (or None when the check only measures), a ``reason`` people can read, and a
``status`` (``ok``, ``error``, ``parse_error``, ``skipped``) — never NaN or a silent default.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from hyouka.datasets import Case
from hyouka.hashing import content_hash

ValueType = Literal["none", "text", "text-list", "number", "json-schema", "python-ref", "rubric"]


@dataclass(frozen=True)
class CheckMeta:
    name: str
    label: str
    label_ja: str
    description: str
    description_ja: str
    value_type: ValueType = "none"
    needs_llm: bool = False
    needs_reference: bool = False
    needs_contexts: bool = False
    numeric: bool = False  # the value is a score, not just pass/fail
    default_threshold: float | None = None
    negatable: bool = True
    version: str = "1"
    example: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SampleView:
    """What a check sees of one sample."""

    output: str
    case: Case
    status: str = "ok"
    latency_ms: float | None = None
    cost: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    contexts: Sequence[Mapping[str, Any]] | None = None
    variant: str = ""
    # Conversations (hyouka/convo): the model's tool calls, the whole trajectory of an agent
    # loop or simulated dialogue, and a simulation's outcome (turns, stop_reason, goal_reached)
    tool_calls: Sequence[Mapping[str, Any]] | None = None
    trajectory: Sequence[Mapping[str, Any]] | None = None
    conversation: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class CheckResult:
    value: float | None
    passed: bool | None
    reason: str | None = None
    status: str = "ok"
    metric: str | None = None  # overrides the metric name (judges with several axes)


@dataclass(frozen=True)
class CheckSpec:
    """A check as configured: type (without ``not-``), negation and parameters."""

    type: str
    negate: bool = False
    value: Any = None
    threshold: float | None = None
    weight: float = 1.0
    metric: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    origin: str = "global"  # global | dataset:<name> | case

    @property
    def full_name(self) -> str:
        return f"not-{self.type}" if self.negate else self.type

    @property
    def params(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "threshold": self.threshold,
            "negate": self.negate,
            "options": dict(self.options),
        }

    @property
    def params_hash(self) -> str:
        return content_hash(self.params, 16)

    @property
    def metric_name(self) -> str:
        return self.metric or self.full_name


class Check:
    """Base class of deterministic checks (judges subclass :class:`AsyncCheck`)."""

    meta: ClassVar[CheckMeta]
    is_async: ClassVar[bool] = False

    def __init__(self, spec: CheckSpec) -> None:
        self.spec = spec
        self.validate()

    def validate(self) -> None:
        """Raise ValueError with a clear message when the spec's value/options are wrong."""

    @property
    def params_extra(self) -> dict[str, Any]:
        """What else shapes the result (normaliser or tokeniser version); part of the hash."""
        return {}

    @functools.cached_property
    def params(self) -> dict[str, Any]:
        return {**self.spec.params, **self.params_extra}

    @functools.cached_property
    def params_hash(self) -> str:
        # Cached: computed once per check, not once per sample (hot path of the runner).
        return content_hash(self.params, 16)

    def score(self, sample: SampleView) -> CheckResult:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------------

    def threshold(self) -> float | None:
        return (
            self.spec.threshold if self.spec.threshold is not None else self.meta.default_threshold
        )


class AsyncCheck(Check):
    """A check that calls a model (LLM judges)."""

    is_async = True

    async def ascore(self, sample: SampleView) -> list[CheckResult]:  # pragma: no cover
        raise NotImplementedError

    def score(self, sample: SampleView) -> CheckResult:  # pragma: no cover
        raise TypeError("judges are scored with ascore")


def apply_negation(spec: CheckSpec, meta: CheckMeta, result: CheckResult) -> CheckResult:
    """``not-X`` passes where X fails; a yes/no value flips, a measured score stays as it is."""
    if not spec.negate or result.status != "ok":
        return result
    value = result.value
    if value is not None and not meta.numeric:
        value = 1.0 - value
    passed = None if result.passed is None else not result.passed
    reason = f"negated: {result.reason}" if result.reason else None
    return CheckResult(value, passed, reason, result.status, result.metric)
