"""``hyouka db``: migrations of the store."""

from __future__ import annotations

from pathlib import Path

import click

from hyouka.cli.common import console, project_option, say


@click.group("db")
def db_group() -> None:
    """Database schema: upgrade, current revision."""


@db_group.command("upgrade")
@project_option
@click.option("--url", help="Database URL (default: the project's store or HYOUKA_DATABASE_URL).")
@click.option("--revision", default="head", show_default=True)
def upgrade_cmd(project_dir: Path, url: str | None, revision: str) -> None:
    """Apply schema migrations (needed once per release on a shared PostgreSQL store)."""
    from hyouka.api import upgrade_schema

    before, after = upgrade_schema(project_dir, url, revision)
    console.print(say("db.upgraded", before=before or say("db.empty"), after=after))


@db_group.command("current")
@project_option
@click.option("--url")
def current_cmd(project_dir: Path, url: str | None) -> None:
    """Show the schema revision of the store and the one this hyouka expects."""
    from hyouka.api import schema_revisions

    current, head = schema_revisions(project_dir, url)
    console.print(say("db.current", current=current or say("db.empty"), head=head))


COMMANDS = [db_group]
