"""The check registry: built-ins and a third-party plugin register through the same hook."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import select

from hyouka.api import Workspace
from hyouka.errors import ConfigError
from hyouka.plugins import register_plugin, unregister_plugin
from hyouka.scorers import registry
from hyouka.scorers.base import Check
from hyouka.store.schema import cases, samples, scores
from tests.conftest import write_project

# A third-party package: its own module, its own check class, an @hookimpl register_checks.
PLUGIN = '''
from hyouka.hookspecs import hookimpl
from hyouka.scorers.base import Check, CheckMeta, CheckResult

DOUBLE = ("いらっしゃられ", "おっしゃられ", "ご覧になられ", "お見えになられ")


class DoubleKeigo(Check):
    """Double honorifics (二重敬語) such as いらっしゃられる, from 敬語の指針 (2007)."""

    meta = CheckMeta(
        "no-double-keigo", "No double honorifics", "二重敬語なし",
        "Fails when the output uses a double honorific such as いらっしゃられる.",
        "いらっしゃられる等の二重敬語を使うと不合格。",
        example={"type": "no-double-keigo"},
    )

    def score(self, sample):
        found = [w for w in DOUBLE if w in sample.output]
        if found:
            return CheckResult(0.0, False, "double honorific: " + ", ".join(found))
        return CheckResult(1.0, True, "none found")


@hookimpl
def register_checks(register):
    register(DoubleKeigo)
'''


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[ModuleType]:
    (tmp_path / "keigo_checks_plugin.py").write_text(PLUGIN, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    module = importlib.import_module("keigo_checks_plugin")
    register_plugin(module, name="keigo-test-plugin")
    try:
        yield module
    finally:
        unregister_plugin(module)  # and plugins.reset(): every registry forgets it
        sys.path.remove(str(tmp_path))
        sys.modules.pop("keigo_checks_plugin", None)


def test_builtins_are_registered_with_metadata() -> None:
    found = registry.checks()
    for name in ("equals", "contains", "regex", "python", "char-f1", "ndcg", "judge-rubric",
                 "judge-reference", "judge-faithfulness", "judge-pairwise"):  # fmt: skip
        assert name in found
    for name, cls in found.items():
        assert issubclass(cls, Check) and cls.meta.name == name
    assert found["judge-rubric"].is_async and not found["contains"].is_async


def test_spec_parsing() -> None:
    spec = registry.parse_spec({"type": "not-contains", "value": "x", "threshold": "0.5",
                                "weight": 2, "metric": "安全", "normalize": "loose"})  # fmt: skip
    assert (spec.type, spec.negate, spec.threshold, spec.weight, spec.metric_name) == (
        "contains", True, 0.5, 2.0, "安全")  # fmt: skip
    assert dict(spec.options) == {"normalize": "loose"} and spec.full_name == "not-contains"
    with pytest.raises(ValueError, match="'threshold' and 'weight' must be numbers"):
        registry.parse_spec({"type": "contains", "value": "x", "threshold": "high"})
    with pytest.raises(ValueError, match="every check needs a 'type'"):
        registry.parse_spec({"value": "x"})


def test_a_plugin_check_is_used_from_hyouka_yaml_and_scored_in_a_run(
    tmp_path: Path, plugin: ModuleType
) -> None:
    assert registry.checks()["no-double-keigo"].__module__ == "keigo_checks_plugin"
    cfg = {
        "name": "keigo",
        "providers": {"e": {"type": "echo"}},
        "variants": {"v": {"provider": "e", "prompt": "{{ q }}"}},
        "checks": [{"type": "no-double-keigo"}, {"type": "not-no-double-keigo", "metric": "dbl"}],
    }
    rows = [{"id": "bad", "vars": {"q": "先生がいらっしゃられました"}},
            {"id": "good", "vars": {"q": "先生がいらっしゃいました"}}]  # fmt: skip
    ws = Workspace.open(write_project(tmp_path / "p", cfg, rows))
    ws.run()
    with ws.store.engine.connect() as conn:
        got = conn.execute(
            select(cases.c.case_key, scores.c.metric, scores.c.passed, scores.c.reason)
            .join(samples, samples.c.id == scores.c.sample_id)
            .join(cases, cases.c.id == samples.c.case_id)
            .order_by(cases.c.case_key, scores.c.metric)
        ).all()
    assert [tuple(r) for r in got] == [
        ("bad", "dbl", True, "negated: double honorific: いらっしゃられ"),
        ("bad", "no-double-keigo", False, "double honorific: いらっしゃられ"),
        ("good", "dbl", False, "negated: none found"),
        ("good", "no-double-keigo", True, "none found"),
    ]
    _, [summary] = ws.show()
    assert summary.checks[("no-double-keigo", "no-double-keigo")].pass_rate == 0.5


def test_without_the_plugin_its_check_is_a_config_error(tmp_path: Path) -> None:
    cfg = {"name": "x", "providers": {"e": {"type": "echo"}},
           "variants": {"v": {"provider": "e", "prompt": "{{ q }}"}},
           "checks": [{"type": "no-double-keigo"}]}  # fmt: skip
    ws = Workspace.open(write_project(tmp_path, cfg, [{"id": "a", "vars": {"q": "x"}}]))
    with pytest.raises(ConfigError, match="unknown check type 'no-double-keigo'"):
        ws.run()
