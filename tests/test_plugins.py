"""Plugins: every hook is documented and exercised, through the real plugin manager."""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import select

from hyouka import hookspecs
from hyouka.api import Workspace
from hyouka.errors import ConfigError
from hyouka.plugins import check_classes, provider_factories, register_plugin, unregister_plugin
from hyouka.store.schema import samples, scores
from tests.conftest import write_project

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = Path(__file__).resolve().parent / "plugins"


def hooks() -> list[str]:
    """Every hook of the contract: the functions marked ``@hookspec`` in hookspecs.py."""
    tree = ast.parse(Path(hookspecs.__file__).read_text(encoding="utf-8"))
    return sorted(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(d, ast.Name) and d.id == "hookspec" for d in node.decorator_list)
    )


def implemented_by_test_plugins() -> set[str]:
    found: set[str] = set()
    for path in PLUGINS.glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Name) and d.id == "hookimpl" for d in node.decorator_list
            ):
                found.add(node.name)
    return found


def test_every_hook_is_documented() -> None:
    page = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^## `(\w+)`$", page, re.M))
    assert hooks() == ["register_checks", "register_providers"]
    assert documented == set(hooks())


def test_every_hook_is_implemented_by_a_test_plugin() -> None:
    assert implemented_by_test_plugins() >= set(hooks())


@pytest.fixture
def plugin() -> Iterator[ModuleType]:
    module = importlib.import_module("tests.plugins.hyouka_test_plugin")
    register_plugin(module, name="hyouka-test-plugin")
    try:
        yield module
    finally:
        unregister_plugin(module)


def test_a_plugins_provider_type_and_check_run_like_built_ins(
    plugin: ModuleType, tmp_path: Path
) -> None:
    assert "reverse" in provider_factories() and "ends-with-bang" in check_classes()
    cfg = {
        "name": "plugged",
        "providers": {"rev": {"type": "reverse"}},
        "variants": {"loud": {"provider": "rev", "prompt": "{{ q }}", "params": {"suffix": "!"}},
                     "calm": {"provider": "rev", "prompt": "{{ q }}"}},
        "checks": [{"type": "ends-with-bang"}, {"type": "not-ends-with-bang", "metric": "calm"}],
    }  # fmt: skip
    ws = Workspace.open(write_project(tmp_path, cfg, [{"id": "c1", "vars": {"q": "すこし"}}]))
    result = ws.run()
    assert (result.progress.done, result.progress.errors) == (2, 0)
    with ws.store.engine.connect() as conn:
        outputs = sorted(o for (o,) in conn.execute(select(samples.c.output)))
        passed = sorted((m, p) for m, p in conn.execute(select(scores.c.metric, scores.c.passed)))
    assert outputs == ["しこす", "しこす!"]
    assert passed == [("calm", False), ("calm", True), ("ends-with-bang", False),
                      ("ends-with-bang", True)]  # fmt: skip


def test_a_plugins_param_check_stops_a_typo_before_the_run(
    plugin: ModuleType, tmp_path: Path
) -> None:
    cfg = {
        "name": "typo",
        "providers": {"rev": {"type": "reverse"}},
        "variants": {"v": {"provider": "rev", "prompt": "{{ q }}", "params": {"sufix": "!"}}},
    }
    ws = Workspace.open(write_project(tmp_path, cfg, [{"id": "c1", "vars": {"q": "x"}}]))
    with pytest.raises(ConfigError, match="'sufix' is not taken by the reverse provider"):
        ws.run()
    assert ws.runs() == []


def test_unregistering_forgets_the_plugin_everywhere(tmp_path: Path) -> None:
    module = importlib.import_module("tests.plugins.hyouka_test_plugin")
    register_plugin(module)
    assert "reverse" in provider_factories() and "ends-with-bang" in check_classes()
    unregister_plugin(module)
    assert "reverse" not in provider_factories() and "ends-with-bang" not in check_classes()
