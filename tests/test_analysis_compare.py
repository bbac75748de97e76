"""hyouka compare on stores built by the real runner with the echo provider.

The echo provider answers ``<variant letter><seed>``; a regex check on the seed's digits
decides which samples pass, so each variant's pass probability is set by the pattern, and the
runner's per-(case, sample) seeds are shared by all variants (common random numbers).
Expected numbers come from hand computation on a small example and from hyouka.stats on
matrices read here with plain SQL, independently of hyouka.analysis.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps
from sqlalchemy import select

from hyouka.analysis import verdict as V
from hyouka.analysis.data import MetricInfo
from hyouka.api import Workspace
from hyouka.errors import HyoukaError, NotFoundError
from hyouka.stats import (
    adjust_pvalues,
    bounded_mean_interval,
    case_differences,
    gacha_summary,
    holm_levels,
    more_cases_needed,
    paired_difference,
    permutation_test_paired,
    seed_welch_test,
    seeds_needed,
    sign_test,
    variance_components,
)
from hyouka.store.schema import cases, samples, scores, variants
from tests.conftest import write_project

QUALITY = '''
def quality(output, context):
    """A 0-1 score from the seed's digits; B gets a bonus, C reads another digit."""
    digits = output[1:]
    if output[0] == "C":
        return int(digits[-2]) / 10
    return min(int(digits[-1]) / 10 + (0.1 if output[0] == "B" else 0.0), 1.0)
