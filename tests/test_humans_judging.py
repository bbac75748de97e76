"""Judgments: screen sides mapped to stored sides, append-only edits, idempotent resends,
validation, and the dashboard counts recomputed from the rows."""

# ruff: noqa: F811  (pytest fixtures imported from humans_env / pg are test arguments)

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from humans_env import Env, db_url, env, env_for  # noqa: F401
from pg import pg_session_url  # noqa: F401
from sqlalchemy import func, select

from hyouka import humans
from hyouka.humans import Assignment, HumanEvalError, JudgmentInput
from hyouka.humans.judging import ItemSides, judgment_row, screen_values
from hyouka.store.schema import campaign_items, judgments, samples, variants


def _take(e: Env, who: int = 0) -> Assignment:
    got = humans.next_assignment(e.store, e.campaign, e.people[who][0].id)
    assert got is not None
    return got


def _rows(e: Env) -> list[dict[str, Any]]:
    with e.store.engine.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(
                select(judgments).where(judgments.c.project == e.project).order_by(judgments.c.id)
            )
        ]


def _variant_of(e: Env, sample_id: int) -> str:
    with e.store.engine.connect() as conn:
        return str(
            conn.execute(
                select(variants.c.name)
                .join(samples, samples.c.variant_id == variants.c.id)
                .where(samples.c.id == sample_id)
            ).scalar_one()
        )


@pytest.mark.parametrize("left_is_a", [True, False])
def test_screen_sides_become_item_sides(left_is_a: bool) -> None:
    campaign = humans.Campaign(
        1,
        "p",
        "c",
        1,
        "pairwise+rating",
        2,
        None,
        None,
        ("長すぎる", "事実と違う"),
        (1, 2),
        0,
        "open",
        30,
    )
    sides = ItemSides(10, 20, 10 if left_is_a else 20, {10: "はい、ございます", 20: "ないです"})
    assignment = Assignment(5, "pub", 1, 7, 3, "open", sides.left_sample_id, None, None)
    data = JudgmentInput(
        "k",
        "left",
        rating_left=5,
        rating_right=2,
        comment=" 丁寧さが足りない ",
        tags_left=["長すぎる"],
        tags_right=["事実と違う"],
        highlight="ないです",
        highlight_side=None,
    )
    row = judgment_row(campaign, assignment, sides, data)
    left, right = ("a", "b") if left_is_a else ("b", "a")
    assert row["winner"] == left
    assert row[f"rating_{left}"] == 5 and row[f"rating_{right}"] == 2
    assert row["tags"] == [{"tag": "長すぎる", "side": left}, {"tag": "事実と違う", "side": right}]
    assert row["highlight_side"] == "b"  # found in sample 20's text, wherever it was shown
    assert row["comment"] == "丁寧さが足りない"
    assert row["left_sample_id"] == sides.left_sample_id
    assert row["idempotency_key"] == "h3:k"
    back = screen_values({**row, "id": 1}, sides)
    assert back["winner"] == "left"
    assert back["rating"] == {"left": 5, "right": 2}
    assert back["tags"] == {"left": ["長すぎる"], "right": ["事実と違う"]}


def test_vote_is_stored_against_the_variant_that_was_shown(env: Env) -> None:
    got = _take(env)
    view = humans.item_view(env.store, got)
    shown_left = view.sides.left_sample_id
    humans.submit_judgment(
        env.store,
        env.campaign,
        got.public_id,
        env.people[0][0].id,
        JudgmentInput("k1", "left", rating_left=4, rating_right=1, tags_right=["長すぎる"]),
        view.sides,
    )
    (row,) = _rows(env)
    winner_sample = row["sample_a_id"] if row["winner"] == "a" else row["sample_b_id"]
    assert winner_sample == shown_left
    assert row["left_sample_id"] == shown_left
    rated_four = row["sample_a_id"] if row["rating_a"] == 4 else row["sample_b_id"]
    assert rated_four == shown_left
    assert view.left.text == view.sides.texts[shown_left]
    outcome = {o.variant: o for o in humans.variant_outcomes(env.store, env.campaign)}
    assert outcome[_variant_of(env, shown_left)].wins == 1
    loser = row["sample_b_id"] if winner_sample == row["sample_a_id"] else row["sample_a_id"]
    assert outcome[_variant_of(env, loser)].losses == 1
    assert outcome[_variant_of(env, shown_left)].mean_rating == 4.0


def test_resent_form_counts_once(env: Env) -> None:
    got, pid = _take(env), env.people[0][0].id
    first = humans.submit_judgment(
        env.store, env.campaign, got.public_id, pid, JudgmentInput("same-form", "tie")
    )
    second = humans.submit_judgment(
        env.store, env.campaign, got.public_id, pid, JudgmentInput("same-form", "left")
    )
    assert not first.duplicate and second.duplicate
    assert second.judgment_id == first.judgment_id
    assert len(_rows(env)) == 1 and _rows(env)[0]["winner"] == "tie"
    progress = humans.campaign_progress(env.store, env.campaign)
    assert progress.judged == 1


