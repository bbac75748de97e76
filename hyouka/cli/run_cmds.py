"""``hyouka run``, ``runs``, ``show`` and ``export``."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hyouka.cli.common import (
    Col,
    console,
    err_console,
    esc,
    export_file_options,
    fit_table,
    fmt_num,
    fmt_rate,
    json_option,
    lang_option,
    one_line,
    open_workspace,
    print_indented,
    print_json,
    project_option,
    rich_console,
    table_width,
)
from hyouka.errors import ConfigProblems
from hyouka.i18n.cli import Lang, resolve_lang, t

if TYPE_CHECKING:
    from rich.progress import Progress
    from rich.table import Table

    from hyouka.api import Workspace
    from hyouka.runner.run import Progress as RunProgress
    from hyouka.runner.run import RunResult
    from hyouka.summary import ErrorCause, VariantSummary

# A progress line this often when stdout is not a terminal (HYOUKA_PROGRESS_SECONDS overrides)
PROGRESS_LINE_SECONDS = 10.0
BAR_REFRESH_SECONDS = 1.0


def _progress_bar() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]run"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[extra]}"),
        console=rich_console(),
        transient=False,
    )


class _Ticker:
    """Calls ``tick(progress)`` every ``every`` seconds in a thread, with the run's live
    :class:`~hyouka.runner.run.Progress` (the runner reports it only every 16 samples, which
    on a local model can be minutes)."""

    def __init__(self, every: float, tick: Callable[[RunProgress], None]) -> None:
        self.every = every
        self.tick = tick
        self.progress: RunProgress | None = None
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hyouka-progress", daemon=True)

    def seen(self, p: RunProgress) -> None:
        self.progress = p

    def __enter__(self) -> _Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            if self.progress is not None:
                self.tick(self.progress)


def _rate(p: RunProgress, elapsed: float) -> float:
    """Samples produced (not resumed or cached) per second."""
    return (p.done - p.skipped - p.cached) / elapsed if elapsed > 0 else 0.0


def progress_line(name: str, p: RunProgress, elapsed: float, lang: Lang) -> str:
    rate = _rate(p, elapsed)
    left = p.total - p.done
    eta = t(lang, "progress.eta", eta=f"{left / rate:.0f}") if rate > 0 and left > 0 else ""
    pct = 100 * p.done // p.total if p.total else 0
    shown = f"{rate:.0f}" if rate >= 10 else f"{rate:.2g}"
    return t(lang, "progress.line", name=name, done=p.done, total=p.total, pct=pct,
             rate=shown, errors=p.errors, elapsed=f"{elapsed:.0f}", eta=eta)  # fmt: skip


def execute_run(ws: Workspace, quiet: bool = False, lang: Lang = "en", **options: Any) -> RunResult:
    """Run with a live progress bar (rate, ETA, errors, tokens, cost) on a terminal, and a
    progress line every :data:`PROGRESS_LINE_SECONDS` otherwise (CI logs, pipes)."""
    if quiet:
        return ws.run(**options)
    if not console.is_terminal:
        name = ws.name

        def line(p: RunProgress) -> None:
            elapsed = time.monotonic() - ticker.started
            console.print(esc(progress_line(name, p, elapsed, lang)), highlight=False)

        def first(p: RunProgress) -> None:
            if ticker.progress is None and p.total:
                todo = p.total - p.cached - p.skipped
                console.print(
                    esc(t(lang, "progress.start", name=name, total=todo, cached=p.cached,
                          skipped=p.skipped)),
                    highlight=False,
                )  # fmt: skip
            ticker.seen(p)

        every = float(os.environ.get("HYOUKA_PROGRESS_SECONDS") or PROGRESS_LINE_SECONDS)
        with _Ticker(max(every, 0.1), line) as ticker:
            result = ws.run(on_progress=first, **options)
        line(result.progress)  # the last word: every sample accounted for
        return result
    with _progress_bar() as bar:
        task = bar.add_task("run", total=None, rate="", extra="")

        def update(p: RunProgress) -> None:
            ticker.seen(p)
            rate = _rate(p, bar.tasks[0].elapsed or 0.0)
            cost = f" · ${p.cost:.4f}" if p.cost else ""
            refused = f" · 429s {p.rate_limited}" if p.rate_limited else ""
            extra = (
                f"errors {p.errors} · cached {p.cached} · resumed {p.skipped} · "
                f"tokens {p.input_tokens + p.output_tokens:,}{cost}{refused}"
            )
            bar.update(task, total=p.total, completed=p.done, rate=f"{rate:.1f}/s", extra=extra)

        with _Ticker(BAR_REFRESH_SECONDS, update) as ticker:
            return ws.run(on_progress=update, **options)


def print_config_problems(exc: ConfigProblems, lang: Lang) -> None:
    """Every mistake found before the run, one per line, under a header in ``lang``."""
    n = len(exc.problems)
    head = t(lang, "config.problems", n=n) if n > 1 else t(lang, "config.problem")
    err_console.print(f"[bold red]error:[/] {esc(head)}", highlight=False)
    for problem in exc.problems:
        err_console.print(f"  {esc(problem)}", highlight=False)


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
@lang_option
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
    lang: str | None,
    as_json: bool,
) -> None:
    """Run every variant over the datasets, `samples` times per case.

    Exit code 0 when the run finished (some samples may have failed: their causes are listed),
    1 when every sample failed, 2 for a mistake in the configuration or the command (found
    before any model is called; no run is stored), 130 when interrupted.
    """
    from hyouka.summary import as_dicts

    language = resolve_lang(lang)
    ws = open_workspace(project_dir)
    try:
        result = execute_run(
            ws,
            quiet=quiet or as_json,
            lang=language,
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
    except ConfigProblems as exc:
        print_config_problems(exc, language)
        sys.exit(exc.exit_code)
    run, summaries = ws.show(result.run.uid)
    causes = ws.errors(run.uid)
    total = sum(s.samples for s in summaries)
    all_failed = total > 0 and sum(s.errors for s in summaries) == total
    if as_json:
        print_json(
            {
                "run": run.uid,
                "status": run.status,
                "resumed": result.resumed,
                "progress": result.progress.__dict__,
                "limits": {name: r.__dict__ for name, r in result.limits.items()},
                "variants": as_dicts(summaries),
                "errors": [c.as_dict() for c in causes],
                "bad_rows": result.bad_rows,
            }
        )
        if all_failed:
            sys.exit(1)
        return
    p = result.progress
    if result.bad_rows:
        console.print(f"[yellow]{esc(t(language, 'run.bad_rows', n=len(result.bad_rows)))}[/]")
        for line in result.bad_rows[:10]:
            console.print(f"  {esc(line)}", highlight=False, soft_wrap=False)
    how = t(language, "run.resumed" if result.resumed else "run.new")
    console.print(
        t(
            language,
            "run.line",
            run=f"[bold]{run.uid}[/]",
            how=how,
            done=p.done,
            calls=p.calls,
            cached=p.cached,
            skipped=p.skipped,
            errors=p.errors,
        ),
        soft_wrap=False,
    )
    print_limits(result, language)
    print_summary(summaries, language)
    print_error_causes(causes, total, run.uid, language)
    if all_failed:
        message = esc(t(language, "errors.all_failed", run=run.uid))
        err_console.print(f"[bold red]{message}[/]", soft_wrap=False)
        sys.exit(1)


def run_status(lang: Lang, status: str) -> str:
    """A run's status in ``lang`` (an unknown one as it is)."""
    key = f"run_status.{status}"
    text = t(lang, key)
    return esc(status) if text == key else text


