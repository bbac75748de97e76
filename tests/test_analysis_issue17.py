"""Issue 17: each defect of `hyouka compare` has a test here that fails on the old code.

Numbers come from hyouka.stats on the same arrays or from hand computation; simulations are
seeded and use the same engine function compare uses.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hyouka.analysis import verdict as V
from hyouka.analysis.compare import (
    PairComparison,
    Settings,
    apply_holm,
    arm_estimate,
    compare_metric,
)
from hyouka.analysis.data import MetricInfo
from hyouka.api import Workspace
from hyouka.cli.main import cli
from hyouka.errors import HyoukaError
from hyouka.stats import paired_difference, wilson_interval
from hyouka.stats.paired import MIN_CASES
from tests.conftest import write_project
from tests.test_analysis_compare import noisy_project

BINARY = MetricInfo("regex", "correct", "correct", True)
UNIT = MetricInfo("python", "f1", "f1", False)


# ----------------------------------------------------------------------------- defect 1


def test_level_sets_the_significance_level_too(tmp_path: Path) -> None:
    ws = noisy_project(tmp_path, n_cases=20, k=3)
    result = ws.compare("A", "C", level=0.9)
    assert result.alpha == pytest.approx(0.1) and result.level == 0.9
    for m in result.first.metrics:
        assert m.difference.level >= 0.9
        assert m.significant == (m.difference.low > 0 or m.difference.high < 0)
    out = CliRunner().invoke(cli, ["compare", "A", "C", "--level", "0.9", "--json", "-p",
                                   str(tmp_path)], env={"HYOUKA_LANG": "en"})  # fmt: skip
    data = json.loads(out.stdout)
    assert data["alpha"] == pytest.approx(0.1) and data["level"] == 0.9


def test_holm_adjusts_the_printed_interval_not_only_the_p_value() -> None:
    """The Japanese char-F1 case: a 95% interval of −0.08 to −0.00 next to "not
    distinguishable" because only the p-value was Holm-adjusted."""
    rng = np.random.default_rng(3)
    s = Settings()
    n = 40
    a = np.clip(rng.normal(0.6, 0.2, (n, 1)) + rng.normal(0, 0.05, (n, 3)), 0, 1)
    b = np.clip(a - 0.035 + rng.normal(0, 0.05, (n, 3)), 0, 1)
    nulls = [np.clip(a + rng.normal(0, 0.05, (n, 3)), 0, 1) for _ in range(3)]
    metrics = [compare_metric(UNIT, a, b, s, plan=False)]
    metrics += [compare_metric(MetricInfo("python", f"x{i}", f"x{i}", False), a, x, s,
                               plan=False) for i, x in enumerate(nulls)]  # fmt: skip
    alone = metrics[0]
    assert alone.significant and alone.difference.high < 0  # at 95% it excludes 0
    (pair,) = apply_holm([PairComparison("A", "B", ("A",), ("B",), n, 0, tuple(metrics))], s)
    m = pair.metrics[0]
    assert m.difference.level == pytest.approx(1 - 0.05 / 4)
    assert m.unadjusted == (alone.difference.low, alone.difference.high)
    assert m.significant == (m.difference.high < 0)
    text = V.metric_sentence(m, "A", "B", "en")
    shown = f"({V.level_text(m.difference.level)}% CI {V.signed(m.difference.low)} to "
    assert shown in text


# ----------------------------------------------------------------------------- defect 2


