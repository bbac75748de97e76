"""The one model-calling layer: the runner and the judges call through the same pool.

Real runs against the fake server on 127.0.0.1 (real HTTP), and a real app function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from hyouka.api import Workspace
from hyouka.config import ProviderConfig, load_config
from hyouka.providers.pool import DEFAULT_POLICY, CallPolicy, ProviderPool
from hyouka.store.schema import samples
from hyouka.testing import FakeServer
from tests.conftest import write_project

FLAKY_APP = '''
from hyouka.errors import ProviderError

tries = {}


def answer(case, params, ctx):
    """Fails retryably four times per case, then answers."""
    n = tries[case.id] = tries.get(case.id, 0) + 1
    if n <= 4:
        raise ProviderError(f"flaky #{n}", retryable=True)
    return f"answered after {n} tries"
'''


def test_a_call_without_a_provider_takes_the_configs_defaults(tmp_path: Path) -> None:
    defaults = ProviderConfig(type="any")
    assert DEFAULT_POLICY == CallPolicy(defaults.timeout, defaults.max_retries) == CallPolicy(60, 6)
    (tmp_path / "flaky.py").write_text(FLAKY_APP, encoding="utf-8")
    cfg = {"name": "apps", "variants": {"app": {"app": "flaky:answer"}}}
    ws = Workspace.open(write_project(tmp_path, cfg, [{"id": "c1", "vars": {"q": "x"}}]))
    assert ProviderPool(ws.project).policy(None) == DEFAULT_POLICY
    result = ws.run(retry_base_delay=0.001)
    with ws.store.engine.connect() as conn:
        row = conn.execute(select(samples.c.status, samples.c.output, samples.c.attempts)).one()
    # 6 retries (the config's default), not the runner's old fallback of 2
    assert tuple(row) == ("ok", "answered after 5 tries", 5)
    assert (result.progress.calls, result.progress.errors) == (5, 0)


def test_a_provider_of_variants_and_judges_is_one_provider(tmp_path: Path) -> None:
    with FakeServer(responder=lambda body: "4") as srv:
        cfg: dict[str, Any] = {
            "name": "shared",
            "concurrency": 2,
            "providers": {"gpt": {"type": "openai", "base_url": srv.base_url, "model": "m"}},
            "variants": {"v": {"provider": "gpt", "prompt": "{{ q }}"}},
            "checks": [{"type": "judge-rubric", "judge": "gpt"}],
        }
        cases = [{"id": f"c{i}", "vars": {"q": f"q{i}"}} for i in range(6)]
        ws = Workspace.open(write_project(tmp_path, cfg, cases))
        result = ws.run()
        stats = srv.stats()
    assert result.judges is not None and result.judges.calls == 6
    assert stats["model_calls"] == 12
    # The judges reuse the variants' connections (one pool); their own would open more.
    assert stats["connections_total"] <= 2


def test_an_unknown_provider_type_names_the_field(tmp_path: Path) -> None:
    cfg = {
        "name": "bad",
        "providers": {"p": {"type": "nope"}},
        "variants": {"v": {"provider": "p", "prompt": "x"}},
    }
    project = load_config(write_project(tmp_path, cfg))
    pool = ProviderPool(project)
    try:
        pool.get("p")
    except Exception as exc:
        text = str(exc)
    else:
        raise AssertionError("no error for an unknown provider type")
    assert "provider 'p' has an unknown type 'nope'" in text and "providers.p.type" in text
    assert "echo" in text and "openai" in text  # the known types are listed