'''


def noisy_project(
    root: Path, n_cases: int = 40, k: int = 5, database_url: str | None = None
) -> Workspace:
    """A passes `correct` half the time, B 80%, C half the time (another digit)."""
    cfg = {
        "name": "noisy",
        "samples": k,
        "providers": {"e": {"type": "echo"}},
        "variants": {
            v: {"provider": "e", "prompt": "{{ q }}", "params": {"reply": v + "{seed}"}}
            for v in ("A", "B", "C")
        },
        "checks": [
            {"type": "regex", "value": r"^(A\d*[0-4]|B\d*[0-7]|C\d*[0-4]\d)$", "metric": "correct"},
            {"type": "regex", "value": r"^[ABC]\d*[0-4]$", "metric": "half"},
            {"type": "python", "value": "quality_check:quality", "metric": "quality"},
        ],
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "quality_check.py").write_text(QUALITY, encoding="utf-8")
    rows = [{"id": f"c{i:03d}", "vars": {"q": f"q{i}"}} for i in range(n_cases)]
    ws = Workspace.open(write_project(root, cfg, rows), database_url=database_url)
    ws.run()
    return ws


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return noisy_project(tmp_path_factory.mktemp("noisy"))


def store_matrix(ws: Workspace, variant: str, metric: str) -> np.ndarray:
    """cases × samples values of one variant, rows ordered by case id, read with plain SQL."""
    query = (
        select(cases.c.id, samples.c.sample_index, scores.c.value, scores.c.passed)
        .join(samples, samples.c.id == scores.c.sample_id)
        .join(cases, cases.c.id == samples.c.case_id)
        .join(variants, variants.c.id == samples.c.variant_id)
        .where(variants.c.name == variant, scores.c.metric == metric, scores.c.status == "ok")
    )
    with ws.store.engine.connect() as conn:
        rows = conn.execute(query).all()
    case_ids = sorted({r[0] for r in rows})
    k = max(r[1] for r in rows) + 1
    out = np.full((len(case_ids), k), np.nan)
    for case_id, index, value, passed in rows:
        out[case_ids.index(case_id), index] = value if value is not None else float(passed)
    return out


# ----------------------------------------------------------------------------- by hand


def small_project(root: Path) -> Workspace:
    """8 cases, one sample: per-case regex checks say exactly who passes."""
    who = ["A|B", "A|B", "B", "B", "B", "A", "Z", "B"]  # Z: nobody passes
    rows = [
        {"id": f"s{i}", "vars": {"q": f"q{i}"}, "checks": [{"type": "regex", "value": f"^({w}):"}]}
        for i, w in enumerate(who)
    ]
    cfg = {
        "name": "small",
        "providers": {"e": {"type": "echo"}},
        "variants": {
            v: {"provider": "e", "prompt": "{{ q }}", "params": {"reply": v + ":{last}"}}
            for v in ("A", "B")
        },
    }
    ws = Workspace.open(write_project(root, cfg, rows))
    ws.run()
    return ws


def test_small_example_matches_hand_computation(tmp_path: Path) -> None:
    ws = small_project(tmp_path)
    m = ws.compare("A", "B").metric("regex")
    # A passes s0, s1, s5 (3/8); B passes s0–s4 and s7 (6/8); d = B − A per case.
    assert (m.a.mean, m.b.mean, m.difference.estimate) == (0.375, 0.75, 0.375)
    assert m.binary and m.a.method == "clopper-pearson" and m.a.samples_per_case == 1
    # One pass/fail per case: the exact Clopper–Pearson interval for 3 of 8.
    assert (m.a.low, m.a.high) == pytest.approx(
        (sps.beta.ppf(0.025, 3, 6), sps.beta.ppf(0.975, 4, 5))
    )
    assert (m.difference.share_b_wins, m.difference.share_a_wins) == (0.5, 0.125)
    # 4 cases only B passes, 1 only A: McNemar exact p = 2·(C(5,4)+C(5,5))/2⁵ = 0.375;
    # the exact sign-flip test: 12 of the 32 patterns have |sum| ≥ 3, p = 0.375 too. Both are
    # reported for reference; the verdict is the calibrated t on d.
    assert m.mcnemar is not None and m.mcnemar.p_value == pytest.approx(0.375)
    assert m.sign.p_value == pytest.approx(0.375)
    assert m.permutation.method == "permutation-exact"
    assert m.permutation.p_value == pytest.approx(12 / 32)
    assert m.primary_test == "t-calibrated" and not m.significant and m.gacha is None
    # d = (0, 0, 1, 1, 1, −1, 0, 1) plus a pseudo-case of weight ½ at ±1: centre = 3/8.5,
    # var = (5.5 − 8.5·centre²)/7.5, se = √(var/8.5); 5 cases differ → df = 4.
    centre = 3 / 8.5
    se = math.sqrt((5.5 - 8.5 * centre**2) / 7.5 / 8.5)
    half = sps.t.ppf(0.975, 4) * se
    d = m.difference
    assert (d.centre, d.t_se, d.df) == pytest.approx((centre, se, 4))
    assert (d.low, d.high) == pytest.approx((centre - half, 1.0))  # clipped at +1
    assert m.p_value == pytest.approx(2 * sps.t.sf(centre / se, 4))
    # Planning: the fewest N more cases for which the t test on all 8 + N cases finds a true
    # difference of 0.05 with 80% (conditional power: the 8 cases and their +0.375 stay in),
    # with Var(d) = (5 − 8·0.375²)/7 and df = 5/8·(8 + N) − 1, scanned here directly.
    # The SD is averaged over its uncertainty: σ = s·√(4/χ²₄) at the 5%, 15%, …, 95% points.
    s_hat = math.sqrt((5 - 8 * 0.375**2) / 7)
    sds = s_hat * np.sqrt(4 / sps.chi2.ppf(1 - np.arange(0.05, 1.0, 0.1), 4))

    def power(more: int) -> float:
        total = 8 + more
        crit = sps.t.ppf(0.975, max(5 / 8 * total - 1, 1))
        z = (more * 0.05 + 8 * 0.375 - crit * sds * math.sqrt(total)) / (sds * math.sqrt(more))
        return float(np.mean(sps.norm.cdf(z)))

    more = next(k for k in range(1, 10_000) if power(k) >= 0.8)
    need = 8 + more
    assert V.metric_sentence(m, "A", "B", "en") == (
        f"Not distinguishable from noise on `regex`: +0.38 (95% CI {V.signed(d.low)} to "
        f"{V.signed(d.high)}); about {V.about(need - 8)} more cases would settle a 0.05 "
        "difference."
    )
    assert V.metric_sentence(m, "A", "B", "ja") == (
        f"`regex` ではノイズと区別できない: +0.38 (95%CI {V.signed(d.low)}〜{V.signed(d.high)})。"
        f"0.05 の差を見極めるには、あと約 {V.about(need - 8)} ケース必要。"
    )


# ----------------------------------------------------------------------------- the engine


def test_numbers_equal_the_engine_on_the_same_arrays(noisy: Workspace) -> None:
    result = noisy.compare("A", "B", seed=11)
    m = result.metric("correct")
    a, b = store_matrix(noisy, "A", "correct"), store_matrix(noisy, "B", "correct")
    assert a.shape == b.shape == (40, 5)
    assert result.seed == 11
    # Holm over the three metrics decides the level of each printed interval.
    found = result.first.metrics
    levels = holm_levels([x.p_value for x in found], alpha=0.05)
    level = float(levels[[x.metric for x in found].index("correct")])
    assert m.difference == paired_difference(a, b).at(level)
    assert m.unadjusted == (paired_difference(a, b).low, paired_difference(a, b).high)
    arm_a = bounded_mean_interval(a.mean(axis=1), max_trials=200)
    assert (m.a.mean, m.a.low, m.a.high, m.a.method) == pytest.approx(
        (arm_a.estimate, arm_a.low, arm_a.high, "korn-graubard")
    )
    assert m.a.within_sd == math.sqrt(variance_components(a).within_var)
    d = case_differences(a, b)
    assert m.sign == sign_test(d)
    assert m.permutation == permutation_test_paired(d, n_resamples=10_000, seed=11)
    assert m.gacha == gacha_summary(a, b)
    assert m.mcnemar is None and m.primary_test == "t-calibrated"
    sig_a = variance_components(a).within_var
    sig_b = variance_components(b).within_var
    omega2 = max(float(d.var(ddof=1)) - sig_a / 5 - sig_b / 5, 0.0)
    assert m.power.omega2 == pytest.approx(omega2)
    share = np.count_nonzero(d) / 40
    more = more_cases_needed(0.05, float(d.mean()), float(d.var(ddof=1)), 40, alpha=0.05 / 3,
                             differ_share=share)  # fmt: skip
    assert m.power.more_cases == more and m.power.alpha == pytest.approx(0.05 / 3)


def test_numeric_metric_uses_the_scores_value(noisy: Workspace) -> None:
    m = noisy.compare("A", "B", metrics=["quality"]).metric("quality")
    a, b = store_matrix(noisy, "A", "quality"), store_matrix(noisy, "B", "quality")
    assert not m.binary and m.higher_is_better
    assert m.difference.estimate == pytest.approx(float(np.mean(b) - np.mean(a)))
    assert m.difference == paired_difference(a, b)


def test_clear_difference_reads_b_is_better_in_both_languages(noisy: Workspace) -> None:
    m = noisy.compare("A", "B").metric("correct")
    assert m.significant and m.b_better and m.p_adjusted < 0.001
    d, g = m.difference, m.gacha
    assert g is not None
    # Three metrics: the interval is at the level Holm tested `correct` at, not 95%.
    level = V.level_text(d.level)
    assert d.level > 0.95 and level in ("97.5", "98.3")
    nums = f"{V.signed(d.estimate)} ({level}% CI {V.signed(d.low)} to {V.signed(d.high)})"
    share = round(m.share_favouring_b * 100)
    assert V.metric_sentence(m, "A", "B", "en") == (
        f"B is better than A on `correct`: {nums}, {share}% of cases favour B; "
        f"the difference is {V.ratio_text(g.ratio)}× the sample-to-sample spread."
    )
    nums_ja = f"{V.signed(d.estimate)} ({level}%CI {V.signed(d.low)}〜{V.signed(d.high)})"
    assert V.metric_sentence(m, "A", "B", "ja") == (
        f"B は A より `correct` で良い: {nums_ja}、{share}% のケースで B が優位。"
        f"差はサンプル間のばらつきの {V.ratio_text(g.ratio)} 倍。"
    )


def test_identical_in_distribution_pair_is_noise_with_a_finite_estimate(noisy: Workspace) -> None:
    m = noisy.compare("A", "C").metric("correct")
    assert not m.significant
    more = m.power.more_cases
    assert more is not None and 0 < more < 100_000
    text = V.metric_sentence(m, "A", "C", "en")
    assert text.startswith("Not distinguishable from noise on `correct`: ")
    assert f"; about {V.about(more)} more cases" in text
    assert text.endswith("would settle a 0.05 difference.")


def test_exactly_equal_scores_say_so(noisy: Workspace) -> None:
    m = noisy.compare("A", "B").metric("half")  # same seeds, same digit: same outcomes
    assert m.identical and m.difference.estimate == 0 and m.power.cases_needed is None
    assert V.metric_sentence(m, "A", "B", "en") == (
        "A and B scored the same on all 40 cases on `half`."
    )


def test_holm_correction_across_metrics_and_comparisons(noisy: Workspace) -> None:
    result = noisy.compare("A", "B", "C")
    assert [p.b for p in result.comparisons] == ["B", "C"]
    found = [m for p in result.comparisons for m in p.metrics]
    assert result.n_tests == len(found) == 6
    expected = adjust_pvalues([m.p_value for m in found], method="holm")
    np.testing.assert_allclose([m.p_adjusted for m in found], expected)
    assert all(m.significant == (m.p_adjusted < 0.05) for m in found)
    assert V.compare_notes(result, "en") == [
        "p-values and the intervals beside the verdicts are Holm-adjusted across 6 tests "
        "(3 metrics × 2 comparisons): each such interval is at the level Holm tested its metric "
        "at, so it excludes 0 exactly when the verdict says there is a difference; “more cases” "
        "plans for α/6; the A and B columns are not adjusted."
    ]
    assert V.compare_notes(noisy.compare("A", "B"), "ja") == [
        "p 値と判定に添えた区間は 3 件の検定（3 指標）について Holm 法で補正済み。各区間は Holm "
        "法がその指標を検定した水準の区間なので、差があると判定したときに限り 0 を含まない。"
        "「あと何ケース」は α/3 で計算。A・B 各列の区間は補正なし。"
    ]
    # Each interval is at its Holm level and agrees with the verdict.
    levels = holm_levels([m.p_value for m in found], alpha=0.05)
    for m, level in zip(found, levels, strict=True):
        assert m.difference.level == pytest.approx(level)
        assert m.significant == (m.difference.low > 0 or m.difference.high < 0)
    # The baseline's estimate is computed once and reused for both comparisons.
    assert result.comparisons[0].metrics[0].a is result.comparisons[1].metrics[0].a


def test_unknown_names_are_explained(noisy: Workspace) -> None:
    with pytest.raises(NotFoundError, match=r"no variant or family 'Z'.*A, B, C"):
        noisy.compare("A", "Z")
    with pytest.raises(NotFoundError, match=r"no metric 'nope'.*correct"):
        noisy.compare("A", "B", metrics=["nope"])
    with pytest.raises(HyoukaError, match="at least two variants"):
        noisy.compare("A")


def test_name_at_version_picks_that_version(noisy: Workspace) -> None:
    version = noisy.current_variants()[1]["version"]
    result = noisy.compare("A", f"B@{version[:6]}")
    assert result.first.b_variants == (f"B@{version}",)


def test_lower_is_better_checks_flip_the_direction() -> None:
    assert not MetricInfo("latency", "latency", "latency", False).higher_is_better
    assert not MetricInfo("levenshtein", "levenshtein", "levenshtein", False).higher_is_better
    assert MetricInfo("levenshtein", "levenshtein", "levenshtein", True).higher_is_better
    assert MetricInfo("python", "quality", "quality", False).higher_is_better


# ----------------------------------------------------------------------------- families


FAMILY_DIGITS = {"a1": "0-4", "a2": "0-5", "a3": "0-3", "b1": "0-6", "b2": "0-7", "b3": "0-5"}


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    pattern = "^(" + "|".join(f"{n}-\\d*[{d}]" for n, d in FAMILY_DIGITS.items()) + ")$"
    cfg = {
        "name": "fam",
        "samples": 3,
        "providers": {"e": {"type": "echo"}},
        "variants": {
            n: {"provider": "e", "prompt": "{{ q }}", "params": {"reply": n + "-{seed}"},
                "family": "ft" + n[0].upper()}
            for n in FAMILY_DIGITS
        },
        "checks": [{"type": "regex", "value": pattern, "metric": "correct"}],
    }  # fmt: skip
    rows = [{"id": f"c{i:02d}", "vars": {"q": f"q{i}"}} for i in range(30)]
    ws = Workspace.open(write_project(tmp_path_factory.mktemp("fam"), cfg, rows))
    ws.run()
    return ws


def test_family_seed_level_welch_and_seeds_needed(family: Workspace) -> None:
    m = family.compare("ftA", "ftB").metric("correct")
    means = {n: float(np.mean(store_matrix(family, n, "correct"))) for n in FAMILY_DIGITS}
    a_means = [means[n] for n in ("a1", "a2", "a3")]
    b_means = [means[n] for n in ("b1", "b2", "b3")]
    assert m.seed_level is not None
    assert m.seed_level.a_seed_means == pytest.approx(a_means)
    expected = seed_welch_test(a_means, b_means)
    assert dataclasses.astuple(m.seed_level.welch) == pytest.approx(dataclasses.astuple(expected))
    sd = math.sqrt((expected.sd_a**2 + expected.sd_b**2) / 2)
    assert m.seed_level.seed_sd == pytest.approx(sd)
    assert m.seed_level.seeds_needed == seeds_needed(0.05, m.seed_level.seed_sd)
    assert m.seed_level.more_seeds == seeds_needed(0.05, m.seed_level.seed_sd) - 3
    # The family arm pools every seed's samples: 3 seeds × 3 samples per case.
    assert m.a.samples_per_case == 9
    text = V.metric_sentence(m, "ftA", "ftB", "en")
    seed_part = "But across seeds (3 vs 3)" if expected.p_value >= 0.05 else "Across seeds (3 vs 3)"
    assert seed_part in text and "3 or fewer seeds per arm" in text


def test_single_seed_of_a_family_also_gets_the_seed_test(family: Workspace) -> None:
    m = family.compare("a1", "b1").metric("correct")
    assert m.a.samples_per_case == 3  # the case-level comparison is a1 vs b1 only
    assert m.seed_level is not None and m.seed_level.a_variants[0].startswith("a1@")
    assert m.power.more_seeds == m.seed_level.more_seeds
    same = family.compare("a1", "a2").metric("correct")
    assert same.seed_level is None  # two seeds of one family: no seed-level contrast
