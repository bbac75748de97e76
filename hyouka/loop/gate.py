"""``hyouka gate``: may the candidate replace the baseline? For CI.

Three kinds of rules, each one JUnit test case:

- **complaint** (one per accepted check in the project, ``metric: complaint-<id>``): the
  candidate fails when more than ``max_fail_rate`` (default 0) of its scored samples fail the
  check. The reason says whether it *brings back* a complaint the baseline had resolved
  (the baseline passes) or the complaint is *still open* (both fail; ``allow_open`` turns this
  into a pass with a warning). A candidate with no scores for the check fails too: it was not
  run on what the check needs.
- **metric** (``--metric``, any number): the candidate fails when it is significantly worse:
  the paired difference B − A, per case over all samples (``hyouka.stats.paired_difference``,
  calibrated t interval with the case as the cluster) lies entirely on the bad side of
  ``-margin``. Never a bare average.

Arms are ``name`` (its latest version), ``name@version`` or a run's variant; each is looked up
in ``run`` (default: the latest run) and, when not there, in the newest run that has it, so
a candidate can be compared with a version from an older run (paired by case). Stored outputs
are scored first with any accepted check they miss (deterministic checks only: no model calls).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from hyouka.analysis.data import LOWER_IS_BETTER, Arm, load_scores, resolve_arm, variants_in_run
from hyouka.config import Project
from hyouka.errors import HyoukaError, NotFoundError
from hyouka.loop.speed import PREFIX, CheckTally, tallies
from hyouka.stats import StatsInputError, paired_difference
from hyouka.store.store import RunInfo, Store

SEARCH_RUNS = 200


@dataclass(frozen=True)
class GateArm:
    ref: str
    run: RunInfo
    arm: Arm

    @property
    def label(self) -> str:
        return ", ".join(v.label for v in self.arm.variants)

    @property
    def ids(self) -> tuple[int, ...]:
        return self.arm.ids


@dataclass(frozen=True)
class GateRule:
    """One rule's outcome: ``status`` is pass | fail | warn."""

    kind: str  # complaint | metric
    name: str
    status: str
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "details": self.details,
        }


@dataclass(frozen=True)
class GateResult:
    baseline: GateArm
    candidate: GateArm
    rules: tuple[GateRule, ...]
    elapsed_s: float = 0.0

    @property
    def passed(self) -> bool:
        return not any(r.failed for r in self.rules)

    @property
    def failures(self) -> list[GateRule]:
        return [r for r in self.rules if r.failed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "baseline": {
                "ref": self.baseline.ref,
                "variants": self.baseline.label,
                "run": self.baseline.run.uid,
            },
            "candidate": {
                "ref": self.candidate.ref,
                "variants": self.candidate.label,
                "run": self.candidate.run.uid,
            },
            "rules": [r.as_dict() for r in self.rules],
        }

    def junit_xml(self) -> str:
        return junit_xml(self)


# ----------------------------------------------------------------------------- arms


def _runs_to_search(store: Store, project: str, run: str) -> list[RunInfo]:
    first = store.get_run(run, project)
    rest = [r for r in store.list_runs(project, SEARCH_RUNS) if int(r["id"]) != first.id]
    return [first, *(store.get_run(str(r["id"]), project) for r in rest)]


def resolve_gate_arm(store: Store, project: str, ref: str, run: str) -> GateArm:
    """``ref`` in ``run``, else in the newest run that has it."""
    problem: NotFoundError | None = None
    for info in _runs_to_search(store, project, run):
        try:
            arm = resolve_arm(variants_in_run(store, info.id), ref, info.uid)
        except NotFoundError as exc:
            problem = problem or exc
            continue
        return GateArm(ref, info, arm)
    raise NotFoundError(
        f"no run of project {project} has a variant '{ref}' ({problem}); "
        "run it first with `hyouka run`"
    )


# ----------------------------------------------------------------------------- complaints


def accepted_metrics(project: Project) -> list[str]:
    """The complaint checks the project's config (with regressions.yaml) holds."""
    cfg = project.config
    every = [*cfg.checks, *(c for ds in cfg.datasets.values() for c in ds.checks)]
    return list(dict.fromkeys(c.metric for c in every if c.metric and c.metric.startswith(PREFIX)))


