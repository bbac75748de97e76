"""The admin pages: dashboard counts, campaign creation and closing, adding people."""

from __future__ import annotations

# ruff: noqa: F811  (pytest fixtures imported from humans_env / pg are test arguments)
import html
import re

from humans_env import QUESTIONS, Env, anonymous, db_url, env, form_fields, signed_in, vote  # noqa: F401
from pg import pg_session_url  # noqa: F401

from hyouka import humans

ADMIN_GETS = ["/admin", "/admin/campaigns/new", "/admin/campaigns/{id}"]


def _csrf(page: str) -> str:
    return re.findall(r'name="csrf" value="([^"]+)"', page)[0]


def test_admin_pages_are_for_admins_only(env: Env) -> None:
    person = signed_in(env.app, env.people[0][1])
    for path in ADMIN_GETS:
        assert person.get(path.format(id=env.campaign.id)).status_code == 403
    csrf = _csrf(person.get("/").text)
    for path in [
        "/admin/campaigns",
        f"/admin/campaigns/{env.campaign.id}/status",
        "/admin/annotators",
        "/admin/annotators/status",
    ]:
        assert (
            person.post(
                path,
                data={
                    "csrf": csrf,
                    "run": "latest",
                    "status": "closed",
                    "name": "x",
                    "disabled": "true",
                },
            ).status_code
            == 403
        )
    admin = signed_in(env.app, env.admin_token)
    for path in ADMIN_GETS:
        assert admin.get(path.format(id=env.campaign.id)).status_code == 200, path
    assert 'href="/admin"' in admin.get("/").text and 'href="/admin"' not in person.get("/").text


def test_dashboard_counts_votes_complaints_and_progress(env: Env) -> None:
    for who, verdict, comment in [(0, "left", "長すぎます"), (1, "tie", ""), (2, "both_bad", "")]:
        client = signed_in(env.app, env.people[who][1])
        page = client.get(f"/c/{env.campaign.id}").text
        vote(client, page, winner=verdict, comment=comment, rating_left="4")
    admin = signed_in(env.app, env.admin_token, headers={"accept-language": "en"})
    page = admin.get(f"/admin/campaigns/{env.campaign.id}").text
    outcomes = {
        o.variant: (o.wins, o.ties, o.losses, o.both_bad)
        for o in humans.variant_outcomes(env.store, env.campaign)
    }
    assert sum(w for w, _, _, _ in outcomes.values()) == 1
    assert all(t == 1 and b == 1 for _, t, _, b in outcomes.values())
    table = re.search(r'<table id="outcomes">(.*?)</table>', page, re.S)
    assert table is not None
    for name, (wins, ties, losses, both_bad) in outcomes.items():
        assert (
            f"<td>{name}</td><td>{wins}</td><td>{ties}</td><td>{losses}</td>"
            f"<td>{both_bad}</td>" in table.group(1)
        )
    complaints = re.search(r'<table id="complaints">(.*?)</table>', page, re.S)
    assert complaints is not None and "長すぎます" in complaints.group(1)
    assert "op0 (operators)" in complaints.group(1)
    case = re.search(r"<td>q(\d)<br>", complaints.group(1))  # the case, with its question
    assert case is not None and QUESTIONS[int(case.group(1))] in complaints.group(1)
    people = re.search(r'<table id="people">(.*?)</table>', page, re.S)
    assert people is not None
    assert all(f"<td>op{i}</td><td>operators</td><td>1</td>" in people.group(1) for i in range(3))
    assert "4 items × 2 people: 3 / 8 judgments, 0 items complete." in page


def test_creating_a_campaign_from_the_admin_page(env: Env) -> None:
    admin = signed_in(env.app, env.admin_token, headers={"accept-language": "en"})
    form = admin.get("/admin/campaigns/new?run=latest").text
    assert "2 variants, 4 cases" in form
    data = {
        "csrf": _csrf(form),
        "run": "latest",
        "name": "rating-round",
        "mode": "rating",
        "variant": ["zzbeta-secret"],
        "case_keys": "q1, q2",
        "overlap": "2",
        "tags": "長すぎる\n敬語が不自然\n",
        "rubric": "正確さ",
        "instructions": "採点してください",
        "seed": "3",
        "max_samples": "",
        "assignment_minutes": "15",
        "group": ["operators"],
    }
    assert 'name="group" value="operators"' in form and 'name="group" value="pdm"' in form
    created = admin.post("/admin/campaigns", data=data, follow_redirects=False)
    assert created.status_code == 303
    campaign = humans.get_campaign(env.store, env.project, "rating-round")
    assert created.headers["location"] == f"/admin/campaigns/{campaign.id}"
    assert (campaign.mode, campaign.overlap, campaign.tags, campaign.seed) == (
        "rating",
        2,
        ("長すぎる", "敬語が不自然"),
        3,
    )
    assert campaign.assignment_minutes == 15 and campaign.instructions == "採点してください"
    assert campaign.groups == ("operators",)
    assert "For: operators" in admin.get(f"/admin/campaigns/{campaign.id}").text
    assert humans.campaign_progress(env.store, campaign).items == 2
    again = admin.post("/admin/campaigns", data=data)
    assert again.status_code == 400 and "already exists" in again.text
    bad = admin.post(
        "/admin/campaigns",
        data={**data, "name": "p", "mode": "pairwise", "variant": ["zzbeta-secret"]},
    )
    assert bad.status_code == 400 and "at least two variants" in bad.text


def test_closing_a_campaign_from_the_dashboard(env: Env) -> None:
    admin = signed_in(env.app, env.admin_token)
    page = admin.get(f"/admin/campaigns/{env.campaign.id}").text
    response = admin.post(
        f"/admin/campaigns/{env.campaign.id}/status",
        data={"csrf": _csrf(page), "status": "closed"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert humans.get_campaign(env.store, env.project, env.campaign.id).status == "closed"
    forged = admin.post(
        f"/admin/campaigns/{env.campaign.id}/status", data={"csrf": "nope", "status": "open"}
    )
    assert forged.status_code == 400
    assert humans.get_campaign(env.store, env.project, env.campaign.id).status == "closed"


def test_adding_a_person_shows_a_link_that_signs_them_in(env: Env) -> None:
    admin = signed_in(env.app, env.admin_token, base_url="http://eval.local:8300")
    page = admin.get("/admin").text
    shown = admin.post(
        "/admin/annotators",
        data={"csrf": _csrf(page), "name": "新人", "group": "operators", "role": "annotator"},
    )
    assert shown.status_code == 200
    found = re.search(r'value="([^"]+)" id="signin-link"', shown.text)
    assert found is not None
    link = html.unescape(found.group(1))
    assert link.startswith("http://eval.local:8300/signin/")
    newcomer = anonymous(env.app)
    assert newcomer.get(link.split("8300")[1], follow_redirects=False).status_code == 303
    assert "新人" in newcomer.get("/").text
    off = admin.post(
        "/admin/annotators/status",
        data={"csrf": _csrf(page), "name": "新人", "disabled": "true"},
        follow_redirects=False,
    )
    assert off.status_code == 303 and newcomer.get("/").status_code == 401
    dup = admin.post("/admin/annotators", data={"csrf": _csrf(page), "name": "新人"})
    assert dup.status_code == 400
