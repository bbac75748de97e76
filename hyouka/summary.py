"""Per-variant summaries of a run: samples, errors, latency, tokens, cost, check results.

Aggregates are always recomputed from the sample and score rows (no stored totals).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from hyouka.store.schema import cases, samples, scores, variants
from hyouka.store.store import Store


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile with linear interpolation: ``numpy.percentile``'s default, to
    the last bit, without importing numpy (~0.1 s of every ``hyouka run`` and ``show``)."""
    ordered = sorted(values)
    index = (len(ordered) - 1) * (q / 100)
    low = math.floor(index)
    high = min(low + 1, len(ordered) - 1)
    a, b, t = ordered[low], ordered[high], index - low
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


@dataclass
class CheckSummary:
    check: str
    metric: str
    n: int = 0
    passed: int = 0
    judged: int = 0  # samples with a pass/fail verdict
    errors: int = 0
    values: list[float] = field(default_factory=list)

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.judged if self.judged else None

    @property
    def mean(self) -> float | None:
        return sum(self.values) / len(self.values) if self.values else None


@dataclass
class VariantSummary:
    variant_id: int
    name: str
    version: str
    samples: int = 0
    errors: int = 0
    cached: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    cost_known: bool = False
    checks: dict[tuple[str, str], CheckSummary] = field(default_factory=dict)

    def latency_percentile(self, q: float) -> float | None:
        return percentile(self.latencies, q) if self.latencies else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "variant": self.name,
            "version": self.version,
            "samples": self.samples,
            "errors": self.errors,
            "cached": self.cached,
            "status": dict(self.status_counts),
            "latency_ms": {
                "p50": self.latency_percentile(50),
                "p90": self.latency_percentile(90),
                "p99": self.latency_percentile(99),
            },
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost": self.cost if self.cost_known else None,
            "checks": [
                {
                    "check": c.check,
                    "metric": c.metric,
                    "n": c.n,
                    "pass_rate": c.pass_rate,
                    "mean": c.mean,
                    "errors": c.errors,
                }
                for c in self.checks.values()
            ],
        }


def _add_sample(s: VariantSummary, row: Any) -> None:
    s.samples += 1
    status = str(row["status"])
    s.status_counts[status] = s.status_counts.get(status, 0) + 1
    if status != "ok":
        s.errors += 1
        return
    if row["cached"]:
        s.cached += 1
    if row["latency_ms"] is not None:
        s.latencies.append(float(row["latency_ms"]))
    s.input_tokens += int(row["input_tokens"] or 0)
    s.output_tokens += int(row["output_tokens"] or 0)
    if row["cost"] is not None:
        s.cost += float(row["cost"])
        s.cost_known = True


def _add_score(s: VariantSummary, row: Any) -> None:
    key = (str(row["check_name"]), str(row["metric"]))
    c = s.checks.get(key)
    if c is None:
        c = s.checks[key] = CheckSummary(*key)
    c.n += 1
    if row["status"] not in ("ok",):
        if row["status"] != "skipped":
            c.errors += 1
        return
    if row["passed"] is not None:
        c.judged += 1
        c.passed += int(bool(row["passed"]))
    if row["value"] is not None:
        c.values.append(float(row["value"]))


def summarize_run(store: Store, run_id: int) -> list[VariantSummary]:
    """One summary per variant of the run, in the run's variant order."""
    out: dict[int, VariantSummary] = {}
    with store.engine.connect() as conn:
        for v in conn.execute(
            select(variants.c.id, variants.c.name, variants.c.version)
            .where(variants.c.id.in_(store.run_variant_ids(run_id)))
            .order_by(variants.c.id)
        ):
            out[int(v.id)] = VariantSummary(int(v.id), str(v.name), str(v.version))
        sample_cols = (
            samples.c.variant_id,
            samples.c.status,
            samples.c.cached,
            samples.c.latency_ms,
            samples.c.input_tokens,
            samples.c.output_tokens,
            samples.c.cost,
        )
        for row in conn.execute(
            select(*sample_cols).where(samples.c.run_id == run_id, samples.c.role == "app")
        ):
            _add_sample(out[int(row.variant_id)], row._mapping)
        # Rescoring adds rows; the newest row per (sample, check, metric, repeat) counts.
        newest: dict[tuple[int, str, str, int], Any] = {}
        for row in conn.execute(latest_scores_query(run_id)):
            newest[(int(row.sample_id), row.check_name, row.metric, int(row.repeat))] = row
        for row in newest.values():
            _add_score(out[int(row.variant_id)], row._mapping)
    return list(out.values())