def print_limits(result: RunResult, lang: Lang = "en") -> None:
    """Providers that refused calls (429): how far calls in flight came down, and a hint."""
    for name, r in result.limits.items():
        if not r.cuts:
            continue
        hint = t(lang, "limits.hint", name=name, n=r.suggested) if r.suggested else ""
        own = t(lang, "limits.own", count=r.request_refusals) if r.request_refusals else ""
        line = t(
            lang,
            "limits.line",
            name=f"[yellow]{esc(name)}[/]",
            refused=r.refused,
            cuts=r.cuts,
            lowest=r.lowest,
            final=r.final,
            ceiling=r.ceiling,
        )
        console.print(f"{line}{esc(hint)}{esc(own)}", soft_wrap=False)


CAUSES_SHOWN = 10  # distinct error causes printed; the rest are counted
CAUSE_SHOWN_CHARS = 400


def print_error_causes(causes: list[ErrorCause], total: int, run: str, lang: Lang) -> None:
    """The distinct causes of failed samples, most frequent first, with one example each."""
    if not causes:
        return
    failed = sum(c.count for c in causes)
    console.print(
        f"[bold red]{esc(t(lang, 'errors.head', n=failed, total=total, k=len(causes)))}[/]"
    )
    for c in causes[:CAUSES_SHOWN]:
        many = len(c.variants) > 1
        where = ", ".join(f"{v} ({n})" if many else v for v, n in c.variants.items())
        text = c.cause if len(c.cause) <= CAUSE_SHOWN_CHARS else c.cause[:CAUSE_SHOWN_CHARS] + "…"
        ex = c.example
        head = t(lang, "errors.cause", count=c.count, status=c.status, variants=where)
        eg = t(lang, "errors.example", case=ex["case"], sample=ex["sample"], variant=ex["variant"])
        print_indented(head, 2, "red")
        print_indented(text, 4)
        print_indented(eg, 4, "dim")
    rest = causes[CAUSES_SHOWN:]
    if rest:
        n = sum(c.count for c in rest)
        console.print(f"  {esc(t(lang, 'errors.more', k=len(rest), n=n, run=run))}")