def _draw(kind: str, rng: np.random.Generator, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Strongly varying case difficulty, samples correlated within a case, B a bit better."""
    if kind == "binary":
        th = rng.normal(0.8, 2.0, (n, 1))
        a = (rng.random((n, k)) < 1 / (1 + np.exp(-th))).astype(float)
        b = (rng.random((n, k)) < 1 / (1 + np.exp(-(th + 0.5)))).astype(float)
        return a, b
    th = rng.normal(0.0, 1.5, (n, 1))
    a = np.clip(np.round(3 + th + rng.normal(0, 0.7, (n, k))), 1, 5)
    b = np.clip(np.round(3 + th + 0.4 + rng.normal(0, 0.7, (n, k))), 1, 5)
    return a, b


@pytest.mark.parametrize(("kind", "k"), [("binary", 1), ("binary", 3), ("rating", 3)])
def test_intervals_cover_at_twelve_cases(kind: str, k: int) -> None:
    """The percentile bootstrap covered 84–89% at 12 cases; the calibrated t ≥ 93%."""
    rng = np.random.default_rng(17)
    big_a, big_b = _draw(kind, rng, 400_000, 1)
    truth = float(big_b.mean() - big_a.mean())
    draws = 1500
    hits = 0
    for _ in range(draws):
        a, b = _draw(kind, rng, 12, k)
        d = paired_difference(a, b)
        hits += d.low <= truth <= d.high
    assert hits / draws >= 0.93, hits / draws


def test_too_few_shared_cases_are_refused_with_the_reason(tmp_path: Path) -> None:
    ws = small_project(tmp_path, n=MIN_CASES - 1)
    with pytest.raises(HyoukaError, match=rf"at least {MIN_CASES} shared cases.*`regex` vs B: "
                       rf"too-few \({MIN_CASES - 1} shared\)"):  # fmt: skip
        ws.compare("A", "B")


# ----------------------------------------------------------------------------- defect 3


def test_planning_uses_the_level_holm_tests_at(tmp_path: Path) -> None:
    ws = noisy_project(tmp_path, n_cases=20, k=3)
    one = ws.compare("A", "C", metrics=["correct"]).metric("correct")
    three = ws.compare("A", "C").metric("correct")
    assert one.power.alpha == pytest.approx(0.05) and one.power.n_tests == 1
    assert three.power.alpha == pytest.approx(0.05 / 3) and three.power.n_tests == 3
    assert one.power.cases_needed is not None and three.power.cases_needed is not None
    assert three.power.cases_needed > one.power.cases_needed * 1.25


# ----------------------------------------------------------------------------- defect 4


def test_no_post_hoc_power_claim_when_one_sample_differs() -> None:
    s = Settings()
    a = np.ones((40, 5))
    b = np.ones((40, 5))
    b[7, 2] = 0.0
    m = compare_metric(BINARY, a, b, s)
    assert not m.significant and not m.equivalent
    text = V.metric_sentence(m, "A", "B", "en")
    assert "probably smaller" not in text and "were enough" not in text
    # One differing case of 40 gives the t interval 1 degree of freedom: it is wide, and the
    # plan says what would settle it.
    assert m.difference.df == 1 and m.difference.high - m.difference.low > 0.1
    assert m.power.more_cases and f"; about {V.about(m.power.more_cases)} more cases" in text


def test_equivalence_when_the_whole_interval_is_within_delta() -> None:
    rng = np.random.default_rng(8)
    case = rng.random((400, 1))
    a = np.clip(case + rng.normal(0, 0.02, (400, 3)), 0, 1)
    b = np.clip(case + rng.normal(0, 0.02, (400, 3)), 0, 1)
    m = compare_metric(UNIT, a, b, Settings())
    assert not m.significant and m.equivalent
    assert m.difference.low > -0.05 and m.difference.high < 0.05
    assert V.metric_sentence(m, "A", "B", "en").endswith(
        "; the whole interval lies within ±0.05, so any real difference is smaller than 0.05."
    )
    assert "区間全体が ±0.05 の内側" in V.metric_sentence(m, "A", "B", "ja")


# ----------------------------------------------------------------------------- defect 5


def test_all_pass_arm_with_several_samples_is_not_zero_width() -> None:
    s = Settings()
    arm = arm_estimate(np.ones((20, 5)), True, s)
    single = wilson_interval(20, 20)
    assert arm.high == 1.0 and arm.low < 0.9
    assert arm.low <= single.low + 0.05  # as wide as 20 pass/fail cases, not 100 samples
    one = arm_estimate(np.ones((20, 1)), True, s)
    assert one.method == "clopper-pearson" and one.low == pytest.approx(0.025 ** (1 / 20))


# ----------------------------------------------------------------------------- defect 10


def small_project(root: Path, n: int = 8, extra_on_first: bool = False) -> Workspace:
    rows = []
    for i in range(n):
        rule = "^(A|B):" if i % 2 else "^B:"
        checks: list[dict[str, object]] = [{"type": "regex", "value": rule}]
        if extra_on_first and i == 0:
            checks.append({"type": "contains", "value": "B:"})
        rows.append({"id": f"s{i}", "vars": {"q": f"q{i}"}, "checks": checks})
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


def test_a_metric_on_one_case_is_listed_with_what_each_side_scored(tmp_path: Path) -> None:
    ws = small_project(tmp_path, n=8, extra_on_first=True)
    result = ws.compare("A", "B")
    assert [m.metric for m in result.first.metrics] == ["regex"]
    (sk,) = result.first.skipped
    assert (sk.metric, sk.reason, sk.n_shared, sk.mean_a, sk.mean_b) == (
        "contains", "too-few", 1, 0.0, 1.0,
    )  # fmt: skip
    notes = V.compare_notes(result, "en")
    assert (
        "`contains` was not compared: only 1 case(s) have scores on both sides, at least "
        f"{MIN_CASES} are needed (A: 0.00 over 1 case(s), B: 1.00 over 1)."
    ) in notes
    ja = V.compare_notes(result, "ja")
    assert any(n.startswith("`contains` は比較していません") for n in ja)


def test_per_case_rules_each_get_their_own_row(tmp_path: Path) -> None:
    ws = small_project(tmp_path, n=8)
    pair = ws.compare("A", "B").first
    rows = {r.rule: r for r in pair.rules}
    assert set(rows) == {"^(A|B):", "^B:"}
    # Odd cases use ^(A|B): (both pass), even ones ^B: (only B passes).
    assert (rows["^B:"].n_cases, rows["^B:"].mean_a, rows["^B:"].mean_b) == (4, 0.0, 1.0)
    assert rows["^B:"].cases == ("s0", "s2", "s4", "s6")
    assert (rows["^(A|B):"].mean_a, rows["^(A|B):"].mean_b) == (1.0, 1.0)
    # The merged metric is still compared as one pass rate over the cases' own rules.
    assert pair.metric("regex").difference.estimate == pytest.approx(0.5)


# ----------------------------------------------------------------------------- defect 11


def test_numbers_never_print_as_minus_zero_and_metrics_are_counted() -> None:
    assert V.signed(-0.0004) == "−0.0004" and V.signed(0.0) == "0.00"
    assert V.signed(-0.004, 2) == "−0.004"
    assert V.count_text("en", "compare.n_metrics", 1) == "1 metric"
    assert V.count_text("en", "compare.n_metrics", 2) == "2 metrics"
    assert V.level_text(0.95) == "95" and V.level_text(1 - 0.05 / 2) == "97.5"
    assert V.level_text(1 - 0.05 / 3) == "98.3" and V.level_text(1 - 0.05 / 27) == "99.8"
    assert math.isclose(float(V.level_text(1 - 0.05 / 3000)), 99.998)
