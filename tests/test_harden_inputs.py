"""Issue 12's failures 1-3 and 9c, issue 11's YAML booleans and issue 16's unclosed bracket:
hostile datasets and configs get a clear error with file and line (exit 2), never a
traceback, a hang or a memory blow-up."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hyouka.config import load_config
from hyouka.datasets import load_dataset
from hyouka.errors import ConfigError, DatasetError
from hyouka.yamlsource import parse_yaml
from tests.fuzz_targets import alias_bomb, invoke

CONFIG = """name: hard
providers: {e: {type: echo}}
variants: {v: {provider: e, prompt: "{{ q }}"}}
datasets: {main: DATASET}
"""


def project(root: Path, dataset: str, data: bytes | str, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "hyouka.yaml").write_text(CONFIG.replace("DATASET", dataset) + extra, "utf-8")
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    (root / dataset).write_bytes(raw)
    return root


def run_cli(root: Path, *more: str) -> tuple[int, str]:
    code, out = invoke(["run", "-p", str(root), *more])
    return code, " ".join(out.split())


# -- 1. datasets that used to raise a traceback (exit 1), even with --skip-bad-rows ---------


def test_a_csv_cell_over_131072_characters_loads(tmp_path: Path) -> None:
    passage = "x" * 200_000
    root = project(tmp_path, "cases.csv", f"id,q\nr1,{passage}\n")
    (case,) = load_dataset("main", root / "cases.csv").cases
    assert case.id == "r1" and case.vars == {"q": passage}
    code, out = run_cli(root)
    assert code == 0, out
    # and the process-wide csv limit is left as it was
    import csv

    assert csv.field_size_limit() == 131072


BAD_ROWS = [
    ('{"id":"d","vars":{"q":' + "[" * 1000 + "]" * 1000 + "}}", "nested more than 100 levels"),
    ('{"id":"i","vars":{"q":' + "7" * 4301 + "}}", "a number has more than 4,300 digits"),
    ('{"id":"s","vars":{"q":"a\\ud800b"}}', "vars.q holds a lone surrogate (U+D800)"),
    ('{"id":"n","vars":{"q":"a\\u0000b"}}', "vars.q holds a NUL character"),
    ('{"id":"b","vars":{"q":' + str(2**64) + "}}", "does not fit in 64 bits"),
    ('{"id":"' + "k" * 201 + '","vars":{"q":1}}', "'id' must be 1 to 200 characters"),
]


@pytest.mark.parametrize(("line", "message"), BAD_ROWS, ids=[m[:20] for _, m in BAD_ROWS])
def test_a_hostile_jsonl_row_is_a_row_problem_with_its_line(
    tmp_path: Path, line: str, message: str
) -> None:
    root = project(tmp_path, "cases.jsonl", '{"id":"ok","vars":{"q":"fine"}}\n' + line + "\n")
    dataset = load_dataset("main", root / "cases.jsonl")
    assert [c.id for c in dataset.cases] == ["ok"]
    (problem,) = dataset.problems
    assert str(problem).startswith(f"{root / 'cases.jsonl'}:2: ") and message in str(problem)
    code, out = run_cli(root)
    assert code == 2 and "cases.jsonl:2: " in out and message in out
    code, out = run_cli(root, "--skip-bad-rows")  # the good row runs, the bad one is said
    assert code == 0 and "skipped 1 bad row(s)" in out and message in out


def test_a_row_whose_text_looks_like_console_markup_is_printed_as_is(tmp_path: Path) -> None:
    root = project(tmp_path, "cases.jsonl", '{"vars":{"q":1},"[/bold]":1}\n{"vars":{"q":2}}\n')
    code, out = run_cli(root)
    assert code == 2 and "unknown field(s) [/bold]" in out
    code, out = run_cli(root, "--skip-bad-rows")
    assert code == 0 and "unknown field(s) [/bold]" in out


# -- 9c. empty datasets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("cases.csv", "", "has no rows"),
        ("cases.csv", "id,q\n", "has only a header row"),
        ("cases.csv", "\ufeffid,q\n\n", "has only a header row"),
        ("cases.jsonl", "\n \n", "has no rows"),
        ("cases.yaml", "# nothing yet\n", "has no rows"),
        ("cases.yaml", "cases: []\n", "has no rows"),
    ],
)
def test_an_empty_or_header_only_dataset_exits_2(
    tmp_path: Path, name: str, data: str, message: str
) -> None:
    root = project(tmp_path, name, data)
    with pytest.raises(DatasetError, match=message):
        load_dataset("main", root / name)
    code, out = run_cli(root)
    assert code == 2 and f"{root / name}: dataset 'main' {message}" in out


# -- 2. alias bombs: bounded, with file and line ---------------------------------------------

BOMB = alias_bomb(7, 9)  # 9**7 = 4.8 million values from a few hundred bytes


def _bounded(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run hyouka in a child with 1 GB of address space; a hang fails after 60 s."""
    limit = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30)); "
        "from hyouka.cli.main import main; sys.argv = ['hyouka'] + sys.argv[1:]; main()"
    )
    return subprocess.run(
        [sys.executable, "-c", limit, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_an_alias_bomb_dataset_is_refused_quickly_with_its_line(tmp_path: Path) -> None:
    assert len(BOMB.encode()) < 500
    data = BOMB + "cases:\n  - id: x\n    vars: {q: *a7}\n"
    root = project(tmp_path, "cases.yaml", data)
    proc = _bounded(["run", "-p", str(root)], tmp_path)
    assert proc.returncode == 2, proc.stderr[-500:]
    assert "Traceback" not in proc.stderr
    err = " ".join(proc.stderr.split())
    assert f"{root / 'cases.yaml'}:" in err and "expand to more than 100,000 values" in err


def test_an_alias_bomb_config_is_refused_quickly_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "hyouka.yaml").write_text("name: bomb\n" + BOMB + "variants: *a7\n", "utf-8")
    proc = _bounded(["variants", "-p", str(tmp_path)], tmp_path)
    assert proc.returncode == 2, proc.stderr[-500:]
    err = " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr
    assert f"{tmp_path / 'hyouka.yaml'}:" in err and "expand to more than 100,000 values" in err


def test_a_self_referencing_alias_and_deep_nesting_are_errors() -> None:
    with pytest.raises(ConfigError, match="refers to itself") as found:
        parse_yaml("a: &x [1, *x]\n", "f.yaml")
    assert str(found.value).startswith("f.yaml:1:")
    with pytest.raises(ConfigError, match="nested more than 100 levels") as deep:
        parse_yaml("a: " + "[" * 3000 + "]" * 3000 + "\n", "f.yaml")
    assert str(deep.value).startswith("f.yaml:1:")


def test_aliases_within_the_limit_still_work() -> None:
    data, _ = parse_yaml("base: &b {tone: polite}\nv1: *b\nv2: *b\n", "f.yaml")
    assert data == {"base": {"tone": "polite"}, "v1": {"tone": "polite"}, "v2": {"tone": "polite"}}


# -- 3. include: of the wrong type -----------------------------------------------------------


@pytest.mark.parametrize("value", ["5", "true", ".inf", "{a: 1}", "[5]", "[sub]"])
def test_include_of_the_wrong_type_is_a_config_error(tmp_path: Path, value: str) -> None:
    (tmp_path / "sub").mkdir()
    root = project(tmp_path, "d.jsonl", '{"vars":{"q":1}}\n', f"include: {value}\n")
    with pytest.raises(ConfigError) as found:
        load_config(root)
    message = str(found.value)
    assert message.startswith(f"{root / 'hyouka.yaml'}:5:") and "include" in message
    code, out = invoke(["variants", "-p", str(root)])
    assert code == 2 and "hyouka.yaml:5:" in " ".join(out.split())


def test_an_included_file_with_sections_of_the_wrong_type_is_a_config_error(
    tmp_path: Path,
) -> None:
    root = project(tmp_path, "d.jsonl", '{"vars":{"q":1}}\n', "include: [more.yaml]\n")
    (root / "more.yaml").write_text("checks: 5\n", "utf-8")
    with pytest.raises(ConfigError, match="'checks' must be a list") as found:
        load_config(root)
    assert str(found.value).startswith(f"{root / 'more.yaml'}:1:")


# -- issue 11: no YAML 1.1 booleans ---------------------------------------------------------


def test_on_yes_and_no_stay_text_in_configs_and_yaml_datasets(tmp_path: Path) -> None:
    extra = "checks:\n  - {type: contains, value: yes, on: 1}\n"
    root = project(tmp_path, "cases.yaml", "- id: a\n  vars: {on: 1, off: no, q: yes}\n", extra)
    project_ = load_config(root)
    (check,) = project_.config.checks
    assert check.value == "yes" and check.options == {"on": 1}
    (case,) = load_dataset("main", root / "cases.yaml").cases
    assert case.vars == {"on": 1, "off": "no", "q": "yes"}
    data, _ = parse_yaml("a: true\nb: False\nc: TRUE\nd: 1\n", "f.yaml")
    assert data == {"a": True, "b": False, "c": True, "d": 1}


# -- issue 16: an unclosed bracket is reported where it opens ------------------------------


def test_an_unclosed_bracket_points_at_the_bracket(tmp_path: Path) -> None:
    lines = [
        "name: brackets",
        *[f"# comment line {i}" for i in range(2, 16)],
        "samples: [3",  # line 16, the bracket at column 10
        "",
        "",
    ]
    (tmp_path / "hyouka.yaml").write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(ConfigError) as found:
        load_config(tmp_path)
    assert str(found.value).startswith(f"{tmp_path / 'hyouka.yaml'}:16:10: invalid YAML:")
    assert "never closed" in str(found.value)


def test_an_unclosed_quote_points_at_the_quote() -> None:
    with pytest.raises(ConfigError) as found:
        parse_yaml(textwrap.dedent('a: 1\nb: "open\n\n'), "f.yaml")
    assert str(found.value).startswith("f.yaml:2:4: invalid YAML: this quoted text")


# -- the rest of the input bounds ------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("seed: 9223372036854775808\n", "seed"),
        ("seed: -1\n", "seed"),
        ("name2: x\n", "name2"),
    ],
)
def test_config_values_beyond_the_stores_columns_are_config_errors(
    tmp_path: Path, extra: str, field: str
) -> None:
    root = project(tmp_path, "d.jsonl", '{"vars":{"q":1}}\n', extra)
    with pytest.raises(ConfigError) as found:
        load_config(root)
    assert found.value.field == field and str(found.value).startswith(str(root / "hyouka.yaml"))


def test_a_variant_name_with_a_line_break_is_a_config_error(tmp_path: Path) -> None:
    config = CONFIG.replace("DATASET", "d.jsonl").replace("{v: {", '{"a\\nb": {')
    (tmp_path / "hyouka.yaml").write_text(config, "utf-8")
    (tmp_path / "d.jsonl").write_text('{"vars":{"q":1}}\n', "utf-8")
    with pytest.raises(ConfigError, match="line break"):
        load_config(tmp_path)


def test_a_file_that_is_not_utf8_says_at_which_line(tmp_path: Path) -> None:
    root = project(tmp_path, "cases.jsonl", b'{"vars":{"q":1}}\n{"vars":{"q":"\xff"}}\n')
    with pytest.raises(DatasetError, match="not UTF-8 text") as found:
        load_dataset("main", root / "cases.jsonl")
    assert str(found.value).startswith(f"{root / 'cases.jsonl'}:2: ")