def _summary_table(summaries: list[VariantSummary], lang: Lang) -> Table:
    cost_known = any(s.cost_known and s.cost > 0 for s in summaries)  # else it is all 0 or –
    h = partial(t, lang)
    cols = [
        Col(h("col.variant"), keep=True),
        Col(h("col.version"), keep=True),
        Col(h("col.n_samples"), justify="right"),
        Col(h("col.errors"), justify="right"),
        Col(h("col.p50"), justify="right"),
        Col(h("col.p90"), justify="right", drop=2),
        Col(h("col.tokens"), justify="right", drop=3 if cost_known else 1),
        Col(h("col.cost"), justify="right", drop=1 if cost_known else 3),
    ]
    rows = [
        [
            esc(s.name),
            s.version,
            str(s.samples),
            str(s.errors),
            fmt_num(s.latency_percentile(50)),
            fmt_num(s.latency_percentile(90)),
            f"{s.input_tokens:,}/{s.output_tokens:,}",
            fmt_num(s.cost, 4) if s.cost_known else "–",
        ]
        for s in summaries
    ]
    return fit_table(cols, rows, title=t(lang, "table.per_variant"), lang=lang)


LABEL_WIDTH = 24  # the check column of the checks table wraps past this


def _check_cell(c: Any) -> str:
    if c is None:
        return "–"
    mean = (
        ""
        if c.mean is None or (c.pass_rate is not None and c.mean in (0.0, 1.0))
        else (f" ({c.mean:.3g})")
    )
    errs = f" !{c.errors}" if c.errors else ""
    return f"{fmt_rate(c.pass_rate)}{mean}{errs}"


def print_summary(summaries: list[VariantSummary], lang: Lang = "en") -> None:
    """The per-variant table, then the checks table (split in several when the variants do
    not fit side by side: their names are never cut)."""
    console.print(_summary_table(summaries, lang))
    metrics = sorted({key for s in summaries for key in s.checks})
    if not metrics:
        return
    labels = [esc(key[0] if key[0] == key[1] else f"{key[1]} ({key[0]})") for key in metrics]
    cells = [[_check_cell(s.checks.get(key)) for s in summaries] for key in metrics]
    from rich.cells import cell_len

    check = t(lang, "col.check")
    label_w = min(max(cell_len(check), *(len(x) for x in labels)), LABEL_WIDTH)
    widths = [max(len(s.name), *(len(row[i]) for row in cells)) for i, s in enumerate(summaries)]
    groups: list[list[int]] = [[]]
    for i, w in enumerate(widths):
        fits = table_width([label_w, *(widths[j] for j in groups[-1]), w]) <= console.width
        if groups[-1] and not fits:
            groups.append([])
        groups[-1].append(i)
    title = t(lang, "table.checks")
    for n, group in enumerate(groups):
        cols = [Col(check), *(Col(esc(summaries[i].name), keep=True) for i in group)]
        rows = [[label, *(row[i] for i in group)] for label, row in zip(labels, cells, strict=True)]
        part = f" ({n + 1}/{len(groups)})" if len(groups) > 1 else ""
        console.print(fit_table(cols, rows, title=title + part, lang=lang))


