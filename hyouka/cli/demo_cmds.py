"""``hyouka demo``: run the whole loop offline on the embedded local model."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.cells import cell_len

from hyouka.cli.common import console, esc, lang_option, print_item, say
from hyouka.cli.run_cmds import execute_run, print_error_causes, print_failures, print_summary
from hyouka.i18n.cli import resolve_lang, t

if TYPE_CHECKING:
    from hyouka.api import Workspace
    from hyouka.runner.run import RunResult

VERDICTS_SHOWN = 8  # verdict lines printed per project; `hyouka compare` prints them all


@click.command("demo")
@click.argument(
    "folder", type=click.Path(file_okay=False, path_type=Path), default=Path("hyouka-demo")
)
@click.option("--quick", is_flag=True, help="A smaller run (for CI and a first look).")
@click.option("--no-ja", is_flag=True, help="Skip the Japanese RAG project.")
@lang_option
def demo_cmd(folder: Path, quick: bool, no_ja: bool, lang: str | None) -> None:
    """Create demo projects in FOLDER (default ./hyouka-demo) and run them offline."""
    from hyouka.demo import FULL, QUICK, run_demo

    language = resolve_lang(lang)
    include_ja = not no_ja
    if include_ja and importlib.util.find_spec("fugashi") is None:
        console.print(
            "[yellow]"
            + esc(
                "fugashi is not installed: skipping the Japanese RAG project "
                "(pip install 'hyouka[ja]')"
            )
            + "[/]"
        )
        include_ja = False

    def on_start(name: str, ws: Workspace) -> None:
        cfg = ws.project.config
        console.rule(
            f"[bold]{esc(name)}[/] · {len(cfg.variants)} variants · {esc(ws.project.root)}"
        )

    def run(ws: Workspace, **options: Any) -> RunResult:
        return execute_run(ws, lang=language, **options)

    parts, loop = run_demo(folder, QUICK if quick else FULL, include_ja, on_start, run, lang)
    console.rule(f"[bold]{esc(t(language, 'demo.found'))}")
    for part in parts:
        print_item(part.headline)
    for part in parts:
        console.rule(f"[bold]{esc(part.name)}[/]: {say('demo.results')}")
        p = part.result.progress
        seconds = f"{part.seconds:.0f}"
        console.print(say("demo.samples_in", n=p.done, seconds=seconds, run=part.result.run.uid))
        print_summary(part.summaries, language)
        print_error_causes(part.causes, p.done, part.result.run.uid, language)
        print_failures(part.failures, language)
        if part.verdicts:
            console.print(f"[bold]{say('demo.compare_head')}[/]")
            for line in part.verdicts[:VERDICTS_SHOWN]:
                print_item(line)
            if len(part.verdicts) > VERDICTS_SHOWN:
                more = len(part.verdicts) - VERDICTS_SHOWN
                console.print(
                    f"  {say('demo.more', n=more, command=part.compare_command)}", highlight=False
                )
    total = sum(p.seconds for p in parts)
    first = esc(parts[0].root)
    console.rule(f"[bold]{say('demo.judge_rule')}")
    console.print(
        say("demo.campaign_ready", campaign=loop.campaign), highlight=False, soft_wrap=False
    )
    console.print(f"  [bold]{esc(loop.serve_command)}[/]", highlight=False)
    console.print(say("demo.open_link"), highlight=False)
    admin = say("demo.admin_link")
    width = max(20, cell_len(admin) + 1)
    console.print(f"  {admin}{' ' * (width - cell_len(admin))} {loop.admin_link}", highlight=False)
    for name, link in loop.annotator_links.items():
        label = esc(name) + ":"
        console.print(f"  {label}{' ' * (width - cell_len(name) - 1)} {link}", highlight=False)
    console.rule(f"[bold]{say('demo.report_rule')}")
    console.print(f"  {esc(loop.report)}", highlight=False)
    console.print(f"  {say('demo.report_one_file')}", highlight=False)
    console.rule(f"[bold]{say('demo.next_rule')}")
    console.print(say("demo.took", seconds=f"{total:.0f}"), highlight=False)
    print_commands(
        [
            (f"hyouka show -p {first}", say("demo.cmd.show")),
            (f"hyouka runs -p {first}", say("demo.cmd.runs", path=f"{first}/.hyouka")),
            (f"hyouka variants --history polite -p {first}", say("demo.cmd.history")),
            (f"hyouka export -p {first} -o samples.csv", say("demo.cmd.export")),
            (f"hyouka run -p {first}", say("demo.cmd.rerun")),
            (f"hyouka compare polite concise -p {first}", say("demo.cmd.compare")),
            (f"hyouka ranking -p {first}", say("demo.cmd.ranking")),
            (f"hyouka feedback list -p {first}", say("demo.cmd.feedback")),
            (f"hyouka judgments export -p {first} -o votes.csv", say("demo.cmd.judgments")),
        ]
    )
    console.print(
        say("demo.real_model", path=f"{first}/hyouka.yaml"), highlight=False, soft_wrap=False
    )


def print_commands(rows: list[tuple[str, str]]) -> None:
    """Commands with what they do: side by side when that fits the console, else each
    description above its command (commands are never wrapped: they are copied)."""
    width = max(len(cmd) for cmd, _ in rows)
    side_by_side = 2 + width + 2 + max(cell_len(desc) for _, desc in rows) <= console.width
    for cmd, desc in rows:
        if side_by_side:
            console.print(f"  {cmd:<{width}}  {desc}", highlight=False)
        else:
            console.print(f"  [dim]{desc}[/]\n    {cmd}", highlight=False)


COMMANDS = [demo_cmd]
