"""Agreement coefficients against statistics.md §8 (K1, K5–K9, F1, F3–F5, C1, C4, C5, G3)."""

from __future__ import annotations

import numpy as np
import pytest

from hyouka.stats import (
    StatsInputError,
    agreement_ci,
    cohen_kappa,
    cohen_kappa_table,
    coincidence_matrix,
    fleiss_kappa,
    gwet_ac1,
    gwet_ac1_table,
    item_disagreement,
    krippendorff_alpha,
    preference_by_group,
    rater_leniency,
    ratings_to_counts,
)

nan = np.nan

# Krippendorff (2011) §C, given as observers × units; hyouka takes items × raters.
K1_RATERS = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
)
K1 = K1_RATERS.T

K7 = np.array(
    [
        [nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
        [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
        [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4],
    ]
).T

FLEISS_WIKI = np.array(
    [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]
)  # fmt: skip

# R irr `anxiety` (20 subjects × 3 raters), as printed in statsmodels' test_inter_rater.py.
ANXIETY = np.array(
    [
        3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3, 3, 6, 4, 6, 2, 4, 2, 4,
        3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4, 2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1,
        3, 3, 2, 2,
    ]
).reshape(20, 3, order="F")  # fmt: skip


def printed(value: float, text: str) -> bool:
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(value - float(text)) <= 0.5 * 10**-decimals + 1e-12


def expand_counts(counts: np.ndarray) -> np.ndarray:
    """Items × categories counts → items × raters matrix of category codes."""
    return np.array([np.repeat(np.arange(counts.shape[1]), row) for row in counts], dtype=float)


def expand_table(table: np.ndarray) -> np.ndarray:
    """Two-rater contingency table → items × 2 matrix."""
    q = table.shape[0]
    return np.array(
        [(i, j) for i in range(q) for j in range(q) for _ in range(int(table[i, j]))], dtype=float
    )


def test_krippendorff_2011_example_k1() -> None:
    alpha = krippendorff_alpha(K1, metric="nominal")
    assert printed(alpha, "0.743")
    assert alpha == pytest.approx(1 - 312 / 1216)


def test_coincidence_matrix_k5() -> None:
    values, o = coincidence_matrix(K1)
    expected = np.array(
        [
            [7, 4 / 3, 1 / 3, 1 / 3, 0],
            [4 / 3, 10, 4 / 3, 1 / 3, 0],
            [1 / 3, 4 / 3, 8, 1 / 3, 0],
            [1 / 3, 1 / 3, 1 / 3, 4, 0],
            [0, 0, 0, 0, 3],
        ]
    )
    assert list(values) == [1, 2, 3, 4, 5]
    assert np.allclose(o, expected)
    assert list(o.sum(axis=1)) == pytest.approx([9, 13, 10, 5, 3])
    assert o.sum() == pytest.approx(40)


def test_binary_nominal_alpha_k6() -> None:
    obs = np.array([[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]).T
    assert printed(krippendorff_alpha(obs), "0.095")
    assert krippendorff_alpha(obs) == pytest.approx(1 - 19 * 4 / 84)


@pytest.mark.parametrize(
    ("metric", "text"),
    [
        ("nominal", "0.691358"),
        ("interval", "0.810845"),
        ("ordinal", "0.806721"),
        ("ratio", "0.808944"),
    ],
)
def test_wikipedia_example_k7(metric: str, text: str) -> None:
    assert printed(krippendorff_alpha(K7, metric=metric), text)  # type: ignore[arg-type]


def test_tiny_hand_cases_k8_k9() -> None:
    assert krippendorff_alpha([[1, 2], [3, 3], [2, nan]], metric="interval") == pytest.approx(
        8 / 11
    )
    assert krippendorff_alpha([[0, 0, 1], [1, 1, nan], [0, nan, nan]]) == pytest.approx(1 / 3)


def test_fleiss_kappa_f1_with_per_item_agreement() -> None:
    assert printed(fleiss_kappa(FLEISS_WIKI), "0.210")
    assert printed(fleiss_kappa(FLEISS_WIKI), "0.2099307")
    assert printed(fleiss_kappa(FLEISS_WIKI, method="randolph"), "0.2225275")
    d = item_disagreement(expand_counts(FLEISS_WIKI))
    p_i = [1.000, 0.253, 0.308, 0.440, 0.330, 0.462, 0.242, 0.176, 0.286, 0.286]
    assert all(printed(v, f"{e:.3f}") for v, e in zip(d.agreement, p_i, strict=True))
    ent = [0, 0.793, 0.659, 0.554, 0.778, 0.431, 0.809, 0.952, 0.744, 0.766]
    assert all(printed(v, f"{e:.3f}") for v, e in zip(d.entropy, ent, strict=True))


@pytest.mark.parametrize(
    ("counts", "fleiss", "randolph"),
    [([[7, 1], [3, 5]], "0.161905", "0.214286"), ([[6, 1, 0], [0, 7, 0]], "0.708333", "0.785714")],
)
def test_fleiss_and_randolph_f3_f4(counts: list[list[int]], fleiss: str, randolph: str) -> None:
    assert printed(fleiss_kappa(counts), fleiss)
    assert printed(fleiss_kappa(counts, method="randolph"), randolph)


def test_alpha_fleiss_identity_f5() -> None:
    ratings = expand_counts(FLEISS_WIKI)
    alpha = krippendorff_alpha(ratings)
    assert printed(alpha, "0.2155741")
    assert alpha == pytest.approx(1 - (1 - fleiss_kappa(FLEISS_WIKI)) * 139 / 140)
    assert np.array_equal(ratings_to_counts(ratings), FLEISS_WIKI)


def test_cohen_kappa_c1() -> None:
    assert printed(cohen_kappa_table([[20, 5], [10, 15]]), "0.4")


@pytest.mark.parametrize(
    ("weights", "text"),
    [(None, "-0.006289308"), ("linear", "0.1459075"), ("quadratic", "0.2520325")],
)
def test_cohen_kappa_r_irr_anxiety_c4(weights: str | None, text: str) -> None:
    kappa = cohen_kappa(ANXIETY[:, 1], ANXIETY[:, 2], weights=weights)  # type: ignore[arg-type]
    assert printed(kappa, text)


def test_kappa_paradox_c5() -> None:
    table = np.array([[118, 5], [2, 0]])
    assert printed(np.trace(table) / table.sum(), "0.944")
    assert printed(cohen_kappa_table(table), "-0.0233918")
    assert printed(gwet_ac1_table(table), "0.9407763")
    assert gwet_ac1(expand_table(table)) == pytest.approx(gwet_ac1_table(table))


def test_two_rater_table_g3() -> None:
    table = np.array([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    assert printed(cohen_kappa_table(table), "0.79641")
    assert printed(gwet_ac1_table(table), "0.84933")
    assert printed(krippendorff_alpha(expand_table(table)), "0.79726")


# ------------------------------------------------------------------ properties


def test_alpha_invariant_to_rater_order_and_relabelling() -> None:
    base = krippendorff_alpha(K1)
    assert krippendorff_alpha(K1[:, ::-1]) == pytest.approx(base)
    relabelled = np.where(np.isnan(K1), nan, 100 - 7 * K1)
    assert krippendorff_alpha(relabelled) == pytest.approx(base)


def test_interval_alpha_invariant_to_affine_rescaling() -> None:
    base = krippendorff_alpha(K7, metric="interval")
    assert krippendorff_alpha(3.5 * K7 - 2, metric="interval") == pytest.approx(base)


def test_unanimous_ratings_give_alpha_one() -> None:
    unanimous = np.repeat(np.array([[1.0], [2.0], [3.0], [2.0]]), 4, axis=1)
    for metric in ("nominal", "ordinal", "interval", "ratio"):
        assert krippendorff_alpha(unanimous, metric=metric) == pytest.approx(1.0)  # type: ignore[arg-type]


def test_units_with_one_rating_do_not_change_alpha() -> None:
    extra = np.array([[5.0, nan, nan, nan], [nan, 1.0, nan, nan]])
    assert krippendorff_alpha(np.vstack([K1, extra])) == pytest.approx(krippendorff_alpha(K1))


def test_binary_interval_alpha_equals_nominal() -> None:
    rng = np.random.default_rng(0)
    r = (rng.random((50, 4)) < 0.4).astype(float)
    r[rng.random((50, 4)) < 0.2] = nan
    assert krippendorff_alpha(r, metric="interval") == pytest.approx(krippendorff_alpha(r))


def test_bootstrap_ci_brackets_estimate_and_records_seed() -> None:
    rng = np.random.default_rng(1)
    truth = rng.integers(1, 6, 300).astype(float)
    r = truth[:, None] + rng.integers(-1, 2, (300, 4))
    for coefficient in ("alpha", "fleiss", "ac1"):
        est = agreement_ci(r, coefficient=coefficient, n_boot=200, seed=4)  # type: ignore[arg-type]
        assert est.low < est.estimate < est.high and est.seed == 4
    est = agreement_ci(r[:, :2], coefficient="cohen", weights="quadratic", n_boot=200, seed=4)
    assert est.estimate == pytest.approx(cohen_kappa(r[:, 0], r[:, 1], weights="quadratic"))
    interval = agreement_ci(r, metric="interval", n_boot=300, seed=4)
    assert interval.low < interval.estimate < interval.high
    assert interval.high - interval.low < 0.15


def test_most_disputed_items_rank_by_contribution() -> None:
    r = np.array([[1, 1, 1], [1, 5, 1], [3, 3, 3], [1, 5, 3], [2, 2, 2]], dtype=float)
    d = item_disagreement(r, metric="interval")
    assert list(d.most_disputed(2)) == [1, 3]  # (1,5,1): 16+16 > (1,5,3): 16+4+4
    assert d.contribution[0] == 0 and d.majority_share[3] == pytest.approx(1 / 3)


def test_rater_leniency_finds_the_generous_rater() -> None:
    rng = np.random.default_rng(3)
    truth = rng.normal(3, 1, 200)
    r = truth[:, None] + rng.normal(0, 0.3, (200, 4))
    r[:, 2] += 1.0  # rater 2 scores a point higher than the others
    res = rater_leniency(r, metric="interval")
    assert res[2].bias == pytest.approx(1.0, abs=0.1)
    assert res[2].low > 0.5
    assert all(abs(x.bias) < 0.5 for k, x in enumerate(res) if k != 2)
    assert res[2].delta_alpha < 0 < res[0].delta_alpha


def test_preference_split_by_group() -> None:
    outcomes = [1.0] * 30 + [0.0] * 10 + [0.5] * 4 + [0.0] * 28 + [1.0] * 12
    groups = ["ops"] * 44 + ["research"] * 40
    split = preference_by_group(outcomes, groups)
    ops, research = split.groups
    assert ops.group == "ops" and (ops.b_wins, ops.ties, ops.a_wins) == (30, 4, 10)
    assert ops.interval.estimate == pytest.approx(32 / 44)
    assert ops.interval.low > 0.5 > research.interval.high
    assert split.p_value < 0.001


def test_errors_name_the_problem() -> None:
    with pytest.raises(StatsInputError, match="same number"):
        fleiss_kappa([[2, 1], [1, 1]])
    with pytest.raises(StatsInputError, match="2 rater columns"):
        agreement_ci(K1, coefficient="cohen")
