"""``hyouka import``: outputs produced elsewhere become a run of external variants."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hyouka.cli.common import (
    console,
    err_console,
    esc,
    json_option,
    lang_option,
    open_workspace,
    print_json,
    project_option,
)
from hyouka.i18n.cli import resolve_lang, t


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@project_option
@click.option(
    "--variant",
    metavar="NAME",
    help="The variant of every row (default: each row's 'variant'; promptfoo: the provider "
    "and prompt; Inspect: the model).",
)
@click.option(
    "--dataset",
    metavar="NAME",
    help="A project dataset to match the rows' case ids in; otherwise the name of the dataset "
    "that rows with inline 'vars' form (default: import-<file stem>).",
)
@click.option(
    "--cases",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A dataset file (.jsonl, .csv, .yaml) to match the rows' case ids in, e.g. the cases "
    "file of `hyouka traces to-dataset`; it is stored as a dataset version (named --dataset, "
    "else the file's stem).",
)
@click.option(
    "--run",
    "run_ref",
    metavar="RUN",
    help="Add the imported variants to this stored run (to compare them with its variants) "
    "instead of a new run.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "promptfoo", "inspect"]),
    default=None,
    help="The file's format (default: from its name and content).",
)
@click.option("--skip-bad-rows", is_flag=True, help="Import the good rows of a file with bad ones.")
@lang_option
@json_option
def import_cmd(
    file: Path,
    project_dir: Path,
    variant: str | None,
    dataset: str | None,
    cases: Path | None,
    run_ref: str | None,
    fmt: str | None,
    skip_bad_rows: bool,
    lang: str | None,
    as_json: bool,
) -> None:
    """Import outputs produced elsewhere (JSONL/CSV, promptfoo, Inspect AI) as a run.

    Each row is a sample of an external variant, versioned by the file's content hash; cases
    are matched by id or made from inline inputs; imported scores and judge takes keep their
    repeat index. Nothing is stored unless every row is good (or --skip-bad-rows), and
    importing the same file again does nothing. See docs/import.md.
    """
    from hyouka.imports.importer import ImportProblems

    language = resolve_lang(lang)
    ws = open_workspace(project_dir)
    try:
        result = ws.imports.file(
            file, variant=variant, dataset=dataset, cases=cases, run=run_ref, format=fmt,
            skip_bad_rows=skip_bad_rows,
        )  # fmt: skip
    except ImportProblems as exc:
        err_console.print(t(language, "import.bad", path=esc(file), n=exc.count, good=exc.good))
        for problem in exc.problems:
            err_console.print(f"  {esc(problem)}", highlight=False)
        if exc.count > len(exc.problems):
            err_console.print(
                "  " + t(language, "import.bad_more", n=exc.count - len(exc.problems))
            )
        err_console.print(t(language, "import.bad_advice" if exc.good else "import.bad_none"))
        sys.exit(exc.exit_code)
    finally:
        ws.close()
    if as_json:
        print_json(result.as_dict())
        return
    if result.already:
        when = result.created_at.strftime("%Y-%m-%d %H:%M UTC") if result.created_at else "?"
        console.print(t(language, "import.already", path=esc(file), format=result.format,
                        hash=result.content_hash[:12], run=result.run.uid, when=when),
                      highlight=False)  # fmt: skip
        return
    console.print(t(language, "import.done", path=esc(file), format=result.format,
                    run=result.run.uid, samples=result.samples,
                    variants=", ".join(result.variants), scores=result.scores,
                    takes=result.judge_takes), highlight=False)  # fmt: skip
    if result.matched:
        console.print(t(language, "import.cases_matched", names=", ".join(result.matched)))
    if result.dataset:
        console.print(t(language, "import.cases_inline", name=esc(result.dataset)))
    if result.errors:
        console.print(t(language, "import.errors", n=result.errors))
    if result.skipped:
        console.print(t(language, "import.skipped", n=result.skipped))
        for problem in result.problems:
            console.print(f"  {esc(problem)}", highlight=False)
        if result.skipped > len(result.problems):
            console.print("  " + t(language, "import.bad_more",
                                   n=result.skipped - len(result.problems)))  # fmt: skip
    console.print(t(language, "import.next", run=result.run.uid), highlight=False)


COMMANDS = [import_cmd]
