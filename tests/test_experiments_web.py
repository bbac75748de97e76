"""Live experiments over real HTTP on SQLite and PostgreSQL: /api/assign agrees with the
client and is sticky; /api/events stores each event once (idempotency keys), refuses a bad
batch whole; the client's events survive a server restart; keys are scoped to one project;
the analysis, the CLI and the dashboard read what was sent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner
from experiments_env import Live, build_live
from humans_env import ServerThread, db_url, free_port  # noqa: F401
from pg import pg_session_url  # noqa: F401
from sqlalchemy import func, select

from hyouka.cli.main import cli
from hyouka.client import Client
from hyouka.experiments.queries import count_events
from hyouka.store.schema import experiment_events, judgments


@pytest.fixture
def live(db_url: str, tmp_path: Path) -> Iterator[Live]:  # noqa: F811
    built = build_live(tmp_path / "p", db_url, origin="http://127.0.0.1:5555")
    try:
        yield built
    finally:
        built.close()


def _events_in_store(live: Live) -> int:
    with live.ws.store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(experiment_events.c.project == live.project)
            ).scalar_one()
        )


def test_assign_api_matches_client_and_is_sticky(live: Live) -> None:
    with ServerThread(live.app) as server:
        client = Client(server.url, live.api_key, start=False)
        assert client.refresh()
        h = {"X-API-Key": live.api_key}
        with httpx.Client(base_url=server.url, headers=h) as http:
            for i in range(40):
                r = http.post("/api/assign", json={"experiment": "tone", "unit_id": f"u{i}"})
                assert r.status_code == 200, r.text
                body = r.json()
                local = client.assign("tone", f"u{i}", log_exposure=False)
                assert body["variant"] == local.variant and body["enrolled"] is True
                again = http.post("/api/assign", json={"experiment": "tone", "unit_id": f"u{i}"})
                assert again.json() == body
            assert (
                http.post("/api/assign", json={"experiment": "nope", "unit_id": "u"}).status_code
                == 404
            )
            bad = http.post("/api/assign", json={"experiment": "tone", "unit_id": "u"},
                            headers={"X-API-Key": "hk_wrong"})  # fmt: skip
            assert bad.status_code == 401


def test_events_idempotent_and_bad_batch_stores_nothing(live: Live) -> None:
    with (
        ServerThread(live.app) as server,
        httpx.Client(base_url=server.url, headers={"X-API-Key": live.api_key}) as http,
    ):
        batch = [
            {"kind": "exposure", "experiment": "tone", "unit_id": "u1", "variant": "polite",
             "revision": 2, "idempotency_key": "k1"},
            {"kind": "outcome", "experiment": "tone", "unit_id": "u1", "metric": "thumbs",
             "value": 1, "idempotency_key": "k2"},
        ]  # fmt: skip
        first = http.post("/api/events", json={"events": batch})
        assert first.status_code == 200 and first.json() == {"accepted": 2, "duplicates": 0}
        again = http.post("/api/events", json={"events": batch})
        assert again.json() == {"accepted": 0, "duplicates": 2}
        broken = [*batch[:1], {"kind": "exposure", "experiment": "tone", "unit_id": "u9",
                               "variant": "nonexistent", "idempotency_key": "k3"}]  # fmt: skip
        refused = http.post("/api/events", json={"events": broken})
        assert refused.status_code == 422
        assert "events[1].variant" in refused.json()["detail"]
        wrong_exp = http.post("/api/events", json={"events": [
            {"kind": "outcome", "experiment": "other", "unit_id": "u", "metric": "m",
             "value": 1, "idempotency_key": "k4"}]})  # fmt: skip
        assert wrong_exp.status_code == 422 and "events[0].experiment" in wrong_exp.json()["detail"]
        nan = http.post(
            "/api/events",
            content=b'{"events": [{"kind": "outcome", "experiment": '
            b'"tone", "unit_id": "u", "metric": "m", "value": NaN, '
            b'"idempotency_key": "k5"}]}',
            headers={"content-type": "application/json"},
        )
        assert nan.status_code in (400, 422)
    assert _events_in_store(live) == 2


def test_client_events_survive_a_server_restart(live: Live) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with ServerThread(live.app, port=port):
        client = Client(url, live.api_key, flush_seconds=0.05, timeout=1.0, exit_timeout=10)
        deadline = time.monotonic() + 10
        while "tone" not in client._allocs and time.monotonic() < deadline:
            time.sleep(0.02)
        for i in range(300):
            client.assign("tone", f"u{i}")
        assert client.flush(10)
    # hyouka is down: the app keeps assigning from its cache and buffering
    for i in range(300, 600):
        a = client.assign("tone", f"u{i}")
        assert not a.fallback
        client.track("tone", f"u{i}", "accepted", i % 2)
    time.sleep(0.5)
    assert client.retries >= 1 and client.pending == 600
    with ServerThread(live.app, port=port):
        assert client.flush(20), client.last_error
        client.close()
    assert client.dropped == 0
    assert count_events(live.ws.store, live.project, "tone") == {"exposure": 600, "outcome": 300}
    assert client.sent == 900


def test_key_for_project_a_cannot_write_to_project_b(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    a = build_live(tmp_path / "a", db_url, origin="http://127.0.0.1:5555", run=False)
    b = build_live(tmp_path / "b", db_url, origin="http://127.0.0.1:5555", run=False)
    try:
        with ServerThread(b.app) as server, httpx.Client(base_url=server.url) as http:
            ev = {"events": [{"kind": "outcome", "experiment": "tone", "unit_id": "u",
                              "metric": "thumbs", "value": 1, "idempotency_key": "x"}]}  # fmt: skip
            r = http.post("/api/events", json=ev, headers={"X-API-Key": a.api_key})
            assert r.status_code == 401
            fb = {"output_ref": "o1", "thumb": "down"}
            origin = {"Origin": "http://127.0.0.1:5555"}
            r = http.post("/api/widget/feedback", json=fb,
                          headers={"X-Hyouka-Key": a.widget_key, **origin})  # fmt: skip
            assert r.status_code == 401
            # the widget key is for feedback only: not an API key
            r = http.post("/api/events", json=ev, headers={"X-API-Key": b.widget_key})
            assert r.status_code == 401
            # and only from its origins
            evil = {"X-Hyouka-Key": b.widget_key, "Origin": "http://evil.test"}
            r = http.post("/api/widget/feedback", json=fb, headers=evil)
            assert r.status_code == 403
            pre = http.options("/api/widget/feedback", headers={
                "Origin": "http://evil.test", "Access-Control-Request-Method": "POST"})  # fmt: skip
            assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers
            good = {"Origin": "http://127.0.0.1:5555", "Access-Control-Request-Method": "POST"}
            pre = http.options("/api/widget/feedback", headers=good)
            assert pre.status_code == 204
            assert pre.headers["access-control-allow-origin"] == "http://127.0.0.1:5555"
            ok = http.post("/api/widget/feedback", json=fb,
                           headers={"X-Hyouka-Key": b.widget_key, **origin})  # fmt: skip
            assert ok.status_code == 201 and set(ok.json()) == {"ok", "duplicate", "id"}
        with a.ws.store.engine.connect() as conn:
            n_a = conn.execute(select(func.count()).where(judgments.c.project == a.project))
            assert n_a.scalar_one() == 0
    finally:
        a.close()
        b.close()


def _simulate(live: Live, url: str, units: int = 600) -> None:
    rng = np.random.default_rng(3)
    client = Client(url, live.api_key, start=False)
    assert client.refresh()
    for i in range(units):
        u = f"op{i}"
        a = client.assign("tone", u)
        ref = f"out-{i}"
        client.output("tone", u, ref)
        good = 0.75 if a.variant == "concise" else 0.45
        client.track("tone", u, "accepted", float(rng.random() < good))
        client.track("tone", u, "handling_s", float(rng.normal(90, 15)))
        client.track("tone", u, "latency_ms", float(rng.normal(800, 50)))
    assert client.flush(30)
    client.close()


def test_analysis_cli_and_dashboard_read_what_was_sent(live: Live) -> None:
    with ServerThread(live.app) as server:
        _simulate(live, server.url)
        # widget feedback on one output: linked to its unit and variant, a complaint
        r = httpx.post(
            f"{server.url}/api/widget/feedback",
            json={"output_ref": "out-1", "thumb": "down", "comment": "長すぎる回答",
                  "output_text": "回答です"},
            headers={"X-Hyouka-Key": live.widget_key, "Origin": "http://127.0.0.1:5555"},
        )  # fmt: skip
        assert r.status_code == 201
        report = live.ws.experiments.show("tone")
        assert sum(report.units.values()) == 600
        acc = next(c for c in report.comparisons if c.metric == "accepted")
        assert acc.verdict == "better" and acc.result.low > 0
        assert not report.srm.mismatch
        thumbs = [m for m in report.metrics if m.metric == "thumbs" and m.units]
        assert sum(m.units for m in thumbs) == 1  # the one widget thumb
        complaint = [m for m in report.metrics if m.metric == "complaint"]
        assert sum(m.mean * m.events for m in complaint if m.events) == pytest.approx(1)
        g = report.guardrails[0]
        assert g.metric == "latency_ms" and g.status == "ok"
        # the complaint reaches `hyouka feedback` with its variant
        pending = live.ws.feedback.pending()
        assert any("長すぎる" in g.label for g in pending)
        from hyouka.experiments.allocation import Allocation

        unit_variant = Allocation.from_json(live.ws.experiments.allocations()[0]).assign("op1")[0]
        labels = [c.variant for g in pending for c in g.complaints if "長すぎる" in g.label]
        assert labels and all(str(v).startswith(unit_variant + "@") for v in labels), labels
        page_ja = live.ws.reports.build(lang="ja")
        assert "ライブ実験" in page_ja and "concise は polite より `accepted`" in page_ja
        assert "concise is better than polite on `accepted`" in live.ws.reports.build(lang="en")
        runner = CliRunner()
        url = live.ws.store.engine.url.render_as_string(hide_password=False)
        args = ["experiments", "show", "tone", "-p", str(live.root)]
        res = runner.invoke(cli, [*args, "--lang", "en"], env={"HYOUKA_DATABASE_URL": url})
        assert res.exit_code == 0, res.output
        assert "concise is better than polite on `accepted`" in res.output
        res_ja = runner.invoke(cli, [*args, "--lang", "ja"], env={"HYOUKA_DATABASE_URL": url})
        assert "concise は polite より `accepted`" in res_ja.output
        res_json = runner.invoke(cli, [*args, "--json"], env={"HYOUKA_DATABASE_URL": url})
        assert '"verdict": "better"' in res_json.output
        with httpx.Client(base_url=server.url) as http:
            signin = http.get(f"/signin/{live.admin_token}", follow_redirects=True)
            assert signin.status_code == 200
            page = http.get("/admin/experiments/tone")
            assert page.status_code == 200
            assert "concise" in page.text and "accepted" in page.text
            listing = http.get("/admin/experiments")
            assert listing.status_code == 200 and "tone" in listing.text
            assert http.get("/admin/experiments/none").status_code == 404
            assert 'href="/admin/experiments"' in http.get("/admin").text
            # stop from the dashboard (the form's CSRF token), then start again
            import re

            csrf = re.search(r'name="csrf" value="([^"]+)"', listing.text)
            assert csrf is not None
            r = http.post("/admin/experiments/tone/stop", data={"csrf": csrf.group(1)})
            assert r.status_code in (200, 303)
            assert live.ws.experiments.get("tone").status == "stopped"
            bad = http.post("/admin/experiments/tone/start", data={"csrf": "forged"})
            assert bad.status_code == 400
            assert live.ws.experiments.get("tone").status == "stopped"
            http.post("/admin/experiments/tone/start", data={"csrf": csrf.group(1)})
            assert live.ws.experiments.get("tone").status == "running"


def test_assign_fast_path_falls_back_for_anything_unusual(live: Live) -> None:
    with ServerThread(live.app) as server, httpx.Client(base_url=server.url) as http:
        good = {"X-API-Key": live.api_key}
        body = {"experiment": "tone", "unit_id": "u1"}
        first = http.post("/api/assign", json=body, headers=good)  # the regular route
        fast = http.post("/api/assign", json=body, headers=good)  # now from the caches
        assert first.json() == fast.json()
        assert fast.headers["x-content-type-options"] == "nosniff"  # still the app's headers
        # a key never seen: the regular route refuses it
        assert (
            http.post("/api/assign", json=body, headers={"X-API-Key": "hk_no"}).status_code == 401
        )
        # an extra field, an empty unit, broken JSON: the regular route's 422, never a 500
        for bad in ({**body, "x": 1}, {"experiment": "tone", "unit_id": ""}):
            r = http.post("/api/assign", json=bad, headers=good)
            assert r.status_code == 422 or (r.status_code == 200 and "x" in bad), r.text
        r = http.post(
            "/api/assign",
            content=b"{not json",
            headers={**good, "content-type": "application/json"},
        )
        assert r.status_code == 422
        # a disabled key stops working within the key cache's lifetime (5 s)
        live.ws.api_keys.disable("app")
        import time as _time

        _time.sleep(5.2)
        assert http.post("/api/assign", json=body, headers=good).status_code == 401


BAD_BODIES = [
    b"",
    b"null",
    b"[]",
    b'{"events": null}',
    b'{"events": [1, 2]}',
    b'{"events": [{"kind": "exposure"}]}',
    b'{"events": [{"kind": "outcome", "experiment": "tone", "unit_id": "u", "metric": "m", '
    b'"value": "high", "idempotency_key": "k"}]}',
    b'{"events": [{"kind": "outcome", "experiment": "tone", "unit_id": "u\\u0000", "metric": '
    b'"m", "value": 1, "idempotency_key": "k"}]}',
    b'{"events": [{"kind": "outcome", "experiment": "tone", "unit_id": "\\ud800", "metric": '
    b'"m", "value": 1, "idempotency_key": "k"}]}',
    b'{"events": [{"kind": "outcome", "experiment": "tone", "unit_id": "u", "metric": "m", '
    b'"value": 1e400, "idempotency_key": "k"}]}',
    b'{"events": [{"kind": "exposure", "experiment": "tone", "unit_id": "u", "variant": "polite",'
    b' "revision": 99999999999, "idempotency_key": "k"}]}',
    b'{"events": [{"kind": "output", "experiment": "tone", "unit_id": "u", "idempotency_key": "k",'
    b' "at": -5}]}',
    b'{"experiment": ["tone"], "unit_id": {"a": 1}}',
    b'{"output_ref": "", "thumb": "sideways"}',
    b'{"output_ref": "o", "tags": ["' + b"x" * 200 + b'"]}',
    b"\xff\xfe",
]


def test_bad_bodies_get_4xx_and_store_nothing(live: Live) -> None:
    with ServerThread(live.app) as server, httpx.Client(base_url=server.url) as http:
        h = {"X-API-Key": live.api_key, "content-type": "application/json"}
        w = {"X-Hyouka-Key": live.widget_key, "Origin": "http://127.0.0.1:5555",
             "content-type": "application/json"}  # fmt: skip
        for body in BAD_BODIES:
            for path, headers in (("/api/events", h), ("/api/assign", h),
                                  ("/api/widget/feedback", w)):  # fmt: skip
                r = http.post(path, content=body, headers=headers)
                assert 400 <= r.status_code < 500, (path, body[:60], r.status_code, r.text[:200])
    assert _events_in_store(live) == 0
    assert live.app.state.hyouka.refused_values == 0
