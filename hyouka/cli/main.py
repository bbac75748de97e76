"""``hyouka``: the command line. Every command calls the Python API (hyouka.api)."""

from __future__ import annotations

import sys
from typing import Any

import click

from hyouka import __version__
from hyouka.errors import HyoukaError

COMMAND_MODULES = (
    "hyouka.cli.project_cmds",
    "hyouka.cli.run_cmds",
    "hyouka.cli.db_cmds",
    "hyouka.cli.score_cmds",
    "hyouka.cli.stats_cmds",
    "hyouka.cli.demo_cmds",
    "hyouka.cli.human_cmds",
    "hyouka.cli.judgment_cmds",
    "hyouka.cli.loop_cmds",
)


class HyoukaGroup(click.Group):
    """Turns every HyoukaError into one clear message and exit code 2, with no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HyoukaError as exc:
            from rich.markup import escape

            from hyouka.cli.common import err_console

            # escaped: the message quotes the user's text, which may hold "[/]" or "[bold]"
            message = escape(str(exc))
            err_console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            from hyouka.cli.common import err_console

            err_console.print("interrupted; re-run the same command to resume")
            sys.exit(130)


@click.group(cls=HyoukaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hyouka")
def cli() -> None:
    """hyouka (評価): evaluate versions of an LLM app with checks, judges and real users."""


def _register() -> None:
    import importlib

    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="hyouka")
