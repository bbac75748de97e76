"""Can the LLM judge stand in for the people? Agreement with the human majority, and PPI++.

Per judge (each judge variant is one rubric): its pairwise verdicts against the human majority
on the same pair of outputs, and its 1–5 ratings against the human majority rating of the
same output, with accuracy, κ, AC1 and a confusion table (``stats.judge_vs_humans``). Pairwise
labels are oriented by variant: ``A`` is the variant stored first, so "A wins" means the same
thing on every item. A judge asked several times on one pair (e.g. with the order swapped)
counts once, with its majority verdict (a split counts as a tie).

PPI++ then combines the few human labels with the judge's many: the human win rate of B over
A, each variant's mean human rating, and the paired rating difference B − A.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyouka.analysis.data import Judgment, JudgmentSet
from hyouka.stats import (
    JudgeAgreement,
    PPIEstimate,
    StatsInputError,
    judge_vs_humans,
    krippendorff_alpha,
    ppi_mean,
    ppi_paired_difference,
)
from hyouka.stats.judge_human import MIN_LABELS

PAIR_LABELS = {0.0: "A", 1.0: "B", 2.0: "tie", 3.0: "both_bad"}
PairKey = tuple[int, int]


@dataclass(frozen=True)
class JudgeReport:
    """One judge against the human majority on the items both labelled."""

    judge: str
    kind: str  # pairwise | rating
    categories: tuple[str, ...]
    agreement: JudgeAgreement
    human_alpha: float | None  # the humans' own agreement on the same items


@dataclass(frozen=True)
class PPIResult:
    """A PPI++ estimate of a human quantity sharpened with a judge's labels."""

    kind: str  # win_rate | rating_mean | rating_difference
    judge: str
    a: str
    b: str | None
    estimate: PPIEstimate


@dataclass(frozen=True)
class PPISkipped:
    """A PPI++ estimate that was not made, and why (``reason`` is the engine's message)."""

    kind: str
    judge: str
    a: str
    b: str | None
    n_labeled: int
    n_unlabeled: int
    min_labels: int
    reason: str


def _pair_code(j: Judgment) -> tuple[PairKey, float] | None:
    """(unordered sample pair, outcome code with A = the lower variant id)."""
    if j.variant_b is None or j.sample_b is None or j.winner is None:
        return None
    key = (min(j.sample_a, j.sample_b), max(j.sample_a, j.sample_b))
    if j.winner in ("tie", "both_bad"):
        return key, 2.0 if j.winner == "tie" else 3.0
    winner_variant = j.variant_a if j.winner == "a" else j.variant_b
    return key, 0.0 if winner_variant == min(j.variant_a, j.variant_b) else 1.0


def _majority(codes: Sequence[float], split: float) -> float:
    top = Counter(codes).most_common(2)
    if len(top) > 1 and top[0][1] == top[1][1]:
        return split
    return top[0][0]


def _human_matrix(cells: dict[Any, dict[str, float]], keys: Sequence[Any]) -> np.ndarray:
    raters = sorted({r for k in keys for r in cells[k]})
    out = np.full((len(keys), len(raters)), np.nan)
    for i, k in enumerate(keys):
        for j, r in enumerate(raters):
            out[i, j] = cells[k].get(r, np.nan)
    return out


def _report(
    judge: str,
    kind: str,
    human: dict[Any, dict[str, float]],
    judged: dict[Any, float],
    labels: dict[float, str] | None,
    n_boot: int,
    seed: int,
) -> JudgeReport | None:
    keys = [k for k in judged if k in human]
    if len(keys) < 2:
        return None
    mat = _human_matrix(human, keys)
    try:
        found = judge_vs_humans(np.array([judged[k] for k in keys]), mat, n_boot=n_boot, seed=seed)
    except StatsInputError:
        return None
    try:
        alpha: float | None = krippendorff_alpha(
            mat, metric="nominal" if kind == "pairwise" else "ordinal"
        )
    except StatsInputError:
        alpha = None
    names = tuple(labels[c] if labels else f"{c:g}" for c in found.categories.tolist())
    return JudgeReport(judge, kind, names, found, alpha)


