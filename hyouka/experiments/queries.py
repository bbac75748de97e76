"""Every read and write of the experiment tables (:mod:`hyouka.store.schema_experiments`).

Writes go through :func:`hyouka.store.tx.write_tx` (one writer per SQLite file). Batches of
events are validated whole before anything is stored: a batch is stored entirely or not at
all, and a resent event (same idempotency key) is counted once.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hyouka.bounds import COMMENT_MAX, LONG_TEXT_MAX, REF_MAX, TAG_MAX, TAGS_MAX, has_control
from hyouka.errors import NotFoundError
from hyouka.experiments import allocation as alloc
from hyouka.experiments.spec import ExperimentConfig, experiment_name_problem
from hyouka.humans.people import HumanEvalError
from hyouka.store.schema import (
    experiment_events,
    experiment_revisions,
    experiments,
    judgments,
    variants,
    widget_keys,
)
from hyouka.store.store import Store
from hyouka.store.tx import hash_secret, inserted_id, new_secret, now_utc, reading, utc, write_tx

EVENT_KINDS = ("exposure", "output", "outcome")
BATCH_MAX = 1000  # events in one POST /api/events
UNIT_MAX = 200
METRIC_MAX = 100
KEY_MAX = 80


class ExperimentError(HumanEvalError):
    """A request about an experiment that cannot be done as asked (web: 400/422)."""


@dataclass(frozen=True)
class Revision:
    revision: int
    shares: dict[str, float]
    buckets: list[list[int]]
    ramp: float
    status: str
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class ExperimentState:
    """An experiment as stored: its status and current allocation."""

    id: int
    name: str
    status: str  # draft | running | stopped
    unit: str
    seed: int
    variants: tuple[str, ...]
    control: str
    revision: int
    ramp: float
    started_at: datetime | None
    stopped_at: datetime | None
    created_at: datetime
    current: Revision
    history: tuple[Revision, ...] = field(default=())

    @property
    def shares(self) -> dict[str, float]:
        return dict(self.current.shares)

    def allocation_json(self) -> dict[str, Any]:
        """What the client and ``GET /api/experiments/allocations`` carry."""
        return {
            "name": self.name,
            "status": self.status,
            "revision": self.revision,
            "seed": self.seed,
            "variants": list(self.variants),
            "control": self.control,
            "ramp": self.ramp,
            "unit": self.unit,
            "buckets": self.current.buckets,
        }


# -- experiments -------------------------------------------------------------------------


def _revisions(conn: Connection, experiment_id: int) -> list[Revision]:
    rows = conn.execute(
        select(experiment_revisions)
        .where(experiment_revisions.c.experiment_id == experiment_id)
        .order_by(experiment_revisions.c.revision)
    )
    return [
        Revision(
            int(r.revision),
            {str(k): float(v) for k, v in dict(r.shares).items()},
            [list(map(int, x)) for x in r.buckets],
            float(r.ramp),
            str(r.status),
            r.note,
            utc(r.created_at),
        )
        for r in rows
    ]


def _state(conn: Connection, row: Any) -> ExperimentState:
    history = _revisions(conn, int(row.id))
    current = next(h for h in history if h.revision == int(row.revision))
    return ExperimentState(
        id=int(row.id),
        name=str(row.name),
        status=str(row.status),
        unit=str(row.unit),
        seed=int(row.seed),
        variants=tuple(str(v) for v in row.variants),
        control=str(row.control),
        revision=int(row.revision),
        ramp=float(row.ramp),
        started_at=utc(row.started_at) if row.started_at else None,
        stopped_at=utc(row.stopped_at) if row.stopped_at else None,
        created_at=utc(row.created_at),
        current=current,
        history=tuple(history),
    )


def list_experiments(store: Store, project: str) -> list[ExperimentState]:
    with reading(store) as conn:
        rows = list(
            conn.execute(
                select(experiments)
                .where(experiments.c.project == project)
                .order_by(experiments.c.id)
            )
        )
        return [_state(conn, r) for r in rows]


def get_experiment(store: Store, project: str, name: str) -> ExperimentState:
    with reading(store) as conn:
        row = conn.execute(
            select(experiments).where(experiments.c.project == project, experiments.c.name == name)
        ).first()
        if row is None:
            raise NotFoundError(
                f"no experiment '{name}' in the store (declare it under 'experiments:' in "
                "hyouka.yaml, then: hyouka experiments sync)"
            )
        return _state(conn, row)


@dataclass(frozen=True)
class SyncChange:
    name: str
    what: str  # created | reweighted | unchanged
    moved_share: float = 0.0  # share of buckets that changed variant


def _shares_for(order: Sequence[str], config: ExperimentConfig) -> list[float]:
    shares = config.shares()
    return [shares.get(v, 0.0) for v in order]


def sync_experiments(
    store: Store,
    project: str,
    configs: Mapping[str, ExperimentConfig],
    default_seed: int,
    by: str = "",
) -> list[SyncChange]:
    """Make the store's experiments follow hyouka.yaml: new ones are created as drafts; a
    changed weight or ramp adds a revision that moves the fewest buckets (allocation.py)."""
    changes: list[SyncChange] = []
    for name, config in configs.items():
        problem = experiment_name_problem(name)
        if problem:
            raise ExperimentError(problem)
        changes.append(_sync_one(store, project, name, config, default_seed, by))
    return changes


def _sync_one(
    store: Store, project: str, name: str, config: ExperimentConfig, seed: int, by: str
) -> SyncChange:
    with write_tx(store) as conn:
        row = conn.execute(
            select(experiments).where(experiments.c.project == project, experiments.c.name == name)
        ).first()
        if row is None:
            order = list(config.variants)
            buckets = alloc.encode(alloc.initial_buckets(_shares_for(order, config)))
            exp_id = inserted_id(
                conn.execute(
                    insert(experiments).values(
                        project=project,
                        name=name,
                        status="draft",
                        unit=config.unit,
                        seed=config.seed if config.seed is not None else seed,
                        variants=order,
                        control=config.control_variant,
                        revision=1,
                        ramp=config.ramp,
                    )
                )
            )
            _add_revision(conn, exp_id, 1, order, config, buckets, "draft", f"created {by}".strip())
            return SyncChange(name, "created")
        state = _state(conn, row)
        if config.unit != state.unit and state.status != "draft":
            raise ExperimentError(
                f"experiment '{name}': the unit cannot change from '{state.unit}' to "
                f"'{config.unit}' once started (start a new experiment instead)"
            )
        if config.control_variant != state.control and state.status != "draft":
            raise ExperimentError(
                f"experiment '{name}': the control cannot change once started ('{state.control}')"
            )
        order = list(state.variants) + [v for v in config.variants if v not in state.variants]
        shares = _shares_for(order, config)
        same_shares = all(
            abs(state.shares.get(v, 0.0) - s) < 1e-12 for v, s in zip(order, shares, strict=True)
        )
        if same_shares and abs(state.ramp - config.ramp) < 1e-12 and order == list(state.variants):
            return SyncChange(name, "unchanged")
        old = list(alloc.decode(state.current.buckets))
        new = alloc.rebalance(old, shares)
        moved = sum(a != b for a, b in zip(old, new, strict=True)) / alloc.BUCKETS
        revision = state.revision + 1
        note = f"weights {dict(zip(order, shares, strict=True))} ramp {config.ramp} {by}".strip()
        _add_revision(
            conn, state.id, revision, order, config, alloc.encode(new), state.status, note
        )
        conn.execute(
            update(experiments)
            .where(experiments.c.id == state.id)
            .values(
                variants=order,
                revision=revision,
                ramp=config.ramp,
                unit=config.unit,
                control=config.control_variant,
            )
        )
        return SyncChange(name, "reweighted", moved)


def _add_revision(
    conn: Connection,
    exp_id: int,
    revision: int,
    order: Sequence[str],
    config: ExperimentConfig | None,
    buckets: list[list[int]],
    status: str,
    note: str,
    *,
    shares: Mapping[str, float] | None = None,
    ramp: float | None = None,
) -> None:
    if config is not None:
        shares = dict(zip(order, _shares_for(order, config), strict=True))
        ramp = config.ramp
    assert shares is not None and ramp is not None
    conn.execute(
        insert(experiment_revisions).values(
            experiment_id=exp_id,
            revision=revision,
            shares=dict(shares),
            buckets=buckets,
            ramp=ramp,
            status=status,
            note=note or None,
        )
    )


def set_status(
    store: Store, project: str, name: str, status: str, by: str = "", ramp: float | None = None
) -> ExperimentState:
    """Start (running), stop (stopped), or change the ramp: a new revision, same buckets."""
    state = get_experiment(store, project, name)
    if status == "running" and state.status == "running" and ramp is None:
        raise ExperimentError(f"experiment '{name}' is already running")
    if status == "stopped" and state.status != "running":
        raise ExperimentError(f"experiment '{name}' is not running ({state.status})")
    if ramp is not None and not 0 < ramp <= 1:
        raise ExperimentError(f"ramp={ramp}: must be more than 0 and at most 1")
    new_ramp = state.ramp if ramp is None else ramp
    now = now_utc()
    values: dict[str, Any] = {"status": status, "revision": state.revision + 1, "ramp": new_ramp}
    if status == "running" and state.started_at is None:
        values["started_at"] = now
    if status == "stopped":
        values["stopped_at"] = now
    with write_tx(store) as conn:
        _add_revision(
            conn, state.id, state.revision + 1, state.variants, None, state.current.buckets,
            status, f"{status} ramp {new_ramp} {by}".strip(),
            shares=state.shares, ramp=new_ramp,
        )  # fmt: skip
        conn.execute(update(experiments).where(experiments.c.id == state.id).values(**values))
    return get_experiment(store, project, name)


def allocations(store: Store, project: str) -> list[dict[str, Any]]:
    return [s.allocation_json() for s in list_experiments(store, project)]


# -- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventIn:
    kind: str
    experiment: str
    unit_id: str
    idempotency_key: str
    variant: str | None = None
    revision: int | None = None
    metric: str | None = None
    value: float | None = None
    output_ref: str | None = None
    at: float | None = None  # seconds since the epoch (the sender's clock); default: now


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int


def _project_prefix(project: str) -> str:
    return hashlib.sha256(project.encode()).hexdigest()[:10] + ":"


def check_event(e: EventIn, index: int, known: Mapping[str, ExperimentState]) -> None:
    """Raise a clear error naming the event (``events[3].unit_id``) when it cannot be stored."""

    def bad(fld: str, why: str) -> ExperimentError:
        return ExperimentError(f"events[{index}].{fld}: {why}", "error.invalid_request")

    if e.kind not in EVENT_KINDS:
        raise bad("kind", f"must be one of {', '.join(EVENT_KINDS)}")
    state = known.get(e.experiment)
    if state is None:
        raise bad("experiment", f"no experiment '{e.experiment[:60]}' in this project")
    if not e.unit_id or len(e.unit_id) > UNIT_MAX or has_control(e.unit_id):
        raise bad("unit_id", f"1 to {UNIT_MAX} characters, no control characters")
    if not 1 <= len(e.idempotency_key) <= KEY_MAX or has_control(e.idempotency_key):
        raise bad("idempotency_key", f"1 to {KEY_MAX} characters")
    if e.kind == "exposure" and e.variant not in state.variants:
        raise bad("variant", f"must be one of {', '.join(state.variants)}")
    if e.kind == "outcome":
        if not e.metric or len(e.metric) > METRIC_MAX or has_control(e.metric):
            raise bad("metric", f"an outcome needs a metric name (1 to {METRIC_MAX} characters)")
        if e.value is None or not math.isfinite(e.value):
            raise bad("value", "an outcome needs a finite number")
    if e.kind == "output" and not e.output_ref:
        raise bad("output_ref", "an output event needs the output's id")
    if e.output_ref is not None and (len(e.output_ref) > REF_MAX or has_control(e.output_ref)):
        raise bad("output_ref", f"at most {REF_MAX} characters, no control characters")
    if e.at is not None and (not math.isfinite(e.at) or not 0 < e.at < 1e11):
        raise bad("at", "seconds since 1970 (a finite number)")
    if e.revision is not None and not 0 <= e.revision < 2**31:
        raise bad("revision", "an allocation revision number")


def insert_events(store: Store, project: str, events: Sequence[EventIn]) -> IngestResult:
    """Store a batch (all or nothing); an idempotency key seen before counts as a duplicate."""
    if len(events) > BATCH_MAX:
        raise ExperimentError(f"at most {BATCH_MAX} events per batch, got {len(events)}")
    if not events:
        return IngestResult(0, 0)
    known = _known(store, project)
    for i, e in enumerate(events):
        check_event(e, i, known)
    prefix = _project_prefix(project)
    now = now_utc()
    rows: dict[str, dict[str, Any]] = {}
    for e in events:
        key = prefix + e.idempotency_key
        rows.setdefault(
            key,
            {
                "project": project,
                "experiment": e.experiment,
                "kind": e.kind,
                "unit_id": e.unit_id,
                "variant": e.variant,
                "revision": e.revision,
                "metric": e.metric,
                "value": e.value,
                "output_ref": e.output_ref,
                "idempotency_key": key,
                "occurred_at": datetime.fromtimestamp(e.at, UTC) if e.at else now,
                "created_at": now,
            },
        )
    in_batch_dupes = len(events) - len(rows)
    with write_tx(store) as conn:
        seen = set(
            conn.execute(
                select(experiment_events.c.idempotency_key).where(
                    experiment_events.c.idempotency_key.in_(list(rows))
                )
            ).scalars()
        )
        fresh = [r for k, r in rows.items() if k not in seen]
        if fresh:
            _bulk_insert(conn, store.dialect, fresh)
    return IngestResult(len(fresh), len(seen) + in_batch_dupes)


_COLUMNS = (
    "project", "experiment", "kind", "unit_id", "variant", "revision", "metric", "value",
    "output_ref", "idempotency_key", "occurred_at", "created_at",
)  # fmt: skip


def _sqlite_time(value: datetime) -> str:
    # SQLAlchemy's own storage format for DateTime on SQLite (naive UTC text)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _bulk_insert(conn: Connection, dialect: str, fresh: Sequence[Mapping[str, Any]]) -> None:
    """Straight to the driver: SQLAlchemy's per-row parameter processing cost ~4× the insert
    itself for 500-event batches (benchmarks/experiments_load.py)."""
    names = ", ".join(_COLUMNS)
    if dialect == "sqlite":
        marks = ", ".join("?" * len(_COLUMNS))
        sql = f"INSERT INTO experiment_events ({names}) VALUES ({marks}) "
        sql += "ON CONFLICT (idempotency_key) DO NOTHING"
        times = ("occurred_at", "created_at")
        params = [
            tuple(_sqlite_time(r[c]) if c in times else r[c] for c in _COLUMNS) for r in fresh
        ]
        conn.exec_driver_sql(sql, params)
        return
    # PostgreSQL: one statement over arrays (unnest): 12 parameters whatever the batch size
    # (psycopg's executemany was a round trip per row; a multi-row VALUES measured the same)
    cols = [c for c in _COLUMNS if c != "created_at"]
    casts = {"revision": "int[]", "value": "float8[]", "occurred_at": "timestamptz[]"}
    arrays = ", ".join(f"%s::{casts.get(c, 'text[]')}" for c in cols)
    sql = (
        f"INSERT INTO experiment_events ({', '.join(cols)}, created_at) "
        f"SELECT *, %s FROM unnest({arrays}) ON CONFLICT (idempotency_key) DO NOTHING"
    )
    columns = [[r[c] for r in fresh] for c in cols]
    conn.exec_driver_sql(sql, (fresh[0]["created_at"], *columns))


_KNOWN_CACHE: dict[tuple[int, str], tuple[float, dict[str, ExperimentState]]] = {}


def _known(store: Store, project: str) -> dict[str, ExperimentState]:
    """The project's experiments, cached 1 s (batches arrive many per second)."""
    import time

    key = (id(store), project)
    hit = _KNOWN_CACHE.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < 1.0:
        return hit[1]
    found = {s.name: s for s in list_experiments(store, project)}
    _KNOWN_CACHE[key] = (now, found)
    return found


