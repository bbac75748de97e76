"""``hyouka score``: rescoring stored samples adds rows and never overwrites or regenerates."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from hyouka.api import Workspace
from hyouka.cli.main import cli
from hyouka.errors import HyoukaError, NotFoundError
from hyouka.store.schema import samples, scores
from hyouka.store.store import Store
from hyouka.testing import FakeServer
from tests.conftest import write_project

# kyoto carries its own check: 4 of the 12 samples (2 variants × 2 samples) get a ja-ratio row
CASES = [
    {"id": "tokyo", "vars": {"q": "東京"}, "expected": ["東京", "東京都"]},
    {"id": "osaka", "vars": {"q": "大阪"}, "expected": "大阪府"},
    {"id": "kyoto", "vars": {"q": "京都"}, "expected": "京都",
     "checks": [{"type": "ja-ratio", "threshold": 0.9}]},
]  # fmt: skip


def _config(checks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": "rescore",
        "samples": 2,
        "providers": {"e": {"type": "echo"}},
        "variants": {"plain": {"provider": "e", "prompt": "{{ q }}"},
                     "polite": {"provider": "e", "prompt": "{{ q }}です"}},
        "checks": checks,
        **extra,
    }  # fmt: skip


def _cases() -> list[dict[str, Any]]:
    return [dict(c) for c in CASES]


def _rows(ws: Workspace) -> list[tuple[Any, ...]]:
    with ws.store.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(
                    scores.c.sample_id,
                    scores.c.check_name,
                    scores.c.params_hash,
                    scores.c.value,
                    scores.c.passed,
                ).order_by(scores.c.sample_id, scores.c.check_name, scores.c.params_hash)
            )
        ]


def _count(ws: Workspace, table: Any) -> int:
    with ws.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_rescoring_adds_rows_for_changed_parameters_and_keeps_old_ones(tmp_path: Path) -> None:
    ws = Workspace.open(write_project(tmp_path, _config([{"type": "contains", "value": "です"}]),
                                      _cases()))  # fmt: skip
    ws.run()
    n_samples = _count(ws, samples)
    assert n_samples == 12 and _count(ws, scores) == 12 + 4  # + ja-ratio on kyoto's 4 samples
    before = _rows(ws)
    report = ws.score()
    assert (report.written, report.existing, report.samples) == (0, 16, 12)
    assert _rows(ws) == before
    # change the value: a new params hash, 12 new rows; the old 12 stay untouched
    write_project(tmp_path, _config([{"type": "contains", "value": "東"}]))
    report = Workspace.open(tmp_path).score()
    assert (report.written, report.existing, report.per_check) == (12, 4, {"contains": 12})
    after = _rows(ws)
    assert set(before) <= set(after) and len(after) == 28
    new = [r for r in after if r not in before]
    assert sorted(r[4] for r in new) == [False] * 8 + [True] * 4  # only the tokyo samples
    assert _count(ws, samples) == n_samples  # nothing was generated again
    # show counts the newest row per (sample, check, metric)
    _, summaries = Workspace.open(tmp_path).show()
    assert {s.name: s.checks[("contains", "contains")].pass_rate for s in summaries} == {
        "plain": pytest.approx(1 / 3), "polite": pytest.approx(1 / 3)}  # fmt: skip


def test_check_filter_and_new_checks(tmp_path: Path) -> None:
    ws = Workspace.open(write_project(tmp_path, _config([]), _cases()))
    ws.run()
    checks = [{"type": "char-f1", "threshold": 0.8}, {"type": "not-contains", "value": "です"}]
    write_project(tmp_path, _config(checks))
    ws = Workspace.open(tmp_path)
    report = ws.score(checks=["char-f1"])
    assert report.per_check == {"char-f1": 12}
    values = [(r[3], r[4]) for r in _rows(ws) if r[1] == "char-f1"]
    # "東京" vs ["東京", "東京都"] → 1.0; "東京です" vs "東京" → 2·(2/4·1)/(2/4+1) = 2/3
    assert values.count((1.0, True)) == 4  # plain: tokyo and kyoto, 2 samples each
    # polite: "東京です" and "京都です" (2 samples each) score 2/3
    assert sum(v == pytest.approx(2 / 3) and p is False for v, p in values) == 4
    report = ws.score(checks=["not-contains"])
    assert report.per_check == {"not-contains": 12}
    report = ws.score()  # the per-case ja-ratio was scored by the run itself
    assert (report.written, report.existing, report.per_check) == (0, 28, {})


# Run in a fresh interpreter: forking is refused while other threads live (a loaded local
# model keeps one), and the command line starts with none.
FORKED = """
import json, sys
from hyouka import scoring
from hyouka.api import Workspace
scoring.PARALLEL_MIN, scoring.CHUNK = 1, 3  # 12 samples: 4 chunks over the processes
assert scoring._can_fork()
report = Workspace.open(sys.argv[1]).score(workers=int(sys.argv[2]))
print(json.dumps([report.workers, report.written, report.per_check]))
"""


def test_worker_processes_write_the_same_rows(tmp_path: Path) -> None:
    one = write_project(tmp_path / "one", _config([]), _cases())
    Workspace.open(one).run()
    two = tmp_path / "two"
    shutil.copytree(one, two)
    checks = [{"type": "char-f1"}, {"type": "contains", "value": "京"}, {"type": "ja-ratio"}]
    found = []
    for root, workers in ((one, 1), (two, 2)):
        write_project(root, _config(checks))
        out = subprocess.run([sys.executable, "-c", FORKED, str(root), str(workers)],
                             capture_output=True, text=True, check=True)  # fmt: skip
        found.append(json.loads(out.stdout))
    per_check = {"char-f1": 12, "contains": 12, "ja-ratio": 12}
    assert found == [[1, 36, per_check], [2, 36, per_check]]
    assert _rows(Workspace.open(one)) == _rows(Workspace.open(two))


def test_score_on_both_stores(tmp_path: Path, store_url: str) -> None:
    Store.open(store_url, auto_upgrade=True).close()
    root = write_project(tmp_path, _config([{"type": "contains", "value": "です"}]), _cases())
    ws = Workspace.open(root, database_url=store_url)
    ws.run()
    write_project(root, _config([{"type": "equals", "value": "大阪です"}]))
    ws = Workspace.open(root, database_url=store_url)
    report = ws.score()
    assert report.written == 12
    passed = sorted(r[4] for r in _rows(ws) if r[1] == "equals")
    assert passed == [False] * 10 + [True] * 2


def test_cli_score_json_and_errors(tmp_path: Path) -> None:
    root = write_project(tmp_path, _config([{"type": "contains", "value": "です"}]), _cases())
    Workspace.open(root).run()
    write_project(root, _config([{"type": "icontains", "value": "です"}]))
    runner = CliRunner()
    result = runner.invoke(cli, ["score", "-p", str(root), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["written"], data["per_check"], data["judge_calls"]) == (
        12, {"icontains": 12}, 0)  # fmt: skip
    result = runner.invoke(cli, ["score", "nope", "-p", str(root)])
    assert result.exit_code == 2 and "no run 'nope'" in result.output
    with pytest.raises(NotFoundError):
        Workspace.open(root).score("nope")


def test_run_scores_judges_automatically_and_a_bad_baseline_is_named(tmp_path: Path) -> None:
    with FakeServer(responder=lambda body: "[[A]]") as srv:
        judge = {"type": "openai", "base_url": srv.base_url, "model": "j"}
        cfg = _config([{"type": "judge-pairwise", "judge": "gpt", "baseline": "plain"}])
        cfg["providers"]["gpt"] = judge
        ws = Workspace.open(write_project(tmp_path, cfg, _cases()))
        result = ws.run()
        assert result.judges is not None and result.judges.judgments == 6
        # Each sample gets its own judge calls (issue 17, defect 9), even where samples 0 and 1
        # have equal texts: 6 judgments x 2 orders.
        assert srv.stats()["model_calls"] == 12
        cfg["checks"] = [{"type": "judge-pairwise", "judge": "gpt", "baseline": "nobody"}]
        write_project(tmp_path, cfg)
        with pytest.raises(HyoukaError, match="the baseline 'nobody' is not a variant of run"):
            Workspace.open(tmp_path).score()
