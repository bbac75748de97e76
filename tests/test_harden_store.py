"""Issue 12, failure 4: several processes opening (creating and migrating) a new store at the
same moment all succeed, on SQLite (a file lock) and on PostgreSQL (an advisory lock)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from hyouka.store import db

# Each child waits for the same moment, then opens the store (SQLite: migrates it on open;
# PostgreSQL: `hyouka db upgrade`), and prints the revision it then sees.
CHILD = """
import sys, time
from hyouka.store import db
url, start, upgrade = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1"
while time.time() < start:
    pass
if upgrade:
    engine = db.create(url)
    db.upgrade(engine)
else:
    from hyouka.store.store import Store
    engine = Store.open(url).engine
print(db.current_revision(engine))
"""


def _open_at_once(
    url: str, processes: int, upgrade: bool
) -> list[subprocess.CompletedProcess[str]]:
    start = time.time() + 3.0  # every child has imported hyouka by then
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, url, str(start), "1" if upgrade else "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    done = []
    for child in children:
        out, err = child.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(child.args, child.returncode, out, err))
    return done


def test_processes_opening_a_new_sqlite_store_at_once_all_succeed(tmp_path: Path) -> None:
    for trial in range(3):
        url = f"sqlite:///{tmp_path / f'trial{trial}' / 'hyouka.db'}"
        results = _open_at_once(url, 4, upgrade=False)
        for r in results:
            assert r.returncode == 0, r.stderr[-800:]
            assert r.stdout.strip() == db.head_revision()


@pytest.mark.postgres
def test_processes_upgrading_a_new_postgres_schema_at_once_all_succeed() -> None:
    from pg import temporary_schema

    with temporary_schema() as url:
        results = _open_at_once(url, 3, upgrade=True)
        for r in results:
            assert r.returncode == 0, r.stderr[-800:]
            assert r.stdout.strip() == db.head_revision()
