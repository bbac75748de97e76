"""Variants are versions; app functions; the CLI round trip on a small project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hyouka.api import Workspace
from hyouka.cli.main import cli
from tests.conftest import write_project

CFG = {
    "name": "versions",
    "samples": 2,
    "providers": {"fake": {"type": "echo", "reply": "A: {last} #{sample}"}},
    "variants": {"polite": {"provider": "fake", "prompt": "prompts/polite.j2"}},
}
CASES = [
    {"id": "c1", "vars": {"q": "返品できますか"}, "expected": "返品"},
    {"id": "c2", "vars": {"q": "送料は"}, "checks": [{"type": "contains", "value": "送料"}]},
]


def _project(tmp_path: Path) -> Path:
    root = write_project(tmp_path, CFG, CASES)
    (root / "prompts").mkdir()
    (root / "prompts" / "polite.j2").write_text("丁寧に: {{ q }}", encoding="utf-8")
    return root


def test_editing_a_prompt_makes_a_new_version_and_keeps_the_old(tmp_path: Path) -> None:
    root = _project(tmp_path)
    ws = Workspace.open(root)
    first = ws.run()
    (root / "prompts" / "polite.j2").write_text("簡潔に: {{ q }}", encoding="utf-8")
    ws = Workspace.open(root)
    second = ws.run()
    history = ws.variant_history("polite")
    assert len(history) == 2
    assert [h["n"] for h in history] == [4, 4]
    assert history[0]["version"] != history[1]["version"]
    assert history[0]["spec"]["messages"] == [["user", "丁寧に: {{ q }}"]]
    assert second.progress.cached == 0 and second.progress.calls == 4  # new version: new outputs
    _, old = ws.show(first.run.uid)
    assert old[0].version == history[0]["version"]


def test_params_model_and_provider_shape_the_version_but_timeouts_do_not(tmp_path: Path) -> None:
    from hyouka.config import load_config
    from hyouka.variants import resolve_variants

    root = _project(tmp_path)
    base = resolve_variants(load_config(root))[0].version
    for change, same in [({"params": {"temperature": 0.1}}, False), ({"model": "x"}, False)]:
        cfg = json.loads(json.dumps(CFG))
        cfg["variants"]["polite"].update(change)
        write_project(root, cfg)
        assert (resolve_variants(load_config(root))[0].version == base) is same
    cfg = json.loads(json.dumps(CFG))
    cfg["providers"]["fake"]["timeout"] = 5
    write_project(root, cfg)
    assert resolve_variants(load_config(root))[0].version == base


def test_app_function_gets_case_params_and_llm_and_returns_contexts(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "name": "app",
            "providers": {"fake": {"type": "echo", "reply": "LLM({last})"}},
            "variants": {"rag": {"app": "my_app:answer", "provider": "fake", "params": {"k": 2}}},
            "checks": [{"type": "hit-at-k", "k": 1}],
        },
        [{"id": "c1", "vars": {"q": "東京"}, "gold_ids": ["p2"]}],
    )
    (root / "my_app.py").write_text(
        "from hyouka.providers.python_app import AppResult\n"
        "def answer(case, params, ctx):\n"
        "    gen = ctx.generate_sync(f\"{case.vars['q']} k={params['k']}\")\n"
        "    return AppResult(output=gen.text, contexts=[{'id': 'p2', 'text': 'x'}])\n",
        encoding="utf-8",
    )
    ws = Workspace.open(root)
    result = ws.run()
    assert result.progress.errors == 0
    _, (summary,) = ws.show()
    assert summary.checks[("hit-at-k", "hit-at-k")].pass_rate == 1.0
    rows = list(__import__("hyouka.export", fromlist=["iter_rows"]).iter_rows(ws.store, result.run))
    assert rows[0]["output"] == "LLM(東京 k=2)"
    assert rows[0]["contexts"] == [{"id": "p2", "text": "x"}]


def test_app_exception_is_a_sample_error_not_a_crash(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {"name": "app", "variants": {"v": {"app": "bad:answer"}}},
        [{"id": "c1", "vars": {}}],
    )
    (root / "bad.py").write_text(
        "def answer(case):\n    raise RuntimeError('壊れた')\n", encoding="utf-8"
    )
    result = Workspace.open(root).run()
    assert result.progress.errors == 1 and result.run.status == "finished"


def test_cli_round_trip(tmp_path: Path) -> None:
    root = _project(tmp_path)
    runner = CliRunner()
    out = runner.invoke(cli, ["run", "-p", str(root), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["status"] == "finished" and data["variants"][0]["samples"] == 4
    checks = {c["check"]: c for c in data["variants"][0]["checks"]}
    assert checks["contains"]["pass_rate"] == 1.0 and checks["contains"]["n"] == 2
    out = runner.invoke(cli, ["runs", "-p", str(root), "--json"])
    assert json.loads(out.output)[0]["n_samples"] == 4
    out = runner.invoke(cli, ["show", "-p", str(root)])
    assert "polite" in out.output and "contains" in out.output
    for fmt in ("jsonl", "csv", "parquet"):
        target = tmp_path / f"out.{fmt}"
        out = runner.invoke(cli, ["export", "-p", str(root), "-o", str(target)])
        assert out.exit_code == 0 and "wrote 4 samples" in out.output
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["output"] == "A: 丁寧に: 返品できますか #0"
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "out.parquet").num_rows == 4
    out = runner.invoke(cli, ["variants", "-p", str(root), "--history", "polite"])
    assert out.exit_code == 0 and "yes" in out.output
    out = runner.invoke(cli, ["show", "nope", "-p", str(root)])
    assert out.exit_code == 2 and "no run 'nope'" in out.output


@pytest.mark.parametrize("example", ["starter", "support-en", "rag-ja"])
def test_init_examples_produce_valid_projects(tmp_path: Path, example: str) -> None:
    from hyouka.config import load_config
    from hyouka.runner.run import load_datasets
    from hyouka.scorers.engine import compile_checks
    from hyouka.variants import resolve_variants

    out = CliRunner().invoke(cli, ["init", str(tmp_path / example), "--example", example])
    assert out.exit_code == 0, out.output
    project = load_config(tmp_path / example)
    assert resolve_variants(project)
    datasets, bad = load_datasets(project, None, False)
    assert bad == [] and all(ds.cases for ds in datasets)
    compile_checks(project)
    assert (tmp_path / example / "hyouka.schema.json").exists()
