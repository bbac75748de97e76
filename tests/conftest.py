"""Shared fixtures: a project builder and SQLite / PostgreSQL store URLs."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

PG_BASE = os.environ.get(
    "HYOUKA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def write_project(
    root: Path,
    config: dict[str, Any],
    cases: list[dict[str, Any]] | None = None,
    dataset_name: str = "main",
) -> Path:
    """Write hyouka.yaml (and data/cases.jsonl when ``cases`` is given) into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    cfg = dict(config)
    if cases is not None:
        (root / "data").mkdir(exist_ok=True)
        (root / "data" / "cases.jsonl").write_text(
            "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8"
        )
        cfg.setdefault("datasets", {dataset_name: "data/cases.jsonl"})
    (root / "hyouka.yaml").write_text(
        yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return root


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(
            PG_BASE.replace("postgresql+psycopg", "postgresql"), connect_timeout=3
        ):
            return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL to a fresh, empty PostgreSQL schema (dropped afterwards).

    Skips on a machine without the server, but fails in CI (CI=true): a skip there would hide
    an untested store.
    """
    problem = _pg_reachable()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_BASE} is required in CI: {problem}")
        pytest.skip(f"no PostgreSQL server at {PG_BASE} ({problem})")
    import psycopg

    schema = f"hyouka_t_{secrets.token_hex(4)}"
    raw = PG_BASE.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_BASE else "?"
    yield f"{PG_BASE}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))
