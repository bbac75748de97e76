"""``hyouka traces``: production traces received over OpenTelemetry (``hyouka serve``'s
``/v1/traces``): list and filter them, and turn them into dataset cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from hyouka.cli.common import console, esc, json_option, open_workspace, print_json, project_option
from hyouka.errors import HyoukaError

F = TypeVar("F", bound=Callable[..., Any])


def _when(value: str | None, option: str) -> datetime | None:
    """An ISO time (``2026-12-01``, ``2026-12-01T09:00``, UTC unless it says) or an age
    (``30m``, ``6h``, ``7d``: that long ago)."""
    if not value:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value[-1:] in units and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        raise HyoukaError(
            f"{option} '{value}' is neither an ISO time (2026-12-01T09:00) nor an age (30m, 6h, 7d)"
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def filter_options(func: F) -> F:
    options = [
        click.option("--since", help="From this time (ISO, UTC) or this long ago (30m, 6h, 7d)."),
        click.option("--until", help="Before this time (ISO, UTC) or this long ago."),
        click.option("--model", help="The model that answered (or was asked for)."),
        click.option(
            "--variant", "variant_label", help="The app's variant label (hyouka.variant)."
        ),
        click.option("--user", help="The end user's id (user.id)."),
        click.option("--session", help="The session id (session.id)."),
        click.option("--trace", "trace_id", help="One trace id (32 hex digits)."),
        click.option("--text", help="Text in the input or output messages (case-insensitive)."),
        click.option(
            "--feedback/--no-feedback",
            "feedback",
            default=None,
            help="Only traces with (or without) production feedback.",
        ),
        click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000)),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _filters(**given: Any) -> dict[str, Any]:
    return {
        "since": _when(given.get("since"), "--since"),
        "until": _when(given.get("until"), "--until"),
        "model": given.get("model"),
        "variant": given.get("variant_label"),
        "user": given.get("user"),
        "session": given.get("session"),
        "trace_id": given.get("trace_id"),
        "text": given.get("text"),
        "feedback": given.get("feedback"),
        "limit": given.get("limit") or 100,
    }


def _short(text: str | None, width: int = 48) -> str:
    one = " ".join((text or "").split())
    return one if len(one) <= width else one[: width - 1] + "…"


@click.group("traces", invoke_without_command=True)
@project_option
@filter_options
@json_option
@click.pass_context
def traces_group(ctx: click.Context, /, project_dir: Path, as_json: bool, **given: Any) -> None:
    """Production traces sent over OpenTelemetry: list and filter (newest first).

    Send them to ``hyouka serve`` at /v1/traces with a project API key (docs/traces.md)."""
    if ctx.invoked_subcommand is not None:
        return
    ws = open_workspace(project_dir)
    found = ws.traces.list(**_filters(**given))
    if as_json:
        print_json([t.as_dict() for t in found])
        return
    if not found:
        console.print("no traces match")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("time (UTC)", "trace", "model", "variant", "user", "tokens", "ms", "fb",
                   "input", "output"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for t in found:
        tokens = f"{t.input_tokens or 0}/{t.output_tokens or 0}"
        table.add_row(
            t.started_at.strftime("%Y-%m-%d %H:%M:%S"), t.trace_id[:12], esc(t.model or "-"),
            esc(t.variant or "-"), esc(t.user_id or "-"), tokens,
            f"{t.latency_ms:.0f}" if t.latency_ms is not None else "-",
            "yes" if t.has_feedback else "", esc(_short(t.last_user_message, 40)),
            esc(_short(t.output_text, 40)),
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(found)} trace(s); `--json` for every field")


@traces_group.command("to-dataset")
@project_option
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@filter_options
@click.option(
    "--reference/--no-reference",
    default=True,
    show_default=True,
    help="Keep the production answer as the case's expected output.",
)
@click.option(
    "--samples",
    "samples_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the production answers as an external variant's samples (generic "
    "import JSONL, for `hyouka import`).",
)
@click.option("--as-variant", "as_variant", help="The external variant's name (default: the "
              "traces' variant label, else 'production').")  # fmt: skip
def traces_to_dataset(
    project_dir: Path,
    out: Path,
    reference: bool,
    samples_path: Path | None,
    as_variant: str | None,
    **given: Any,
) -> None:
    """Turn the selected traces into dataset cases (JSONL): vars.input (the last user
    message), vars.system, vars.messages; the production answer as expected."""
    ws = open_workspace(project_dir)
    done = ws.traces.to_dataset(
        out, reference=reference, samples=samples_path, as_variant=as_variant, **_filters(**given)
    )
    console.print(f"{done.cases} case(s) written to {esc(out)}")
    if samples_path is not None:
        console.print(f"{done.samples} sample(s) written to {esc(samples_path)} (hyouka import)")
    if done.skipped:
        console.print(
            f"{done.skipped} trace(s) left out: no input messages recorded (e.g. "
            f"{esc(done.example_skipped)}; capture message content in the instrumentor)"
        )


COMMANDS = [traces_group]
