"""Pairwise votes → a ranking, for human votes and judge votes separately.

A vote's outcome for the variant of sample a is 1 (a won), ½ (tie or both bad) or 0 (b won):
``both_bad`` counts as a tie for the ranking, and its rate is reported on its own because
"both are bad" is a finding in itself. Bradley–Terry with a bootstrap that resamples raters
(human votes) or cases (judge votes), FastChat ranks; head-to-head win/tie/loss tables; and
per pair the anytime-valid sequential test that says when voting can stop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hyouka.analysis.data import Judgment, JudgmentSet
from hyouka.stats import (
    BTResult,
    StatsInputError,
    WinTieLoss,
    aggregate_votes,
    beta_binomial_e_value,
    bradley_terry,
    vote_sequential_test,
    win_tie_loss,
)

SCORE = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}
# A cluster bootstrap needs enough clusters to mean anything; with fewer raters than this the
# human votes are clustered by case instead (and with fewer cases, by vote).
MIN_CLUSTERS = 5
# Beyond this many more decisive votes we say "many" instead of a number.
MAX_VOTES_PLANNED = 1_000_000


@dataclass(frozen=True)
class PairSequential:
    """One pair's votes in arrival order: is the question settled?

    ``b_score``s are B's (the later variant's) outcomes; ``decision`` is "a", "b" or None.
    ``more_votes`` estimates the further votes (ties included) until the e-value would reach
    1/α if B's observed decisive win rate held; None when the votes lean neither way.
    """

    a: str
    b: str
    n_votes: int
    b_wins: int
    a_wins: int
    ties: int
    both_bad: int
    e_value: float
    p_value: float
    alpha: float
    decision: str | None
    stopped_at: int | None
    more_votes: int | None


@dataclass(frozen=True)
class SourceRanking:
    """Bradley–Terry ratings from one source of votes (human or judge)."""

    source: str
    n_votes: int
    items: tuple[str, ...]
    bt: BTResult | None
    error: str | None
    wins: tuple[tuple[int, ...], ...]  # wins[i][j]: votes where items[i] beat items[j]
    ties: tuple[tuple[int, ...], ...]  # ties including both-bad
    both_bad: int
    both_bad_rate: float
    pairs: tuple[PairSequential, ...]


@dataclass(frozen=True)
class RankingReport:
    scope: str
    seed: int
    n_boot: int
    sources: tuple[SourceRanking, ...]


def _pairwise(rows: Sequence[Judgment]) -> list[Judgment]:
    return [j for j in rows if j.variant_b is not None and j.winner in SCORE]


def _more_votes(decisive: int, b_wins: int, total: int, alpha: float) -> int | None:
    """Votes until the mixture e-value would cross 1/α at the observed decisive win rate."""
    if decisive == 0 or 2 * b_wins == decisive:
        return None
    rate = b_wins / decisive
    target = math.log(1 / alpha)
    n = decisive
    while n <= MAX_VOTES_PLANNED:
        e = beta_binomial_e_value(round(rate * n), n)
        if math.log(e) >= target:
            break
        n = max(n + 1, int(n * 1.05))
    # Ties do not count for the test, so scale decisive votes up by the decisive share.
    share = decisive / total
    return max(math.ceil((n - decisive) / share), 1)


def pair_sequential(
    js: JudgmentSet, rows: Sequence[Judgment], a: int, b: int, alpha: float
) -> PairSequential:
    """The sequential test on the votes between variants ``a`` and ``b`` (B = ``b``)."""
    outcomes = []
    both_bad = 0
    for j in rows:
        score_a = SCORE[str(j.winner)]
        outcomes.append(1.0 - score_a if j.variant_a == a else score_a)
        both_bad += j.winner == "both_bad"
    y = np.asarray(outcomes)
    seq = vote_sequential_test(y, alpha=alpha)
    b_wins, a_wins = int(np.sum(y == 1)), int(np.sum(y == 0))
    more = None
    if seq.decision is None:
        more = _more_votes(seq.n_decisive, seq.b_wins, len(rows), alpha)
    decision = None if seq.decision is None else seq.decision.lower()
    return PairSequential(
        js.name(a), js.name(b), len(rows), b_wins, a_wins, len(rows) - b_wins - a_wins,
        both_bad, seq.e_value, seq.p_value, alpha, decision, seq.stopped_at, more,
    )  # fmt: skip


def _matrix(table: npt.NDArray[np.int64]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(v) for v in row) for row in table.tolist())


def source_ranking(
    js: JudgmentSet, source: str, *, n_boot: int, seed: int, alpha: float
) -> SourceRanking:
    rows = _pairwise(js.of(source))
    both_bad = sum(j.winner == "both_bad" for j in rows)
    pairs = _pair_groups(rows)
    seqs = tuple(pair_sequential(js, pr, a, b, alpha) for (a, b), pr in sorted(pairs.items()))
    if not rows:
        return SourceRanking(source, 0, (), None, None, (), (), 0, 0.0, seqs)
    ids = sorted({j.variant_a for j in rows} | {int(j.variant_b or 0) for j in rows})
    left = np.array([j.variant_a for j in rows])
    right = np.array([j.variant_b for j in rows])
    outcome = np.array([SCORE[str(j.winner)] for j in rows])
    kind, labels = cluster_of(rows, source)
    votes = aggregate_votes(left, right, outcome, items=np.array(ids), clusters=labels,
                            cluster_kind=kind)  # fmt: skip
    wtl: WinTieLoss = win_tie_loss(votes)
    names = tuple(js.name(i) for i in ids)
    bt, error = None, None
    try:
        bt = bradley_terry(votes, n_boot=n_boot, seed=seed)
    except StatsInputError as exc:
        error = str(exc)
    return SourceRanking(
        source, len(rows), names, bt, error, _matrix(wtl.wins), _matrix(wtl.ties),
        both_bad, both_bad / len(rows), seqs,
    )  # fmt: skip


def cluster_of(rows: Sequence[Judgment], source: str) -> tuple[str, np.ndarray | None]:
    """What the bootstrap resamples: raters for human votes (a rater's votes share their
    taste), cases for judge votes (one judge is one rater; its verdicts share the case), or
    single votes when there are fewer than ``MIN_CLUSTERS`` of either."""
    if source == "human" and len({j.rater for j in rows}) >= MIN_CLUSTERS:
        return "rater", np.array([j.rater for j in rows])
    if len({j.case_id for j in rows}) >= MIN_CLUSTERS:
        return "case", np.array([j.case_id for j in rows])
    return "vote", None


def _pair_groups(rows: Sequence[Judgment]) -> dict[tuple[int, int], list[Judgment]]:
    out: dict[tuple[int, int], list[Judgment]] = {}
    for j in rows:
        assert j.variant_b is not None
        key = (min(j.variant_a, j.variant_b), max(j.variant_a, j.variant_b))
        out.setdefault(key, []).append(j)
    return out


def rank_votes(
    js: JudgmentSet,
    scope: str,
    *,
    sources: Sequence[str] = ("human", "judge"),
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> RankingReport:
    """Rankings per source; the variant with the lower id in a pair is A."""
    ranked = tuple(
        source_ranking(js, src, n_boot=n_boot, seed=seed, alpha=alpha) for src in sources
    )
    return RankingReport(scope, seed, n_boot, ranked)
