"""Reading score matrices: rescoring, repeats, errors, metric kinds, arms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select, update

from hyouka.analysis.data import (
    VariantInfo,
    load_scores,
    resolve_arm,
    variants_in_run,
)
from hyouka.api import Workspace
from hyouka.errors import HyoukaError, NotFoundError
from hyouka.store import db
from hyouka.store.schema import cases, samples, scores, variants
from tests.test_analysis_compare import noisy_project, store_matrix


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return noisy_project(tmp_path, n_cases=5, k=2)


def _sample(ws: Workspace, variant: str, case: str, index: int) -> tuple[int, float]:
    query = (
        select(samples.c.id, scores.c.value)
        .join(scores, scores.c.sample_id == samples.c.id)
        .join(variants, variants.c.id == samples.c.variant_id)
        .join(cases, cases.c.id == samples.c.case_id)
        .where(variants.c.name == variant, cases.c.case_key == case)
        .where(samples.c.sample_index == index, scores.c.metric == "correct")
    )
    with ws.store.engine.connect() as conn:
        sid, value = conn.execute(query).one()
    return int(sid), float(value)


def _rescore(ws: Workspace, sample_id: int, **row: Any) -> None:
    values = {
        "sample_id": sample_id, "check_name": "regex", "check_version": "1",
        "params_hash": row.pop("params_hash", "rescored"), "params": {}, "metric": "correct",
        "repeat": 0, "status": "ok", "weight": 1.0, **row,
    }  # fmt: skip
    with ws.store.engine.begin() as conn:
        conn.execute(insert(scores).values(**values))


def _value(ws: Workspace, variant: str, case_row: int, index: int) -> float:
    run = ws.get_run()
    ids = [v.id for v in variants_in_run(ws.store, run.id) if v.name == variant]
    data = load_scores(ws.store, run.id, ids)
    _, mat = data.matrix(data.metric_index("correct"), ids)
    return float(mat[case_row, index])


def test_newest_row_counts_after_rescoring(ws: Workspace) -> None:
    sid, old = _sample(ws, "A", "c000", 0)
    assert _value(ws, "A", 0, 0) == old
    _rescore(ws, sid, value=1 - old, passed=old == 0)
    assert _value(ws, "A", 0, 0) == 1 - old


def test_a_newer_error_row_makes_the_sample_missing(ws: Workspace) -> None:
    sid, _ = _sample(ws, "A", "c001", 1)
    _rescore(ws, sid, value=None, passed=None, status="error")
    assert np.isnan(_value(ws, "A", 1, 1))
    assert not np.isnan(_value(ws, "A", 1, 0))


def test_repeats_are_averaged_within_a_sample(ws: Workspace) -> None:
    sid, old = _sample(ws, "B", "c002", 0)
    _rescore(ws, sid, value=0.5, passed=None, repeat=1, params_hash=_params_hash(ws, sid))
    assert _value(ws, "B", 2, 0) == pytest.approx((old + 0.5) / 2)


def _params_hash(ws: Workspace, sample_id: int) -> str:
    with ws.store.engine.connect() as conn:
        return str(conn.execute(
            select(scores.c.params_hash).where(scores.c.sample_id == sample_id,
                                               scores.c.metric == "correct")
        ).scalar_one())  # fmt: skip


def test_metric_kinds_and_the_matrix_match_plain_sql(ws: Workspace) -> None:
    run = ws.get_run()
    ids = [v.id for v in variants_in_run(ws.store, run.id)]
    data = load_scores(ws.store, run.id, ids)
    kinds = {m.label: m.binary for m in data.metrics}
    assert kinds == {"correct": True, "half": True, "quality": False}
    a_id = ids[0]
    case_ids, mat = data.matrix(data.metric_index("quality"), [a_id])
    np.testing.assert_array_equal(mat, store_matrix(ws, "A", "quality"))
    assert list(case_ids) == sorted(case_ids)


def test_a_family_arm_pools_members_as_extra_columns(ws: Workspace) -> None:
    run = ws.get_run()
    ids = [v.id for v in variants_in_run(ws.store, run.id)]
    data = load_scores(ws.store, run.id, ids)
    _, pooled = data.matrix(data.metric_index("correct"), ids[:2])
    assert pooled.shape == (5, 4)
    np.testing.assert_array_equal(pooled[:, :2], store_matrix(ws, "A", "correct"))
    np.testing.assert_array_equal(pooled[:, 2:], store_matrix(ws, "B", "correct"))


def test_resolve_arm_by_name_version_and_family() -> None:
    found = [
        VariantInfo(1, "A", "aaa111", "ft"), VariantInfo(2, "A", "bbb222", "ft"),
        VariantInfo(3, "B", "ccc333", "ft"),
    ]  # fmt: skip
    assert resolve_arm(found, "A", "r").variants == (found[1],)  # the latest version
    assert resolve_arm(found, "A@aaa", "r").variants == (found[0],)
    family = resolve_arm(found, "ft", "r")
    assert family.is_family and family.ids == (2, 3)
    with pytest.raises(NotFoundError, match="no variant or family 'A@zzz'"):
        resolve_arm(found, "A@zzz", "r")


@pytest.mark.postgres
def test_the_same_numbers_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    db.upgrade(db.create(pg_url))  # a shared server is migrated explicitly
    pg = noisy_project(tmp_path / "pg", n_cases=6, k=2, database_url=pg_url)
    lite = noisy_project(tmp_path / "lite", n_cases=6, k=2)
    sid, old = _sample(pg, "A", "c000", 0)
    _rescore(pg, sid, value=1 - old, passed=old == 0)
    sid, _ = _sample(lite, "A", "c000", 0)
    _rescore(lite, sid, value=1 - old, passed=old == 0)
    for ws in (pg, lite):
        assert _value(ws, "A", 0, 0) == 1 - old
    a, b = pg.compare("A", "B", seed=3), lite.compare("A", "B", seed=3)
    for m_pg, m_lite in zip(a.first.metrics, b.first.metrics, strict=True):
        assert m_pg.metric == m_lite.metric and m_pg.binary == m_lite.binary
        assert m_pg.difference == m_lite.difference and m_pg.p_adjusted == m_lite.p_adjusted


def test_no_shared_scores_is_a_clear_error(ws: Workspace) -> None:
    with ws.store.engine.begin() as conn:
        b_samples = (
            select(samples.c.id)
            .join(variants, variants.c.id == samples.c.variant_id)
            .join(cases, cases.c.id == samples.c.case_id)
            .where(variants.c.name == "B", cases.c.case_key != "c000")
        )
        conn.execute(  # B keeps its scores on one case only: nothing to pair
            update(scores)
            .where(scores.c.sample_id.in_(b_samples))
            .values(status="error", value=None, passed=None)
        )
    # Issue 17: the floor is 6 shared cases, and the error says what each metric had.
    with pytest.raises(HyoukaError, match=r"no metric has scores on at least 6 shared cases.*"
                       r"too-few \(1 shared\)"):  # fmt: skip
        ws.compare("A", "B")
    with ws.store.engine.begin() as conn:
        conn.execute(update(scores).values(status="error", value=None, passed=None))
    with pytest.raises(HyoukaError, match="share no check metric"):
        ws.compare("A", "B")
