"""``hyouka run``, ``runs``, ``show`` and ``export``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from hyouka.api import Workspace
from hyouka.cli.common import (
    console,
    export_file_options,
    fmt_num,
    fmt_rate,
    json_option,
    open_workspace,
    print_json,
    project_option,
)
from hyouka.runner.run import Progress as RunProgress
from hyouka.runner.run import RunResult
from hyouka.summary import VariantSummary, as_dicts


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]run"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[extra]}"),
        console=console,
        transient=False,
    )


def execute_run(ws: Workspace, quiet: bool = False, **options: Any) -> RunResult:
    """Run with a live progress bar (rate, ETA, errors, tokens, cost)."""
    if quiet or not console.is_terminal:
        return ws.run(**options)
    with _progress_bar() as bar:
        task = bar.add_task("run", total=None, rate="", extra="")

        def update(p: RunProgress) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = (p.done - p.skipped - p.cached) / elapsed if elapsed > 0 else 0.0
            cost = f" · ${p.cost:.4f}" if p.cost else ""
            refused = f" · 429s {p.rate_limited}" if p.rate_limited else ""
            extra = (
                f"errors {p.errors} · cached {p.cached} · resumed {p.skipped} · "
                f"tokens {p.input_tokens + p.output_tokens:,}{cost}{refused}"
            )
            bar.update(task, total=p.total, completed=p.done, rate=f"{rate:.1f}/s", extra=extra)

        return ws.run(on_progress=update, **options)


@click.command("run")
@project_option
@click.option("--variant", "-v", "variants", multiple=True, help="Only these variants.")
@click.option("--dataset", "-d", "datasets", multiple=True, help="Only these datasets.")
@click.option("--samples", "-n", type=click.IntRange(1, 1000), help="Samples per case.")
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(1, 10000),
    help="Model calls in flight (default: the project's, 16).",
)
@click.option("--seed", type=int, help="Run seed (default: the project's).")
@click.option("--limit", type=click.IntRange(1), help="Only the first N cases of each dataset.")
@click.option("--no-cache", is_flag=True, help="Call the models even for stored outputs.")
@click.option(
    "--resume",
    "resume",
    is_flag=False,
    flag_value="unfinished",
    default=None,
    metavar="[RUN]",
    help="Resume RUN (alone: the latest unfinished run). Rerunning the same command resumes "
    "an unfinished identical run anyway.",
)
@click.option("--new", "new_run", is_flag=True, help="Start a new run even if one is unfinished.")
@click.option("--skip-bad-rows", is_flag=True, help="Run the good rows of a broken dataset.")
@click.option("--quiet", "-q", is_flag=True)
@json_option
def run_cmd(
    project_dir: Path,
    variants: tuple[str, ...],
    datasets: tuple[str, ...],
    samples: int | None,
    concurrency: int | None,
    seed: int | None,
    limit: int | None,
    no_cache: bool,
    resume: str | None,
    new_run: bool,
    skip_bad_rows: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Run every variant over the datasets, `samples` times per case."""
    ws = open_workspace(project_dir)
    result = execute_run(
        ws,
        quiet=quiet or as_json,
        variants=list(variants) or None,
        datasets=list(datasets) or None,
        samples=samples,
        concurrency=concurrency,
        seed=seed,
        limit=limit,
        use_cache=not no_cache,
        resume=None if new_run else (resume or "auto"),
        skip_bad_rows=skip_bad_rows,
    )
    run, summaries = ws.show(result.run.uid)
    if as_json:
        print_json(
            {
                "run": run.uid,
                "status": run.status,
                "resumed": result.resumed,
                "progress": result.progress.__dict__,
                "limits": {name: r.__dict__ for name, r in result.limits.items()},
                "variants": as_dicts(summaries),
            }
        )
        return
    p = result.progress
    if result.bad_rows:
        console.print(f"[yellow]skipped {len(result.bad_rows)} bad row(s):[/]")
        for line in result.bad_rows[:10]:
            console.print(f"  {line}", markup=False, highlight=False)  # quotes the user's rows
    how = "resumed" if result.resumed else "new"
    console.print(
        f"run [bold]{run.uid}[/] ({how}): {p.done} samples, {p.calls} calls, "
        f"{p.cached} cached, {p.skipped} already stored, {p.errors} errors"
    )
    print_limits(result)
    print_summary(summaries)


def print_limits(result: RunResult) -> None:
    """Providers that refused calls (429): how far calls in flight came down, and a hint."""
    for name, r in result.limits.items():
        if not r.cuts:
            continue
        hint = (
            f" Setting providers.{name}.concurrency: {r.suggested} avoids most of the refusals."
            if r.suggested
            else ""
        )
        console.print(
            f"[yellow]{name}[/]: rate-limited ({r.refused} calls refused with 429, retried "
            f"up to max_retries); calls in flight were halved {r.cuts} times, down to "
            f"{r.lowest}, {r.final} at the end (of {r.ceiling}).{hint}{_own(r.request_refusals)}"
        )


def _own(count: int) -> str:
    if not count:
        return ""
    return (
        f" {count} refusals were requests refused again while the others were answered (a "
        "limit of their own, such as a content filter): they did not slow the others."
    )


