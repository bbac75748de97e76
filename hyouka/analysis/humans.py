"""How much do the people agree, where not, and who prefers what?

A campaign's current human judgments become items × raters matrices: pairwise winners
(nominal: a, b, tie, both bad) per campaign item, and 1–5 ratings (ordinal) per rated output.
For each: Krippendorff α, Fleiss κ (on the items with the usual number of raters), Gwet AC1 and
Cohen κ for every rater pair with enough shared items, each with a bootstrap interval over
items; the most disputed items; each rater against the others; and the pairwise preference
split by annotator group. The judge-vs-human part lives in :mod:`hyouka.analysis.judges`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from hyouka.analysis.data import Judgment, JudgmentSet
from hyouka.analysis.judges import (
    JudgeReport,
    PPIResult,
    PPISkipped,
    judge_reports,
    ppi_results,
)
from hyouka.stats import (
    AgreementEstimate,
    PreferenceSplit,
    StatsInputError,
    agreement_ci,
    item_disagreement,
    preference_by_group,
    rater_leniency,
)
from hyouka.stats._common import FloatArray
from hyouka.stats.agreement import Metric
from hyouka.stats.judge_human import MIN_LABELS

WINNER_CODE = {"a": 0.0, "b": 1.0, "tie": 2.0, "both_bad": 3.0}
Kind = Literal["pairwise", "rating"]


@dataclass(frozen=True)
class RaterPairKappa:
    rater1: str
    rater2: str
    n_items: int
    kappa: AgreementEstimate


@dataclass(frozen=True)
class DisputedItem:
    """An item people disagreed on: its case, the outputs' variants, what each person said."""

    item: str
    case_key: str
    variants: tuple[str, ...]
    contribution: float
    labels: tuple[tuple[str, str], ...]  # (rater, what they said)


@dataclass(frozen=True)
class RaterReport:
    """One rater against the others (bias: + = more generous; NaN for pairwise winners)."""

    rater: str
    group: str
    n_items: int
    bias: float
    low: float
    high: float
    agreement: float
    delta_alpha: float
    both_bad_rate: float | None


@dataclass(frozen=True)
class AgreementSection:
    kind: Kind
    n_items: int
    n_raters: int
    raters: tuple[str, ...]
    alpha: AgreementEstimate | None
    fleiss: AgreementEstimate | None
    ac1: AgreementEstimate | None
    cohen: tuple[RaterPairKappa, ...]
    disputed: tuple[DisputedItem, ...]
    rater_reports: tuple[RaterReport, ...]


@dataclass(frozen=True)
class GroupSplit:
    """Preference between two variants per annotator group (B's win rate, ties ½)."""

    a: str
    b: str
    split: PreferenceSplit


@dataclass(frozen=True)
class AgreementReport:
    campaign: str
    seed: int
    n_boot: int
    n_judgments: int
    sections: tuple[AgreementSection, ...]
    groups: tuple[GroupSplit, ...]
    judges: tuple[JudgeReport, ...]
    ppi: tuple[PPIResult, ...]
    ppi_skipped: tuple[PPISkipped, ...] = ()


@dataclass(frozen=True)
class _Unit:
    key: tuple[Hashable, ...]
    case_key: str
    variants: tuple[str, ...]


def _matrix(
    cells: Sequence[tuple[_Unit, str, float]],
) -> tuple[list[_Unit], list[str], FloatArray]:
    units = list(dict.fromkeys(u for u, _, _ in cells))
    raters = sorted({r for _, r, _ in cells})
    row = {u: i for i, u in enumerate(units)}
    col = {r: j for j, r in enumerate(raters)}
    out = np.full((len(units), len(raters)), np.nan)
    for u, r, v in cells:
        out[row[u], col[r]] = v
    return units, raters, out


def _pair_cells(js: JudgmentSet, rows: Sequence[Judgment]) -> list[tuple[_Unit, str, float]]:
    out = []
    for j in rows:
        if j.variant_b is None or j.winner not in WINNER_CODE:
            continue
        key = ("item", j.item_id) if j.item_id is not None else ("pair", j.sample_a, j.sample_b)
        unit = _Unit(key, j.case_key, (js.name(j.variant_a), js.name(j.variant_b)))
        out.append((unit, j.rater, WINNER_CODE[str(j.winner)]))
    return out


