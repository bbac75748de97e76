"""hyouka.loop: complaints become regression checks, a CI gate, and how fast the loop closes.

- :mod:`complaints`: collect complaints (tags, marked phrases, comments) from human judgments
  and production feedback, and group them;
- :mod:`proposals`: a proposed check per group, stored with append-only decisions;
- :mod:`preview`: the proposed check on the complained and the liked outputs;
- :mod:`regressions`: accepted checks into ``regressions.yaml`` and ``data/regressions.jsonl``;
- :mod:`gate`: ``hyouka gate`` for CI, with JUnit XML;
- :mod:`speed`: the complaint log, what each variant still triggers, time from complaint to fix;
- :mod:`workflow`: the steps as the CLI and the web call them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyouka._lazy import lazy_exports

if TYPE_CHECKING:
    from hyouka.loop.complaints import (
        NEVER_SAY_TAGS,
        Complaint,
        ComplaintGroup,
        Feedback,
        Praise,
        collect_complaints,
        collect_feedback,
        group_complaints,
    )
    from hyouka.loop.gate import GateResult, GateRule, accepted_metrics, junit_xml, run_gate
    from hyouka.loop.preview import Preview, PreviewRow, preview_check
    from hyouka.loop.proposals import (
        LoopError,
        Proposal,
        ProposeResult,
        get_proposal,
        list_proposals,
        phrase_spec,
    )
    from hyouka.loop.regressions import REGRESSIONS_FILE, RegressionsFileError, Written
    from hyouka.loop.speed import (
        ComplaintStatus,
        LoopSpeed,
        Triggered,
        loop_speed,
        still_triggered,
    )
    from hyouka.loop.workflow import (
        AcceptResult,
        accept_proposal,
        edit_proposal,
        pending_groups,
        preview_proposal,
        propose_checks,
        reject_proposal,
        sync_regressions,
    )

__all__ = [
    "NEVER_SAY_TAGS",
    "REGRESSIONS_FILE",
    "AcceptResult",
    "Complaint",
    "ComplaintGroup",
    "ComplaintStatus",
    "Feedback",
    "GateResult",
    "GateRule",
    "LoopError",
    "LoopSpeed",
    "Praise",
    "Preview",
    "PreviewRow",
    "Proposal",
    "ProposeResult",
    "RegressionsFileError",
    "Triggered",
    "Written",
    "accept_proposal",
    "accepted_metrics",
    "collect_complaints",
    "collect_feedback",
    "edit_proposal",
    "get_proposal",
    "group_complaints",
    "junit_xml",
    "list_proposals",
    "loop_speed",
    "pending_groups",
    "phrase_spec",
    "preview_check",
    "preview_proposal",
    "propose_checks",
    "reject_proposal",
    "run_gate",
    "still_triggered",
    "sync_regressions",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
