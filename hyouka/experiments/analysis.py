"""The live report of one experiment: per-variant outcomes, the sequential comparisons with
the control, guardrails, the sample-ratio check, and the verdict sentences (ja/en).

Honesty rules (as ``hyouka compare``, :mod:`hyouka.analysis.verdict`): "better"/"worse" only
when the anytime-valid interval excludes 0 at the Bonferroni-adjusted level; otherwise "not
decided yet" with the interval; a sample-ratio mismatch is said first, before any verdict;
units that saw two variants and outcomes without an exposure are counted and shown.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hyouka.analysis.verdict import decimals, level_text, signed
from hyouka.experiments import stats as xs
from hyouka.experiments.messages import m
from hyouka.experiments.queries import ExperimentData, ExperimentState
from hyouka.experiments.spec import DEFAULT_BETTER, ExperimentConfig, OutcomeConfig
from hyouka.i18n.cli import Lang


@dataclass(frozen=True)
class VariantMetric:
    variant: str
    metric: str
    units: int  # units with data
    events: float
    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class Comparison:
    metric: str
    variant: str
    control: str
    better: str  # higher | lower
    units_b: int
    units_a: int
    result: xs.SequentialDiff

    @property
    def verdict(self) -> str:
        """better | worse | open | few | drift."""
        r = self.result
        if r.looks == 0:
            return "few"
        if not math.isfinite(r.low):
            return "drift"
        if not r.decided or (r.low <= 0 <= r.high):
            return "open"
        up = r.low > 0
        return "better" if up == (self.better == "higher") else "worse"


@dataclass(frozen=True)
class Guardrail:
    metric: str
    variant: str
    control: str
    allowed: float
    status: str  # breach | watch | ok | few
    worse_diff: float  # the difference in the "worse" direction (positive: worse)
    low: float
    high: float
    units_b: int
    units_a: int


@dataclass
class ExperimentReport:
    name: str
    state: ExperimentState
    config: ExperimentConfig
    units: dict[str, int]
    metrics: list[VariantMetric]
    comparisons: list[Comparison]
    guardrails: list[Guardrail]
    srm: xs.SRMResult
    alpha_each: float
    tests: int
    switched: int
    orphans: int
    orphan_example: str | None
    notes: list[str] = field(default_factory=list)

    def sentences(self, lang: Lang = "en") -> dict[str, list[str]]:
        return _sentences(self, lang)

    def as_dict(self, lang: Lang = "en") -> dict[str, Any]:
        def clean(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "experiment": self.name,
            "status": self.state.status,
            "revision": self.state.revision,
            "ramp": self.state.ramp,
            "unit": self.state.unit,
            "units": self.units,
            "shares": self.state.shares,
            "metrics": [
                {**v.__dict__, "mean": clean(v.mean), "low": clean(v.low), "high": clean(v.high)}
                for v in self.metrics
            ],
            "comparisons": [
                {
                    "metric": c.metric,
                    "variant": c.variant,
                    "control": c.control,
                    "verdict": c.verdict,
                    "diff": clean(c.result.diff),
                    "low": clean(c.result.low),
                    "high": clean(c.result.high),
                    "p_value": c.result.p_value,
                    "decided": c.result.decided,
                    "stopped_at": c.result.stopped_at,
                    "units_b": c.units_b,
                    "units_a": c.units_a,
                }
                for c in self.comparisons
            ],
            "guardrails": [
                {**g.__dict__, "low": clean(g.low), "high": clean(g.high)} for g in self.guardrails
            ],
            "srm": {
                "counts": self.srm.counts,
                "expected": self.srm.expected,
                "chi2_p": self.srm.p_value,
                "e_value": self.srm.e_value,
                "mismatch": self.srm.mismatch,
            },
            "alpha_each": self.alpha_each,
            "tests": self.tests,
            "switched_units": self.switched,
            "orphan_outcomes": self.orphans,
            "sentences": self.sentences(lang),
        }


# -- building it ---------------------------------------------------------------------------


@dataclass
class _Units:
    order: list[str]  # units by first exposure
    index: dict[str, int]
    variant: list[str]
    revision: list[int | None]
    exposures: np.ndarray
    switched: int


def _units(data: ExperimentData) -> _Units:
    index: dict[str, int] = {}
    variant: list[str] = []
    revision: list[int | None] = []
    counts: list[int] = []
    seen: dict[str, set[str]] = {}
    for unit, v, rev, _at in data.exposures:
        i = index.get(unit)
        if i is None:
            index[unit] = len(variant)
            variant.append(v)
            revision.append(rev)
            counts.append(1)
            seen[unit] = {v}
        else:
            counts[i] += 1
            seen[unit].add(v)
    switched = sum(len(s) > 1 for s in seen.values())
    return _Units(list(index), index, variant, revision, np.asarray(counts, float), switched)


def _metric_arrays(
    name: str, kind: str, tag: str | None, u: _Units, data: ExperimentData
) -> tuple[np.ndarray, np.ndarray]:
    size = len(u.order)
    y = np.zeros(size)
    n = np.zeros(size)
    if kind in ("complaint", "tag"):
        n = u.exposures.copy()
    for unit, metric, value in data.outcomes:
        i = u.index.get(unit)
        if i is None or metric != name:
            continue
        if kind == "thumbs":
            y[i] += 1.0 if value > 0 else 0.0
            n[i] += 1
        elif kind in ("complaint", "tag"):
            y[i] += value
        else:
            y[i] += value
            n[i] += 1
    for unit, thumb, tags, complaint in data.feedback:
        i = u.index.get(unit)
        if i is None:
            continue
        if kind == "thumbs" and thumb is not None:
            y[i] += 1.0 if thumb > 0 else 0.0
            n[i] += 1
        elif (kind == "complaint" and complaint) or (kind == "tag" and tag in tags):
            y[i] += 1
    return y, n


def _tau(kind: str, mde: float | None, y: np.ndarray, n: np.ndarray) -> float:
    if mde is not None:
        return mde
    if kind != "value":
        return 0.05
    has = np.flatnonzero(n > 0)[:200]  # the first units' spread (fixed once they are in)
    if has.size >= 10:
        sd = float(np.std(y[has] / n[has]))
        if sd > 0:
            return 0.25 * sd
    return 1.0


def analyse(
    state: ExperimentState, config: ExperimentConfig, data: ExperimentData
) -> ExperimentReport:
    u = _units(data)
    variants = list(state.variants)
    control = state.control
    others = [v for v in variants if v != control]
    var_arr = np.asarray(u.variant, dtype=object)
    units = {v: int(np.sum(var_arr == v)) for v in variants}
    tests = max(1, len(config.outcomes) * max(1, len(others)))
    alpha_each = config.alpha / tests

    metrics: list[VariantMetric] = []
    comparisons: list[Comparison] = []
    specs: dict[str, tuple[str, str | None, float | None, str]] = {
        name: (o.kind, o.tag, o.mde, o.direction) for name, o in config.outcomes.items()
    }
    for name, (kind, tag, mde, better) in specs.items():
        y, n = _metric_arrays(name, kind, tag, u, data)
        tau = _tau(kind, mde, y, n)
        for v in variants:
            mask = var_arr == v
            est = xs.ratio_estimate(y[mask], n[mask])
            low, high = est.interval()
            metrics.append(VariantMetric(v, name, est.units, est.events, est.mean, low, high))
        for v in others:
            comparisons.append(_compare(name, v, control, better, var_arr, y, n, tau, alpha_each))

    guardrails = []
    g_alpha = config.alpha / max(1, len(config.guardrails) * max(1, len(others)))
    for g in config.guardrails:
        outcome: OutcomeConfig | None = config.outcomes.get(g.metric)
        if outcome is not None:
            kind, tag, worse_up = outcome.kind, outcome.tag, outcome.direction == "lower"
        elif g.metric == "complaint":
            kind, tag, worse_up = "complaint", None, True
        else:
            kind, tag, worse_up = "value", None, True
        y, n = _metric_arrays(g.metric, kind, tag, u, data)
        tau = g.max_increase if g.max_increase > 0 else _tau(kind, None, y, n)
        for v in others:
            c = _compare(g.metric, v, control, "lower" if worse_up else "higher", var_arr, y, n,
                         tau, g_alpha)  # fmt: skip
            guardrails.append(_guardrail(c, g.max_increase, worse_up))

    srm = xs.srm_check(_segments(state, u))
    known = set(u.index)
    orphan_units = [unit for unit, _m, _v in data.outcomes if unit not in known]
    return ExperimentReport(
        name=state.name,
        state=state,
        config=config,
        units=units,
        metrics=metrics,
        comparisons=comparisons,
        guardrails=guardrails,
        srm=srm,
        alpha_each=alpha_each,
        tests=tests,
        switched=u.switched,
        orphans=len(orphan_units),
        orphan_example=orphan_units[0] if orphan_units else None,
    )


def _compare(
    name: str, v: str, control: str, better: str, var_arr: np.ndarray, y: np.ndarray,
    n: np.ndarray, tau: float, alpha: float,
) -> Comparison:  # fmt: skip
    mask = (var_arr == v) | (var_arr == control)
    in_b = var_arr[mask] == v
    result = xs.sequential_diff(in_b, y[mask], n[mask], tau=tau, alpha=alpha)
    nb = int(np.sum((var_arr == v) & (n > 0)))
    na = int(np.sum((var_arr == control) & (n > 0)))
    return Comparison(name, v, control, better, nb, na, result)


def _guardrail(c: Comparison, allowed: float, worse_up: bool) -> Guardrail:
    r = c.result
    sign = 1.0 if worse_up else -1.0
    worse = sign * r.diff
    low, high = (r.low, r.high) if worse_up else (-r.high, -r.low)
    if r.looks == 0:
        status = "few"
    elif math.isfinite(low) and low > allowed:
        status = "breach"
    elif math.isfinite(worse) and worse > allowed:
        status = "watch"
    else:
        status = "ok"
    return Guardrail(c.metric, c.variant, c.control, allowed, status, worse, low, high,
                     c.units_b, c.units_a)  # fmt: skip


def _segments(state: ExperimentState, u: _Units) -> list[tuple[dict[str, int], dict[str, float]]]:
    shares_by_rev = {h.revision: h.shares for h in state.history}
    by_rev: dict[int, Counter[str]] = {}
    for v, rev in zip(u.variant, u.revision, strict=True):
        found = rev if rev in shares_by_rev else state.revision
        by_rev.setdefault(int(found), Counter())[v] += 1
    # revisions with the same shares (a ramp or status change) form one segment
    merged: dict[tuple[tuple[str, float], ...], Counter[str]] = {}
    for rev, counts in by_rev.items():
        same = tuple(sorted(shares_by_rev[rev].items()))
        merged.setdefault(same, Counter()).update(counts)
    return [(dict(c), dict(k)) for k, c in merged.items()]


# -- sentences -----------------------------------------------------------------------------


def _fmt(x: float, half: float) -> str:
    return signed(x, decimals(half)) if math.isfinite(x) else "–"


def _end(lang: Lang, text: str) -> str:
    return text + ("。" if lang == "ja" else ".")


def _counts(counts: dict[str, float], digits: int = 0) -> str:
    return " / ".join(f"{v} {c:,.{digits}f}" for v, c in counts.items())


def _sentences(r: ExperimentReport, lang: Lang) -> dict[str, list[str]]:
    units = m(lang, f"unit.{r.state.unit}")
    out: dict[str, list[str]] = {"srm": [], "verdicts": [], "guardrails": [], "notes": []}
    if not r.units or sum(r.units.values()) == 0:
        out["notes"].append(_end(lang, m(lang, "n.none", status=r.state.status)))
        return out
    srm = r.srm
    fields = {
        "counts": _counts({k: float(v) for k, v in srm.counts.items()}),
        "expected": _counts(srm.expected),
        "units": units,
        "p": "< 0.001" if srm.p_value < 0.001 else f"{srm.p_value:.3f}",
        "e": f"{srm.e_value:.3g}",
    }
    out["srm"].append(_end(lang, m(lang, "srm.bad" if srm.mismatch else "srm.ok", **fields)))
    level = level_text(1 - r.alpha_each)
    for c in r.comparisons:
        res = c.result
        half = (res.high - res.low) / 2 if math.isfinite(res.low) else abs(res.diff) or 1.0
        key = {"better": "v.better", "worse": "v.worse", "open": "v.open", "few": "v.few",
               "drift": "v.drift"}[c.verdict]  # fmt: skip
        out["verdicts"].append(
            _end(
                lang,
                m(
                    lang, key, a=c.control, b=c.variant, metric=c.metric, units=units,
                    better=m(lang, f"better.{c.better}"), diff=_fmt(res.diff, half),
                    low=_fmt(res.low, half), high=_fmt(res.high, half), level=level,
                    nb=f"{c.units_b:,}", na=f"{c.units_a:,}", stop=f"{res.stopped_at or 0:,}",
                    min=xs.MIN_UNITS,
                ),
            )
        )  # fmt: skip
    if r.tests > 1:
        k = len(r.config.outcomes)
        out["verdicts"].append(
            _end(lang, m(lang, "v.bonferroni", m=r.tests, k=k, c=r.tests // max(k, 1),
                         alpha=f"{r.alpha_each:.3g}"))
        )  # fmt: skip
    for g in r.guardrails:
        half = (g.high - g.low) / 2 if math.isfinite(g.low) else abs(g.worse_diff) or 1.0
        out["guardrails"].append(
            _end(
                lang,
                m(
                    lang, f"g.{g.status}", metric=g.metric, a=g.control, b=g.variant,
                    diff=_fmt(g.worse_diff, half), low=_fmt(g.low, half),
                    high=_fmt(g.high, half), allowed=f"+{g.allowed:g}", units=units,
                    nb=f"{g.units_b:,}", na=f"{g.units_a:,}",
                ),
            )
        )  # fmt: skip
    if r.switched:
        out["notes"].append(_end(lang, m(lang, "n.switched", n=f"{r.switched:,}", units=units)))
    if r.orphans:
        out["notes"].append(
            _end(lang, m(lang, "n.orphans", n=f"{r.orphans:,}", units=units,
                         example=str(r.orphan_example)[:60]))
        )  # fmt: skip
    return out


def verdict_lines(report: ExperimentReport, lang: Lang = "en") -> list[str]:
    s = report.sentences(lang)
    return [*s["srm"], *s["verdicts"], *s["guardrails"], *s["notes"]]


__all__ = ["DEFAULT_BETTER", "ExperimentReport", "analyse", "verdict_lines"]
