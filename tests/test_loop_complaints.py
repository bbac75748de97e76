"""Complaints: collected from judgments and production feedback, grouped, turned into checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hyouka import humans
from hyouka.humans import Feedback, JudgmentInput
from hyouka.loop import collect_feedback, group_complaints, phrase_spec
from hyouka.loop.complaints import Complaint, related_phrases, text_similarity
from hyouka.loop.proposals import rubric_text
from hyouka.scorers import registry
from hyouka.scorers.base import SampleView
from hyouka.scorers.engine import run_check
from tests.loop_env import COMMENT, NEVER, PHRASE, build

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _c(key: str, minutes: int = 0, **kw: object) -> Complaint:
    base: dict[str, object] = {
        "judgment_id": int(key[1:].split(":")[0]),
        "source": "human",
        "who": "tanaka",
        "group": "ops",
        "output": "出力",
    }
    return Complaint(key=key, created_at=T0 + timedelta(minutes=minutes), **{**base, **kw})  # type: ignore[arg-type]


def _fails(spec: dict[str, object], text: str) -> bool:
    check = registry.build(spec)
    result = run_check(check, SampleView(output=text, case=_case()))
    return result.passed is False


def _case():  # type: ignore[no-untyped-def]
    from hyouka.datasets import Case

    return Case(id="x", vars={})


# -- what a phrase group becomes ---------------------------------------------------------------


def test_one_phrase_becomes_not_contains_and_a_longer_variant_is_covered_by_it() -> None:
    spec = phrase_spec(["担当者にお問い合わせください", "お問い合わせください"])
    assert spec == {"type": "not-contains", "value": "お問い合わせください"}
    assert _fails(spec, "詳しくは担当者にお問い合わせください。")
    assert not _fails(spec, "こちらで確認します。")


def test_phrases_sharing_a_stem_become_one_regex_that_catches_each_and_nothing_else() -> None:
    spec = phrase_spec(["AIとして", "AIの私"])
    assert spec == {"type": "not-regex", "value": "AI(として|の私)", "normalize": "default"}
    assert _fails(spec, "AIとしてお答えします") and _fails(spec, "ＡＩの私には")  # full-width too
    assert not _fails(spec, "AIはそう考えます")
    suffix = phrase_spec(["対応いたしかねます", "お答えいたしかねます"])
    assert suffix["value"] == "(対応|お答え)いたしかねます"
    assert re.search(str(suffix["value"]), "それはお答えいたしかねます")


def test_unrelated_phrases_become_not_contains_any() -> None:
    spec = phrase_spec(["絶対に", "保証します"])
    assert spec == {"type": "not-contains-any", "value": ["絶対に", "保証します"]}
    assert _fails(spec, "必ず保証します") and not _fails(spec, "確認します")


def test_phrase_relations_ignore_width_and_need_a_long_enough_stem() -> None:
    assert related_phrases("ＡＩとして", "AIとして")
    assert related_phrases("AIとして", "AIの私")  # stem "AI": 2 of 4 characters
    assert not related_phrases("AIとしてお答えします", "AIの見解")  # stem 2 of 5: too short
    assert not related_phrases("返金します", "担当者へ")


# -- grouping ----------------------------------------------------------------------------------


def test_similar_japanese_comments_group_and_different_ones_do_not() -> None:
    a = "「だよ」はくだけすぎていて失礼に感じる"
    b = "「だよ」はくだけすぎて失礼だと感じます"
    c = "返金の条件が間違っている"
    assert text_similarity(a, b) >= 0.5 > text_similarity(a, c)
    groups = group_complaints(
        [
            _c("j1:a", 0, comment=a),
            _c("j2:b", 1, comment=c),
            _c("j3:a", 2, comment=b),
        ]
    )
    assert [(g.kind, len(g.complaints)) for g in groups] == [("text", 2), ("text", 1)]
    assert groups[0].label == a and groups[0].keys == ("j1:a", "j3:a")


def test_a_never_say_tag_on_a_marked_phrase_is_a_phrase_even_with_a_comment() -> None:
    found = [
        _c("j1:a", 0, tags=("二度と言わないで",), highlight="AIとして", comment="やめて"),
        _c("j2:a", 1, tags=("Never say this",), highlight="AIの私"),
        _c("j3:b", 2, highlight="念のため"),  # a marked phrase without words: a phrase too
        _c("j4:a", 3, tags=("長すぎる", "事実と違う")),
        _c("j5:b", 4, tags=("長すぎる",)),
        _c("j6:a", 5, highlight="ここ", comment="ここが分かりにくい"),  # explained: a comment
    ]
    groups = group_complaints(found)
    summary = [(g.kind, g.label, g.keys) for g in groups]
    assert summary == [
        ("phrase", "AIとして", ("j1:a", "j2:a")),
        ("phrase", "念のため", ("j3:b",)),
        ("tag", "事実と違う", ("j4:a",)),  # same time as the next: by label
        ("tag", "長すぎる", ("j4:a", "j5:b")),
        ("text", "ここが分かりにくい", ("j6:a",)),
    ]
    assert groups[0].phrases == ("AIとして", "AIの私")


def test_rubric_is_written_in_the_complaints_language_with_the_output_as_failing_example() -> None:
    ja = group_complaints([_c("j1:a", comment=COMMENT, output="了解だよ。")])[0]
    rubric, lang = rubric_text(ja)
    assert lang == "ja" and rubric.startswith("回答は、利用者の次の指摘に当てはまってはいけない")
    assert f"- {COMMENT}" in rubric and "不合格の例" in rubric and "了解だよ。" in rubric
    en = group_complaints([_c("j2:a", comment="It recommends a competitor", output="Try X")])[0]
    rubric, lang = rubric_text(en)
    assert lang == "en" and rubric.startswith("The answer must not do what this user complaint")
    assert "- It recommends a competitor" in rubric and "A failing example" in rubric


# -- from the store ------------------------------------------------------------------------------


def test_complaints_come_from_current_judgments_with_the_output_they_were_about(
    tmp_path: Path,
) -> None:
    env = build(tmp_path / "p", f"sqlite:///{tmp_path / 's.db'}", "http://127.0.0.1:9/v1")
    fb = collect_feedback(env.store, "loopy")
    by_who = {(c.who, c.kind) for c in fb.complaints}
    assert by_who == {("tanaka", "phrase"), ("sato", "text")}
    assert len(fb.complaints) == 6
    for c in fb.complaints:
        assert c.case is not None and c.case_key is not None and c.sample_id is not None
        if c.who == "tanaka":
            assert PHRASE in c.output and c.variant and c.variant.startswith("bot@")
            assert c.tags == (NEVER,) and c.highlight == PHRASE and c.comment is None
        else:  # the comment is about the loser of the verdict: alt
            assert c.variant and c.variant.startswith("alt@") and c.comment == COMMENT
    # Praise: the winners and the outputs rated 4-5, never an output someone complained about.
    complained = {c.sample_id for c in fb.complaints}
    assert len(fb.praise) == 6 and not complained & {p.sample_id for p in fb.praise}


def test_a_changed_judgment_withdraws_the_complaint_it_replaces(tmp_path: Path) -> None:
    from sqlalchemy import select

    from hyouka.store.schema import assignments

    env = build(tmp_path / "p", f"sqlite:///{tmp_path / 's.db'}", "http://127.0.0.1:9/v1")
    store, campaign, sato = env.store, env.campaign, env.people["sato"]
    before = [c for c in collect_feedback(store, "loopy").complaints if c.who == "sato"]
    with store.engine.connect() as conn:
        public_id = conn.execute(
            select(assignments.c.public_id)
            .where(assignments.c.annotator_id == sato, assignments.c.status == "done")
            .order_by(assignments.c.id)
            .limit(1)
        ).scalar_one()
    a = humans.get_assignment(store, public_id, sato)
    view = humans.item_view(store, a)
    humans.submit_judgment(
        store, campaign, public_id, sato, JudgmentInput("again", "tie"), view.sides
    )
    after = [c for c in collect_feedback(store, "loopy").complaints if c.who == "sato"]
    assert len(after) == len(before) - 1 == 2


def test_production_feedback_thumbs_down_is_a_complaint_and_thumbs_up_is_praise(
    tmp_path: Path,
) -> None:
    env = build(tmp_path / "p", f"sqlite:///{tmp_path / 's.db'}", "http://127.0.0.1:9/v1")
    key, _ = humans.add_api_key(env.store, "loopy", "app")
    humans.record_feedback(
        env.store,
        "loopy",
        key.id,
        Feedback(
            thumb="down",
            comment="競合他社を勧めないで",
            output_text="他社のXがおすすめです",
            input_text="おすすめは?",
            external_ref="out-1",
            variant="bot",
        ),
    )
    humans.record_feedback(
        env.store,
        "loopy",
        key.id,
        Feedback(
            thumb="up",
            output_text="当社のYがおすすめです",
            input_text="おすすめは?",
        ),
    )
    fb = collect_feedback(env.store, "loopy")
    (prod,) = [c for c in fb.complaints if c.source == "production"]
    assert (prod.comment, prod.output, prod.input_text, prod.who) == (
        "競合他社を勧めないで",
        "他社のXがおすすめです",
        "おすすめは?",
        "out-1",
    )
    assert prod.variant is not None and prod.variant.startswith("bot@") and prod.kind == "text"
    assert "当社のYがおすすめです" in {p.output for p in fb.praise}


@pytest.mark.parametrize(
    "tag", ["never say this", "NEVER SAY THIS", "二度と言わないで", "ＮＧワード"]
)
def test_never_say_tags_are_recognised_in_any_case_and_width(tag: str) -> None:
    assert _c("j1:a", tags=(tag,), highlight="x").never_say
