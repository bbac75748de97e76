"""The judging screen in a real browser (Debian's Chromium driven by Playwright) against a real
server: sign in by link, vote with the mouse and with keys, rate, complain, mark a phrase,
skip, switch language — while model outputs carrying <script> and <img onerror> stay inert.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from humans_env import Env, ServerThread, build
from sqlalchemy import select

from hyouka.store.schema import judgments

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("HYOUKA_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parents[1] / "test-artifacts"
PAYLOADS = (
    "<script>window.__pwned = 1</script>{last}",
    '<img src=x onerror="window.__pwned = 2; alert(2)">{last}',
)


def _browser_or_skip() -> Any:
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the 'playwright' package is not installed"
    if problem is None and not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        problem = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if problem:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"browser tests need Chromium and Playwright in CI: {problem}")
        pytest.skip(problem)
    return sync_playwright


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    sync_playwright = _browser_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@contextmanager
def _serve(root: Path, **options: Any) -> Iterator[tuple[Env, ServerThread]]:
    # Playwright's sync API keeps an event loop on this thread, so the project's run (which
    # uses asyncio.run) is made on another thread.
    with ThreadPoolExecutor(1) as pool:
        e = pool.submit(build, root / "p", f"sqlite:///{root / 'store.db'}", **options).result()
    try:
        with ServerThread(e.app) as server:
            yield e, server
    finally:
        e.ws.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Env, ServerThread]]:
    with _serve(
        tmp_path, replies=PAYLOADS, overlap=1, tags=("長すぎる", "事実と違う", "never say this")
    ) as pair:
        yield pair


class Watch:
    """Dialogs the page opened (an XSS payload's alert would be one)."""

    def __init__(self, page: Any) -> None:
        self.dialogs: list[str] = []
        page.on("dialog", self._seen)

    def _seen(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def _new_page(chromium: Any, locale: str = "ja-JP", **options: Any) -> tuple[Any, Any, Watch]:
    context = chromium.new_context(locale=locale, **options)
    page = context.new_page()
    return context, page, Watch(page)


def _rows(e: Env) -> list[dict[str, Any]]:
    with e.store.engine.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(
                select(judgments)
                .where(judgments.c.campaign_id == e.campaign.id)
                .order_by(judgments.c.id)
            )
        ]


def _side(row: dict[str, Any], screen: str) -> str:
    left = "a" if row["left_sample_id"] == row["sample_a_id"] else "b"
    return left if screen == "left" else ("b" if left == "a" else "a")


def _assert_inert(page: Any, watch: Watch) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert watch.dialogs == []
    assert page.locator("img").count() == 0
    texts = page.locator(".output-text").all_inner_texts()
    assert any("<script>" in t or "<img" in t for t in texts), texts


def test_sign_in_then_vote_by_mouse_and_by_keys(
    chromium: Any, served: tuple[Env, ServerThread], capsys: pytest.CaptureFixture[str]
) -> None:
    e, server = served
    context, page, watch = _new_page(chromium, viewport={"width": 1100, "height": 900})
    page.goto(f"{server.url}/signin/{e.people[0][1]}")
    assert page.url == f"{server.url}/"
    assert page.locator("h1").inner_text() == "キャンペーン一覧"
    page.click(f'a[href="/c/{e.campaign.id}"]')
    page.wait_for_selector("#judge-form")
    _assert_inert(page, watch)

    shot = ARTIFACTS / "judging-screen.png"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    with capsys.disabled():
        print(f"\nscreenshot of the judging screen: {shot}")

    # -- Enter in the "never say this" box, on a score or on a tag sends nothing: a form's
    #    Enter would otherwise submit its first button, "A is better"
    page.click("#highlight")
    page.keyboard.type("この表現")
    page.keyboard.press("Enter")
    page.click("#out-left .score:has-text('2')")
    page.keyboard.press("Enter")
    page.click("#out-right .chip:has-text('長すぎる')")
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert _rows(e) == [] and page.locator("#judge-form").count() == 1
    page.fill("#highlight", "")
    page.click("#out-right .chip:has-text('長すぎる')")  # untick again

    # -- with the mouse: rate, tag, complain, then "A is better"
    page.click("#out-left .score:has-text('4')")
    page.click("#out-right .chip:has-text('長すぎる')")
    page.fill("#comment", "Bは長すぎる <b>太字</b>")
    with page.expect_navigation():
        page.click("button[value=left]")
    (first,) = _rows(e)
    assert first["winner"] == _side(first, "left")
    assert first[f"rating_{_side(first, 'left')}"] == 4
    assert first["tags"] == [{"tag": "長すぎる", "side": _side(first, "right")}]
    assert first["comment"] == "Bは長すぎる <b>太字</b>"

    # -- with keys: ratings Q..T / A..G, "/" to comment, Esc, mark a phrase with H, "2"
    page.wait_for_selector("#judge-form")
    _assert_inert(page, watch)
    page.keyboard.press("e")  # left = 3
    page.keyboard.press("g")  # right = 5
    page.keyboard.press("/")
    page.keyboard.type("キーボードで入力")
    page.keyboard.press("Escape")
    right_text = page.inner_text("#text-right")
    page.evaluate("""() => {
        const node = document.getElementById('text-right').firstChild;
        const range = document.createRange();
        range.setStart(node, 0); range.setEnd(node, 8);
        const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
    }""")
    page.keyboard.press("h")
    assert page.input_value("#highlight") == right_text[:8]
    assert page.input_value("#highlight_side") == "right"
    with page.expect_navigation():
        page.keyboard.press("2")
    _, second = _rows(e)
    assert second["winner"] == _side(second, "right")
    assert second[f"rating_{_side(second, 'left')}"] == 3
    assert second[f"rating_{_side(second, 'right')}"] == 5
    assert second["comment"] == "キーボードで入力"
    assert second["highlight"] == right_text[:8]
    assert second["highlight_side"] == _side(second, "right")

    # -- a key pressed twice before the page changes sends one judgment; 0 skips
    with page.expect_navigation():
        page.evaluate("""() => {
            for (let i = 0; i < 2; i++) {
                document.dispatchEvent(new KeyboardEvent('keydown', {key: '3', bubbles: true}));
            }
        }""")
    assert [r["winner"] for r in _rows(e)][2:] == ["tie"]
    skipped_text = page.inner_text("#text-left")
    with page.expect_navigation():
        page.keyboard.press("0")
    assert len(_rows(e)) == 3
    assert page.locator("#judge-form").count() == 0 or page.inner_text("#text-left") != (
        skipped_text
    )
    assert watch.dialogs == []
    context.close()


def test_language_switch_and_phone_layout(chromium: Any, served: tuple[Env, ServerThread]) -> None:
    e, server = served
    context, page, watch = _new_page(
        chromium, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page.goto(f"{server.url}/signin/{e.people[1][1]}")
    page.goto(f"{server.url}/c/{e.campaign.id}")
    assert page.inner_text("button[value=left]").startswith("Aが良い")
    page.click("#lang-en")
    page.wait_for_selector("button[value=left]")
    assert page.inner_text("button[value=left]").startswith("A is better")
    assert page.get_attribute("html", "lang") == "en"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    boxes = [page.locator(f"#out-{s}").bounding_box() for s in ("left", "right")]
    assert boxes[0]["y"] < boxes[1]["y"]  # stacked on a phone
    with page.expect_navigation():
        page.tap("button[value=both_bad]")
    assert [r["winner"] for r in _rows(e)] == ["both_bad"]
    page.click("#lang-ja")
    assert page.inner_text("button[value=left]").startswith("Aが良い")
    _assert_inert(page, watch)
    context.close()


def test_complaints_with_markup_stay_inert_on_the_dashboard(
    chromium: Any, served: tuple[Env, ServerThread]
) -> None:
    e, server = served
    context, page, watch = _new_page(chromium)
    page.goto(f"{server.url}/signin/{e.people[2][1]}")
    page.goto(f"{server.url}/c/{e.campaign.id}")
    page.fill("#comment", '<img src=x onerror="window.__pwned=3">')
    page.fill("#highlight", "<script>window.__pwned=4</script>")
    with page.expect_navigation():
        page.click("button[value=tie]")
    admin_context, admin, admin_watch = _new_page(chromium, locale="en-US")
    admin.goto(f"{server.url}/signin/{e.admin_token}")
    admin.goto(f"{server.url}/admin/campaigns/{e.campaign.id}")
    complaints = admin.inner_text("#complaints")
    assert '<img src=x onerror="window.__pwned=3">' in complaints
    assert admin.evaluate("typeof window.__pwned") == "undefined"
    assert admin.locator("img").count() == 0 and admin_watch.dialogs == []
    assert watch.dialogs == []
    admin_context.close()
    context.close()


def test_rating_only_screen_by_keys(chromium: Any, tmp_path: Path) -> None:
    with _serve(tmp_path, mode="rating", overlap=1) as (e, server):
        context, page, watch = _new_page(chromium)
        page.goto(f"{server.url}/signin/{e.people[0][1]}")
        page.goto(f"{server.url}/c/{e.campaign.id}")
        assert page.locator(".output").count() == 1
        page.keyboard.press("Enter")  # no rating yet: the browser holds the form back
        page.wait_for_timeout(300)
        assert _rows(e) == [] and page.locator("#judge-form").count() == 1
        assert page.evaluate(
            "document.querySelector('input[name=rating_left]').validity.valueMissing"
        )
        page.keyboard.press("4")
        assert page.is_checked("input[name=rating_left][value='4']")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        (row,) = _rows(e)
        assert (row["rating_a"], row["winner"]) == (4, None)
        assert watch.dialogs == []
        context.close()


def test_a_vote_against_ones_own_ratings_is_held_once(
    chromium: Any, served: tuple[Env, ServerThread]
) -> None:
    e, server = served
    context, page, watch = _new_page(chromium, locale="en-US")
    page.goto(f"{server.url}/signin/{e.people[0][1]}")
    page.goto(f"{server.url}/c/{e.campaign.id}")
    page.wait_for_selector("#judge-form")
    assert page.is_hidden("#vote-note")
    page.keyboard.press("w")  # A = 2
    page.keyboard.press("g")  # B = 5
    page.keyboard.press("1")  # "A is better": against the ratings
    page.wait_for_timeout(300)
    assert _rows(e) == [] and page.is_visible("#vote-note")
    assert "ratings put the other answer higher" in page.inner_text("#vote-note")
    with page.expect_navigation():
        page.keyboard.press("1")  # the same verdict again: sent as it is
    (row,) = _rows(e)
    assert row["winner"] == _side(row, "left")
    assert (row[f"rating_{_side(row, 'left')}"], row[f"rating_{_side(row, 'right')}"]) == (2, 5)
    # Ratings that agree with the vote send it at once.
    page.wait_for_selector("#judge-form")
    page.keyboard.press("t")  # A = 5
    page.keyboard.press("a")  # B = 1
    with page.expect_navigation():
        page.keyboard.press("1")
    assert len(_rows(e)) == 2 and watch.dialogs == []
    context.close()
