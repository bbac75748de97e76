"""The feedback loop through the front door: complaints → checks, the CI gate, the report.

Decisions that change the project's files (accepting or rejecting a check) write them when the
scope knows the project folder; otherwise they are recorded and :meth:`Feedback.sync` writes
them later (``hyouka feedback sync``). Judge checks are previewed only when asked
(``judges=True``): a preview then calls the judge model.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hyouka import humans, loop
from hyouka.errors import HyoukaError
from hyouka.facades.scope import Scope
from hyouka.store.store import RunInfo

if TYPE_CHECKING:
    from hyouka.config import Project


class Feedback:
    """Complaints grouped into proposed regression checks, and the decisions on them."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def record(self, api_key_id: int, given: humans.Feedback) -> humans.SubmitResult:
        """Store what an app's user said about one output (``POST /api/feedback``): a
        production judgment, the loop's input. The same idempotency key stores it once."""
        return humans.record_feedback(self.scope.store, self.scope.name, api_key_id, given)

    def list(self, status: str | None = None) -> builtins.list[loop.Proposal]:
        return loop.list_proposals(self.scope.store, self.scope.name, status)

    def get(self, ref: int | str) -> loop.Proposal:
        return loop.get_proposal(self.scope.store, self.scope.name, ref)

    def pending(self) -> builtins.list[loop.ComplaintGroup]:
        """Complaint groups no proposal covers yet."""
        return loop.pending_groups(self.scope.store, self.scope.name)

    def propose(self, judge: str | None = None) -> loop.ProposeResult:
        """A proposal for every new complaint group (``judge``: the rubric checks' judge)."""
        return loop.propose_checks(
            self.scope.store, self.scope.name, project=self.scope.project, judge=judge
        )

    def preview(
        self,
        proposal: loop.Proposal,
        *,
        judges: bool = False,
        spec: Mapping[str, Any] | None = None,
    ) -> loop.Preview:
        """The proposal's check on the complained and the liked outputs."""
        return loop.preview_proposal(
            self.scope.store, self.scope.name, proposal,
            project=self.scope.project, judges=judges, spec=spec,
        )  # fmt: skip

    def accept(
        self,
        ref: int | str,
        by: str,
        *,
        force: bool = False,
        judges: bool = False,
        note: str | None = None,
    ) -> loop.AcceptResult:
        """Accept: recorded, and written to regressions.yaml when the folder is known."""
        return loop.accept_proposal(
            self.scope.store, self.scope.name, ref, by,
            project=self.scope.project, force=force, judges=judges, note=note,
        )  # fmt: skip

    def edit(
        self, ref: int | str, by: str, changes: Mapping[str, Any], *, note: str | None = None
    ) -> loop.Proposal:
        return loop.edit_proposal(self.scope.store, self.scope.name, ref, by, changes, note=note)

    def reject(self, ref: int | str, by: str, *, reason: str | None = None) -> loop.Proposal:
        """Reject (an accepted check is also taken out of regressions.yaml)."""
        return loop.reject_proposal(
            self.scope.store, self.scope.name, ref, by, reason=reason, project=self.scope.project
        )

    def sync(self) -> builtins.list[loop.Written]:
        """Write the accepted checks regressions.yaml lacks (needs the project folder)."""
        return loop.sync_regressions(self.scope.store, self.scope.name, project=self._project())

    def titles(self) -> dict[str, str]:
        """``complaint-<id>`` -> the proposal's title."""
        from hyouka.loop.workflow import titles

        return titles(self.scope.store, self.scope.name)

    def triggered(self, run: RunInfo) -> dict[str, builtins.list[loop.Triggered]]:
        """Per variant: the accepted complaint checks its samples in ``run`` still fail."""
        return loop.still_triggered(self.scope.store, self.scope.name, run.id)

    def gate(self, baseline: str, candidate: str, **options: Any) -> loop.GateResult:
        """``hyouka gate``: does the candidate bring back a complaint, fail an accepted check,
        or do worse than the baseline on a metric (options of :func:`hyouka.loop.run_gate`)?"""
        options.setdefault("titles", self.titles())
        return loop.run_gate(
            self.scope.store, self.scope.name, baseline, candidate,
            project=self._project(), **options,
        )  # fmt: skip

    def _project(self) -> Project:
        if self.scope.project is None:
            raise HyoukaError("this needs the project folder (run it where hyouka.yaml is)")
        return self.scope.project


class Reports:
    """The self-contained HTML report."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def build(self, *, run: str = "latest", lang: str = "en", **options: Any) -> str:
        """The report of ``run`` as one HTML page (options of
        :func:`hyouka.report.build_report`: ``baseline``, ``gacha_metric``, …)."""
        from hyouka.facades.experiments import Experiments
        from hyouka.report import build_report

        if "experiments" not in options:
            live = Experiments(self.scope)
            options["experiments"] = [live.show(s.name) for s in live.list()]
        return build_report(self.scope.store, self.scope.name, run=run, lang=lang, **options)
