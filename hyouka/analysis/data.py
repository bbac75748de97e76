"""What the analyses read from the store: variants, score matrices and judgments.

Scores: rescoring adds rows, so the newest row per (sample, check, metric, repeat) counts (as
in ``hyouka show``); a sample's value is the mean over its repeats (a judge asked twice); rows
that are not ``ok`` (errors, skipped samples) are missing, never zero. A metric's matrix is
cases × samples with NaN for a missing sample, rows aligned by case between the two arms.

Judgments are append-only; the current view leaves out every row another row supersedes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import and_, case, or_, select

from hyouka.errors import NotFoundError
from hyouka.stats._common import FloatArray, IntArray
from hyouka.store.judgments import is_current
from hyouka.store.schema import (
    annotators,
    campaigns,
    cases,
    judgments,
    run_variants,
    samples,
    scores,
    variants,
)
from hyouka.store.store import Store

# Checks whose measured value is better when lower (a distance, a time, a price).
LOWER_IS_BETTER = frozenset({"latency", "cost", "levenshtein"})
Key = tuple[str, str]  # (check name, metric name)


@dataclass(frozen=True)
class VariantInfo:
    """One stored variant version."""

    id: int
    name: str
    version: str
    family: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class Arm:
    """One side of a comparison: a variant, or every member of a family (fine-tune seeds)."""

    label: str
    variants: tuple[VariantInfo, ...]
    is_family: bool = False

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(v.id for v in self.variants)


@dataclass(frozen=True)
class MetricInfo:
    """A check metric of a run. ``binary``: every value is 0 or 1 (a pass/fail check)."""

    check: str
    metric: str
    label: str
    binary: bool

    @property
    def higher_is_better(self) -> bool:
        return self.binary or self.check.removeprefix("not-") not in LOWER_IS_BETTER


def variants_in_run(store: Store, run_id: int) -> list[VariantInfo]:
    """The variants of a run, oldest first."""
    query = (
        select(variants.c.id, variants.c.name, variants.c.version, variants.c.family)
        .join(run_variants, run_variants.c.variant_id == variants.c.id)
        .where(run_variants.c.run_id == run_id)
        .order_by(variants.c.id)
    )
    with store.engine.connect() as conn:
        return [VariantInfo(int(r.id), r.name, r.version, r.family) for r in conn.execute(query)]


def _latest_per_name(found: Sequence[VariantInfo]) -> tuple[VariantInfo, ...]:
    newest: dict[str, VariantInfo] = {}
    for v in found:
        if v.name not in newest or v.id > newest[v.name].id:
            newest[v.name] = v
    return tuple(sorted(newest.values(), key=lambda v: v.id))


def resolve_arm(available: Sequence[VariantInfo], ref: str, run_uid: str) -> Arm:
    """``name`` (its latest version in the run), ``name@version`` or a family name."""
    name, _, version = ref.partition("@")
    found = [v for v in available if v.name == name and v.version.startswith(version)]
    if found and version:
        if len({v.version for v in found}) > 1:
            raise NotFoundError(f"'{ref}' matches several versions; give more of the version")
        return Arm(ref, (found[0],))
    if found:
        return Arm(ref, _latest_per_name(found))
    members = _latest_per_name([v for v in available if v.family == ref and not version])
    if members:
        return Arm(ref, members, is_family=True)
    names = ", ".join(sorted({v.name for v in available})) or "none"
    raise NotFoundError(
        f"no variant or family '{ref}' in run {run_uid} (its variants: {names}); "
        f"use a name, name@version, or a family name"
    )


def family_of(arm: Arm, available: Sequence[VariantInfo]) -> tuple[VariantInfo, ...]:
    """The replicate seeds an arm stands for: its family's members in the run (or none)."""
    if arm.is_family:
        return arm.variants
    family = arm.variants[0].family
    if not family:
        return ()
    return _latest_per_name([v for v in available if v.family == family])


