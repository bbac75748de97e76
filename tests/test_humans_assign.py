"""Serving items: lowest coverage first, capped at the overlap, never twice to one person,
abandoned items back in the pool, seeded and recorded left/right order."""

# ruff: noqa: F811  (pytest fixtures imported from humans_env / pg are test arguments)

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from humans_env import Env, db_url, env, env_for  # noqa: F401
from pg import pg_session_url  # noqa: F401
from sqlalchemy import select

from hyouka import humans
from hyouka.errors import NotFoundError
from hyouka.humans import JudgmentInput
from hyouka.store.schema import assignments, campaign_items
from hyouka.store.tx import now_utc


def _counts(e: Env) -> dict[int, tuple[int, int]]:
    with e.store.engine.connect() as conn:
        rows = conn.execute(
            select(
                campaign_items.c.id, campaign_items.c.assigned_count, campaign_items.c.done_count
            ).where(campaign_items.c.campaign_id == e.campaign.id)
        ).all()
    return {int(i): (int(a), int(d)) for i, a, d in rows}


def _person(e: Env, name: str) -> int:
    person, _token = humans.add_annotator(e.store, e.project, name)
    return person.id


def test_every_item_gets_a_first_judge_before_any_gets_a_second(
    db_url: str, tmp_path: Path
) -> None:
    with env_for(tmp_path / "p", db_url, overlap=3, people=0) as e:
        items = len(_counts(e))  # 4 cases × 1 pair
        people = [_person(e, f"r{i}") for i in range(6)]
        served: list[tuple[int, int]] = []
        for round_ in range(3):
            for pid in people[:items] if round_ == 0 else people:
                got = humans.next_assignment(e.store, e.campaign, pid)
                if got is not None:
                    served.append((pid, got.item_id))
                    humans.submit_judgment(
                        e.store,
                        e.campaign,
                        got.public_id,
                        pid,
                        JudgmentInput(f"k{pid}-{got.item_id}", "tie"),
                    )
            if round_ == 0:
                # the first four people got four different items
                assert sorted(Counter(i for _, i in served).values()) == [1] * items
        coverage = Counter(item for _, item in served)
        assert set(coverage.values()) == {3}  # everything reached the overlap, nothing more
        assert len(served) == len(set(served))  # nobody saw an item twice
        assert all(a == d == 3 for a, d in _counts(e).values())
        assert all(humans.next_assignment(e.store, e.campaign, p) is None for p in people)


def test_coverage_stays_level_while_people_work(db_url: str, tmp_path: Path) -> None:
    with env_for(tmp_path / "p", db_url, overlap=2, people=0, n_variants=3) as e:
        people = [_person(e, f"r{i}") for i in range(5)]
        for step in range(12):
            pid = people[step % len(people)]
            got = humans.next_assignment(e.store, e.campaign, pid)
            assert got is not None
            humans.submit_judgment(
                e.store, e.campaign, got.public_id, pid, JudgmentInput(f"k{step}", "left")
            )
            counts = [a for a, _ in _counts(e).values()]
            assert max(counts) - min(counts) <= 1, counts  # 12 items: all at 1 before any at 2


def test_a_person_gets_their_open_item_back_until_they_judge_it(env: Env) -> None:
    pid = env.people[0][0].id
    first = humans.next_assignment(env.store, env.campaign, pid)
    again = humans.next_assignment(env.store, env.campaign, pid)
    assert first is not None and again is not None
    assert again.public_id == first.public_id
    humans.submit_judgment(
        env.store, env.campaign, first.public_id, pid, JudgmentInput("k1", "right")
    )
    after = humans.next_assignment(env.store, env.campaign, pid)
    assert after is not None and after.item_id != first.item_id


