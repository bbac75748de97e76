"""``hyouka init`` and ``hyouka variants``."""

from __future__ import annotations

from pathlib import Path

import click

from hyouka.cli.common import (
    Col,
    console,
    esc,
    fit_table,
    json_option,
    open_workspace,
    print_json,
    project_option,
    say,
)
from hyouka.errors import HyoukaError
from hyouka.projects import EXAMPLES, copy_example


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--example",
    "-e",
    type=click.Choice(list(EXAMPLES)),
    default="starter",
    show_default=True,
    help="Which project to start from.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing hyouka.yaml.")
def init_cmd(directory: Path, example: str, force: bool) -> None:
    """Create a project (a commented hyouka.yaml, prompts and a dataset) in DIRECTORY."""
    target = copy_example(example, directory, force)
    console.print(say("project.created", example=example, target=target))
    console.print(
        say("project.next", run=f"hyouka run -p {target}", show=f"hyouka show -p {target}")
    )


@click.command("variants")
@project_option
@click.option(
    "--history",
    "history",
    metavar="NAME",
    default=None,
    help="Every stored version of variant NAME (or all with --history '*').",
)
@json_option
def variants_cmd(project_dir: Path, history: str | None, as_json: bool) -> None:
    """List the variants, or every stored version of one (--history NAME)."""
    ws = open_workspace(project_dir)
    if history is None:
        rows = ws.current_variants()
        stored = {(h["name"], h["version"]) for h in ws.variant_history()}
        for r in rows:
            r["stored"] = (r["name"], r["version"]) in stored
        if as_json:
            print_json(rows)
            return
        cols = [Col(say("col.variant"), keep=True), Col(say("col.version"), keep=True),
                Col(say("col.kind"), drop=1), Col(say("col.provider")), Col(say("col.model")),
                Col(say("col.params"))]  # fmt: skip
        cells = [
            [esc(r["name"]), r["version"], r["kind"], esc(r["provider"] or "–"),
             esc(r["model"] or "–"),
             esc(", ".join(f"{k}={v}" for k, v in (r["params"] or {}).items()) or "–")]
            for r in rows
        ]  # fmt: skip
        console.print(fit_table(cols, cells))
        return
    rows = ws.variant_history(None if history == "*" else history)
    if not rows:
        raise HyoukaError(f"no stored versions of '{history}' (run the project first)")
    if as_json:
        print_json([{k: v for k, v in r.items()} for r in rows])
        return
    current = {(v["name"], v["version"]) for v in ws.current_variants()}
    cols = [Col(say("col.variant"), keep=True), Col(say("col.version"), keep=True),
            Col(say("col.first_stored")), Col(say("col.n_samples"), justify="right"),
            Col(say("col.current"))]  # fmt: skip
    cells = [
        [esc(r["name"]), r["version"], f"{r['created_at']:%Y-%m-%d %H:%M}", str(r["n"]),
         say("yes") if (r["name"], r["version"]) in current else ""]
        for r in rows
    ]  # fmt: skip
    console.print(fit_table(cols, cells))


@click.command("schema")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None)
def schema_cmd(output: Path | None) -> None:
    """Print (or write) the JSON Schema of hyouka.yaml for editors."""
    from hyouka.config import json_schema_text

    text = json_schema_text()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(say("wrote", path=output))


COMMANDS = [init_cmd, variants_cmd, schema_cmd]
