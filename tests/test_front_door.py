"""One front door: the CLI and the web app make campaigns through the same facade, so the same
inputs give the same campaign, with defaults and bounds from hyouka.yaml resolved once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hyouka.api import Workspace
from hyouka.cli.main import cli
from hyouka.config import HumanConfig
from hyouka.errors import ConfigError
from hyouka.store.schema import campaign_items
from hyouka.web import WebSettings, create_app
from tests.conftest import write_project
from tests.humans_env import signed_in

RUBRIC = "# 評価基準\n丁寧で正確な回答を選んでください。\n"


def project(root: Path, human: dict[str, Any] | None = None) -> Workspace:
    (root / "rubrics").mkdir(parents=True, exist_ok=True)
    (root / "rubrics" / "operator.md").write_text(RUBRIC, encoding="utf-8")
    cfg: dict[str, Any] = {
        "name": "door",
        "seed": 11,
        "samples": 2,
        "providers": {"echo": {"type": "echo"}},
        "variants": {
            "polite": {"provider": "echo", "prompt": "丁寧に: {{ q }}"},
            "short": {"provider": "echo", "prompt": "短く: {{ q }}"},
        },
        "human": human
        or {
            "mode": "pairwise",
            "overlap": 2,
            "rubric": "rubrics/operator.md",
            "instructions": "良い方を選んでください",
            "tags": ["長すぎる", "失礼"],
        },
    }
    cases = [{"id": f"c{i}", "vars": {"q": f"質問{i}"}} for i in range(4)]
    ws = Workspace.open(write_project(root, cfg, cases))
    ws.run()
    return ws


def made(ws: Workspace, name: str) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """A campaign's settings (without its id, name, time) and its items."""
    campaign = ws.campaigns.get(name)
    fields = {k: v for k, v in campaign.__dict__.items() if k not in {"id", "name", "created_at"}}
    with ws.store.engine.connect() as conn:
        items = conn.execute(
            select(campaign_items.c.case_id, campaign_items.c.sample_a_id,
                   campaign_items.c.sample_b_id, campaign_items.c.position)
            .where(campaign_items.c.campaign_id == campaign.id)
            .order_by(campaign_items.c.position)
        )  # fmt: skip
        return fields, [tuple(r) for r in items]


def web_create(ws: Workspace, data: dict[str, Any]) -> None:
    _, token = ws.people.add(f"admin{len(ws.people.list())}", admin=True)
    app = create_app(ws.store, ws.name, WebSettings(), config=ws.project)
    admin = signed_in(app, token)
    page = admin.get(f"/admin/campaigns/new?run={data['run']}").text
    csrf = re.findall(r'name="csrf" value="([^"]+)"', page)[0]
    created = admin.post("/admin/campaigns", data={**data, "csrf": csrf}, follow_redirects=False)
    assert created.status_code == 303, created.text


