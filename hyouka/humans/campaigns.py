"""Campaigns: which run's outputs people judge, how, and by how many people.

Items are built once, when the campaign is created, and never change:

- pairwise modes: for every case and sample index, one item per pair of chosen variants (in the
  order the variants were given: the first is ``sample_a``), when both outputs are ``ok``;
- rating mode: one item per ``ok`` output.

Item positions are shuffled with the campaign's seed (stored), so people see a mix of cases.

People's time goes furthest where an LLM judge is unsure. With ``judge_first`` (a pairwise
judge of the run), items are ordered in three tiers, each shuffled with the seed: pairs the
judge could not settle (its verdict flipped when the answers swapped places, a tie, an
unreadable verdict, or repeats that disagree), then pairs it did not judge, then pairs it
settled. Items are served lowest coverage first, then by position, so the unsettled pairs
reach their overlap first; ``only_unsettled`` leaves the settled pairs out altogether.

A campaign may be for some annotator groups only (``groups``: e.g. the operators who will use
the app); people of other groups neither see it nor get its items. Admins may open any
campaign (to try the screen before sending the links).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hyouka.bounds import DB_INT_MAX, LONG_TEXT_MAX, SEED_MAX, TAG_MAX, as_db_id, name_problem
from hyouka.errors import NotFoundError
from hyouka.humans._tx import as_utc, inserted_id, reading, write_tx
from hyouka.humans.people import Annotator, HumanEvalError
from hyouka.store.schema import (
    annotators,
    campaign_items,
    campaigns,
    cases,
    judgments,
    run_variants,
    samples,
    variants,
)
from hyouka.store.store import Store

MODES = ("pairwise", "rating", "pairwise+rating")
DEFAULT_TAGS = ("事実と違う", "長すぎる", "敬語が不自然", "質問に答えていない")
MAX_TAGS = 20


@dataclass(frozen=True)
class CampaignSpec:
    """What a new campaign judges. Empty ``variants`` / ``cases`` mean all of the run's."""

    name: str
    mode: str = "pairwise+rating"
    variants: Sequence[str] = ()
    cases: Sequence[str] = ()
    overlap: int = 3
    rubric: str | None = None
    instructions: str | None = None
    tags: Sequence[str] = DEFAULT_TAGS
    seed: int = 0
    max_samples: int | None = None  # use sample indices 0..max_samples-1 of each case
    assignment_minutes: int = 30
    groups: Sequence[str] = ()  # annotator groups who judge it; empty: everyone
    judge_first: str | None = None  # a pairwise judge: the pairs it could not settle go first
    only_unsettled: bool = False  # with judge_first: leave out the pairs the judge settled


@dataclass(frozen=True)
class Campaign:
    id: int
    project: str
    name: str
    run_id: int
    mode: str
    overlap: int
    rubric: str | None
    instructions: str | None
    tags: tuple[str, ...]
    variant_ids: tuple[int, ...]
    seed: int
    status: str
    assignment_minutes: int
    created_at: datetime | None = field(default=None, compare=False)
    groups: tuple[str, ...] = ()  # empty: everyone
    # judge_first campaigns: {"judge", "unsettled", "unjudged", "settled", "only_unsettled"}
    selection: Mapping[str, Any] | None = field(default=None, compare=False)

    def open_to(self, person: Annotator) -> bool:
        """Whether this person may judge here: everyone when no groups are set, else the
        people of those groups, and admins."""
        return not self.groups or person.group in self.groups or person.is_admin

    @property
    def pairwise(self) -> bool:
        return self.mode in ("pairwise", "pairwise+rating")

    @property
    def rating(self) -> bool:
        return self.mode in ("rating", "pairwise+rating")

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class ItemRow:
    case_id: int
    sample_a_id: int
    sample_b_id: int | None


