"""Campaigns: items built per case and sample index, seeded order, clear refusals."""

# ruff: noqa: F811  (pytest fixtures imported from humans_env / pg are test arguments)

from __future__ import annotations

from pathlib import Path

import pytest
from humans_env import QUESTIONS, Env, db_url, env, env_for  # noqa: F401
from pg import pg_session_url  # noqa: F401
from sqlalchemy import select

from hyouka import humans
from hyouka.errors import NotFoundError
from hyouka.humans import CampaignSpec, HumanEvalError, build_items
from hyouka.store.schema import campaign_items, samples


def test_pairs_are_built_per_case_and_sample_index_in_variant_order() -> None:
    outputs = {
        (1, 0): {10: 100, 20: 200, 30: 300},
        (1, 1): {10: 101, 20: 201, 30: 301},
        (2, 0): {10: 102, 30: 302},  # variant 20 failed on this one
    }
    items = build_items(outputs, [30, 10, 20], pairwise=True, seed=0)
    pairs = sorted((i.case_id, i.sample_a_id, i.sample_b_id) for i in items)
    # the variant given first is side a; a case missing one output loses only its pairs
    assert pairs == [
        (1, 100, 200),
        (1, 101, 201),
        (1, 300, 100),
        (1, 300, 200),
        (1, 301, 101),
        (1, 301, 201),
        (2, 302, 102),
    ]


def test_rating_items_are_one_per_output() -> None:
    outputs = {(1, 0): {10: 100, 20: 200}, (2, 0): {10: 102}}
    items = build_items(outputs, [10, 20], pairwise=False, seed=0)
    assert sorted((i.sample_a_id, i.sample_b_id) for i in items) == [
        (100, None),
        (102, None),
        (200, None),
    ]


def test_item_order_is_seeded() -> None:
    outputs = {(c, 0): {1: c * 10, 2: c * 10 + 1} for c in range(30)}
    first = build_items(outputs, [1, 2], True, seed=5)
    again = build_items(outputs, [1, 2], True, seed=5)
    other = build_items(outputs, [1, 2], True, seed=6)
    assert first == again
    assert first != other
    assert sorted(first, key=lambda i: i.case_id) == sorted(other, key=lambda i: i.case_id)


def test_campaign_items_cover_every_pair_of_the_run(db_url: str, tmp_path: Path) -> None:
    with env_for(tmp_path / "p", db_url, n_variants=3, samples=2) as e:
        spec = CampaignSpec(name="all-pairs", mode="pairwise", overlap=1)
        campaign = humans.create_campaign(e.store, e.project, e.run_id, spec)
        progress = humans.campaign_progress(e.store, campaign)
        # 4 cases × 2 sample indices × C(3, 2) pairs
        assert progress.items == len(QUESTIONS) * 2 * 3
        assert progress.needed == progress.items
        with e.store.engine.connect() as conn:
            rows = conn.execute(
                select(campaign_items.c.sample_a_id, campaign_items.c.sample_b_id).where(
                    campaign_items.c.campaign_id == campaign.id
                )
            ).all()
            index = dict(conn.execute(select(samples.c.id, samples.c.sample_index)).all())
        assert all(index[a] == index[b] for a, b in rows)  # same sample index on both sides


def test_campaign_with_chosen_variants_cases_and_samples(db_url: str, tmp_path: Path) -> None:
    with env_for(tmp_path / "p", db_url, n_variants=3, samples=2) as e:
        spec = CampaignSpec(
            name="subset",
            mode="rating",
            variants=["zzgamma-secret"],
            cases=["q0", "q2"],
            max_samples=1,
            tags=["長すぎる", " ", "長すぎる"],
        )
        campaign = humans.create_campaign(e.store, e.project, e.run_id, spec)
        assert humans.campaign_progress(e.store, campaign).items == 2
        assert campaign.tags == ("長すぎる",)
        assert campaign.mode == "rating" and campaign.rating and not campaign.pairwise
        assert humans.get_campaign(e.store, e.project, "subset") == campaign
        assert humans.get_campaign(e.store, e.project, str(campaign.id)) == campaign


