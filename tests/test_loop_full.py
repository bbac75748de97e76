"""The whole loop in one test: a run, complaints, proposals, acceptance, a new version that fixes
one complaint and brings back another, the gate failing for the right reasons with JUnit XML,
and the report opened in headless Chromium (sections, no external request, a screenshot)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hyouka.cli.main import cli
from hyouka.loop import loop_speed
from hyouka.store.schema import check_proposals
from hyouka.testing import FakeServer
from tests.loop_env import (
    BOT_V1,
    BOT_V2,
    COMMENT,
    NEVER,
    PHRASE,
    build,
    judge_reply,
    need_chromium,
    open_report,
)


def _cli(root: Path, *args: str, code: int = 0) -> Any:
    out = CliRunner().invoke(cli, [*args, "-p", str(root)], catch_exceptions=False)
    assert out.exit_code == code, out.output
    return out.output


def _json(root: Path, *args: str) -> Any:
    return json.loads(_cli(root, *args, "--json"))


@pytest.mark.browser
def test_complaints_become_checks_gate_fails_on_a_returned_complaint_and_the_report_shows_it(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_chromium()
    monkeypatch.setenv("HYOUKA_DATABASE_URL", store_url)  # the CLI's store
    with FakeServer(responder=judge_reply) as srv:
        env = build(tmp_path / "project", store_url, srv.base_url)
        _steps(env, env.root, srv)
        _report(env.root, store_url)


def _steps(env: Any, root: Path, srv: FakeServer) -> None:
    # 1. Proposals: the marked phrase → not-contains; the comment → a Japanese judge rubric.
    proposed = _json(root, "feedback", "propose")["created"]
    assert [p["kind"] for p in proposed] == ["phrase", "text"]
    phrase, text = proposed
    assert phrase["check"] == {"type": "not-contains", "value": PHRASE, "metric": "complaint-1"}
    assert {c["who"] for c in phrase["complaints"]} == {"tanaka"}
    assert all(NEVER in c["tags"] and c["highlight"] == PHRASE for c in phrase["complaints"])
    assert phrase["preview"]["fails_complained"] is True
    assert len(phrase["preview"]["complained"]) == 3
    assert text["check"]["type"] == "judge-rubric" and text["check"]["judge"] == "gpt"
    rubric = text["check"]["rubric"]
    assert (
        rubric.startswith("回答は、利用者の次の指摘に当てはまってはいけない") and COMMENT in rubric
    )
    assert "不合格の例" in rubric and "了解だよ" in rubric  # the complained output, quoted
    assert text["preview"]["judged"] is False  # judge previews only on request

    # 2. Acceptance by a person: the phrase check, then the judge check after its preview.
    accepted = _json(root, "feedback", "accept", "1", "--by", "kimura")
    assert accepted["written"]["section"] == "checks" and accepted["written"]["include_added"]
    assert len(accepted["written"]["cases_added"]) == 3
    calls = srv.stats()["model_calls"]
    accepted = _json(root, "feedback", "accept", "complaint-2", "--by", "kimura", "--judge-preview")
    assert srv.stats()["model_calls"] > calls  # the preview asked the judge
    assert accepted["preview"]["fails_complained"] is True
    assert accepted["written"]["section"] == "datasets.regressions.checks"
    config = (root / "hyouka.yaml").read_text(encoding="utf-8")
    assert config.startswith("# サポートボット (a comment to keep)\n")
    assert "include: [regressions.yaml]" in config
    regressions = (root / "regressions.yaml").read_text(encoding="utf-8")
    assert "# complaint-1 · accepted by kimura on" in regressions
    assert "raised " in regressions and "by tanaka (judgment " in regressions
    assert "by sato (judgment " in regressions and "metric: complaint-2" in regressions
    rows = [json.loads(x) for x in (root / "data/regressions.jsonl").read_text().splitlines()]
    assert {r["metadata"]["regression"]["complaint"] for r in rows} == {1, 2}
    with env.store.engine.connect() as conn:
        decisions = list(conn.execute(select(check_proposals).order_by(check_proposals.c.id)))
    assert [(d.status, d.decided_by) for d in decisions] == [
        ("proposed", None),
        ("proposed", None),
        ("accepted", "kimura"),
        ("accepted", "kimura"),
    ]

    # 3. `hyouka run` now runs the regressions dataset and the accepted checks by default.
    run2 = _json(root, "run")
    checks = {c["metric"]: c for c in run2["variants"][0]["checks"]}
    assert {"complaint-1", "complaint-2", "polite"} <= set(checks)
    shown = _json(root, "show")["complaints_triggered"]
    bot_v1 = next(v for v in shown if v.startswith("bot@"))
    alt = next(v for v in shown if v.startswith("alt@"))
    assert [t["metric"] for t in shown[bot_v1]] == ["complaint-1"]
    assert [t["metric"] for t in shown[alt]] == ["complaint-2"]

    # 4. A new bot version: the phrase is gone (fixes complaint-1), 「だよ」 arrives (complaint-2).
    cfg = (root / "hyouka.yaml").read_text(encoding="utf-8")
    (root / "hyouka.yaml").write_text(cfg.replace(BOT_V1, BOT_V2), encoding="utf-8")
    _json(root, "run")
    v1 = bot_v1.split("@")[1]
    junit = root / "out" / "gate.xml"
    output = _cli(
        root,
        "gate",
        "--baseline",
        f"bot@{v1}",
        "--candidate",
        "bot",
        "--metric",
        "polite",
        "--junit",
        str(junit),
        code=1,
    )
    output = " ".join(output.split())  # the console wraps long lines
    assert "brings back this complaint, which the baseline had resolved" in output
    assert "significantly worse on polite" in output and "FAILED (2 failing of 3)" in output

    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("3", "2")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"complaint-1", "complaint-2", "polite"}
    assert cases["complaint-1"].find("failure") is None
    returned = cases["complaint-2"].find("failure")
    assert returned is not None and returned.get("type") == "complaint-returned"
    assert "12/12 samples fail; baseline 0/12" in str(returned.get("message"))
    worse = cases["polite"].find("failure")
    assert worse is not None and worse.get("type") == "significantly-worse"
    # All pass against all fail on 12 cases: an honest interval, not a zero-width [-1, -1]
    # (issue 17, defect 5).
    assert "B − A = -1 [-1, -0.7783]" in str(worse.get("message"))

    # 5. Loop speed: complaint-1 fixed by the new bot version; complaint-2 still triggered.
    speed = loop_speed(env.store, "loopy")
    by_metric = {s.metric: s for s in speed.statuses}
    fixed = by_metric["complaint-1"]
    assert fixed.status == "fixed" and fixed.fixed_by is not None
    assert fixed.fixed_by.startswith("bot@") and fixed.fixed_by != bot_v1
    assert fixed.days_to_fix is not None and speed.median_days_to_fix == fixed.days_to_fix
    still = by_metric["complaint-2"]
    assert still.status == "accepted" and still.accepted_by == "kimura"
    assert sorted(v.split("@")[0] for v in still.triggered_by) == ["alt", "bot"]


def _report(root: Path, store_url: str) -> None:
    out = root / "out" / "report.html"
    _cli(root, "report", "-o", str(out), "--lang", "ja")
    name = "loop-report-" + ("pg" if store_url.startswith("postgres") else "sqlite") + ".png"
    view = open_report(out, name)
    print(
        f"\nreport screenshot: {view.screenshot} ({out.stat().st_size} bytes, "
        f"rendered in {view.render_ms:.0f} ms)"
    )
    assert view.requests == [out.resolve().as_uri()]  # nothing but the file itself
    assert view.section_ids == [
        "summary",
        "variants",
        "forest",
        "gacha",
        "ranking",
        "agreement",
        "judges",
        "complaints",
        "speed",
        "experiments",  # every section is there, saying why when it is empty (issue 14)
    ]
    assert view.svg_count >= 5
    assert "苦情の記録" in view.text and "complaint-1" in view.text
    assert "で修正" in view.text and "チェック採用" in view.text
    assert view.screenshot.stat().st_size > 10_000