def campaign_from_row(row: Mapping[Any, Any]) -> Campaign:
    return Campaign(
        id=int(row["id"]),
        project=str(row["project"]),
        name=str(row["name"]),
        run_id=int(row["run_id"]),
        mode=str(row["mode"]),
        overlap=int(row["overlap"]),
        rubric=row["rubric"],
        instructions=row["instructions"],
        tags=tuple(str(t) for t in row["tags"] or ()),
        variant_ids=tuple(int(v) for v in row["variant_ids"] or ()),
        seed=int(row["seed"]),
        status=str(row["status"]),
        assignment_minutes=int(row["assignment_minutes"]),
        created_at=as_utc(row["created_at"]),
        groups=tuple(str(g) for g in row["groups"] or ()),
        selection=row["selection"],
    )


def build_items(
    outputs: Mapping[tuple[int, int], Mapping[int, int]],
    variant_order: Sequence[int],
    pairwise: bool,
    seed: int,
    tier: Callable[[ItemRow], int] | None = None,
) -> list[ItemRow]:
    """Items from ``outputs[(case_id, sample_index)] = {variant_id: sample_id}``, shuffled;
    with ``tier``, lower tiers first (each tier keeps its shuffled order)."""
    items: list[ItemRow] = []
    for (case_id, _index), by_variant in sorted(outputs.items()):
        present = [v for v in variant_order if v in by_variant]
        if pairwise:
            items.extend(
                ItemRow(case_id, by_variant[a], by_variant[b]) for a, b in combinations(present, 2)
            )
        else:
            items.extend(ItemRow(case_id, by_variant[v], None) for v in present)
    random.Random(seed).shuffle(items)
    if tier is not None:
        items.sort(key=tier)  # stable: the shuffle holds within a tier
    return items


UNSETTLED, UNJUDGED, SETTLED = 0, 1, 2


def judge_verdicts(
    conn: Connection, run_id: int, judge: str
) -> tuple[str, dict[frozenset[int], bool]]:
    """What a pairwise judge made of the run's pairs: ``{frozenset(sample ids): settled}``.

    ``judge`` is the judge's name as ``hyouka show`` lists it (``judge-pairwise@gpt``) or its
    part before ``@``. A pair is settled when every verdict the judge gave it (both orders,
    each repeat) named the same sample; a flip, a tie, repeats that disagree, or a call whose
    answer could not be read (a judge sample with no verdict) leave it unsettled.
    """
    a = samples.alias("a")
    verdict_rows = conn.execute(
        select(
            variants.c.name,
            judgments.c.sample_a_id,
            judgments.c.sample_b_id,
            judgments.c.winner,
        )
        .join(variants, variants.c.id == judgments.c.judge_variant_id)
        .join(a, a.c.id == judgments.c.sample_a_id)
        .where(judgments.c.source == "judge", a.c.run_id == run_id)
        .order_by(judgments.c.id)
    ).all()
    # The judge's calls on pairs: target "p:<sample>:<sample>:<order>", one repeat per index.
    call_rows = conn.execute(
        select(variants.c.name, samples.c.target, samples.c.sample_index)
        .join(variants, variants.c.id == samples.c.variant_id)
        .where(
            samples.c.run_id == run_id,
            samples.c.role == "judge",
            samples.c.target.like("p:%"),
        )
    ).all()
    names = sorted({str(r.name) for r in verdict_rows} | {str(r.name) for r in call_rows})
    matching = sorted({n for n in names if judge in (n, n.split("@", 1)[0])})
    if len(matching) != 1:
        problem = "is ambiguous" if matching else "judged no pairs of this run"
        raise HumanEvalError(
            f"judge '{judge}' {problem} (pairwise judges of this run: "
            f"{', '.join(names) or 'none; add a judge-pairwise check and run hyouka score'})",
            "error.unknown_judge",
        )
    name = matching[0]
    picked: dict[frozenset[int], list[int | None]] = {}
    for r in verdict_rows:
        if r.name == name:
            winner = {"a": r.sample_a_id, "b": r.sample_b_id}.get(str(r.winner))
            key = frozenset((int(r.sample_a_id), int(r.sample_b_id)))
            picked.setdefault(key, []).append(None if winner is None else int(winner))
    repeats: dict[frozenset[int], set[int]] = {}
    for call in call_rows:
        parts = str(call.target).split(":")
        if call.name == name and len(parts) >= 3 and parts[1].isdigit() and parts[2].isdigit():
            key = frozenset((int(parts[1]), int(parts[2])))
            repeats.setdefault(key, set()).add(int(call.sample_index))
    out: dict[frozenset[int], bool] = {}
    for key in picked.keys() | repeats.keys():
        found = picked.get(key, [])
        unread = len(repeats.get(key, ())) > len(found)  # a repeat gave no verdict
        out[key] = bool(found) and not unread and None not in found and len(set(found)) == 1
    return name, out