def _human_pairs(rows: Sequence[Judgment]) -> dict[Any, dict[str, float]]:
    out: dict[Any, dict[str, float]] = defaultdict(dict)
    for j in rows:
        got = _pair_code(j)
        if got is not None:
            out[got[0]][j.rater] = got[1]
    return out


def _human_ratings(rows: Sequence[Judgment]) -> dict[Any, dict[str, float]]:
    out: dict[Any, dict[str, float]] = defaultdict(dict)
    for j in rows:
        for sample, rating in ((j.sample_a, j.rating_a), (j.sample_b, j.rating_b)):
            if sample is not None and rating is not None:
                out[sample][j.rater] = float(rating)
    return out


def _judge_pairs(rows: Sequence[Judgment]) -> dict[Any, float]:
    codes: dict[Any, list[float]] = defaultdict(list)
    for j in rows:
        got = _pair_code(j)
        if got is not None:
            codes[got[0]].append(got[1])
    return {k: _majority(v, 2.0) for k, v in codes.items()}


def _judge_ratings(rows: Sequence[Judgment]) -> dict[int, float]:
    """Mean judge rating per sample (a judge may rate one output more than once)."""
    values: dict[int, list[float]] = defaultdict(list)
    for j in rows:
        for sample, rating in ((j.sample_a, j.rating_a), (j.sample_b, j.rating_b)):
            if sample is not None and rating is not None:
                values[sample].append(float(rating))
    return {k: float(np.mean(v)) for k, v in values.items()}


def judge_reports(js: JudgmentSet, *, n_boot: int, seed: int) -> tuple[JudgeReport, ...]:
    humans = js.of("human")
    h_pairs, h_ratings = _human_pairs(humans), _human_ratings(humans)
    out: list[JudgeReport] = []
    for judge in sorted({j.rater for j in js.of("judge")}):
        rows = [j for j in js.of("judge") if j.rater == judge]
        pair = _report(judge, "pairwise", h_pairs, _judge_pairs(rows), PAIR_LABELS, n_boot, seed)
        rounded = {k: float(round(v)) for k, v in _judge_ratings(rows).items()}
        rating = _report(judge, "rating", h_ratings, dict(rounded), None, n_boot, seed)
        out.extend(r for r in (pair, rating) if r is not None)
    return tuple(out)


# ----------------------------------------------------------------------------- PPI++


def _variant_pairs(rows: Sequence[Judgment]) -> dict[PairKey, PairKey]:
    """Sample pair → (variant A, variant B) with A the lower id."""
    out = {}
    for j in rows:
        if j.variant_b is not None and j.sample_b is not None:
            key = (min(j.sample_a, j.sample_b), max(j.sample_a, j.sample_b))
            out[key] = (min(j.variant_a, j.variant_b), max(j.variant_a, j.variant_b))
    return out


def _b_scores(rows: Sequence[Judgment]) -> dict[PairKey, float]:
    """Mean score of variant B per sample pair (B win 1, tie or both bad ½, A win 0)."""
    scores: dict[PairKey, list[float]] = defaultdict(list)
    for j in rows:
        got = _pair_code(j)
        if got is not None:
            code = got[1]
            scores[got[0]].append({0.0: 0.0, 1.0: 1.0}.get(code, 0.5))
    return {k: float(np.mean(v)) for k, v in scores.items()}


def _safe_ppi(
    kind: str, judge: str, a: str, b: str | None, min_labels: int, *arrays: list[float]
) -> PPIResult | PPISkipped:
    fn = ppi_paired_difference if kind == "rating_difference" else ppi_mean
    try:
        est = fn(*arrays, min_labels=min_labels)
    except StatsInputError as exc:
        n_lab, n_unl = len(arrays[0]), len(arrays[-1])
        return PPISkipped(kind, judge, a, b, n_lab, n_unl, min_labels, str(exc))
    return PPIResult(kind, judge, a, b, est)


