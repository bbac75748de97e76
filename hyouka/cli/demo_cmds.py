"""``hyouka demo``: run the whole loop offline on the embedded local model."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hyouka.cli.common import console, esc, print_item
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
@click.option(
    "--lang",
    type=click.Choice(["en", "ja"]),
    default=None,
    help="Language of the verdicts and the report (default: from LANG).",
)
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
        console.rule(f"[bold]{esc(part.name)}[/]: results")
        p = part.result.progress
        console.print(f"{p.done} samples in {part.seconds:.0f} s · run {part.result.run.uid}")
        print_summary(part.summaries, language)
        print_error_causes(part.causes, p.done, part.result.run.uid, language)
        print_failures(part.failures)
        if part.verdicts:
            console.print("[bold]is one variant really better? (hyouka compare)[/]")
            for line in part.verdicts[:VERDICTS_SHOWN]:
                print_item(line)
            if len(part.verdicts) > VERDICTS_SHOWN:
                more = len(part.verdicts) - VERDICTS_SHOWN
                console.print(f"  … {more} more: {esc(part.compare_command)}", highlight=False)
    total = sum(p.seconds for p in parts)
    first = esc(parts[0].root)
    console.rule("[bold]let people judge (hyouka serve)")
    console.print(
        f"A blind pairwise campaign '{esc(loop.campaign)}' is ready. Start the server:",
        highlight=False,
        soft_wrap=False,
    )
    console.print(f"  [bold]{esc(loop.serve_command)}[/]", highlight=False)
    console.print("then open a sign-in link (each person has their own):", highlight=False)
    console.print(f"  admin (dashboard):   {loop.admin_link}", highlight=False)
    for name, link in loop.annotator_links.items():
        console.print(f"  {name + ':':<20} {link}", highlight=False)
    console.rule("[bold]the report")
    console.print(f"  {esc(loop.report)}", highlight=False)
    console.print("  one self-contained HTML file; `hyouka report` rewrites it", highlight=False)
    console.rule("[bold]next")
    console.print(f"The demo took {total:.0f} s. Look closer and go further:", highlight=False)
    print_commands(
        [
            (f"hyouka show -p {first}", "per-variant results and failures"),
            (f"hyouka runs -p {first}", f"every run, kept in {first}/.hyouka"),
            (f"hyouka variants --history polite -p {first}", "edit a prompt: old versions stay"),
            (f"hyouka export -p {first} -o samples.csv", "every output with its scores"),
            (f"hyouka run -p {first}", "rerun: served from the cache"),
            (f"hyouka compare polite concise -p {first}", "the verdict with its uncertainty"),
            (f"hyouka ranking -p {first}", "after people voted: who wins"),
            (f"hyouka feedback list -p {first}", "complaints → proposed checks"),
            (f"hyouka judgments export -p {first} -o votes.csv", "the votes, for Excel"),
        ]
    )
    console.print(
        f"Switch to a real model: edit providers in {first}/hyouka.yaml (see README).",
        highlight=False,
        soft_wrap=False,
    )


def print_commands(rows: list[tuple[str, str]]) -> None:
    """Commands with what they do: side by side when that fits the console, else each
    description above its command (commands are never wrapped: they are copied)."""
    width = max(len(cmd) for cmd, _ in rows)
    side_by_side = 2 + width + 2 + max(len(desc) for _, desc in rows) <= console.width
    for cmd, desc in rows:
        if side_by_side:
            console.print(f"  {cmd:<{width}}  {desc}", highlight=False)
        else:
            console.print(f"  [dim]{desc}[/]\n    {cmd}", highlight=False)


COMMANDS = [demo_cmd]