def _tier_of(verdicts: Mapping[frozenset[int], bool]) -> Callable[[ItemRow], int]:
    def tier(item: ItemRow) -> int:
        if item.sample_b_id is None:
            return UNJUDGED
        settled = verdicts.get(frozenset((item.sample_a_id, item.sample_b_id)))
        return UNJUDGED if settled is None else SETTLED if settled else UNSETTLED

    return tier


def _check_spec(spec: CampaignSpec) -> None:
    if not spec.name.strip():
        raise HumanEvalError("a campaign needs a name", "error.name_required")
    problem = name_problem(spec.name, "a campaign name")
    if problem:  # names go into file names and HTTP headers (the CSV download)
        raise HumanEvalError(problem, "error.bad_name")
    if not 0 <= spec.seed <= SEED_MAX:
        raise HumanEvalError(f"the seed must be between 0 and {SEED_MAX}", "error.bad_seed")
    if spec.max_samples is not None and not 1 <= spec.max_samples <= DB_INT_MAX:
        raise HumanEvalError("max samples must be a positive number", "error.generic")
    if any(len(t) > TAG_MAX for t in spec.tags):
        raise HumanEvalError(f"a quick tag must be at most {TAG_MAX} characters", "error.too_long")
    if any(len(t or "") > LONG_TEXT_MAX for t in (spec.rubric, spec.instructions)):
        raise HumanEvalError(
            f"the rubric and instructions must be at most {LONG_TEXT_MAX:,} characters",
            "error.too_long",
        )
    if spec.mode not in MODES:
        raise HumanEvalError(
            f"mode '{spec.mode}' is not one of {', '.join(MODES)}", "error.bad_mode"
        )
    if not 1 <= spec.overlap <= 100:
        raise HumanEvalError("overlap must be between 1 and 100", "error.bad_overlap")
    if not 1 <= spec.assignment_minutes <= 24 * 60:
        raise HumanEvalError("assignment minutes must be between 1 and 1440", "error.generic")
    if spec.only_unsettled and not spec.judge_first:
        raise HumanEvalError(
            "only_unsettled needs judge_first (the judge whose unsettled pairs to keep)",
            "error.generic",
        )
    if len(spec.tags) > MAX_TAGS:
        raise HumanEvalError(f"at most {MAX_TAGS} quick tags", "error.too_many_tags")


def _check_groups(conn: Connection, project: str, groups: Sequence[str]) -> list[str]:
    """The campaign's groups, each one the group of somebody in the project (a typo would
    otherwise shut everyone out of the campaign)."""
    wanted = list(dict.fromkeys(g.strip() for g in groups if g.strip()))
    if not wanted:
        return []
    known = {
        str(g)
        for (g,) in conn.execute(
            select(annotators.c.group_name).where(annotators.c.project == project).distinct()
        )
        if g
    }
    unknown = [g for g in wanted if g not in known]
    if unknown:
        raise HumanEvalError(
            f"nobody is in group(s) {', '.join(unknown)} (groups: "
            f"{', '.join(sorted(known)) or 'none yet'}); add the people first "
            "(hyouka annotators add NAME --group GROUP) or check the spelling",
            "error.unknown_group",
        )
    return wanted


def _resolve_variants(conn: Connection, run_id: int, names: Sequence[str]) -> list[int]:
    rows = conn.execute(
        select(variants.c.id, variants.c.name)
        .join(run_variants, run_variants.c.variant_id == variants.c.id)
        .where(run_variants.c.run_id == run_id, variants.c.kind != "judge")
        .order_by(variants.c.name)
    ).all()
    by_name = {str(r.name): int(r.id) for r in rows}
    if not names:
        return list(by_name.values())
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise HumanEvalError(
            f"variant(s) {', '.join(unknown)} not in this run (its variants: "
            f"{', '.join(sorted(by_name)) or 'none'})",
            "error.unknown_variant",
        )
    return [by_name[n] for n in dict.fromkeys(names)]


