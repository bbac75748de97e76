"""The dashboard's loop pages: /admin/feedback (propose, accept, reject) and /admin/report."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from humans_env import signed_in

from hyouka import humans
from hyouka.loop import list_proposals
from hyouka.web import WebSettings, create_app
from tests.loop_env import PHRASE, build


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_an_admin_proposes_accepts_and_rejects_from_the_dashboard(tmp_path: Path) -> None:
    env = build(tmp_path / "p", f"sqlite:///{tmp_path / 's.db'}", "http://127.0.0.1:9/v1", 1)
    _, token = humans.add_annotator(env.store, "loopy", "kanri", "pdm", admin=True)
    # what `hyouka serve` provides: the project folder
    app = create_app(env.store, "loopy", WebSettings(), config=env.ws.project)
    client = signed_in(app, token)
    client.cookies.set("hyouka_lang", "en")
    page = client.get("/admin/feedback").text
    assert "2 complaint group(s) not proposed yet" in page
    done = client.post("/admin/feedback/propose", data={"csrf": _csrf(page)})
    assert done.status_code == 200 and "2 new proposal(s)." in done.text
    assert 'id="proposal-1"' in done.text and PHRASE in done.text
    assert "fails 3/3 complained outputs" in done.text  # the preview of the phrase check
    assert "judge check: preview it with" in done.text  # no judge calls from a page view
    accepted = client.post(
        "/admin/feedback/1/decide", data={"csrf": _csrf(done.text), "decision": "accept"}
    )
    assert "Accepted complaint-1: written to regressions.yaml." in accepted.text
    checks = yaml.safe_load((env.root / "regressions.yaml").read_text(encoding="utf-8"))["checks"]
    assert checks == [{"type": "not-contains", "value": PHRASE, "metric": "complaint-1"}]
    rejected = client.post(
        "/admin/feedback/2/decide",
        data={"csrf": _csrf(accepted.text), "decision": "reject", "reason": "判定が難しい"},
    )
    assert "Rejected complaint-2." in rejected.text
    by_id = {p.id: p for p in list_proposals(env.store, "loopy")}
    assert (by_id[1].status, by_id[1].decided_by) == ("accepted", "kanri")
    assert (by_id[2].status, by_id[2].note) == ("rejected", "判定が難しい")
    bad = client.post("/admin/feedback/1/decide", data={"csrf": "forged", "decision": "reject"})
    assert bad.status_code == 400 and by_id[1].status == "accepted"


def test_the_report_is_on_the_dashboard_for_admins_only(tmp_path: Path) -> None:
    env = build(tmp_path / "p", f"sqlite:///{tmp_path / 's.db'}", "http://127.0.0.1:9/v1", 1)
    _, admin_token = humans.add_annotator(env.store, "loopy", "kanri", "pdm", admin=True)
    _, person_token = humans.add_annotator(env.store, "loopy", "op", "operators")
    app = create_app(env.store, "loopy", WebSettings())
    admin = signed_in(app, admin_token)
    page = admin.get("/admin/report?lang=ja")
    assert page.status_code == 200
    assert re.findall(r'<section id="(\w+)">', page.text)[:3] == ["summary", "variants", "forest"]
    assert "苦情の記録" in page.text
    # The server's policy forbids inline styles: the page links its stylesheet instead.
    assert '<link rel="stylesheet" href="/admin/report.css">' in page.text
    assert "<style>" not in page.text
    css = admin.get("/admin/report.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".plot" in css.text
    assert signed_in(app, person_token).get("/admin/report").status_code == 403
