"""``hyouka db``: migrations of the store."""

from __future__ import annotations

from pathlib import Path

import click

from hyouka.cli.common import console, project_option


def _url(project_dir: Path, url: str | None) -> str:
    from hyouka.config import load_config

    if url:
        return url
    return load_config(project_dir).database_url()


@click.group("db")
def db_group() -> None:
    """Database schema: upgrade, current revision."""


@db_group.command("upgrade")
@project_option
@click.option("--url", help="Database URL (default: the project's store or HYOUKA_DATABASE_URL).")
@click.option("--revision", default="head", show_default=True)
def upgrade_cmd(project_dir: Path, url: str | None, revision: str) -> None:
    """Apply schema migrations (needed once per release on a shared PostgreSQL store)."""
    from hyouka.store import db

    engine = db.create(_url(project_dir, url))
    before = db.current_revision(engine)
    db.upgrade(engine, revision)
    after = db.current_revision(engine)
    console.print(f"schema: {before or 'empty'} → {after}")


@db_group.command("current")
@project_option
@click.option("--url")
def current_cmd(project_dir: Path, url: str | None) -> None:
    """Show the schema revision of the store and the one this hyouka expects."""
    from hyouka.store import db

    engine = db.create(_url(project_dir, url))
    console.print(
        f"store: {db.current_revision(engine) or 'empty'}; expected: {db.head_revision()}"
    )


COMMANDS = [db_group]