def latest_scores_query(run_id: int) -> Any:
    """Score rows of a run's app samples, with their variant and case."""
    return (
        select(
            samples.c.variant_id,
            samples.c.case_id,
            samples.c.sample_index,
            scores.c.sample_id,
            scores.c.check_name,
            scores.c.metric,
            scores.c.params_hash,
            scores.c.value,
            scores.c.passed,
            scores.c.status,
            scores.c.reason,
            scores.c.repeat,
            scores.c.id,
        )
        .join(samples, samples.c.id == scores.c.sample_id)
        .where(samples.c.run_id == run_id, samples.c.role == "app")
        .order_by(scores.c.id)
    )


def failed_examples(
    store: Store, run_id: int, limit_per_check: int = 3
) -> dict[str, list[dict[str, Any]]]:
    """A few failing samples per variant and check, with the reason (for the demo and show)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    per_key: dict[tuple[str, str], int] = defaultdict(int)
    query = (
        select(
            variants.c.name.label("variant"),
            cases.c.case_key,
            samples.c.sample_index,
            samples.c.output,
            scores.c.check_name,
            scores.c.reason,
        )
        .join(samples, samples.c.id == scores.c.sample_id)
        .join(variants, variants.c.id == samples.c.variant_id)
        .join(cases, cases.c.id == samples.c.case_id)
        .where(samples.c.run_id == run_id, scores.c.passed.is_(False))
        .order_by(scores.c.id)
    )
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            key = (str(row.variant), str(row.check_name))
            if per_key[key] >= limit_per_check:
                continue
            per_key[key] += 1
            out[str(row.variant)].append(dict(row._mapping))
    return dict(out)


# The part of a sample's error that names its variant and case (hyouka/variants.py render):
# taken out so that one template typo over 500 cases is one cause.
_CASE_PREFIX = re.compile(r"^variant '[^']*', case '[^']*': ")
CAUSE_CHARS = 500  # a cause is told apart by its first this many characters
# What differs between failures of one cause: request ids and call counters in a server's error
# body, times, ports. HTTP status codes stay: a 503 and a 400 are different causes.
_IDS = re.compile(r"\b(?=[A-Za-z_-]*\d)[A-Za-z0-9_-]{8,}\b")
_NUMBERS = re.compile(r"(?<!HTTP )(?<![\w.])\d+(?:\.\d+)?")


@dataclass
class ErrorCause:
    """One distinct reason samples failed: how many, in which variants, and one example."""

    status: str  # error | timeout | rate_limited
    cause: str  # the message without the variant and case it names
    count: int = 0
    variants: dict[str, int] = field(default_factory=dict)
    example: dict[str, Any] = field(default_factory=dict)  # variant, case, sample, message

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "cause": self.cause,
            "count": self.count,
            "variants": dict(self.variants),
            "example": dict(self.example),
        }


def cause_of(message: str | None) -> str:
    """The message of a failed sample, less the variant and case it names."""
    if not message:
        return "(no message recorded)"
    return _CASE_PREFIX.sub("", message.strip(), count=1)


def cause_key(cause: str) -> str:
    """What failures of one cause share: the cause less its ids and numbers (not HTTP codes)."""
    return _NUMBERS.sub("#", _IDS.sub("…", cause[:CAUSE_CHARS]))


def error_causes(store: Store, run_id: int) -> list[ErrorCause]:
    """The distinct causes of the run's failed app samples, the most frequent first."""
    query = (
        select(
            variants.c.name.label("variant"),
            cases.c.case_key,
            samples.c.sample_index,
            samples.c.status,
            samples.c.error,
        )
        .join(variants, variants.c.id == samples.c.variant_id)
        .join(cases, cases.c.id == samples.c.case_id)
        .where(samples.c.run_id == run_id, samples.c.role == "app", samples.c.status != "ok")
        .order_by(samples.c.id)
    )
    found: dict[tuple[str, str], ErrorCause] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            cause = cause_of(row.error)
            key = (str(row.status), cause_key(cause))
            entry = found.get(key)
            if entry is None:
                entry = found[key] = ErrorCause(
                    str(row.status),
                    cause,
                    example={
                        "variant": str(row.variant),
                        "case": str(row.case_key),
                        "sample": int(row.sample_index),
                        "message": row.error,
                    },
                )
            entry.count += 1
            entry.variants[str(row.variant)] = entry.variants.get(str(row.variant), 0) + 1
    return sorted(found.values(), key=lambda c: -c.count)


def as_dicts(summaries: Iterable[VariantSummary]) -> list[dict[str, Any]]:
    return [s.as_dict() for s in summaries]
