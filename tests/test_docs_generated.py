"""The generated docs match the code, and every registered check is documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hyouka import docs_gen
from hyouka.config import json_schema
from hyouka.scorers import registry

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_committed_docs_are_what_the_code_generates() -> None:
    stale = docs_gen.stale(DOCS)
    assert stale == [], f"regenerate with: python -m hyouka.docs_gen (stale: {stale})"


def test_config_schema_is_the_json_schema_of_hyouka_yaml() -> None:
    committed = json.loads((DOCS / "config-schema.json").read_text(encoding="utf-8"))
    assert committed == json_schema() and committed["title"] == "hyouka.yaml"


@pytest.mark.parametrize("name", sorted(registry.checks()))
def test_every_registered_check_has_metadata_and_a_section(name: str) -> None:
    meta = registry.checks()[name].meta
    for field in ("label", "label_ja", "description", "description_ja"):
        assert str(getattr(meta, field)).strip(), f"check '{name}' has an empty {field}"
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", meta.label_ja + meta.description_ja)
    text = (DOCS / "checks.md").read_text(encoding="utf-8")
    assert f"\n## `{name}`\n" in text, f"docs/checks.md has no section for '{name}'"
    assert f"[`{name}`](#{name})" in text


@pytest.mark.parametrize("name", sorted(registry.checks()))
def test_every_documented_example_is_a_valid_check(name: str) -> None:
    meta = registry.checks()[name].meta
    example = dict(meta.example) or {"type": name}
    spec = registry.parse_spec(example)
    assert spec.type == name
    if meta.value_type != "python-ref":  # its example names the user's own module
        registry.build(example)


def test_stale_docs_are_detected(tmp_path: Path) -> None:
    assert {p.name for p in docs_gen.stale(tmp_path)} == {
        "checks.md", "config-schema.json", "cli.md"
    }  # fmt: skip
    assert docs_gen.main(["--docs", str(tmp_path)]) == 0
    assert docs_gen.main(["--docs", str(tmp_path), "--check"]) == 0
    page = tmp_path / "checks.md"
    page.write_text(page.read_text(encoding="utf-8").replace("## `regex`", "## regex"), "utf-8")
    assert docs_gen.main(["--docs", str(tmp_path), "--check"]) == 1
    docs_gen.main(["--docs", str(tmp_path)])
    cli_page = tmp_path / "cli.md"
    cli_page.write_text(cli_page.read_text(encoding="utf-8").replace("--no-cache", "--nocache"))
    assert [p.name for p in docs_gen.stale(tmp_path)] == ["cli.md"]


def test_the_cli_reference_has_every_command_and_subcommand() -> None:
    from hyouka.cli.main import COMMANDS

    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"`hyouka {name}`" in page, name
    for sub in ("campaigns create", "feedback accept", "annotators add", "db upgrade"):
        assert f"`hyouka {sub}`" in page and f"Usage: hyouka {sub} [OPTIONS]" in page
    assert "-h, --help" in page