# ----------------------------------------------------------------------------- scores


@dataclass(frozen=True)
class ScoreData:
    """One value per (sample, metric) for the loaded variants of a run, as parallel arrays."""

    metrics: tuple[MetricInfo, ...]
    variant: IntArray
    case: IntArray
    sample_index: IntArray
    metric: IntArray
    value: FloatArray

    def metric_index(self, label: str) -> int:
        for i, m in enumerate(self.metrics):
            if label in (m.label, m.metric):
                return i
        for i, m in enumerate(self.metrics):
            if label == m.check:
                return i
        names = ", ".join(m.label for m in self.metrics) or "none"
        raise NotFoundError(f"no metric '{label}' in this run (its metrics: {names})")

    def metrics_of(self, ids: Sequence[int]) -> set[int]:
        """Indices of the metrics with at least one value for any of ``ids``."""
        return {int(m) for m in np.unique(self.metric[np.isin(self.variant, ids)])}

    def matrix(self, metric: int, ids: Sequence[int]) -> tuple[IntArray, FloatArray]:
        """(case ids, cases × samples matrix) for the variants ``ids`` pooled as one arm.

        A family's members become extra columns: member j's sample k sits in column j·K + k.
        """
        sel = (self.metric == metric) & np.isin(self.variant, ids)
        order = np.asarray(ids, dtype=np.int64)
        pos = np.searchsorted(np.sort(order), self.variant[sel])
        member = np.argsort(order)[pos]
        k = self.sample_index[sel]
        kmax = int(k.max()) + 1 if k.size else 1
        case_ids, row = np.unique(self.case[sel], return_inverse=True)
        out = np.full((case_ids.size, len(order) * kmax), np.nan)
        out[row.ravel(), member * kmax + k] = self.value[sel]
        keep = ~np.all(np.isnan(out), axis=0)
        return case_ids.astype(np.int64), out[:, keep]


def _score_rows(store: Store, run_id: int, ids: Sequence[int]) -> tuple[list[Key], FloatArray]:
    """(metric keys, one row per score: variant, case, sample index, sample id, metric code,
    repeat, value, passed as 0/1, ok as 0/1), oldest score first.

    Strings stay in the database: metric names become codes in SQL and the rows are fetched
    as plain numbers with the driver's cursor. Turning 300,000 rows into SQLAlchemy rows and
    Python strings cost ~1.7 µs a row, twice the query itself.
    """
    where = and_(
        samples.c.run_id == run_id,
        samples.c.role == "app",
        samples.c.variant_id.in_(list(ids)),
        scores.c.sample_id == samples.c.id,
    )
    with store.engine.connect() as conn:
        keys = [
            (str(c), str(m))
            for c, m in conn.execute(
                select(scores.c.check_name, scores.c.metric)
                .where(where)
                .distinct()
                .order_by(scores.c.check_name, scores.c.metric)
            )
        ]
        if not keys:
            return [], np.zeros((0, 9))
        code = case(
            *[((scores.c.check_name == c) & (scores.c.metric == m), i) for i, (c, m) in
              enumerate(keys)],
            else_=-1,
        )  # fmt: skip
        passed = case((scores.c.passed.is_(True), 1.0), (scores.c.passed.is_(False), 0.0))
        ok = case((scores.c.status == "ok", 1), else_=0)
        query = (
            select(samples.c.variant_id, samples.c.case_id, samples.c.sample_index,
                   scores.c.sample_id, code, scores.c.repeat, scores.c.value, passed, ok)
            .where(where)
            .order_by(scores.c.id)
        )  # fmt: skip
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql)
            rows = cursor.fetchall()
        finally:
            cursor.close()
    return keys, np.array(rows, dtype=np.float64).reshape(-1, 9)


