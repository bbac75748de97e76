"""People first where the LLM judge is unsure: a campaign orders its pairs by what a pairwise
judge made of them (unsettled, then unjudged, then settled) and can leave the settled out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hyouka import humans
from hyouka.api import Workspace
from hyouka.cli.main import cli
from hyouka.humans import CampaignSpec, HumanEvalError
from hyouka.store.schema import campaign_items, samples, variants
from hyouka.testing import FakeServer
from tests.conftest import write_project

N_CASES = 3


def _judge(body: dict[str, Any]) -> str:
    """Prefers 良い over 悪い in both orders (settled); with 普通 it always picks the answer
    shown first, so the verdict flips when the answers swap places (unsettled)."""
    prompt = body["messages"][-1]["content"]
    first = prompt.split("[アシスタントAの回答の開始]\n")[1]
    second = prompt.split("[アシスタントBの回答の開始]\n")[1]
    if first.startswith("普通") or second.startswith("普通"):
        return "同程度。\n[[A]]"
    return "良い方。\n[[A]]" if first.startswith("良い") else "理由\n[[B]]"


def _workspace(root: Path, responder: Any) -> Workspace:
    with FakeServer(responder=responder) as srv:
        cfg = {
            "name": "jf",
            "samples": 1,
            "providers": {
                "echo": {"type": "echo"},
                "gpt": {"type": "openai", "base_url": srv.base_url, "model": "judge-1"},
            },
            "variants": {
                "bad": {"provider": "echo", "prompt": "悪い回答: {{ q }}"},
                "good": {"provider": "echo", "prompt": "良い回答: {{ q }}"},
                "meh": {"provider": "echo", "prompt": "普通の回答: {{ q }}"},
            },
            "checks": [{"type": "judge-pairwise", "judge": "gpt", "baseline": "bad"}],
        }
        cases = [{"id": f"c{i}", "vars": {"q": f"質問{i}"}} for i in range(N_CASES)]
        workspace = Workspace.open(write_project(root, cfg, cases))
        workspace.run()
        assert srv.stats()["model_calls"] == 2 * N_CASES * 2  # 2 candidates × cases × 2 orders
    return workspace


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = _workspace(tmp_path / "p", _judge)
    yield workspace
    workspace.close()


def _pairs_in_order(ws: Workspace, campaign_id: int) -> list[frozenset[str]]:
    a, b = samples.alias("a"), samples.alias("b")
    va, vb = variants.alias("va"), variants.alias("vb")
    query = (
        select(va.c.name, vb.c.name)
        .select_from(campaign_items)
        .join(a, a.c.id == campaign_items.c.sample_a_id)
        .join(b, b.c.id == campaign_items.c.sample_b_id)
        .join(va, va.c.id == a.c.variant_id)
        .join(vb, vb.c.id == b.c.variant_id)
        .where(campaign_items.c.campaign_id == campaign_id)
        .order_by(campaign_items.c.position)
    )
    with ws.store.engine.connect() as conn:
        return [frozenset(r) for r in conn.execute(query)]


UNSETTLED, UNJUDGED, SETTLED = (
    frozenset({"meh", "bad"}),
    frozenset({"good", "meh"}),
    frozenset({"good", "bad"}),
)


def test_pairs_the_judge_could_not_settle_come_first(ws: Workspace) -> None:
    run = ws.get_run()
    spec = CampaignSpec(name="jf", mode="pairwise", judge_first="judge-pairwise", seed=3)
    campaign = humans.create_campaign(ws.store, "jf", run.id, spec)
    assert _pairs_in_order(ws, campaign.id) == [UNSETTLED] * 3 + [UNJUDGED] * 3 + [SETTLED] * 3
    assert campaign.selection == {
        "judge": "judge-pairwise@gpt",
        "unsettled": 3,
        "unjudged": 3,
        "settled": 3,
        "only_unsettled": False,
    }
    # Served lowest coverage, then position: the first people get the unsettled pairs.
    people = [humans.add_annotator(ws.store, "jf", f"op{i}", "operators")[0] for i in range(3)]
    handed = [humans.next_assignment(ws.store, campaign, p.id) for p in people]
    item_ids = {a.item_id for a in handed if a is not None}
    with ws.store.engine.connect() as conn:
        positions = sorted(
            int(p)
            for (p,) in conn.execute(
                select(campaign_items.c.position).where(campaign_items.c.id.in_(item_ids))
            )
        )
    assert positions == [0, 1, 2]
    plain = humans.create_campaign(ws.store, "jf", run.id, CampaignSpec(name="plain", seed=3))
    assert plain.selection is None
    assert sorted(_pairs_in_order(ws, plain.id), key=sorted) == sorted(
        _pairs_in_order(ws, campaign.id), key=sorted
    )  # the same items, only the order differs


def test_only_unsettled_leaves_the_settled_pairs_out(ws: Workspace) -> None:
    spec = CampaignSpec(
        name="jf2", mode="pairwise", judge_first="judge-pairwise@gpt", only_unsettled=True
    )
    campaign = humans.create_campaign(ws.store, "jf", ws.get_run().id, spec)
    assert sorted(_pairs_in_order(ws, campaign.id), key=sorted) == sorted(
        [UNSETTLED] * 3 + [UNJUDGED] * 3, key=sorted
    )
    assert campaign.selection is not None and campaign.selection["only_unsettled"] is True
    only_settled_variants = CampaignSpec(
        name="jf3",
        mode="pairwise",
        variants=["good", "bad"],
        judge_first="judge-pairwise",
        only_unsettled=True,
    )
    with pytest.raises(HumanEvalError, match="settled every pair"):
        humans.create_campaign(ws.store, "jf", ws.get_run().id, only_settled_variants)


def test_clear_refusals(ws: Workspace) -> None:
    run_id = ws.get_run().id
    with pytest.raises(HumanEvalError) as unknown:
        humans.create_campaign(
            ws.store, "jf", run_id, CampaignSpec(name="x", mode="pairwise", judge_first="gpt4")
        )
    assert str(unknown.value) == (
        "judge 'gpt4' judged no pairs of this run (pairwise judges of this run: judge-pairwise@gpt)"
    )
    with pytest.raises(HumanEvalError, match="use a pairwise mode"):
        humans.create_campaign(
            ws.store, "jf", run_id, CampaignSpec(name="x", mode="rating", judge_first="gpt")
        )
    with pytest.raises(HumanEvalError, match="only_unsettled needs judge_first"):
        humans.create_campaign(ws.store, "jf", run_id, CampaignSpec(name="x", only_unsettled=True))


def test_the_cli_says_what_comes_first(ws: Workspace) -> None:
    out = CliRunner().invoke(
        cli,
        [
            "campaigns",
            "create",
            "r1",
            "--judge-first",
            "judge-pairwise",
            "-p",
            str(ws.project.root),
        ],
        catch_exceptions=False,
    )
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert (
        "first the 3 pairs the judge judge-pairwise@gpt could not settle, "
        "then 3 it did not judge, then 3 it settled"
    ) in text


def test_the_dashboard_and_the_api_show_the_order(ws: Workspace) -> None:
    from humans_env import signed_in

    from hyouka.web import create_app

    spec = CampaignSpec(name="jf", mode="pairwise", judge_first="judge-pairwise")
    campaign = humans.create_campaign(ws.store, "jf", ws.get_run().id, spec)
    _, token = humans.add_annotator(ws.store, "jf", "kanri", "pdm", admin=True)
    admin = signed_in(create_app(ws.store, "jf"), token, headers={"accept-language": "ja"})
    page = " ".join(admin.get(f"/admin/campaigns/{campaign.id}").text.split())
    assert (
        "配布順: 判定モデル judge-pairwise@gpt が決めきれなかった 3 組を最初に、"
        "次に判定していない 3 組、最後に判定が一致した 3 組。"
    ) in page
    listed = admin.get("/api/campaigns").json()
    assert listed[0]["selection"]["unsettled"] == 3


def test_the_admin_form_offers_the_runs_pairwise_judges(ws: Workspace) -> None:
    import re

    from humans_env import signed_in

    from hyouka.web import create_app

    _, token = humans.add_annotator(ws.store, "jf", "kanri", "pdm", admin=True)
    admin = signed_in(create_app(ws.store, "jf"), token, headers={"accept-language": "en"})
    form = admin.get("/admin/campaigns/new?run=latest").text
    assert '<option value="judge-pairwise@gpt">' in form
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    data = {
        "csrf": csrf.group(1),
        "run": "latest",
        "name": "from-form",
        "mode": "pairwise",
        "variant": ["bad", "good", "meh"],
        "judge_first": "judge-pairwise@gpt",
        "only_unsettled": "1",
    }
    created = admin.post("/admin/campaigns", data=data, follow_redirects=False)
    assert created.status_code == 303, created.text
    campaign = humans.get_campaign(ws.store, "jf", "from-form")
    assert campaign.selection is not None
    assert (campaign.selection["unsettled"], campaign.selection["only_unsettled"]) == (3, True)
    assert humans.campaign_progress(ws.store, campaign).items == 6


def test_a_verdict_the_judge_could_not_put_into_words_leaves_the_pair_unsettled(
    tmp_path: Path,
) -> None:
    def mumbling(body: dict[str, Any]) -> str:
        prompt = body["messages"][-1]["content"]
        if "良い回答: 質問2" in prompt:
            return "どちらとも言えません"  # no [[A]] / [[B]]: a parse error, no judgment row
        return _judge(body)

    workspace = _workspace(tmp_path / "p", mumbling)
    try:
        spec = CampaignSpec(name="jf", mode="pairwise", judge_first="judge-pairwise")
        campaign = humans.create_campaign(workspace.store, "jf", workspace.get_run().id, spec)
        assert campaign.selection is not None
        counts = [campaign.selection[k] for k in ("unsettled", "unjudged", "settled")]
        assert counts == [4, 3, 2]  # good-vs-bad on 質問2 moved from settled to unsettled
        assert _pairs_in_order(workspace, campaign.id)[:4].count(SETTLED) == 1
    finally:
        workspace.close()


def test_a_refused_admin_form_keeps_the_judge_choice(ws: Workspace) -> None:
    import re

    from humans_env import signed_in

    from hyouka.web import create_app

    _, token = humans.add_annotator(ws.store, "jf", "kanri", "pdm", admin=True)
    admin = signed_in(create_app(ws.store, "jf"), token, headers={"accept-language": "en"})
    form = admin.get("/admin/campaigns/new?run=latest").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    data = {
        "csrf": csrf.group(1),
        "run": "latest",
        "name": "rated",
        "mode": "rating",  # refused: judge-first orders pairs
        "variant": ["bad", "good"],
        "judge_first": "judge-pairwise@gpt",
        "only_unsettled": "1",
    }
    refused = admin.post("/admin/campaigns", data=data)
    assert refused.status_code == 400
    assert '<option value="judge-pairwise@gpt" selected>' in refused.text
    assert 'name="only_unsettled" value="1" checked' in refused.text
