"""Issue 12, failures 5-8: no request can make the server answer 500; every string of a body
is bounded; a campaign's name cannot break its download; no CSV export runs a formula."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

# ruff: noqa: F811  (pytest fixtures imported from humans_env / pg are test arguments)
import pytest
from humans_env import Env, anonymous, db_url, env, signed_in, vote  # noqa: F401
from pg import pg_session_url  # noqa: F401
from sqlalchemy import update

from hyouka import humans
from hyouka.bounds import BODY_MAX
from hyouka.store.schema import campaigns
from hyouka.web.routes_admin import content_disposition
from hyouka.web.security import csrf_token
from tests.fuzz_targets import invoke

BIG = [str(2**63), str(2**31), "99999999999999999999999"]


def _csrf(client: object) -> str:
    return csrf_token(client.cookies.get("hyouka_session"))  # type: ignore[attr-defined]


# -- 5. integers beyond any column: 404 / 422, never 500 -----------------------------------


@pytest.mark.parametrize("number", BIG)
def test_ids_beyond_any_column_are_404_not_500(env: Env, number: str) -> None:
    admin = signed_in(env.app, env.admin_token)
    person = signed_in(env.app, env.people[0][1])
    assert person.get(f"/c/{number}").status_code == 404
    for path in (
        f"/admin/campaigns/{number}",
        f"/admin/campaigns/{number}/judgments.csv",
        f"/admin/campaigns/{number}/pairs.jsonl",
    ):
        assert admin.get(path).status_code == 404, path
    api = admin.get(f"/api/campaigns/{number}")
    assert api.status_code == 404 and api.json()["error"] == "error.not_found"
    assert admin.get(f"/api/runs/{number}").status_code == 404
    posted = admin.post(
        f"/admin/campaigns/{number}/status",
        data={"csrf": _csrf(admin), "status": "closed"},
        follow_redirects=False,
    )
    assert posted.status_code == 404
    decided = admin.post(
        f"/admin/feedback/{number}/decide",
        data={"csrf": _csrf(admin), "decision": "reject"},
        follow_redirects=False,
    )
    assert decided.status_code == 404


@pytest.mark.parametrize("number", BIG)
def test_query_numbers_beyond_any_column_are_422(env: Env, number: str) -> None:
    admin = signed_in(env.app, env.admin_token)
    for params in ({"campaign": number}, {"after_id": number}):
        response = admin.get("/api/judgments", params=params)
        assert response.status_code == 422, params
        body = response.json()
        assert body["error"] == "error.invalid_request" and body["detail"][0]["loc"][0] == "query"


@pytest.mark.parametrize("seed", [str(2**63), str(2**31), "-1"])
def test_a_campaign_seed_beyond_the_column_is_refused_with_a_message(env: Env, seed: str) -> None:
    admin = signed_in(env.app, env.admin_token)
    response = admin.post(
        "/admin/campaigns",
        data={"csrf": _csrf(admin), "run": str(env.run_id), "name": "seeded", "seed": seed},
    )
    assert response.status_code == 400
    assert "シードは 0〜2147483647 の整数にしてください。" in response.text


def test_max_samples_that_is_not_a_number_is_refused(env: Env) -> None:
    admin = signed_in(env.app, env.admin_token)
    for value in ("²", "1" * 30, "-3"):
        response = admin.post(
            "/admin/campaigns",
            data={"csrf": _csrf(admin), "run": str(env.run_id), "name": "m", "max_samples": value},
        )
        assert response.status_code == 400, value


# -- 6. every string of an API body is bounded -----------------------------------------------


def _feedback(env: Env, body: object) -> object:
    _, key = humans.add_api_key(env.store, env.project, f"app-{len(str(body)) % 997}-{id(body)}")
    return anonymous(env.app, headers={"X-API-Key": key}).post("/api/feedback", json=body)


def test_a_feedback_tag_is_bounded(env: Env) -> None:
    ok = _feedback(env, {"thumb": "down", "tags": ["t" * 100]})
    assert ok.status_code == 201  # type: ignore[attr-defined]
    long = _feedback(env, {"thumb": "down", "tags": ["t" * 101]})
    assert long.status_code == 422  # type: ignore[attr-defined]
    assert long.json()["detail"][0]["loc"] == ["body", "tags", 0]  # type: ignore[attr-defined]


def test_a_40_mb_body_is_refused_before_it_is_read_whole(env: Env) -> None:
    response = _feedback(env, {"thumb": "down", "tags": ["t" * 40_000_000]})
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert response.json()["error"] == "error.body_too_large"  # type: ignore[attr-defined]
    assert BODY_MAX == 4 * 1024 * 1024


@pytest.mark.parametrize("text", ["a\u0000b", "a\ud800b"])
def test_feedback_text_no_database_can_store_is_422(env: Env, text: str) -> None:
    raw = json.dumps({"thumb": "up", "comment": text})  # \u escapes: any JSON client can
    _, key = humans.add_api_key(env.store, env.project, f"raw-{ord(text[1])}")
    response = anonymous(env.app, headers={"X-API-Key": key}).post(
        "/api/feedback", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", "comment"]


def test_nul_in_a_path_query_or_form_is_400(env: Env) -> None:
    admin = signed_in(env.app, env.admin_token)
    assert admin.get("/api/runs/%00").status_code == 400
    assert admin.get("/api/judgments", params={"source": "a\x00"}).status_code == 400
    page = signed_in(env.app, env.people[0][1])
    first = page.get(f"/c/{env.campaign.id}").text
    assert vote(page, first, winner="left", comment="a\x00b").status_code == 400


def test_a_csrf_token_with_non_ascii_characters_is_400_not_500(env: Env) -> None:
    admin = signed_in(env.app, env.admin_token)
    response = admin.post("/signout", data={"csrf": "\x80é"})
    assert response.status_code == 400


# -- 7. a campaign's name cannot break its download ------------------------------------------


def test_a_campaign_name_with_a_line_break_is_refused(env: Env) -> None:
    with pytest.raises(humans.HumanEvalError, match="line break") as found:
        humans.create_campaign(
            env.store, env.project, env.run_id, humans.CampaignSpec(name="round\r\n2")
        )
    assert found.value.code == "error.bad_name"
    admin = signed_in(env.app, env.admin_token)
    form = {"csrf": _csrf(admin), "run": str(env.run_id), "name": "round\r\n2"}
    response = admin.post("/admin/campaigns", data=form)
    assert response.status_code == 400 and "改行や制御文字は使えません" in response.text


def test_a_stored_name_with_a_line_break_still_downloads(env: Env) -> None:
    with env.store.engine.begin() as conn:  # a campaign made before names were checked
        conn.execute(
            update(campaigns)
            .where(campaigns.c.id == env.campaign.id)
            .values(name='評価\r\nX-Evil: 1"; a')
        )
    admin = signed_in(env.app, env.admin_token)
    response = admin.get(f"/admin/campaigns/{env.campaign.id}/judgments.csv")
    assert response.status_code == 200
    header = response.headers["content-disposition"]
    assert "\r" not in header and "\n" not in header and "x-evil" not in response.headers
    assert header == (
        'attachment; filename="____X-Evil: 1_; a-judgments.csv"; '
        "filename*=UTF-8''%E8%A9%95%E4%BE%A1%0D%0AX-Evil%3A%201%22%3B%20a-judgments.csv"
    )


def test_content_disposition_follows_rfc_6266() -> None:
    assert content_disposition("第1回 評価.csv") == (
        "attachment; filename=\"_1_ __.csv\"; filename*=UTF-8''"
        "%E7%AC%AC1%E5%9B%9E%20%E8%A9%95%E4%BE%A1.csv"
    )
    assert content_disposition('a"b\\c%d.csv') == (
        "attachment; filename=\"a_b_c_d.csv\"; filename*=UTF-8''a%22b%5Cc%25d.csv"
    )


# -- 8. spreadsheet formula injection ------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil","OK")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_every_csv_export_neutralises_formulas_and_jsonl_keeps_them(
    env: Env, db_url: str, tmp_path: Path
) -> None:
    _, key = humans.add_api_key(env.store, env.project, "formula-app")
    app = anonymous(env.app, headers={"X-API-Key": key})
    for i, text in enumerate(FORMULAS):
        body = {"thumb": "down", "comment": text, "tags": [text], "output_text": text,
                "input_text": text, "external_ref": f"r{i}"}  # fmt: skip
        assert app.post("/api/feedback", json=body).status_code == 201
    person = signed_in(env.app, env.people[0][1])
    vote(person, person.get(f"/c/{env.campaign.id}").text, winner="left", comment="=1+2")

    admin = signed_in(env.app, env.admin_token)
    download = admin.get(f"/admin/campaigns/{env.campaign.id}/judgments.csv").text
    assert [r["comment"] for r in _rows(download)] == ["'=1+2"]

    root = env.ws.project.root
    csv_out, jsonl_out = tmp_path / "j.csv", tmp_path / "j.jsonl"
    for out in (csv_out, jsonl_out):
        args = ["judgments", "export", "-p", str(root), "-o", str(out)]
        code, text = invoke(args, env={"HYOUKA_DATABASE_URL": db_url})
        assert code == 0, text
    production = [r for r in _rows(csv_out.read_text("utf-8")) if r["source"] == "production"]
    # comments are stored stripped ("\t=1" as "=1"); output_text as sent
    assert sorted(r["comment"] for r in production) == sorted("'" + t.strip() for t in FORMULAS)
    assert all(r["output_text"].startswith("'") for r in production)
    assert all(json.loads(r["tags_a"])[0] in FORMULAS for r in production)  # JSON text: safe
    raw = [json.loads(line) for line in jsonl_out.read_text("utf-8").splitlines()]
    raw_production = [r for r in raw if r["source"] == "production"]
    assert sorted(r["output_text"] for r in raw_production) == sorted(FORMULAS)


def test_the_run_export_neutralises_formulas_in_outputs(tmp_path: Path) -> None:
    from tests.conftest import write_project

    root = write_project(
        tmp_path / "p",
        {
            "name": "formulas",
            "providers": {"e": {"type": "echo"}},
            "variants": {"v": {"provider": "e", "prompt": "{{ q }}"}},
        },
        cases=[
            {"id": "c1", "vars": {"q": "=cmd|' /C calc'!A0"}},
            {"id": "c2", "vars": {"q": "ok"}},
        ],
    )
    assert invoke(["run", "-p", str(root)])[0] == 0
    out = tmp_path / "s.csv"
    assert invoke(["export", "-p", str(root), "-o", str(out)])[0] == 0
    rows = {r["case_id"]: r for r in _rows(out.read_text("utf-8"))}
    assert rows["c1"]["output"].startswith("'=cmd")
    assert rows["c2"]["output"] == "ok"
    assert rows["c1"]["sample_index"] == "0"  # numbers stay numbers
