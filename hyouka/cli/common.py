"""Shared CLI pieces: the project option, the console, JSON output.

The command modules import only click, rich and this at the top; what a command needs (the
API, the store, the statistics) is imported inside it, so ``hyouka --help`` loads none of it
(tests/test_cli_startup.py, ``python benchmarks/cli_startup.py``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

if TYPE_CHECKING:
    from rich.console import Console

    from hyouka.api import Workspace


class _LazyConsole:
    """A rich Console made when first used: rich costs ~50 ms to import, which ``hyouka run``
    would otherwise pay before its first model call."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def resolve(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.resolve(), name)


# Long paths and links stay copy-pasteable; errors stay one line.
console = cast("Console", _LazyConsole(soft_wrap=True))
err_console = cast("Console", _LazyConsole(stderr=True, soft_wrap=True))


def rich_console(which: Console = console) -> Console:
    """The Console itself, for rich objects that need a real one (a Progress, a Live)."""
    return which.resolve() if isinstance(which, _LazyConsole) else which


F = TypeVar("F", bound=Callable[..., Any])


def project_option(func: F) -> F:
    return click.option(
        "--project",
        "-p",
        "project_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        envvar="HYOUKA_PROJECT",
        help="Project folder (holding hyouka.yaml).",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def export_file_options(func: F) -> F:
    """``--output/-o FILE`` and ``--format`` (else from the file's suffix) of the exports."""
    func = click.option(
        "--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default=None
    )(func)
    return click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        required=True,
        help="File to write (.jsonl, .csv or .parquet).",
    )(func)


def open_workspace(project_dir: Path) -> Workspace:
    from hyouka.api import Workspace

    return Workspace.open(project_dir)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def fmt_num(value: float | None, digits: int = 0, suffix: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}{suffix}"


def fmt_rate(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"
