"""People judge conversations (issue 15) in a real browser (Debian's Chromium via Playwright)
on a phone (390×844): the conversation in bubbles, the candidate replies side by side with
their tool calls collapsed, and a "never say this" mark on one turn that the stored judgment
points at. Screenshots in ja and en go to test-artifacts/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from humans_env import ServerThread
from sqlalchemy import select
from test_browser_judging import ARTIFACTS, _new_page, chromium  # noqa: F401

from hyouka import humans
from hyouka.api import Workspace
from hyouka.humans import CampaignSpec
from hyouka.store.schema import judgment_turns, judgments
from hyouka.web import WebSettings, create_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CONVERSATION = [
    {"role": "system", "content": "あなたは通販サイトの窓口です。"},
    {
        "role": "user",
        "content": "注文した加湿器がまだ届きません。",
        "timestamp": "2026-12-01 10:02",
    },
    {
        "role": "assistant",
        "content": "ご不便をおかけしております。注文番号を教えていただけますか。",
    },
    {"role": "user", "content": "A1234 です。急いでいます。", "timestamp": "2026-12-01 10:03"},
]
APP = """
def answer(case, params):
    return {
        "output": "確認しました。A1234 は本日発送済みで、明日お届け予定です。",
        "tool_calls": [{"id": "c1", "name": "lookup_order", "arguments": {"order_id": "A1234"},
                        "result": {"status": "shipped", "eta": "2026-12-03"}}],
    }
