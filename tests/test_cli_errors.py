"""Errors in plain sight: what `hyouka run` and `hyouka show` print when things go wrong.

Real runs: the CLI in a subprocess (so ``COLUMNS`` and a pipe for stdout are what a user has),
real project files, the fake OpenAI-compatible server over HTTP.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hyouka.testing import FakeServer
from tests.conftest import write_project

CASES = [{"id": f"c{i}", "vars": {"name": f"N{i}", "message": f"m{i}"}} for i in range(5)]


def hyouka(*args: str, columns: int = 80, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hyouka", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": str(columns), "HYOUKA_LANG": "en", **env},
    )


def _project(root: Path, url: str, variants: dict[str, Any], **provider: Any) -> Path:
    cfg = {
        "name": "errs",
        "samples": 2,
        "providers": {
            "srv": {
                "type": "openai",
                "base_url": url,
                "model": "fake",
                "max_retries": 0,
                **provider,
            },
        },
        "variants": variants,
        "checks": [{"type": "contains", "value": "回答"}],
    }
    return write_project(root, cfg, CASES)


def flat(text: str) -> str:
    """The text with its line wrapping undone (messages wrap at 80 columns)."""
    return " ".join(text.split())


def _runs(root: Path) -> list[dict[str, Any]]:
    proc = hyouka("runs", "-p", str(root), "--json")
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout))


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i + 1 for i, line in enumerate(lines) if text in line)


# -- found before any model is called: file, line, field; exit 2; no run stored --------------


def test_template_typo_is_reported_with_file_line_and_field_before_any_call(
    tmp_path: Path,
) -> None:
    with FakeServer() as srv:
        root = _project(tmp_path, srv.base_url, {
            "polite": {"provider": "srv", "prompt": "Hello {{ nmae }}: {{ message }}"},
            "concise": {"provider": "srv", "prompt": "{{ message }}"},
        })  # fmt: skip
        proc = hyouka("run", "-p", str(root))
        calls = srv.stats()["model_calls"]
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = _line_of(root / "hyouka.yaml", "nmae")
    assert f"hyouka.yaml:{line}:" in proc.stderr
    assert "variants.polite.prompt: 'nmae' is undefined: no case of dataset 'main' has it" in (
        proc.stderr
    )
    assert "case 'c0' has vars: message, name); did you mean 'name'?" in proc.stderr
    assert "nothing was run" in proc.stderr
    assert calls == 0
    assert _runs(root) == []  # no run was stored, not even a failed one


def test_template_file_typo_points_at_the_template_line(tmp_path: Path) -> None:
    with FakeServer() as srv:
        root = _project(tmp_path, srv.base_url, {
            "steps": {"provider": "srv", "prompt": "prompts/steps.j2"},
        })  # fmt: skip
        (root / "prompts").mkdir()
        (root / "prompts" / "steps.j2").write_text(
            "Customer: {{ name }}\n\n{% if name %}Message: {{ mesage }}{% endif %}\n",
            encoding="utf-8",
        )
        proc = hyouka("run", "-p", str(root))
    assert proc.returncode == 2, proc.stderr
    assert "steps.j2:3: variants.steps.prompt: 'mesage' is undefined" in proc.stderr
    assert "did you mean 'message'?" in proc.stderr


def test_a_guarded_variable_is_not_a_problem(tmp_path: Path) -> None:
    with FakeServer() as srv:
        root = _project(tmp_path, srv.base_url, {
            "v": {"provider": "srv",
                  "prompt": "{% if extra is defined %}{{ extra }}{% endif %}{{ message }}"},
        })  # fmt: skip
        proc = hyouka("run", "-p", str(root))
    assert proc.returncode == 0, proc.stderr
    assert ": 10 samples, 10 calls, 0 cached, 0 already stored, 0 errors" in flat(proc.stdout)
    assert "samples failed" not in proc.stdout


def test_unsupported_params_are_reported_per_param_before_any_call(tmp_path: Path) -> None:
    with FakeServer() as srv:
        root = _project(tmp_path, srv.base_url, {
            "concise": {"provider": "srv", "prompt": "{{ message }}",
                        "params": {"temprature": 0.3, "max_tokens": 20, "top": 2}},
        })  # fmt: skip
        proc = hyouka("run", "-p", str(root))
        calls = srv.stats()["model_calls"]
    assert proc.returncode == 2, proc.stderr
    assert calls == 0 and _runs(root) == []
    assert "2 problems in the configuration; nothing was run:" in proc.stderr
    yaml_path = root / "hyouka.yaml"
    line = _line_of(yaml_path, "temprature")
    assert re.search(
        rf"hyouka.yaml:{line}:\d+: variants.concise.params.temprature: param 'temprature' is "
        r"not taken by the openai provider; did you mean 'temperature'\?",
        proc.stderr,
    )
    assert f"hyouka.yaml:{_line_of(yaml_path, 'top:')}:" in proc.stderr
    assert "variants.concise.params.top: param 'top' is not taken" in proc.stderr
    assert "max_tokens" not in proc.stderr.split("It takes")[0]  # a known param is fine


def test_llamacpp_params_are_checked_without_starting_the_engine(tmp_path: Path) -> None:
    cfg = {
        "name": "local",
        "providers": {"local": {"type": "llamacpp", "model_path": "no-such.gguf"}},
        "variants": {"v": {"provider": "local", "prompt": "{{ message }}",
                           "params": {"temprature": 0.3}}},
    }  # fmt: skip
    root = write_project(tmp_path, cfg, CASES)
    proc = hyouka("run", "-p", str(root), "--lang", "ja")
    assert proc.returncode == 2, proc.stderr
    assert "設定に問題があるため、何も実行していません:" in proc.stderr
    assert (
        "variants.v.params.temprature: param(s) temprature are not supported by the llamacpp "
        in (proc.stderr)
    )
    assert "(did you mean 'temperature'?)" in proc.stderr


def test_a_missing_api_key_stops_the_run_before_it_is_stored(tmp_path: Path) -> None:
    root = _project(tmp_path, "http://127.0.0.1:9/v1", {
        "v": {"provider": "srv", "prompt": "{{ message }}"},
    }, api_key_env="HYOUKA_TEST_NO_SUCH_KEY")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "HYOUKA_TEST_NO_SUCH_KEY"}
    proc = subprocess.run(
        [sys.executable, "-m", "hyouka", "run", "-p", str(root)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 2
    # where: the api_key_env line of hyouka.yaml; what: the variable, the provider, who uses it
    yaml_lines = (root / "hyouka.yaml").read_text("utf-8").splitlines()
    line = next(i for i, t in enumerate(yaml_lines, 1) if "HYOUKA_TEST_NO_SUCH_KEY" in t)
    assert f"hyouka.yaml:{line}:" in proc.stderr and "providers.srv.api_key_env" in proc.stderr
    assert (
        "the environment variable HYOUKA_TEST_NO_SUCH_KEY is not set: provider 'srv' (used by "
        "variant 'v')" in flat(proc.stderr)
    )
    assert "Traceback" not in proc.stderr
    assert _runs(root) == []  # no ghost run left "running"
    show = hyouka("show", "-p", str(root))
    assert show.returncode == 2 and "the project has no runs yet" in show.stderr


# -- failures at run time: distinct causes with counts and one example each -----------------


def test_a_run_whose_samples_all_failed_lists_the_causes_and_exits_1(tmp_path: Path) -> None:
    with FakeServer() as srv:
        root = _project(tmp_path, srv.base_url, {
            "a": {"provider": "srv", "prompt": "{{ message }} [[fault:503]]"},
            "b": {"provider": "srv", "prompt": "{{ name }} [[fault:400]]"},
        })  # fmt: skip
        proc = hyouka("run", "-p", str(root))
        as_json = hyouka("run", "-p", str(root), "--json", "--new")
    out = flat(proc.stdout)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert all(len(line) <= 80 for line in proc.stdout.splitlines())
    assert "20 of 20 samples failed; 2 distinct cause(s):" in out
    assert re.search(
        r"10 × error in a (server error from \S+ )?\(HTTP 503\): fake server: "
        r"injected HTTP 503 for call \d+ e\.g\. case c0 #0 of a",
        out,
    ), out
    assert re.search(
        r"10 × error in b \S+ refused the request \(HTTP 400\): fake server: "
        r"injected HTTP 400 for call \d+ e\.g\. case c0 #0 of b",
        out,
    ), out
    assert "Every sample of run" in proc.stderr and "(exit code 1)" in flat(proc.stderr)
    assert as_json.returncode == 1
    data = json.loads(as_json.stdout)
    assert sorted((e["count"], e["variants"]["a" if "503" in e["cause"] else "b"])
                  for e in data["errors"]) == [(10, 10), (10, 10)]  # fmt: skip
    # `hyouka show` tells the same, in Japanese when asked
    show = hyouka("show", "-p", str(root), "--lang", "ja")
    assert show.returncode == 0
    assert "20 サンプル中 20 件が失敗。原因は 2 種類:" in show.stdout
    assert "10 件 error（a）" in show.stdout and "例: a のケース c0 #0" in show.stdout
    assert "e.g." not in show.stdout


def test_some_failures_exit_0_and_partial_template_vars_are_warnings_with_skip_bad_rows(
    tmp_path: Path,
) -> None:
    cases = [*CASES, {"id": "short", "vars": {"message": "no name here"}}]
    with FakeServer() as srv:
        cfg = {
            "name": "partial", "samples": 1,
            "providers": {"srv": {"type": "openai", "base_url": srv.base_url, "model": "f"}},
            "variants": {"v": {"provider": "srv", "prompt": "{{ name }}: {{ message }}"}},
        }  # fmt: skip
        root = write_project(tmp_path, cfg, cases)
        strict = hyouka("run", "-p", str(root))
        assert strict.returncode == 2
        assert "'name' is undefined: 1 of 6 cases of dataset 'main' lack it (e.g. case 'short'" in (
            strict.stderr
        )
        lenient = hyouka("run", "-p", str(root), "--skip-bad-rows")
    out = flat(lenient.stdout)
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    assert "skipped 1 bad row(s):" in out and "1 of 6 cases" in out
    assert (
        "1 of 6 samples failed; 1 distinct cause(s): 1 × error in v 'name' is undefined; the "
        "case has vars: message e.g. case short #0 of v"
    ) in out


def test_a_missing_extra_keeps_its_pip_hint(tmp_path: Path) -> None:
    """The llamacpp engine package is absent: every sample fails with the install hint, whose
    ``[local]`` console markup must not eat."""
    cfg = {
        "name": "noextra", "samples": 1,
        "providers": {"local": {"type": "llamacpp"}},
        "variants": {"v": {"provider": "local", "prompt": "{{ message }}"}},
    }  # fmt: skip
    root = write_project(tmp_path, cfg, CASES[:2])
    code = (
        "import sys; sys.modules['xllamacpp'] = None\n"
        "from hyouka.cli.main import main; sys.argv = ['hyouka', *sys.argv[1:]]; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "run", "-p", str(root)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "80", "HYOUKA_LANG": "en"},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = flat(proc.stdout)
    assert "2 of 2 samples failed; 1 distinct cause(s): 2 × error in v The local llamacpp " in out
    assert "Install it with: pip install 'hyouka[local]' e.g. case c0 #0 of v" in out


def test_an_error_hint_printed_by_the_cli_keeps_its_extra(tmp_path: Path) -> None:
    cfg = {"name": "x", "providers": {"e": {"type": "echo"}},
           "variants": {"v": {"provider": "e", "prompt": "{{ message }}"}}}  # fmt: skip
    root = write_project(tmp_path, cfg, CASES[:1])
    assert hyouka("run", "-p", str(root), "-q").returncode == 0
    code = (
        "import sys; sys.modules['pyarrow'] = None; sys.modules['pyarrow.parquet'] = None\n"
        "from hyouka.cli.main import main; sys.argv = ['hyouka', *sys.argv[1:]]; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "export", "-p", str(root), "-o", str(tmp_path / "s.parquet")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Install it with: pip install 'hyouka[parquet]'" in proc.stderr


def test_model_output_with_markup_is_printed_as_it_is(tmp_path: Path) -> None:
    cases = [{"id": "br", "vars": {"q": "[bold]x[/] [/] [citation needed]"}}]
    cfg = {"name": "m", "providers": {"e": {"type": "echo"}},
           "variants": {"v": {"provider": "e", "prompt": "{{ q }}"}},
           "checks": [{"type": "contains", "value": "never"}]}  # fmt: skip
    root = write_project(tmp_path, cfg, cases)
    assert hyouka("run", "-p", str(root), "-q").returncode == 0
    show = hyouka("show", "-p", str(root), columns=200)
    assert show.returncode == 0, show.stderr
    assert "[bold]x[/] [/] [citation needed]" in show.stdout


# -- runs killed mid-way, and `latest` ------------------------------------------------------


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.Error:
        return 0


def _start(root: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hyouka", "run", "-p", str(root), "-q", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _wait_for(db: Path, sql: str, at_least: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while _count(db, sql) < at_least:
        assert time.monotonic() < deadline, f"timed out waiting for {sql} >= {at_least}"
        time.sleep(0.05)


def test_a_killed_run_shows_as_interrupted_and_latest_skips_runs_without_samples(
    tmp_path: Path,
) -> None:
    cases = [{"id": f"c{i}", "vars": {"message": f"m{i}"}} for i in range(40)]
    with FakeServer(latency=0.2) as srv:
        cfg = {
            "name": "killed", "samples": 1, "concurrency": 2,
            "providers": {"srv": {"type": "openai", "base_url": srv.base_url, "model": "f"}},
            "variants": {"v": {"provider": "srv", "prompt": "{{ message }}"}},
        }  # fmt: skip
        root = write_project(tmp_path, cfg, cases)
        db = root / ".hyouka" / "hyouka.db"
        first = _start(root)
        _wait_for(db, "select count(*) from samples", 4)
        first.send_signal(signal.SIGKILL)
        first.wait()
        stored = _count(db, "select count(*) from samples")
        assert 0 < stored < 40
        runs = _runs(root)
        assert [(r["status"], r["stored_status"]) for r in runs] == [("interrupted", "running")]
        killed_uid = runs[0]["uid"]
        show = hyouka("show", "-p", str(root))
        assert f"run {killed_uid} · interrupted ·" in show.stdout
        # A second run (another seed) killed before it stored anything: `latest` skips it.
        srv.set_latency(30)
        second = _start(root, "--seed", "7")
        _wait_for(db, "select count(*) from runs", 2)
        time.sleep(0.5)
        second.send_signal(signal.SIGKILL)
        second.wait()
        statuses = [(r["uid"] != killed_uid, r["status"], r["n_samples"]) for r in _runs(root)]
        assert statuses == [(True, "interrupted", None), (False, "interrupted", stored)]
        latest = hyouka("show", "-p", str(root), "--json")
        assert json.loads(latest.stdout)["run"] == killed_uid
        # Running the first command again resumes the interrupted run and finishes it.
        srv.set_latency(0)
        again = hyouka("run", "-p", str(root), "-q")
    assert again.returncode == 0, again.stderr
    final = {r["uid"]: r for r in _runs(root)}
    assert final[killed_uid]["status"] == "finished" and final[killed_uid]["n_samples"] == 40


# -- tables at 80 columns ---------------------------------------------------------------------


def test_tables_at_80_columns_keep_run_ids_variant_names_and_versions_whole(
    tmp_path: Path,
) -> None:
    names = ["baseline-polite-long-name", "concise-variant-two", "steps-numbered-three",
             "rag-top5-detailed-answers"]  # fmt: skip
    cfg = {
        "name": "wide", "samples": 1,
        "providers": {"e": {"type": "echo", "reply": "answer: {last}"}},
        "variants": {n: {"provider": "e", "prompt": n + " {{ message }}"} for n in names},
        "checks": [{"type": "contains", "value": "answer"},
                   {"type": "regex", "value": "m[0-9]", "metric": "mentions-the-message"}],
    }  # fmt: skip
    root = write_project(tmp_path, cfg, CASES)
    for seed in ("1", "2"):
        assert hyouka("run", "-p", str(root), "-q", "--seed", seed).returncode == 0
    runs = hyouka("runs", "-p", str(root))
    uids = [r["uid"] for r in _runs(root)]
    assert all(len(line) <= 80 for line in runs.stdout.splitlines())
    for uid in uids:
        assert uid in runs.stdout
    assert "not shown at this width: seed, samples/case (--json has every field)" in runs.stdout
    show = hyouka("show", "-p", str(root))
    assert show.returncode == 0
    lines = show.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(x for x in lines if len(x) > 80)
    versions = {r["name"]: r["version"] for r in json.loads(
        hyouka("variants", "-p", str(root), "--json").stdout)}  # fmt: skip
    for name in names:
        # in the per-variant table, whole on one line with its whole version
        assert any(name in line and versions[name] in line for line in lines), name
    # the checks table is split so that every variant's name stays whole as a column header
    assert "checks: pass rate (mean score) (1/2)" in show.stdout
    assert "checks: pass rate (mean score) (2/2)" in show.stdout
    headers = [line for line in lines if line.startswith("┃")]
    for name in names:
        assert any(name in h for h in headers), name
    assert "mentions-the-message" in show.stdout
    # wider terminals show everything in one table
    wide = hyouka("show", "-p", str(root), columns=200)
    assert "(1/2)" not in wide.stdout and "not shown at this width" not in wide.stdout


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_progress_lines_when_stdout_is_not_a_terminal(tmp_path: Path, lang: str) -> None:
    with FakeServer(latency=0.1) as srv:
        cfg = {
            "name": "piped", "samples": 2, "concurrency": 1,
            "providers": {"srv": {"type": "openai", "base_url": srv.base_url, "model": "f"}},
            "variants": {"v": {"provider": "srv", "prompt": "{{ message }}"}},
        }  # fmt: skip
        root = write_project(tmp_path, cfg, CASES)
        proc = hyouka("run", "-p", str(root), "--lang", lang, HYOUKA_PROGRESS_SECONDS="0.3")
    assert proc.returncode == 0, proc.stderr
    if lang == "en":
        assert "piped: 10 samples to produce (0 cached, 0 stored)" in proc.stdout
        found = re.findall(r"piped: (\d+)/10 samples \((\d+)%\) · [\d.]+/s · 0 errors", proc.stdout)
    else:
        assert "piped: 生成するサンプル 10 件（キャッシュ 0、保存済み 0）" in proc.stdout
        found = re.findall(r"piped: (\d+)/10 サンプル（(\d+)%）", proc.stdout)
    assert len(found) >= 2, proc.stdout
    done = [int(d) for d, _ in found]
    assert done == sorted(done)
    assert [int(pct) for _, pct in found] == [100 * d // 10 for d in done]


# -- the demo's headline ------------------------------------------------------------------------


def test_demo_headline_says_which_variant_is_best_and_against_what(tmp_path: Path) -> None:
    from hyouka.analysis.verdict import pair_sentences
    from hyouka.api import Workspace
    from hyouka.demo import _leader, headline

    cfg = {
        "name": "duel", "samples": 1,
        "providers": {"e": {"type": "echo"}},
        "variants": {
            "plain": {"provider": "e", "prompt": "{{ q }}", "params": {"reply": "{last}"}},
            "polite": {"provider": "e", "prompt": "{{ q }}", "params": {"reply": "ok: {last}"}},
            "terse": {"provider": "e", "prompt": "{{ q }}", "params": {"reply": "{last}"}},
        },
        "checks": [{"type": "contains", "value": "ok", "metric": "says-ok"},
                   {"type": "regex", "value": ".", "metric": "non-empty"}],
    }  # fmt: skip
    root = write_project(
        tmp_path, cfg, [{"id": f"c{i}", "vars": {"q": f"q{i}"}} for i in range(20)]
    )
    ws = Workspace.open(root)
    try:
        run = ws.run().run
        _, summaries = ws.show(run.uid)
        leader = _leader(summaries)
        assert leader == "polite"
        result = ws.compare("polite", "plain", "terse", run=run.uid)
        assert headline("duel", leader, result, "en") == (
            "duel: best: polite — better than plain on 1 check, not distinguishable on 1 check; "
            "better than terse on 1 check, not distinguishable on 1 check"
        )
        assert headline("duel", leader, result, "ja") == (
            "duel: 最良は polite — plain より 1 項目で良い、1 項目で区別できない；"
            "terse より 1 項目で良い、1 項目で区別できない"
        )
        even = ws.compare("plain", "terse", run=run.uid)
        assert headline("duel", "plain", even, "en") == (
            "duel: no clear best — plain has the highest mean pass rate: not distinguishable "
            "from terse on 2 checks"
        )
        lines = [s for p in result.comparisons for s in pair_sentences(p, "en", name_pair=True)]
        assert len(lines) == 4
        for line, other in zip(lines, ["plain", "plain", "terse", "terse"], strict=True):
            assert "polite" in line and other in line, line
    finally:
        ws.close()


def test_judge_params_and_judge_keys_are_checked_before_the_run(tmp_path: Path) -> None:
    cfg = {
        "name": "judged", "samples": 1,
        "providers": {"e": {"type": "echo"},
                      "j": {"type": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1",
                            "api_key_env": "HYOUKA_TEST_NO_JUDGE_KEY"}},
        "variants": {"a": {"provider": "e", "prompt": "{{ q }}"}},
        "checks": [{"type": "judge-rubric", "judge": "j", "rubric": "ok?",
                    "params": {"temprature": 0.2}}],
    }  # fmt: skip
    root = write_project(tmp_path, cfg, [{"id": "c0", "vars": {"q": "x"}}])
    env = {k: v for k, v in os.environ.items() if k != "HYOUKA_TEST_NO_JUDGE_KEY"}
    proc = subprocess.run(
        [sys.executable, "-m", "hyouka", "run", "-p", str(root)],
        capture_output=True, text=True, timeout=120, env={**env, "COLUMNS": "200"},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    err = flat(proc.stderr)
    assert "2 problems in the configuration; nothing was run" in err
    assert "checks.0.params.temprature: param 'temprature' is not taken by the openai" in err
    assert "did you mean 'temperature'?" in err and "(judge provider 'j')" in err
    assert (
        "HYOUKA_TEST_NO_JUDGE_KEY is not set: provider 'j' (used by the judge of checks[0])" in err
    )
    assert _runs(root) == []


def test_a_damaged_store_file_is_a_clear_error_and_stays_untouched(tmp_path: Path) -> None:
    cfg = {"name": "broken", "providers": {"e": {"type": "echo"}},
           "variants": {"a": {"provider": "e", "prompt": "{{ q }}"}}}  # fmt: skip
    root = write_project(tmp_path, cfg, [{"id": "c0", "vars": {"q": "x"}}])
    db = root / ".hyouka" / "hyouka.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    junk = bytes(range(256)) * 20  # not an SQLite header
    db.write_bytes(junk)
    for args in (("runs",), ("run",), ("show",)):
        proc = hyouka(*args, "-p", str(root))
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert f"{db} is not a readable sqlite database" in flat(proc.stderr)
        assert "restore it from a backup" in flat(proc.stderr)
    assert db.read_bytes() == junk
