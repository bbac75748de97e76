"""The team's workbench over HTTP (SQLite and PostgreSQL): who may open it, what it shows,
and that it shows the same numbers as ``hyouka show`` / ``hyouka compare``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from humans_env import db_url, signed_in  # noqa: F401  (fixture)
from pg import pg_session_url  # noqa: F401  (a pytest fixture)
from team_env import VARIANTS, TeamEnv, build_team

from hyouka.workbench.diff import char_diff


@pytest.fixture
def team(db_url: str, tmp_path: Path) -> Iterator[TeamEnv]:  # noqa: F811
    built = build_team(tmp_path / "project", db_url)
    try:
        yield built
    finally:
        built.ws.close()


def _team_paths(e: TeamEnv) -> list[str]:
    """Every GET route under /team/, its parameters filled with real values."""
    values = {"ref": e.run_uid, "key": "q0", "name": VARIANTS[0], "job_id": "nosuchjob"}
    paths = []
    from hyouka.web.routes_team import router

    for route in router.routes:
        path = getattr(route, "path", "")
        if not path.startswith("/team") or "GET" not in getattr(route, "methods", ()):
            continue
        paths.append(re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path))
    query = {"samples.json": f"?variant={VARIANTS[0]}"}
    return [p + next((q for k, q in query.items() if p.endswith(k)), "") for p in paths]


def test_annotators_get_403_on_every_workbench_page_and_api(team: TeamEnv) -> None:
    paths = _team_paths(team)
    assert len(paths) >= 8, paths
    annotator = signed_in(team.app, team.annotator_token)
    editor = signed_in(team.app, team.editor_token)
    admin = signed_in(team.app, team.admin_token)
    anonymous = signed_in(team.app, team.annotator_token)
    anonymous.cookies.clear()
    for path in paths:
        refused = annotator.get(path)
        assert refused.status_code == 403, (path, refused.status_code)
        # no variant named (but the one the person typed into the address themselves)
        assert not any(v in refused.text for v in VARIANTS if v not in path), path
        assert anonymous.get(path).status_code == 401, path
        expected = 404 if "nosuchjob" in path else 200
        assert editor.get(path).status_code == expected, (path, editor.get(path).text[:500])
        assert admin.get(path).status_code == expected, path
    from hyouka.web.routes_team import router

    posts = [r.path for r in router.routes if "POST" in getattr(r, "methods", ())]
    assert len(posts) >= 4, posts
    for path in posts:
        assert annotator.post(path, data={"csrf": "x"}).status_code == 403, path
    # an editor is not an admin: the campaign pages stay closed to them
    assert editor.get("/admin").status_code == 403
    # the header shows the workbench link to the team only
    assert 'id="nav-team"' in editor.get("/").text
    assert 'id="nav-team"' not in annotator.get("/").text


def test_the_annotators_judging_screen_stays_blind(team: TeamEnv) -> None:
    annotator = signed_in(team.app, team.annotator_token)
    page = annotator.get(f"/c/{team.campaign.id}", follow_redirects=True)
    assert page.status_code == 200 and 'id="judge-form"' in page.text
    for name in VARIANTS:
        assert name not in page.text


def test_runs_list_and_run_page_show_every_variant_and_the_grid(team: TeamEnv) -> None:
    editor = signed_in(team.app, team.editor_token)
    runs = editor.get("/team").text
    assert team.run_uid in runs and all(v in runs for v in VARIANTS)
    page = editor.get(f"/team/runs/{team.run_uid}").text
    assert "8 ケース中 8 ケース" in page or "8 of 8 cases" in page
    assert page.count('<article class="case') == 8
    # outputs are escaped text: markup, RTL and zero-width characters inert
    assert "<script>window.__pwned" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=" in page
    # RTL override and zero-width space: shown as marks, never left to turn the line around
    assert "\u202e" not in page and "\u200b" not in page
    assert '⟦U+202E⟧</span>逆順<span class="ctl" title="U+200B">⟦U+200B⟧' in page
    # the reason a check failed is shown
    assert "contains" in page


def test_filters_search_and_orders(team: TeamEnv) -> None:
    editor = signed_in(team.app, team.editor_token)
    base = f"/team/runs/{team.run_uid}"
    grid = editor.get(f"{base}/grid.json", params={"check": "contains"}).json()
    # zzscript-secret never says 回答: every case fails `contains` there
    assert grid["total"] == 8
    failing = [
        s
        for case in grid["cases"]
        for s in case["variants"][VARIANTS[1]]
        for sc in s["scores"]
        if sc["check"] == "contains" and sc["passed"] is False
    ]
    assert len(failing) == 8 * 3 and all(sc for sc in failing)
    found = editor.get(f"{base}/grid.json", params={"q": "営業"}).json()
    assert [c["case"] for c in found["cases"]] == ["q1"]
    assert editor.get(f"{base}/grid.json", params={"q": "<SCRIPT>"}).json()["total"] == 8
    none = editor.get(f"{base}/grid.json", params={"q": "%_存在しない"}).json()
    assert none["total"] == 0
    # sample #1 of every variant fails not-contains "#1": every case's samples disagree
    spread = editor.get(f"{base}/grid.json", params={"show": "samples"}).json()
    assert spread["total"] == 8
    assert editor.get(f"{base}/grid.json", params={"show": "errors"}).json()["total"] == 0
    variants = editor.get(f"{base}/grid.json", params={"show": "variants"}).json()
    assert variants["total"] == 8  # contains: 1.0 for two variants, 0.0 for one
    paged = editor.get(f"{base}/grid.json", params={"size": 3, "page": 3}).json()
    assert paged["pages"] == 3 and [c["case"] for c in paged["cases"]] == ["q6", "q7"]
    # a bad value is a 4xx, never a 500
    assert editor.get(f"{base}?page=0").status_code in (400, 422)
    assert editor.get(f"{base}?show=nonsense").status_code == 200
    assert editor.get("/team/runs/nosuchrun").status_code == 404
    assert editor.get(f"{base}/cases/nosuch").status_code == 404
    assert editor.get("/team/variants/nosuch").status_code == 404


def test_summary_has_the_numbers_of_show_and_compare(team: TeamEnv) -> None:
    editor = signed_in(team.app, team.editor_token)
    data = editor.get(f"/team/runs/{team.run_uid}/summary.json").json()
    _run, shows = team.ws.show(team.run_uid)
    assert [v["name"] for v in data["variants"]] == [s.name for s in shows]
    assert [v["samples"] for v in data["variants"]] == [s.samples for s in shows]
    by_name = {v["name"]: v for v in data["variants"]}
    first = data["variants"][0]["name"]
    others = [v["name"] for v in data["variants"][1:]]
    result = team.ws.compare(first, *others, run=team.run_uid)
    checked = 0
    for pair in result.comparisons:
        for m in pair.metrics:
            mine = by_name[pair.b]["metrics"][m.metric]
            assert mine["mean"] == pytest.approx(m.b.mean)
            assert (mine["low"], mine["high"]) == (pytest.approx(m.b.low), pytest.approx(m.b.high))
            checked += 1
    assert checked == 4
    assert by_name[VARIANTS[1]]["metrics"]["contains"]["mean"] == 0.0
    assert data["verdicts"] and all("/compare?" in v["href"] for v in data["verdicts"])


def test_compare_page_diffs_by_character_and_links_the_cases_behind_the_verdict(
    team: TeamEnv,
) -> None:
    editor = signed_in(team.app, team.editor_token)
    base = f"/team/runs/{team.run_uid}/compare"
    page = editor.get(base, params={"a": VARIANTS[0], "b": VARIANTS[1]}).text
    links = re.findall(r'href="(/team/runs/[^"]+/compare\?[^"]*metric=[^"]+)"', page)
    assert links, "each verdict line links to its cases"
    driving = editor.get(html.unescape(links[0])).text
    assert "B − A" in driving
    assert "<del>" in page and "<ins>" in page
    assert "&lt;script&gt;" in page and "<script>window" not in page


def test_versions_show_the_prompt_and_params(team: TeamEnv) -> None:
    editor = signed_in(team.app, team.editor_token)
    page = editor.get(f"/team/variants/{VARIANTS[0]}").text
    assert "{{ question }}" in html.unescape(page)
    assert "reply" in page


def test_char_diff_works_on_japanese() -> None:
    segments = char_diff("返品は30日以内です。", "返品は14日以内でした。")
    kinds = [(s.kind, s.text) for s in segments]
    assert ("same", "返品は") in kinds
    assert ("del", "30") in kinds and ("ins", "14") in kinds
    assert "".join(s.text for s in segments if s.kind != "ins") == "返品は30日以内です。"
    assert "".join(s.text for s in segments if s.kind != "del") == "返品は14日以内でした。"


def test_versions_diff_the_prompt_and_params_between_versions(team: TeamEnv) -> None:
    import yaml

    from hyouka.api import Workspace

    path = team.root / "hyouka.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["variants"][VARIANTS[0]]["prompt"] = "丁寧に答えてください: {{ question }}"
    config["variants"][VARIANTS[0]]["params"]["temperature"] = 0.2
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    ws = Workspace.open(team.root, str(team.store.engine.url.render_as_string(False)))
    try:
        ws.run(variants=[VARIANTS[0]])
    finally:
        ws.close()
    editor = signed_in(team.app, team.editor_token)
    page = editor.get(f"/team/variants/{VARIANTS[0]}").text
    assert page.count('<section class="version"') == 2
    assert "<ins>丁寧に答えてください: </ins>" in page
    assert "temperature" in re.findall(r"<ins>(.*?)</ins>", page, re.S)[-1] or any(
        "temperature" in i for i in re.findall(r"<ins>(.*?)</ins>", page, re.S)
    )
