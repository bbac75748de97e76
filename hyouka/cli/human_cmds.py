"""``hyouka serve``, ``annotators``, ``campaigns`` and ``apikeys``: human evaluation."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from hyouka.cli.common import (
    console,
    esc,
    json_option,
    open_workspace,
    print_json,
    project_option,
    say,
    say_word,
)
from hyouka.humans.modes import DEFAULT_ASSIGNMENT_MINUTES, MODES

DEFAULT_URL = "http://127.0.0.1:8300"


def url_option(func: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--url",
        "base_url",
        envvar="HYOUKA_PUBLIC_URL",
        default=DEFAULT_URL,
        show_default=True,
        help="The server's address as people reach it (for sign-in links).",
    )(func)


# -- serve ----------------------------------------------------------------------------------


@click.command("serve")
@project_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8300, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=int,
    help="Server processes (more than 1 needs PostgreSQL).",
)
@click.option(
    "--secure-cookies/--no-secure-cookies",
    default=None,
    help="Mark cookies Secure (default: when the request came over https).",
)
@click.option(
    "--proxy-headers",
    is_flag=True,
    help="Trust X-Forwarded-For/-Proto from a reverse proxy in front of the server.",
)
@click.option(
    "--public-url",
    envvar="HYOUKA_PUBLIC_URL",
    default=None,
    help="Address people use, for links made in the admin page.",
)
def serve_cmd(
    project_dir: Path,
    host: str,
    port: int,
    workers: int,
    secure_cookies: bool | None,
    proxy_headers: bool,
    public_url: str | None,
) -> None:
    """Start the web app: annotators judge, admins watch, apps send feedback."""
    from hyouka.web.serve import serve
    from hyouka.web.settings import WebSettings

    console.print(say("serve.start", host=host, port=port))
    settings = WebSettings(secure_cookies=secure_cookies, public_url=public_url)
    serve(project_dir, host, port, workers=workers, settings=settings, proxy_headers=proxy_headers)


# -- annotators -----------------------------------------------------------------------------


@click.group("annotators")
def annotators_group() -> None:
    """People who judge: add (prints their sign-in link), list, disable."""


@annotators_group.command("add")
@project_option
@url_option
@click.argument("name")
@click.option("--group", "-g", default="", help="Their group, e.g. operators, pdm, research.")
@click.option("--admin", is_flag=True, help="May see the dashboard and create campaigns.")
@click.option(
    "--editor",
    is_flag=True,
    help="May use the team's workbench (/team/: outputs, compare), not the admin pages.",
)
def annotators_add(
    project_dir: Path, base_url: str, name: str, group: str, admin: bool, editor: bool
) -> None:
    """Add a person and print their personal sign-in link (shown once)."""
    ws = open_workspace(project_dir)
    person, token = ws.people.add(name, group, admin, "editor" if editor and not admin else None)
    role = say_word("people.role", person.role)
    console.print(say("people.added", name=person.name, role=role, group=person.group))
    click.echo(ws.people.signin_link(base_url, token))


@annotators_group.command("list")
@project_option
@json_option
def annotators_list(project_dir: Path, as_json: bool) -> None:
    """List people, their groups and roles."""
    ws = open_workspace(project_dir)
    people = ws.people.list()
    if as_json:
        print_json([p.__dict__ for p in people])
        return
    table = Table(*(say(f"col.{c}") for c in ("name", "group", "role", "status")))
    for p in people:
        status = say("people.status.disabled" if p.disabled else "people.status.active")
        table.add_row(esc(p.name), esc(p.group), say_word("people.role", p.role), status)
    console.print(table)


@annotators_group.command("disable")
@project_option
@click.argument("name")
def annotators_disable(project_dir: Path, name: str) -> None:
    """Turn a person's access off (their sessions end at once)."""
    ws = open_workspace(project_dir)
    ws.people.set_disabled(name, True)
    console.print(say("people.disabled", name=name))


@annotators_group.command("enable")
@project_option
@click.argument("name")
def annotators_enable(project_dir: Path, name: str) -> None:
    """Turn a person's access back on."""
    ws = open_workspace(project_dir)
    ws.people.set_disabled(name, False)
    console.print(say("people.enabled", name=name))


@annotators_group.command("reset-link")
@project_option
@url_option
@click.argument("name")
def annotators_reset(project_dir: Path, base_url: str, name: str) -> None:
    """Issue a new sign-in link (the old one stops working)."""
    ws = open_workspace(project_dir)
    token = ws.people.reset_link(name)
    click.echo(ws.people.signin_link(base_url, token))


# -- campaigns ------------------------------------------------------------------------------


@click.group("campaigns")
def campaigns_group() -> None:
    """Human-evaluation campaigns: create, list, close."""


