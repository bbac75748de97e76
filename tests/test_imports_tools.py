"""``hyouka import`` of files written by the real peer tools: promptfoo 0.123.1
(``promptfoo eval -o results.json``) and Inspect AI 0.3.285 (``.eval`` and ``.json`` logs), made
against hyouka's fake OpenAI server by scripts/make_import_fixtures.py (committed under
tests/fixtures/import/). The fake server answers "回答: <prompt>", so only q1 passes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import write_project
from sqlalchemy import select

from hyouka.api import Workspace
from hyouka.cli.main import cli
from hyouka.errors import HyoukaError
from hyouka.store import schema as t

FIXTURES = Path(__file__).parent / "fixtures" / "import"


def _stored(ws: Workspace, run_id: int) -> dict[tuple[str, str, int], dict[str, Any]]:
    """(variant, case id, sample index) -> the sample's fields and its scores by metric."""
    out: dict[tuple[str, str, int], dict[str, Any]] = {}
    with ws.store.engine.connect() as conn:
        rows = conn.execute(
            select(t.samples, t.variants.c.name, t.cases.c.case_key, t.cases.c.content)
            .join(t.variants, t.variants.c.id == t.samples.c.variant_id)
            .join(t.cases, t.cases.c.id == t.samples.c.case_id)
            .where(t.samples.c.run_id == run_id, t.samples.c.role == "app")
        ).all()
        for r in rows:
            scores = {
                m: v for m, v in conn.execute(
                    select(t.scores.c.metric, t.scores.c.value).where(t.scores.c.sample_id == r.id))
            }  # fmt: skip
            out[(r.name, r.case_key, r.sample_index)] = {
                "output": r.output, "status": r.status, "latency_ms": r.latency_ms,
                "input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
                "content": r.content, "scores": scores,
            }  # fmt: skip
    return out


@pytest.mark.parametrize("name", ["inspect_capitals.eval", "inspect_capitals.json"])
def test_inspect_logs(tmp_path: Path, name: str) -> None:
    ws = Workspace.open(write_project(tmp_path / "p", {"name": "insp"}))
    result = ws.imports.file(FIXTURES / name)
    assert (result.format, result.samples, result.scores) == ("inspect", 6, 12)
    assert result.variants == ["openai/fake-model"]
    assert result.dataset == "import-inspect_capitals"
    got = _stored(ws, result.run.id)
    assert sorted(got) == [("openai/fake-model", q, k) for q in ("q1", "q2", "q3") for k in (0, 1)]
    q1 = got[("openai/fake-model", "q1", 1)]
    assert q1["output"] == "回答: What is the capital of Japan? Tokyo"
    assert q1["content"]["vars"] == {"input": "What is the capital of Japan? Tokyo"}
    assert q1["content"]["expected"] == ["Tokyo"]
    assert q1["scores"] == {"includes": 1.0, "match": 1.0}
    assert (q1["input_tokens"], q1["output_tokens"]) == (11, 11)
    assert q1["latency_ms"] is not None and q1["latency_ms"] > 0
    q2 = got[("openai/fake-model", "q2", 0)]
    assert q2["output"] == "回答: 日本の首都は？" and q2["scores"] == {
        "includes": 0.0,
        "match": 0.0,
    }
    assert got[("openai/fake-model", "q3", 0)]["content"]["expected"] == ["4"]
    with ws.store.engine.connect() as conn:
        model = conn.execute(
            select(t.variants.c.model).where(t.variants.c.name == "openai/fake-model")
        ).scalar_one()
    assert model == "openai/fake-model"
    ws.close()


def test_the_eval_and_json_logs_of_one_eval_import_the_same_samples(tmp_path: Path) -> None:
    ws = Workspace.open(write_project(tmp_path / "p", {"name": "insp2"}))
    a = ws.imports.file(FIXTURES / "inspect_capitals.eval")
    b = ws.imports.file(FIXTURES / "inspect_capitals.json")
    assert a.run.uid != b.run.uid
    sa, sb = _stored(ws, a.run.id), _stored(ws, b.run.id)
    assert {k: (v["output"], v["scores"], v["content"]) for k, v in sa.items()} == {
        k: (v["output"], v["scores"], v["content"]) for k, v in sb.items()}  # fmt: skip
    ws.close()


