"""Pairwise votes → ranking: Bradley–Terry with ties as ½, sandwich SEs, bootstrap CIs.

P(i ≻ j) = σ(β_i − β_j). The MLE is a logistic regression without intercept on rows
e_i − e_j with label 1 / ½ / 0 (FastChat/LMArena's tie handling). Votes are first aggregated
into (pair, outcome) counts: 10⁶ votes among 20 variants become at most 570 rows, so the
bootstrap resamples counts multinomially (as FastChat's ``compute_bootstrap_bt`` does) and
never touches individual votes again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize
from scipy.special import expit, log_expit

from hyouka.stats._common import (
    FloatArray,
    IntArray,
    StatsInputError,
    as_float_array,
    check_level,
    percentile_interval,
    z_value,
)

ELO_SCALE = 400.0 / math.log(10.0)  # natural-log strength → Elo points
ELO_BASE = 1000.0
_OUTCOMES = np.array([0.0, 0.5, 1.0])


@dataclass(frozen=True)
class VoteCounts:
    """Votes aggregated to unique (left, right, outcome) rows, left index < right index.

    ``outcome`` is the score of ``left``: 1 win, ½ tie, 0 loss. ``count`` is how many votes
    share the row.
    """

    items: tuple[object, ...]
    left: IntArray
    right: IntArray
    outcome: FloatArray
    count: FloatArray

    @property
    def n_votes(self) -> int:
        return int(self.count.sum())


@dataclass(frozen=True)
class WinTieLoss:
    """Head-to-head tables: ``wins[i, j]`` = votes where item i beat item j."""

    items: tuple[object, ...]
    wins: IntArray
    ties: IntArray

    @property
    def losses(self) -> IntArray:
        return self.wins.T.copy()


@dataclass(frozen=True)
class BTResult:
    """Bradley–Terry ratings.

    ``beta``: natural-log strengths summing to zero; ``elo`` = 400/ln10·β + 1000;
    ``share``: exp(β)/Σexp(β). ``se_elo`` is the sandwich SE on the Elo scale. ``low``/``high``
    are bootstrap percentiles on the Elo scale when ``n_boot`` > 0, else sandwich intervals.
    ``rank`` follows FastChat: 1 + number of items whose lower bound exceeds this upper bound.
    """

    items: tuple[object, ...]
    beta: FloatArray
    elo: FloatArray
    share: FloatArray
    se_elo: FloatArray
    low: FloatArray
    high: FloatArray
    rank: IntArray
    n_votes: int
    level: float
    n_boot: int
    seed: int
    ci_method: str


def aggregate_votes(
    left: npt.ArrayLike,
    right: npt.ArrayLike,
    outcome: npt.ArrayLike,
    *,
    items: npt.ArrayLike | None = None,
) -> VoteCounts:
    """Aggregate raw votes into (pair, outcome) counts.

    ``left``/``right`` are the two variants shown (any labels); ``outcome`` is the score of
    ``left``: 1 (left wins), 0.5 (tie), 0 (right wins). ``items`` fixes the label order.
    """
    lab_l, lab_r = np.asarray(left), np.asarray(right)
    y = as_float_array(outcome, "outcome")
    if not lab_l.shape == lab_r.shape == y.shape:
        raise StatsInputError("left/right/outcome: need one entry per vote in each array")
    code = np.rint(y * 2).astype(np.int64)
    if np.any(np.abs(y * 2 - code) > 1e-9) or np.any((code < 0) | (code > 2)):
        raise StatsInputError(
            "outcome: each vote must be 1 (left wins), 0.5 (tie) or 0 (right wins)"
        )
    names = np.unique(np.concatenate([lab_l, lab_r])) if items is None else np.asarray(items)
    li, ri = _index_of(names, lab_l, "left"), _index_of(names, lab_r, "right")
    if np.any(li == ri):
        raise StatsInputError("left/right: a vote compares a variant with itself; drop those votes")
    swap = li > ri
    lo, hi = np.where(swap, ri, li), np.where(swap, li, ri)
    code = np.where(swap, 2 - code, code)
    m = names.size
    key = (lo * m + hi) * 3 + code
    counts = np.bincount(key, minlength=m * m * 3)
    nz = np.flatnonzero(counts)
    pair, oc = np.divmod(nz, 3)
    return VoteCounts(
        tuple(names.tolist()),
        (pair // m).astype(np.int64),
        (pair % m).astype(np.int64),
        _OUTCOMES[oc],
        counts[nz].astype(np.float64),
    )


def _index_of(
    names: npt.NDArray[np.generic], labels: npt.NDArray[np.generic], what: str
) -> IntArray:
    order = np.argsort(names)
    pos = np.searchsorted(names, labels, sorter=order)
    pos = np.clip(pos, 0, names.size - 1)
    idx = order[pos]
    if not np.all(names[idx] == labels):
        missing = labels[names[idx] != labels][0]
        raise StatsInputError(f"{what}: variant {missing!r} is not in items")
    return idx.astype(np.int64)


def _pair_stats(
    votes: VoteCounts, count: FloatArray
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Collapse outcome rows to pairs: (i, j, summed score of i, votes), BT's sufficient stats."""
    m = len(votes.items)
    key = votes.left * m + votes.right
    uniq, inv = np.unique(key, return_inverse=True)
    to_pair = np.zeros((key.size, uniq.size))
    to_pair[np.arange(key.size), inv.ravel()] = 1.0
    wins = (count * votes.outcome) @ to_pair
    total = count @ to_pair
    return (uniq // m).astype(np.int64), (uniq % m).astype(np.int64), wins, total


def _design(i: IntArray, j: IntArray, m: int) -> FloatArray:
    x = np.zeros((i.size, m))
    x[np.arange(i.size), i] = 1.0
    x[np.arange(i.size), j] = -1.0
    return x


def _check_connected(i: IntArray, j: IntArray, m: int, items: tuple[object, ...]) -> None:
    """Strengths are only comparable within one connected comparison graph."""
    parent = list(range(m))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        parent[find(a)] = find(b)
    roots = {find(a) for a in range(m)}
    if len(roots) > 1:
        alone = [items[a] for a in range(m) if find(a) != find(0)]
        raise StatsInputError(
            f"votes: variants {alone[:5]!r} were never compared (even indirectly) with "
            f"{items[0]!r}; collect votes that connect them or rank the groups separately"
        )


def fit_bradley_terry(votes: VoteCounts) -> FloatArray:
    """BT MLE on the natural-log scale, Σβ = 0 (L-BFGS-B with an analytic gradient)."""
    m = len(votes.items)
    i, j, wins, total = _pair_stats(votes, votes.count)
    _check_connected(i, j, m, votes.items)
    x = _design(i, j, m)
    scale = float(total.sum())

    def loss(beta: FloatArray) -> tuple[float, FloatArray]:
        eta = x @ beta
        nll = -(wins @ log_expit(eta) + (total - wins) @ log_expit(-eta))
        grad = -x.T @ (wins - total * expit(eta))
        return float(nll) / scale, grad / scale

    res = optimize.minimize(
        loss, np.zeros(m), jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "maxiter": 1000}
    )
    beta = np.asarray(res.x, dtype=np.float64)
    # A few Newton polish steps take L-BFGS's ~1e-6 answer to machine precision.
    polished: FloatArray = _newton(x, wins[None, :], total[None, :], beta[None, :])[0]
    return polished


