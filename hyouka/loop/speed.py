"""Where each complaint stands, and how fast the loop closes.

A complaint's check is ``complaint-<id>``. A variant *triggers* a complaint in a run when any of
its scored samples fails that check (more than ``max_fail_rate`` of them). A complaint is
*fixed* by the first variant version created after the complaint was raised that passes its
check in some run; the fix date is that run's date. Loop speed is the time from the first
complaint of a group to that fix; the median over fixed complaints is the headline number.

Pass/fail rows are the newest score row per (sample, metric, repeat) with status ``ok``, as
in ``hyouka show``; a judge asked several times contributes each verdict.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hyouka.loop import queries
from hyouka.loop.proposals import Proposal, list_proposals
from hyouka.store.store import Store
from hyouka.store.tx import utc

PREFIX = "complaint-"


@dataclass(frozen=True)
class CheckTally:
    """One variant's results on one complaint check in one run."""

    metric: str
    run_id: int
    run_uid: str
    run_at: datetime
    variant_id: int
    variant: str  # name@version
    variant_at: datetime
    failed: int
    n: int
    example_case: str | None = None
    example_reason: str | None = None

    @property
    def fail_rate(self) -> float:
        return self.failed / self.n if self.n else 0.0

    def passes(self, max_fail_rate: float = 0.0) -> bool:
        return self.n > 0 and self.fail_rate <= max_fail_rate + 1e-12


def complaint_id(metric: str) -> int | None:
    rest = metric.removeprefix(PREFIX)
    return int(rest) if metric.startswith(PREFIX) and rest.isdigit() else None


def tallies(
    store: Store,
    project: str,
    *,
    run_ids: Sequence[int] | None = None,
    metrics: Sequence[str] | None = None,
) -> list[CheckTally]:
    """Pass/fail counts per (complaint metric, run, variant), oldest run first."""
    newest: dict[tuple[int, str, int], Any] = {}
    for row in queries.complaint_score_rows(store, project, PREFIX, run_ids, metrics):
        newest[(int(row.sample_id), str(row.metric), int(row.repeat))] = row
    return _tally(newest.values())


def _tally(rows: Any) -> list[CheckTally]:
    acc: dict[tuple[str, int, int], dict[str, Any]] = {}
    for row in rows:
        if row.status != "ok" or row.passed is None:
            continue
        key = (str(row.metric), int(row.run_id), int(row.variant_id))
        entry = acc.setdefault(key, {"row": row, "failed": 0, "n": 0, "case": None, "reason": None})
        entry["n"] += 1
        if not row.passed:
            entry["failed"] += 1
            if entry["case"] is None:
                entry["case"], entry["reason"] = row.case_key, row.reason
    out = []
    for (metric, run_id, variant_id), e in acc.items():
        r = e["row"]
        out.append(
            CheckTally(
                metric,
                run_id,
                str(r.uid),
                utc(r.run_at),
                variant_id,
                f"{r.name}@{r.version}",
                utc(r.variant_at),
                e["failed"],
                e["n"],
                e["case"],
                e["reason"],
            )
        )
    out.sort(key=lambda t: (t.run_at, t.run_id, t.variant_id, t.metric))
    return out


# ----------------------------------------------------------------------------- per run


@dataclass(frozen=True)
class Triggered:
    """A complaint a variant still triggers in a run."""

    metric: str
    title: str
    failed: int
    n: int
    example_case: str | None
    example_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "title": self.title,
            "failed": self.failed,
            "n": self.n,
            "case": self.example_case,
            "reason": self.example_reason,
        }


def still_triggered(
    store: Store, project: str, run_id: int, max_fail_rate: float = 0.0
) -> dict[str, list[Triggered]]:
    """Variant (name@version) → the complaints it still triggers in the run."""
    titles = {p.metric: p.title for p in list_proposals(store, project)}
    out: dict[str, list[Triggered]] = {}
    for t in tallies(store, project, run_ids=[run_id]):
        entries = out.setdefault(t.variant, [])
        if not t.passes(max_fail_rate):
            entries.append(
                Triggered(
                    t.metric,
                    titles.get(t.metric, ""),
                    t.failed,
                    t.n,
                    t.example_case,
                    t.example_reason,
                )
            )
    return out


# ----------------------------------------------------------------------------- the log


