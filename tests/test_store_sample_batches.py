"""SQLite's driver-level sample writer stores exactly the rows SQLAlchemy Core stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from hyouka.datasets import Dataset, case_from_mapping
from hyouka.store.schema import sample_payloads, samples, scores
from hyouka.store.store import SampleRecord, Store


def _setup(url: str) -> tuple[Store, int, list[int], dict[str, int]]:
    store = Store.open(url, auto_upgrade=True)
    cases = [case_from_mapping({"id": f"c{i}", "vars": {"q": f"質問{i}"}}) for i in range(4)]
    ds_id, case_ids = store.save_dataset("p", Dataset("main", Path("cases.jsonl"), cases))
    v1 = store.save_variant("p", "a", "va", "prompt", {"prompt": "x"}, "openai", "m")
    v2 = store.save_variant("p", "b", "vb", "prompt", {"prompt": "y"}, "openai", "m")
    run = store.create_run(
        "p", seed=1, n_samples=2, fingerprint="f" * 32, config={},
        variant_ids=[v1, v2], dataset_ids=[ds_id],
    )  # fmt: skip
    return store, run.id, [v1, v2], case_ids


def _records(run_id: int, vids: list[int], case_ids: dict[str, int]) -> list[SampleRecord]:
    out = []
    for i, cid in enumerate(case_ids.values()):
        for vid in vids:
            ok = (i + vid) % 3 != 0
            row: dict[str, Any] = {
                "run_id": run_id, "variant_id": vid, "case_id": cid, "sample_index": 0,
                "target": "", "role": "app", "seed": 10 + i,
                "status": "ok" if ok else "timeout", "output": f"回答 {i}" if ok else None,
                "error": None if ok else "no answer within 1 s",
                "latency_ms": 50.5 if ok else None, "input_tokens": 3 if ok else None,
                "output_tokens": 4 if ok else None, "cost": None,
                "contexts": [{"id": "p1", "text": "文脈"}] if i == 1 else None,
                "cache_key": f"k{vid}-{cid}", "cached": i == 2, "attempts": 1 + (not ok),
            }  # fmt: skip
            score = {
                "check_name": "contains", "check_version": "1", "params_hash": "h",
                "params": {"value": "回答"}, "metric": "contains", "repeat": 0,
                "value": 1.0 if ok else None, "passed": True if ok else None,
                "status": "ok" if ok else "skipped", "reason": None, "weight": 1.0,
            }  # fmt: skip
            out.append(
                SampleRecord(
                    row,
                    request={"model": "m", "messages": [{"role": "user", "content": "質"}]}
                    if ok
                    else None,
                    response={"choices": [{"message": {"content": f"回答 {i}"}}]} if ok else None,
                    scores=[score, {**score, "metric": "other", "weight": 2.0}],
                )
            )
    return out


def _dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.engine.connect() as conn:
        return {
            t.name: [
                tuple(v for k, v in r._mapping.items() if k != "created_at")
                for r in conn.execute(select(t).order_by(*t.primary_key.columns))
            ]
            for t in (samples, sample_payloads, scores)
        }


def test_driver_writer_stores_the_rows_core_stored(tmp_path: Path) -> None:
    core, run_c, vids_c, cases_c = _setup(f"sqlite:///{tmp_path / 'core.db'}")
    raw, run_r, vids_r, cases_r = _setup(f"sqlite:///{tmp_path / 'raw.db'}")
    assert (run_c, vids_c, cases_c) == (run_r, vids_r, cases_r)
    assert raw._raw is not None
    core._raw = None  # the SQLAlchemy Core path, as before
    records = _records(run_c, vids_c, cases_c)
    # A gap in the ids (a deleted sample) is handled as SQLite's rowid rule handles it.
    first_c = core.write_samples(records[:3])
    first_r = raw.write_samples(records[:3])
    for store in (core, raw):
        with store.engine.begin() as conn:
            conn.execute(delete(samples).where(samples.c.id == 3))
    assert first_c == first_r == [1, 2, 3]
    rest_c = core.write_samples(records[3:])
    rest_r = raw.write_samples(records[3:])
    assert rest_c == rest_r == list(range(3, 3 + len(records) - 3))
    a, b = _dump(core), _dump(raw)
    assert len(a["samples"]) == len(records) - 1 and len(a["scores"]) > len(records)
    assert a == b
    with raw.engine.connect() as conn:
        created = conn.execute(select(samples.c.created_at)).scalars().all()
    assert all(c is not None for c in created)


def test_driver_writer_skips_stored_samples(tmp_path: Path) -> None:
    store, run_id, vids, case_ids = _setup(f"sqlite:///{tmp_path / 'h.db'}")
    records = _records(run_id, vids, case_ids)
    assert store.write_samples(records[:2]) == [1, 2]
    # The batch hits a stored sample: the others are written, the stored one is skipped.
    ids = store.write_samples(records[1:4])
    assert ids == [0, 3, 4]
    dump = _dump(store)
    assert [r[0] for r in dump["samples"]] == [1, 2, 3, 4]
    assert sorted({r[1] for r in dump["scores"]}) == [1, 2, 3, 4]


def test_two_stores_on_one_file_interleave(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    one, run_id, vids, case_ids = _setup(url)
    two = Store.open(url)
    records = _records(run_id, vids, case_ids)
    got = []
    for i, rec in enumerate(records):
        got.extend((one if i % 2 else two).write_samples([rec]))
    assert got == list(range(1, len(records) + 1))
    with one.engine.connect() as conn:
        rows = conn.execute(select(samples.c.id, samples.c.cache_key).order_by(samples.c.id)).all()
    assert rows == [(i + 1, r.row["cache_key"]) for i, r in enumerate(records)]
