"""Retrieval metrics for RAG apps that return the ids of the contexts they used.

``retrieved`` is the ranked list of passage ids the app returned (best first); ``gold`` is
either a collection of relevant ids (binary relevance) or a mapping ``id -> grade`` (graded
relevance, used by :func:`ndcg_at_k`; a grade of 0 or less means not relevant). Ids can be
any hashable values (strings, ints). A retrieved id that repeats counts at its first rank
only: the repeat still takes a rank (it is a wasted slot in the context the model saw) but
adds nothing, so an app cannot raise its score by returning the same passage twice.

All functions return floats in ``[0, 1]``. A case with no relevant gold id cannot be scored
and raises :class:`ValueError` rather than returning a made-up 0 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Literal, TypeAlias

__all__ = ["Gold", "hit_at_k", "mrr", "ndcg_at_k", "recall_at_k"]

Gold: TypeAlias = Collection[Hashable] | Mapping[Hashable, float]


def _grades(gold: Gold) -> dict[Hashable, float]:
    if isinstance(gold, Mapping):
        grades = {doc: float(grade) for doc, grade in gold.items() if grade > 0}
    elif isinstance(gold, (str, bytes)):
        raise TypeError(
            f"gold must be a collection of ids, got the string {gold!r}; wrap one id in a list"
        )
    else:
        grades = dict.fromkeys(gold, 1.0)
    if not grades:
        raise ValueError(
            "no relevant gold passage id for this case: add the ids of the passages that "
            "answer it, or leave retrieval metrics off for cases without them"
        )
    return grades


_REPEAT = object()  # stands in for a repeated id: it keeps its rank but is never relevant


def _top_k(retrieved: Sequence[Hashable], k: int | None) -> list[Hashable]:
    """The first ``k`` ranks, each id counted at its first rank only."""
    if k is not None and k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if isinstance(retrieved, (str, bytes)):
        raise TypeError(f"retrieved must be a list of ids, got the string {retrieved!r}")
    seen: set[Hashable] = set()
    ranked: list[Hashable] = []
    for doc in retrieved[:k] if k is not None else retrieved:
        ranked.append(_REPEAT if doc in seen else doc)
        seen.add(doc)
    return ranked


def hit_at_k(retrieved: Sequence[Hashable], gold: Gold, k: int) -> float:
    """1.0 when any of the first ``k`` retrieved ids is relevant, else 0.0."""
    grades = _grades(gold)
    return 1.0 if any(doc in grades for doc in _top_k(retrieved, k)) else 0.0


def recall_at_k(retrieved: Sequence[Hashable], gold: Gold, k: int) -> float:
    """Share of the relevant ids found among the first ``k`` retrieved."""
    grades = _grades(gold)
    found = sum(1 for doc in _top_k(retrieved, k) if doc in grades)
    return found / len(grades)


def mrr(retrieved: Sequence[Hashable], gold: Gold, k: int | None = None) -> float:
    """Reciprocal rank of the first relevant id (1/1, 1/2, …), 0.0 when none is in the first
    ``k`` (all ranks when ``k`` is None). Averaged over cases this is the mean reciprocal
    rank."""
    grades = _grades(gold)
    for rank, doc in enumerate(_top_k(retrieved, k), start=1):
        if doc in grades:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(
    retrieved: Sequence[Hashable],
    gold: Gold,
    k: int,
    gain: Literal["linear", "exponential"] = "linear",
) -> float:
    """Normalised discounted cumulative gain over the first ``k`` ranks.

    ``DCG = Σ gain(rel_i) / log2(i + 1)`` for ranks ``i = 1..k``, divided by the DCG of the
    ideal ordering of all gold grades. ``gain="linear"`` uses ``rel`` (Järvelin & Kekäläinen
    2002; trec_eval, scikit-learn); ``"exponential"`` uses ``2**rel - 1`` (Burges et al.
    2005), which rewards highly relevant passages more. With binary gold both are the same.
    """
    if gain not in ("linear", "exponential"):
        raise ValueError(f"gain must be 'linear' or 'exponential', got {gain!r}")
    grades = _grades(gold)
    gains = [_gain(grades.get(doc, 0.0), gain) for doc in _top_k(retrieved, k)]
    ideal = sorted((_gain(grade, gain) for grade in grades.values()), reverse=True)[:k]
    return _dcg(gains) / _dcg(ideal)


def _gain(grade: float, kind: str) -> float:
    return 2.0**grade - 1.0 if kind == "exponential" else grade


def _dcg(gains: Sequence[float]) -> float:
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))