def forget_cache() -> None:
    _KNOWN_CACHE.clear()


def count_events(store: Store, project: str, experiment: str | None = None) -> dict[str, int]:
    query = (
        select(experiment_events.c.kind, func.count())
        .where(experiment_events.c.project == project)
        .group_by(experiment_events.c.kind)
    )
    if experiment is not None:
        query = query.where(experiment_events.c.experiment == experiment)
    with reading(store) as conn:
        return {str(k): int(n) for k, n in conn.execute(query)}


# -- what the analysis reads --------------------------------------------------------------


@dataclass
class ExperimentData:
    """The raw material of one experiment's analysis."""

    exposures: list[tuple[str, str, int | None, datetime]]  # unit, variant, revision, at
    outcomes: list[tuple[str, str, float]]  # unit, metric, value
    feedback: list[tuple[str, int | None, tuple[str, ...], bool]]  # unit, thumb, tags, complaint


def experiment_data(store: Store, project: str, name: str) -> ExperimentData:
    ev = experiment_events.c
    base = (ev.project == project, ev.experiment == name)
    with reading(store) as conn:
        exposures = [
            (str(r.unit_id), str(r.variant), r.revision, utc(r.occurred_at))
            for r in conn.execute(
                select(ev.unit_id, ev.variant, ev.revision, ev.occurred_at)
                .where(*base, ev.kind == "exposure")
                .order_by(ev.occurred_at, ev.id)
            )
        ]
        outcomes = [
            (str(r.unit_id), str(r.metric), float(r.value))
            for r in conn.execute(
                select(ev.unit_id, ev.metric, ev.value).where(*base, ev.kind == "outcome")
            )
        ]
        refs = (
            select(ev.output_ref, ev.unit_id)
            .where(*base, ev.output_ref.is_not(None))
            .distinct()
            .subquery()
        )
        j = judgments.c
        rows = conn.execute(
            select(refs.c.unit_id, j.thumb, j.tags, j.comment, j.highlight)
            .join(refs, refs.c.output_ref == j.external_ref)
            .where(j.project == project, j.source == "production", j.supersedes_id.is_(None))
        )
        feedback = []
        for r in rows:
            tags = tuple(str(t.get("tag")) for t in (r.tags or []) if isinstance(t, dict))
            complaint = bool(
                (r.thumb is not None and r.thumb < 0)
                or tags
                or (r.comment or "").strip()
                or (r.highlight or "").strip()
            )
            feedback.append((str(r.unit_id), r.thumb, tags, complaint))
    return ExperimentData(exposures, outcomes, feedback)


