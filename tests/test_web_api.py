"""The JSON API: admins read runs, campaigns and judgments; apps post production feedback."""

from __future__ import annotations

# ruff: noqa: F811  (pytest fixtures imported from humans_env / pg are test arguments)
from humans_env import Env, anonymous, db_url, env, signed_in, vote  # noqa: F401
from pg import pg_session_url  # noqa: F401

from hyouka import humans


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_admins_read_runs_with_a_session_or_their_token(env: Env) -> None:
    client = anonymous(env.app)
    runs = client.get("/api/runs", headers=_bearer(env.admin_token))
    assert runs.status_code == 200
    (run,) = runs.json()
    assert run["id"] == env.run_id and run["status"] == "finished" and run["n_samples"] == 8
    detail = client.get(f"/api/runs/{run['uid']}", headers=_bearer(env.admin_token)).json()
    assert sorted(v["name"] for v in detail["variants"]) == list(env.variant_names)
    assert detail["config"]["config"]["name"] == env.project
    by_session = signed_in(env.app, env.admin_token).get("/api/runs/latest")
    assert by_session.status_code == 200 and by_session.json()["uid"] == run["uid"]
    assert client.get("/api/runs/nope", headers=_bearer(env.admin_token)).status_code == 404


def test_annotators_cannot_read_the_api(env: Env) -> None:
    person = signed_in(env.app, env.people[0][1])
    response = person.get("/api/judgments")
    assert response.status_code == 403 and response.json()["error"] == "error.admins_only"
    as_token = anonymous(env.app).get("/api/judgments", headers=_bearer(env.people[0][1]))
    assert as_token.status_code == 403
    bad = anonymous(env.app).get("/api/runs", headers=_bearer("wrong"))
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"


def test_campaigns_and_judgments_name_the_variants_for_admins(env: Env) -> None:
    client = signed_in(env.app, env.people[0][1])
    for _ in range(2):
        page = client.get(f"/c/{env.campaign.id}").text
        vote(client, page, winner="left", comment="良い", tags_right=["長すぎる"])
    api = anonymous(env.app, headers=_bearer(env.admin_token))
    (campaign,) = api.get("/api/campaigns").json()
    assert (campaign["items"], campaign["judged"], campaign["needed"]) == (4, 2, 8)
    detail = api.get(f"/api/campaigns/{env.campaign.id}").json()
    assert sum(o["wins"] for o in detail["outcomes"]) == 2
    assert sum(o["losses"] for o in detail["outcomes"]) == 2
    page = api.get("/api/judgments", params={"campaign": env.campaign.id, "limit": 1}).json()
    (first,) = page["judgments"]
    assert first["annotator"] == "op0" and first["group"] == "operators"
    assert {first["variant_a"], first["variant_b"]} == set(env.variant_names)
    assert first["winner"] in ("a", "b") and first["left_sample_id"] in (
        first["sample_a_id"],
        first["sample_b_id"],
    )
    assert first["tags"][0]["tag"] == "長すぎる" and "idempotency_key" not in first
    rest = api.get("/api/judgments", params={"after_id": page["next_after_id"]}).json()
    assert [j["id"] for j in rest["judgments"]] == [first["id"] + 1]
    assert rest["next_after_id"] is None
    humans_only = api.get("/api/judgments", params={"source": "production"}).json()
    assert humans_only["judgments"] == []


def test_production_feedback_with_an_api_key(env: Env) -> None:
    _key, secret = humans.add_api_key(env.store, env.project, "support-app")
    app = anonymous(env.app, headers={"x-api-key": secret})
    body = {
        "thumb": "down",
        "comment": "言い方がきつい",
        "tags": ["敬語が不自然"],
        "input_text": "解約したい",
        "output_text": "無理です",
        "external_ref": "msg-7",
        "variant": "zzalpha-secret",
    }
    created = app.post("/api/feedback", json=body, headers={"idempotency-key": "evt-7"})
    assert created.status_code == 201 and created.json()["duplicate"] is False
    again = app.post("/api/feedback", json=body, headers={"idempotency-key": "evt-7"})
    assert again.status_code == 200 and again.json() == {
        "id": created.json()["id"],
        "duplicate": True,
    }
    by_body = app.post("/api/feedback", json={"thumb": "up", "idempotency_key": "evt-8"})
    assert by_body.status_code == 201
    bearer = anonymous(env.app).post("/api/feedback", json={"thumb": "up"}, headers=_bearer(secret))
    assert bearer.status_code == 201
    rows = humans.list_judgments(env.store, env.project, source="production")
    assert [(r["thumb"], r["variant"]) for r in rows] == [
        ("down", "zzalpha-secret"),
        ("up", None),
        ("up", None),
    ]
    assert rows[0]["comment"] == "言い方がきつい" and rows[0]["external_ref"] == "msg-7"


def test_feedback_refusals(env: Env) -> None:
    _key, secret = humans.add_api_key(env.store, env.project, "app")
    app = anonymous(env.app, headers={"x-api-key": secret, "accept-language": "ja"})
    wrong = app.post("/api/feedback", json={"thumb": "sideways"})
    assert wrong.status_code == 422 and wrong.json()["error"] == "error.invalid_request"
    empty = app.post("/api/feedback", json={})
    assert empty.status_code == 400 and "thumb・コメント・タグ" in empty.json()["message"]
    ghost = app.post("/api/feedback", json={"thumb": "up", "variant": "ghost"})
    assert ghost.status_code == 400 and ghost.json()["error"] == "error.unknown_variant"
    nokey = anonymous(env.app).post("/api/feedback", json={"thumb": "up"})
    assert nokey.status_code == 401 and nokey.json()["error"] == "error.api_key_required"
    badkey = anonymous(env.app).post(
        "/api/feedback", json={"thumb": "up"}, headers={"x-api-key": "hk_wrong"}
    )
    assert badkey.status_code == 401
    humans.disable_api_key(env.store, env.project, "app")
    assert app.post("/api/feedback", json={"thumb": "up"}).status_code == 401
    assert humans.list_judgments(env.store, env.project, source="production") == []


def test_openapi_document_describes_the_api_behind_sign_in(env: Env) -> None:
    assert anonymous(env.app).get("/openapi.json").status_code == 401
    _key, secret = humans.add_api_key(env.store, env.project, "app")
    for client in (
        anonymous(env.app, headers={"x-api-key": secret}),
        anonymous(env.app, headers=_bearer(env.admin_token)),
        signed_in(env.app, env.people[0][1]),
    ):
        response = client.get("/openapi.json")
        assert response.status_code == 200
    spec = response.json()
    assert set(spec["paths"]) == {
        "/api/runs",
        "/api/runs/{ref}",
        "/api/campaigns",
        "/api/campaigns/{campaign_id}",
        "/api/judgments",
        "/api/feedback",
        "/api/experiments/allocations",
        "/api/assign",
        "/api/events",
    }
    assert "post" in spec["paths"]["/api/feedback"]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"]["name"] == "X-API-Key" and "HTTPBearer" in schemes
    feedback = spec["components"]["schemas"]["FeedbackIn"]["properties"]
    assert {"thumb", "comment", "tags", "output_text", "external_ref"} <= set(feedback)