def _rating_cells(js: JudgmentSet, rows: Sequence[Judgment]) -> list[tuple[_Unit, str, float]]:
    out = []
    for j in rows:
        for sample, variant, rating in (
            (j.sample_a, j.variant_a, j.rating_a),
            (j.sample_b, j.variant_b, j.rating_b),
        ):
            if sample is not None and rating is not None:
                unit = _Unit(("sample", sample), j.case_key, (js.name(variant),))
                out.append((unit, j.rater, float(rating)))
    return out


def _safe_ci(r: FloatArray, **kw: object) -> AgreementEstimate | None:
    try:
        return agreement_ci(r, **kw)  # type: ignore[arg-type]
    except (StatsInputError, ZeroDivisionError):
        return None


def _fleiss(r: FloatArray, n_boot: int, seed: int) -> AgreementEstimate | None:
    """Fleiss κ on the items rated by the most common number (≥ 2) of raters."""
    m = np.sum(~np.isnan(r), axis=1)
    usual = Counter(int(v) for v in m if v >= 2).most_common(1)
    if not usual:
        return None
    sub = r[m == usual[0][0]]
    if sub.shape[0] < 2:
        return None
    return _safe_ci(sub, coefficient="fleiss", n_boot=n_boot, seed=seed)


def _cohen_pairs(
    r: FloatArray, raters: Sequence[str], kind: Kind, min_overlap: int, n_boot: int, seed: int
) -> tuple[RaterPairKappa, ...]:
    out = []
    weights = "quadratic" if kind == "rating" else None
    for i in range(len(raters)):
        for j in range(i + 1, len(raters)):
            both = ~np.isnan(r[:, i]) & ~np.isnan(r[:, j])
            if int(both.sum()) < min_overlap:
                continue
            est = _safe_ci(r[both][:, [i, j]], coefficient="cohen", weights=weights,
                           n_boot=n_boot, seed=seed)  # fmt: skip
            if est is not None:
                out.append(RaterPairKappa(raters[i], raters[j], int(both.sum()), est))
    return tuple(out)


def _label(kind: Kind, code: float, variants: Sequence[str]) -> str:
    if kind == "rating":
        return f"{code:g}"
    names = {0.0: variants[0], 1.0: variants[-1], 2.0: "tie", 3.0: "both bad"}
    return names[code]


def _disputed(
    units: Sequence[_Unit], raters: Sequence[str], r: FloatArray, kind: Kind, top: int
) -> tuple[DisputedItem, ...]:
    metric: Metric = "ordinal" if kind == "rating" else "nominal"
    dis = item_disagreement(r, metric=metric)
    out = []
    for i in dis.most_disputed(top).tolist():
        if not dis.contribution[i] > 0:
            continue
        said = tuple(
            (raters[j], _label(kind, float(r[i, j]), units[i].variants))
            for j in range(len(raters))
            if not np.isnan(r[i, j])
        )
        key = ":".join(str(k) for k in units[i].key)
        out.append(DisputedItem(key, units[i].case_key, units[i].variants,
                                float(dis.contribution[i]), said))  # fmt: skip
    return tuple(out)


def _rater_reports(
    js: JudgmentSet, rows: Sequence[Judgment], raters: Sequence[str], r: FloatArray, kind: Kind
) -> tuple[RaterReport, ...]:
    groups = {j.rater: j.group for j in rows}
    bad = Counter(j.rater for j in rows if j.winner == "both_bad")
    total = Counter(j.rater for j in rows if j.winner is not None)
    try:
        found = rater_leniency(r, metric="interval" if kind == "rating" else "nominal")
    except StatsInputError:  # fewer than 3 raters: leave-one-out has nothing to compare
        return ()
    return tuple(
        RaterReport(
            raters[x.rater], groups.get(raters[x.rater], ""), x.n_items, x.bias, x.low, x.high,
            x.agreement, x.delta_alpha,
            bad[raters[x.rater]] / total[raters[x.rater]] if kind == "pairwise"
            and total[raters[x.rater]] else None,
        )
        for x in found
    )  # fmt: skip


