"""Retrieval metrics against published worked examples and hand-computed values."""

from __future__ import annotations

import math

import pytest

from hyouka.scorers.metrics_retrieval import hit_at_k, mrr, ndcg_at_k, recall_at_k

# Wikipedia "Discounted cumulative gain" example: six retrieved documents graded 3,2,3,0,1,2;
# two more relevant documents (D7: 3, D8: 2) were not retrieved.
WIKI_RETRIEVED = ["D1", "D2", "D3", "D4", "D5", "D6"]
WIKI_GOLD = {"D1": 3, "D2": 2, "D3": 3, "D4": 0, "D5": 1, "D6": 2, "D7": 3, "D8": 2}

# scikit-learn ndcg_score docstring: true relevance [10, 0, 0, 1, 5] for documents a..e.
SK_GOLD = {"a": 10, "b": 0, "c": 0, "d": 1, "e": 5}


def test_ndcg_matches_the_wikipedia_example() -> None:
    # DCG6 = 6.861, IDCG6 (ideal 3,3,3,2,2,2) = 8.740, nDCG6 = 0.785
    assert ndcg_at_k(WIKI_RETRIEVED, WIKI_GOLD, 6) == pytest.approx(6.861 / 8.740, abs=1e-3)
    assert ndcg_at_k(WIKI_RETRIEVED, WIKI_GOLD, 6) == pytest.approx(0.785, abs=5e-4)


def test_ndcg_matches_the_scikit_learn_examples() -> None:
    # scores [.1, .2, .3, 4, 70] rank e, d, c, b, a
    assert ndcg_at_k(["e", "d", "c", "b", "a"], SK_GOLD, 5) == pytest.approx(0.6957, abs=1e-4)
    # scores [.05, 1.1, 1., .5, .0] rank b, c, d, a, e: 0.49..., and 0.35... with k=4
    ranked = ["b", "c", "d", "a", "e"]
    assert ndcg_at_k(ranked, SK_GOLD, 5) == pytest.approx(0.4937, abs=1e-4)
    assert ndcg_at_k(ranked, SK_GOLD, 4) == pytest.approx(0.3520, abs=1e-4)


def test_ndcg_exponential_gain_rewards_highly_relevant_passages_more() -> None:
    gold = {"a": 1, "b": 2}
    # gains 2**1-1 = 1 at rank 1 and 2**2-1 = 3 at rank 2; ideal puts b first.
    expected = (1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3))
    assert ndcg_at_k(["a", "b"], gold, 2, gain="exponential") == pytest.approx(expected)
    linear = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert ndcg_at_k(["a", "b"], gold, 2) == pytest.approx(linear)


def test_ndcg_with_binary_gold_is_the_same_for_both_gains() -> None:
    gold = {"p2", "p9"}
    ranked = ["p1", "p2", "p3", "p9"]
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(ranked, gold, 4) == pytest.approx(expected)
    assert ndcg_at_k(ranked, gold, 4, gain="exponential") == pytest.approx(expected)
    assert ndcg_at_k(["p9", "p2"], gold, 2) == pytest.approx(1.0)


def test_hit_at_k() -> None:
    retrieved = ["x", "y", "a"]
    assert hit_at_k(retrieved, {"a"}, 2) == 0.0
    assert hit_at_k(retrieved, {"a"}, 3) == 1.0
    assert hit_at_k(retrieved, {"a"}, 10) == 1.0


def test_recall_at_k() -> None:
    gold = {"a", "b", "c", "d"}
    retrieved = ["a", "x", "b", "y", "c"]
    assert recall_at_k(retrieved, gold, 1) == 0.25
    assert recall_at_k(retrieved, gold, 3) == 0.5
    assert recall_at_k(retrieved, gold, 5) == 0.75


def test_mrr_is_the_reciprocal_rank_of_the_first_relevant_passage() -> None:
    assert mrr(["x", "y", "a", "b"], {"a", "b"}) == pytest.approx(1 / 3)
    assert mrr(["a"], {"a"}) == 1.0
    assert mrr(["x", "y"], {"a"}) == 0.0
    assert mrr(["x", "y", "a"], {"a"}, k=2) == 0.0


def test_repeated_ids_take_a_rank_but_count_once() -> None:
    assert recall_at_k(["a", "a", "a"], {"a", "b"}, 3) == 0.5
    assert hit_at_k(["x", "x", "a"], {"a"}, 2) == 0.0
    assert ndcg_at_k(["a", "a"], {"a": 1, "b": 1}, 2) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_graded_gold_with_zero_grade_is_not_relevant() -> None:
    gold = {"a": 0, "b": 2}
    assert hit_at_k(["a"], gold, 1) == 0.0
    assert recall_at_k(["a", "b"], gold, 2) == 1.0
    assert mrr(["a", "b"], gold) == 0.5


def test_integer_ids_work() -> None:
    assert recall_at_k([3, 1, 2], [1, 2], 2) == 0.5


def test_bad_inputs_are_reported() -> None:
    with pytest.raises(ValueError, match="no relevant gold passage id"):
        recall_at_k(["a"], set(), 1)
    with pytest.raises(ValueError, match="no relevant gold passage id"):
        ndcg_at_k(["a"], {"a": 0}, 1)
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        hit_at_k(["a"], {"a"}, 0)
    with pytest.raises(TypeError, match="wrap one id in a list"):
        hit_at_k(["a"], "a", 1)
    with pytest.raises(TypeError, match="retrieved must be a list of ids"):
        hit_at_k("abc", {"a"}, 1)
    with pytest.raises(ValueError, match="gain must be 'linear' or 'exponential'"):
        ndcg_at_k(["a"], {"a"}, 1, gain="log")  # type: ignore[arg-type]