def test_promptfoo_results(tmp_path: Path) -> None:
    cases = [{"id": "q1", "vars": {"id": "q1", "question": "What is the capital of Japan? Tokyo"}},
             {"id": "q2", "vars": {"id": "q2", "question": "日本の首都は？"}},
             {"id": "q3", "vars": {"id": "q3", "question": "What is 2 + 2?"}}]  # fmt: skip
    root = write_project(tmp_path / "p", {"name": "pf"}, cases)
    ws = Workspace.open(root)
    # matched by id in the project's dataset ("main"): the tests' `id` var
    result = ws.imports.file(FIXTURES / "promptfoo_results.json", dataset="main")
    assert (result.format, result.samples, result.matched) == ("promptfoo", 12, ["main"])
    assert result.variants == ["prompt-0", "prompt-1"] and result.dataset is None
    got = _stored(ws, result.run.id)
    assert sorted(got) == [(v, q, k) for v in ("prompt-0", "prompt-1")
                           for q in ("q1", "q2", "q3") for k in (0, 1)]  # fmt: skip
    q1 = got[("prompt-0", "q1", 1)]
    assert q1["output"] == "回答: Answer briefly: What is the capital of Japan? Tokyo"
    assert q1["scores"] == {"promptfoo": 1.0, "promptfoo-pass": 1.0, "promptfoo-contains": 1.0}
    assert (q1["input_tokens"], q1["output_tokens"]) == (15, 15)
    q3 = got[("prompt-1", "q3", 0)]
    assert q3["output"] == "回答: 質問に答えてください：What is 2 + 2?"
    assert q3["scores"] == {"promptfoo": 0.5, "promptfoo-pass": 0.0, "promptfoo-icontains": 0.0,
                            "promptfoo-javascript": 1.0}  # fmt: skip
    # the run's summary reads them like any run's scores (3 cases: too few to compare)
    _, summaries = ws.show(result.run.uid)
    means = {s.name: s.checks[("import", "promptfoo")].values for s in summaries}
    assert sorted(means["prompt-0"]) == [0.0, 0.0, 0.5, 0.5, 1.0, 1.0]
    ws.close()


def test_promptfoo_inline_cases_and_the_cli(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", {"name": "pf2"})
    runner = CliRunner()
    out = runner.invoke(
        cli, ["import", str(FIXTURES / "promptfoo_results.json"), "-p", str(root), "--lang", "ja"]
    )
    assert out.exit_code == 0, out.output
    assert "（promptfoo）を実行" in out.output and "サンプル 12 件" in out.output
    again = runner.invoke(cli, ["import", str(FIXTURES / "promptfoo_results.json"), "-p",
                                str(root)])  # fmt: skip
    assert again.exit_code == 0 and "was already imported (promptfoo" in again.output
    assert "nothing to do" in again.output


def test_broken_tool_files_are_clear_errors(tmp_path: Path) -> None:
    ws = Workspace.open(write_project(tmp_path / "p", {"name": "broken"}))
    cut = tmp_path / "cut.eval"
    cut.write_bytes((FIXTURES / "inspect_capitals.eval").read_bytes()[:3000])
    with pytest.raises(HyoukaError, match=r"cut\.eval: not a readable \.eval archive"):
        ws.imports.file(cut)
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(HyoukaError, match="neither a promptfoo result file nor an Inspect log"):
        ws.imports.file(other)
    as_pf = tmp_path / "inspect.json"
    shutil.copy(FIXTURES / "inspect_capitals.json", as_pf)
    with pytest.raises(HyoukaError, match=r"not a promptfoo result file: no 'results\.results'"):
        ws.imports.file(as_pf, format="promptfoo")
    ws.close()