def _collect_outputs(
    conn: Connection, run_id: int, variant_ids: Sequence[int], spec: CampaignSpec
) -> dict[tuple[int, int], dict[int, int]]:
    query = (
        select(
            samples.c.id,
            samples.c.variant_id,
            samples.c.case_id,
            samples.c.sample_index,
            cases.c.case_key,
        )
        .join(cases, cases.c.id == samples.c.case_id)
        .where(
            samples.c.run_id == run_id,
            samples.c.role == "app",
            samples.c.target == "",
            samples.c.status == "ok",
            samples.c.variant_id.in_(list(variant_ids)),
        )
    )
    wanted = set(spec.cases)
    if wanted and len(wanted) <= 500:  # more would pass the database's limit on parameters
        query = query.where(cases.c.case_key.in_(sorted(wanted)))
    if spec.max_samples is not None:
        query = query.where(samples.c.sample_index < spec.max_samples)
    out: dict[tuple[int, int], dict[int, int]] = {}
    for sid, vid, cid, index, key in conn.execute(query):
        if not wanted or key in wanted:
            out.setdefault((int(cid), int(index)), {})[int(vid)] = int(sid)
    return out


def create_campaign(store: Store, project: str, run_id: int, spec: CampaignSpec) -> Campaign:
    """Create a campaign and its items; raise :class:`HumanEvalError` with a clear reason."""
    _check_spec(spec)
    tags = [t.strip() for t in spec.tags if t.strip()]
    try:
        with write_tx(store) as conn:
            groups = _check_groups(conn, project, spec.groups)
            variant_ids = _resolve_variants(conn, run_id, spec.variants)
            pairwise = spec.mode != "rating"
            if pairwise and len(variant_ids) < 2:
                raise HumanEvalError(
                    "a pairwise campaign needs at least two variants", "error.need_two_variants"
                )
            outputs = _collect_outputs(conn, run_id, variant_ids, spec)
            tier: Callable[[ItemRow], int] | None = None
            selection: dict[str, Any] | None = None
            if spec.judge_first:
                if not pairwise:
                    raise HumanEvalError(
                        "judge_first orders pairs: use a pairwise mode", "error.judge_first_mode"
                    )
                judge, verdicts = judge_verdicts(conn, run_id, spec.judge_first)
                tier = _tier_of(verdicts)
            items = build_items(outputs, variant_ids, pairwise, spec.seed, tier)
            if tier is not None:
                counts = Counter(tier(i) for i in items)
                if spec.only_unsettled:
                    items = [i for i in items if tier(i) != SETTLED]
                selection = {
                    "judge": judge,
                    "unsettled": counts[UNSETTLED],
                    "unjudged": counts[UNJUDGED],
                    "settled": counts[SETTLED],
                    "only_unsettled": spec.only_unsettled,
                }
            if not items and selection is not None and spec.only_unsettled:
                raise HumanEvalError(
                    f"no items: the judge '{selection['judge']}' settled every pair; "
                    "drop only_unsettled to have people check it",
                    "error.no_items",
                )
            if not items:
                raise HumanEvalError(
                    "no items: the run has no successful outputs for these variants and cases",
                    "error.no_items",
                )
            campaign_id = inserted_id(
                conn.execute(
                    insert(campaigns).values(
                        project=project,
                        name=spec.name.strip(),
                        run_id=run_id,
                        mode=spec.mode,
                        overlap=spec.overlap,
                        rubric=spec.rubric or None,
                        instructions=spec.instructions or None,
                        tags=list(dict.fromkeys(tags)),
                        variant_ids=variant_ids,
                        seed=spec.seed,
                        status="open",
                        assignment_minutes=spec.assignment_minutes,
                        groups=groups,
                        selection=selection,
                    )
                )
            )
            _insert_items(conn, int(campaign_id), items)
    except IntegrityError:
        raise HumanEvalError(
            f"a campaign named '{spec.name}' already exists; choose another name",
            "error.campaign_exists",
        ) from None
    return get_campaign(store, project, int(campaign_id))


