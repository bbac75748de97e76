"""``hyouka import`` of the generic JSONL / CSV format: real files, SQLite and PostgreSQL, the
CLI through click's CliRunner; stored values asserted row by row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner
from conftest import write_project
from sqlalchemy import func, select

from hyouka.api import Workspace, upgrade_schema
from hyouka.cli.main import cli
from hyouka.imports.importer import ImportProblems
from hyouka.store import schema as t
from hyouka.store.schema import imports
from hyouka.testing import FakeServer

CASES = [
    {"id": "q1", "vars": {"question": "capital of Japan?"}, "expected": "Tokyo"},
    {"id": "q2", "vars": {"question": "2+2?"}, "expected": "4"},
    {"id": "q3", "vars": {"question": "日本の首都は？"}, "expected": "東京"},
]


def _open(root: Path, url: str) -> Workspace:
    upgrade_schema(root, url)  # PostgreSQL is not upgraded on open; SQLite would be
    return Workspace.open(root, url)


def _config(**extra: Any) -> dict[str, Any]:
    return {
        "name": "imp",
        "providers": {"fake": {"type": "openai", "base_url": "http://127.0.0.1:9/v1"}},
        "variants": {"base": {"provider": "fake", "model": "m", "prompt": "Q: {{ question }}"}},
        **extra,
    }


def _jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                for r in rows),
        encoding="utf-8",
    )  # fmt: skip
    return path


ROWS = [
    {"id": "q1", "variant": "vendor", "output": "Tokyo", "latency_ms": 812.5, "input_tokens": 7,
     "output_tokens": 2, "cost": 0.001, "model": "vendor-m1",
     "scores": {"exact": 1, "ok": True},
     "judge_takes": [{"metric": "helpful", "take": 0, "value": 4, "raw": "Grade: 4"},
                     {"metric": "helpful", "take": 1, "value": 5, "raw": "Grade: 5"}]},
    {"id": "q1", "variant": "vendor", "sample": 1, "output": "It is Tokyo.",
     "scores": {"exact": 0}},
    {"id": "q2", "variant": "vendor", "output": "4",
     "judge_takes": [{"metric": "helpful", "value": 3, "raw": "3"},
                     {"metric": "helpful", "value": None, "raw": "no idea"}]},
    {"id": "q3", "variant": "other", "output": "東京です。", "scores": {"exact": None}},
]  # fmt: skip


def _count(ws: Workspace, table: Any) -> int:
    with ws.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_jsonl_import_stores_every_field_and_reimport_is_a_noop(
    tmp_path: Path, store_url: str
) -> None:
    root = write_project(tmp_path / "p", _config(), CASES)
    ws = _open(root, store_url)
    file = _jsonl(tmp_path / "out.jsonl", ROWS)
    result = ws.imports.file(file)
    assert not result.already
    assert (result.rows, result.samples, result.judge_takes) == (4, 4, 4)
    assert result.scores == 4 + 4  # exact×3 (one null), ok×1; 4 judge takes
    assert result.variants == ["other", "vendor"] and result.matched == ["main"]
    run = result.run
    assert run.status == "finished" and run.samples == 2
    assert run.config["import"]["format"] == "jsonl"
    assert run.config["import"]["content_hash"] == result.content_hash
    with ws.store.engine.connect() as conn:
        variants = {r.name: r for r in conn.execute(select(t.variants))}
        assert variants["vendor"].kind == "external" and variants["vendor"].model == "vendor-m1"
        assert variants["vendor"].spec == {
            "external": {"content_hash": result.content_hash, "format": "jsonl"}}  # fmt: skip
        assert variants["helpful@import"].kind == "judge"
        samples = {
            (r.variant_id, r.case_id, r.sample_index, r.target): r
            for r in conn.execute(select(t.samples).where(t.samples.c.run_id == run.id))
        }
        cases = {r.case_key: r.id for r in conn.execute(select(t.cases))}
        vid = variants["vendor"].id
        first = samples[(vid, cases["q1"], 0, "")]
        assert (first.output, first.latency_ms, first.input_tokens, first.output_tokens,
                first.cost, first.status, first.role) == (
                "Tokyo", 812.5, 7, 2, 0.001, "ok", "app")  # fmt: skip
        assert samples[(vid, cases["q1"], 1, "")].output == "It is Tokyo."
        jid = variants["helpful@import"].id
        take1 = samples[(jid, cases["q1"], 1, f"s:{first.id}")]
        assert (take1.role, take1.output) == ("judge", "Grade: 5")
        rows = conn.execute(
            select(t.scores.c.check_name, t.scores.c.metric, t.scores.c.repeat,
                   t.scores.c.value, t.scores.c.passed, t.scores.c.status,
                   t.scores.c.judge_sample_id)
            .where(t.scores.c.sample_id == first.id)
            .order_by(t.scores.c.metric, t.scores.c.repeat)
        ).all()  # fmt: skip
        judge0 = samples[(jid, cases["q1"], 0, f"s:{first.id}")].id
        assert [tuple(r) for r in rows] == [
            ("import", "exact", 0, 1.0, None, "ok", None),
            ("import-judge", "helpful", 0, 4.0, None, "ok", judge0),
            ("import-judge", "helpful", 1, 5.0, None, "ok", take1.id),
            ("import", "ok", 0, 1.0, True, "ok", None),
        ]
        q2 = samples[(vid, cases["q2"], 0, "")]
        q2_takes = conn.execute(
            select(t.scores.c.repeat, t.scores.c.value, t.scores.c.status)
            .where(t.scores.c.sample_id == q2.id).order_by(t.scores.c.repeat)
        ).all()  # fmt: skip
        assert [tuple(r) for r in q2_takes] == [(0, 3.0, "ok"), (1, None, "parse_error")]
        q3 = samples[(variants["other"].id, cases["q3"], 0, "")]
        q3_score = conn.execute(
            select(t.scores.c.status).where(t.scores.c.sample_id == q3.id)
        ).scalar_one()
        assert q3_score == "skipped"  # fmt: skip
    # self-agreement over the imported takes: q1 4 vs 5 (one item; q2 has one parsed take)
    (judge,) = ws.judges(run.uid)
    assert (judge.name, judge.verdicts, judge.parse_errors) == ("helpful@import", 3, 1)
    assert (judge.agreement_items, judge.agreeing, judge.mean_abs_diff) == (1, 0, 1.0)
    # the same file again: nothing stored, and it says so
    before = (_count(ws, t.samples), _count(ws, t.scores), _count(ws, t.runs))
    again = ws.imports.file(file)
    assert again.already and again.run.uid == run.uid and again.samples == 4
    assert (_count(ws, t.samples), _count(ws, t.scores), _count(ws, t.runs)) == before
    assert _count(ws, imports) == 1
    ws.close()


def test_bad_rows_are_reported_with_file_line_and_field_and_nothing_is_stored(
    tmp_path: Path, store_url: str
) -> None:
    root = write_project(tmp_path / "p", _config(), CASES)
    ws = _open(root, store_url)
    file = _jsonl(tmp_path / "bad.jsonl", [
        {"id": "q1", "variant": "v", "output": "fine"},
        {"id": "q9", "variant": "v", "output": "x"},
        {"id": "q2", "variant": "v", "output": 3},
        "{not json",
        {"id": "q2", "variant": "v", "output": "a", "scores": {"m": "high"}},
        {"id": "q2", "variant": "v", "output": "a", "colour": "red"},
        {"id": "q3", "variant": "v", "output": "a", "judge_takes": [{"metric": "h", "take": -1}]},
        {"id": "q3", "output": "no variant"},
        {"id": "q3", "variant": "v", "output": "ok", "latency_ms": -5},
        {"id": "q1", "variant": "v", "output": "again"},
    ])  # fmt: skip
    with pytest.raises(ImportProblems) as caught:
        ws.imports.file(file)
    err = caught.value
    shown = sorted(str(p) for p in err.problems)
    f = str(file)
    assert err.count == 9 and err.good == 1
    assert shown == sorted([
        f"{f}:2: id: no case 'q9' in dataset 'main'",
        f"{f}:3: output: must be text, not int",
        f"{f}:4: invalid JSON at column 2: Expecting property name enclosed in double quotes",
        f"{f}:5: scores.m: must be a number, true/false or null, not text",
        f"{f}:6: colour: unknown field (allowed: cost, expected, id, input_tokens, judge_takes, "
        "latency_ms, model, output, output_tokens, sample, scores, variant, vars)",
        f"{f}:7: judge_takes[0].take: must be a whole number 0 to 1000",
        f"{f}:8: variant: is missing (give it in every row, or pass --variant NAME)",
        f"{f}:9: latency_ms: must be ≥ 0 (got -5)",
        f"{f}:10: sample: variant 'v', case 'q1', sample 0 is given twice (in this file, or "
        "already in the run)",
    ])  # fmt: skip
    assert "nothing was imported" in str(err) and "--skip-bad-rows" in str(err)
    for table in (t.runs, t.samples, t.scores, t.variants, imports):
        assert _count(ws, table) == 0, table.name
    # the CLI: the same message, exit code 2, no traceback
    runner = CliRunner()
    out = runner.invoke(cli, ["import", str(file), "-p", str(root)], env={"HYOUKA_DATABASE_URL":
                        store_url})  # fmt: skip
    if out.exit_code != 2:  # the project's own store when the env var is not read
        pytest.fail(out.output)
    assert f"{f}:3: output: must be text, not int" in out.output
    assert "Traceback" not in out.output
    # --skip-bad-rows: the good ones, the rest counted with examples
    kept = ws.imports.file(file, skip_bad_rows=True)
    assert (kept.samples, kept.skipped, len(kept.problems)) == (1, 9, 9)
    assert _count(ws, t.samples) == 1
    ws.close()


def test_inline_vars_make_a_new_dataset_version_and_csv_reads_the_same(
    tmp_path: Path, sqlite_url: str
) -> None:
    root = write_project(tmp_path / "p", {"name": "inl"})
    ws = _open(root, sqlite_url)
    rows = [
        {"vars": {"question": "日本の首都は？"}, "variant": "prod", "output": "東京です。",
         "expected": "東京", "scores": {"thumb": 1}},
        {"vars": {"question": "2+2?"}, "variant": "prod", "output": "4", "id": "math-1"},
        {"vars": {"question": "日本の首都は？"}, "variant": "prod", "sample": 1, "output": "東京",
         "expected": "東京"},
    ]  # fmt: skip
    first = ws.imports.file(_jsonl(tmp_path / "prod.jsonl", rows))
    assert first.dataset == "import-prod" and first.matched == []
    with ws.store.engine.connect() as conn:
        (ds,) = conn.execute(select(t.datasets)).all()
        assert (ds.name, ds.n_cases) == ("import-prod", 2)
        contents = [c for (c,) in conn.execute(select(t.cases.c.content).order_by(t.cases.c.id))]
    assert contents[0]["vars"] == {"question": "日本の首都は？"}
    assert contents[0]["expected"] == ["東京"]
    assert contents[1]["id"] == "math-1"
    csv_file = tmp_path / "prod.csv"
    csv_file.write_text(
        "vars.question,variant,sample,output,expected,scores.thumb,judge_takes\n"
        "日本の首都は？,prod,0,東京です。,東京,1,\n"
        '2+2?,prod,0,4,,,"[{""metric"": ""h"", ""take"": 0, ""value"": 2, ""raw"": ""2""}]"\n'
        "日本の首都は？,prod,1,東京,東京,,\n",
        encoding="utf-8",
    )
    second = ws.imports.file(csv_file, dataset="import-prod")
    assert (second.samples, second.scores, second.judge_takes) == (3, 2, 1)
    with ws.store.engine.connect() as conn:
        # the first and third rows' case is the JSONL's (content-addressed); "2+2?" has no id
        # here, so it is another case: a second version of the dataset
        versions = conn.execute(select(t.datasets.c.n_cases).order_by(t.datasets.c.id)).all()
    assert [v for (v,) in versions] == [2, 2]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,variant,output,sample\nq1,v,x,one\n", encoding="utf-8")
    with pytest.raises(ImportProblems) as caught:
        ws.imports.file(bad)
    assert [str(p) for p in caught.value.problems] == [
        f"{bad}:2: sample: must be a whole number (got 'one')"]  # fmt: skip
    ws.close()


def test_imported_outputs_join_a_hyouka_run_and_are_scored_compared_and_campaigned(
    tmp_path: Path, store_url: str
) -> None:
    with FakeServer(responder=lambda body: "Tokyo, I think") as srv:
        cfg = _config(checks=[{"type": "contains", "value": "Tokyo"}])
        cfg["providers"]["fake"]["base_url"] = srv.base_url
        cases = [{"id": f"c{i}", "vars": {"question": f"q{i}"}} for i in range(8)]
        root = write_project(tmp_path / "p", cfg, cases)
        ws = _open(root, store_url)
        own = ws.run(samples=1)
        rows = [{"id": f"c{i}", "output": "Tokyo" if i < 2 else "Osaka"} for i in range(8)]
        file = _jsonl(tmp_path / "vendor.jsonl", rows)
        result = ws.imports.file(file, variant="vendor", run=own.run.uid)
        assert result.run.uid == own.run.uid and result.samples == 8
        # a variant name the run already has is refused
        with pytest.raises(ImportProblems, match="already has a variant 'base'"):
            ws.imports.file(file, variant="base", run=own.run.uid)
        report = ws.score(own.run.uid, judges=False)
        assert report.per_check == {"contains": 8}  # only the imported samples were missing
        compared = ws.compare("base", "vendor", run=own.run.uid)
        row = compared.first.metric("contains")
        assert (row.a.mean, row.b.mean, compared.first.n_cases) == (1.0, 0.25, 8)
        campaign = ws.campaigns.create("round-1", run=own.run.uid)
        assert len(campaign.variant_ids) == 2
        assert ws.campaigns.progress(campaign).items == 8
        html = ws.reports.build(run=own.run.uid)
        assert "vendor" in html
        # the gate: the imported vendor is significantly worse than base on `contains`
        gate = ws.feedback.gate("base", "vendor", run=own.run.uid, metrics=["contains"])
        assert not gate.passed and gate.candidate.label.startswith("vendor@")
        assert any("contains" in str(r) for r in gate.failures)
        ws.close()


class _Recorder:
    """A plugin judge provider that records its requests and answers a grade."""

    requests: ClassVar[list[Any]] = []

    @staticmethod
    def make(name: str, config: Any, env: Any) -> Any:
        from hyouka.providers.base import BaseProvider, Generation

        class Provider(BaseProvider):
            async def generate(self, request: Any) -> Generation:
                _Recorder.requests.append(request)
                return Generation(text=f"Grade: {3 + request.repeat}")

        return Provider(name)


def test_judge_requests_carry_case_sample_and_repeat(tmp_path: Path, sqlite_url: str) -> None:
    from hyouka.hookspecs import hookimpl
    from hyouka.plugins import register_plugin, unregister_plugin

    class Plugin:
        @staticmethod
        @hookimpl
        def register_providers(register: Any) -> None:
            register("recorder", _Recorder.make)

    cfg = _config(checks=[{"type": "judge-rubric", "judge": "rec", "judge_samples": 2}])
    cfg["providers"]["rec"] = {"type": "recorder", "model": "r"}
    root = write_project(tmp_path / "p", cfg, CASES)
    register_plugin(Plugin, name="import-recorder")
    try:
        ws = _open(root, sqlite_url)
        result = ws.imports.file(_jsonl(tmp_path / "o.jsonl", ROWS[:2]))
        _Recorder.requests.clear()
        ws.score(result.run.uid, concurrency=8)
    finally:
        unregister_plugin(Plugin)
    with ws.store.engine.connect() as conn:
        ids = {(r.sample_index): r.id for r in conn.execute(
            select(t.samples).where(t.samples.c.role == "app"))}  # fmt: skip
    seen = sorted((r.case["id"], r.sample_index, r.sample_id, r.repeat, r.target)
                  for r in _Recorder.requests)  # fmt: skip
    assert seen == sorted(
        ("q1", k, ids[k], rep, f"s:{ids[k]}") for k in (0, 1) for rep in (0, 1))  # fmt: skip
    (judge,) = [j for j in ws.judges(result.run.uid) if j.name != "helpful@import"]
    assert (judge.verdicts, judge.agreement_items, judge.agreeing) == (4, 2, 0)
    ws.close()


def test_cases_file_matches_ids_outside_the_config(tmp_path: Path, sqlite_url: str) -> None:
    """The flow of ``hyouka traces to-dataset cases.jsonl --samples prod.jsonl``: the cases
    file is not in hyouka.yaml; ``--cases`` matches the samples' ids in it."""
    root = write_project(tmp_path / "p", {"name": "tr"})
    cases = _jsonl(tmp_path / "cases.jsonl", CASES)
    prod = _jsonl(tmp_path / "prod.jsonl", [
        {"id": "q1", "variant": "prod", "sample": 0, "output": "Tokyo", "latency_ms": None,
         "input_tokens": 3, "output_tokens": 1, "cost": None, "model": "gpt-x"},
        {"id": "q2", "variant": "prod", "sample": 0, "output": "", "cost": None},
    ])  # fmt: skip
    ws = _open(root, sqlite_url)
    with pytest.raises(ImportProblems, match="pass --cases FILE"):
        ws.imports.file(prod)
    result = ws.imports.file(prod, cases=cases)
    assert (result.samples, result.matched, result.dataset) == (2, ["cases"], None)
    with ws.store.engine.connect() as conn:
        (ds,) = conn.execute(select(t.datasets)).all()
    assert (ds.name, ds.n_cases) == ("cases", 3)
    assert ws.imports.file(prod, cases=cases).already
    ws.close()