def load_scores(store: Store, run_id: int, ids: Sequence[int]) -> ScoreData:
    """Latest ok score per (sample, check, metric), averaged over repeats."""
    keys, rows = _score_rows(store, run_id, ids)
    if rows.shape[0] == 0:
        empty = np.zeros(0, dtype=np.int64)
        return ScoreData((), empty, empty, empty, empty, np.zeros(0))
    sample_id = rows[:, 3].astype(np.int64)
    code = rows[:, 4].astype(np.int64)
    repeat = rows[:, 5].astype(np.int64)
    # Rows come oldest first; the last row for a (sample, metric, repeat) is the current one.
    span = int(repeat.max()) + 1
    key = (sample_id * len(keys) + code) * span + repeat
    _, first_rev = np.unique(key[::-1], return_index=True)
    newest = np.sort(rows.shape[0] - 1 - first_rev)
    value = np.where(np.isnan(rows[newest, 6]), rows[newest, 7], rows[newest, 6])
    good = (rows[newest, 8] == 1) & ~np.isnan(value)
    keep = newest[good]
    pair = sample_id[keep] * len(keys) + code[keep]
    _, first, inverse = np.unique(pair, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    means = np.bincount(inverse, weights=value[good]) / np.bincount(inverse)
    at = keep[first]
    metric = code[at]
    return ScoreData(
        metrics=_metric_infos(keys, metric, means),
        variant=rows[at, 0].astype(np.int64),
        case=rows[at, 1].astype(np.int64),
        sample_index=rows[at, 2].astype(np.int64),
        metric=metric,
        value=means,
    )


def _metric_infos(
    keys: Sequence[Key], metric: IntArray, value: FloatArray
) -> tuple[MetricInfo, ...]:
    names = [m for _, m in keys]
    out = []
    for i, (check, name) in enumerate(keys):
        v = value[metric == i]
        label = name if names.count(name) == 1 else f"{check}/{name}"
        out.append(MetricInfo(check, name, label, bool(np.all((v == 0) | (v == 1)))))
    return tuple(out)


@dataclass(frozen=True)
class RuleScores:
    """One rule of a check that has several (per-case checks: seven ``regex`` rules, one per
    case). ``rule`` describes it (its value, "not …" when negated); ``values`` maps
    (variant id, case key) to the mean over that case's samples."""

    check: str
    metric: str
    rule: str
    values: dict[tuple[int, str], float]


def _rule_text(params: Any, params_hash: str) -> str:
    if not isinstance(params, dict):
        return params_hash[:8]
    value = params.get("value")
    if isinstance(value, list):
        text = " | ".join(str(v) for v in value)
    elif value is None or isinstance(value, dict):
        text = params_hash[:8]
    else:
        text = str(value)
    if params.get("negate"):
        text = "not " + text
    if params.get("threshold") is not None:
        text += f" (≥ {params['threshold']})"
    return text


def rule_scores(store: Store, run_id: int, ids: Sequence[int]) -> list[RuleScores]:
    """The rules of every check metric that has more than one rule among the current scores.

    The newest row per (sample, check, metric, repeat) counts, as in :func:`load_scores`; a
    rule rescored with new settings therefore replaces the old one and is not a second rule.
    """
    query = (
        select(samples.c.id, samples.c.variant_id, cases.c.case_key, scores.c.check_name,
               scores.c.metric, scores.c.repeat, scores.c.params_hash, scores.c.params,
               scores.c.value, scores.c.passed, scores.c.status)
        .join(samples, samples.c.id == scores.c.sample_id)
        .join(cases, cases.c.id == samples.c.case_id)
        .where(samples.c.run_id == run_id, samples.c.role == "app",
               samples.c.variant_id.in_(list(ids)))
        .order_by(scores.c.id)
    )  # fmt: skip
    newest: dict[tuple[int, str, str, int], Any] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            newest[(int(row.id), row.check_name, row.metric, int(row.repeat))] = row
    hashes: dict[tuple[str, str], set[str]] = {}
    for (_, check, metric, _), row in newest.items():
        hashes.setdefault((check, metric), set()).add(row.params_hash)
    several = {k for k, v in hashes.items() if len(v) > 1}
    if not several:
        return []
    per_rule: dict[tuple[str, str, str], dict[tuple[int, str], list[float]]] = {}
    text: dict[tuple[str, str, str], str] = {}
    for (_, check, metric, _), row in newest.items():
        value = row.value if row.value is not None else row.passed
        if (check, metric) not in several or row.status != "ok" or value is None:
            continue
        key = (check, metric, row.params_hash)
        text[key] = _rule_text(row.params, row.params_hash)
        cell = per_rule.setdefault(key, {}).setdefault((int(row.variant_id), row.case_key), [])
        cell.append(float(value))
    return [
        RuleScores(check, metric, text[(check, metric, h)],
                   {k: float(np.mean(v)) for k, v in cells.items()})
        for (check, metric, h), cells in sorted(per_rule.items(), key=lambda kv: text[kv[0]])
    ]  # fmt: skip


# ----------------------------------------------------------------------------- judgments


@dataclass(frozen=True)
class CampaignInfo:
    id: int
    name: str
    run_id: int
    mode: str
    variant_ids: tuple[int, ...]


@dataclass(frozen=True)
class Judgment:
    """One current judgment. ``winner`` and ratings are relative to sample a / sample b."""

    id: int
    source: str
    campaign_id: int | None
    item_id: int | None
    rater: str
    group: str
    judge_variant_id: int | None
    sample_a: int
    sample_b: int | None
    variant_a: int
    variant_b: int | None
    case_id: int
    case_key: str
    winner: str | None
    rating_a: int | None
    rating_b: int | None
    created_at: datetime | None


@dataclass(frozen=True)
class JudgmentSet:
    rows: tuple[Judgment, ...]
    variants: dict[int, VariantInfo]

    def name(self, variant_id: int | None) -> str:
        if variant_id is None:
            return "?"
        v = self.variants.get(variant_id)
        return v.name if v else f"variant {variant_id}"

    def of(self, source: str) -> list[Judgment]:
        return [j for j in self.rows if j.source == source]


def find_campaign(store: Store, project: str, ref: str) -> CampaignInfo:
    """A campaign by name or id."""
    query = select(campaigns).where(campaigns.c.project == project)
    query = query.where(campaigns.c.id == int(ref) if ref.isdigit() else campaigns.c.name == ref)
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
        if row is None:
            known = conn.execute(
                select(campaigns.c.name).where(campaigns.c.project == project)
            ).scalars()
            names = ", ".join(known) or "none yet"
            raise NotFoundError(f"no campaign '{ref}' in project {project} (campaigns: {names})")
    ids = tuple(int(v) for v in row.variant_ids or ())
    return CampaignInfo(int(row.id), str(row.name), int(row.run_id), str(row.mode), ids)


def load_judgments(
    store: Store, project: str, run_id: int, campaign_id: int | None = None
) -> JudgmentSet:
    """Current human and judge judgments on a run's samples.

    With ``campaign_id``, human judgments come from that campaign only; judge judgments come
    from the whole run (the many judge labels PPI++ combines with the few human ones).
    """
    sa, sb = samples.alias("sa"), samples.alias("sb")
    query = (
        select(
            judgments, sa.c.variant_id.label("variant_a"), sb.c.variant_id.label("variant_b"),
            sa.c.case_id.label("case_id"), cases.c.case_key, annotators.c.name.label("rater"),
            annotators.c.group_name,
        )
        .join(sa, sa.c.id == judgments.c.sample_a_id)
        .outerjoin(sb, sb.c.id == judgments.c.sample_b_id)
        .join(cases, cases.c.id == sa.c.case_id)
        .outerjoin(annotators, annotators.c.id == judgments.c.annotator_id)
        .where(judgments.c.project == project, sa.c.run_id == run_id)
        .where(judgments.c.source.in_(("human", "judge")))
        .where(is_current())
        .order_by(judgments.c.created_at, judgments.c.id)
    )  # fmt: skip
    if campaign_id is not None:
        query = query.where(
            or_(judgments.c.source == "judge", judgments.c.campaign_id == campaign_id)
        )
    with store.engine.connect() as conn:
        found = list(conn.execute(query))
    ids = {int(r.variant_a) for r in found} | {int(r.variant_b) for r in found if r.variant_b}
    ids |= {int(r.judge_variant_id) for r in found if r.judge_variant_id}
    info = {
        k: VariantInfo(k, str(v["name"]), str(v["version"]), v["family"])
        for k, v in store.variants_by_id(ids).items()
    }
    return JudgmentSet(tuple(_judgment(r, info) for r in found), info)


def _judgment(r: Any, info: dict[int, VariantInfo]) -> Judgment:
    if r.source == "judge":
        judge = info.get(int(r.judge_variant_id)) if r.judge_variant_id else None
        rater, group = (judge.name if judge else "judge"), ""
    else:
        rater, group = (r.rater or f"annotator {r.annotator_id}"), (r.group_name or "")
    return Judgment(
        id=int(r.id),
        source=str(r.source),
        campaign_id=r.campaign_id,
        item_id=r.item_id,
        rater=str(rater),
        group=str(group),
        judge_variant_id=r.judge_variant_id,
        sample_a=int(r.sample_a_id),
        sample_b=r.sample_b_id,
        variant_a=int(r.variant_a),
        variant_b=None if r.variant_b is None else int(r.variant_b),
        case_id=int(r.case_id),
        case_key=str(r.case_key),
        winner=r.winner,
        rating_a=r.rating_a,
        rating_b=r.rating_b,
        created_at=r.created_at,
    )


def sample_keys(
    store: Store, run_id: int, variant_ids: Sequence[int]
) -> dict[int, tuple[int, int, int]]:
    """Sample id → (variant, case, sample index) for a run's app samples of some variants."""
    query = select(
        samples.c.id, samples.c.variant_id, samples.c.case_id, samples.c.sample_index
    ).where(
        samples.c.run_id == run_id,
        samples.c.role == "app",
        samples.c.variant_id.in_(list(variant_ids)),
    )
    with store.engine.connect() as conn:
        return {int(s): (int(v), int(c), int(k)) for s, v, c, k in conn.execute(query)}


def metric_by_sample(store: Store, run_id: int, metric: str) -> dict[int, float]:
    """Sample id → current value of score ``metric`` (a judge's rubric score, say)."""
    query = (
        select(scores.c.sample_id, scores.c.repeat, scores.c.value, scores.c.passed,
               scores.c.status)
        .join(samples, samples.c.id == scores.c.sample_id)
        .where(samples.c.run_id == run_id, samples.c.role == "app", scores.c.metric == metric)
        .order_by(scores.c.id)
    )  # fmt: skip
    newest: dict[tuple[int, int], Any] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            newest[(int(row.sample_id), int(row.repeat))] = row
    values: dict[int, list[float]] = {}
    for (sample, _), row in newest.items():
        value = row.value if row.value is not None else row.passed
        if row.status == "ok" and value is not None:
            values.setdefault(sample, []).append(float(value))
    if not values:
        raise NotFoundError(f"no ok scores for metric '{metric}' in this run")
    return {s: float(np.mean(v)) for s, v in values.items()}


def judgments_for(
    store: Store, project: str, *, campaign: str | None = None, run: Any = None
) -> tuple[str, JudgmentSet, CampaignInfo | None]:
    """(scope label, judgments, campaign) for a campaign by name/id, or for a whole run."""
    if campaign is not None:
        info = find_campaign(store, project, campaign)
        return info.name, load_judgments(store, project, info.run_id, info.id), info
    return str(run.uid), load_judgments(store, project, int(run.id)), None
