"""Loop speed: when each complaint was raised, the first later version that passes its check,
and the median time from complaint to fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hyouka.loop.proposals import Decision, Proposal
from hyouka.loop.speed import CheckTally, build_speed

DAY = timedelta(days=1)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _proposal(pid: int, raised: datetime, status: str = "accepted") -> Proposal:
    history = (Decision(pid, "proposed", None, None, None),)
    if status != "proposed":
        history += (Decision(pid + 100, status, "kimura", raised + DAY / 2, None),)
    return Proposal(
        id=pid,
        row_id=pid + 100,
        status=status,
        kind="phrase",
        title=f"phrase {pid}",
        spec={"type": "not-contains", "value": "x"},
        provenance={
            "complaints": [{"when": raised.isoformat()}, {"when": (raised + DAY).isoformat()}]
        },
        decided_by="kimura",
        decided_at=raised + DAY / 2,
        note=None,
        created_at=raised + DAY,
        history=history,
    )


def _tally(
    pid: int, run: int, run_at: datetime, variant: str, made: datetime, failed: int, n: int = 10
) -> CheckTally:
    return CheckTally(
        f"complaint-{pid}", run, f"run{run}", run_at, hash(variant) % 1000, variant, made, failed, n
    )


def test_the_fix_is_the_first_version_made_after_the_complaint_that_passes() -> None:
    p1 = _proposal(1, T0)  # raised at T0 (its first complaint), fixed 2 days later
    p2 = _proposal(2, T0 + DAY)  # raised a day later, fixed 4 days after that
    p3 = _proposal(3, T0)  # accepted, nothing passes yet
    found = [
        # an old variant that never had the problem is not a fix: it existed before
        _tally(1, 1, T0 - DAY, "alt@old", T0 - 2 * DAY, 0),
        _tally(1, 2, T0 + DAY, "bot@v2", T0 + DAY, 3),  # a new version, still failing
        _tally(1, 3, T0 + 2 * DAY, "bot@v3", T0 + 2 * DAY, 0),  # the fix
        _tally(1, 4, T0 + 3 * DAY, "bot@v4", T0 + 3 * DAY, 0),
        _tally(2, 5, T0 + 5 * DAY, "bot@v5", T0 + 5 * DAY, 0),
        _tally(3, 5, T0 + 5 * DAY, "bot@v5", T0 + 5 * DAY, 1),
    ]
    speed = build_speed([p1, p2, p3], found)
    s1, s2, s3 = speed.statuses
    assert (s1.status, s1.fixed_by, s1.fixed_run) == ("fixed", "bot@v3", "run3")
    assert s1.days_to_fix == pytest.approx(2.0) and s1.raised_at == T0
    assert (s2.status, s2.fixed_by) == ("fixed", "bot@v5") and s2.days_to_fix == pytest.approx(4)
    assert (s3.status, s3.fixed_by, s3.triggered_by) == ("accepted", None, ("bot@v5",))
    assert s3.accepted_by == "kimura" and s3.accepted_at == T0 + DAY / 2
    assert speed.median_days_to_fix == pytest.approx(3.0)  # median of 2 and 4 days
    assert (speed.n_fixed, speed.n_accepted_open, speed.n_open, speed.n_rejected) == (2, 1, 0, 0)


def test_a_tolerance_counts_a_version_with_rare_failures_as_a_fix() -> None:
    found = [_tally(1, 2, T0 + DAY, "bot@v2", T0 + DAY, 1, 20)]
    assert build_speed([_proposal(1, T0)], found).statuses[0].status == "accepted"
    fixed = build_speed([_proposal(1, T0)], found, max_fail_rate=0.05).statuses[0]
    assert fixed.status == "fixed" and fixed.days_to_fix == pytest.approx(1.0)


def test_open_and_rejected_proposals_are_never_fixed_and_there_is_no_median_without_fixes() -> None:
    passing = [
        _tally(1, 2, T0 + DAY, "bot@v2", T0 + DAY, 0),
        _tally(2, 2, T0 + DAY, "bot@v2", T0 + DAY, 0),
    ]
    speed = build_speed([_proposal(1, T0, "proposed"), _proposal(2, T0, "rejected")], passing)
    assert [s.status for s in speed.statuses] == ["open", "rejected"]
    assert speed.median_days_to_fix is None and (speed.n_open, speed.n_rejected) == (1, 1)