@click.command("runs")
@project_option
@click.option("--limit", default=20, show_default=True)
@lang_option
@json_option
def runs_cmd(project_dir: Path, limit: int, lang: str | None, as_json: bool) -> None:
    """List the project's runs, newest first (a run whose process died shows as interrupted)."""
    ws = open_workspace(project_dir)
    rows = ws.runs(limit)
    if as_json:
        print_json(rows)
        return
    language = resolve_lang(lang)
    h = partial(t, language)
    cols = [
        Col(h("col.run"), keep=True),
        Col(h("col.status")),
        Col(h("col.created")),
        Col(h("col.n_samples"), justify="right"),
        Col(h("col.errors"), justify="right"),
        Col(h("col.seed"), justify="right", drop=1),
        Col(h("col.samples"), justify="right", drop=2),
    ]
    cells = [
        [
            r["uid"],
            run_status(language, r["status"]),
            f"{r['created_at']:%Y-%m-%d %H:%M}",
            str(r["n_samples"] or 0),
            str(r["n_errors"] or 0),
            str(r["seed"]),
            str(r["samples"]),
        ]
        for r in rows
    ]
    console.print(fit_table(cols, cells, lang=language))


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
@lang_option
@json_option
def show_cmd(run: str, project_dir: Path, failures: int, lang: str | None, as_json: bool) -> None:
    """Per-variant results of RUN (default: the latest run with samples), and why samples
    failed."""
    from hyouka.cli.score_cmds import print_judges
    from hyouka.summary import as_dicts

    language = resolve_lang(lang)
    ws = open_workspace(project_dir)
    info, summaries = ws.show(run)
    causes = ws.errors(info.uid)
    triggered = ws.feedback.triggered(info)
    judges = ws.judges(info.uid)
    if as_json:
        print_json(
            {
                "run": info.uid,
                "status": info.status,
                "seed": info.seed,
                "samples_per_case": info.samples,
                "variants": as_dicts(summaries),
                "errors": [c.as_dict() for c in causes],
                "complaints_triggered": {
                    v: [t.as_dict() for t in found] for v, found in triggered.items()
                },
                "judges": [j.as_dict() for j in judges],
            }
        )
        return
    console.print(
        t(
            language,
            "show.line",
            run=f"[bold]{info.uid}[/]",
            status=run_status(language, info.status),
            seed=info.seed,
            samples=info.samples,
        ),
        soft_wrap=False,
    )
    print_summary(summaries, language)
    print_error_causes(causes, sum(s.samples for s in summaries), info.uid, language)
    print_judges(judges, language)
    if failures:
        print_failures(ws.failures(info.uid, failures), language)
    print_triggered(triggered, language)


def print_triggered(triggered: dict[str, list[Any]], lang: Lang = "en") -> None:
    """The accepted complaint checks (``complaint-<id>``) each variant still fails."""
    if not triggered:
        return
    console.print(f"[bold]{esc(t(lang, 'show.triggered'))}[/]")
    for variant, found in triggered.items():
        if not found:
            console.print(f"  {esc(variant)}: [green]{esc(t(lang, 'show.triggered_none'))}[/]")
        for t_ in found:
            fails = t(lang, "show.triggered_line", failed=t_.failed, n=t_.n)
            console.print(
                f"  {esc(variant)}: [red]{esc(t_.metric)}[/] {esc(t_.title)} {esc(fails)}",
                highlight=False,
            )


def print_failures(found: dict[str, list[dict[str, object]]], lang: Lang = "en") -> None:
    for variant, rows in found.items():
        console.print(f"[bold]{esc(variant)}[/]: {esc(t(lang, 'show.failed_checks'))}")
        for r in rows:
            output = one_line(str(r["output"] or ""))
            where = t(lang, "show.failure", case=r["case_key"], sample=r["sample_index"])
            console.print(
                f"  ✗ {esc(r['check_name'])} · {esc(where)}: "
                f"{esc(r['reason'])}\n    [dim]{esc(output)}[/]",
                highlight=False,
            )


@click.command("export")
@click.argument("run", default="latest")
@project_option
@export_file_options
@click.option("--variant", "-v", "variants", multiple=True)
@lang_option
def export_cmd(
    run: str,
    project_dir: Path,
    output: Path,
    fmt: str | None,
    variants: tuple[str, ...],
    lang: str | None,
) -> None:
    """Export RUN's samples with their scores."""
    ws = open_workspace(project_dir)
    n = ws.export(run, output, fmt, list(variants) or None)
    console.print(esc(t(resolve_lang(lang), "export.wrote", n=n, path=output)))


COMMANDS = [run_cmd, runs_cmd, show_cmd, export_cmd]