def agreement_section(
    js: JudgmentSet,
    rows: Sequence[Judgment],
    kind: Kind,
    *,
    n_boot: int,
    seed: int,
    min_overlap: int,
    top: int,
) -> AgreementSection | None:
    cells = _pair_cells(js, rows) if kind == "pairwise" else _rating_cells(js, rows)
    if not cells:
        return None
    units, raters, r = _matrix(cells)
    metric = "ordinal" if kind == "rating" else "nominal"
    pairable = int(np.sum(np.sum(~np.isnan(r), axis=1) >= 2))
    if pairable == 0 or len(raters) < 2:
        return AgreementSection(kind, len(units), len(raters), tuple(raters), None, None, None,
                                (), (), ())  # fmt: skip
    return AgreementSection(
        kind=kind,
        n_items=len(units),
        n_raters=len(raters),
        raters=tuple(raters),
        alpha=_safe_ci(r, coefficient="alpha", metric=metric, n_boot=n_boot, seed=seed),
        fleiss=_fleiss(r, n_boot, seed),
        ac1=_safe_ci(r, coefficient="ac1", n_boot=n_boot, seed=seed),
        cohen=_cohen_pairs(r, raters, kind, min_overlap, n_boot, seed),
        disputed=_disputed(units, raters, r, kind, top),
        rater_reports=_rater_reports(js, rows, raters, r, kind),
    )


def group_splits(js: JudgmentSet, rows: Sequence[Judgment]) -> tuple[GroupSplit, ...]:
    """B's win rate per annotator group for every pair of variants (B = the later variant)."""
    by_pair: dict[tuple[int, int], list[tuple[float, str]]] = {}
    for j in rows:
        if j.variant_b is None or j.winner not in WINNER_CODE:
            continue
        a, b = sorted((j.variant_a, j.variant_b))
        score_a = {"a": 1.0, "b": 0.0}.get(str(j.winner), 0.5)
        b_score = 1.0 - score_a if j.variant_a == a else score_a
        by_pair.setdefault((a, b), []).append((b_score, j.group or "-"))
    out = []
    for (a, b), votes in sorted(by_pair.items()):
        y = np.array([v for v, _ in votes])
        g = np.array([grp for _, grp in votes])
        out.append(GroupSplit(js.name(a), js.name(b), preference_by_group(y, g)))
    return tuple(out)


def campaign_agreement(
    js: JudgmentSet,
    campaign: str,
    *,
    judge_scores: dict[str, dict[int, float]] | None = None,
    sample_keys: dict[int, tuple[int, int, int]] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    min_overlap: int = 10,
    top: int = 10,
    ppi_min_labels: int = MIN_LABELS,
) -> AgreementReport:
    """Everything ``hyouka agreement`` prints for one campaign's current judgments.

    ``judge_scores`` adds judge ratings from a score metric (sample id → value) to the judge
    judgments for the PPI++ estimates; ``sample_keys`` maps sample id → (variant, case,
    sample index) for the paired rating differences. PPI++ estimates need
    ``ppi_min_labels`` human labels; the ones with fewer are listed in ``ppi_skipped``.
    """
    humans = js.of("human")
    sections = tuple(
        s
        for kind in ("pairwise", "rating")
        if (s := agreement_section(js, humans, kind, n_boot=n_boot, seed=seed,
                                   min_overlap=min_overlap, top=top)) is not None
    )  # fmt: skip
    ppi, skipped = ppi_results(js, judge_scores or {}, sample_keys or {},
                               min_labels=ppi_min_labels)  # fmt: skip
    return AgreementReport(
        campaign=campaign,
        seed=seed,
        n_boot=n_boot,
        n_judgments=len(humans),
        sections=sections,
        groups=group_splits(js, humans),
        judges=judge_reports(js, n_boot=n_boot, seed=seed),
        ppi=ppi,
        ppi_skipped=skipped,
    )
