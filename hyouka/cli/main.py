"""``hyouka``: the command line, thin over the Python API (:mod:`hyouka.api`: the Workspace and
its facades). ``init`` copies a packaged example (:mod:`hyouka.projects`), ``demo`` runs the
packaged demo (:mod:`hyouka.demo`), and ``compare``/``ranking``/``agreement`` word their
results with :mod:`hyouka.analysis.verdict`; every command gets its data from Workspace calls.

A command's module is imported when that command runs (``hyouka run`` loads only
``run_cmds``); ``--help`` imports them all, and they import nothing heavy at the top
(``python benchmarks/cli_startup.py`` measures it, tests/test_cli_startup.py guards it).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from hyouka import __version__
from hyouka.errors import HyoukaError

# Command name -> the module whose COMMANDS list holds it (tests/test_cli_startup.py checks
# that this index and the modules agree).
COMMANDS = {
    "init": "hyouka.cli.project_cmds",
    "variants": "hyouka.cli.project_cmds",
    "schema": "hyouka.cli.project_cmds",
    "run": "hyouka.cli.run_cmds",
    "runs": "hyouka.cli.run_cmds",
    "show": "hyouka.cli.run_cmds",
    "export": "hyouka.cli.run_cmds",
    "import": "hyouka.cli.import_cmds",
    "db": "hyouka.cli.db_cmds",
    "score": "hyouka.cli.score_cmds",
    "compare": "hyouka.cli.stats_cmds",
    "ranking": "hyouka.cli.stats_cmds",
    "agreement": "hyouka.cli.stats_cmds",
    "demo": "hyouka.cli.demo_cmds",
    "serve": "hyouka.cli.human_cmds",
    "annotators": "hyouka.cli.human_cmds",
    "campaigns": "hyouka.cli.human_cmds",
    "apikeys": "hyouka.cli.human_cmds",
    "judgments": "hyouka.cli.judgment_cmds",
    "feedback": "hyouka.cli.loop_cmds",
    "gate": "hyouka.cli.loop_cmds",
    "report": "hyouka.cli.loop_cmds",
    "traces": "hyouka.cli.trace_cmds",
    "experiments": "hyouka.cli.experiment_cmds",
    "widgetkeys": "hyouka.cli.experiment_cmds",
}


def load_command(name: str) -> click.Command | None:
    """The click command ``name``, importing its module (None: no such command)."""
    module = COMMANDS.get(name)
    if module is None:
        return None
    found: list[click.Command] = importlib.import_module(module).COMMANDS
    return next((c for c in found if c.name == name), None)


class HyoukaGroup(click.Group):
    """Loads a command's module on first use, and turns every HyoukaError into one clear
    message and exit code 2, with no traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None:
            command = load_command(cmd_name)
            if command is not None:
                self.add_command(command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HyoukaError as exc:
            from hyouka.cli.common import err_console, esc, say

            # escaped: a hint such as pip install 'hyouka[parquet]' must keep its [parquet]
            err_console.print(
                f"[bold red]{say('cli.error')}[/] {esc(exc)}", markup=True, highlight=False
            )
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            from hyouka.cli.common import err_console, say

            err_console.print(say("cli.interrupted"))
            sys.exit(130)


@click.group(cls=HyoukaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hyouka")
@click.option(
    "--lang",
    type=click.Choice(["en", "ja"]),
    default=None,
    help="Language of every message (default: HYOUKA_LANG, then the locale).",
)
@click.pass_context
def cli(ctx: click.Context, lang: str | None) -> None:
    """hyouka (評価): evaluate versions of an LLM app with checks, judges and real users."""
    if lang:  # every message of the command follows it (hyouka.i18n.resolve_lang)
        from hyouka.cli.common import set_command_lang

        set_command_lang(ctx, lang)


def main() -> None:
    cli(prog_name="hyouka")
