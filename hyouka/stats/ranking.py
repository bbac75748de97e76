"""Pairwise votes → ranking: Bradley–Terry with ties as ½, cluster bootstrap, sandwich SEs.

P(i ≻ j) = σ(β_i − β_j). The MLE is a logistic regression without intercept on rows
e_i − e_j with label 1 / ½ / 0 (FastChat/LMArena's tie handling). Votes are first aggregated
into (cluster, pair, outcome) counts, and each cluster (a rater, or a case) into its per-pair
wins and totals, so the bootstrap never touches individual votes again.

Votes of one rater are not independent (raters have their own taste), so when votes carry a
cluster the bootstrap resamples whole clusters and the sandwich sums scores per cluster; with
10 raters of SD-1 taste, resampling votes covered 44% and resampling raters ~93%
(benchmarks/calibration.py). When some variant never lost (or never won) the MLE does not
exist; the fit then adds a weak N(0, ``PRIOR_SD``²) prior on each strength (in logits) and
names the variants whose estimate leans on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, sparse, special
from scipy.sparse import csgraph
from scipy.special import expit, log_expit

from hyouka.stats._common import (
    FloatArray,
    IntArray,
    StatsInputError,
    as_float_array,
    bootstrap_counts,
    check_level,
    percentile_interval,
    z_value,
)

ELO_SCALE = 400.0 / math.log(10.0)  # natural-log strength → Elo points
ELO_BASE = 1000.0
_OUTCOMES = np.array([0.0, 0.5, 1.0])
# Weak prior used only when the MLE does not exist: a strength 2 logits from the average
# (odds of e² ≈ 7:1, ≈ 350 Elo) is one prior SD away.
PRIOR_SD = 2.0


@dataclass(frozen=True)
class VoteCounts:
    """Votes aggregated to unique (cluster, left, right, outcome) rows, left index < right.

    ``outcome`` is the score of ``left``: 1 win, ½ tie, 0 loss. ``count`` is how many votes
    share the row. ``cluster`` (index into ``clusters``) is who or what the votes depend on
    together, a rater or a case; None when votes were given without one.
    """

    items: tuple[object, ...]
    left: IntArray
    right: IntArray
    outcome: FloatArray
    count: FloatArray
    cluster: IntArray | None = None
    clusters: tuple[object, ...] = ()
    cluster_kind: str = "vote"

    @property
    def n_votes(self) -> int:
        return int(self.count.sum())

    @property
    def n_clusters(self) -> int:
        return len(self.clusters)


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
    ``share``: exp(β)/Σexp(β). ``low``/``high`` are bootstrap percentiles on the Elo scale
    when ``n_boot`` > 0 (resampling ``cluster`` units: raters, cases, or single votes),
    stretched about the estimate by √(C/(C−1))·t_{C−1}/z for C clusters; else sandwich
    intervals. ``se_elo`` comes from the same procedure (the bootstrap SD times the same
    factor, or the sandwich SE); ``sandwich_se_elo`` is the cluster-robust sandwich SE.
    ``prior_items`` are the variants whose estimate leans on the weak N(0, ``prior_sd``²)
    prior because the data alone have no finite MLE (a variant that never lost or never
    won); empty when the plain MLE exists. Their interval is one-sided (``high`` = +∞ for one
    that never lost, ``low`` = −∞ for one that never won) and their ``se_elo`` is NaN.
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
    sandwich_se_elo: FloatArray
    cluster: str
    n_clusters: int
    prior_sd: float
    prior_items: tuple[object, ...]


def aggregate_votes(
    left: npt.ArrayLike,
    right: npt.ArrayLike,
    outcome: npt.ArrayLike,
    *,
    items: npt.ArrayLike | None = None,
    clusters: npt.ArrayLike | None = None,
    cluster_kind: str = "rater",
) -> VoteCounts:
    """Aggregate raw votes into (cluster, pair, outcome) counts.

    ``left``/``right`` are the two variants shown (any labels); ``outcome`` is the score of
    ``left``: 1 (left wins), 0.5 (tie), 0 (right wins). ``items`` fixes the label order.
    ``clusters`` gives each vote's rater (or case): the bootstrap then resamples those.
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
    if clusters is None:
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
    labels = np.asarray(clusters)
    if labels.shape != y.shape:
        raise StatsInputError(f"clusters: need one {cluster_kind} label per vote")
    cluster_names, cidx = np.unique(labels, return_inverse=True)
    full = cidx.ravel().astype(np.int64) * (m * m * 3) + key
    uniq, counts = np.unique(full, return_counts=True)
    c, rest = np.divmod(uniq, m * m * 3)
    pair, oc = np.divmod(rest, 3)
    return VoteCounts(
        tuple(names.tolist()),
        (pair // m).astype(np.int64),
        (pair % m).astype(np.int64),
        _OUTCOMES[oc],
        counts.astype(np.float64),
        c.astype(np.int64),
        tuple(cluster_names.tolist()),
        cluster_kind,
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


def _pair_index(votes: VoteCounts) -> tuple[IntArray, IntArray, IntArray]:
    """(i, j) of every compared pair and the pair index of every row."""
    m = len(votes.items)
    key = votes.left * m + votes.right
    uniq, inv = np.unique(key, return_inverse=True)
    return (uniq // m).astype(np.int64), (uniq % m).astype(np.int64), inv.ravel().astype(np.int64)


def _pair_stats(
    votes: VoteCounts, count: FloatArray
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Collapse outcome rows to pairs: (i, j, summed score of i, votes), BT's sufficient stats.

    ``count`` is one weight per row, or a (replicates × rows) matrix of weights.
    """
    i, j, inv = _pair_index(votes)
    if count.ndim == 1:
        wins = np.bincount(inv, weights=count * votes.outcome, minlength=i.size)
        total = np.bincount(inv, weights=count, minlength=i.size)
        return i, j, np.asarray(wins, dtype=np.float64), np.asarray(total, dtype=np.float64)
    to_pair = np.zeros((inv.size, i.size))
    to_pair[np.arange(inv.size), inv] = 1.0
    w2: FloatArray = (count * votes.outcome) @ to_pair
    t2: FloatArray = count @ to_pair
    return i, j, w2, t2


def _design(i: IntArray, j: IntArray, m: int) -> FloatArray:
    x = np.zeros((i.size, m))
    x[np.arange(i.size), i] = 1.0
    x[np.arange(i.size), j] = -1.0
    return x


def _check_connected(i: IntArray, j: IntArray, m: int, items: tuple[object, ...]) -> None:
    """Strengths are only comparable within one connected comparison graph."""
    n, labels = csgraph.connected_components(_graph(i, j, np.ones(i.size, bool), m), directed=False)
    if n > 1:
        alone = [items[a] for a in range(m) if labels[a] != labels[0]]
        raise StatsInputError(
            f"votes: variants {alone[:5]!r} were never compared (even indirectly) with "
            f"{items[0]!r}; collect votes that connect them or rank the groups separately"
        )


def _graph(
    i: IntArray,
    j: IntArray,
    keep: npt.NDArray[np.bool_],
    m: int,
    back: npt.NDArray[np.bool_] | None = None,
) -> sparse.csr_matrix:
    rows = np.concatenate([i[keep], j[back] if back is not None else np.zeros(0, np.int64)])
    cols = np.concatenate([j[keep], i[back] if back is not None else np.zeros(0, np.int64)])
    return sparse.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(m, m))


def unbounded_items(
    i: IntArray, j: IntArray, wins: FloatArray, total: FloatArray, m: int
) -> tuple[IntArray, IntArray]:
    """Items with no finite MLE: (never lost to the rest, never beat the rest).

    The BT MLE exists exactly when the "scored against" graph (an edge a → b when a won or
    tied at least once against b) is strongly connected (Zermelo 1929; Ford 1957). Otherwise
    its strongly connected components form a partial order; the items of the top components
    (nobody outside ever beat or tied them) go to +∞ and those of the bottom ones to −∞.
    Both are empty when the MLE exists.
    """
    g = _graph(i, j, wins > 0, m, back=(total - wins) > 0)
    n, labels = csgraph.connected_components(g, directed=True, connection="strong")
    empty = np.zeros(0, dtype=np.int64)
    if n == 1:
        return empty, empty
    coo = g.tocoo()
    cross = labels[coo.row] != labels[coo.col]
    scored_out = np.zeros(n, bool)  # the component won or tied against someone outside
    scored_in = np.zeros(n, bool)  # someone outside won or tied against it
    scored_out[labels[coo.row[cross]]] = True
    scored_in[labels[coo.col[cross]]] = True
    top = np.flatnonzero(~scored_in[labels]).astype(np.int64)
    bottom = np.flatnonzero(~scored_out[labels]).astype(np.int64)
    return top, bottom


def fit_bradley_terry(votes: VoteCounts, *, prior_sd: float | None = None) -> FloatArray:
    """BT MLE on the natural-log scale, Σβ = 0 (L-BFGS-B with an analytic gradient).

    ``prior_sd`` adds an N(0, prior_sd²) prior on each strength (the MAP estimate); needed
    when the MLE does not exist (see :func:`unbounded_items`), harmless otherwise.
    """
    m = len(votes.items)
    i, j, wins, total = _pair_stats(votes, votes.count)
    _check_connected(i, j, m, votes.items)
    x = _design(i, j, m)
    scale = float(total.sum())
    lam = 0.0 if prior_sd is None else 1.0 / prior_sd**2

    def loss(beta: FloatArray) -> tuple[float, FloatArray]:
        eta = x @ beta
        nll = -(wins @ log_expit(eta) + (total - wins) @ log_expit(-eta)) + 0.5 * lam * beta @ beta
        grad = -x.T @ (wins - total * expit(eta)) + lam * beta
        return float(nll) / scale, grad / scale

    res = optimize.minimize(
        loss, np.zeros(m), jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "maxiter": 1000}
    )
    beta = np.asarray(res.x, dtype=np.float64)
    # A few Newton polish steps take L-BFGS's ~1e-6 answer to machine precision.
    polished: FloatArray = _newton(x, wins[None, :], total[None, :], beta[None, :],
                                   np.array([lam]))[0]  # fmt: skip
    return polished


def _newton(
    x: FloatArray,
    wins: FloatArray,
    total: FloatArray,
    beta: FloatArray,
    lam: FloatArray,
    iters: int = 30,
) -> FloatArray:
    """Batched Newton steps for many count vectors at once (rows of ``wins``/``total``).

    ``lam`` is each row's prior precision (0 for the plain MLE). Adding the all-ones matrix J
    makes the Hessian invertible; because the gradient is orthogonal to 1 the step equals
    the pseudo-inverse step and keeps Σβ = 0.
    """
    m = x.shape[1]
    ones = np.ones((m, m)) / m
    eye = np.eye(m)
    ridge = 1e-9 * eye
    beta = beta - beta.mean(axis=1, keepdims=True)
    for _ in range(iters):
        eta = beta @ x.T
        p = expit(eta)
        grad = (wins - total * p) @ x - lam[:, None] * beta
        w = total * p * (1.0 - p)
        # The tiny ridge keeps replicates solvable when resampling dropped every vote of a
        # pair and split the comparison graph; those directions have zero gradient anyway.
        hess = np.einsum("bp,pi,pj->bij", w, x, x) + ones + ridge + lam[:, None, None] * eye
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        step = np.clip(step, -5.0, 5.0)
        beta = beta + step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    centred: FloatArray = beta - beta.mean(axis=1, keepdims=True)
    return centred


def sandwich_cov(
    votes: VoteCounts, beta: FloatArray, *, prior_sd: float | None = None
) -> FloatArray:
    """Robust covariance H⁺GH⁺ of β (arena-rank's sandwich without its ridge).

    With clusters the score is summed within each cluster first (cluster-robust), so a rater
    with many votes counts as one independent unit; without, per vote. Computed per pair
    (and per cluster × pair), never per vote.
    """
    m = len(votes.items)
    i, j, inv = _pair_index(votes)
    x = _design(i, j, m)
    p = expit(x @ beta)
    total = np.bincount(inv, weights=votes.count, minlength=i.size)
    lam = 0.0 if prior_sd is None else 1.0 / prior_sd**2
    h = x.T @ (x * (total * p * (1 - p))[:, None]) + lam * np.eye(m)
    resid = votes.count * (votes.outcome - p[inv])  # summed score residual of each row
    if votes.cluster is None:
        sq = np.bincount(inv, weights=votes.count * (votes.outcome - p[inv]) ** 2,
                         minlength=i.size)  # fmt: skip
        g = x.T @ (x * sq[:, None])
    else:
        key = votes.cluster * i.size + inv
        uniq, at = np.unique(key, return_inverse=True)
        r = np.bincount(at.ravel(), weights=resid)
        c_of, p_of = np.divmod(uniq, i.size)
        scores = sparse.csr_matrix((r, (c_of, p_of)), shape=(votes.n_clusters, i.size)) @ x
        g = scores.T @ scores
    h_inv = np.linalg.pinv(h)
    cov: FloatArray = h_inv @ g @ h_inv
    return cov


# A dense clusters × pairs table up to this size; a sparse one beyond (10⁴ raters × 190 pairs
# is 1.9 million cells, 15 MB).
DENSE_CLUSTER_CELLS = 20_000_000


def _replicate_stats(
    votes: VoteCounts, n_boot: int, rng: np.random.Generator
) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    """Per-pair wins and totals for ``n_boot`` resamples of clusters (or votes)."""
    if votes.cluster is None:
        probs = votes.count / votes.count.sum()
        draws = rng.multinomial(votes.n_votes, probs, size=n_boot).astype(np.float64)
        return _pair_stats(votes, draws)
    i, j, inv = _pair_index(votes)
    c, p = votes.n_clusters, i.size
    weights = bootstrap_counts(c, n_boot, rng).astype(np.float64)
    if c * p <= DENSE_CLUSTER_CELLS:
        w_tab = np.zeros((c, p))
        t_tab = np.zeros((c, p))
        np.add.at(w_tab, (votes.cluster, inv), votes.count * votes.outcome)
        np.add.at(t_tab, (votes.cluster, inv), votes.count)
        return i, j, weights @ w_tab, weights @ t_tab
    w_sp = sparse.csr_matrix((votes.count * votes.outcome, (votes.cluster, inv)), shape=(c, p))
    t_sp = sparse.csr_matrix((votes.count, (votes.cluster, inv)), shape=(c, p))
    return i, j, np.asarray((w_sp.T @ weights.T).T), np.asarray((t_sp.T @ weights.T).T)


def bootstrap_bradley_terry(
    votes: VoteCounts, beta: FloatArray, *, n_boot: int = 1000, seed: int = 0
) -> FloatArray:
    """β for ``n_boot`` resamples (n_boot × items): whole clusters when votes have them,
    else multinomial resamples of the vote counts. A replicate in which some variant never
    lost (no MLE) gets the weak prior, like the point estimate would."""
    rng = np.random.default_rng(seed)
    i, j, wins, total = _replicate_stats(votes, n_boot, rng)
    m = len(votes.items)
    x = _design(i, j, m)
    # Where every compared pair has both a win and a loss the graph is strongly connected
    # and the MLE exists; only the other replicates need the graph check.
    lam = np.zeros(n_boot)
    for b in np.flatnonzero(~np.all((wins > 0) & (total - wins > 0), axis=1)).tolist():
        top, bottom = unbounded_items(i, j, wins[b], total[b], m)
        if top.size or bottom.size:
            lam[b] = 1.0 / PRIOR_SD**2
    start = np.broadcast_to(beta, (n_boot, beta.size)).copy()
    return _newton(x, wins, total, start, lam)


def fastchat_rank(low: npt.ArrayLike, high: npt.ArrayLike) -> IntArray:
    """rank(m) = 1 + #{m′ : low(m′) > high(m)}: ties in rank mean "statistically tied"."""
    lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    rank: IntArray = (1 + np.sum(lo[None, :] > hi[:, None], axis=1)).astype(np.int64)
    return rank


def _n_clusters(votes: VoteCounts) -> int:
    return votes.n_clusters if votes.cluster is not None else votes.n_votes


def _few_cluster_stretch(n_clusters: int, level: float) -> float:
    if n_clusters < 2:
        return 1.0
    tail = 0.5 + level / 2
    t = float(special.stdtrit(n_clusters - 1, tail))
    return math.sqrt(n_clusters / (n_clusters - 1)) * t / float(special.ndtri(tail))


def bradley_terry(
    votes: VoteCounts,
    *,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> BTResult:
    """Fit BT, with (if ``n_boot`` > 0) bootstrap intervals and SEs resampling the votes'
    clusters (percentile, stretched for few clusters), or else cluster-robust sandwich
    intervals and SEs."""
    check_level(level)
    m = len(votes.items)
    i, j, wins, total = _pair_stats(votes, votes.count)
    _check_connected(i, j, m, votes.items)
    top, bottom = unbounded_items(i, j, wins, total, m)
    prior = PRIOR_SD if top.size or bottom.size else None
    beta = fit_bradley_terry(votes, prior_sd=prior)
    elo = ELO_SCALE * beta + ELO_BASE
    sandwich = np.sqrt(np.clip(np.diag(sandwich_cov(votes, beta, prior_sd=prior)), 0, None))
    sandwich = sandwich * ELO_SCALE
    if n_boot > 0:
        boot = ELO_SCALE * bootstrap_bradley_terry(votes, beta, n_boot=n_boot, seed=seed) + ELO_BASE
        bounds = np.array([percentile_interval(boot[:, k], level) for k in range(beta.size)])
        # Few clusters: a bootstrap over C raters underestimates the spread by (C − 1)/C and
        # the normal quantile is too small, so the percentile interval is stretched about the
        # estimate by √(C/(C − 1))·t_{C−1}/z (Cameron, Gelbach & Miller 2008 use t_{C−1} for
        # few clusters). With thousands of raters or votes the factor is 1.
        stretch = _few_cluster_stretch(_n_clusters(votes), level)
        low = np.minimum(elo - stretch * (elo - bounds[:, 0]), elo)
        high = np.maximum(elo + stretch * (bounds[:, 1] - elo), elo)
        se = stretch * boot.std(axis=0, ddof=1)
        method = "bootstrap"
    else:
        z = z_value(level)
        low, high, method, se = elo - z * sandwich, elo + z * sandwich, "sandwich", sandwich
    # The data bound a never-beaten variant from below only: its upper end is unknown (the
    # prior, not the votes, keeps the estimate finite), and likewise for a never-winning one.
    low, high, se = low.copy(), high.copy(), se.copy()
    high[top] = math.inf
    low[bottom] = -math.inf
    se[np.concatenate([top, bottom])] = math.nan
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
        sandwich_se_elo=sandwich,
        cluster=votes.cluster_kind if votes.cluster is not None else "vote",
        n_clusters=_n_clusters(votes),
        prior_sd=PRIOR_SD,
        prior_items=tuple(votes.items[k] for k in sorted({*top.tolist(), *bottom.tolist()})),
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
