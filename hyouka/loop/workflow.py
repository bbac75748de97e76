"""The loop's steps as the CLI and the web call them: propose, preview, accept, edit, reject.

Accepting records the decision (who, when) and writes the check into the project's
``regressions.yaml`` when the project folder is known. Where it is not (a web server started
without it), :func:`sync_regressions` — ``hyouka feedback sync`` — writes every accepted check
the files still lack; it is idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hyouka.config import Project
from hyouka.loop.complaints import (
    Complaint,
    ComplaintGroup,
    Praise,
    collect_feedback,
    group_complaints,
)
from hyouka.loop.gate import accepted_metrics
from hyouka.loop.preview import Preview, build_check, preview_check
from hyouka.loop.proposals import (
    LoopError,
    Proposal,
    ProposeResult,
    covered_items,
    default_judge,
    get_proposal,
    list_proposals,
    parse_time,
    propose,
    record_decision,
    uncovered,
)
from hyouka.loop.regressions import Written, remove_check, write_accepted
from hyouka.store.store import Store
from hyouka.store.tx import utc

SHOWN_COMPLAINTS = 5


@dataclass(frozen=True)
class AcceptResult:
    proposal: Proposal
    preview: Preview
    written: Written | None  # None: the project folder was not known (run feedback sync)

    def as_dict(self) -> dict[str, Any]:
        w = self.written
        return {
            "proposal": self.proposal.as_dict(),
            "preview": self.preview.as_dict(),
            "written": None
            if w is None
            else {
                "file": str(w.regressions_file),
                "section": w.section,
                "include_added": w.include_added,
                "cases_added": list(w.cases_added),
            },
        }


def pending_groups(store: Store, project: str) -> list[ComplaintGroup]:
    """Complaints no proposal covers yet, grouped (what ``propose`` would turn into checks)."""
    fb = collect_feedback(store, project)
    return group_complaints(uncovered(fb.complaints, covered_items(list_proposals(store, project))))


def propose_checks(
    store: Store, project_name: str, *, project: Project | None = None, judge: str | None = None
) -> ProposeResult:
    """Store a proposal for every new complaint group (new similar complaints join old ones)."""
    fb = collect_feedback(store, project_name)
    return propose(store, project_name, fb.complaints, judge or default_judge(project))


def proposal_complaints(store: Store, proposal: Proposal) -> list[Complaint]:
    """The proposal's complaints, rebuilt from its provenance (with their cases' content)."""
    records = proposal.complaints
    ids = {int(r["case_id"]) for r in records if r.get("case_id") is not None}
    contents = store.case_content(ids) if ids else {}
    out = []
    for r in records:
        case_id = r.get("case_id")
        out.append(
            Complaint(
                key=str(r.get("key")),
                judgment_id=int(r.get("judgment_id") or 0),
                source=str(r.get("source") or "human"),
                who=str(r.get("who") or ""),
                group=str(r.get("group") or ""),
                created_at=parse_time(r.get("when")) or utc(proposal.created_at),
                output=str(r.get("output") or ""),
                sample_id=r.get("sample_id"),
                case_id=case_id,
                case_key=r.get("case_key"),
                case=contents.get(int(case_id)) if case_id is not None else None,
                input_text=r.get("input_text"),
                variant=r.get("variant"),
                tags=tuple(r.get("tags") or ()),
                comment=r.get("comment"),
                highlight=r.get("highlight"),
            )
        )
    return out


def praised_outputs(store: Store, project_name: str) -> list[Praise]:
    return collect_feedback(store, project_name).praise


def preview_proposal(
    store: Store,
    project_name: str,
    proposal: Proposal,
    *,
    project: Project | None = None,
    judges: bool = False,
    spec: Mapping[str, Any] | None = None,
) -> Preview:
    """How the proposal's check scores its complained outputs and the liked ones."""
    return preview_check(
        spec or proposal.spec,
        proposal_complaints(store, proposal),
        praised_outputs(store, project_name),
        project=project,
        judges=judges,
    )


def provenance_notes(proposal: Proposal, by: str) -> list[str]:
    """The comment lines written above a check in regressions.yaml."""
    when = (proposal.decided_at or utc(proposal.created_at)).strftime("%Y-%m-%d %H:%M UTC")
    notes = [f"{proposal.metric} · accepted by {by} on {when} · {proposal.kind}: {proposal.title}"]
    records = proposal.complaints
    for r in records[:SHOWN_COMPLAINTS]:
        day = str(r.get("when") or "")[:10]
        where = f", case {r['case_key']}" if r.get("case_key") else ""
        variant = f", variant {r['variant']}" if r.get("variant") else ""
        text = " ".join(str(r.get("text") or "").split())
        notes.append(
            f"raised {day} by {r.get('who')} (judgment {r.get('judgment_id')}{where}{variant}): "
            f"{text[:160]}"
        )
    if len(records) > SHOWN_COMPLAINTS:
        notes.append(f"… and {len(records) - SHOWN_COMPLAINTS} more complaint(s) in the store")
    return notes


