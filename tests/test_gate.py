"""``hyouka gate``: the rules, their reasons, the exit code and the JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hyouka.api import Workspace
from hyouka.cli.main import cli
from hyouka.loop import run_gate
from hyouka.loop.gate import complaint_rule
from hyouka.loop.speed import CheckTally, tallies
from tests.conftest import write_project

T = datetime(2026, 1, 1, tzinfo=UTC)
REGRESSIONS = """\
# written by hand, as a CI checkout has it: no proposals in this (fresh) store
checks:
  - {type: not-contains, value: AIとして, metric: complaint-7}
  - {type: not-contains, value: "#1", metric: complaint-8}
"""


def _tally(failed: int, n: int) -> CheckTally:
    return CheckTally("complaint-7", 1, "r", T, 1, "v@1", T, failed, n, "c3", "found: 'x'")


@pytest.mark.parametrize(
    ("base", "cand", "status", "reason"),
    [
        ((0, 10), (0, 10), "pass", "passes"),
        ((0, 10), (2, 10), "fail", "complaint-returned"),
        ((3, 10), (2, 10), "fail", "check-failed"),
        (None, (2, 10), "fail", "check-failed"),  # the baseline never met the check
        ((0, 10), None, "fail", "not-scored"),
    ],
)
def test_each_complaint_rule_outcome_has_its_reason(
    base: tuple[int, int] | None, cand: tuple[int, int] | None, status: str, reason: str
) -> None:
    rule = complaint_rule(
        "complaint-7",
        "AIとして",
        _tally(*base) if base else None,
        _tally(*cand) if cand else None,
        0.0,
        False,
    )
    assert (rule.status, rule.reason) == (status, reason)
    assert rule.name == "complaint-7" and rule.message.startswith("complaint-7: AIとして")
    if reason == "complaint-returned":
        assert "2/10 samples fail; baseline 0/10 samples fail" in rule.message
        assert "e.g. case c3: found: 'x'" in rule.message


def test_open_complaints_only_warn_when_allowed_and_a_tolerance_lets_rare_failures_pass() -> None:
    rule = complaint_rule("complaint-7", "", _tally(3, 10), _tally(2, 10), 0.0, True)
    assert (rule.status, rule.reason) == ("warn", "check-failed")
    assert not complaint_rule("complaint-7", "", _tally(0, 10), _tally(1, 10), 0.1, False).failed
    assert complaint_rule("complaint-7", "", _tally(0, 10), _tally(2, 10), 0.1, False).failed


# -- on a real store ------------------------------------------------------------------------------


def _project(tmp_path: Path, replies: dict[str, str], samples: int = 2) -> Path:
    cfg = {
        "name": "gated",
        "samples": samples,
        "include": ["regressions.yaml"],
        "providers": {"fake": {"type": "echo"}},
        "variants": {
            k: {"provider": "fake", "prompt": "{{ q }}", "params": {"reply": r}}
            for k, r in replies.items()
        },
        "checks": [{"type": "levenshtein", "metric": "distance"}],
    }
    cases = [
        {"id": f"c{i}", "vars": {"q": f"質問{i}"}, "expected": f"質問{i}の答えです"}
        for i in range(8)
    ]
    root = write_project(tmp_path, cfg, cases)
    (root / "regressions.yaml").write_text(REGRESSIONS, encoding="utf-8")
    return root


def _gate(root: Path, *args: str) -> tuple[int, str]:
    out = CliRunner().invoke(cli, ["gate", "-p", str(root), *args], catch_exceptions=False)
    return out.exit_code, " ".join(out.output.split())


def test_a_candidate_that_says_a_banned_phrase_fails_and_a_clean_one_passes(
    tmp_path: Path,
) -> None:
    root = _project(
        tmp_path,
        {
            "prod": "{last}の答えです",
            "risky": "AIとして{last}の答えです",
            "clean": "{last}の答えです。",
        },
    )
    Workspace.open(root).run()
    failed = tmp_path / "fail.xml"
    code, out = _gate(root, "--baseline", "prod", "--candidate", "risky", "--junit", str(failed))
    assert code == 1
    assert "brings back this complaint, which the baseline had resolved (16/16 samples fail" in out
    suite = ET.parse(failed).getroot()[0]
    assert suite.get("failures") == "1" and suite.get("tests") == "2"
    junit = tmp_path / "ok.xml"
    code, out = _gate(root, "-a", "prod", "-b", "clean", "-m", "distance", "--junit", str(junit))
    assert code == 0 and "PASSED (0 failing of 3)" in out
    suite = ET.parse(junit).getroot()[0]
    assert [c.get("name") for c in suite.iter("testcase")] == [
        "complaint-7",
        "complaint-8",
        "distance",
    ]
    assert all(c.find("failure") is None for c in suite.iter("testcase"))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["baseline"].startswith("prod@") and props["candidate"].startswith("clean@")


def test_significantly_worse_uses_the_paired_interval_and_respects_direction_and_margin(
    tmp_path: Path,
) -> None:
    root = _project(
        tmp_path, {"prod": "{last}の答えです", "long": "{last}の答えですよ。ほかに何か?"}
    )
    ws = Workspace.open(root)
    ws.run()
    result = run_gate(ws.store, ws.name, "prod", "long", project=ws.project, metrics=["distance"])
    rule = {r.name: r for r in result.rules}["distance"]
    # levenshtein is a distance: lower is better, so a larger distance is worse.
    assert rule.status == "fail" and rule.reason == "significantly-worse"
    d = rule.details
    assert d["higher_is_better"] is False and d["n_cases"] == 8
    # 「よ。ほかに何か?」 adds 8 characters to every answer: B − A is exactly +8 on every case.
    # Eight identical differences are still only eight cases: the calibrated t interval is not
    # zero-width (issue 17), but it lies far above 0.
    assert d["estimate"] == pytest.approx(8.0) and 0 < d["low"] < 8.0 < d["high"]
    assert f"B − A = +8 [{d['low']:+.4g}, {d['high']:+.4g}]" in rule.message
    assert "calibrated t CI" in rule.message and "lower is better" in rule.message
    lenient = run_gate(
        ws.store, ws.name, "prod", "long", project=ws.project, metrics=["distance"], margin=10
    )
    assert {r.name: r.status for r in lenient.rules}["distance"] == "pass"


def test_a_tolerance_lets_a_rare_failure_through_and_allow_open_turns_open_ones_into_warnings(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path, {"prod": "AIとして{last}", "cand": "AIとして{last} #{sample}"})
    ws = Workspace.open(root)
    ws.run()
    strict = run_gate(ws.store, ws.name, "prod", "cand", project=ws.project)
    reasons = {r.name: r.reason for r in strict.rules if r.failed}
    assert reasons == {"complaint-7": "check-failed", "complaint-8": "complaint-returned"}
    loose = run_gate(
        ws.store, ws.name, "prod", "cand", project=ws.project, max_fail_rate=0.5, allow_open=True
    )
    assert {r.name: r.status for r in loose.rules} == {"complaint-7": "warn", "complaint-8": "pass"}
    assert loose.passed
    warned = ET.fromstring(loose.junit_xml()).find("testsuite/testcase/system-out")
    assert warned is not None and str(warned.text).startswith("warning: complaint-7")


def test_a_baseline_from_an_older_run_is_scored_with_checks_accepted_since(tmp_path: Path) -> None:
    root = _project(tmp_path, {"bot": "AIとして{last}"})
    (root / "regressions.yaml").write_text("checks: []\n", encoding="utf-8")
    ws = Workspace.open(root)
    old = ws.run().run
    v1 = ws.current_variants()[0]["version"]
    (root / "regressions.yaml").write_text(REGRESSIONS, encoding="utf-8")
    text = (
        (root / "hyouka.yaml").read_text(encoding="utf-8").replace("AIとして{last}", "はい、{last}")
    )
    (root / "hyouka.yaml").write_text(text, encoding="utf-8")
    ws = Workspace.open(root)
    ws.run()
    assert tallies(ws.store, "gated", run_ids=[old.id]) == []
    result = run_gate(ws.store, ws.name, f"bot@{v1}", "bot", project=ws.project)
    assert result.baseline.run.id == old.id and result.passed
    (old_tally,) = [
        t for t in tallies(ws.store, "gated", run_ids=[old.id]) if t.metric == "complaint-7"
    ]
    assert (old_tally.failed, old_tally.n) == (16, 16)  # scored now: the old bot said it


def test_an_unknown_variant_is_an_error_that_names_the_fix(tmp_path: Path) -> None:
    root = _project(tmp_path, {"prod": "{last}"})
    Workspace.open(root).run()
    code, out = _gate(root, "-a", "prod", "-b", "nobody")
    assert code == 2 and "no run of project gated has a variant 'nobody'" in out


def test_gate_json_lists_every_rule(tmp_path: Path) -> None:
    root = _project(tmp_path, {"prod": "{last}", "cand": "{last}"})
    Workspace.open(root).run()
    code, out = _gate(root, "-a", "prod", "-b", "cand", "--json")
    data: dict[str, Any] = json.loads(out)
    assert code == 0 and data["passed"] is True
    assert [(r["kind"], r["name"], r["status"]) for r in data["rules"]] == [
        ("complaint", "complaint-7", "pass"),
        ("complaint", "complaint-8", "pass"),
    ]
