"""Proposed checks: one per complaint group, accepted, edited or rejected by a person.

What is proposed (:func:`propose_spec`):

- a phrase group becomes ``not-contains`` (one phrase; a phrase containing another is covered
  by the shorter one), ``not-regex`` when several phrases share a stem (``AI(として|の私)``),
  else ``not-contains-any``;
- a comment or tag group becomes a ``judge-rubric`` check written in the complaint's language
  ("the answer must not …"), scale 1-5, passing at 4, with the complained output in the rubric
  as a failing example.

Proposals live in ``check_proposals`` (append-only, see ``hyouka/store/schema.py``); the
check's metric is ``complaint-<id>``. New complaints like an open or accepted proposal's join
it (a new row with the larger provenance) instead of making a duplicate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from hyouka.config import Project
from hyouka.errors import HyoukaError, NotFoundError
from hyouka.loop import queries
from hyouka.loop.complaints import (
    Complaint,
    ComplaintGroup,
    group_complaints,
    is_japanese,
    normalize,
    related_phrases,
    shared_stem,
    similar_texts,
)
from hyouka.store.schema import utcnow
from hyouka.store.store import Store
from hyouka.store.tx import utc

STATUSES = ("proposed", "accepted", "rejected")
MAX_EXAMPLE = 600  # characters of a complained output quoted in a rubric
MAX_OUTPUT = 2000  # characters of an output kept in the provenance
RUBRIC_THRESHOLD = 4


class LoopError(HyoukaError):
    """A proposal cannot be acted on as asked."""


@dataclass(frozen=True)
class Decision:
    row_id: int
    status: str
    by: str | None
    at: datetime | None
    note: str | None


@dataclass(frozen=True)
class Proposal:
    """A proposal's current state (its newest row) and its history."""

    id: int  # the first row's id: the check's metric is complaint-<id>
    row_id: int
    status: str
    kind: str
    title: str
    spec: Mapping[str, Any]
    provenance: Mapping[str, Any]
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    created_at: datetime
    history: tuple[Decision, ...] = ()

    @property
    def metric(self) -> str:
        return f"complaint-{self.id}"

    @property
    def check(self) -> dict[str, Any]:
        """The check as it goes into regressions.yaml."""
        return {**dict(self.spec), "metric": self.metric}

    @property
    def complaints(self) -> list[Mapping[str, Any]]:
        return list(self.provenance.get("complaints") or [])

    @property
    def raised_at(self) -> datetime:
        times = [parse_time(c.get("when")) for c in self.complaints]
        known = [t for t in times if t is not None]
        return min(known) if known else utc(self.created_at)

    @property
    def accepted_at(self) -> datetime | None:
        for d in self.history:
            if d.status == "accepted":
                return d.at
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "metric": self.metric,
            "status": self.status,
            "kind": self.kind,
            "title": self.title,
            "check": self.check,
            "raised_at": self.raised_at.isoformat(),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "note": self.note,
            "complaints": self.complaints,
            "history": [
                {
                    "status": d.status,
                    "by": d.by,
                    "at": d.at.isoformat() if d.at else None,
                    "note": d.note,
                }
                for d in self.history
            ],
        }


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, str):
        try:
            return utc(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


# ----------------------------------------------------------------------------- specs


def phrase_spec(phrases: Sequence[str]) -> dict[str, Any]:
    """``not-contains`` / ``not-regex`` / ``not-contains-any`` for the marked phrases."""
    unique = list(dict.fromkeys(p.strip() for p in phrases if p.strip()))
    # A phrase that contains another is already caught by the shorter one.
    kept = [p for p in unique if not any(o != p and normalize(o) in normalize(p) for o in unique)]
    kept = list(dict.fromkeys(kept)) or unique[:1]
    if len(kept) == 1:
        return {"type": "not-contains", "value": kept[0]}
    normed = [str(_norm_keep_case(p)) for p in kept]
    prefix, suffix = shared_stem(normed)
    if max(len(prefix), len(suffix)) >= 2:
        if len(prefix) >= len(suffix):
            rests = [p[len(prefix) :] for p in normed]
            pattern = re.escape(prefix) + "(" + "|".join(re.escape(r) for r in rests) + ")"
        else:
            rests = [p[: len(p) - len(suffix)] for p in normed]
            pattern = "(" + "|".join(re.escape(r) for r in rests) + ")" + re.escape(suffix)
        return {"type": "not-regex", "value": pattern, "normalize": "default"}
    return {"type": "not-contains-any", "value": kept}


def _norm_keep_case(text: str) -> str:
    from hyouka.loop.complaints import _normalizer

    return str(_normalizer().apply(text)).strip()


def _quote(text: str, limit: int = MAX_EXAMPLE) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "…"


def rubric_text(group: ComplaintGroup) -> tuple[str, str]:
    """(rubric, lang): "the answer must not …", in the language the complaints were written in."""
    if group.kind == "tag":
        said = [group.label]
    else:
        said = list(dict.fromkeys(str(c.comment) for c in group.complaints if c.comment))[:5]
    ja = is_japanese(" ".join(said))
    examples = list(dict.fromkeys(c.output for c in group.complaints if c.output.strip()))[:2]
    if ja:
        head = "回答は、利用者の次の指摘に当てはまってはいけない："
        body = "\n".join(f"- {s}" for s in said)
        scale = "指摘にはっきり当てはまる回答は 1、まったく当てはまらない回答は 5 とする。"
        tail = "不合格の例（この指摘を受けた回答）："
    else:
        head = "The answer must not do what this user complaint describes:"
        body = "\n".join(f"- {s}" for s in said)
        scale = "Give 1 to an answer the complaint clearly applies to, 5 to one it does not fit."
        tail = "A failing example (the answer that drew the complaint):"
    parts = [head, body, scale]
    for ex in examples:
        parts += ["", tail, _quote(ex)]
    return "\n".join(parts), "ja" if ja else "en"


def default_judge(project: Project | None) -> str:
    """The judge provider for rubric proposals: one the project's judges already use, else the
    first provider that is not the fake ``echo``, else the first one."""
    if project is None:
        return "judge"
    cfg = project.config
    every = [*cfg.checks, *(c for ds in cfg.datasets.values() for c in ds.checks)]
    for check in every:
        judge = check.options.get("judge")
        if check.type.startswith("judge-") and isinstance(judge, str):
            return judge
    real = [name for name, p in cfg.providers.items() if p.type != "echo"]
    return (real or list(cfg.providers) or ["judge"])[0]


def propose_spec(group: ComplaintGroup, judge: str) -> dict[str, Any]:
    if group.kind == "phrase":
        return phrase_spec(group.phrases)
    rubric, lang = rubric_text(group)
    return {
        "type": "judge-rubric",
        "judge": judge,
        "rubric": rubric,
        "scale": [1, 5],
        "threshold": RUBRIC_THRESHOLD,
        "lang": lang,
    }


def _title(group: ComplaintGroup) -> str:
    if group.kind == "phrase":
        return " / ".join(group.phrases)
    return _quote(group.label, 200)


# ----------------------------------------------------------------------------- provenance


def complaint_record(c: Complaint) -> dict[str, Any]:
    return {
        "key": c.key,
        "judgment_id": c.judgment_id,
        "source": c.source,
        "who": c.who,
        "group": c.group,
        "when": c.created_at.isoformat(),
        "text": c.text,
        "tags": list(c.tags),
        "comment": c.comment,
        "highlight": c.highlight,
        "case_key": c.case_key,
        "case_id": c.case_id,
        "sample_id": c.sample_id,
        "variant": c.variant,
        "output": _quote(c.output, MAX_OUTPUT),
        "input_text": c.input_text,
    }


def _items(group: ComplaintGroup) -> list[str]:
    """What a group covers: a complaint key and what it was grouped by."""
    if group.kind == "tag":
        return [f"{c.key}|tag|{normalize(group.label)}" for c in group.complaints]
    return [f"{c.key}|{group.kind}" for c in group.complaints]


def _provenance(group: ComplaintGroup) -> dict[str, Any]:
    return {
        "kind": group.kind,
        "label": group.label,
        "phrases": list(group.phrases),
        "items": _items(group),
        "complaints": [complaint_record(c) for c in group.complaints],
    }


def _merged(old: Mapping[str, Any], group: ComplaintGroup) -> dict[str, Any]:
    new = _provenance(group)
    return {
        **dict(old),
        "phrases": list(dict.fromkeys([*(old.get("phrases") or []), *new["phrases"]])),
        "items": [*(old.get("items") or []), *new["items"]],
        "complaints": [*(old.get("complaints") or []), *new["complaints"]],
    }


# ----------------------------------------------------------------------------- reading


def _proposal(rows: Sequence[Any]) -> Proposal:
    first, last = rows[0], rows[-1]
    history = tuple(
        Decision(
            int(r.id),
            str(r.status),
            r.decided_by,
            utc(r.decided_at) if r.decided_at else None,
            r.note,
        )
        for r in rows
    )
    return Proposal(
        id=int(first.id),
        row_id=int(last.id),
        status=str(last.status),
        kind=str(last.kind),
        title=str(last.title),
        spec=dict(last.spec),
        provenance=dict(last.provenance),
        decided_by=last.decided_by,
        decided_at=utc(last.decided_at) if last.decided_at else None,
        note=last.note,
        created_at=utc(first.created_at),
        history=history,
    )


def list_proposals(store: Store, project: str, status: str | None = None) -> list[Proposal]:
    """Every proposal's current state, oldest first (``status`` filters on it)."""
    by_root: dict[int, list[Any]] = {}
    for row in queries.proposal_rows(store, project):
        by_root.setdefault(int(row.root_id or row.id), []).append(row)
    found = [_proposal(rows) for _, rows in sorted(by_root.items())]
    return [p for p in found if status is None or p.status == status]


def get_proposal(store: Store, project: str, proposal_id: int | str) -> Proposal:
    """A proposal by id (``12``, ``complaint-12``)."""
    text = str(proposal_id).removeprefix("complaint-")
    if not text.isdigit():
        raise NotFoundError(f"'{proposal_id}' is not a proposal id (e.g. 12 or complaint-12)")
    wanted = int(text)
    for p in list_proposals(store, project):
        if p.id == wanted:
            return p
    raise NotFoundError(
        f"no proposal {wanted} in project {project}; list them with: hyouka feedback list"
    )


# ----------------------------------------------------------------------------- writing


def _append(
    store: Store, p: Proposal, status: str, by: str | None, note: str | None, **changes: Any
) -> Proposal:
    from hyouka.store.tx import write_tx

    with write_tx(store) as conn:
        current = queries.newest_proposal_row_id(conn, p.id)
        if current != p.row_id:
            raise LoopError(
                f"complaint-{p.id} changed meanwhile (someone else decided); look again with "
                f"`hyouka feedback show {p.id}`"
            )
        queries.insert_proposal_row(
            conn,
            project=str(changes.get("project")),
            root_id=p.id,
            supersedes_id=p.row_id,
            status=status,
            kind=changes.get("kind", p.kind),
            title=changes.get("title", p.title),
            spec=dict(changes.get("spec", p.spec)),
            provenance=dict(changes.get("provenance", p.provenance)),
            decided_by=by,
            decided_at=utcnow() if by else None,
            note=note,
        )
    return get_proposal(store, str(changes.get("project")), p.id)


def covered_items(proposals: Iterable[Proposal]) -> set[str]:
    return {item for p in proposals for item in p.provenance.get("items") or []}


def uncovered(complaints: Iterable[Complaint], covered: set[str]) -> list[Complaint]:
    out = []
    for c in complaints:
        if c.kind == "tag":
            tags = tuple(t for t in c.tags if f"{c.key}|tag|{normalize(t)}" not in covered)
            if tags:
                out.append(replace(c, tags=tags))
        elif f"{c.key}|{c.kind}" not in covered:
            out.append(c)
    return out


def _matches(p: Proposal, group: ComplaintGroup) -> bool:
    if p.kind != group.kind or p.status == "rejected":
        return False
    prov = p.provenance
    if group.kind == "phrase":
        old = list(prov.get("phrases") or [])
        return any(related_phrases(a, b) for a in old for b in group.phrases)
    if group.kind == "tag":
        return normalize(str(prov.get("label") or "")) == normalize(group.label)
    said = [str(c.get("comment")) for c in prov.get("complaints") or [] if c.get("comment")]
    return any(similar_texts(s, str(c.comment)) for s in said for c in group.complaints)


@dataclass(frozen=True)
class ProposeResult:
    created: tuple[Proposal, ...]
    joined: tuple[Proposal, ...]  # existing proposals new complaints joined


def propose(
    store: Store, project: str, complaints: Sequence[Complaint], judge: str
) -> ProposeResult:
    """Group the complaints no proposal covers yet and store a proposal per new group."""
    existing = list_proposals(store, project)
    groups = group_complaints(uncovered(complaints, covered_items(existing)))
    created: list[int] = []
    joined: list[Proposal] = []
    for group in groups:
        match = next((p for p in existing if _matches(p, group)), None)
        if match is not None:
            note = f"{len(group.complaints)} more complaint(s) joined"
            merged = _append(
                store,
                match,
                match.status,
                None,
                note,
                project=project,
                provenance=_merged(match.provenance, group),
            )
            existing = [merged if p.id == merged.id else p for p in existing]
            joined.append(merged)
            continue
        from hyouka.store.tx import write_tx

        with write_tx(store) as conn:
            created.append(
                queries.insert_proposal_row(
                    conn,
                    project=project,
                    status="proposed",
                    kind=group.kind,
                    title=_title(group),
                    spec=propose_spec(group, judge),
                    provenance=_provenance(group),
                )
            )
    made = tuple(get_proposal(store, project, i) for i in created)
    return ProposeResult(made, tuple(joined))


def record_decision(
    store: Store,
    project: str,
    proposal: Proposal,
    status: str,
    by: str,
    note: str | None = None,
    spec: Mapping[str, Any] | None = None,
) -> Proposal:
    """Append a person's decision (``accepted`` / ``rejected``, or an edit: ``proposed``)."""
    if status not in STATUSES:
        raise LoopError(f"unknown status '{status}' (use {', '.join(STATUSES)})")
    if not by.strip():
        raise LoopError("say who decides (--by NAME): decisions are recorded with a name")
    if proposal.status == "accepted" and status != "rejected":
        raise LoopError(
            f"complaint-{proposal.id} is already accepted; reject it first to change its check"
        )
    changes: dict[str, Any] = {"project": project}
    if spec is not None:
        changes["spec"] = dict(spec)
    return _append(store, proposal, status, by.strip(), note, **changes)


__all__ = [
    "Decision",
    "LoopError",
    "Proposal",
    "ProposeResult",
    "default_judge",
    "get_proposal",
    "list_proposals",
    "phrase_spec",
    "propose",
    "propose_spec",
    "record_decision",
    "rubric_text",
]