def _win_rates(
    js: JudgmentSet, judge: str, rows: Sequence[Judgment], min_labels: int
) -> list[PPIResult | PPISkipped]:
    humans = js.of("human")
    h, jd = _b_scores(humans), _b_scores(rows)
    variants = _variant_pairs([*humans, *rows])
    out: list[PPIResult | PPISkipped] = []
    for va, vb in sorted(set(variants.values())):
        keys = [k for k, v in variants.items() if v == (va, vb)]
        lab = [k for k in keys if k in h and k in jd]
        unl = [k for k in keys if k in jd and k not in h]
        if len(lab) >= 2 and unl:
            y, yhat, unlabeled = [h[k] for k in lab], [jd[k] for k in lab], [jd[k] for k in unl]
            out.append(_safe_ppi("win_rate", judge, js.name(va), js.name(vb), min_labels, y,
                                 yhat, unlabeled))  # fmt: skip
    return out


def _rating_ppi(
    js: JudgmentSet,
    judge: str,
    judged: dict[int, float],
    human: dict[int, float],
    keys: dict[int, tuple[int, int, int]],
    min_labels: int,
) -> list[PPIResult | PPISkipped]:
    out: list[PPIResult | PPISkipped] = []
    by_variant: dict[int, list[int]] = defaultdict(list)
    for sample in judged:
        if sample in keys:
            by_variant[keys[sample][0]].append(sample)
    for v, found in sorted(by_variant.items()):
        lab = [s for s in found if s in human]
        unl = [s for s in found if s not in human]
        if len(lab) >= 2 and unl:
            out.append(_safe_ppi("rating_mean", judge, js.name(v), None, min_labels,
                                 [human[s] for s in lab], [judged[s] for s in lab],
                                 [judged[s] for s in unl]))  # fmt: skip
    out.extend(_rating_differences(js, judge, judged, human, keys, sorted(by_variant), min_labels))
    return out


def _rating_differences(
    js: JudgmentSet,
    judge: str,
    judged: dict[int, float],
    human: dict[int, float],
    keys: dict[int, tuple[int, int, int]],
    variant_ids: Sequence[int],
    min_labels: int,
) -> list[PPIResult | PPISkipped]:
    """B − A on units (case, sample index): labelled when both outputs have human ratings."""
    slot = {(v, c, k): s for s, (v, c, k) in keys.items() if s in judged}
    out: list[PPIResult | PPISkipped] = []
    for i, va in enumerate(variant_ids):
        for vb in variant_ids[i + 1 :]:
            units = [(c, k) for (v, c, k) in slot if v == va and (vb, c, k) in slot]
            pairs = [(slot[(va, c, k)], slot[(vb, c, k)]) for c, k in units]
            lab = [(sa, sb) for sa, sb in pairs if sa in human and sb in human]
            unl = [(sa, sb) for sa, sb in pairs if not (sa in human and sb in human)]
            if len(lab) < 2 or not unl:
                continue
            out.append(_safe_ppi(
                "rating_difference", judge, js.name(va), js.name(vb), min_labels,
                [human[a] for a, _ in lab], [human[b] for _, b in lab],
                [judged[a] for a, _ in lab], [judged[b] for _, b in lab],
                [judged[a] for a, _ in unl], [judged[b] for _, b in unl],
            ))  # fmt: skip
    return out


def ppi_results(
    js: JudgmentSet,
    judge_scores: dict[str, dict[int, float]],
    sample_keys: dict[int, tuple[int, int, int]],
    *,
    min_labels: int = MIN_LABELS,
) -> tuple[tuple[PPIResult, ...], tuple[PPISkipped, ...]]:
    """PPI++ for every judge: pairwise win rates, and ratings when outputs were rated; and
    the estimates that were not made (fewer than ``min_labels`` human labels), with why."""
    humans = js.of("human")
    h_ratings = {s: float(np.mean(list(r.values()))) for s, r in _human_ratings(humans).items()}
    found: list[PPIResult | PPISkipped] = []
    sources: dict[str, dict[int, float]] = {}
    for judge in sorted({j.rater for j in js.of("judge")}):
        rows = [j for j in js.of("judge") if j.rater == judge]
        found.extend(_win_rates(js, judge, rows, min_labels))
        ratings = _judge_ratings(rows)
        if ratings:
            sources[judge] = ratings
    sources.update(judge_scores)
    if h_ratings:
        for judge, judged in sorted(sources.items()):
            found.extend(_rating_ppi(js, judge, judged, h_ratings, sample_keys, min_labels))
    done = tuple(r for r in found if isinstance(r, PPIResult))
    skipped = tuple(r for r in found if isinstance(r, PPISkipped))
    return done, skipped