def print_summary(summaries: list[VariantSummary]) -> None:
    table = Table(
        "variant",
        "version",
        "samples",
        "errors",
        "p50 ms",
        "p90 ms",
        "tokens in/out",
        "cost",
        title="per variant",
    )
    for s in summaries:
        table.add_row(
            s.name,
            s.version,
            str(s.samples),
            str(s.errors),
            fmt_num(s.latency_percentile(50)),
            fmt_num(s.latency_percentile(90)),
            f"{s.input_tokens:,}/{s.output_tokens:,}",
            fmt_num(s.cost, 4) if s.cost_known else "–",
        )
    console.print(table)
    metrics = sorted({key for s in summaries for key in s.checks})
    if not metrics:
        return
    checks = Table("check", *[s.name for s in summaries], title="checks: pass rate (mean score)")
    for key in metrics:
        cells = []
        for s in summaries:
            c = s.checks.get(key)
            if c is None:
                cells.append("–")
                continue
            mean = (
                ""
                if c.mean is None or (c.pass_rate is not None and c.mean in (0.0, 1.0))
                else (f" ({c.mean:.3g})")
            )
            errs = f" !{c.errors}" if c.errors else ""
            cells.append(f"{fmt_rate(c.pass_rate)}{mean}{errs}")
        label = key[0] if key[0] == key[1] else f"{key[1]} ({key[0]})"
        checks.add_row(label, *cells)
    console.print(checks)


@click.command("runs")
@project_option
@click.option("--limit", default=20, show_default=True)
@json_option
def runs_cmd(project_dir: Path, limit: int, as_json: bool) -> None:
    """List the project's runs, newest first."""
    ws = open_workspace(project_dir)
    rows = ws.runs(limit)
    if as_json:
        print_json(rows)
        return
    table = Table("run", "status", "created", "samples", "errors", "seed", "samples/case")
    for r in rows:
        table.add_row(
            r["uid"],
            r["status"],
            str(r["created_at"])[:19],
            str(r["n_samples"] or 0),
            str(r["n_errors"] or 0),
            str(r["seed"]),
            str(r["samples"]),
        )
    console.print(table)


@click.command("show")
@click.argument("run", default="latest")
@project_option
@click.option(
    "--failures",
    "failures",
    default=2,
    show_default=True,
    help="Failing examples to show per variant and check.",
)
@json_option
def show_cmd(run: str, project_dir: Path, failures: int, as_json: bool) -> None:
    """Per-variant results of RUN (default: the latest run)."""
    from hyouka.cli.score_cmds import print_judges
    from hyouka.loop import still_triggered
    from hyouka.scorers.judge_report import judge_report

    ws = open_workspace(project_dir)
    info, summaries = ws.show(run)
    triggered = still_triggered(ws.store, ws.name, info.id)
    judges = judge_report(ws.store, info.id)
    if as_json:
        print_json(
            {
                "run": info.uid,
                "status": info.status,
                "seed": info.seed,
                "samples_per_case": info.samples,
                "variants": as_dicts(summaries),
                "complaints_triggered": {
                    v: [t.as_dict() for t in found] for v, found in triggered.items()
                },
                "judges": [j.as_dict() for j in judges],
            }
        )
        return
    console.print(
        f"run [bold]{info.uid}[/] · {info.status} · seed {info.seed} · "
        f"{info.samples} sample(s) per case"
    )
    print_summary(summaries)
    print_judges(judges)
    if failures:
        print_failures(ws.failures(run, failures))
    print_triggered(triggered)


def print_triggered(triggered: dict[str, list[Any]]) -> None:
    """The accepted complaint checks (``complaint-<id>``) each variant still fails."""
    if not triggered:
        return
    console.print("[bold]complaints still triggered[/]")
    for variant, found in triggered.items():
        if not found:
            console.print(f"  {variant}: [green]none[/]")
        for t in found:
            console.print(
                f"  {variant}: [red]{t.metric}[/] {t.title} ({t.failed}/{t.n} samples fail)",
                highlight=False,
            )


def print_failures(found: dict[str, list[dict[str, object]]]) -> None:
    for variant, rows in found.items():
        console.print(f"[bold]{variant}[/]: failed checks")
        for r in rows:
            output = str(r["output"] or "").replace("\n", " ")
            if len(output) > 100:
                output = output[:100] + "…"
            console.print(
                f"  ✗ {r['check_name']} · case {r['case_key']} #{r['sample_index']}: "
                f"{r['reason']}\n    [dim]{output}[/]",
                highlight=False,
            )


@click.command("export")
@click.argument("run", default="latest")
@project_option
@export_file_options
@click.option("--variant", "-v", "variants", multiple=True)
def export_cmd(
    run: str, project_dir: Path, output: Path, fmt: str | None, variants: tuple[str, ...]
) -> None:
    """Export RUN's samples with their scores."""
    ws = open_workspace(project_dir)
    n = ws.export(run, output, fmt, list(variants) or None)
    console.print(f"wrote {n} samples to {output}")


COMMANDS = [run_cmd, runs_cmd, show_cmd, export_cmd]