def _insert_items(conn: Connection, campaign_id: int, items: Sequence[ItemRow]) -> None:
    rows = [
        {
            "campaign_id": campaign_id,
            "position": pos,
            "case_id": it.case_id,
            "sample_a_id": it.sample_a_id,
            "sample_b_id": it.sample_b_id,
            "done_count": 0,
            "assigned_count": 0,
        }
        for pos, it in enumerate(items)
    ]
    for start in range(0, len(rows), 1000):
        conn.execute(insert(campaign_items), rows[start : start + 1000])


def list_campaigns(store: Store, project: str, status: str | None = None) -> list[Campaign]:
    query = select(campaigns).where(campaigns.c.project == project).order_by(campaigns.c.id)
    if status is not None:
        query = query.where(campaigns.c.status == status)
    with reading(store) as conn:
        return [campaign_from_row(r._mapping) for r in conn.execute(query)]


_BY_ID = select(campaigns).where(
    campaigns.c.project == bindparam("project"), campaigns.c.id == bindparam("ref")
)
_BY_NAME = select(campaigns).where(
    campaigns.c.project == bindparam("project"), campaigns.c.name == bindparam("ref")
)


def get_campaign(store: Store, project: str, ref: int | str) -> Campaign:
    """A campaign by id or by name."""
    by_id = isinstance(ref, int) or ref.isdigit()
    value = as_db_id(ref) if by_id else ref
    row = None
    if value is not None:  # None: a number beyond any id (no such campaign)
        with reading(store) as conn:
            row = conn.execute(
                _BY_ID if by_id else _BY_NAME, {"project": project, "ref": value}
            ).first()
    if row is None:
        raise NotFoundError(f"no campaign '{ref}' (list them with: hyouka campaigns list)")
    return campaign_from_row(row._mapping)


def set_campaign_status(store: Store, project: str, ref: int | str, status: str) -> Campaign:
    """Close (no new assignments; handed-out ones may still be judged) or reopen."""
    if status not in ("open", "closed"):
        raise HumanEvalError(f"status must be open or closed, not '{status}'")
    campaign = get_campaign(store, project, ref)
    with write_tx(store) as conn:
        conn.execute(update(campaigns).where(campaigns.c.id == campaign.id).values(status=status))
    return get_campaign(store, project, campaign.id)


@dataclass(frozen=True)
class RunOverview:
    """What a campaign can be built from: a run's variant names and cases."""

    variant_names: tuple[str, ...]
    n_cases: int
    case_keys: tuple[str, ...]  # the first ``max_keys`` case keys, sorted
    pairwise_judges: tuple[str, ...] = ()  # judges that compared pairs of the run (judge_first)


def run_overview(store: Store, run_id: int, max_keys: int = 50) -> RunOverview:
    names = (
        select(variants.c.name)
        .join(run_variants, run_variants.c.variant_id == variants.c.id)
        .where(run_variants.c.run_id == run_id, variants.c.kind != "judge")
        .order_by(variants.c.name)
    )
    app_cases = select(samples.c.case_id).where(samples.c.run_id == run_id, samples.c.role == "app")
    keys = (
        select(cases.c.case_key)
        .where(cases.c.id.in_(app_cases))
        .order_by(cases.c.case_key)
        .limit(max_keys)
    )
    a = samples.alias("a")
    judges = (
        select(variants.c.name)
        .join(judgments, judgments.c.judge_variant_id == variants.c.id)
        .join(a, a.c.id == judgments.c.sample_a_id)
        .where(judgments.c.source == "judge", a.c.run_id == run_id)
        .distinct()
        .order_by(variants.c.name)
    )
    with reading(store) as conn:
        n_cases = conn.execute(
            select(func.count()).select_from(cases).where(cases.c.id.in_(app_cases))
        ).scalar_one()
        return RunOverview(
            tuple(str(n) for (n,) in conn.execute(names)),
            int(n_cases),
            tuple(str(k) for (k,) in conn.execute(keys)),
            tuple(str(n) for (n,) in conn.execute(judges)),
        )
