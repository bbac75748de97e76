"""The ``experiments:`` section: clear errors with file, line and field; the sync rules; the
messages exist in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hyouka.api import Workspace
from hyouka.cli.main import cli
from hyouka.config import load_config
from hyouka.errors import ConfigError, HyoukaError
from hyouka.experiments import messages


def _write(root: Path, experiment: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "hyouka.yaml").write_text(
        yaml.safe_dump({"name": "x", "experiments": {"tone": experiment}}), "utf-8"
    )
    return root


@pytest.mark.parametrize(
    ("experiment", "field", "words"),
    [
        ({"variants": ["a"]}, "experiments.tone.variants", "at least 2"),
        ({"variants": ["a", "a"]}, "experiments.tone.variants", "only once"),
        ({"variants": ["a", "b"], "control": "c"}, "experiments.tone", "control 'c'"),
        ({"variants": ["a", "b"], "weights": {"z": 1}}, "experiments.tone", "unknown variant"),
        ({"variants": ["a", "b"], "unit": "device"}, "experiments.tone.unit", "user"),
        ({"variants": ["a", "b"], "ramp": 0}, "experiments.tone.ramp", "greater than 0"),
        ({"variants": ["a", "b"], "outcomes": {"h": {"kind": "value"}}},
         "experiments.tone.outcomes.h", "better"),
        ({"variants": ["a", "b"], "guardrails": [{"metric": "nope"}]},
         "experiments.tone", "guardrail metric 'nope'"),
        ({"variants": ["a", "b"], "colour": "red"}, "experiments.tone.colour", "unknown field"),
    ],
)  # fmt: skip
def test_bad_experiment_config_names_the_field(
    tmp_path: Path, experiment: object, field: str, words: str
) -> None:
    _write(tmp_path, experiment)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    err = info.value
    assert err.field == field, (err.field, str(err))
    assert words in str(err)
    assert "hyouka.yaml" in str(err.location) and err.location.line


def test_unit_cannot_change_after_start_and_cli_says_so(tmp_path: Path) -> None:
    root = _write(tmp_path, {"variants": ["a", "b"]})
    ws = Workspace.open(root)
    try:
        ws.experiments.start("tone")
        _write(root, {"variants": ["a", "b"], "unit": "session"})
        ws2 = Workspace.open(root)
        with pytest.raises(HyoukaError, match="unit cannot change"):
            ws2.experiments.sync()
        ws2.close()
        res = CliRunner().invoke(cli, ["experiments", "sync", "-p", str(root)])
        assert res.exit_code == 2 and "unit cannot change" in res.output
        assert "Traceback" not in res.output
        res = CliRunner().invoke(cli, ["experiments", "stop", "nope", "-p", str(root)])
        assert res.exit_code != 0 and "no experiment 'nope'" in res.output
    finally:
        ws.close()


def test_reweight_through_sync_moves_the_fewest_units(tmp_path: Path) -> None:
    root = _write(tmp_path, {"variants": ["a", "b"]})
    ws = Workspace.open(root)
    try:
        ws.experiments.start("tone")
        _write(root, {"variants": ["a", "b"], "weights": {"a": 9, "b": 1}})
        changes = Workspace.open(root).experiments.sync()
        assert changes[0].what == "reweighted" and changes[0].moved_share == pytest.approx(0.4)
        state = ws.experiments.get("tone")
        assert state.status == "running" and state.shares == {"a": 0.9, "b": 0.1}
        assert [h.revision for h in state.history] == [1, 2, 3]
    finally:
        ws.close()


def test_cli_list_ramp_stop_start(tmp_path: Path) -> None:
    root = _write(tmp_path, {"variants": ["a", "b"], "weights": {"a": 3, "b": 1}})
    run = CliRunner()
    out = run.invoke(cli, ["experiments", "list", "-p", str(root)])
    assert out.exit_code == 0 and "not synced: tone" in out.output
    assert "tone: created" in run.invoke(cli, ["experiments", "sync", "-p", str(root)]).output
    out = run.invoke(cli, ["experiments", "start", "tone", "-p", str(root)])
    assert "running · a 75% / b 25% · ramp 100%" in out.output
    assert (
        "ramp 20%" in run.invoke(cli, ["experiments", "ramp", "tone", "20", "-p", str(root)]).output
    )
    assert run.invoke(cli, ["experiments", "ramp", "tone", "0", "-p", str(root)]).exit_code == 2
    assert "stopped" in run.invoke(cli, ["experiments", "stop", "tone", "-p", str(root)]).output
    out = run.invoke(cli, ["experiments", "list", "--json", "-p", str(root)])
    assert '"status": "stopped"' in out.output and '"ramp": 0.2' in out.output
    out = run.invoke(cli, ["experiments", "show", "tone", "-p", str(root), "--lang", "en"])
    assert out.exit_code == 0 and "No exposures yet" in out.output
    out = run.invoke(cli, ["widgetkeys", "add", "page", "--origin", "ftp://x", "-p", str(root)])
    assert out.exit_code == 2 and "is not an origin" in out.output
    out = run.invoke(
        cli, ["widgetkeys", "add", "page", "--origin", "https://App.example/", "-p", str(root)]
    )
    assert out.exit_code == 0 and "hkp_" in out.output and "https://app.example" in out.output


def test_messages_in_both_languages() -> None:
    assert set(messages.EN) == set(messages.JA)