# -- the widget's publishable keys and its feedback ---------------------------------------


@dataclass(frozen=True)
class WidgetKey:
    id: int
    project: str
    name: str
    origins: tuple[str, ...]
    disabled: bool


def _origin_problem(origin: str) -> str | None:
    from urllib.parse import urlsplit

    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        return (
            f"'{origin}' is not an origin (like https://app.example.com or http://localhost:8000)"
        )
    return None


def normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def add_widget_key(
    store: Store, project: str, name: str, origins: Iterable[str]
) -> tuple[WidgetKey, str]:
    """A publishable key (``hkp_…``): feedback for this project only, from these origins."""
    from hyouka.bounds import name_problem

    name = name.strip()
    problem = name_problem(name, "a widget key name")
    if problem:
        raise ExperimentError(problem, "error.bad_name")
    wanted = [normalise_origin(o) for o in origins if o.strip()]
    if not wanted:
        raise ExperimentError("give the page origin(s) the widget runs on (--origin URL)")
    for o in wanted:
        problem = _origin_problem(o)
        if problem:
            raise ExperimentError(problem)
    secret = "hkp_" + new_secret()
    try:
        with write_tx(store) as conn:
            new_id = inserted_id(
                conn.execute(
                    insert(widget_keys).values(
                        project=project,
                        name=name,
                        key_hash=hash_secret(secret),
                        origins=wanted,
                        disabled=False,
                    )
                )
            )
    except IntegrityError:
        raise ExperimentError(f"a widget key named '{name}' already exists") from None
    return WidgetKey(new_id, project, name, tuple(wanted), False), secret