def test_campaign_refusals_say_what_to_do(env: Env) -> None:
    store, project, run_id = env.store, env.project, env.run_id
    with pytest.raises(HumanEvalError, match=r"not in this run.*zzalpha-secret") as err:
        humans.create_campaign(store, project, run_id, CampaignSpec("x", variants=["nope"]))
    assert err.value.code == "error.unknown_variant"
    with pytest.raises(HumanEvalError, match="at least two variants"):
        humans.create_campaign(
            store, project, run_id, CampaignSpec("x", mode="pairwise", variants=["zzbeta-secret"])
        )
    with pytest.raises(HumanEvalError, match="already exists"):
        humans.create_campaign(store, project, run_id, CampaignSpec("round-1"))
    with pytest.raises(HumanEvalError, match="no items"):
        humans.create_campaign(store, project, run_id, CampaignSpec("x", cases=["missing"]))
    with pytest.raises(HumanEvalError, match="mode"):
        humans.create_campaign(store, project, run_id, CampaignSpec("x", mode="vote"))
    with pytest.raises(HumanEvalError, match="overlap"):
        humans.create_campaign(store, project, run_id, CampaignSpec("x", overlap=0))
    with pytest.raises(NotFoundError, match="hyouka campaigns list"):
        humans.get_campaign(store, project, "never-made")
    assert [c.name for c in humans.list_campaigns(store, project)] == ["round-1"]


def test_closing_and_reopening(env: Env) -> None:
    closed = humans.set_campaign_status(env.store, env.project, "round-1", "closed")
    assert closed.status == "closed" and not closed.is_open
    assert humans.list_campaigns(env.store, env.project, status="open") == []
    assert humans.set_campaign_status(env.store, env.project, closed.id, "open").is_open
    with pytest.raises(HumanEvalError):
        humans.set_campaign_status(env.store, env.project, closed.id, "paused")


def test_run_overview_lists_variants_and_cases(env: Env) -> None:
    overview = humans.run_overview(env.store, env.run_id)
    assert overview.variant_names == ("zzalpha-secret", "zzbeta-secret")
    assert overview.n_cases == len(QUESTIONS)
    assert overview.case_keys == ("q0", "q1", "q2", "q3")


def test_a_campaign_for_some_groups_names_only_groups_people_are_in(env: Env) -> None:
    assert env.campaign.groups == ()  # by default: everyone
    spec = CampaignSpec(name="ops-only", groups=["operators", " operators ", ""])
    created = humans.create_campaign(env.store, env.project, env.run_id, spec)
    assert created.groups == ("operators",)
    assert humans.get_campaign(env.store, env.project, "ops-only").groups == ("operators",)
    typo = CampaignSpec(name="typo", groups=["operators", "oprators"])
    with pytest.raises(HumanEvalError) as refused:
        humans.create_campaign(env.store, env.project, env.run_id, typo)
    assert str(refused.value).startswith(
        "nobody is in group(s) oprators (groups: operators, pdm); add the people first"
    )
    assert refused.value.code == "error.unknown_group"
    with pytest.raises(NotFoundError):
        humans.get_campaign(env.store, env.project, "typo")  # nothing was created


def test_who_a_campaign_is_open_to(env: Env) -> None:
    spec = CampaignSpec(name="pdm-only", groups=["pdm"])
    pdm_only = humans.create_campaign(env.store, env.project, env.run_id, spec)
    operator = env.people[0][0]
    researcher, _ = humans.add_annotator(env.store, env.project, "kenkyu", "pdm")
    assert operator.group == "operators" and not pdm_only.open_to(operator)
    assert pdm_only.open_to(researcher)
    assert pdm_only.open_to(env.admin)  # admins may open any campaign
    assert env.campaign.open_to(operator) and env.campaign.open_to(researcher)
