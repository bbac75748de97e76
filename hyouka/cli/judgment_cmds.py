"""``hyouka judgments export``: people's judgments (and judges' and production's) to a file."""

from __future__ import annotations

from pathlib import Path

import click

from hyouka import humans
from hyouka.cli.common import console, export_file_options, open_workspace, project_option
from hyouka.errors import HyoukaError


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
    from hyouka.export import write_rows

    ws = open_workspace(project_dir)
    campaign = humans.get_campaign(ws.store, ws.name, campaign_ref) if campaign_ref else None
    if pairs:
        if source or history:
            raise HyoukaError(
                "--pairs uses the people's current votes: drop --source and --history"
            )
        if campaign is None:
            raise HyoukaError("--pairs needs --campaign NAME (a pairwise campaign)")
        if not campaign.pairwise:
            raise HyoukaError(f"campaign '{campaign.name}' is rating-only: it has no pairs")
        n = write_rows(
            humans.preference_pairs(ws.store, campaign), output, fmt, humans.PAIR_COLUMNS
        )
        console.print(f"wrote {n} preference pairs to {output}")
        return
    rows = humans.judgment_rows(
        ws.store, ws.name, campaign=campaign, source=source, history=history
    )
    n = write_rows(rows, output, fmt, humans.JUDGMENT_COLUMNS)
    console.print(f"wrote {n} judgments to {output}")


COMMANDS = [judgments_group]