def _newton(
    x: FloatArray, wins: FloatArray, total: FloatArray, beta: FloatArray, iters: int = 30
) -> FloatArray:
    """Batched Newton steps for many count vectors at once (rows of ``wins``/``total``).

    Adding the all-ones matrix J makes the Hessian invertible; because the gradient is
    orthogonal to 1 the step equals the pseudo-inverse step and keeps Σβ = 0.
    """
    m = x.shape[1]
    ones = np.ones((m, m)) / m
    ridge = 1e-9 * np.eye(m)
    beta = beta - beta.mean(axis=1, keepdims=True)
    for _ in range(iters):
        eta = beta @ x.T
        p = expit(eta)
        grad = (wins - total * p) @ x
        w = total * p * (1.0 - p)
        # The tiny ridge keeps replicates solvable when resampling dropped every vote of a
        # pair and split the comparison graph; those directions have zero gradient anyway.
        hess = np.einsum("bp,pi,pj->bij", w, x, x) + ones + ridge
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        # Cap the step so replicates with a never-losing variant creep instead of overflowing.
        step = np.clip(step, -5.0, 5.0)
        beta = beta + step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    centred: FloatArray = beta - beta.mean(axis=1, keepdims=True)
    return centred


def sandwich_cov(votes: VoteCounts, beta: FloatArray) -> FloatArray:
    """Robust covariance H⁺GH⁺ of β (arena-rank's sandwich without its ridge)."""
    m = len(votes.items)
    x = _design(votes.left, votes.right, m)
    p = expit(x @ beta)
    h = x.T @ (x * (votes.count * p * (1 - p))[:, None])
    g = x.T @ (x * (votes.count * (votes.outcome - p) ** 2)[:, None])
    h_inv = np.linalg.pinv(h)
    cov: FloatArray = h_inv @ g @ h_inv
    return cov