def _combined(found: Sequence[CheckTally], metric: str, arm: GateArm) -> CheckTally | None:
    mine = [
        t
        for t in found
        if t.metric == metric and t.run_id == arm.run.id and t.variant_id in arm.ids
    ]
    if not mine:
        return None
    failed, n = sum(t.failed for t in mine), sum(t.n for t in mine)
    example = next((t for t in mine if t.failed), mine[0])
    return CheckTally(
        metric,
        arm.run.id,
        arm.run.uid,
        example.run_at,
        example.variant_id,
        arm.label,
        example.variant_at,
        failed,
        n,
        example.example_case,
        example.example_reason,
    )


def _rate(t: CheckTally | None) -> str:
    return "not scored" if t is None else f"{t.failed}/{t.n} samples fail"


def complaint_rule(
    metric: str,
    title: str,
    base: CheckTally | None,
    cand: CheckTally | None,
    max_fail_rate: float,
    allow_open: bool,
) -> GateRule:
    """The candidate's outcome on one accepted check (see the module docstring)."""
    name = f"{metric}" + (f": {title}" if title else "")
    details = {"baseline": _rate(base), "candidate": _rate(cand), "max_fail_rate": max_fail_rate}
    if cand is None:
        return GateRule(
            "complaint",
            metric,
            "fail",
            "not-scored",
            f"{name}: the candidate has no scores for this check; run it on the "
            "regressions dataset (`hyouka run` without --dataset)",
            details,
        )
    if cand.passes(max_fail_rate):
        return GateRule(
            "complaint", metric, "pass", "passes", f"{name}: passes ({_rate(cand)})", details
        )
    example = f"; e.g. case {cand.example_case}: {cand.example_reason}" if cand.example_case else ""
    if base is not None and base.passes(max_fail_rate):
        return GateRule(
            "complaint",
            metric,
            "fail",
            "complaint-returned",
            f"{name}: the candidate brings back this complaint, which the baseline "
            f"had resolved ({_rate(cand)}; baseline {_rate(base)}){example}",
            details,
        )
    status = "warn" if allow_open else "fail"
    return GateRule(
        "complaint",
        metric,
        status,
        "check-failed",
        f"{name}: the candidate fails this accepted check beyond its threshold "
        f"({_rate(cand)}, allowed {max_fail_rate:.0%}; baseline {_rate(base)})"
        f"{example}",
        details,
    )


# ----------------------------------------------------------------------------- metrics


def _matrix(store: Store, arm: GateArm, metric: str) -> tuple[Any, Any, bool, str]:
    data = load_scores(store, arm.run.id, list(arm.ids))
    index = data.metric_index(metric)
    info = data.metrics[index]
    cases, mat = data.matrix(index, list(arm.ids))
    higher = info.binary or info.check.removeprefix("not-") not in LOWER_IS_BETTER
    return cases, mat, higher, info.label


def _long(cases: Any, mat: Any) -> tuple[Any, Any]:
    """A cases × samples matrix as (values, case labels) without the missing cells."""
    labels = np.repeat(cases, mat.shape[1])
    values = mat.ravel()
    keep = ~np.isnan(values)
    return values[keep], labels[keep]


def metric_rule(
    store: Store,
    base: GateArm,
    cand: GateArm,
    metric: str,
    *,
    margin: float,
    level: float,
) -> GateRule:
    """Is the candidate significantly worse than the baseline on ``metric``?"""
    try:
        ca, ma, _, label = _matrix(store, base, metric)
        cb, mb, higher, _ = _matrix(store, cand, metric)
        va, la = _long(ca, ma)
        vb, lb = _long(cb, mb)
        d = paired_difference(va, vb, a_cases=la, b_cases=lb, level=level)
    except (NotFoundError, StatsInputError) as exc:
        return GateRule(
            "metric",
            metric,
            "fail",
            "not-comparable",
            f"{metric}: cannot compare the two ({exc})",
            {},
        )
    worse = d.high < -margin if higher else d.low > margin
    direction = "higher is better" if higher else "lower is better"
    text = (
        f"{label}: B − A = {d.estimate:+.4g} [{d.low:+.4g}, {d.high:+.4g}] "
        f"({level:.0%} calibrated t CI over {d.n_cases} paired cases, all samples; "
        f"{direction}; A {d.mean_a:.4g}, B {d.mean_b:.4g})"
    )
    details = {
        "estimate": d.estimate,
        "low": d.low,
        "high": d.high,
        "n_cases": d.n_cases,
        "mean_a": d.mean_a,
        "mean_b": d.mean_b,
        "level": level,
        "margin": margin,
        "higher_is_better": higher,
    }
    if worse:
        return GateRule(
            "metric",
            metric,
            "fail",
            "significantly-worse",
            f"the candidate is significantly worse on {text}",
            details,
        )
    return GateRule(
        "metric", metric, "pass", "not-worse", f"not significantly worse: {text}", details
    )


