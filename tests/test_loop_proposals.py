"""Proposals: made once per complaint group, decided by people, every decision kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from hyouka import humans
from hyouka.errors import HyoukaError, NotFoundError
from hyouka.humans import JudgmentInput
from hyouka.loop import (
    LoopError,
    accept_proposal,
    edit_proposal,
    get_proposal,
    list_proposals,
    pending_groups,
    propose_checks,
    reject_proposal,
)
from hyouka.store.schema import check_proposals
from tests.loop_env import PHRASE, LoopEnv, build


@pytest.fixture
def env(tmp_path: Path, store_url: str) -> LoopEnv:
    return build(tmp_path / "p", store_url, "http://127.0.0.1:9/v1", samples=1)


def _rows(env: LoopEnv) -> int:
    with env.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(check_proposals)).scalar_one())


def test_proposing_twice_proposes_nothing_new(env: LoopEnv) -> None:
    assert len(pending_groups(env.store, "loopy")) == 2
    first = propose_checks(env.store, "loopy", project=env.ws.project)
    assert [p.metric for p in first.created] == ["complaint-1", "complaint-2"]
    assert pending_groups(env.store, "loopy") == []
    again = propose_checks(env.store, "loopy", project=env.ws.project)
    assert again.created == () and again.joined == () and _rows(env) == 2


def test_a_new_similar_complaint_joins_the_open_proposal_instead_of_a_duplicate(
    env: LoopEnv,
) -> None:
    propose_checks(env.store, "loopy", project=env.ws.project)
    person, _ = humans.add_annotator(env.store, "loopy", "kato", "operators")
    a = humans.next_assignment(env.store, env.campaign, person.id)
    assert a is not None
    view = humans.item_view(env.store, a)
    assert view.left is not None
    side = "left" if PHRASE in view.left.text else "right"
    humans.submit_judgment(
        env.store,
        env.campaign,
        a.public_id,
        person.id,
        JudgmentInput(
            "k",
            "tie",
            highlight="お問い合わせください",
            highlight_side=side,
            **{f"tags_{side}": ["二度と言わないで"]},  # type: ignore[arg-type]
        ),
        view.sides,
    )
    result = propose_checks(env.store, "loopy", project=env.ws.project)
    assert result.created == ()
    (joined,) = result.joined
    assert joined.id == 1 and joined.status == "proposed" and len(joined.complaints) == 4
    assert joined.provenance["phrases"] == [PHRASE, "お問い合わせください"]
    assert joined.history[-1].note == "1 more complaint(s) joined"


def test_decisions_are_appended_with_who_and_when_never_overwritten(env: LoopEnv) -> None:
    propose_checks(env.store, "loopy", project=env.ws.project)
    edited = edit_proposal(
        env.store, "loopy", 1, "suzuki", {"value": "お問い合わせください"}, note="shorter phrase"
    )
    assert edited.status == "proposed" and edited.spec["value"] == "お問い合わせください"
    accepted = accept_proposal(env.store, "loopy", "complaint-1", "kimura", project=env.ws.project)
    p = accepted.proposal
    assert p.status == "accepted" and p.decided_by == "kimura" and p.decided_at is not None
    assert [(d.status, d.by, d.note) for d in p.history] == [
        ("proposed", None, None),
        ("proposed", "suzuki", "shorter phrase"),
        ("accepted", "kimura", None),
    ]
    with env.store.engine.connect() as conn:
        first = conn.execute(select(check_proposals).where(check_proposals.c.id == 1)).one()
    assert first.spec == {"type": "not-contains", "value": PHRASE} and first.status == "proposed"
    written = yaml.safe_load((env.root / "regressions.yaml").read_text(encoding="utf-8"))
    assert written["checks"] == [
        {"type": "not-contains", "value": "お問い合わせください", "metric": "complaint-1"}
    ]
    with pytest.raises(LoopError, match="already accepted"):
        accept_proposal(env.store, "loopy", 1, "kimura", project=env.ws.project)
    rejected = reject_proposal(
        env.store, "loopy", 1, "tanaka", reason="too broad", project=env.ws.project
    )
    assert rejected.status == "rejected" and rejected.note == "too broad"
    assert yaml.safe_load((env.root / "regressions.yaml").read_text())["checks"] is None
    assert _rows(env) == 2 + 3  # two proposals, an edit, an acceptance, a rejection


def test_a_check_that_passes_a_complained_output_is_refused_unless_forced(env: LoopEnv) -> None:
    propose_checks(env.store, "loopy", project=env.ws.project)
    edit_proposal(env.store, "loopy", 1, "suzuki", {"value": "どこにもない言葉"})
    with pytest.raises(LoopError, match="does not fail every complained output"):
        accept_proposal(env.store, "loopy", 1, "kimura", project=env.ws.project)
    assert get_proposal(env.store, "loopy", 1).status == "proposed"
    forced = accept_proposal(env.store, "loopy", 1, "kimura", project=env.ws.project, force=True)
    assert forced.proposal.status == "accepted" and not forced.preview.fails_complained


def test_a_judge_proposal_is_previewed_only_on_request_and_names_a_real_judge(
    env: LoopEnv,
) -> None:
    propose_checks(env.store, "loopy", project=env.ws.project)
    judge = get_proposal(env.store, "loopy", 2)
    assert judge.spec["judge"] == "gpt"  # the first provider that is not the fake echo
    result = accept_proposal(env.store, "loopy", 2, "kimura", project=env.ws.project)
    assert not result.preview.judged and result.written is not None
    assert result.written.section == "datasets.regressions.checks"


def test_mistakes_say_what_to_do(env: LoopEnv) -> None:
    propose_checks(env.store, "loopy", project=env.ws.project)
    with pytest.raises(NotFoundError, match="hyouka feedback list"):
        get_proposal(env.store, "loopy", 99)
    with pytest.raises(NotFoundError, match=r"e\.g\. 12 or complaint-12"):
        get_proposal(env.store, "loopy", "twelve")
    with pytest.raises(HyoukaError, match="invalid regular expression"):
        edit_proposal(env.store, "loopy", 1, "suzuki", {"type": "not-regex", "value": "(["})
    with pytest.raises(LoopError, match="--by NAME"):
        reject_proposal(env.store, "loopy", 1, "  ")
    assert [p.status for p in list_proposals(env.store, "loopy")] == ["proposed", "proposed"]


def test_accepting_without_the_project_folder_records_it_and_sync_writes_it_later(
    env: LoopEnv,
) -> None:
    from hyouka.loop import sync_regressions

    propose_checks(env.store, "loopy", project=env.ws.project)
    result = accept_proposal(env.store, "loopy", 1, "web-admin")  # as the web app without root
    assert result.written is None and not (env.root / "regressions.yaml").exists()
    (written,) = sync_regressions(env.store, "loopy", project=env.ws.project)
    assert written.section == "checks"
    assert sync_regressions(env.store, "loopy", project=env.reopen().project) == []  # idempotent
