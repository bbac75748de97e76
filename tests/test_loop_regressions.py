"""regressions.yaml and hyouka.yaml are edited as text: comments survive, bad edits are undone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hyouka.config import load_config
from hyouka.loop.regressions import (
    HEADER,
    RegressionsFileError,
    add_include,
    case_row,
    insert_item,
    remove_check,
    remove_item,
    write_accepted,
)
from tests.conftest import write_project

RUBRIC = {
    "type": "judge-rubric",
    "judge": "gpt",
    "rubric": "一行目\n二行目",
    "scale": [1, 5],
    "threshold": 4,
    "lang": "ja",
    "metric": "complaint-2",
}


def test_items_go_into_their_lists_with_comments_and_the_file_stays_valid_yaml() -> None:
    text = insert_item(
        HEADER,
        ("checks",),
        {"type": "not-contains", "value": "AIとして", "metric": "complaint-1"},
        ["complaint-1 · who"],
    )
    text = insert_item(text, ("datasets", "regressions", "checks"), RUBRIC, ["complaint-2"])
    text = insert_item(
        text,
        ("checks",),
        {"type": "not-regex", "value": "AI(の私|として)", "metric": "complaint-12"},
        ["complaint-12"],
    )
    data = yaml.safe_load(text)
    assert [c["metric"] for c in data["checks"]] == ["complaint-1", "complaint-12"]
    assert data["datasets"]["regressions"]["checks"] == [RUBRIC]
    assert data["datasets"]["regressions"]["path"] == "data/regressions.jsonl"
    assert "  # complaint-1 · who\n  - type: not-contains" in text
    assert "        rubric: |-\n          一行目\n          二行目\n" in text  # a readable block
    assert text.startswith("# Regression checks grown from complaints")


def test_removing_a_check_takes_its_comments_and_leaves_the_others() -> None:
    text = HEADER
    for n in (1, 12):
        text = insert_item(
            text,
            ("checks",),
            {"type": "not-contains", "value": f"v{n}", "metric": f"complaint-{n}"},
            [f"about {n}"],
        )
    text = remove_item(text, "complaint-1")
    assert [c["metric"] for c in yaml.safe_load(text)["checks"]] == ["complaint-12"]
    assert "about 1\n" not in text and "about 12" in text
    assert remove_item(text, "complaint-99") == text


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("name: p  # mine\n", "name: p  # mine\ninclude: [regressions.yaml]  # regression checks"),
        (
            "name: p\ninclude: [more.yaml]  # keep\n",
            "include: [more.yaml, regressions.yaml]  # keep",
        ),
        ("name: p\ninclude: []\n", "include: [regressions.yaml]"),
        (
            "include:\n    - more.yaml  # x\nname: p\n",
            "include:\n    - more.yaml  # x\n    - regressions.yaml\nname: p",
        ),
    ],
)
def test_include_is_added_once_keeping_the_users_layout(before: str, after: str) -> None:
    text, changed = add_include(before)
    assert changed and after in text
    again, changed = add_include(text)
    assert not changed and again == text
    assert "regressions.yaml" in yaml.safe_load(text)["include"]


def _project(tmp_path: Path, **extra: object) -> Path:
    cfg = {
        "name": "p",
        "providers": {"fake": {"type": "echo"}},
        "variants": {"v": {"provider": "fake", "prompt": "{{ q }}"}},
        **extra,
    }
    root = write_project(tmp_path, cfg, [{"id": "c1", "vars": {"q": "質問"}}])
    text = (root / "hyouka.yaml").read_text(encoding="utf-8")
    (root / "hyouka.yaml").write_text("# 大事なコメント\n" + text, encoding="utf-8")
    return root


def test_accepting_writes_the_check_the_include_and_the_case_and_the_project_loads(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    record = {
        "judgment_id": 7,
        "case_id": 1,
        "case_key": "c1",
        "variant": "v@abc",
        "output": "担当者にお問い合わせください",
    }
    content = {"id": "c1", "vars": {"q": "質問"}, "expected": None, "checks": [], "tags": []}
    check = {"type": "not-contains", "value": "担当者", "metric": "complaint-3"}
    written = write_accepted(root, check, ["complaint-3 · by kimura"], 3, [record], {1: content})
    assert written.include_added and written.cases_added == ("complaint-3-c1",)
    project = load_config(root)
    assert [c.metric for c in project.config.checks] == ["complaint-3"]
    assert project.config.datasets["regressions"].path == "data/regressions.jsonl"
    (row,) = [json.loads(x) for x in (root / "data/regressions.jsonl").read_text().splitlines()]
    assert row["vars"] == {"q": "質問"} and row["tags"] == ["regression", "complaint-3"]
    assert row["metadata"]["regression"]["judgment"] == 7
    assert (root / "hyouka.yaml").read_text(encoding="utf-8").startswith("# 大事なコメント\n")
    # The same input is already guarded: a second complaint about it adds no case.
    again = write_accepted(root, {**check, "metric": "complaint-4"}, [], 4, [record], {1: content})
    assert again.cases_added == () and not again.include_added
    assert remove_check(root, "complaint-3")
    assert [c.metric for c in load_config(root).config.checks] == ["complaint-4"]


def test_an_edit_that_breaks_the_project_is_undone(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = (root / "hyouka.yaml").read_text(encoding="utf-8")
    bad = {"type": "not-regex", "value": "([unclosed", "metric": "complaint-1"}
    with pytest.raises(RegressionsFileError, match="nothing was changed"):
        write_accepted(root, bad, [], 1, [], {})
    assert (root / "hyouka.yaml").read_text(encoding="utf-8") == before
    assert not (root / "regressions.yaml").exists()


def test_a_judge_check_refuses_when_hyouka_yaml_already_declares_the_regressions_dataset(
    tmp_path: Path,
) -> None:
    root = _project(
        tmp_path, datasets={"main": "data/cases.jsonl", "regressions": "data/cases.jsonl"}
    )
    with pytest.raises(RegressionsFileError, match="declares a 'regressions' dataset itself"):
        write_accepted(root, RUBRIC, [], 2, [], {})


def test_a_production_complaint_becomes_a_case_in_the_projects_one_template_variable() -> None:
    record = {"judgment_id": 9, "input_text": "おすすめは?", "output": "他社のX"}
    row = case_row(5, record, None, "q")
    assert row == {
        "id": "complaint-5-j9",
        "vars": {"q": "おすすめは?"},
        "tags": ["regression", "complaint-5"],
        "metadata": {
            "regression": {
                "complaint": 5,
                "judgment": 9,
                "from_case": None,
                "variant": None,
                "complained_output": "他社のX",
            }
        },
    }
    assert case_row(5, {"judgment_id": 9, "output": "x"}, None, "q") is None  # no input known