def cli_create(ws: Workspace, *args: str) -> None:
    result = CliRunner().invoke(
        cli, ["campaigns", "create", "-p", str(ws.project.root), *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output


def test_cli_and_web_make_the_same_campaign_from_the_defaults(tmp_path: Path) -> None:
    ws = project(tmp_path)
    run = ws.get_run().uid
    cli_create(ws, "from-cli", "--run", run)
    web_create(ws, {"run": run, "name": "from-web"})
    cli_made, web_made = made(ws, "from-cli"), made(ws, "from-web")
    assert cli_made == web_made
    fields, items = cli_made
    # the defaults of hyouka.yaml: human: (the rubric file's text) and the project's seed
    assert (fields["mode"], fields["overlap"], fields["seed"]) == ("pairwise", 2, 11)
    assert (fields["rubric"], fields["instructions"]) == (RUBRIC, "良い方を選んでください")
    assert fields["tags"] == ("長すぎる", "失礼")
    assert len(items) == 4 * 2  # 4 cases × 2 samples, one pair each


def test_cli_and_web_make_the_same_campaign_from_given_inputs(tmp_path: Path) -> None:
    ws = project(tmp_path)
    run = ws.get_run().uid
    cli_create(ws, "from-cli", "--run", run, "--mode", "pairwise+rating", "--overlap", "3",
               "--rubric", "rubrics/operator.md", "--seed", "5", "--tag", "冗長",
               "--instructions", "選んでください", "--max-samples", "1",
               "--assignment-minutes", "12")  # fmt: skip
    web_create(ws, {
        "run": run, "name": "from-web", "mode": "pairwise+rating", "overlap": "3",
        "rubric": "rubrics/operator.md", "seed": "5", "tags": "冗長",
        "instructions": "選んでください", "max_samples": "1", "assignment_minutes": "12",
    })  # fmt: skip
    cli_made, web_made = made(ws, "from-cli"), made(ws, "from-web")
    assert cli_made == web_made
    fields, items = cli_made
    assert (fields["overlap"], fields["seed"], fields["rubric"], fields["tags"]) == (
        3, 5, RUBRIC, ("冗長",)
    )  # fmt: skip
    assert fields["assignment_minutes"] == 12 and len(items) == 4


def test_without_a_human_section_the_config_models_defaults_apply(tmp_path: Path) -> None:
    ws = project(tmp_path, human={"mode": "pairwise+rating"})
    d = ws.campaigns.defaults()
    model = HumanConfig()
    assert (d.overlap, d.rubric, d.seed) == (model.overlap, None, 11) == (3, None, 11)
    web_only = create_app(ws.store, ws.name)  # no project folder: the model's own defaults
    assert web_only.state.hyouka.front.campaigns.defaults().seed == 0


@pytest.mark.parametrize("overlap", [0, 101, 150])
def test_overlap_out_of_bounds_is_refused_in_hyouka_yaml_and_on_the_door(
    tmp_path: Path, overlap: int
) -> None:
    ws = project(tmp_path / "ok")
    with pytest.raises(Exception, match="overlap must be between 1 and 100"):
        ws.campaigns.create("too-many", overlap=overlap)
    root = tmp_path / "bad"
    write_project(root, {"name": "bad", "human": {"overlap": overlap}})
    with pytest.raises(ConfigError) as found:
        Workspace.open(root)
    assert found.value.field == "human.overlap"
    assert found.value.location is not None and found.value.location.line == 3  # its line


@pytest.mark.parametrize(("option", "value"), [("samples", 0), ("concurrency", 0),
                                               ("samples", 1001)])  # fmt: skip
def test_a_run_option_out_of_bounds_is_an_error_not_the_configs_value(
    tmp_path: Path, option: str, value: int
) -> None:
    ws = project(tmp_path)
    before = len(ws.runs())
    with pytest.raises(ConfigError, match=f"{option}={value}: must be from 1 to"):
        ws.run(**{option: value})
    assert len(ws.runs()) == before  # nothing ran
    result = CliRunner().invoke(cli, ["run", "-p", str(ws.project.root), "--samples", "0"])
    assert result.exit_code == 2 and "0" in result.output  # the CLI refuses it itself


def test_the_web_routes_call_hyouka_humans_only_through_the_front_door() -> None:
    """The judging screens, the admin pages and the JSON API take their data from the
    Workspace's facades (``ctx.front``): from ``hyouka.humans`` they import types, errors and
    the sign-in/session checks of the web layer only, never a reading or writing function."""
    import ast

    allowed = {
        # types and errors
        "Annotator", "ApiKey", "Assignment", "Campaign", "Feedback", "HumanEvalError",
        "JudgmentInput", "ItemCache", "CampaignProgress",
        # the web layer's own sign-in and session checks (hyouka/web/context.py, security.py)
        "annotator_by_token", "api_key_by_secret", "record_signin_failure", "session_annotator",
        "signin_blocked", "SigninLimit", "campaign_progress", "start_session", "end_session",
        # constants (form bounds, column names)
        "JUDGMENT_COLUMNS", "MAX_OVERLAP", "MIN_OVERLAP", "MODES",
    }  # fmt: skip
    web = Path(__file__).parents[1] / "hyouka" / "web"
    used: dict[str, set[str]] = {}
    for path in sorted(web.glob("routes_*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hyouka.humans"):
                used.setdefault(path.name, set()).update(a.name for a in node.names)
    assert "routes_judge.py" in used and "routes_api.py" in used
    beyond = {name: sorted(names - allowed) for name, names in used.items() if names - allowed}
    assert beyond == {}