def _validate(spec: Mapping[str, Any], project: Project | None) -> None:
    check = build_check(spec)
    if project is not None and check.is_async:
        try:
            check.bind(project)  # type: ignore[attr-defined]
        except ValueError as exc:
            raise LoopError(f"the proposed judge check cannot run: {exc}; edit it first") from None


def write_proposal(store: Store, proposal: Proposal, *, project: Project) -> Written:
    """Write one accepted proposal into the project files (its judge must exist there)."""
    _validate(proposal.spec, project)
    records = proposal.complaints
    ids = {int(r["case_id"]) for r in records if r.get("case_id") is not None}
    contents = store.case_content(ids) if ids else {}
    by = proposal.decided_by or "?"
    return write_accepted(
        project.root, proposal.check, provenance_notes(proposal, by), proposal.id, records, contents
    )


def accept_proposal(
    store: Store,
    project_name: str,
    proposal_id: int | str,
    by: str,
    *,
    project: Project | None = None,
    force: bool = False,
    judges: bool = False,
    note: str | None = None,
) -> AcceptResult:
    """Preview, record the acceptance, and write the check into the project (when known).

    Refuses (unless ``force``) when the check would pass an output people complained about:
    such a check would not catch the complaint coming back.
    """
    proposal = get_proposal(store, project_name, proposal_id)
    _validate(proposal.spec, project)
    preview = preview_proposal(store, project_name, proposal, project=project, judges=judges)
    if preview.judged and not preview.fails_complained and not force:
        missed = preview.missed[0] if preview.missed else None
        example = f" (e.g. it passes: {missed.output[:80]!r})" if missed else ""
        raise LoopError(
            f"complaint-{proposal.id}: the check does not fail every complained output"
            f"{example}; edit it (hyouka feedback edit) or accept with --force"
        )
    accepted = record_decision(store, project_name, proposal, "accepted", by, note)
    written = write_proposal(store, accepted, project=project) if project is not None else None
    return AcceptResult(accepted, preview, written)


def edit_proposal(
    store: Store,
    project_name: str,
    proposal_id: int | str,
    by: str,
    changes: Mapping[str, Any],
    *,
    note: str | None = None,
) -> Proposal:
    """A new version of the proposed check (still ``proposed``); ``None`` values drop a key."""
    proposal = get_proposal(store, project_name, proposal_id)
    spec = {**dict(proposal.spec), **dict(changes)}
    spec = {k: v for k, v in spec.items() if v is not None}
    spec.pop("metric", None)  # the metric is always complaint-<id>
    build_check(spec)
    return record_decision(store, project_name, proposal, "proposed", by, note or "edited", spec)


def reject_proposal(
    store: Store,
    project_name: str,
    proposal_id: int | str,
    by: str,
    *,
    reason: str | None = None,
    project: Project | None = None,
) -> Proposal:
    """Reject a proposal; an accepted one is also taken out of regressions.yaml."""
    proposal = get_proposal(store, project_name, proposal_id)
    rejected = record_decision(store, project_name, proposal, "rejected", by, reason)
    if proposal.status == "accepted" and project is not None:
        remove_check(project.root, proposal.metric)
    return rejected


def sync_regressions(store: Store, project_name: str, *, project: Project) -> list[Written]:
    """Write every accepted check that regressions.yaml does not hold yet."""
    present = set(accepted_metrics(project))
    out = []
    for p in list_proposals(store, project_name, status="accepted"):
        if p.metric not in present:
            out.append(write_proposal(store, p, project=project))
    return out


def titles(store: Store, project_name: str) -> dict[str, str]:
    return {p.metric: p.title for p in list_proposals(store, project_name)}


def proposals_by_ids(store: Store, project_name: str, ids: Sequence[int]) -> list[Proposal]:
    return [get_proposal(store, project_name, i) for i in ids]


__all__ = [
    "AcceptResult",
    "accept_proposal",
    "edit_proposal",
    "pending_groups",
    "praised_outputs",
    "preview_proposal",
    "proposal_complaints",
    "propose_checks",
    "provenance_notes",
    "reject_proposal",
    "sync_regressions",
    "titles",
    "write_proposal",
]
