"""The Store facade: the runner's reads and writes of runs, datasets, variants, samples and
scores.

The other packages that read the store for their own purposes query the tables of
:mod:`hyouka.store.schema` through a :class:`Store`'s engine in one place each, and write
through :mod:`hyouka.store.tx` (one transaction discipline, retried on SQLite's busy errors):

- scoring: ``hyouka/scorers/queries.py``, with the batched score writer
  :mod:`hyouka.store.score_batches`;
- the feedback loop: ``hyouka/loop/queries.py``;
- the statistics and the report: ``hyouka/analysis/data.py``, ``hyouka/report/data.py``;
- summaries and exports of a run: ``hyouka/summary.py``, ``hyouka/export.py``;
- human evaluation (``hyouka/humans/``): each module owns its tables' statements (people and
  sessions, campaigns and items, the serving path's assignment statements — whose concurrency
  rules are written in the SQL itself, see ``humans/assign.py`` —, judging, the dashboard,
  exports).

Which judgments count is one rule for all of them: :func:`hyouka.store.judgments.is_current`.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Integer, and_, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hyouka import __version__
from hyouka.bounds import as_db_id
from hyouka.datasets import Dataset
from hyouka.errors import NotFoundError
from hyouka.store import db
from hyouka.store.sample_batches import SqliteSampleBatch
from hyouka.store.schema import (
    cases,
    dataset_cases,
    datasets,
    run_datasets,
    run_variants,
    runs,
    sample_conversations,
    sample_payloads,
    samples,
    scores,
    utcnow,
    variants,
)

SAMPLE_FIELDS = (
    "run_id",
    "variant_id",
    "case_id",
    "sample_index",
    "target",
    "role",
    "seed",
    "status",
    "output",
    "error",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "cost",
    "contexts",
    "cache_key",
    "cached",
    "attempts",
)

# A running run's process refreshes ``runs.heartbeat_at`` this often (hyouka/runner/heartbeat.py)
HEARTBEAT_SECONDS = 15.0
# A ``running`` run whose heartbeat is older than this shows as ``interrupted``: its process is
# gone, or hung (several beats missed). Readers on the owner's host also ask the OS whether the
# owner's pid still exists, which tells a ``kill -9`` at once.
STALE_SECONDS = 8 * HEARTBEAT_SECONDS


# A sample's conversation columns, as the cache and the readers select them.
CONVERSATION_COLUMNS = (
    sample_conversations.c.tool_calls, sample_conversations.c.trajectory,
    sample_conversations.c.turns, sample_conversations.c.stop_reason,
    sample_conversations.c.goal_reached, sample_conversations.c.turns_to_goal,
)  # fmt: skip
CONVERSATION_FIELDS = tuple(c.name for c in CONVERSATION_COLUMNS)


@dataclass
class SampleRecord:
    """A finished sample on its way to the store, with its payloads and scores."""

    row: dict[str, Any]
    request: Any = None
    response: Any = None
    scores: list[dict[str, Any]] = field(default_factory=list)
    # tool calls, trajectory and a simulation's outcome (a sample_conversations row), if any
    conversation: dict[str, Any] | None = None


@dataclass(frozen=True)
class RunInfo:
    id: int
    uid: str
    project: str
    status: str
    seed: int
    samples: int
    fingerprint: str
    config: Mapping[str, Any]
    created_at: datetime
    finished_at: datetime | None
    stored_status: str = ""  # as written; ``status`` is what it is (see effective_status)
    owner_host: str | None = None
    owner_pid: int | None = None
    heartbeat_at: datetime | None = None


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _pid_exists(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) is not a probe on Windows: the heartbeat decides
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user
        return True
    return True


def effective_status(row: Mapping[str, Any], now: datetime | None = None) -> str:
    """A run's status as a reader should see it: a ``running`` run whose process is gone is
    ``interrupted``.

    Gone means: its heartbeat is older than :data:`STALE_SECONDS` (any host; a run stored
    before heartbeats existed counts from its creation), or it ran on this host under a pid
    that no longer exists. Nothing is written: the next ``hyouka run`` of the same command
    resumes it and marks it ``running`` again.
    """
    status = str(row["status"])
    if status != "running":
        return status
    now = now or utcnow()
    beat = _aware(row.get("heartbeat_at")) or _aware(row.get("created_at"))
    if beat is not None and (now - beat).total_seconds() > STALE_SECONDS:
        return "interrupted"
    pid, host = row.get("owner_pid"), row.get("owner_host")
    if pid is None or host != socket.gethostname() or int(pid) == os.getpid():
        return status
    return status if _pid_exists(int(pid)) else "interrupted"


def _owner() -> dict[str, Any]:
    return {"owner_host": socket.gethostname(), "owner_pid": os.getpid(), "heartbeat_at": utcnow()}


class Store:
    """Reads and writes hyouka's tables on one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._raw: SqliteSampleBatch | None = (
            SqliteSampleBatch(engine.dialect) if engine.dialect.name == "sqlite" else None
        )

    @classmethod
    def open(cls, url: str, auto_upgrade: bool | None = None) -> Store:
        engine = db.create(url)
        db.ensure_current(engine, auto_upgrade)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # -- datasets and cases ---------------------------------------------------------------

    def save_dataset(self, project: str, dataset: Dataset) -> tuple[int, dict[str, int]]:
        """Store a dataset version (idempotent); return its id and case id by case key."""
        version = dataset.version
        with self.engine.begin() as conn:
            case_ids = self._save_cases(conn, dataset)
            existing = conn.execute(
                select(datasets.c.id).where(
                    datasets.c.project == project,
                    datasets.c.name == dataset.name,
                    datasets.c.version == version,
                )
            ).scalar()
            if existing is not None:
                return int(existing), case_ids
            dataset_id = conn.execute(
                insert(datasets).values(
                    project=project,
                    name=dataset.name,
                    version=version,
                    path=str(dataset.path),
                    n_cases=len(dataset.cases),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            if dataset.cases:
                conn.execute(
                    insert(dataset_cases),
                    [
                        {"dataset_id": dataset_id, "position": i, "case_id": case_ids[c.id]}
                        for i, c in enumerate(dataset.cases)
                    ],
                )
            return int(dataset_id), case_ids

    def _save_cases(self, conn: Any, dataset: Dataset) -> dict[str, int]:
        by_hash = {c.hash: c for c in dataset.cases}
        found: dict[str, int] = {}
        hashes = list(by_hash)
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            rows = conn.execute(
                select(cases.c.case_hash, cases.c.id).where(cases.c.case_hash.in_(chunk))
            )
            found.update({h: int(i) for h, i in rows})
        missing = [h for h in hashes if h not in found]
        if missing:
            conn.execute(
                insert(cases),
                [
                    {"case_hash": h, "case_key": by_hash[h].id, "content": by_hash[h].content()}
                    for h in missing
                ],
            )
            for start in range(0, len(missing), 500):
                chunk = missing[start : start + 500]
                rows = conn.execute(
                    select(cases.c.case_hash, cases.c.id).where(cases.c.case_hash.in_(chunk))
                )
                found.update({h: int(i) for h, i in rows})
        return {c.id: found[c.hash] for c in dataset.cases}

    def case_content(self, case_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        ids = list(case_ids)
        out: dict[int, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for cid, content in conn.execute(
                    select(cases.c.id, cases.c.content).where(cases.c.id.in_(chunk))
                ):
                    out[int(cid)] = dict(content)
        return out

    # -- variants ---------------------------------------------------------------------------

    def save_variant(
        self,
        project: str,
        name: str,
        version: str,
        kind: str,
        spec: Mapping[str, Any],
        provider_type: str | None = None,
        model: str | None = None,
        family: str | None = None,
    ) -> int:
        """Store a variant version (idempotent) and return its id."""
        where = and_(
            variants.c.project == project, variants.c.name == name, variants.c.version == version
        )
        with self.engine.begin() as conn:
            existing = conn.execute(select(variants.c.id).where(where)).scalar()
            if existing is not None:
                return int(existing)
            try:
                with conn.begin_nested():
                    return int(
                        conn.execute(
                            insert(variants).values(
                                project=project,
                                name=name,
                                version=version,
                                kind=kind,
                                spec=dict(spec),
                                provider_type=provider_type,
                                model=model,
                                family=family,
                            )
                        ).inserted_primary_key[0]  # type: ignore[index]
                    )
            except IntegrityError:  # another process stored it first
                return int(conn.execute(select(variants.c.id).where(where)).scalar_one())

    def variant_history(self, project: str, name: str | None = None) -> list[dict[str, Any]]:
        """Every stored version of the project's variants (oldest first), with sample counts."""
        counts = (
            select(samples.c.variant_id, func.count().label("n"), func.max(samples.c.created_at))
            .where(samples.c.role == "app")
            .group_by(samples.c.variant_id)
            .subquery()
        )
        query = (
            select(variants, counts.c.n)
            .join(counts, counts.c.variant_id == variants.c.id, isouter=True)
            .where(variants.c.project == project)
            .order_by(variants.c.name, variants.c.created_at, variants.c.id)
        )
        if name is not None:
            query = query.where(variants.c.name == name)
        with self.engine.connect() as conn:
            return [{**dict(row._mapping), "n": int(row.n or 0)} for row in conn.execute(query)]

    def variants_by_id(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(variants).where(variants.c.id.in_(list(ids))))
            return {int(r.id): dict(r._mapping) for r in rows}

    # -- runs -------------------------------------------------------------------------------

    def create_run(
        self,
        project: str,
        *,
        seed: int,
        n_samples: int,
        fingerprint: str,
        config: Mapping[str, Any],
        variant_ids: Sequence[int],
        dataset_ids: Sequence[int],
    ) -> RunInfo:
        uid = utcnow().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        with self.engine.begin() as conn:
            run_id = conn.execute(
                insert(runs).values(
                    uid=uid,
                    project=project,
                    status="running",
                    seed=seed,
                    samples=n_samples,
                    fingerprint=fingerprint,
                    config=dict(config),
                    hyouka_version=__version__,
                    **_owner(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(
                insert(run_variants), [{"run_id": run_id, "variant_id": v} for v in variant_ids]
            )
            conn.execute(
                insert(run_datasets), [{"run_id": run_id, "dataset_id": d} for d in dataset_ids]
            )
        return self.get_run(uid)

    def set_run_status(self, run_id: int, status: str) -> None:
        """Record a run's status; ``running`` also makes this process its owner."""
        finished = utcnow() if status in {"finished", "failed"} else None
        owner = _owner() if status == "running" else {}
        with self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(status=status, finished_at=finished, **owner)
            )

    def heartbeat(self, run_id: int) -> None:
        """The owner's sign of life for a running run (see :func:`effective_status`)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status == "running")
                .values(heartbeat_at=utcnow())
            )

    def latest_unfinished_run(self, project: str, fingerprint: str | None = None) -> RunInfo | None:
        query = select(runs).where(runs.c.project == project, runs.c.status != "finished")
        if fingerprint is not None:
            query = query.where(runs.c.fingerprint == fingerprint)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(runs.c.id.desc()).limit(1)).first()
        return _run_info(row._mapping) if row else None

    def get_run(self, ref: str, project: str | None = None) -> RunInfo:
        """A run by uid, uid prefix, numeric id, or 'latest': the newest run that stored a
        sample (the newest run of all when none did)."""
        query = select(runs)
        if project is not None:
            query = query.where(runs.c.project == project)
        if ref == "latest":
            newest = query.order_by(runs.c.id.desc()).limit(1)
            with_samples = newest.where(exists().where(samples.c.run_id == runs.c.id))
            with self.engine.connect() as conn:
                row = conn.execute(with_samples).first() or conn.execute(newest).first()
            if row is None:
                raise NotFoundError("the project has no runs yet (start one with: hyouka run)")
            return _run_info(row._mapping)
        elif ref.isdigit():
            run_id = as_db_id(ref)
            if run_id is None:  # beyond any id a database holds (or not ASCII digits)
                raise NotFoundError(f"no run '{ref}' (list runs with: hyouka runs)")
            query = query.where(runs.c.id == run_id)
        else:
            query = query.where(runs.c.uid.like(ref.replace("%", "") + "%")).limit(2)
        with self.engine.connect() as conn:
            found = conn.execute(query).fetchall()
        if not found:
            raise NotFoundError(f"no run '{ref}' (list runs with: hyouka runs)")
        if len(found) > 1 and ref != "latest":
            raise NotFoundError(f"'{ref}' matches several runs; give more of the run id")
        return _run_info(found[0]._mapping)

    def list_runs(self, project: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        counts = (
            select(
                samples.c.run_id,
                func.count().label("n_samples"),
                func.sum((samples.c.status != "ok").cast(Integer)).label("n_errors"),
            )
            .where(samples.c.role == "app")
            .group_by(samples.c.run_id)
            .subquery()
        )
        query = (
            select(runs, counts.c.n_samples, counts.c.n_errors)
            .join(counts, counts.c.run_id == runs.c.id, isouter=True)
            .order_by(runs.c.id.desc())
            .limit(limit)
        )
        if project is not None:
            query = query.where(runs.c.project == project)
        now = utcnow()
        with self.engine.connect() as conn:
            out = [dict(r._mapping) for r in conn.execute(query)]
        for r in out:
            r["stored_status"] = r["status"]
            r["status"] = effective_status(r, now)
        return out

    def run_variant_ids(self, run_id: int) -> list[int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(run_variants.c.variant_id)
                .where(run_variants.c.run_id == run_id)
                .order_by(run_variants.c.variant_id)
            )
            return [int(r[0]) for r in rows]

    # -- samples ----------------------------------------------------------------------------

    def stored_keys(self, run_id: int, case_ids: Sequence[int]) -> set[tuple[int, int, int, str]]:
        """(variant, case, sample index, target) of samples already stored for these cases."""
        out: set[tuple[int, int, int, str]] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(case_ids), 500):
                chunk = list(case_ids[start : start + 500])
                rows = conn.execute(
                    select(
                        samples.c.variant_id,
                        samples.c.case_id,
                        samples.c.sample_index,
                        samples.c.target,
                    ).where(samples.c.run_id == run_id, samples.c.case_id.in_(chunk))
                )
                out.update((int(v), int(c), int(k), str(t)) for v, c, k, t in rows)
        return out

    def cached(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored successful outputs by cache key (the newest for each key)."""
        out: dict[str, dict[str, Any]] = {}
        cols = (
            samples.c.id,
            samples.c.cache_key,
            samples.c.output,
            samples.c.latency_ms,
            samples.c.input_tokens,
            samples.c.output_tokens,
            samples.c.cost,
            samples.c.contexts,
            *CONVERSATION_COLUMNS,
        )
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                rows = conn.execute(
                    select(*cols)
                    .select_from(samples.outerjoin(sample_conversations))
                    .where(samples.c.cache_key.in_(chunk), samples.c.status == "ok")
                    .order_by(samples.c.id)
                )
                for row in rows:
                    out[row.cache_key] = dict(row._mapping)
        return out

    def write_samples(self, records: Sequence[SampleRecord]) -> list[int]:
        """Insert finished samples, their raw payloads and scores in one transaction.

        A sample that is already stored (same run, variant, case, index, target) is skipped,
        never overwritten: outputs are immutable.
        """
        if not records:
            return []
        with self.engine.begin() as conn:
            try:
                with conn.begin_nested():
                    ids = self._insert_samples(conn, records)
            except IntegrityError:
                # Rare: a resumed run raced a leftover writer. Insert one by one, skipping dups.
                ids = []
                for rec in records:
                    try:
                        with conn.begin_nested():
                            ids.extend(self._insert_samples(conn, [rec]))
                    except IntegrityError:
                        ids.append(0)
            self._insert_children(conn, records, ids)
        return ids

    def _insert_samples(self, conn: Any, records: Sequence[SampleRecord]) -> list[int]:
        if self._raw is not None:  # SQLite: straight to the driver (store/sample_batches.py)
            return self._raw.insert_samples(conn, [rec.row for rec in records])
        result = conn.execute(
            insert(samples).returning(samples.c.id, sort_by_parameter_order=True),
            [rec.row for rec in records],
        )
        return [int(r[0]) for r in result]

    def _insert_children(
        self, conn: Any, records: Sequence[SampleRecord], ids: Sequence[int]
    ) -> None:
        payloads = [
            {"sample_id": sid, "request": rec.request, "response": rec.response}
            for rec, sid in zip(records, ids, strict=True)
            if sid and (rec.request is not None or rec.response is not None)
        ]
        if payloads:
            if self._raw is not None:
                self._raw.insert_payloads(conn, payloads)
            else:
                conn.execute(insert(sample_payloads), payloads)
        conversations = [
            {**rec.conversation, "sample_id": sid}
            for rec, sid in zip(records, ids, strict=True)
            if sid and rec.conversation
        ]
        if conversations:
            conn.execute(insert(sample_conversations), conversations)
        score_rows = [
            {**s, "sample_id": sid}
            for rec, sid in zip(records, ids, strict=True)
            if sid
            for s in rec.scores
        ]
        if score_rows:
            if self._raw is not None:
                self._raw.insert_scores(conn, score_rows)
            else:
                conn.execute(insert(scores), score_rows)

    def write_scores(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert score rows; rows whose key already exists are skipped (never overwritten)."""
        written = 0
        with self.engine.begin() as conn:
            for row in rows:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(scores).values(**row))
                        written += 1
                except IntegrityError:
                    continue
        return written

    def count_samples(self, run_id: int) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(samples).where(samples.c.run_id == run_id)
                ).scalar_one()
            )


def _run_info(row: Any) -> RunInfo:
    pid = row.get("owner_pid")
    return RunInfo(
        id=int(row["id"]),
        uid=str(row["uid"]),
        project=str(row["project"]),
        status=effective_status(row),
        seed=int(row["seed"]),
        samples=int(row["samples"]),
        fingerprint=str(row["fingerprint"]),
        config=row["config"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        stored_status=str(row["status"]),
        owner_host=row.get("owner_host"),
        owner_pid=int(pid) if pid is not None else None,
        heartbeat_at=row.get("heartbeat_at"),
    )
