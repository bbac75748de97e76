"""The human-evaluation commands: annotators, campaigns, apikeys (run through click)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from humans_env import VARIANTS, write_project

from hyouka import humans
from hyouka.api import Workspace
from hyouka.cli.human_cmds import COMMANDS


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    write_project(root, "cli-proj", ["良い回答: {last}", "別の回答: {last}"])
    (root / "rubric.md").write_text("丁寧で正確か", encoding="utf-8")
    ws = Workspace.open(root)
    ws.run(samples=2)
    ws.close()
    return root


def _cli() -> click.Group:
    group = click.Group("hyouka")
    for command in COMMANDS:
        group.add_command(command)
    return group


def _run(project: Path, *args: str) -> str:
    result = CliRunner().invoke(_cli(), [*args, "-p", str(project)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_annotators_add_prints_a_link_that_signs_in(project: Path) -> None:
    out = _run(
        project,
        "annotators",
        "add",
        "tanaka",
        "--group",
        "operators",
        "--url",
        "https://eval.example.jp",
    )
    link = out.strip().splitlines()[-1]
    assert link.startswith("https://eval.example.jp/signin/")
    ws = Workspace.open(project)
    person = humans.annotator_by_token(ws.store, "cli-proj", link.rsplit("/", 1)[1])
    assert person is not None and (person.group, person.role) == ("operators", "annotator")
    _run(project, "annotators", "add", "sato", "--admin")
    listed = json.loads(_run(project, "annotators", "list", "--json"))
    assert [(p["name"], p["role"]) for p in listed] == [("tanaka", "annotator"), ("sato", "admin")]
    _run(project, "annotators", "disable", "tanaka")
    assert humans.get_annotator(ws.store, "cli-proj", "tanaka").disabled
    _run(project, "annotators", "enable", "tanaka")
    new_link = _run(project, "annotators", "reset-link", "tanaka").strip()
    assert humans.annotator_by_token(ws.store, "cli-proj", link.rsplit("/", 1)[1]) is None
    assert humans.annotator_by_token(ws.store, "cli-proj", new_link.rsplit("/", 1)[1])
    ws.close()


def test_campaigns_create_list_close(project: Path) -> None:
    out = _run(
        project,
        "campaigns",
        "create",
        "round-1",
        "--overlap",
        "2",
        "--mode",
        "pairwise",
        "--tag",
        "長すぎる",
        "--tag",
        "事実と違う",
        "--rubric",
        "rubric.md",
        "--seed",
        "5",
    )
    assert "campaign 1 'round-1': 8 items × overlap 2 (pairwise)" in out  # 4 cases × 2 samples
    ws = Workspace.open(project)
    campaign = humans.get_campaign(ws.store, "cli-proj", "round-1")
    assert campaign.rubric == "丁寧で正確か" and campaign.tags == ("長すぎる", "事実と違う")
    assert campaign.seed == 5
    rated = json.loads(
        _run(
            project,
            "campaigns",
            "create",
            "rate-beta",
            "--mode",
            "rating",
            "-v",
            VARIANTS[1],
            "-c",
            "q0",
            "--max-samples",
            "1",
            "--json",
        )
    )
    assert rated["items"] == 1 and rated["mode"] == "rating"
    assert rated["groups"] == []
    _run(project, "annotators", "add", "tanaka", "--group", "operators")
    out = _run(project, "campaigns", "create", "ops", "--group", "operators", "--overlap", "1")
    assert out.strip().endswith("for operators")
    listed = json.loads(_run(project, "campaigns", "list", "--json"))
    assert [(c["name"], c["needed"], c["groups"]) for c in listed] == [
        ("round-1", 16, []),
        ("rate-beta", 3, []),
        ("ops", 8, ["operators"]),
    ]
    _run(project, "campaigns", "close", "round-1")
    assert humans.get_campaign(ws.store, "cli-proj", "round-1").status == "closed"
    _run(project, "campaigns", "open", "round-1")
    assert humans.get_campaign(ws.store, "cli-proj", "round-1").is_open
    ws.close()


def test_errors_are_sentences_not_tracebacks(project: Path) -> None:
    result = CliRunner().invoke(
        _cli(), ["campaigns", "create", "x", "-v", "nope", "-p", str(project)]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, humans.HumanEvalError)
    assert "not in this run" in str(result.exception)


def test_apikeys(project: Path) -> None:
    secret = _run(project, "apikeys", "add", "support-app").strip().splitlines()[-1]
    ws = Workspace.open(project)
    assert humans.api_key_by_secret(ws.store, "cli-proj", secret) is not None
    assert json.loads(_run(project, "apikeys", "list", "--json"))[0]["name"] == "support-app"
    _run(project, "apikeys", "disable", "support-app")
    assert humans.api_key_by_secret(ws.store, "cli-proj", secret) is None
    ws.close()
