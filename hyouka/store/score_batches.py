"""Writing many score rows at once: the scorers' batched writer, kept with the store.

Rescoring writes hundreds of thousands of rows whose check columns repeat (name, version,
parameters, metric): :class:`ScoreBatchWriter` prepares those once per check and inserts a
batch in one statement. On SQLite it goes straight to the driver's ``executemany`` (measured
~3× faster than SQLAlchemy Core for these rows, benchmarks/scoring_speed.py); on other
databases it uses Core's ``executemany`` (psycopg batches it well). A batch that hits a row
another writer stored meanwhile falls back to :meth:`Store.write_scores`, which skips existing
keys: a score row is never overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from hyouka.store.schema import scores, utcnow
from hyouka.store.store import Store

_COLUMNS = ("sample_id", "check_name", "check_version", "params_hash", "params", "metric",
            "repeat", "value", "passed", "status", "reason", "weight", "judge_sample_id",
            "created_at")  # fmt: skip


@dataclass(frozen=True)
class CheckColumns:
    """What every score row of one check shares."""

    check_name: str
    check_version: str
    params_hash: str
    params: Any
    metric: str
    weight: float


# One result: (sample id, index of its check, value, passed, status, reason)
Result = tuple[int, int, float | None, bool | None, str, str | None]


class ScoreBatchWriter:
    """Inserts batches of results of the checks given, in their order (see the module doc)."""

    def __init__(self, store: Store, checks: Sequence[CheckColumns]) -> None:
        self.store = store
        self.checks = list(checks)
        dialect = store.engine.dialect
        self.raw = dialect.name == "sqlite"
        json_bind = scores.c.params.type.dialect_impl(dialect).bind_processor(dialect)
        time_bind = scores.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
        now = utcnow()
        self.created = time_bind(now) if time_bind else now
        self.fixed = [
            (c.check_name, c.check_version, c.params_hash,
             json_bind(c.params) if json_bind else c.params, c.metric, 0)
            for c in self.checks
        ]  # fmt: skip
        self.weights = [c.weight for c in self.checks]
        marks = ", ".join("?" for _ in _COLUMNS)
        self.sql = f"INSERT INTO scores ({', '.join(_COLUMNS)}) VALUES ({marks})"

    def _rows(self, results: Sequence[Result]) -> list[tuple[Any, ...]]:
        fixed, weights, created = self.fixed, self.weights, self.created
        return [(sid, *fixed[ci], value, passed, status, reason, weights[ci], None, created)
                for sid, ci, value, passed, status, reason in results]  # fmt: skip

    def _dicts(self, results: Sequence[Result]) -> list[dict[str, Any]]:
        out = []
        for sid, ci, value, passed, status, reason in results:
            c = self.checks[ci]
            out.append({
                "sample_id": sid, "check_name": c.check_name, "check_version": c.check_version,
                "params_hash": c.params_hash, "params": c.params, "metric": c.metric,
                "repeat": 0, "value": value, "passed": passed, "status": status,
                "reason": reason, "weight": c.weight,
            })  # fmt: skip
        return out

    def write(self, results: Sequence[Result]) -> int:
        """Insert the results; the number of rows written."""
        if not results:
            return 0
        try:
            with self.store.engine.begin() as conn:
                if self.raw:
                    conn.exec_driver_sql(self.sql, self._rows(results))
                else:
                    conn.execute(insert(scores), self._dicts(results))
            return len(results)
        except IntegrityError:
            # Another scorer wrote some of these meanwhile: insert one by one, skipping those.
            return self.store.write_scores(self._dicts(results))
