"""The store on SQLite and PostgreSQL: migrations, round trips, immutability."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from hyouka.datasets import Dataset, case_from_mapping
from hyouka.errors import StoreError
from hyouka.store import db
from hyouka.store.schema import metadata, samples
from hyouka.store.store import SampleRecord, Store


def _dataset(n: int = 3) -> Dataset:
    cases = [
        case_from_mapping({"id": f"c{i}", "vars": {"q": f"質問{i}"}, "expected": ["答"]})
        for i in range(n)
    ]
    return Dataset("main", Path("data/cases.jsonl"), cases)


def test_migrations_form_one_linear_chain() -> None:
    script = ScriptDirectory(str(db.MIGRATIONS))
    heads = script.get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    assert all(not isinstance(r.down_revision, tuple) for r in revisions)


def test_upgraded_schema_matches_the_table_definitions(store_url: str) -> None:
    engine = db.create(store_url)
    db.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"schema.py and the migrations differ: {diff}"
    assert "samples" in inspect(engine).get_table_names()


def test_downgrade_to_base_removes_every_table(store_url: str) -> None:
    engine = db.create(store_url)
    db.upgrade(engine)
    db.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}


def test_postgres_store_is_not_migrated_silently(pg_url: str) -> None:
    with pytest.raises(StoreError, match="hyouka db upgrade"):
        Store.open(pg_url)
    store = Store.open(pg_url, auto_upgrade=True)
    assert db.current_revision(store.engine) == db.head_revision()


def test_sqlite_store_uses_wal_and_foreign_keys(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def _record(run_id: int, variant_id: int, case_id: int, index: int, out: str) -> SampleRecord:
    return SampleRecord(
        {
            "run_id": run_id,
            "variant_id": variant_id,
            "case_id": case_id,
            "sample_index": index,
            "target": "",
            "role": "app",
            "seed": 7,
            "status": "ok",
            "output": out,
            "error": None,
            "latency_ms": 12.5,
            "input_tokens": 3,
            "output_tokens": 4,
            "cost": 0.001,
            "contexts": [{"id": "p1", "text": "文脈"}],
            "cache_key": f"k{variant_id}-{case_id}-{index}",
            "cached": False,
            "attempts": 1,
        },
        request={"messages": [{"role": "user", "content": "質問"}]},
        response={"choices": []},
        scores=[
            {
                "check_name": "contains",
                "check_version": "1",
                "params_hash": "h",
                "params": {},
                "metric": "contains",
                "repeat": 0,
                "value": 1.0,
                "passed": True,
                "status": "ok",
                "reason": "found",
                "weight": 1.0,
            }
        ],
    )


def test_round_trip_of_datasets_variants_runs_samples(store_url: str) -> None:
    store = Store.open(store_url, auto_upgrade=True)
    ds_id, case_ids = store.save_dataset("proj", _dataset())
    again, same_ids = store.save_dataset("proj", _dataset())
    assert (again, same_ids) == (ds_id, case_ids)  # idempotent: a version is stored once
    v1 = store.save_variant("proj", "polite", "aaa", "prompt", {"prompt": "x"}, "echo", "m")
    assert store.save_variant("proj", "polite", "aaa", "prompt", {"prompt": "x"}) == v1
    v2 = store.save_variant("proj", "polite", "bbb", "prompt", {"prompt": "y"}, "echo", "m")
    run = store.create_run(
        "proj",
        seed=3,
        n_samples=2,
        fingerprint="f" * 32,
        config={"a": 1},
        variant_ids=[v1, v2],
        dataset_ids=[ds_id],
    )
    ids = store.write_samples(
        [
            _record(run.id, v1, case_ids["c0"], 0, "東京です"),
            _record(run.id, v2, case_ids["c0"], 0, "大阪"),
        ]
    )
    assert len(ids) == 2 and all(ids)
    # A second write of the same sample is skipped, never overwritten.
    dup = store.write_samples([_record(run.id, v1, case_ids["c0"], 0, "上書き")])
    assert dup == [0]
    with store.engine.connect() as conn:
        outs = conn.execute(select(samples.c.output).order_by(samples.c.id)).scalars().all()
    assert outs == ["東京です", "大阪"]
    assert store.stored_keys(run.id, [case_ids["c0"]]) == {
        (v1, case_ids["c0"], 0, ""),
        (v2, case_ids["c0"], 0, ""),
    }
    hit = store.cached([f"k{v1}-{case_ids['c0']}-0"])
    assert hit[f"k{v1}-{case_ids['c0']}-0"]["output"] == "東京です"
    assert hit[f"k{v1}-{case_ids['c0']}-0"]["contexts"] == [{"id": "p1", "text": "文脈"}]
    history = store.variant_history("proj", "polite")
    assert [(h["version"], h["n"]) for h in history] == [("aaa", 1), ("bbb", 1)]
    assert store.get_run(run.uid[:12], "proj").id == run.id
    assert store.get_run("latest", "proj").seed == 3
    store.set_run_status(run.id, "finished")
    assert store.get_run(run.uid).finished_at is not None
