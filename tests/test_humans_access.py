"""People, sessions, API keys, sign-in limits, production feedback, and the 0002 migration."""

# ruff: noqa: F811  (pytest fixtures imported from humans_env / pg are test arguments)

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from humans_env import Env, db_url, env  # noqa: F401
from pg import pg_session_url  # noqa: F401
from sqlalchemy import insert, select, text

from hyouka import humans
from hyouka.errors import NotFoundError
from hyouka.humans import Feedback, HumanEvalError, SigninLimit
from hyouka.store import db
from hyouka.store.schema import annotators, judgments


def test_sign_in_tokens_are_stored_only_as_their_sha256(env: Env) -> None:
    person, token = humans.add_annotator(env.store, env.project, "佐藤", "operators")
    assert len(token) >= 43  # 32 random bytes
    with env.store.engine.connect() as conn:
        stored = conn.execute(
            select(annotators.c.token_hash).where(annotators.c.id == person.id)
        ).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert humans.annotator_by_token(env.store, env.project, token) == person
    assert humans.annotator_by_token(env.store, env.project, token[:-1] + "x") is None
    assert humans.annotator_by_token(env.store, "another-project", token) is None
    link = humans.signin_link("https://eval.example.jp/", token)
    assert link == f"https://eval.example.jp/signin/{token}"


def test_names_are_unique_per_project_with_a_hint(env: Env) -> None:
    with pytest.raises(HumanEvalError, match="reset-link"):
        humans.add_annotator(env.store, env.project, "op0")
    with pytest.raises(HumanEvalError, match="name"):
        humans.add_annotator(env.store, env.project, "  ")
    with pytest.raises(NotFoundError, match="annotators list"):
        humans.get_annotator(env.store, env.project, "nobody")


def test_disabling_and_resetting_end_access(env: Env) -> None:
    person, token = env.people[0]
    session = humans.start_session(env.store, person.id)
    assert humans.session_annotator(env.store, env.project, session) == person
    humans.set_disabled(env.store, env.project, person.name, True)
    assert humans.annotator_by_token(env.store, env.project, token) is None
    assert humans.session_annotator(env.store, env.project, session) is None
    humans.set_disabled(env.store, env.project, person.name, False)
    new_token = humans.reset_link(env.store, env.project, person.name)
    assert humans.annotator_by_token(env.store, env.project, token) is None
    found = humans.annotator_by_token(env.store, env.project, new_token)
    assert found is not None and found.name == person.name


def test_sessions_expire_and_end(env: Env) -> None:
    person = env.people[0][0]
    over = humans.start_session(env.store, person.id, days=0)
    assert humans.session_annotator(env.store, env.project, over) is None
    live = humans.start_session(env.store, person.id)
    humans.end_session(env.store, live)
    assert humans.session_annotator(env.store, env.project, live) is None


def test_api_keys(env: Env) -> None:
    key, secret = humans.add_api_key(env.store, env.project, "support-app")
    assert secret.startswith("hk_")
    assert humans.api_key_by_secret(env.store, env.project, secret) == key
    with pytest.raises(HumanEvalError, match="already exists"):
        humans.add_api_key(env.store, env.project, "support-app")
    humans.disable_api_key(env.store, env.project, "support-app")
    assert humans.api_key_by_secret(env.store, env.project, secret) is None
    assert [k.disabled for k in humans.list_api_keys(env.store, env.project)] == [True]
    with pytest.raises(NotFoundError):
        humans.disable_api_key(env.store, env.project, "nope")


def test_signin_failures_block_an_address_after_the_limit(env: Env) -> None:
    limit = SigninLimit(attempts=3, window=timedelta(minutes=5))
    client = f"10.0.0.{env.people[0][0].id}-{env.project}"
    for _ in range(2):
        humans.record_signin_failure(env.store, client, limit)
    assert not humans.signin_blocked(env.store, client, limit)
    humans.record_signin_failure(env.store, client, limit)
    assert humans.signin_blocked(env.store, client, limit)
    assert not humans.signin_blocked(env.store, client + "-other", limit)
    assert not humans.signin_blocked(env.store, client, SigninLimit(3, timedelta(0)))


