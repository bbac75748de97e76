"""The CLI starts fast because it imports what a command needs only when the command runs.

Each check runs a clean interpreter and looks at ``sys.modules`` afterwards. The timings
themselves are measured by ``benchmarks/cli_startup.py``, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("scipy", "numpy", "fastapi", "uvicorn", "starlette")


def loaded_after(code: str) -> set[str]:
    """Top-level package names in ``sys.modules`` after running ``code`` in a fresh python."""
    probe = (
        code
        + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_statistics_and_no_web_stack() -> None:
    loaded = loaded_after("import hyouka.cli.main")
    assert "hyouka" in loaded and "click" in loaded  # the probe sees what was imported
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_builds_every_command_without_the_store_or_pydantic() -> None:
    code = (
        "import sys\nfrom hyouka.cli.main import cli\n"
        "try:\n    cli(['--help'], prog_name='hyouka')\nexcept SystemExit:\n    pass"
    )
    loaded = loaded_after(code)
    assert not loaded & {*HEAVY, "sqlalchemy", "pydantic", "aiohttp", "jinja2", "alembic"}


@pytest.mark.parametrize(
    "module", ["hyouka.api", "hyouka.runner.run", "hyouka.summary", "hyouka.loop.speed"]
)
def test_running_and_showing_need_no_statistics(module: str) -> None:
    # `hyouka run` and `hyouka show` import these: scipy alone costs ~1 s of start-up.
    loaded = loaded_after(f"import {module}")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_lazy_command_index_matches_the_command_modules() -> None:
    import importlib

    from hyouka.cli.main import COMMANDS, cli, load_command

    by_module: dict[str, set[str]] = {}
    for name, module in COMMANDS.items():
        by_module.setdefault(module, set()).add(name)
    for module, names in by_module.items():
        defined = {c.name for c in importlib.import_module(module).COMMANDS}
        assert defined == names, module
    assert all(load_command(name) is not None for name in COMMANDS)
    assert load_command("no-such-command") is None
    assert cli.list_commands(None) == sorted(COMMANDS)  # type: ignore[arg-type]


def test_version_imports_no_command_module() -> None:
    code = (
        "from hyouka.cli.main import cli\n"
        "try:\n    cli(['--version'], prog_name='hyouka')\nexcept SystemExit:\n    pass\n"
        "import sys\nprint(sorted(m for m in sys.modules if m.startswith('hyouka.cli.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "['hyouka.cli.main']"
