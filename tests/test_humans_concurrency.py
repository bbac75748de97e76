"""Many people at once through the Python API: nothing lost, nothing counted twice, no item
past its overlap, nobody given an item twice (SQLite and PostgreSQL)."""

# ruff: noqa: F811  (pytest fixtures imported from humans_env / pg are test arguments)

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from humans_env import db_url, env_for  # noqa: F401
from pg import pg_session_url  # noqa: F401
from sqlalchemy import func, select

from hyouka import humans
from hyouka.humans import JudgmentInput, SubmitResult
from hyouka.store.schema import assignments, campaign_items, judgments

PEOPLE = 16
OVERLAP = 3


def test_many_people_judging_at_once_lose_nothing(db_url: str, tmp_path: Path) -> None:
    with env_for(tmp_path / "p", db_url, n_variants=3, overlap=OVERLAP, people=PEOPLE) as e:
        results: list[tuple[int, int, SubmitResult]] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def double_click(pid: int, public_id: str, key: str) -> None:
            # Two requests carrying the same form, released at the same instant.
            barrier = threading.Barrier(2)

            def send() -> None:
                barrier.wait()
                got = humans.submit_judgment(
                    e.store, e.campaign, public_id, pid, JudgmentInput(key, "left", rating_left=3)
                )
                with lock:
                    results.append((pid, 0, got))

            pair = [threading.Thread(target=send) for _ in range(2)]
            for t in pair:
                t.start()
            for t in pair:
                t.join()

        def person(index: int) -> None:
            pid = e.people[index][0].id
            try:
                n = 0
                while (got := humans.next_assignment(e.store, e.campaign, pid)) is not None:
                    double_click(pid, got.public_id, f"form-{pid}-{n}")
                    n += 1
            except BaseException as exc:  # surfaced below with the failing thread's error
                errors.append(exc)

        threads = [threading.Thread(target=person, args=(i,)) for i in range(PEOPLE)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        items = 4 * 3  # 4 cases × C(3, 2) pairs
        fresh = [r for _, _, r in results if not r.duplicate]
        dupes = [r for _, _, r in results if r.duplicate]
        assert len(fresh) == len(dupes) == items * OVERLAP  # every double click counted once
        assert {r.judgment_id for r in dupes} == {r.judgment_id for r in fresh}
        with e.store.engine.connect() as conn:
            stored = conn.execute(
                select(func.count())
                .select_from(judgments)
                .where(judgments.c.campaign_id == e.campaign.id)
            ).scalar_one()
            per_item = conn.execute(
                select(campaign_items.c.assigned_count, campaign_items.c.done_count).where(
                    campaign_items.c.campaign_id == e.campaign.id
                )
            ).all()
            pairs = conn.execute(
                select(assignments.c.item_id, assignments.c.annotator_id).where(
                    assignments.c.campaign_id == e.campaign.id
                )
            ).all()
        assert stored == items * OVERLAP
        assert [tuple(r) for r in per_item] == [(OVERLAP, OVERLAP)] * items
        assert max(Counter(pairs).values()) == 1
        assert humans.campaign_progress(e.store, e.campaign).complete_items == items


def test_two_tabs_of_one_person_share_one_assignment(db_url: str, tmp_path: Path) -> None:
    with env_for(tmp_path / "p", db_url, overlap=1, people=1) as e:
        pid = e.people[0][0].id
        got: list[str] = []
        barrier = threading.Barrier(8)

        def tab() -> None:
            barrier.wait()
            found = humans.next_assignment(e.store, e.campaign, pid)
            assert found is not None
            got.append(found.public_id)

        tabs = [threading.Thread(target=tab) for _ in range(8)]
        for t in tabs:
            t.start()
        for t in tabs:
            t.join()
        assert len(got) == 8 and len(set(got)) == 1
        assert sum(a for a, _ in _counts(e)) == 1


def _counts(e: object) -> list[tuple[int, int]]:
    store = e.store  # type: ignore[attr-defined]
    campaign = e.campaign  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        return [
            (int(a), int(d))
            for a, d in conn.execute(
                select(campaign_items.c.assigned_count, campaign_items.c.done_count).where(
                    campaign_items.c.campaign_id == campaign.id
                )
            )
        ]