def list_widget_keys(store: Store, project: str) -> list[WidgetKey]:
    with reading(store) as conn:
        return [
            WidgetKey(int(r.id), str(r.project), str(r.name), tuple(r.origins), bool(r.disabled))
            for r in conn.execute(
                select(widget_keys)
                .where(widget_keys.c.project == project)
                .order_by(widget_keys.c.id)
            )
        ]


def disable_widget_key(store: Store, project: str, name: str) -> None:
    with write_tx(store) as conn:
        done = conn.execute(
            update(widget_keys)
            .where(widget_keys.c.project == project, widget_keys.c.name == name)
            .values(disabled=True)
        ).rowcount
    if not done:
        raise NotFoundError(f"no widget key '{name}' (list them with: hyouka widgetkeys list)")


def widget_key_by_secret(store: Store, project: str, secret: str) -> WidgetKey | None:
    query = select(widget_keys).where(
        widget_keys.c.key_hash == hash_secret(secret),
        widget_keys.c.project == project,
        widget_keys.c.disabled.is_(False),
    )
    with reading(store) as conn:
        r = conn.execute(query).first()
    if r is None:
        return None
    return WidgetKey(int(r.id), str(r.project), str(r.name), tuple(r.origins), False)


def origins_allowed(store: Store, project: str) -> set[str]:
    """Every origin some enabled widget key of the project allows (for CORS preflights)."""
    with reading(store) as conn:
        rows = conn.execute(
            select(widget_keys.c.origins).where(
                widget_keys.c.project == project, widget_keys.c.disabled.is_(False)
            )
        )
        return {str(o) for r in rows for o in r.origins}


