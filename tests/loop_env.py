"""A project for the feedback-loop tests: two echo variants, a run, and people complaining.

``bot`` says a phrase people hate (「担当者にお問い合わせください」); ``alt`` ends its answers
with a casual 「だよ」. In campaign ``r1`` tanaka tags 「二度と言わないで」 on bot's answers
and marks the phrase; sato writes a free-text complaint about alt's 「だよ」. A fake OpenAI
judge (``gpt``, a :class:`hyouka.testing.FakeServer`) grades an answer 1 when it contains
「だよ」 and 5 otherwise, so judge checks are deterministic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hyouka import humans
from hyouka.api import Workspace
from hyouka.humans import Campaign, CampaignSpec, JudgmentInput
from hyouka.store.store import RunInfo, Store
from tests.conftest import write_project

PHRASE = "担当者にお問い合わせください"
CASUAL = "だよ"
NEVER = "二度と言わないで"
COMMENT = "「だよ」はくだけすぎていて失礼に感じる"
QUESTIONS = ("返品したい", "送料は?", "営業時間", "領収書", "解約したい", "配送先の変更")
BOT_V1 = "{last}について確認いたします。" + PHRASE + "。#{sample}"
BOT_V2 = "{last}なら確認しておくよ、大丈夫" + CASUAL + "。#{sample}"
ALT = "{last}ですね、了解" + CASUAL + "。#{sample}"


def judge_reply(body: dict[str, Any]) -> str:
    """The fake judge: 1 for an answer with 「だよ」, else 5 (JSON, as the rubric asks)."""
    prompt = str(body["messages"][-1]["content"])
    answer = prompt.split("# 回答\n", 1)[-1].split("\n\n次の形式", 1)[0]
    score = 1 if CASUAL in answer else 5
    reason = "くだけすぎ" if score == 1 else "丁寧"
    return json.dumps({"reason": reason, "score": score}, ensure_ascii=False)


def config(judge_url: str, samples: int = 2) -> dict[str, Any]:
    return {
        "name": "loopy",
        "samples": samples,
        "providers": {
            "fake": {"type": "echo"},
            "gpt": {"type": "openai", "base_url": judge_url, "model": "judge-1", "max_retries": 1},
        },
        "variants": {
            "bot": {"provider": "fake", "prompt": "{{ q }}", "params": {"reply": BOT_V1}},
            "alt": {"provider": "fake", "prompt": "{{ q }}", "params": {"reply": ALT}},
        },
        "checks": [{"type": "contains", "value": "いたします", "metric": "polite"}],
    }


@dataclass
class LoopEnv:
    root: Path
    ws: Workspace
    run: RunInfo
    campaign: Campaign
    people: dict[str, int]

    @property
    def store(self) -> Any:
        return self.ws.store

    def reopen(self) -> Workspace:
        """The workspace again after the project files changed."""
        self.ws = Workspace.open(self.root, self.ws.store.engine.url.render_as_string(False))
        return self.ws


def build(root: Path, db_url: str, judge_url: str, samples: int = 2) -> LoopEnv:
    cases = [{"id": f"c{i}", "vars": {"q": q}} for i, q in enumerate(QUESTIONS)]
    write_project(root, config(judge_url, samples), cases)
    text = (root / "hyouka.yaml").read_text(encoding="utf-8")
    (root / "hyouka.yaml").write_text("# サポートボット (a comment to keep)\n" + text, "utf-8")
    Store.open(db_url, auto_upgrade=True).close()  # PostgreSQL stores are migrated explicitly
    ws = Workspace.open(root, db_url)
    run = ws.run().run
    store = ws.store
    tanaka, _ = humans.add_annotator(store, "loopy", "tanaka", "operators")
    sato, _ = humans.add_annotator(store, "loopy", "sato", "operators")
    spec = CampaignSpec(
        name="r1",
        mode="pairwise+rating",
        overlap=2,
        tags=(NEVER, "長すぎる"),
        seed=1,
        max_samples=1,
    )
    campaign = humans.create_campaign(store, "loopy", run.id, spec)
    for person in (tanaka, sato):
        for k in range(3):
            complain(store, campaign, person.id, person.name, f"k{k}")
    return LoopEnv(root, ws, run, campaign, {"tanaka": tanaka.id, "sato": sato.id})


def complain(store: Any, campaign: Campaign, person_id: int, name: str, key: str) -> None:
    """tanaka: never-say tag + marked phrase on bot's side; sato: a comment on alt's side."""
    a = humans.next_assignment(store, campaign, person_id)
    assert a is not None
    view = humans.item_view(store, a)
    assert view.left is not None and view.right is not None
    bot = "left" if PHRASE in view.left.text else "right"
    alt = "right" if bot == "left" else "left"
    if name == "tanaka":
        data = JudgmentInput(
            key, alt, highlight=PHRASE, highlight_side=bot, **{f"tags_{bot}": [NEVER]}
        )  # type: ignore[arg-type]
    else:
        data = JudgmentInput(
            key,
            bot,
            comment=COMMENT,
            rating_left=4 if bot == "left" else 2,
            rating_right=4 if bot == "right" else 2,
        )
    humans.submit_judgment(store, campaign, a.public_id, person_id, data, view.sides)


# -- the report in a real browser ---------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@dataclass
class BrowserView:
    requests: list[str]
    section_ids: list[str]
    text: str
    svg_count: int
    screenshot: Path
    render_ms: float


def need_chromium() -> None:
    """Skip without Chromium/Playwright locally; fail in CI, where a skip would hide a gap."""
    import os

    import pytest

    problem = None
    if not CHROMIUM.exists():
        problem = "no /usr/bin/chromium (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "playwright is not installed (pip install playwright; never playwright install)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


def open_report(path: Path, screenshot_name: str) -> BrowserView:
    """Open ``path`` in headless Chromium, record every request, keep a full-page screenshot."""
    import time

    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / screenshot_name
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            started = time.perf_counter()
            page.goto(path.resolve().as_uri(), wait_until="load")
            render_ms = (time.perf_counter() - started) * 1000
            ids = page.eval_on_selector_all("section[id]", "els => els.map(e => e.id)")
            text = page.inner_text("body")
            svgs = page.eval_on_selector_all("svg", "els => els.length")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    return BrowserView(requests, list(ids), text, int(svgs), shot, render_ms)