"""


def _build(root: Path) -> tuple[Workspace, Any, Any, str, Any]:
    root.mkdir(parents=True)
    (root / "data").mkdir()
    (root / "data" / "chats.jsonl").write_text(
        json.dumps({"id": "chat-1", "messages": CONVERSATION}, ensure_ascii=False) + "\n", "utf-8"
    )
    (root / "convo_app.py").write_text(APP, "utf-8")
    config = {
        "name": "convo-ui",
        "providers": {"fake": {"type": "echo"}},
        "variants": {
            "zzcold-secret": {
                "provider": "fake",
                "system": "窓口です",
                "params": {"reply": "知りません。自分で調べてください。({last})"},
            },
            "zztool-secret": {"app": "convo_app:answer"},
        },
        "datasets": {"chats": "data/chats.jsonl"},
    }
    (root / "hyouka.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    ws = Workspace.open(root, f"sqlite:///{root / 'store.db'}")
    run = ws.run().run
    person, token = humans.add_annotator(ws.store, "convo-ui", "op1", "operators")
    campaign = humans.create_campaign(
        ws.store, "convo-ui", run.id,
        CampaignSpec(name="chat-round", mode="pairwise", overlap=1, seed=3,
                     instructions="次の返答として良い方を選んでください"),
    )  # fmt: skip
    app = create_app(ws.store, "convo-ui", WebSettings())
    return ws, campaign, person, token, app


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Workspace, Any, str, ServerThread]]:
    with ThreadPoolExecutor(1) as pool:
        ws, campaign, _person, token, app = pool.submit(_build, tmp_path / "p").result()
    try:
        with ServerThread(app) as server:
            yield ws, campaign, token, server
    finally:
        ws.close()


def _shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}  # fmt: skip


def test_annotator_judges_two_replies_on_a_phone_and_marks_a_turn(
    chromium: Any,  # noqa: F811
    served: tuple[Workspace, Any, str, ServerThread],
    capsys: pytest.CaptureFixture[str],
) -> None:
    ws, campaign, token, server = served
    # -- English first: the same screen, labels in English
    context, page, watch = _new_page(chromium, locale="en-US", **PHONE)
    page.goto(f"{server.url}/signin/{token}")
    page.goto(f"{server.url}/c/{campaign.id}?lang=en")
    page.wait_for_selector("#judge-form")
    assert page.locator("#convo-title").inner_text() == "Conversation so far"
    en_shot = _shot(page, "convo-judging-phone-en.png")
    context.close()

    context, page, watch = _new_page(chromium, locale="ja-JP", **PHONE)
    page.goto(f"{server.url}/signin/{token}")
    page.goto(f"{server.url}/c/{campaign.id}?lang=ja")
    page.wait_for_selector("#judge-form")
    # the conversation: three bubbles (the system turn shown too), in order, with timestamps
    bubbles = page.locator(".conversation .turn")
    assert bubbles.count() == 4
    assert "注文した加湿器がまだ届きません。" in bubbles.nth(1).inner_text()
    assert "2026-12-01 10:02" in bubbles.nth(1).inner_text()
    assert page.locator("#convo-title").inner_text() == "ここまでの会話"
    assert not page.is_visible("#input-title")  # no vars: no empty input box
    # nothing wider than the phone
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    # the tool call is collapsed, and opens
    call = page.locator(".reply-tools details.tool-call")
    assert call.count() == 1
    assert not call.evaluate("d => d.open")
    assert "lookup_order" in call.locator("summary").inner_text()
    call.locator("summary").click()
    assert "shipped" in call.inner_text()
    tool_side = call.evaluate("d => d.closest('.output').getAttribute('data-side')")
    cold_side = "left" if tool_side == "right" else "right"
    ja_shot = _shot(page, "convo-judging-phone-ja.png")

    # -- mark the cold reply (the candidate next turn, #4) as "never say this"
    page.locator(f"#out-{cold_side} > .turn-mark").click()
    assert page.is_visible("#turn-mark-panel")
    assert page.input_value("#mark_turn") == "4"
    assert page.input_value("#mark_side") == cold_side
    page.locator("label.chip:has-text('絶対に言ってはいけない')").click()
    page.fill("#comment", "突き放す言い方")
    marked_shot = _shot(page, "convo-judging-phone-marked-ja.png")
    with page.expect_navigation():
        page.click(f"button[value={tool_side}]")
    context.close()
    with capsys.disabled():
        print(f"\nscreenshots: {en_shot} {ja_shot} {marked_shot}")

    with ws.store.engine.connect() as conn:
        (row,) = conn.execute(select(judgments)).mappings().all()
        (turn,) = conn.execute(select(judgment_turns)).mappings().all()
    left = "a" if row["left_sample_id"] == row["sample_a_id"] else "b"
    to_item = {"left": left, "right": "b" if left == "a" else "a"}
    assert row["winner"] == to_item[tool_side]
    assert row["comment"] == "突き放す言い方"
    assert turn["judgment_id"] == row["id"]
    assert (turn["turn"], turn["kind"], turn["side"]) == (4, "never", to_item[cold_side])
    assert turn["text"].startswith("知りません。自分で調べてください。")
    assert watch.dialogs == []


def test_a_mark_on_a_conversation_turn_is_stored_and_a_bad_turn_is_refused(
    served: tuple[Workspace, Any, str, ServerThread],
) -> None:
    import httpx
    from humans_env import form_fields

    ws, campaign, token, server = served
    with httpx.Client(base_url=server.url) as client:
        client.get(f"/signin/{token}")
        page = client.get(f"/c/{campaign.id}").text
        form = form_fields(page)
        base = {"csrf": form["csrf"], "key": form["key"], "winner": "tie"}
        bad = client.post(form["action"], data={**base, "mark_turn": "9", "mark_kind": "never"})
        assert bad.status_code == 400
        assert "この会話にありません" in bad.text or "not part of this conversation" in bad.text
        ok = client.post(
            form["action"], data={**base, "mark_turn": "2", "mark_kind": "complaint"},
            follow_redirects=False,
        )  # fmt: skip
        assert ok.status_code == 303
    with ws.store.engine.connect() as conn:
        (turn,) = conn.execute(select(judgment_turns)).mappings().all()
    assert (turn["turn"], turn["kind"], turn["side"]) == (2, "complaint", None)
    assert turn["text"] == "ご不便をおかけしております。注文番号を教えていただけますか。"


def test_two_whole_simulated_dialogues_side_by_side_and_a_mark_inside_one(
    tmp_path: Path,
) -> None:
    """A simulated dataset: each side shows its whole dialogue; a mark on a turn of one of
    them is stored with that turn's index and side (HTTP only: the layout is the same
    bubbles as above)."""
    import httpx
    from humans_env import form_fields

    root = tmp_path / "sim"
    (root / "data").mkdir(parents=True)
    (root / "data" / "sim.jsonl").write_text(
        json.dumps({"id": "s1", "simulate": {"persona": "急ぐ人", "goal": "配達日を知る",
                                             "opening": "荷物はいつ届きますか"}},
                   ensure_ascii=False) + "\n", "utf-8",
    )  # fmt: skip
    config = {
        "name": "sim-ui",
        "providers": {"fake": {"type": "echo"}, "user": {"type": "echo", "reply": "まだですか"}},
        "variants": {
            "zzone-secret": {"provider": "fake", "system": "s", "params": {"reply": "確認中です"}},
            "zztwo-secret": {"provider": "fake", "system": "s", "params": {"reply": "明日です"}},
        },
        "datasets": {"sim": {"path": "data/sim.jsonl",
                             "simulate": {"provider": "user", "max_turns": 2}}},
    }  # fmt: skip
    (root / "hyouka.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    with ThreadPoolExecutor(1) as pool:
        ws = Workspace.open(root, f"sqlite:///{root / 'store.db'}")
        run = pool.submit(ws.run).result().run
    _person, token = humans.add_annotator(ws.store, "sim-ui", "op1", "operators")
    campaign = humans.create_campaign(
        ws.store, "sim-ui", run.id, CampaignSpec(name="sims", mode="pairwise", overlap=1, seed=1)
    )
    app = create_app(ws.store, "sim-ui", WebSettings())
    try:
        with ServerThread(app) as server, httpx.Client(base_url=server.url) as client:
            client.get(f"/signin/{token}")
            page = client.get(f"/c/{campaign.id}").text
            # each side: opening (0), reply (1), user (2), reply (3)
            for side in ("left", "right"):
                assert page.count(f'id="turn-{side}-') == 4
            assert "確認中です" in page and "明日です" in page and "まだですか" in page
            form = form_fields(page)
            sent = client.post(
                form["action"],
                data={"csrf": form["csrf"], "key": form["key"], "winner": "right",
                      "mark_turn": "3", "mark_kind": "never", "mark_side": "left"},
                follow_redirects=False,
            )  # fmt: skip
            assert sent.status_code == 303
        from hyouka.store.schema import samples

        with ws.store.engine.connect() as conn:
            (row,) = conn.execute(select(judgments)).mappings().all()
            (turn,) = conn.execute(select(judgment_turns)).mappings().all()
            left_output = conn.execute(
                select(samples.c.output).where(samples.c.id == row["left_sample_id"])
            ).scalar()
        left = "a" if row["left_sample_id"] == row["sample_a_id"] else "b"
        assert (turn["turn"], turn["kind"], turn["side"]) == (3, "never", left)
        assert turn["text"] == left_output and left_output in ("確認中です", "明日です")
    finally:
        ws.close()