@dataclass(frozen=True)
class WidgetFeedback:
    output_ref: str
    thumb: str | None = None  # up | down
    comment: str | None = None
    tags: tuple[str, ...] = ()
    phrase: str | None = None  # "never say this"
    output_text: str | None = None
    idempotency_key: str | None = None


NEVER_SAY_TAG = "never say this"


def check_widget_feedback(fb: WidgetFeedback) -> None:
    def bad(why: str) -> ExperimentError:
        return ExperimentError(why, "error.invalid_request")

    if not fb.output_ref or len(fb.output_ref) > REF_MAX or has_control(fb.output_ref):
        raise bad(f"output_ref: 1 to {REF_MAX} characters")
    if fb.thumb not in (None, "up", "down"):
        raise bad("thumb must be 'up' or 'down'")
    if fb.thumb is None and not (fb.comment or "").strip() and not fb.tags and not fb.phrase:
        raise ExperimentError("feedback needs a thumb, a comment or a tag", "error.empty_feedback")
    if fb.comment is not None and len(fb.comment) > COMMENT_MAX:
        raise bad(f"comment: at most {COMMENT_MAX} characters")
    if len(fb.tags) > TAGS_MAX or any(not t.strip() or len(t) > TAG_MAX for t in fb.tags):
        raise bad(f"tags: at most {TAGS_MAX}, each 1 to {TAG_MAX} characters")
    if fb.phrase is not None and len(fb.phrase) > COMMENT_MAX:
        raise bad(f"phrase: at most {COMMENT_MAX} characters")
    if fb.output_text is not None and len(fb.output_text) > LONG_TEXT_MAX:
        raise bad(f"output_text: at most {LONG_TEXT_MAX} characters")
    if fb.idempotency_key is not None and not 1 <= len(fb.idempotency_key) <= KEY_MAX:
        raise bad(f"idempotency_key: 1 to {KEY_MAX} characters")


