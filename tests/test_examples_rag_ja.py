"""The example projects: the shipped files are valid, and the Japanese RAG app retrieves and
answers as measured.

Measured on the shipped subset (40 questions, 200 passages; fugashi 1.5 + unidic-lite 1.0.8):
BM25 hit@1 = 0.900, hit@5 = 0.975, MRR = 0.941; the extractive answer contains a reference
answer for 34 of 40 questions (0.85). The bounds below sit just under those figures, so a
change to tokenisation, indexing or sentence choice that loses two questions fails.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import sys
import unicodedata
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import hyouka
from hyouka.config import load_config
from hyouka.datasets import Case, load_dataset
from hyouka.errors import ProviderResponseError
from hyouka.providers.base import GenerateRequest
from hyouka.providers.echo import EchoProvider
from hyouka.providers.python_app import PythonAppProvider, import_app
from hyouka.scorers.metrics_retrieval import hit_at_k, mrr
from hyouka.variants import resolve_variants

pytest.importorskip("fugashi")
pytest.importorskip("unidic_lite")

EXAMPLES = Path(hyouka.__file__).parent / "examples"
RAG = EXAMPLES / "rag_ja"
SUPPORT = EXAMPLES / "support_en"
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_rag_ja_subset.py"
JSQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "jsquad" / "valid-v1.3.json"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@pytest.fixture(scope="module")
def rag_app() -> ModuleType:
    """rag_app.py imported the way hyouka imports it: from the project folder."""
    func = import_app("rag_app:answer", RAG)
    return sys.modules[func.__module__]


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    dataset = load_dataset("main", RAG / "data" / "cases.jsonl")
    dataset.raise_for_problems()
    return dataset.cases


def _run(provider: PythonAppProvider, case: Case, params: dict[str, Any]) -> Any:
    request = GenerateRequest(messages=(), params=params, seed=7, case=case.content())
    return asyncio.run(provider.generate(request))


# -- shipped files ---------------------------------------------------------------------------


def test_rag_ja_passages_and_cases_are_consistent(cases: list[Case]) -> None:
    passages = _jsonl(RAG / "data" / "passages.jsonl")
    by_id = {p["id"]: p for p in passages}
    assert len(passages) == 200 and len(by_id) == 200  # ids unique
    assert all(set(p) == {"id", "title", "text"} and p["text"] for p in passages)
    assert len(cases) == 40 and len({c.id for c in cases}) == 40
    for case in cases:
        assert case.gold_ids is not None and len(case.gold_ids) == 1
        gold = by_id[case.gold_ids[0]]
        assert case.id.startswith(gold["id"] + "q")  # traceable to the JSQuAD question
        assert case.expected and len(set(case.expected)) == len(case.expected)
        # JSQuAD answers are spans of their context (title [SEP] text): a wrong gold id would
        # break this.
        context = f"{gold['title']} [SEP] {gold['text']}"
        assert all(answer in context for answer in case.expected)
        assert case.aspect and "参照解答" in case.aspect
        assert case.checks[0]["type"] == "contains-any"


@pytest.mark.skipif(not JSQUAD.exists(), reason="the JSQuAD source file is not on this machine")
def test_rag_ja_subset_is_reproducible_from_the_script(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_rag_ja_subset", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(["--source", str(JSQUAD), "--out", str(tmp_path)])
    for name in ("passages.jsonl", "cases.jsonl"):
        assert (tmp_path / name).read_bytes() == (RAG / "data" / name).read_bytes()


@pytest.mark.parametrize("folder", [RAG, SUPPORT], ids=["rag-ja", "support-en"])
def test_example_project_loads_and_renders(folder: Path) -> None:
    project = load_config(folder)
    specs = resolve_variants(project)
    assert len(specs) == 3
    for name, dataset_config in project.config.datasets.items():
        dataset = load_dataset(name, project.resolve(dataset_config.path))
        dataset.raise_for_problems()
        for case in dataset.cases:
            for spec in specs:
                rendered = spec.render(case)  # every prompt template fills from every case
                assert all(m.content.strip() for m in rendered)
                if rendered:
                    assert str(case.vars["message"]) in rendered[-1].content


def test_support_en_cases_have_rules_and_rubrics() -> None:
    dataset = load_dataset("main", SUPPORT / "data" / "cases.jsonl")
    dataset.raise_for_problems()
    assert len(dataset.cases) == 10
    assert all(c.checks and c.aspect and c.expected for c in dataset.cases)
    assert load_config(SUPPORT).config.samples == 3


# -- retrieval ------------------------------------------------------------------------------


def test_bm25_puts_the_gold_passage_in_the_top_5(rag_app: ModuleType, cases: list[Case]) -> None:
    index = rag_app.load_index()
    rankings = [
        [hit.passage.id for hit in index.search(str(c.vars["question"]), 10)] for c in cases
    ]
    golds = [set(c.gold_ids or ()) for c in cases]
    n = len(cases)
    hit1 = sum(hit_at_k(r, g, 1) for r, g in zip(rankings, golds, strict=True)) / n
    hit5 = sum(hit_at_k(r, g, 5) for r, g in zip(rankings, golds, strict=True)) / n
    mean_rr = sum(mrr(r, g) for r, g in zip(rankings, golds, strict=True)) / n
    print(f"rag-ja BM25 on {n} questions: hit@1={hit1:.3f} hit@5={hit5:.3f} MRR@10={mean_rr:.3f}")
    assert hit5 >= 0.95
    assert hit1 >= 0.85
    assert mean_rr >= 0.90


def test_bm25_matches_across_width_and_case(rag_app: ModuleType) -> None:
    # NFKC + lower case before tokenising: full-width Latin in a question still matches.
    index = rag_app.load_index()
    question = "1899年、ルアンパバーン王国はどこの保護国となったか"
    wide = question.replace("1899", "１８９９")
    assert [h.passage.id for h in index.search(wide, 3)] == [
        h.passage.id for h in index.search(question, 3)
    ]
    assert rag_app.terms("ＧＯＯＧＬＥ検索") == rag_app.terms("google検索")


# -- answers ---------------------------------------------------------------------------------


def test_extractive_answers_contain_a_reference(rag_app: ModuleType, cases: list[Case]) -> None:
    provider = PythonAppProvider("extractive", rag_app.answer)
    params = {"mode": "extractive", "top_k": 5}
    found = 0
    for case in cases:
        generation = _run(provider, case, params)
        assert generation.contexts is not None and len(generation.contexts) == 5
        assert generation.text.endswith("。")  # a whole sentence of a passage
        found += any(_nfkc(a) in _nfkc(generation.text) for a in case.expected or ())
    print(f"rag-ja extractive: a reference answer in {found}/{len(cases)} answers")
    assert found / len(cases) >= 0.80


def test_extractive_answer_to_a_known_question(rag_app: ModuleType, cases: list[Case]) -> None:
    case = next(c for c in cases if c.id == "a10743p16q3")  # 「私はブルックナーの弟子…」
    generation = _run(PythonAppProvider("x", rag_app.answer), case, {"mode": "extractive"})
    assert "マーラー" in generation.text
    assert generation.contexts[0]["id"] == "a10743p16"


def test_llm_mode_prompts_with_the_retrieved_sentences(
    rag_app: ModuleType, cases: list[Case]
) -> None:
    # The echo model answers with the user message, so the output is the prompt itself.
    provider = PythonAppProvider("llm", rag_app.answer, llm=EchoProvider("echo"))
    case = cases[1]
    params = {"top_k": 3, "style": "detailed", "context": "sentences", "max_tokens": 8}
    generation = _run(provider, case, params)
    assert rag_app.STYLES["detailed"] in generation.text
    assert str(case.vars["question"]) in generation.text
    assert [c["id"] for c in generation.contexts] == [
        h.passage.id for h in rag_app.load_index().search(str(case.vars["question"]), 3)
    ]
    for n, context in enumerate(generation.contexts, start=1):
        assert f"[{n}] {context['title']}: {context['text']}" in generation.text
        assert context["text"].count("。") <= 1  # one sentence, not the passage


def test_llm_mode_without_a_provider_says_what_to_do(
    rag_app: ModuleType, cases: list[Case]
) -> None:
    provider = PythonAppProvider("llm", rag_app.answer)
    with pytest.raises(ProviderResponseError, match="add 'provider: local'"):
        _run(provider, cases[0], {"top_k": 3})


def test_rag_ja_extractive_variant_runs_end_to_end(tmp_path: Path) -> None:
    from hyouka.api import Workspace
    from hyouka.summary import summarize_run

    project = tmp_path / "rag"
    shutil.copytree(RAG, project, ignore=shutil.ignore_patterns("__pycache__"))
    ws = Workspace.open(project)
    try:
        result = ws.run(variants=["extractive"])
        (summary,) = summarize_run(ws.store, result.run.id)
    finally:
        ws.close()
    assert summary.samples == 40 and summary.errors == 0
    rates = {check: s.pass_rate for (check, _), s in summary.checks.items()}
    assert rates["hit-at-k"] == pytest.approx(39 / 40)
    assert rates["contains-any"] == pytest.approx(34 / 40)
    assert rates["ja-ratio"] == 1.0
