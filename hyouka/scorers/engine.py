"""Scoring samples: which checks apply to a sample, and the score rows they produce.

Checks come from three places: global (``checks:`` in hyouka.yaml), per dataset
(``datasets.NAME.checks``) and per case (the row's ``checks``). Deterministic checks run inline
in the runner (microseconds each); judges run as model calls (see ``scorers/judges.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hyouka.config import Project
from hyouka.datasets import Case
from hyouka.errors import ConfigError
from hyouka.hashing import canonical_json
from hyouka.scorers import registry
from hyouka.scorers.base import Check, CheckResult, SampleView, apply_negation


@dataclass
class CheckSet:
    """The compiled checks of a project, with per-case checks compiled on first use."""

    global_checks: list[Check] = field(default_factory=list)
    dataset_checks: dict[str, list[Check]] = field(default_factory=dict)
    _case_cache: dict[str, list[Check]] = field(default_factory=dict)
    # id(a case's checks) -> (those checks, compiled): a sample's case is looked up without
    # serialising its checks again (with a check per case, that was ~5% of a run's CPU).
    _by_object: dict[int, tuple[object, list[Check]]] = field(default_factory=dict)

    def for_case(self, dataset: str, case_checks: Sequence[Mapping[str, Any]]) -> list[Check]:
        out = self.global_checks + self.dataset_checks.get(dataset, [])
        return out + self.case_checks(case_checks) if case_checks else out

    def case_checks(self, case_checks: Sequence[Mapping[str, Any]]) -> list[Check]:
        """A case's own checks, compiled once; raises ValueError for a bad check."""
        hit = self._by_object.get(id(case_checks))
        if hit is not None and hit[0] is case_checks:
            return hit[1]
        key = canonical_json(list(case_checks))
        compiled = self._case_cache.get(key)
        if compiled is None:
            compiled = [registry.build(c, "case") for c in case_checks]
            self._case_cache[key] = compiled
        self._by_object[id(case_checks)] = (case_checks, compiled)  # holds it: ids stay unique
        return compiled

    @property
    def deterministic(self) -> bool:
        return not any(c.is_async for c in self.global_checks)

    def has_judges(self, cases: Iterable[Case]) -> bool:
        """Whether any global, per-dataset or per-case check of ``cases`` is a judge."""
        every = [*self.global_checks, *(c for cs in self.dataset_checks.values() for c in cs)]
        if any(c.is_async for c in every):
            return True
        return any(
            c.is_async for case in cases if case.checks for c in self.case_checks(case.checks)
        )


def _with_root(raw: Mapping[str, Any], project: Project) -> dict[str, Any]:
    data = dict(raw)
    if data.get("type") in {"python", "not-python"}:
        data.setdefault("root", str(project.root))
    return data


def compile_checks(project: Project, include_async: bool = True) -> CheckSet:
    """Compile the project's global and per-dataset checks; config errors name the line."""
    out = CheckSet()
    for i, check in enumerate(project.config.checks):
        raw = _with_root(check.model_dump(exclude_none=True, exclude_defaults=False), project)
        built = registry.build_or_config_error(raw, project.locate("checks", i), f"checks.{i}")
        if include_async or not built.is_async:
            out.global_checks.append(built)
    for name, ds in project.config.datasets.items():
        built_ds = []
        for i, check in enumerate(ds.checks):
            raw = _with_root(check.model_dump(exclude_none=True), project)
            loc = ("datasets", name, "checks", i)
            built_ds.append(
                registry.build_or_config_error(
                    raw, project.locate(*loc), ".".join(map(str, loc)), f"dataset:{name}"
                )
            )
        out.dataset_checks[name] = built_ds
    return out


def validate_case_checks(
    case_checks: Sequence[Mapping[str, Any]], checkset: CheckSet | None = None
) -> str | None:
    """None when the case's checks are valid, else the problem (for dataset loading).

    With ``checkset``, the compiled checks are kept there for the run.
    """
    if checkset is not None:
        try:
            checkset.case_checks(case_checks)
        except ValueError as exc:
            return str(exc)
        return None
    for raw in case_checks:
        try:
            registry.build(raw, "case")
        except ValueError as exc:
            return str(exc)
    return None


def score_row(check: Check, result: CheckResult, repeat: int = 0) -> dict[str, Any]:
    spec = check.spec
    return {
        "check_name": spec.full_name,
        "check_version": check.meta.version,
        "params_hash": check.params_hash,
        "params": check.params,
        "metric": result.metric or spec.metric_name,
        "repeat": repeat,
        "value": result.value,
        "passed": result.passed,
        "status": result.status,
        "reason": result.reason,
        "weight": spec.weight,
    }


def run_check(check: Check, sample: SampleView) -> CheckResult:
    """Score one sample; an exception in a check becomes an ``error`` score, not a crash."""
    if sample.status != "ok" and check.meta.name not in {"latency", "cost"}:
        return CheckResult(None, None, f"sample has status {sample.status}", "skipped")
    try:
        result = check.score(sample)
    except Exception as exc:  # a broken check must not kill a run
        return CheckResult(None, None, f"{type(exc).__name__}: {exc}", "error")
    return apply_negation(check.spec, check.meta, result)


def score_sample(checks: Sequence[Check], sample: SampleView) -> list[dict[str, Any]]:
    return [score_row(c, run_check(c, sample)) for c in checks if not c.is_async]


__all__ = ["CheckSet", "ConfigError", "compile_checks", "score_row", "score_sample"]
