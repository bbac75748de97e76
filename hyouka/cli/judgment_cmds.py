"""``hyouka judgments export``: people's judgments (and judges' and production's) to a file."""

from __future__ import annotations

from pathlib import Path

import click

from hyouka.cli.common import console, export_file_options, open_workspace, project_option, say


@click.group("judgments")
def judgments_group() -> None:
    """Judgments: export them (votes, ratings, complaints, production thumbs)."""


@judgments_group.command("export")
@project_option
@export_file_options
@click.option("--campaign", "campaign_ref", default=None, help="Only this campaign (name or id).")
@click.option(
    "--source",
    type=click.Choice(["human", "production", "judge"]),
    default=None,
    help="Only people in campaigns, production feedback, or LLM judges. Default: all.",
)
@click.option(
    "--history", is_flag=True, help="Also the rows later edits superseded (current = false)."
)
@click.option(
    "--pairs",
    is_flag=True,
    help="Instead: one prompt/chosen/rejected row per item the people's votes settled "
    "(needs --campaign; for DPO-style fine-tuning).",
)
def export_cmd(
    project_dir: Path,
    output: Path,
    fmt: str | None,
    campaign_ref: str | None,
    source: str | None,
    history: bool,
    pairs: bool,
) -> None:
    """Write judgments with what was judged: the input, both outputs and their variants, the
    verdict, ratings, comments, tags, and who (admin data: it names variants and people)."""
    ws = open_workspace(project_dir)
    n = ws.judgments.export(
        output, fmt, campaign=campaign_ref, source=source, history=history, pairs=pairs
    )
    console.print(say("judgments.wrote_pairs" if pairs else "judgments.wrote", n=n, path=output))


COMMANDS = [judgments_group]
