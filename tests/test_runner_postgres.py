"""The whole run → show → export path on PostgreSQL, migrated explicitly as a team would."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hyouka.api import Workspace
from hyouka.cli.main import cli
from tests.conftest import write_project


def test_run_on_postgres_after_db_upgrade(tmp_path: Path, pg_url: str) -> None:
    root = write_project(
        tmp_path,
        {
            "name": "team",
            "samples": 3,
            "providers": {"fake": {"type": "echo", "reply": "回答 {last} {sample}"}},
            "variants": {
                "a": {"provider": "fake", "prompt": "{{ q }}"},
                "b": {"provider": "fake", "prompt": "質問: {{ q }}"},
            },
            "checks": [{"type": "contains", "value": "質問"}],
        },
        [{"id": f"c{i}", "vars": {"q": f"問{i}"}} for i in range(5)],
    )
    runner = CliRunner()
    out = runner.invoke(cli, ["run", "-p", str(root)], env={"HYOUKA_DATABASE_URL": pg_url})
    assert out.exit_code == 2 and "hyouka db upgrade" in out.output
    out = runner.invoke(
        cli, ["db", "upgrade", "-p", str(root)], env={"HYOUKA_DATABASE_URL": pg_url}
    )
    assert out.exit_code == 0, out.output
    ws = Workspace.open(root, database_url=pg_url)
    result = ws.run(concurrency=4)
    assert result.progress.done == 30 and result.progress.errors == 0
    _, summaries = ws.show()
    rates = {s.name: s.checks[("contains", "contains")].pass_rate for s in summaries}
    assert rates == {"a": 0.0, "b": 1.0}
    again = ws.run()
    assert again.progress.cached == 30 and again.progress.calls == 0
