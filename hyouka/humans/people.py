"""Annotators (the people who judge), their groups, roles and personal sign-in tokens.

A token is shown once, in the sign-in link, and only its sha256 is stored: a stolen database
does not let anyone sign in. ``reset_link`` issues a new token and ends the person's sessions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from hyouka.bounds import name_problem
from hyouka.errors import HyoukaError, NotFoundError
from hyouka.store.schema import annotators, web_sessions
from hyouka.store.store import Store
from hyouka.store.tx import hash_secret, inserted_id, new_secret, reading, write_tx

ROLES = ("annotator", "admin", "editor")
# Who sees variant identities (the team's workbench under /team/): admins and editors.
TEAM_ROLES = ("admin", "editor")


class HumanEvalError(HyoukaError):
    """A request about annotators, campaigns or judgments that cannot be done as asked.

    ``code`` names the message in the web app's catalogs (``hyouka/web/i18n``)."""

    def __init__(self, message: str, code: str = "error.generic") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Annotator:
    id: int
    project: str
    name: str
    group: str
    role: str
    disabled: bool
    locale: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_team(self) -> bool:
        """May open the team's workbench (/team/) and see which variant wrote what."""
        return self.role in TEAM_ROLES


def annotator_from_row(row: Mapping[Any, Any]) -> Annotator:
    return Annotator(
        id=int(row["id"]),
        project=str(row["project"]),
        name=str(row["name"]),
        group=str(row["group_name"] or ""),
        role=str(row["role"]),
        disabled=bool(row["disabled"]),
        locale=row["locale"],
    )


def signin_link(base_url: str, token: str) -> str:
    """The personal link a person opens to sign in (``base_url`` e.g. http://host:8300)."""
    return f"{base_url.rstrip('/')}/signin/{quote(token, safe='')}"


def add_annotator(
    store: Store,
    project: str,
    name: str,
    group: str = "",
    admin: bool = False,
    role: str | None = None,
) -> tuple[Annotator, str]:
    """Create a person; return them and their sign-in token (shown once, stored hashed).

    ``role``: one of :data:`ROLES` (default: ``admin`` when ``admin``, else ``annotator``)."""
    name = name.strip()
    if not name:
        raise HumanEvalError("an annotator needs a name", "error.name_required")
    problem = name_problem(name, "a name") or (group.strip() and name_problem(group, "a group"))
    if problem:
        raise HumanEvalError(problem, "error.bad_name")
    token = new_secret()
    role = role or ("admin" if admin else "annotator")
    if role not in ROLES:
        raise HumanEvalError(
            f"unknown role '{role}'; choose one of: {', '.join(ROLES)}", "error.bad_role"
        )
    try:
        with write_tx(store) as conn:
            new_id = inserted_id(
                conn.execute(
                    insert(annotators).values(
                        project=project,
                        name=name,
                        group_name=group.strip(),
                        role=role,
                        token_hash=hash_secret(token),
                    )
                )
            )
    except IntegrityError:
        raise HumanEvalError(
            f"an annotator named '{name}' already exists in project '{project}'; choose "
            "another name, or issue a new link with: hyouka annotators reset-link NAME",
            "error.annotator_exists",
        ) from None
    return Annotator(int(new_id), project, name, group.strip(), role, False, None), token


def list_annotators(store: Store, project: str) -> list[Annotator]:
    query = select(annotators).where(annotators.c.project == project).order_by(annotators.c.id)
    with reading(store) as conn:
        return [annotator_from_row(r._mapping) for r in conn.execute(query)]


def get_annotator(store: Store, project: str, name: str) -> Annotator:
    query = select(annotators).where(annotators.c.project == project, annotators.c.name == name)
    with reading(store) as conn:
        row = conn.execute(query).first()
    if row is None:
        raise NotFoundError(
            f"no annotator '{name}' in project '{project}' (list them with: hyouka annotators list)"
        )
    return annotator_from_row(row._mapping)


def set_disabled(store: Store, project: str, name: str, disabled: bool = True) -> Annotator:
    """Disable (or enable again) a person; disabling ends their sessions at once."""
    person = get_annotator(store, project, name)
    with write_tx(store) as conn:
        conn.execute(
            update(annotators).where(annotators.c.id == person.id).values(disabled=disabled)
        )
        if disabled:
            conn.execute(delete(web_sessions).where(web_sessions.c.annotator_id == person.id))
    return get_annotator(store, project, name)


def reset_link(store: Store, project: str, name: str) -> str:
    """Issue a new sign-in token (the old link stops working; sessions end)."""
    person = get_annotator(store, project, name)
    token = new_secret()
    with write_tx(store) as conn:
        conn.execute(
            update(annotators)
            .where(annotators.c.id == person.id)
            .values(token_hash=hash_secret(token))
        )
        conn.execute(delete(web_sessions).where(web_sessions.c.annotator_id == person.id))
    return token


def annotator_by_token(store: Store, project: str, token: str) -> Annotator | None:
    """The enabled person whose sign-in token this is, or None."""
    query = select(annotators).where(
        annotators.c.token_hash == hash_secret(token),
        annotators.c.project == project,
        annotators.c.disabled.is_(False),
    )
    with reading(store) as conn:
        row = conn.execute(query).first()
    return annotator_from_row(row._mapping) if row else None


def set_locale(store: Store, annotator_id: int, locale: str) -> None:
    with write_tx(store) as conn:
        conn.execute(
            update(annotators).where(annotators.c.id == annotator_id).values(locale=locale)
        )