def test_production_feedback_is_a_production_judgment(env: Env) -> None:
    key, _secret = humans.add_api_key(env.store, env.project, "app")
    fb = Feedback(
        thumb="down",
        comment="敬語がおかしい",
        tags=["敬語が不自然"],
        input_text="返品したい",
        output_text="返品できねえよ",
        external_ref="msg-42",
        variant="zzbeta-secret",
        idempotency_key="evt-1",
    )
    first = humans.record_feedback(env.store, env.project, key.id, fb)
    again = humans.record_feedback(env.store, env.project, key.id, fb)
    assert not first.duplicate and again.duplicate and again.judgment_id == first.judgment_id
    up = humans.record_feedback(env.store, env.project, key.id, Feedback(thumb="up"))
    assert up.judgment_id != first.judgment_id
    rows = humans.list_judgments(env.store, env.project, source="production")
    assert [(r["thumb"], r["variant"], r["external_ref"]) for r in rows] == [
        ("down", "zzbeta-secret", "msg-42"),
        ("up", None, None),
    ]
    assert rows[0]["tags"] == [{"tag": "敬語が不自然", "side": "a"}]
    assert rows[0]["input_text"] == "返品したい" and rows[0]["annotator"] is None
    with pytest.raises(HumanEvalError, match="up' or 'down"):
        humans.record_feedback(env.store, env.project, key.id, Feedback(thumb="meh"))
    with pytest.raises(HumanEvalError, match="thumb, a comment or a tag"):
        humans.record_feedback(env.store, env.project, key.id, Feedback())
    with pytest.raises(HumanEvalError, match="no variant named"):
        humans.record_feedback(
            env.store, env.project, key.id, Feedback(thumb="up", variant="ghost")
        )


def test_migration_0002_keeps_every_row_and_gives_assignments_opaque_ids(tmp_path: Path) -> None:
    engine = db.create(f"sqlite:///{tmp_path / 'old.db'}")
    db.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            insert(annotators).values(
                project="p",
                name="a",
                group_name="",
                role="annotator",
                token_hash="h",
                disabled=False,
                created_at=db_now(),
            )
        )
        conn.execute(
            text(
                "INSERT INTO runs (id, uid, project, status, seed, samples, fingerprint, config,"
                " hyouka_version, created_at) VALUES (1, 'r', 'p', 'finished', 0, 1, 'f', '{}',"
                " '0', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO campaigns (id, project, name, run_id, mode, overlap, tags,"
                " variant_ids, seed, status, created_at)"
                " VALUES (1, 'p', 'c', 1, 'rating', 1, '[]', '[]', 0, 'open', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO cases (id, case_hash, case_key, content, created_at)"
                " VALUES (1, 'h', 'k', '{}', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO variants (id, project, name, version, kind, spec,"
                " created_at) VALUES (1, 'p', 'v', '1', 'prompt', '{}', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO samples (id, run_id, variant_id, case_id, sample_index, target,"
                " role, status, cache_key, cached, attempts, created_at)"
                " VALUES (1, 1, 1, 1, 0, '', 'app', 'ok', 'c', 0, 1, '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO campaign_items (id, campaign_id, position, case_id,"
                " sample_a_id, done_count) VALUES (1, 1, 0, 1, 1, 0), (2, 1, 1, 1, 1, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO assignments (campaign_id, item_id, annotator_id, status,"
                " created_at) VALUES (1, 1, 1, 'open', '2026-01-01'),"
                " (1, 2, 1, 'done', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO judgments (project, source, campaign_id, item_id, annotator_id,"
                " rating_a, tags, idempotency_key, created_at) VALUES ('p', 'human', 1, 2, 1, 4,"
                " '[]', 'k', '2026-01-01')"
            )
        )
    db.upgrade(engine)
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT public_id FROM assignments")).scalars().all()
        minutes = conn.execute(text("SELECT assignment_minutes FROM campaigns")).scalar_one()
        counts = conn.execute(
            text("SELECT id, assigned_count FROM campaign_items ORDER BY id")
        ).all()
        kept = conn.execute(text("SELECT rating_a FROM judgments")).scalars().all()
    # nothing lost on the way (a SQLite table rebuild would have cascaded deletes)
    assert len(ids) == 2 and len(set(ids)) == 2 and all(len(i) == 24 for i in ids)
    assert minutes == 30
    assert [tuple(r) for r in counts] == [(1, 1), (2, 1)]
    assert kept == [4]
    db.downgrade(engine, "0001")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM assignments")).scalar_one() == 2
        assert conn.execute(text("SELECT count(*) FROM campaign_items")).scalar_one() == 2
        assert conn.execute(text("SELECT rating_a FROM judgments")).scalars().all() == [4]
    db.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(select(judgments.c.thumb)).scalars().all() == [None]


def db_now() -> object:
    from hyouka.store.tx import now_utc

    return now_utc()
