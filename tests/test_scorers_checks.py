"""Every deterministic check on real values, with the Japanese pitfalls (japanese-eval.md §3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hyouka.api import Workspace
from hyouka.datasets import Case
from hyouka.scorers import registry
from hyouka.scorers.base import CheckResult, SampleView
from hyouka.scorers.engine import compile_checks, run_check, score_row
from hyouka.store.schema import cases, samples, scores
from tests.conftest import write_project


def case(expected: Any = None, **kw: Any) -> Case:
    exp = (
        None
        if expected is None
        else (tuple(expected) if isinstance(expected, list) else (expected,))
    )
    return Case(id="c1", vars={"q": "質問"}, expected=exp, **kw)


def score(check: dict[str, Any], output: str, **view: Any) -> CheckResult:
    built = registry.build(check)
    return run_check(built, SampleView(output=output, case=view.pop("case", case()), **view))


def passed(check: dict[str, Any], output: str, **view: Any) -> bool | None:
    return score(check, output, **view).passed


# -- text checks -------------------------------------------------------------------------------


def test_equals_normalises_full_width_and_spaces() -> None:
    assert passed({"type": "equals", "value": "東京"}, "東京") is True
    assert passed({"type": "equals", "value": "123"}, "１２３") is True
    assert passed({"type": "equals", "value": "東京"}, "  東京 ") is True
    result = score({"type": "equals", "value": "東京"}, "東京都")
    assert (result.value, result.passed, result.reason) == (0.0, False, "output is not '東京'")


def test_contains_finds_full_width_digits() -> None:
    result = score({"type": "contains", "value": "123"}, "合計は１２３円です")
    assert (result.value, result.passed, result.reason) == (1.0, True, "found: '123'")
    assert passed({"type": "contains", "value": "返金"}, "払い戻しします") is False


def test_wave_dash_and_fullwidth_tilde_are_the_same() -> None:
    # 〜 (U+301C) and ～ (U+FF5E) mix in real Japanese text; NFKC alone keeps them apart.
    assert passed({"type": "equals", "value": "5〜9"}, "5～9") is True
    assert passed({"type": "contains", "value": "10時〜18時"}, "営業時間は10時～18時です") is True
    assert passed({"type": "equals", "value": "5〜9", "normalize": "strict"}, "5～9") is False


def test_trailing_kuten_matters_unless_a_normaliser_strips_it() -> None:
    assert passed({"type": "equals", "value": "東京"}, "東京。") is False
    assert passed({"type": "equals", "value": "東京", "normalize": "loose"}, "「東京。」") is True
    assert score({"type": "char-f1"}, "東京。", case=case("東京")).value == pytest.approx(0.8)


def test_icontains_ignores_case_and_contains_does_not() -> None:
    assert passed({"type": "icontains", "value": "REFUND"}, "Your refund is ready") is True
    assert passed({"type": "contains", "value": "REFUND"}, "Your refund is ready") is False
    assert passed({"type": "icontains", "value": "ＡＢＣ"}, "abc") is True  # NFKC, then casefold


def test_contains_any_and_all() -> None:
    anyc = {"type": "contains-any", "value": ["返金", "払い戻し"]}
    allc = {"type": "contains-all", "value": ["注文番号", "お届け日"]}
    assert score(anyc, "払い戻しを承りました").reason == "found: ['払い戻し']"
    assert passed(anyc, "交換します") is False
    assert passed(allc, "注文番号は1、お届け日は明日") is True
    result = score(allc, "注文番号は1です")
    assert (result.passed, result.reason) == (False, "missing: ['お届け日']")


def test_starts_with_ignores_leading_whitespace() -> None:
    assert (
        passed({"type": "starts-with", "value": "お問い合わせ"}, "  お問い合わせありがとう") is True
    )
    assert passed({"type": "starts-with", "value": "お問い合わせ"}, "本日はお問い合わせ") is False


def test_regex_searches_raw_text_unless_normalised() -> None:
    check = {"type": "regex", "value": r"\d{3}-\d{4}"}
    result = score(check, "〒100-0001 東京都")
    assert (result.passed, result.reason) == (True, "matched '100-0001'")
    assert passed(check, "〒１００－０００１") is False  # full-width digits and hyphen
    assert passed({**check, "normalize": "default"}, "〒１００－０００１") is True


def test_levenshtein_value_is_the_distance_to_the_closest_reference() -> None:
    result = score({"type": "levenshtein", "value": "東京都", "threshold": 2}, "東京")
    assert (result.value, result.passed) == (1.0, True)
    result = score({"type": "levenshtein"}, "大阪府", case=case(["大阪", "大阪府"]))
    assert (result.value, result.passed) == (0.0, True)
    far = score({"type": "levenshtein", "value": "abcdefgh"}, "zyxwvuts")  # default limit 5
    assert (far.value, far.passed) == (8.0, False)
    assert score({"type": "levenshtein"}, "x").status == "skipped"  # nothing to compare with


# -- JSON --------------------------------------------------------------------------------------


def test_is_json() -> None:
    assert score({"type": "is-json"}, '{"a": 1}').passed is True
    result = score({"type": "is-json"}, 'answer: {"a": 1}')
    assert result.passed is False and result.reason == "not JSON: Expecting value at column 1"
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    result = score({"type": "is-json", "value": schema}, '{"a": "x"}')
    assert result.passed is False and result.reason == "schema: a: 'x' is not of type 'integer'"


def test_contains_json_finds_json_in_a_code_block() -> None:
    text = '答えです。\n```json\n{"answer": "東京"}\n```'
    assert score({"type": "contains-json"}, text).passed is True
    assert score({"type": "contains-json"}, "JSON はありません").passed is False
    schema = {"type": "object", "required": ["city"]}
    result = score({"type": "contains-json", "value": schema}, text)
    assert result.reason == "schema: (root): 'city' is a required property"


def test_json_schema() -> None:
    check = {"type": "json-schema", "value": {"type": "object", "required": ["answer"]}}
    assert score(check, '{"answer": 1}').passed is True
    assert score(check, 'x {"answer": 1} y').passed is True
    assert score(check, '{"x": 1}').reason == "schema: (root): 'answer' is a required property"
    with pytest.raises(ValueError, match="needs a schema"):
        registry.build({"type": "json-schema"})
    with pytest.raises(ValueError, match="invalid JSON Schema"):
        registry.build({"type": "json-schema", "value": {"type": "nonsense"}})


# -- latency, cost, python ---------------------------------------------------------------------


def test_latency_and_cost_thresholds() -> None:
    lat = {"type": "latency", "threshold": 3000}
    result = score(lat, "x", latency_ms=2500.0)
    assert (result.value, result.passed, result.reason) == (2500.0, True, "2500 ms (limit 3000)")
    assert score(lat, "x", latency_ms=3500.0).passed is False
    assert score(lat, "x").status == "skipped"
    # latency and cost still score a failed sample: a timeout is slow
    assert score(lat, "", latency_ms=9000.0, status="timeout").passed is False
    cost = {"type": "cost", "threshold": 0.002}
    assert score(cost, "x", cost=0.001).passed is True
    assert score(cost, "x", cost=0.003).passed is False
    with pytest.raises(ValueError, match="needs a 'threshold'"):
        registry.build({"type": "latency"})


def test_python_check_returns_bool_number_or_dict(tmp_path: Path) -> None:
    (tmp_path / "my_checks_mod.py").write_text(
        "def polite(output, ctx):\n"
        "    return {'pass': 'です' in output, 'score': 0.8, 'reason': ctx['expected'][0]}\n"
        "def share(output, ctx):\n"
        "    return len(output) / 10\n"
        "def yes(output, ctx):\n"
        "    return output.startswith('は')\n"
        "def broken(output, ctx):\n"
        "    raise RuntimeError('boom')\n",
        encoding="utf-8",
    )
    root = str(tmp_path)
    result = score({"type": "python", "value": "my_checks_mod:polite", "root": root}, "そうです",
                   case=case("参照"))  # fmt: skip
    assert (result.value, result.passed, result.reason) == (0.8, True, "参照")
    share = {"type": "python", "value": "my_checks_mod:share", "root": root}
    assert (score(share, "abc").value, score(share, "abc").passed) == (0.3, False)
    assert score({**share, "threshold": 0.2}, "abc").passed is True
    assert (
        score({"type": "python", "value": "my_checks_mod:yes", "root": root}, "はい").value == 1.0
    )
    broken = score({"type": "python", "value": "my_checks_mod:broken", "root": root}, "x")
    assert (broken.status, broken.reason) == ("error", "RuntimeError: boom")
    with pytest.raises(ValueError, match="has no function 'missing'"):
        registry.build({"type": "python", "value": "my_checks_mod:missing", "root": root})


# -- not-, threshold, weight, metric -----------------------------------------------------------


def test_not_prefix_flips_yes_no_and_keeps_measured_values() -> None:
    result = score({"type": "not-contains", "value": "AIとして"}, "AIとしてお答えします")
    assert (result.value, result.passed, result.reason) == (
        0.0,
        False,
        "negated: found: 'AIとして'",
    )
    assert passed({"type": "not-contains", "value": "AIとして"}, "お答えします") is True
    measured = score({"type": "not-levenshtein", "value": "東京都", "threshold": 2}, "東京")
    assert (measured.value, measured.passed) == (1.0, False)  # the distance stays 1
    with pytest.raises(ValueError, match="cannot be negated"):
        registry.build({"type": "not-judge-rubric", "judge": "x"})


def test_threshold_weight_and_metric_reach_the_score_row() -> None:
    check = registry.build({"type": "char-f1", "threshold": 0.8, "weight": 2, "metric": "正確さ"})
    result = run_check(check, SampleView(output="東京。", case=case("東京")))
    assert result.value == pytest.approx(0.8) and result.passed is True
    row = score_row(check, result)
    assert (row["metric"], row["weight"], row["check_name"]) == ("正確さ", 2.0, "char-f1")
    assert row["params"]["threshold"] == 0.8 and len(row["params_hash"]) == 16
    other = registry.build({"type": "char-f1", "threshold": 0.9})
    assert other.params_hash != check.params_hash


def test_multi_reference_char_f1_takes_the_best_reference() -> None:
    result = score({"type": "char-f1"}, "東京都", case=case(["大阪", "東京都庁"]))
    assert result.value == pytest.approx(6 / 7)  # 3 shared chars: P = 1, R = 3/4
    assert score({"type": "char-f1"}, "京東", case=case("東京")).value == 1.0  # order-free
    assert score({"type": "exact-match"}, "東京", case=case(["大阪", "東京"])).passed is True


def test_failed_samples_are_skipped_not_failed() -> None:
    result = score({"type": "contains", "value": "x"}, "", status="error")
    assert (result.status, result.value, result.passed) == ("skipped", None, None)


def test_unknown_type_suggests_the_closest_names() -> None:
    with pytest.raises(ValueError, match="did you mean contains"):
        registry.build({"type": "contain", "value": "x"})


# -- global, per-dataset and per-case checks in a run ------------------------------------------


def test_global_dataset_and_case_checks_apply_where_configured(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "faq.jsonl").write_text(
        '{"id": "f1", "vars": {"q": "営業時間"}}\n', encoding="utf-8"
    )
    cfg = {
        "name": "where",
        "providers": {"e": {"type": "echo"}},
        "variants": {"v": {"provider": "e", "prompt": "回答: {{ q }}"}},
        "datasets": {
            "main": "data/cases.jsonl",
            "faq": {"path": "data/faq.jsonl", "checks": [{"type": "contains", "value": "営業"}]},
        },
        "checks": [{"type": "starts-with", "value": "回答"}],
    }
    rows = [
        {"id": "m1", "vars": {"q": "東京"}, "checks": [{"type": "equals", "value": "回答: 東京"}]},
        {"id": "m2", "vars": {"q": "大阪"}},
    ]
    ws = Workspace.open(write_project(tmp_path, cfg, rows))
    ws.run()
    with ws.store.engine.connect() as conn:
        got = conn.execute(
            select(cases.c.case_key, scores.c.check_name, scores.c.passed)
            .join(samples, samples.c.id == scores.c.sample_id)
            .join(cases, cases.c.id == samples.c.case_id)
            .order_by(cases.c.case_key, scores.c.check_name)
        ).all()
    assert [tuple(r) for r in got] == [
        ("f1", "contains", True), ("f1", "starts-with", True),
        ("m1", "equals", True), ("m1", "starts-with", True),
        ("m2", "starts-with", True),
    ]  # fmt: skip
    checkset = compile_checks(ws.project)
    assert [c.spec.origin for c in checkset.dataset_checks["faq"]] == ["dataset:faq"]


def test_ja_ratio_threshold_zero_is_zero_not_the_default() -> None:
    # `threshold: 0` means "any output passes"; it once became the default 0.5.
    english = score({"type": "ja-ratio", "threshold": 0}, "Tokyo is the capital.")
    assert (english.value, english.passed) == (0.0, True)
    assert passed({"type": "ja-ratio"}, "Tokyo is the capital.") is False  # default 0.5
    assert passed({"type": "ja-ratio"}, "東京です。") is True
