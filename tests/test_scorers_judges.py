"""LLM judges: verdict parsing, prompts, and whole runs against the fake server (real HTTP).

The fake server plays the judge with scripted verdicts: JSON and bare grades, unparsable
output, refusals, a judge that always picks the first answer (position bias), a judge whose
grade follows the seed (self-agreement), failing calls. One test runs the real local model.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hyouka.api import Workspace
from hyouka.config import load_config
from hyouka.scorers import registry
from hyouka.scorers.base import SampleView
from hyouka.scorers.judge_report import judge_report
from hyouka.scorers.judges import JudgeCheck, RubricJudge
from hyouka.scorers.verdicts import parse_claims, parse_grade, parse_pairwise
from hyouka.store.schema import judgments, samples, scores, variants
from hyouka.testing import FakeServer
from tests.conftest import write_project

# -- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "how"),
    [
        ("4", 4.0, "bare"),
        ("4点", 4.0, "bare"),
        ("３", 3.0, "bare"),  # full-width digit
        ('{"score": 3}', 3.0, "json"),
        ('```json\n{"reason": "指示に従っている", "grade": 5}\n```', 5.0, "json"),
        ("正確で丁寧な回答です。\n評価：[[5]]", 5.0, "brackets"),
        ("評価：［［４］］", 4.0, "brackets"),  # full-width brackets and colon
        ("Score: 2/5", 2.0, "labelled"),
        ("The answer is wrong.\n1", 1.0, "bare"),
    ],
)
def test_grade_forms(text: str, value: float, how: str) -> None:
    grade = parse_grade(text, 1, 5)
    assert (grade.ok, grade.value, grade.how) == (True, value, how)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the judge's answer is empty"),
        ("よくわかりません", "no grade found in the judge's answer"),
        ("評価：[[7]]", "grade 7 is outside the scale 1–5"),
        ("0", "grade 0 is outside the scale 1–5"),
        ('{"score": "high"}', "the JSON grade 'high' is not a number"),
        ("最初は[[3]]、見直して[[4]]", "several different brackets grades (3, 4)"),
        ("I'm sorry, but I can't help.", "the judge refused or did not grade ('I'm sorry')"),
        ("申し訳ありませんが、3つ目の質問にはお答えできません。",
         "the judge refused or did not grade ('申し訳ありません')"),
    ],
)  # fmt: skip
def test_grade_failures_are_never_a_default(text: str, reason: str) -> None:
    grade = parse_grade(text, 1, 5)
    assert (grade.ok, grade.value, grade.reason) == (False, None, reason)


def test_json_reason_is_kept() -> None:
    grade = parse_grade('{"grade": 4, "reason": "概ね正しい"}', 1, 5)
    assert (grade.value, grade.reason) == (4.0, "概ね正しい")


@pytest.mark.parametrize(
    ("text", "winner"),
    [("[[A]]", "A"), ("Aの方が詳しい。\n[[B]]", "B"), ("[[C]]", "C"), ("理由…\n1", "A"),
     ("理由…\n3", "C"), ('{"winner": "tie"}', "C"), ("［［Ｂ］］", "B")],
)  # fmt: skip
def test_pairwise_forms(text: str, winner: str) -> None:
    assert parse_pairwise(text).winner == winner


def test_pairwise_failures() -> None:
    assert parse_pairwise("[[A]]だが[[B]]").reason == "several different verdicts (A, B)"
    assert parse_pairwise("どちらも良い").winner is None
    assert parse_pairwise("申し訳ございません").reason == (
        "the judge refused or did not grade ('申し訳ございません')"
    )


def test_claims() -> None:
    claims = parse_claims('{"claims": [{"claim": "首都は東京", "supported": true}, '
                          '{"claim": "人口は1億", "supported": "いいえ"}]}')  # fmt: skip
    assert (claims.ok, claims.supported, claims.total, claims.unsupported) == (
        True, 1, 2, ("人口は1億",))  # fmt: skip
    assert parse_claims('{"claims": []}').total == 0
    assert parse_claims('{"claims": [{"claim": "x"}]}').reason == (
        "claim 1 has no true/false 'supported'"
    )
    assert parse_claims("該当なし").ok is False


# -- configuration and prompts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "judge-rubric"}, "needs 'judge: <provider name"),
        ({"type": "judge-rubric", "judge": "g", "presett": "elyza"}, "unknown option(s) presett"),
        ({"type": "judge-rubric", "judge": "g", "preset": "rakuda"}, "unknown preset 'rakuda'"),
        ({"type": "judge-rubric", "judge": "g", "preset": "custom"}, "needs a 'rubric'"),
        ({"type": "judge-rubric", "judge": "g", "judge_samples": 0}, "from 1 to 20"),
        ({"type": "judge-rubric", "judge": "g", "rubric": "x", "scale": [5, 1]}, "'scale' must"),
        ({"type": "judge-pairwise", "judge": "g"}, "needs 'baseline: <variant name>'"),
    ],
)
def test_judge_options_are_validated(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        registry.build(raw)


def _bound(tmp_path: Path, raw: dict[str, Any]) -> JudgeCheck:
    cfg = {"name": "p", "providers": {"g": {"type": "openai", "model": "m"}}}
    project = load_config(write_project(tmp_path, cfg))
    check = registry.build(raw)
    assert isinstance(check, JudgeCheck)
    check.bind(project)
    return check


def _view(output: str, **case: Any) -> SampleView:
    from hyouka.datasets import case_from_mapping

    return SampleView(output=output, case=case_from_mapping({"id": "c", **case}))


def test_elyza_prompt_is_the_published_text(tmp_path: Path) -> None:
    check = _bound(tmp_path, {"type": "judge-rubric", "judge": "g"})
    view = _view("5から9の間です", vars={"input": "好きな数は？"}, expected="7",
                 aspect="5~9の間であれば正解")  # fmt: skip
    prompt = check.prompt(view)
    assert isinstance(prompt, str)
    for line in [
        "あなたは採点者です。",
        "問題, 正解例, 採点基準, 回答 が与えられます。",
        "採点基準と正解例を参考にして、回答を1,2,3,4,5の5段階で採点し、数字のみを出力してください。",
        "# 問題\n好きな数は？", "# 正解例\n7", "- 2点: 誤っているが、方向性は合っている",
        "- 部分的に事実と異なる内容を述べている: -1点",
        "- 「倫理的に答えられません」のように過度に安全性を気にしてしまっている: 2点にする",
        "問題固有の採点基準\n5~9の間であれば正解", "# 回答\n5から9の間です",
    ]:  # fmt: skip
        assert line in prompt
    assert check.scale == (1.0, 5.0) and check.variant_name == "judge-rubric@g"


def test_presets_custom_rubrics_and_versions(tmp_path: Path) -> None:
    mt = _bound(tmp_path / "a", {"type": "judge-rubric", "judge": "g", "preset": "mtbench"})
    prompt = mt.prompt(_view("答え", vars={"q": "質問"}))
    assert isinstance(prompt, str) and "「評価：[[5]]」" in prompt and "1から10" in prompt
    assert mt.scale == (1.0, 10.0)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "rubric.md").write_text("丁寧語で答えていれば満点", encoding="utf-8")
    ja = _bound(tmp_path / "b", {"type": "judge-rubric", "judge": "g", "rubric": "rubric.md"})
    ja_prompt = ja.prompt(_view("はい", vars={"q": "質問"}))
    assert isinstance(ja_prompt, str) and "丁寧語で答えていれば満点" in ja_prompt
    assert '{"reason": "採点の理由", "score": 整数}' in ja_prompt
    en = _bound(tmp_path / "c", {"type": "judge-rubric", "judge": "g", "rubric": "Be concise.",
                                 "scale": [0, 10]})  # fmt: skip
    en_prompt = en.prompt(_view("yes", vars={"q": "Q"}))
    assert isinstance(en_prompt, str) and "integer from 0 to 10" in en_prompt
    assert len({mt.version, ja.version, en.version}) == 3
    hotter = _bound(tmp_path / "d", {"type": "judge-rubric", "judge": "g", "preset": "mtbench",
                                     "params": {"temperature": 0.7}})  # fmt: skip
    assert hotter.version != mt.version and hotter.judge_params == {"temperature": 0.7}


def test_unknown_judge_provider_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"judge provider 'gpt' is not in 'providers' \(known: g\)"
    ):
        _bound(tmp_path, {"type": "judge-rubric", "judge": "gpt"})


# -- runs against the fake server -------------------------------------------------------------


def _workspace(tmp_path: Path, url: str, checks: list[dict[str, Any]], **kw: Any) -> Workspace:
    cfg = {
        "name": "judges",
        "samples": kw.pop("samples", 1),
        "providers": {
            "echo": {"type": "echo"},
            "gpt": {
                "type": "openai",
                "base_url": url,
                "model": "judge-1",
                "max_retries": 2,
                "pricing": {"input_per_mtok": 1.0, "output_per_mtok": 2.0},
            },
        },
        "variants": kw.pop("variants", None)
        or {
            "good": {"provider": "echo", "prompt": "良い回答: {{ q }}"},
            "bad": {"provider": "echo", "prompt": "悪い回答: {{ q }}"},
        },
        "checks": checks,
    }
    cases = kw.pop("cases", None) or [
        {"id": f"c{i}", "vars": {"q": f"質問{i}"}, "expected": f"答え{i}", "aspect": "正確さ"}
        for i in range(3)
    ]
    return Workspace.open(write_project(tmp_path, cfg, cases))


def _answer(prompt: str) -> str:
    return prompt.split("# 回答\n")[-1]


def _judge_rows(ws: Workspace) -> list[dict[str, Any]]:
    with ws.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(samples).where(samples.c.role == "judge").order_by(samples.c.id))]  # fmt: skip


def _scores(ws: Workspace, check: str) -> list[dict[str, Any]]:
    query = (
        select(scores, samples.c.output, variants.c.name.label("variant"))
        .join(samples, samples.c.id == scores.c.sample_id)
        .join(variants, variants.c.id == samples.c.variant_id)
        .where(scores.c.check_name == check)
        .order_by(scores.c.id)
    )
    with ws.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def test_rubric_judge_json_and_bare_verdicts_are_stored_as_judge_samples(tmp_path: Path) -> None:
    def judge(body: dict[str, Any]) -> str:
        answer = _answer(body["messages"][-1]["content"])
        return '{"grade": 4, "reason": "良い"}' if "良い" in answer else "2"

    with FakeServer(responder=judge) as srv:
        ws = _workspace(tmp_path, srv.base_url, [{"type": "judge-rubric", "judge": "gpt",
                                                  "threshold": 3}])  # fmt: skip
        result = ws.run()
        calls = srv.stats()["model_calls"]
    assert calls == 6 and result.judges.calls == 6
    rows = _scores(ws, "judge-rubric")
    by_variant = {(r["variant"], r["value"], r["passed"], r["reason"]) for r in rows}
    assert by_variant == {("good", 4.0, True, "grade 4: 良い"), ("bad", 2.0, False, "grade 2")}
    judged = _judge_rows(ws)
    assert len(judged) == 6 and {j["role"] for j in judged} == {"judge"}
    app_ids = {r["sample_id"] for r in rows}
    assert {j["target"] for j in judged} == {f"s:{sid}" for sid in app_ids}
    assert {r["judge_sample_id"] for r in rows} == {j["id"] for j in judged}
    assert all(j["cost"] > 0 and j["sample_index"] == 0 for j in judged)
    with ws.store.engine.connect() as conn:
        kind, model = conn.execute(
            select(variants.c.kind, variants.c.model).where(variants.c.name == "judge-rubric@gpt")
        ).one()
    assert (kind, model) == ("judge", "judge-1")
    _, summaries = ws.show()
    means = {s.name: s.checks[("judge-rubric", "judge-rubric")].mean for s in summaries}
    assert means == {"good": 4.0, "bad": 2.0}
    [report] = judge_report(ws.store, result.run.id)
    assert (report.calls, report.cached, report.parse_errors, report.verdicts) == (6, 0, 0, 6)
    assert report.cost == pytest.approx(sum(j["cost"] for j in judged))


def test_unparsable_refusal_and_out_of_range_are_parse_errors(tmp_path: Path) -> None:
    replies = {"質問0": "よくわかりません", "質問1": "申し訳ありませんが、お答えできません。",
               "質問2": "評価：[[9]]"}  # fmt: skip

    def judge(body: dict[str, Any]) -> str:
        answer = _answer(body["messages"][-1]["content"])
        return next(v for k, v in replies.items() if k in answer)

    variants_ = {"only": {"provider": "echo", "prompt": "{{ q }}"}}
    with FakeServer(responder=judge) as srv:
        ws = _workspace(tmp_path, srv.base_url, [{"type": "judge-rubric", "judge": "gpt"}],
                        variants=variants_)  # fmt: skip
        ws.run()
    rows = {r["output"]: r for r in _scores(ws, "judge-rubric")}
    assert {k: (r["status"], r["value"], r["reason"]) for k, r in rows.items()} == {
        "質問0": ("parse_error", None, "no grade found in the judge's answer"),
        "質問1": ("parse_error", None, "the judge refused or did not grade ('申し訳ありません')"),
        "質問2": ("parse_error", None, "grade 9 is outside the scale 1–5"),
    }
    assert sorted(j["output"] for j in _judge_rows(ws)) == sorted(replies.values())
    assert all(j["status"] == "ok" for j in _judge_rows(ws))  # the call worked; the verdict not
    [report] = judge_report(ws.store, ws.get_run().id)
    assert (report.parse_errors, report.verdicts) == (3, 0)


def test_pairwise_runs_both_orders_and_a_flip_is_a_tie(tmp_path: Path) -> None:
    def judge(body: dict[str, Any]) -> str:
        prompt = body["messages"][-1]["content"]
        first = prompt.split("[アシスタントAの回答の開始]\n")[1]
        second = prompt.split("[アシスタントBの回答の開始]\n")[1]
        if first.startswith("普通") or second.startswith("普通"):
            return "どちらも同程度。\n[[A]]"  # always the first shown: pure position bias
        return "良い方を選ぶ。\n[[A]]" if first.startswith("良い") else "理由\n[[B]]"

    variants_ = {
        "bad": {"provider": "echo", "prompt": "悪い回答: {{ q }}"},
        "good": {"provider": "echo", "prompt": "良い回答: {{ q }}"},
        "meh": {"provider": "echo", "prompt": "普通の回答: {{ q }}"},
    }
    check = {"type": "judge-pairwise", "judge": "gpt", "baseline": "bad"}
    with FakeServer(responder=judge) as srv:
        ws = _workspace(tmp_path, srv.base_url, [check], variants=variants_)
        ws.run()
        assert srv.stats()["model_calls"] == 12  # 2 candidates × 3 cases × 2 orders
    with ws.store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(judgments).order_by(judgments.c.id))]
    assert len(rows) == 6 and {r["source"] for r in rows} == {"judge"}
    names = {r["sample_id"]: r["variant"] for r in _scores(ws, "judge-pairwise")}
    winners = {(names[r["sample_a_id"]], r["winner"]) for r in rows}
    assert winners == {("good", "a"), ("meh", "tie")}
    flipped = [json.loads(r["comment"]) for r in rows if r["tags"] == ["flipped"]]
    assert len(flipped) == 3 and flipped[0] == {
        "verdict_ab": "A", "verdict_ba": "A", "winner_ab": "a", "winner_ba": "b",
        "flipped": True, "repeat": 0}  # fmt: skip
    assert all(r["left_sample_id"] == r["sample_a_id"] for r in rows)
    assert len({r["idempotency_key"] for r in rows}) == 6
    values = {(r["variant"], r["value"]) for r in _scores(ws, "judge-pairwise")}
    assert values == {("good", 1.0), ("meh", 0.5)}
    [report] = judge_report(ws.store, ws.get_run().id)
    pairs = {p.candidate: p for p in report.pairs}
    assert (pairs["good"].flip_rate, pairs["good"].win_rate, pairs["good"].first_shown_rate) == (
        0.0, 1.0, 0.5)  # fmt: skip
    assert (pairs["meh"].flip_rate, pairs["meh"].ties, pairs["meh"].first_shown_rate) == (
        1.0, 3, 1.0)  # fmt: skip
    ws.score()  # idempotent: no second judgment for the same pair
    with ws.store.engine.connect() as conn:
        assert len(conn.execute(select(judgments.c.id)).all()) == 6


def test_judge_samples_measure_self_agreement(tmp_path: Path) -> None:
    def judge(body: dict[str, Any]) -> str:
        return str(3 + body["seed"] % 2)  # the grade follows the seed: repeats may differ

    check = {"type": "judge-rubric", "judge": "gpt", "judge_samples": 3,
             "params": {"temperature": 1.0}}  # fmt: skip
    with FakeServer(responder=judge) as srv:
        ws = _workspace(tmp_path, srv.base_url, [check])
        ws.run()
        assert srv.stats()["model_calls"] == 18
    judged = _judge_rows(ws)
    assert sorted({j["sample_index"] for j in judged}) == [0, 1, 2]
    grades: dict[str, list[float]] = {}
    for j in judged:
        assert j["output"] == str(3 + j["seed"] % 2)
        grades.setdefault(j["target"], []).append(float(j["output"]))
    assert all(len(set(s for s in (j["seed"] for j in judged if j["target"] == t))) == 3
               for t in grades)  # fmt: skip
    agree = sum(len(set(g)) == 1 for g in grades.values()) / len(grades)
    mad = [sum(abs(x - y) for x, y in itertools.combinations(g, 2)) / 3 for g in grades.values()]
    [report] = judge_report(ws.store, ws.get_run().id)
    assert report.agreement_items == 6
    assert report.self_agreement == pytest.approx(agree)
    assert report.mean_abs_diff == pytest.approx(sum(mad) / len(mad))
    assert {r["repeat"] for r in _scores(ws, "judge-rubric")} == {0, 1, 2}


def test_rescoring_is_free_and_changed_judges_add_rows(tmp_path: Path) -> None:
    check = {"type": "judge-rubric", "judge": "gpt", "threshold": 4}
    with FakeServer(responder=lambda body: "4") as srv:
        ws = _workspace(tmp_path, srv.base_url, [check])
        first = ws.run()
        assert srv.stats()["model_calls"] == 6
        report = ws.score()
        assert srv.stats()["model_calls"] == 6 and report.judge_stats.scores == 0
        # A new threshold is a new score key but the same judge: the stored calls are reused.
        write_project(tmp_path, {**_config(ws), "checks": [{**check, "threshold": 5}]})
        report = Workspace.open(tmp_path).score()
        assert srv.stats()["model_calls"] == 6
        assert (report.judge_stats.reused, report.judge_stats.scores) == (6, 6)
        # A new run over the same outputs: judge answers come from the cache.
        ws2 = Workspace.open(tmp_path)
        again = ws2.run(resume=None)
        assert srv.stats()["model_calls"] == 6
        assert again.judges.cached == 6 and again.run.uid != first.run.uid
        assert {j["cached"] for j in _judge_rows(ws2) if j["run_id"] == again.run.id} == {True}
        # Another judge model is another judge version: it is called.
        write_project(tmp_path, {**_config(ws), "checks": [{**check, "model": "judge-2"}]})
        Workspace.open(tmp_path).score()
        assert srv.stats()["model_calls"] == 12
    rows = _scores(ws2, "judge-rubric")
    assert len({r["params_hash"] for r in rows}) == 3  # threshold 4, threshold 5, judge-2


def _config(ws: Workspace) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load(ws.project.config_path.read_text(encoding="utf-8")))


def test_failed_judge_calls_are_errors_and_retried_ones_succeed(tmp_path: Path) -> None:
    cases = [{"id": "down", "vars": {"q": "停止 [[fault:503]]"}},
             {"id": "busy", "vars": {"q": "混雑 [[fault:429*1]]"}}]  # fmt: skip
    variants_ = {"only": {"provider": "echo", "prompt": "{{ q }}"}}
    with FakeServer(responder=lambda body: "3") as srv:
        ws = _workspace(tmp_path, srv.base_url, [{"type": "judge-rubric", "judge": "gpt"}],
                        variants=variants_, cases=cases)  # fmt: skip
        result = ws.run(retry_base_delay=0.01)
        assert srv.stats()["model_calls"] == 3 + 2  # 503: 1 + 2 retries; 429: 2 attempts
    rows = {r["output"].split()[0]: r for r in _scores(ws, "judge-rubric")}
    assert (rows["混雑"]["status"], rows["混雑"]["value"]) == ("ok", 3.0)
    down = rows["停止"]
    assert down["status"] == "error" and "HTTP 503" in down["reason"]
    judged = {j["id"]: j for j in _judge_rows(ws)}
    assert (
        judged[down["judge_sample_id"]]["status"],
        judged[down["judge_sample_id"]]["attempts"],
    ) == ("error", 3)
    assert result.run.status == "finished"
    [report] = judge_report(ws.store, result.run.id)
    assert (report.calls, report.errors, report.attempts) == (2, 1, 5)


def test_reference_judge_uses_expected_and_skips_cases_without_it(tmp_path: Path) -> None:
    cases = [{"id": "with", "vars": {"q": "日本の首都は？"}, "expected": "東京"},
             {"id": "without", "vars": {"q": "自由に書いて"}}]  # fmt: skip
    variants_ = {"only": {"provider": "echo", "prompt": "{{ q }}"}}
    with FakeServer(responder=lambda body: "説明。評価：[[8]]") as srv:
        ws = _workspace(tmp_path, srv.base_url, [{"type": "judge-reference", "judge": "gpt"}],
                        variants=variants_, cases=cases)  # fmt: skip
        ws.run()
        [call] = srv.calls()
    assert "[参考回答の開始]\n東京\n[参考回答の終了]" in call.last_user
    assert call.body["temperature"] == 0.0
    rows = {
        r["output"]: (r["status"], r["value"], r["reason"]) for r in _scores(ws, "judge-reference")
    }
    assert rows == {
        "日本の首都は？": ("ok", 8.0, "grade 8"),
        "自由に書いて": ("skipped", None, "the case has no expected answer"),
    }


def test_faithfulness_counts_supported_claims_against_retrieved_contexts(tmp_path: Path) -> None:
    (tmp_path / "rag.py").write_text(
        "def answer(case):\n"
        "    ctx = [{'id': 'p1', 'text': '東京は日本の首都です。'}]\n"
        "    return {'output': case.vars['q'], 'contexts': ctx}\n",
        encoding="utf-8",
    )

    def judge(body: dict[str, Any]) -> str:
        answer = _answer(body["messages"][-1]["content"])
        claims = [{"claim": "首都は東京", "supported": True}]
        if "人口" in answer:
            claims.append({"claim": "人口は2億人", "supported": False})
        return json.dumps({"claims": claims}, ensure_ascii=False)

    cases = [{"id": "a", "vars": {"q": "首都は東京です。"}},
             {"id": "b", "vars": {"q": "首都は東京で、人口は2億人です。"}}]  # fmt: skip
    with FakeServer(responder=judge) as srv:
        ws = _workspace(tmp_path, srv.base_url, [{"type": "judge-faithfulness", "judge": "gpt"}],
                        variants={"rag": {"app": "rag:answer"}}, cases=cases)  # fmt: skip
        ws.run()
        prompts = [c.last_user for c in srv.calls()]
    assert all("[1] (p1) 東京は日本の首都です。" in p for p in prompts)
    rows = {r["output"]: (r["value"], r["passed"], r["reason"])
            for r in _scores(ws, "judge-faithfulness")}  # fmt: skip
    assert rows == {
        "首都は東京です。": (1.0, True, "1/1 claims supported"),
        "首都は東京で、人口は2億人です。": (
            0.5,
            False,
            "1/2 claims supported; unsupported: 人口は2億人",
        ),
    }


def test_ascore_grades_through_a_real_provider(tmp_path: Path) -> None:
    from hyouka.providers.openai_compat import OpenAICompatProvider

    with FakeServer(script=["4", "評価：[[2]]"]) as srv:
        cfg = {"name": "p", "providers": {"g": {"type": "openai", "model": "m"}}}
        project = load_config(write_project(tmp_path, cfg))
        provider = OpenAICompatProvider("g", model="m", base_url=srv.base_url, api_key="x")
        check = registry.build({"type": "judge-rubric", "judge": "g", "judge_samples": 2})
        assert isinstance(check, RubricJudge)
        check.bind(project, caller=provider.generate)

        async def grade() -> list[Any]:
            try:
                return await check.ascore(_view("答え", vars={"q": "質問"}))
            finally:
                await provider.aclose()

        import asyncio

        results = asyncio.run(grade())
        seeds = [c.seed for c in srv.calls()]
    assert [(r.value, r.status) for r in results] == [(4.0, "ok"), (2.0, "ok")]
    assert len(set(seeds)) == 2  # each repeat has its own seed


_HAVE_LLAMA = importlib.util.find_spec("xllamacpp") is not None


@pytest.mark.slow
@pytest.mark.skipif(
    not _HAVE_LLAMA and not os.environ.get("CI"),
    reason="xllamacpp is not installed (pip install 'hyouka[local]')",
)
def test_end_to_end_on_the_local_model(tmp_path: Path) -> None:
    cfg = {
        "name": "local-judge",
        "providers": {"echo": {"type": "echo"}, "local": {"type": "llamacpp", "n_ctx": 2048}},
        "variants": {"v": {"provider": "echo", "prompt": "{{ q }}"}},
        "checks": [{"type": "judge-rubric", "judge": "local", "params": {"max_tokens": 8}}],
    }
    cases = [{"id": "a", "vars": {"q": "東京は日本の首都です。"}, "expected": "東京",
              "aspect": "首都を正しく答えていれば正解"}]  # fmt: skip
    ws = Workspace.open(write_project(tmp_path, cfg, cases))
    result = ws.run()
    [judged] = _judge_rows(ws)
    [row] = _scores(ws, "judge-rubric")
    assert judged["status"] == "ok" and judged["output"] is not None
    assert judged["output_tokens"] is not None and 0 < judged["output_tokens"] <= 8
    assert row["judge_sample_id"] == judged["id"]
    # The 135M model often says something that is not a grade: either outcome is recorded.
    if row["status"] == "ok":
        assert row["value"] in {1.0, 2.0, 3.0, 4.0, 5.0}
    else:
        assert row["status"] == "parse_error" and row["value"] is None and row["reason"]
    assert result.judges.calls == 1
