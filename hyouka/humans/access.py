"""Browser sessions, API keys and sign-in rate limiting, all kept in the database.

Keeping them in the database (not in a server process's memory) is what lets several server
processes share one PostgreSQL store: any process can check any session, and a burst of bad
sign-in attempts is counted once however the requests are spread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, insert, select, update

from hyouka.bounds import name_problem
from hyouka.errors import NotFoundError
from hyouka.humans._tx import hash_secret, inserted_id, new_secret, now_utc, reading, write_tx
from hyouka.humans.people import Annotator, HumanEvalError, annotator_from_row
from hyouka.store.schema import annotators, api_keys, signin_failures, web_sessions
from hyouka.store.store import Store

SESSION_DAYS = 30


# -- sessions -------------------------------------------------------------------------------


def start_session(store: Store, annotator_id: int, days: int = SESSION_DAYS) -> str:
    """Open a session; return its token (for the cookie; only the hash is stored)."""
    token = new_secret()
    now = now_utc()
    with write_tx(store) as conn:
        conn.execute(
            insert(web_sessions).values(
                token_hash=hash_secret(token),
                annotator_id=annotator_id,
                created_at=now,
                expires_at=now + timedelta(days=days),
            )
        )
    return token


# Built once: every request checks its session (see hyouka.humans.assign on why).
_SESSION = (
    select(annotators)
    .join(web_sessions, web_sessions.c.annotator_id == annotators.c.id)
    .where(
        web_sessions.c.token_hash == bindparam("token_hash"),
        web_sessions.c.expires_at > bindparam("now"),
        annotators.c.project == bindparam("project"),
        annotators.c.disabled.is_(False),
    )
)


def session_annotator(store: Store, project: str, token: str) -> Annotator | None:
    """The enabled person a live session token belongs to, or None."""
    params = {"token_hash": hash_secret(token), "now": now_utc(), "project": project}
    with reading(store) as conn:
        row = conn.execute(_SESSION, params).first()
    return annotator_from_row(row._mapping) if row else None


def end_session(store: Store, token: str) -> None:
    with write_tx(store) as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == hash_secret(token)))


# -- API keys (production apps sending feedback) ---------------------------------------------


@dataclass(frozen=True)
class ApiKey:
    id: int
    project: str
    name: str
    disabled: bool


def add_api_key(store: Store, project: str, name: str) -> tuple[ApiKey, str]:
    """Create an API key; return it and its secret (shown once, stored hashed)."""
    name = name.strip()
    if not name:
        raise HumanEvalError("an API key needs a name (e.g. the app that will use it)")
    problem = name_problem(name, "an API key name")
    if problem:
        raise HumanEvalError(problem, "error.bad_name")
    existing = [k for k in list_api_keys(store, project) if k.name == name]
    if existing:
        raise HumanEvalError(f"an API key named '{name}' already exists; choose another name")
    secret = "hk_" + new_secret()
    with write_tx(store) as conn:
        new_id = inserted_id(
            conn.execute(
                insert(api_keys).values(project=project, name=name, key_hash=hash_secret(secret))
            )
        )
    return ApiKey(int(new_id), project, name, False), secret


def list_api_keys(store: Store, project: str) -> list[ApiKey]:
    query = select(api_keys).where(api_keys.c.project == project).order_by(api_keys.c.id)
    with reading(store) as conn:
        return [
            ApiKey(int(r.id), str(r.project), str(r.name), bool(r.disabled))
            for r in conn.execute(query)
        ]


def disable_api_key(store: Store, project: str, name: str) -> None:
    with write_tx(store) as conn:
        done = conn.execute(
            update(api_keys)
            .where(api_keys.c.project == project, api_keys.c.name == name)
            .values(disabled=True)
        ).rowcount
    if not done:
        raise NotFoundError(f"no API key '{name}' (list them with: hyouka apikeys list)")


def api_key_by_secret(store: Store, project: str, secret: str) -> ApiKey | None:
    query = select(api_keys).where(
        api_keys.c.key_hash == hash_secret(secret),
        api_keys.c.project == project,
        api_keys.c.disabled.is_(False),
    )
    with reading(store) as conn:
        row = conn.execute(query).first()
    return ApiKey(int(row.id), str(row.project), str(row.name), False) if row else None


# -- sign-in rate limiting -------------------------------------------------------------------


@dataclass(frozen=True)
class SigninLimit:
    """At most ``attempts`` failed sign-ins per client address within ``window``."""

    attempts: int = 20
    window: timedelta = timedelta(minutes=15)


def signin_blocked(store: Store, client: str, limit: SigninLimit) -> bool:
    since = now_utc() - limit.window
    query = (
        select(func.count())
        .select_from(signin_failures)
        .where(signin_failures.c.client == client[:100], signin_failures.c.created_at > since)
    )
    with reading(store) as conn:
        return int(conn.execute(query).scalar_one()) >= limit.attempts


def record_signin_failure(store: Store, client: str, limit: SigninLimit) -> None:
    """Count one failed attempt (and forget attempts older than the window)."""
    now = now_utc()
    with write_tx(store) as conn:
        conn.execute(insert(signin_failures).values(client=client[:100], created_at=now))
        conn.execute(
            delete(signin_failures).where(signin_failures.c.created_at < now - limit.window)
        )