# ----------------------------------------------------------------------------- the gate


def _score_missing(
    project: Project, store: Store, arms: Sequence[GateArm], metrics: list[str]
) -> None:
    """Score stored outputs with the accepted deterministic checks they have not met yet."""
    if not metrics:
        return
    from hyouka.scorers.scoring import score_run

    for run_id in dict.fromkeys(a.run.id for a in arms):
        score_run(project, store, str(run_id), checks=metrics, judges=False)


def run_gate(
    store: Store,
    project_name: str,
    baseline: str,
    candidate: str,
    *,
    project: Project,
    metrics: Sequence[str] = (),
    run: str = "latest",
    baseline_run: str | None = None,
    max_fail_rate: float = 0.0,
    allow_open: bool = False,
    margin: float = 0.0,
    level: float = 0.95,
    rescore: bool = True,
    titles: dict[str, str] | None = None,
) -> GateResult:
    """Check the candidate against the baseline (see the module docstring)."""
    import time

    started = time.perf_counter()
    if not 0 <= max_fail_rate < 1:
        raise HyoukaError("--max-fail-rate must be at least 0 and below 1, e.g. 0 or 0.05")
    name = project_name
    cand = resolve_gate_arm(store, name, candidate, run)
    base = resolve_gate_arm(store, name, baseline, baseline_run or run)
    checks = accepted_metrics(project)
    if rescore:
        _score_missing(project, store, (base, cand), checks)
    found = tallies(store, name, run_ids=[base.run.id, cand.run.id], metrics=checks)
    titles = titles or {}
    rules = [
        complaint_rule(
            m,
            titles.get(m, ""),
            _combined(found, m, base),
            _combined(found, m, cand),
            max_fail_rate,
            allow_open,
        )
        for m in checks
    ]
    rules += [metric_rule(store, base, cand, m, margin=margin, level=level) for m in metrics]
    return GateResult(base, cand, tuple(rules), time.perf_counter() - started)


# ----------------------------------------------------------------------------- JUnit


def junit_xml(result: GateResult) -> str:
    """JUnit XML: one suite, one test case per rule (failures carry the reason)."""
    rules = result.rules
    suite = ET.Element(
        "testsuite",
        name=f"hyouka gate: {result.candidate.ref} vs {result.baseline.ref}",
        tests=str(len(rules)),
        failures=str(len(result.failures)),
        errors="0",
        skipped="0",
        time=f"{result.elapsed_s:.3f}",
        timestamp=datetime.now(UTC).replace(microsecond=0).isoformat(),
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("baseline", result.baseline.label),
        ("baseline_run", result.baseline.run.uid),
        ("candidate", result.candidate.label),
        ("candidate_run", result.candidate.run.uid),
    ):
        ET.SubElement(props, "property", name=key, value=value)
    for rule in rules:
        case = ET.SubElement(
            suite, "testcase", classname=f"hyouka.gate.{rule.kind}", name=rule.name, time="0"
        )
        if rule.failed:
            failure = ET.SubElement(case, "failure", message=rule.message, type=rule.reason)
            failure.text = rule.message
        elif rule.status == "warn":
            out = ET.SubElement(case, "system-out")
            out.text = f"warning: {rule.message}"
    root = ET.Element(
        "testsuites", name="hyouka gate", tests=str(len(rules)), failures=str(len(result.failures))
    )
    root.append(suite)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


__all__ = [
    "GateArm",
    "GateResult",
    "GateRule",
    "accepted_metrics",
    "complaint_rule",
    "junit_xml",
    "metric_rule",
    "resolve_gate_arm",
    "run_gate",
]