def bootstrap_bradley_terry(
    votes: VoteCounts, beta: FloatArray, *, n_boot: int = 1000, seed: int = 0
) -> FloatArray:
    """β for ``n_boot`` multinomial resamples of the vote counts (n_boot × items)."""
    rng = np.random.default_rng(seed)
    probs = votes.count / votes.count.sum()
    draws = rng.multinomial(votes.n_votes, probs, size=n_boot).astype(np.float64)
    i, j, wins, total = _pair_stats(votes, draws)
    x = _design(i, j, len(votes.items))
    start = np.broadcast_to(beta, (n_boot, beta.size)).copy()
    return _newton(x, wins, total, start)


def fastchat_rank(low: npt.ArrayLike, high: npt.ArrayLike) -> IntArray:
    """rank(m) = 1 + #{m′ : low(m′) > high(m)}: ties in rank mean "statistically tied"."""
    lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    rank: IntArray = (1 + np.sum(lo[None, :] > hi[:, None], axis=1)).astype(np.int64)
    return rank


def bradley_terry(
    votes: VoteCounts,
    *,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> BTResult:
    """Fit BT, sandwich SEs and (if ``n_boot`` > 0) bootstrap percentile intervals."""
    check_level(level)
    beta = fit_bradley_terry(votes)
    se = np.sqrt(np.clip(np.diag(sandwich_cov(votes, beta)), 0, None)) * ELO_SCALE
    elo = ELO_SCALE * beta + ELO_BASE
    if n_boot > 0:
        boot = ELO_SCALE * bootstrap_bradley_terry(votes, beta, n_boot=n_boot, seed=seed) + ELO_BASE
        bounds = np.array([percentile_interval(boot[:, k], level) for k in range(beta.size)])
        low, high, method = bounds[:, 0], bounds[:, 1], "bootstrap"
    else:
        z = z_value(level)
        low, high, method = elo - z * se, elo + z * se, "sandwich"
    share = np.exp(beta - beta.max())
    return BTResult(
        items=votes.items,
        beta=beta,
        elo=elo,
        share=share / share.sum(),
        se_elo=se,
        low=low,
        high=high,
        rank=fastchat_rank(low, high),
        n_votes=votes.n_votes,
        level=level,
        n_boot=n_boot,
        seed=seed,
        ci_method=method,
    )


def win_tie_loss(votes: VoteCounts) -> WinTieLoss:
    """Head-to-head win and tie counts between every pair of items."""
    m = len(votes.items)
    wins = np.zeros((m, m), dtype=np.int64)
    ties = np.zeros((m, m), dtype=np.int64)
    c = votes.count.astype(np.int64)
    for o, target, a, b in (
        (1.0, wins, votes.left, votes.right),
        (0.0, wins, votes.right, votes.left),
    ):
        sel = votes.outcome == o
        np.add.at(target, (a[sel], b[sel]), c[sel])
    sel = votes.outcome == 0.5
    np.add.at(ties, (votes.left[sel], votes.right[sel]), c[sel])
    ties = ties + ties.T
    return WinTieLoss(votes.items, wins, ties)


def online_elo(
    left: npt.ArrayLike,
    right: npt.ArrayLike,
    outcome: npt.ArrayLike,
    *,
    k: float = 4.0,
    initial: float = 1000.0,
    scale: float = 400.0,
    base: float = 10.0,
) -> dict[object, float]:
    """Order-dependent online Elo (FastChat ``compute_elo``); for drifting targets only.

    For fixed variants prefer :func:`bradley_terry`, which does not depend on vote order.
    """
    lab_l, lab_r = np.asarray(left).tolist(), np.asarray(right).tolist()
    y = as_float_array(outcome, "outcome").tolist()
    ratings: dict[object, float] = {}
    for a, b, s in zip(lab_l, lab_r, y, strict=True):
        ra, rb = ratings.setdefault(a, initial), ratings.setdefault(b, initial)
        expected = 1.0 / (1.0 + base ** ((rb - ra) / scale))
        ratings[a] = ra + k * (s - expected)
        ratings[b] = rb - k * (s - expected)
    return ratings