def test_an_edit_appends_a_superseding_row_and_keeps_the_old_one(env: Env) -> None:
    got, pid = _take(env), env.people[0][0].id
    first = humans.submit_judgment(
        env.store, env.campaign, got.public_id, pid, JudgmentInput("form-1", "left", comment="最初")
    )
    edit = humans.submit_judgment(
        env.store,
        env.campaign,
        got.public_id,
        pid,
        JudgmentInput("form-2", "both_bad", comment="やっぱり両方だめ"),
    )
    assert edit.supersedes_id == first.judgment_id
    old, new = _rows(env)
    assert old["comment"] == "最初" and old["supersedes_id"] is None  # untouched
    assert new["supersedes_id"] == old["id"] and new["winner"] == "both_bad"
    with env.store.engine.connect() as conn:
        done = conn.execute(
            select(func.sum(campaign_items.c.done_count)).where(
                campaign_items.c.campaign_id == env.campaign.id
            )
        ).scalar_one()
    assert done == 1  # an edit is not a second judge
    current = humans.current_judgment(env.store, got.item_id, pid)
    assert current is not None and current["id"] == new["id"]
    outcomes = humans.variant_outcomes(env.store, env.campaign)
    assert sum(o.both_bad for o in outcomes) == 2 and sum(o.wins for o in outcomes) == 0
    current_only = humans.list_judgments(env.store, env.project, current_only=True)
    assert [j["id"] for j in current_only] == [new["id"]]
    people = humans.annotator_progress(env.store, env.campaign)
    # everyone the campaign is for, also those who have not started (the admin is not)
    assert [(p.name, p.done, p.edits, p.last_at is None) for p in people] == [
        ("op0", 1, 1, False),
        ("op1", 0, 0, True),
        ("op2", 0, 0, True),
    ]
    assert humans.last_judged(env.store, env.campaign.id, pid) == got.public_id


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (JudgmentInput("k"), "error.verdict_required"),
        (JudgmentInput("k", "upside"), "error.verdict_required"),
        (JudgmentInput("", "left"), "error.form_key"),
        (JudgmentInput("k", "left", rating_left=6), "error.bad_rating"),
        (JudgmentInput("k", "left", tags_left=["知らないタグ"]), "error.bad_tag"),
        (JudgmentInput("k", "left", comment="あ" * 5001), "error.too_long"),
        (JudgmentInput("k", "left", highlight="x" * 501), "error.too_long"),
    ],
)
def test_invalid_forms_are_refused_and_store_nothing(
    env: Env, data: JudgmentInput, code: str
) -> None:
    got = _take(env)
    with pytest.raises(HumanEvalError) as err:
        humans.submit_judgment(env.store, env.campaign, got.public_id, env.people[0][0].id, data)
    assert err.value.code == code
    assert _rows(env) == []


def test_rating_mode_needs_a_rating_and_stores_it_on_side_a(db_url: str, tmp_path: Path) -> None:
    with env_for(tmp_path / "p", db_url, mode="rating", overlap=1) as e:
        got, pid = _take(e), e.people[0][0].id
        view = humans.item_view(e.store, got)
        assert view.right is None
        with pytest.raises(HumanEvalError, match="rating"):
            humans.submit_judgment(e.store, e.campaign, got.public_id, pid, JudgmentInput("k"))
        humans.submit_judgment(
            e.store,
            e.campaign,
            got.public_id,
            pid,
            JudgmentInput("k", rating_left=2, tags_left=["長すぎる"], comment="冗長"),
        )
        (row,) = _rows(e)
        assert (row["winner"], row["rating_a"], row["rating_b"], row["sample_b_id"]) == (
            None,
            2,
            None,
            None,
        )
        assert row["tags"] == [{"tag": "長すぎる", "side": "a"}]
        (complaint,) = humans.latest_complaints(e.store, e.campaign)
        assert complaint.comment == "冗長"
        assert complaint.tags == (("長すぎる", _variant_of(e, row["sample_a_id"])),)


def test_dashboard_shows_complaints_tags_and_marked_phrases(env: Env) -> None:
    pid0, pid1 = env.people[0][0].id, env.people[1][0].id
    one = _take(env, 0)
    view = humans.item_view(env.store, one)
    phrase = view.right.text[:4] if view.right else ""
    humans.submit_judgment(
        env.store,
        env.campaign,
        one.public_id,
        pid0,
        JudgmentInput(
            "a", "left", tags_right=["never say this"], highlight=phrase, highlight_side="right"
        ),
        view.sides,
    )
    two = _take(env, 1)
    humans.submit_judgment(
        env.store, env.campaign, two.public_id, pid1, JudgmentInput("b", "tie")
    )  # no words: not a complaint
    (complaint,) = humans.latest_complaints(env.store, env.campaign)
    right_sample = next(s for s in view.sides.texts if s != view.sides.left_sample_id)
    right_variant = _variant_of(env, right_sample)
    assert complaint.annotator == "op0" and complaint.group == "operators"
    assert complaint.highlight == phrase and complaint.highlight_variant == right_variant
    assert complaint.tags == (("never say this", right_variant),)
    assert humans.tag_counts(env.store, env.campaign) == [("never say this", right_variant, 1)]
    items = humans.item_progress(env.store, env.campaign)
    assert len(items) == 4 and {i.variant_a for i in items} == {"zzalpha-secret"}
    assert sum(i.done for i in items) == 2


def test_outputs_from_another_assignment_are_refused(env: Env) -> None:
    got = _take(env)
    view = humans.item_view(env.store, got)
    other = view.sides.sample_b_id if view.sides.side_of_left() == "a" else view.sides.sample_a_id
    assert other is not None
    wrong = ItemSides(view.sides.sample_a_id, view.sides.sample_b_id, other)
    with pytest.raises(HumanEvalError, match="not this assignment"):
        humans.submit_judgment(
            env.store,
            env.campaign,
            got.public_id,
            env.people[0][0].id,
            JudgmentInput("k", "left"),
            wrong,
        )
    assert _rows(env) == []
