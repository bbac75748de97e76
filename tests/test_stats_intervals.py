"""Intervals, clustered SEs and variance components against statistics.md §8 (E1, E2, E5)."""

from __future__ import annotations

import numpy as np
import pytest

from hyouka.stats import (
    StatsInputError,
    clopper_pearson_interval,
    cluster_bootstrap_mean,
    clustered_mean_ci,
    clustered_se,
    mean_ci,
    variance_components,
    wilson_interval,
)


def printed(value: float, text: str) -> bool:
    """True when ``value`` rounds to the printed ``text`` (half a unit in the last digit)."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(value - float(text)) <= 0.5 * 10**-decimals + 1e-12


def test_clustered_se_matches_e1_three_forms() -> None:
    s, clusters = [1, 1, 0, 0, 1, 0], list("aabbcc")
    assert printed(mean_ci(s).se, "0.2236068")
    assert printed(clustered_se(s, clusters, form="paper"), "0.2527625")
    assert printed(clustered_se(s, clusters, form="inspect"), "0.2886751")


def test_clustered_mean_ci_is_wider_than_clt_when_clusters_agree_internally() -> None:
    s, clusters = [1, 1, 0, 0, 1, 0], list("aabbcc")
    clt, clu = mean_ci(s), clustered_mean_ci(s, clusters)
    assert clu.estimate == clt.estimate == 0.5
    assert clu.high - clu.low > clt.high - clt.low


def test_clustered_se_with_singleton_clusters_equals_clt_up_to_ddof() -> None:
    x = np.array([0.2, 0.9, 0.4, 0.7, 0.1])
    # Paper form with one value per cluster adds no cross terms: exactly the ddof-1 CLT SE.
    assert clustered_se(x, np.arange(5), form="paper") == pytest.approx(mean_ci(x).se)


def test_variance_components_match_e2() -> None:
    rows = np.array([[1, 1, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [1, 1, 1, 1], [0, 1, 0, 0]])
    vc = variance_components(rows)
    assert vc.mean == 0.5
    assert printed(vc.within_var, "0.1666667")
    assert printed(vc.var_case_means, "0.15625")
    assert printed(vc.between_var, "0.1145833")
    assert printed(vc.se, "0.1767767")
    assert vc.se_for(4) == pytest.approx(vc.se)
    assert vc.se_for(1_000_000) == pytest.approx(vc.se_floor, rel=1e-4)


def test_variance_components_accepts_labels_in_any_order() -> None:
    rows = np.array([[1, 1, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [1, 1, 1, 1], [0, 1, 0, 0]])
    rng = np.random.default_rng(3)
    order = rng.permutation(rows.size)
    values = rows.ravel()[order]
    cases = np.repeat(["q1", "q2", "q3", "q4", "q5"], 4)[order]
    assert variance_components(values, cases).between_var == pytest.approx(0.1145833, abs=1e-7)


@pytest.mark.parametrize(
    ("k", "n", "wilson", "cp"),
    [
        (8, 10, ("0.49016", "0.94332"), ("0.44390", "0.97479")),
        (45, 50, ("0.78640", "0.95652"), ("0.78186", "0.96672")),
    ],
)
def test_binomial_intervals_match_e5(
    k: int, n: int, wilson: tuple[str, str], cp: tuple[str, str]
) -> None:
    w, c = wilson_interval(k, n), clopper_pearson_interval(k, n)
    assert printed(w.low, wilson[0]) and printed(w.high, wilson[1])
    assert printed(c.low, cp[0]) and printed(c.high, cp[1])


def test_zero_failures_upper_bounds_match_e5_and_rule_of_three() -> None:
    assert printed(wilson_interval(0, 30).high, "0.11351")
    assert printed(clopper_pearson_interval(0, 30).high, "0.11570")
    assert clopper_pearson_interval(0, 30).low == 0.0


def test_wilson_interval_for_e6_vote_share() -> None:
    w = wilson_interval(30, 48)
    assert printed(w.low, "0.48363") and printed(w.high, "0.74785")


def test_cluster_bootstrap_resamples_cases_not_samples_and_records_seed() -> None:
    rng = np.random.default_rng(0)
    case_effect = rng.normal(0, 1, 30)
    samples = case_effect[:, None] + rng.normal(0, 0.1, (30, 20))
    res = cluster_bootstrap_mean(samples, n_boot=2000, seed=7)
    assert res.seed == 7 and res.n_cases == 30 and res.n_samples == 600
    # With 30 cases the SE is about sd(case means)/√30, not sd(samples)/√600.
    expected = samples.mean(axis=1).std(ddof=1) / np.sqrt(30)
    assert res.se == pytest.approx(expected, rel=0.1)
    again = cluster_bootstrap_mean(samples, n_boot=2000, seed=7)
    assert (again.low, again.high) == (res.low, res.high)


def test_errors_say_what_to_pass() -> None:
    with pytest.raises(StatsInputError, match="successes"):
        wilson_interval(11, 10)
    with pytest.raises(StatsInputError, match="one label per value"):
        clustered_se([1, 0, 1], ["a", "b"])
    with pytest.raises(StatsInputError, match="K ≥ 2"):
        variance_components([1.0, 0.0, 1.0], ["a", "b", "c"])