@campaigns_group.command("create")
@project_option
@click.argument("name")
@click.option("--run", "run_ref", default="latest", show_default=True, help="Run id or 'latest'.")
@click.option(
    "--variants",
    "-v",
    multiple=True,
    help="Variant names (repeat; first is A in stored pairs). Default: all of the run's.",
)
@click.option("--cases", "-c", multiple=True, help="Case ids (repeat). Default: all.")
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default=None,
    help="Default: human.mode of hyouka.yaml.",
)
@click.option("--overlap", type=int, default=None, help="People per item (default: human.overlap).")
@click.option("--rubric", default=None, help="Rubric text or a file (default: human.rubric).")
@click.option("--instructions", default=None, help="Text or a file (default: human.instructions).")
@click.option("--tag", "tags", multiple=True, help="Quick tag (repeat; default: human.tags).")
@click.option(
    "--group",
    "groups",
    multiple=True,
    help="Only people of this annotator group judge it (repeat). Default: everyone.",
)
@click.option(
    "--judge-first",
    default=None,
    metavar="JUDGE",
    help="A pairwise judge of the run (e.g. judge-pairwise@gpt): the pairs it could not "
    "settle are served first.",
)
@click.option(
    "--only-unsettled",
    is_flag=True,
    help="With --judge-first: leave out the pairs the judge settled.",
)
@click.option("--seed", type=int, default=None, help="Order and left/right seed (default: seed).")
@click.option("--max-samples", type=int, default=None, help="Sample indices per case to use.")
@click.option(
    "--assignment-minutes",
    type=int,
    default=None,
    help="An unfinished item goes back to the pool after this many minutes "
    f"(default: {DEFAULT_ASSIGNMENT_MINUTES}).",
)
@json_option
def campaigns_create(
    project_dir: Path,
    name: str,
    run_ref: str,
    variants: tuple[str, ...],
    cases: tuple[str, ...],
    mode: str | None,
    overlap: int | None,
    rubric: str | None,
    instructions: str | None,
    tags: tuple[str, ...],
    groups: tuple[str, ...],
    judge_first: str | None,
    only_unsettled: bool,
    seed: int | None,
    max_samples: int | None,
    assignment_minutes: int | None,
    as_json: bool,
) -> None:
    """Create a campaign over a run's outputs."""
    ws = open_workspace(project_dir)
    run = ws.get_run(run_ref)
    campaign = ws.campaigns.create(
        name,
        run=run.uid,
        mode=mode,
        variants=variants,
        cases=cases,
        overlap=overlap,
        rubric=rubric,
        instructions=instructions,
        tags=tags or None,
        seed=seed,
        max_samples=max_samples,
        assignment_minutes=assignment_minutes,
        groups=groups,
        judge_first=judge_first,
        only_unsettled=only_unsettled,
    )
    progress = ws.campaigns.progress(campaign)
    if as_json:
        print_json({**campaign.__dict__, "items": progress.items})
        return
    who = (
        say("campaign.for_groups", groups=", ".join(campaign.groups))
        if campaign.groups
        else say("campaign.for_everyone")
    )
    console.print(
        say(
            "campaign.created",
            id=campaign.id,
            name=campaign.name,
            items=progress.items,
            overlap=campaign.overlap,
            mode=campaign.mode,
            run=run.uid,
        )
        + who
    )
    sel = campaign.selection
    if sel:
        rest = say(
            "campaign.settled_left_out" if sel["only_unsettled"] else "campaign.then_settled",
            n=sel["settled"],
        )
        first = say(
            "campaign.first_unsettled",
            unsettled=sel["unsettled"],
            judge=sel["judge"],
            unjudged=sel["unjudged"],
        )
        console.print(first + rest)


@campaigns_group.command("list")
@project_option
@json_option
def campaigns_list(project_dir: Path, as_json: bool) -> None:
    """List campaigns and their progress."""
    ws = open_workspace(project_dir)
    rows = []
    for c in ws.campaigns.list():
        p = ws.campaigns.progress(c)
        rows.append((c, p))
    if as_json:
        print_json(
            [
                {**c.__dict__, "items": p.items, "judged": p.judged, "needed": p.needed}
                for c, p in rows
            ]
        )
        return
    cols = ("id", "name", "mode", "for", "items", "overlap", "judged", "status")
    table = Table(*(say(f"col.{c}") for c in cols))
    table.columns[1].no_wrap = True  # the campaign name people copy: never cut
    for c, p in rows:
        table.add_row(
            str(c.id),
            esc(c.name),
            c.mode,
            esc(", ".join(c.groups)) or say("campaign.everyone"),
            str(p.items),
            str(c.overlap),
            f"{p.judged}/{p.needed}",
            say_word("campaign_status", c.status),
        )
    console.print(table)


@campaigns_group.command("close")
@project_option
@click.argument("campaign")
def campaigns_close(project_dir: Path, campaign: str) -> None:
    """Stop handing out items (items already handed out may still be judged)."""
    ws = open_workspace(project_dir)
    found = ws.campaigns.set_status(campaign, "closed")
    console.print(say("campaign.closed", name=found.name))


@campaigns_group.command("open")
@project_option
@click.argument("campaign")
def campaigns_open(project_dir: Path, campaign: str) -> None:
    """Open a closed campaign again."""
    ws = open_workspace(project_dir)
    found = ws.campaigns.set_status(campaign, "open")
    console.print(say("campaign.opened", name=found.name))


# -- API keys -------------------------------------------------------------------------------


@click.group("apikeys")
def apikeys_group() -> None:
    """API keys for production apps sending user feedback (POST /api/feedback)."""


@apikeys_group.command("add")
@project_option
@click.argument("name")
def apikeys_add(project_dir: Path, name: str) -> None:
    """Create an API key and print it (shown once)."""
    ws = open_workspace(project_dir)
    _key, secret = ws.api_keys.add(name)
    console.print(say("apikey.created", name=name))
    click.echo(secret)


@apikeys_group.command("list")
@project_option
@json_option
def apikeys_list(project_dir: Path, as_json: bool) -> None:
    """List API keys (their secrets are never shown again)."""
    ws = open_workspace(project_dir)
    keys = ws.api_keys.list()
    if as_json:
        print_json([k.__dict__ for k in keys])
        return
    for k in keys:
        console.print(esc(k.name) + (say("apikey.disabled_mark") if k.disabled else ""))


@apikeys_group.command("disable")
@project_option
@click.argument("name")
def apikeys_disable(project_dir: Path, name: str) -> None:
    """Turn an API key off."""
    ws = open_workspace(project_dir)
    ws.api_keys.disable(name)
    console.print(say("apikey.disabled", name=name))


COMMANDS = [serve_cmd, annotators_group, campaigns_group, apikeys_group]
