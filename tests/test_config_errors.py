"""Broken configs and datasets: one clear message with file, line and field; no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hyouka.config import load_config
from hyouka.datasets import load_dataset
from hyouka.errors import ConfigError, DatasetError

GOOD = """\
name: demo
providers:
  fake: {type: echo}
variants:
  a:
    provider: fake
    prompt: "{{ q }}"
datasets:
  main: data.jsonl
"""

CONFIG_CASES = [
    # (yaml text, expected "file:line" suffix, expected message fragment)
    # an unclosed bracket: at the bracket, not where the file ends (issue 16)
    ("name: demo\nvariants: [\n", ":2:11", "invalid YAML: this bracket is never closed"),
    (GOOD.replace("name: demo\n", ""), ":1:1", "name: this field is required"),
    (GOOD + "samples: zero\n", ":10:10", "samples: Input should be a valid integer"),
    (GOOD + "samples: 0\n", ":10:10", "samples: Input should be greater than or equal to 1"),
    (
        GOOD.replace("    provider: fake\n", "    provider: fake\n    temprature: 0.5\n"),
        ":7:5",
        "variants.a.temprature: unknown field",
    ),
    (
        GOOD.replace("provider: fake", "provider: gpt"),
        ":6:15",
        "variants.a.provider: unknown provider 'gpt' (known: fake)",
    ),
    (
        GOOD.replace('    prompt: "{{ q }}"\n', ""),
        ":6:5",
        "variants.a: give either 'prompt' (with 'provider') or 'app: module:function'",
    ),
    (
        GOOD.replace('    prompt: "{{ q }}"\n', "    prompt: x\n    app: mod:fn\n"),
        ":6:5",
        "variants.a: give 'prompt' or 'app', not both",
    ),
    (GOOD + "name: again\n", ":10", "the key 'name' appears twice"),
    (GOOD + "include: [missing.yaml]\n", ":10:11", "included file 'missing.yaml' not found"),
    ("- just\n- a list\n", ":1", "the file must hold a mapping"),
]


@pytest.mark.parametrize(("text", "where", "message"), CONFIG_CASES)
def test_broken_config_gives_location_and_message(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    (tmp_path / "hyouka.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    rendered = str(info.value)
    assert rendered.startswith(str(tmp_path / "hyouka.yaml") + where + ":"), rendered
    assert message in rendered, rendered


def test_unknown_check_type_is_located_and_suggests(tmp_path: Path) -> None:
    from hyouka.scorers.engine import compile_checks

    (tmp_path / "hyouka.yaml").write_text(
        GOOD + "checks:\n  - {type: contians, value: x}\n", encoding="utf-8"
    )
    project = load_config(tmp_path)
    with pytest.raises(ConfigError) as info:
        compile_checks(project)
    assert str(info.value) == (
        f"{tmp_path / 'hyouka.yaml'}:11:5: checks.0: unknown check type 'contians' "
        "(did you mean contains, icontains, contains-any?); see docs/checks.md"
    )


def test_cli_prints_one_line_and_exits_2_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "hyouka.yaml").write_text(GOOD + "samples: -3\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "hyouka", "run", "-p", str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "hyouka.yaml:10:10: samples: Input should be greater than or equal to 1" in " ".join(
        proc.stderr.split()
    )


DATASET_CASES = [
    (
        "a.jsonl",
        '{"vars": {"q": 1}}\n{"vars": \n{"vars": {"q": 2}}\n',
        ["a.jsonl:2: invalid JSON at column 10: Expecting value"],
        2,
    ),
    (
        "a.jsonl",
        '{"vars": {"q": 1}, "question": "x"}\n',
        [
            "a.jsonl:1: unknown field(s) question; put template inputs under 'vars' "
            "(allowed: aspect, checks, expected, expected_tool_calls, gold_ids, id, messages, "
            "metadata, simulate, tags, tools, vars)"
        ],
        0,
    ),
    (
        "a.jsonl",
        '{"id": "x", "vars": {}}\n{"id": "x", "vars": {}}\n',
        ["a.jsonl:2: duplicate id 'x' (first at line 1)"],
        1,
    ),
    (
        "a.jsonl",
        '[1, 2]\n{"vars": {"q": 1}, "expected": {"a": 1}}\n',
        [
            "a.jsonl:1: a row must be an object/mapping",
            "a.jsonl:2: 'expected' must be a string or a list of strings",
        ],
        0,
    ),
    (
        "a.jsonl",
        '{"vars": {"q": 1}, "checks": [{"value": "x"}]}\n',
        ["a.jsonl:1: every check needs a 'type'"],
        0,
    ),
    (
        "a.csv",
        'id,question,expected\n1,東京は?,東京\n2,大阪は?\n3,名古屋は?,"[""名古屋""]"\n',
        ["a.csv:3: has 2 cells but the header has 3"],
        2,
    ),
    (
        "a.yaml",
        "- id: a\n  vars: {q: 1}\n- id: b\n  vars: [1]\n",
        ["a.yaml:3: 'vars' must be a mapping of template variables"],
        1,
    ),
]


@pytest.mark.parametrize(("name", "text", "problems", "good"), DATASET_CASES)
def test_bad_rows_are_reported_with_file_and_line(
    tmp_path: Path, name: str, text: str, problems: list[str], good: int
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    dataset = load_dataset("d", path)
    found = [str(p).replace(str(tmp_path) + "/", "") for p in dataset.problems]
    assert found == problems
    assert len(dataset.cases) == good
    with pytest.raises(DatasetError, match=f"{len(problems)} bad row"):
        dataset.raise_for_problems()


def test_csv_columns_become_vars_and_lists(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        'id,question,expected,tags\n1,東京は?,"[""東京"",""東京都""]",geo;ja\n', encoding="utf-8"
    )
    (case,) = load_dataset("d", path).cases
    assert case.vars == {"question": "東京は?"}
    assert case.expected == ("東京", "東京都")
    assert case.tags == ("geo", "ja")


def test_case_id_is_derived_from_content_when_missing(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"vars": {"q": "x"}}\n{"vars": {"q": "y"}}\n', encoding="utf-8")
    first = load_dataset("d", path)
    again = load_dataset("d", path)
    assert [c.id for c in first.cases] == [c.id for c in again.cases]
    assert len({c.id for c in first.cases}) == 2 and all(len(c.id) == 12 for c in first.cases)
    assert first.version == again.version
    path.write_text('{"vars": {"q": "x"}}\n{"vars": {"q": "z"}}\n', encoding="utf-8")
    assert load_dataset("d", path).version != first.version