@dataclass(frozen=True)
class ComplaintStatus:
    """One complaint group in the log: open, rejected, check accepted, or fixed."""

    id: int
    metric: str
    title: str
    kind: str
    status: str  # open | rejected | accepted | fixed
    raised_at: datetime
    complaints: int
    accepted_at: datetime | None
    accepted_by: str | None
    fixed_by: str | None  # name@version
    fixed_run: str | None
    fixed_at: datetime | None
    triggered_by: tuple[str, ...]  # variants failing it in the newest run that scored it

    @property
    def days_to_fix(self) -> float | None:
        if self.fixed_at is None:
            return None
        return max((self.fixed_at - self.raised_at).total_seconds(), 0.0) / 86400

    def as_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "id": self.id,
            "metric": self.metric,
            "title": self.title,
            "kind": self.kind,
            "status": self.status,
            "raised_at": iso(self.raised_at),
            "complaints": self.complaints,
            "accepted_at": iso(self.accepted_at),
            "accepted_by": self.accepted_by,
            "fixed_by": self.fixed_by,
            "fixed_run": self.fixed_run,
            "fixed_at": iso(self.fixed_at),
            "days_to_fix": self.days_to_fix,
            "triggered_by": list(self.triggered_by),
        }


@dataclass(frozen=True)
class LoopSpeed:
    statuses: tuple[ComplaintStatus, ...]
    median_days_to_fix: float | None
    n_fixed: int
    n_accepted_open: int  # a check is accepted but no later version passes it yet
    n_open: int  # no check accepted yet
    n_rejected: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "median_days_to_fix": self.median_days_to_fix,
            "fixed": self.n_fixed,
            "accepted_not_fixed": self.n_accepted_open,
            "open": self.n_open,
            "rejected": self.n_rejected,
            "complaints": [s.as_dict() for s in self.statuses],
        }


def _first_fix(p: Proposal, found: Sequence[CheckTally], max_fail_rate: float) -> CheckTally | None:
    raised = p.raised_at
    for t in found:  # oldest run first
        if t.variant_at > raised and t.passes(max_fail_rate):
            return t
    return None


def _latest_failing(found: Sequence[CheckTally], max_fail_rate: float) -> tuple[str, ...]:
    if not found:
        return ()
    last_run = max(found, key=lambda t: (t.run_at, t.run_id)).run_id
    return tuple(t.variant for t in found if t.run_id == last_run and not t.passes(max_fail_rate))


def _status(p: Proposal, found: Sequence[CheckTally], max_fail_rate: float) -> ComplaintStatus:
    fix = _first_fix(p, found, max_fail_rate) if p.status == "accepted" else None
    status = {"proposed": "open", "rejected": "rejected"}.get(p.status, "accepted")
    if fix is not None:
        status = "fixed"
    accepted = next((d for d in p.history if d.status == "accepted"), None)
    return ComplaintStatus(
        id=p.id,
        metric=p.metric,
        title=p.title,
        kind=p.kind,
        status=status,
        raised_at=p.raised_at,
        complaints=len(p.complaints),
        accepted_at=accepted.at if accepted else None,
        accepted_by=accepted.by if accepted else None,
        fixed_by=fix.variant if fix else None,
        fixed_run=fix.run_uid if fix else None,
        fixed_at=fix.run_at if fix else None,
        triggered_by=_latest_failing(found, max_fail_rate) if p.status == "accepted" else (),
    )


def loop_speed(store: Store, project: str, max_fail_rate: float = 0.0) -> LoopSpeed:
    """The complaint log with each complaint's status, and the median time to a fix."""
    return build_speed(list_proposals(store, project), tallies(store, project), max_fail_rate)


def build_speed(
    proposals: Sequence[Proposal], found: Sequence[CheckTally], max_fail_rate: float = 0.0
) -> LoopSpeed:
    """:func:`loop_speed` on given proposals and tallies (oldest run first)."""
    by_metric: dict[str, list[CheckTally]] = {}
    for t in found:
        by_metric.setdefault(t.metric, []).append(t)
    statuses = tuple(_status(p, by_metric.get(p.metric, []), max_fail_rate) for p in proposals)
    days = [s.days_to_fix for s in statuses if s.days_to_fix is not None]
    count = _counts(statuses)
    return LoopSpeed(
        statuses,
        statistics.median(days) if days else None,
        count["fixed"],
        count["accepted"],
        count["open"],
        count["rejected"],
    )


def _counts(statuses: Sequence[ComplaintStatus]) -> Mapping[str, int]:
    out = {"fixed": 0, "accepted": 0, "open": 0, "rejected": 0}
    for s in statuses:
        out[s.status] += 1
    return out


__all__ = [
    "CheckTally",
    "ComplaintStatus",
    "LoopSpeed",
    "Triggered",
    "build_speed",
    "complaint_id",
    "loop_speed",
    "still_triggered",
    "tallies",
]
