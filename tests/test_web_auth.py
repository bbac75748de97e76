"""Signing in and staying safe: every page needs a session, cookies are locked down, bad links
are counted and limited, CSRF tokens are required, headers forbid inline script."""

# ruff: noqa: F811  (pytest fixtures imported from humans_env / pg are test arguments)

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from humans_env import Env, anonymous, db_url, env, env_for, signed_in  # noqa: F401
from pg import pg_session_url  # noqa: F401

from hyouka import humans
from hyouka.humans import SigninLimit
from hyouka.web import WebSettings, create_app

PROTECTED_GETS = [
    "/",
    "/c/1",
    "/a/some-assignment",
    "/admin",
    "/admin/campaigns/new",
    "/admin/campaigns/1",
    "/api/runs",
    "/api/runs/latest",
    "/api/campaigns",
    "/api/campaigns/1",
    "/api/judgments",
    "/openapi.json",
]
PROTECTED_POSTS = [
    "/signout",
    "/a/some-assignment",
    "/a/some-assignment/skip",
    "/admin/campaigns",
    "/admin/campaigns/1/status",
    "/admin/annotators",
    "/admin/annotators/status",
    "/api/feedback",
]


def test_every_route_but_the_sign_in_link_needs_a_session(env: Env) -> None:
    client = anonymous(env.app)
    for path in PROTECTED_GETS:
        response = client.get(path)
        assert response.status_code == 401, path
    for path in PROTECTED_POSTS:
        response = client.post(path, data={"csrf": "x"})
        assert response.status_code == 401, path
    page = client.get("/", headers={"accept-language": "en-US,en;q=0.9"})
    assert "Open your personal sign-in link" in page.text
    assert "専用のサインイン用リンク" in client.get("/").text  # Japanese by default
    api = client.get("/api/judgments").json()
    assert api["error"] == "error.not_signed_in"
    assert client.get("/healthz").text == "ok"
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/docs").status_code == 404  # no CDN-backed docs page


def test_sign_in_link_sets_a_locked_down_session_cookie(env: Env) -> None:
    client = anonymous(env.app)
    response = client.get(f"/signin/{env.people[0][1]}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("hyouka_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1
    assert env.people[0][1] not in cookie  # a session token, not the personal link's
    home = client.get("/")
    assert home.status_code == 200 and "op0" in home.text


def test_cookies_are_secure_over_https_or_when_configured(db_url: str, tmp_path: Path) -> None:
    with env_for(tmp_path / "p", db_url) as e:
        https = anonymous(e.app, base_url="https://eval.example.jp")
        response = https.get(f"/signin/{e.people[0][1]}", follow_redirects=False)
        assert "Secure" in response.headers["set-cookie"]
        forced = create_app(e.store, e.project, WebSettings(secure_cookies=True))
        response = anonymous(forced).get(f"/signin/{e.people[1][1]}", follow_redirects=False)
        assert "Secure" in response.headers["set-cookie"]


def test_bad_links_are_refused_counted_and_limited(db_url: str, tmp_path: Path) -> None:
    limit = SigninLimit(attempts=3, window=timedelta(minutes=10))
    with env_for(tmp_path / "p", db_url, settings=WebSettings(signin_limit=limit)) as e:
        client = anonymous(e.app, headers={"accept-language": "en"})
        for n in range(3):
            bad = client.get(f"/signin/not-a-token-{n}")
            assert bad.status_code == 403 and "This link does not work" in bad.text
        blocked = client.get(f"/signin/{e.people[0][1]}")  # even a good link, for a while
        assert blocked.status_code == 429
        assert blocked.headers["retry-after"] == "600"
        assert "Too many sign-in attempts" in blocked.text
        bearer = client.get("/api/runs", headers={"authorization": "Bearer nope"})
        assert bearer.status_code == 429


def test_disabled_people_lose_their_session_at_once(env: Env) -> None:
    client = signed_in(env.app, env.people[0][1])
    assert client.get("/").status_code == 200
    humans.set_disabled(env.store, env.project, "op0", True)
    assert client.get("/").status_code == 401
    assert anonymous(env.app).get(f"/signin/{env.people[0][1]}").status_code == 403


def test_sign_out_needs_the_csrf_token_and_ends_the_session(env: Env) -> None:
    client = signed_in(env.app, env.people[0][1])
    refused = client.post("/signout", data={"csrf": "forged"})
    assert refused.status_code == 400 and client.get("/").status_code == 200
    csrf = client.get("/").text.split('name="csrf" value="')[1].split('"')[0]
    done = client.post("/signout", data={"csrf": csrf})
    assert done.status_code == 200
    assert client.get("/").status_code == 401


def test_csrf_token_is_bound_to_the_session(env: Env) -> None:
    first = signed_in(env.app, env.people[0][1])
    second = signed_in(env.app, env.people[0][1])  # same person, another browser
    token_one = first.get("/").text.split('name="csrf" value="')[1].split('"')[0]
    token_two = second.get("/").text.split('name="csrf" value="')[1].split('"')[0]
    assert token_one != token_two
    assert second.post("/signout", data={"csrf": token_one}).status_code == 400


def test_responses_forbid_inline_script_framing_and_referrers(env: Env) -> None:
    client = signed_in(env.app, env.people[0][1])
    headers = client.get("/").headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("target", "landing"),
    [("/c/1", "/c/1"), ("https://evil.example/", "/"), ("//evil.example", "/"), ("", "/")],
)
def test_language_switch_sets_a_cookie_and_only_returns_locally(
    env: Env, target: str, landing: str
) -> None:
    client = signed_in(env.app, env.people[0][1])
    response = client.get("/lang/en", params={"next": target}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == landing
    assert "hyouka_lang=en" in response.headers["set-cookie"]
    assert "Campaigns" in client.get("/").text
    client.get("/lang/ja", follow_redirects=False)
    assert "キャンペーン一覧" in client.get("/").text
    ignored = client.get("/lang/fr", follow_redirects=False)
    assert "set-cookie" not in ignored.headers