def test_abandoned_assignments_return_to_the_pool(db_url: str, tmp_path: Path) -> None:
    with env_for(tmp_path / "p", db_url, overlap=1, people=0, questions=("ただ一つの質問",)) as e:
        late, other = _person(e, "late"), _person(e, "other")
        got = humans.next_assignment(e.store, e.campaign, late)
        assert got is not None
        assert humans.next_assignment(e.store, e.campaign, other) is None  # overlap 1: taken
        expired_at = got.expires_at
        assert expired_at is not None
        assert expired_at - got.created_at == timedelta(minutes=30)  # type: ignore[operator]
        assert humans.reclaim_expired(e.store, now_utc(), e.campaign.id) == 0  # not yet
        assert (
            humans.reclaim_expired(e.store, expired_at + timedelta(seconds=1), e.campaign.id) == 1
        )
        assert (
            humans.reclaim_expired(e.store, expired_at + timedelta(seconds=1), e.campaign.id) == 0
        )  # once
        assert _counts(e)[got.item_id] == (0, 0)
        taken = humans.next_assignment(e.store, e.campaign, other)
        assert taken is not None and taken.item_id == got.item_id
        # The first person's judgment arrives late: it is kept, not refused.
        result = humans.submit_judgment(
            e.store, e.campaign, got.public_id, late, JudgmentInput("late-key", "left")
        )
        assert not result.duplicate
        assert _counts(e)[got.item_id] == (2, 1)
        assert humans.get_assignment(e.store, got.public_id, late).status == "done"


def test_skipped_items_go_to_others_but_never_back_to_the_skipper(
    db_url: str, tmp_path: Path
) -> None:
    with env_for(tmp_path / "p", db_url, overlap=1, people=0, questions=("質問1", "質問2")) as e:
        skipper, other = _person(e, "skipper"), _person(e, "other")
        first = humans.next_assignment(e.store, e.campaign, skipper)
        assert first is not None
        skipped = humans.skip_assignment(e.store, first.public_id, skipper)
        assert skipped.status == "skipped"
        second = humans.next_assignment(e.store, e.campaign, skipper)
        assert second is not None and second.item_id != first.item_id
        humans.submit_judgment(
            e.store, e.campaign, second.public_id, skipper, JudgmentInput("s2", "tie")
        )
        assert humans.next_assignment(e.store, e.campaign, skipper) is None
        given = humans.next_assignment(e.store, e.campaign, other)
        assert given is not None and given.item_id == first.item_id


def test_left_right_order_is_seeded_recorded_and_balanced(db_url: str, tmp_path: Path) -> None:
    questions = tuple(f"質問{i}" for i in range(40))
    with env_for(tmp_path / "p", db_url, overlap=1, people=1, questions=questions) as e:
        pid = e.people[0][0].id
        lefts = []
        for n in range(40):
            got = humans.next_assignment(e.store, e.campaign, pid)
            assert got is not None
            with e.store.engine.connect() as conn:
                a, b = conn.execute(
                    select(campaign_items.c.sample_a_id, campaign_items.c.sample_b_id).where(
                        campaign_items.c.id == got.item_id
                    )
                ).one()
            expected = humans.left_sample(e.campaign.seed, got.item_id, pid, a, b)
            assert got.left_sample_id == expected
            lefts.append(got.left_sample_id == a)
            humans.submit_judgment(
                e.store, e.campaign, got.public_id, pid, JudgmentInput(f"k{n}", "tie")
            )
        assert 10 <= sum(lefts) <= 30  # both orders occur (binomial(40, .5): 99.9% in range)
        with e.store.engine.connect() as conn:
            stored = conn.execute(select(assignments.c.left_sample_id)).scalars().all()
        assert None not in stored


def test_closed_campaign_hands_out_nothing_new_but_takes_open_work(env: Env) -> None:
    a, b = env.people[0][0].id, env.people[1][0].id
    got = humans.next_assignment(env.store, env.campaign, a)
    assert got is not None
    closed = humans.set_campaign_status(env.store, env.project, env.campaign.id, "closed")
    assert humans.next_assignment(env.store, closed, b) is None
    assert humans.next_assignment(env.store, closed, a) == got  # their open item still works
    result = humans.submit_judgment(env.store, closed, got.public_id, a, JudgmentInput("c", "tie"))
    assert result.judgment_id > 0


def test_nobody_can_use_someone_elses_assignment(env: Env) -> None:
    a, b = env.people[0][0].id, env.people[1][0].id
    got = humans.next_assignment(env.store, env.campaign, a)
    assert got is not None
    with pytest.raises(NotFoundError):
        humans.get_assignment(env.store, got.public_id, b)
    with pytest.raises(NotFoundError):
        humans.skip_assignment(env.store, got.public_id, b)
    with pytest.raises(humans.HumanEvalError, match="no such item"):
        humans.submit_judgment(
            env.store, env.campaign, got.public_id, b, JudgmentInput("x", "left")
        )
    assert humans.get_assignment(env.store, got.public_id, a).status == "open"