def record_widget_feedback(
    store: Store, project: str, key: WidgetKey, fb: WidgetFeedback
) -> tuple[int, bool]:
    """A production judgment for the output ``output_ref`` (id, duplicate). The variant is
    found from the output's exposure, here: the page never knows it."""
    check_widget_feedback(fb)
    idem = f"w{key.id}:{fb.idempotency_key or secrets.token_urlsafe(16)}"
    tags = list(dict.fromkeys(t.strip() for t in fb.tags))
    phrase = (fb.phrase or "").strip() or None
    if phrase and NEVER_SAY_TAG not in tags:
        tags.append(NEVER_SAY_TAG)
    with write_tx(store) as conn:
        earlier = conn.execute(
            select(judgments.c.id).where(judgments.c.idempotency_key == idem)
        ).scalar()
        if earlier is not None:
            return int(earlier), True
        new_id = inserted_id(
            conn.execute(
                insert(judgments).values(
                    project=project,
                    source="production",
                    thumb={"up": 1, "down": -1}.get(fb.thumb or ""),
                    comment=(fb.comment or "").strip() or None,
                    tags=[{"tag": t, "side": "a"} for t in tags],
                    highlight=phrase,
                    highlight_side="a" if phrase else None,
                    output_text=fb.output_text,
                    external_ref=fb.output_ref,
                    variant_id=_variant_of_output(conn, project, fb.output_ref),
                    idempotency_key=idem,
                )
            )
        )
    return new_id, False


def _variant_of_output(conn: Connection, project: str, ref: str) -> int | None:
    """The stored variant (variants.id) whose name the output's exposure names, if any."""
    ev = experiment_events.c
    row = conn.execute(
        select(ev.experiment, ev.unit_id, ev.variant)
        .where(ev.project == project, ev.output_ref == ref)
        .order_by(ev.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    name = row.variant
    if name is None:  # an output event: the unit's first exposure says which variant
        name = conn.execute(
            select(ev.variant)
            .where(
                ev.project == project,
                ev.experiment == row.experiment,
                ev.unit_id == row.unit_id,
                ev.kind == "exposure",
            )
            .order_by(ev.occurred_at, ev.id)
            .limit(1)
        ).scalar()
    if name is None:
        return None
    found = conn.execute(
        select(variants.c.id)
        .where(variants.c.project == project, variants.c.name == name)
        .order_by(variants.c.created_at.desc(), variants.c.id.desc())
        .limit(1)
    ).scalar()
    return int(found) if found is not None else None
