"""``hyouka experiments`` (live experiments) and ``hyouka widgetkeys`` (the feedback widget's
publishable keys). Every step calls the workspace (``ws.experiments``, ``ws.widget_keys``)."""

from __future__ import annotations

import getpass
import math
import os
from pathlib import Path

import click

from hyouka.cli.common import (
    console,
    json_option,
    lang_option,
    open_workspace,
    print_json,
    project_option,
)


def _who() -> str:
    return os.environ.get("HYOUKA_USER") or getpass.getuser()


@click.group("experiments")
def experiments() -> None:
    """Live experiments: variants shown to real users, assigned by hash, tested sequentially."""


@experiments.command("list")
@project_option
@json_option
def list_cmd(project_dir: Path, as_json: bool) -> None:
    """The stored experiments and the declared ones not synced yet."""
    from rich.table import Table

    ws = open_workspace(project_dir)
    stored = ws.experiments.list()
    declared = ws.experiments.declared()
    if as_json:
        print_json(
            {
                "experiments": [s.allocation_json() | {"shares": s.shares} for s in stored],
                "not_synced": sorted(set(declared) - {s.name for s in stored}),
            }
        )
        return
    table = Table("name", "status", "unit", "shares", "ramp", "revision", title="experiments")
    for s in stored:
        shares = " / ".join(f"{v} {w * 100:g}%" for v, w in s.shares.items())
        table.add_row(s.name, s.status, s.unit, shares, f"{s.ramp * 100:g}%", str(s.revision))
    console.print(table)
    missing = sorted(set(declared) - {s.name for s in stored})
    if missing:
        console.print(f"declared in hyouka.yaml, not synced: {', '.join(missing)} "
                      "(hyouka experiments sync)")  # fmt: skip


@experiments.command("sync")
@project_option
def sync_cmd(project_dir: Path) -> None:
    """Store hyouka.yaml's experiments; a changed weight or ramp moves the fewest units."""
    ws = open_workspace(project_dir)
    changes = ws.experiments.sync(_who())
    if not changes:
        console.print("no experiments declared in hyouka.yaml (see docs/experiments.md)")
    for c in changes:
        extra = (
            f" ({c.moved_share * 100:.2f}% of units change variant)"
            if c.what == "reweighted"
            else ""
        )
        console.print(f"{c.name}: {c.what}{extra}")


@experiments.command("start")
@project_option
@click.argument("name")
def start_cmd(project_dir: Path, name: str) -> None:
    """Start assigning units (syncs hyouka.yaml first)."""
    ws = open_workspace(project_dir)
    s = ws.experiments.start(name, _who())
    shares = " / ".join(f"{v} {w * 100:g}%" for v, w in s.shares.items())
    console.print(f"{s.name}: running · {shares} · ramp {s.ramp * 100:g}% · revision {s.revision}")


@experiments.command("stop")
@project_option
@click.argument("name")
def stop_cmd(project_dir: Path, name: str) -> None:
    """Stop: every unit sees the control again (the data stay)."""
    ws = open_workspace(project_dir)
    s = ws.experiments.stop(name, _who())
    console.print(f"{s.name}: stopped · revision {s.revision}")


@experiments.command("ramp")
@project_option
@click.argument("name")
@click.argument("percent", type=click.FloatRange(0, 100, min_open=True))
def ramp_cmd(project_dir: Path, name: str, percent: float) -> None:
    """Enrol PERCENT of the units (raising it only adds units; lowering it removes some)."""
    ws = open_workspace(project_dir)
    s = ws.experiments.ramp(name, percent / 100, _who())
    console.print(f"{s.name}: ramp {s.ramp * 100:g}% · revision {s.revision}")


@experiments.command("show")
@project_option
@click.argument("name")
@lang_option
@json_option
def show_cmd(project_dir: Path, name: str, lang: str | None, as_json: bool) -> None:
    """Per-variant outcomes, sequential verdicts, guardrails and the sample-ratio check."""
    from rich.table import Table

    from hyouka.cli.common import esc, print_item
    from hyouka.experiments.messages import m
    from hyouka.i18n.cli import resolve_lang

    ws = open_workspace(project_dir)
    report = ws.experiments.show(name)
    language = resolve_lang(lang)
    if as_json:
        print_json(report.as_dict(language))
        return
    st = report.state
    console.print(
        m(language, "h.title", name=st.name, status=st.status, revision=st.revision,
          ramp=f"{st.ramp * 100:g}"), highlight=False,
    )  # fmt: skip
    table = Table(m(language, "h.variant"), m(language, "h.units"), m(language, "h.share"))
    for v in st.variants:
        table.add_row(esc(v), f"{report.units.get(v, 0):,}", f"{st.shares.get(v, 0) * 100:g}%")
    console.print(table)
    if report.metrics:
        mt = Table(m(language, "h.metric"), m(language, "h.variant"), m(language, "h.units"),
                   m(language, "h.mean"))  # fmt: skip
        for row in report.metrics:
            cell = "–"
            if math.isfinite(row.mean):
                cell = f"{row.mean:.3f}"
                if math.isfinite(row.low):
                    cell += f" ({row.low:.3f} – {row.high:.3f})"
            mt.add_row(esc(row.metric), esc(row.variant), f"{row.units:,}", cell)
        console.print(mt)
    sentences = report.sentences(language)
    for section in ("srm", "verdicts", "guardrails", "notes"):
        for line in sentences[section]:
            print_item(line)


@click.group("widgetkeys")
def widgetkeys() -> None:
    """Publishable keys of the in-app feedback widget (feedback only, listed page origins)."""


@widgetkeys.command("add")
@project_option
@click.argument("name")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    required=True,
    help="A page origin allowed to post (repeat for several), e.g. https://app.example.com",
)
def widgetkeys_add(project_dir: Path, name: str, origins: tuple[str, ...]) -> None:
    """Create a publishable key and print the snippet for the app's page."""
    ws = open_workspace(project_dir)
    key, secret = ws.widget_keys.add(name, origins)
    console.print(f"widget key '{key.name}' for {', '.join(key.origins)} (safe in a page):")
    console.print(secret, highlight=False)
    console.print(
        "page snippet:\n"
        f'  <script src="HYOUKA_URL/widget.js" data-key="{secret}" defer></script>\n'
        '  <div data-hyouka-output="OUTPUT_ID">…the output…</div>',
        highlight=False,
        markup=False,
    )


@widgetkeys.command("list")
@project_option
@json_option
def widgetkeys_list(project_dir: Path, as_json: bool) -> None:
    """The widget keys and their origins."""
    from rich.table import Table

    ws = open_workspace(project_dir)
    keys = ws.widget_keys.list()
    if as_json:
        print_json([k.__dict__ for k in keys])
        return
    table = Table("name", "origins", "disabled")
    for k in keys:
        table.add_row(k.name, ", ".join(k.origins), "yes" if k.disabled else "")
    console.print(table)


@widgetkeys.command("disable")
@project_option
@click.argument("name")
def widgetkeys_disable(project_dir: Path, name: str) -> None:
    """Disable a widget key (pages using it can no longer post)."""
    ws = open_workspace(project_dir)
    ws.widget_keys.disable(name)
    console.print(f"widget key '{name}' disabled")


COMMANDS = [experiments, widgetkeys]
