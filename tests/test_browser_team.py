"""The team's workbench in a real browser (Debian's Chromium via Playwright) against a real
server, on a phone (390×844) and a desktop (1280×800), in Japanese and English: open a run,
filter to a failing check, open a case, see all its samples and the diff; the keyboard
shortcuts; outputs with <script>, <img onerror>, RTL and zero-width characters stay inert;
and the annotator's judging screen (with the judging-screen fixes) names no variant.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from humans_env import ServerThread
from team_env import VARIANTS, TeamEnv, build_team
from test_browser_judging import ARTIFACTS, Watch, chromium  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
WORDS = {
    "ja": {"filtered": "ケース中", "all": "全 3 サンプル"},
    "en": {"filtered": "cases", "all": "All 3 samples"},
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TeamEnv, ServerThread]]:
    root = tmp_path_factory.mktemp("team")
    # Playwright's sync API keeps an event loop on this thread: the run is made on another.
    with ThreadPoolExecutor(1) as pool:
        e = pool.submit(build_team, root / "p", f"sqlite:///{root / 'store.db'}").result()
    try:
        with ServerThread(e.app) as server:
            yield e, server
    finally:
        e.ws.close()


def _context(chromium: Any, size: str, lang: str) -> Any:  # noqa: F811
    return chromium.new_context(
        locale="ja-JP" if lang == "ja" else "en-US",
        viewport=SIZES[size],
        is_mobile=size == "phone",
        has_touch=size == "phone",
    )


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, width


def _assert_inert(page: Any, watch: Watch, img: bool = True) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert watch.dialogs == []
    assert page.locator("main img").count() == 0
    text = page.locator("main").inner_text()
    assert "<script>" in text and (not img or "<img" in text)
    assert "\u202e" not in text and (not img or "⟦U+202E⟧" in text)


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_open_a_run_filter_open_a_case_see_samples_and_diff(
    chromium: Any,  # noqa: F811
    served: tuple[TeamEnv, ServerThread],
    size: str,
    lang: str,
) -> None:
    e, server = served
    context = _context(chromium, size, lang)
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{server.url}/signin/{e.editor_token}")
    page.click("#nav-team")
    page.wait_for_selector("table.runs")
    shot = f"team-{size}-{lang}"
    page.screenshot(path=str(ARTIFACTS / f"{shot}-runs.png"), full_page=True)
    page.click(f'a[href="/team/runs/{e.run_uid}"]')
    page.wait_for_selector("html[data-team-ready=yes]")
    page.wait_for_selector("#summary[data-loaded=yes]")
    assert page.locator(".summary-table tbody tr").count() == 3
    assert page.locator("#summary-verdicts li a").count() >= 1
    _assert_inert(page, watch)
    _no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / f"{shot}-run.png"), full_page=False)

    # filter to the failing check `contains` (zzscript-secret never says 回答)
    page.select_option("#f-check", "contains")
    page.click("#f-apply")
    page.wait_for_selector("#grid-count")
    assert WORDS[lang]["filtered"] in page.inner_text("#grid-count")
    assert page.locator("article.case").count() == 8
    assert page.locator(".sc.fail .sc-name", has_text="contains").count() >= 1
    # keyboard: j → first case, n → next failing, then "all samples" of a cell on demand
    page.keyboard.press("j")
    page.wait_for_selector("#case-1.current")
    page.keyboard.press("n")
    page.wait_for_selector("#case-2.current")
    box = page.locator("#case-2 details.all-samples").first
    box.locator("summary").click()
    page.wait_for_selector("#case-2 details.all-samples[data-loaded=yes]")
    assert box.locator(".sample").count() == 3
    _assert_inert(page, watch)
    _no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / f"{shot}-filtered.png"), full_page=False)

    # open the case: all samples of every variant, and the diff (key d)
    page.keyboard.press("o")
    page.wait_for_selector(".case-cells")
    assert page.locator(".sample").count() == 9
    assert WORDS[lang]["all"] in page.inner_text("main")
    page.keyboard.press("d")
    page.wait_for_selector(".case-cells.diff-on")
    assert page.locator(".diff-view ins").first.is_visible()
    _assert_inert(page, watch)
    _no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / f"{shot}-case.png"), full_page=True)

    # compare: the verdict at the top; a line opens the cases driving it
    page.goto(f"{server.url}/team/runs/{e.run_uid}/compare?a={VARIANTS[0]}&b={VARIANTS[1]}")
    page.wait_for_selector(".verdict-lines a")
    page.locator(".verdict-lines a").first.click()
    page.wait_for_selector(".why")
    assert page.locator(".diff-view del").count() >= 1
    _assert_inert(page, watch, img=False)  # A and B: the <img> variant is not shown
    _no_sideways_scroll(page)
    page.screenshot(path=str(ARTIFACTS / f"{shot}-compare.png"), full_page=False)
    context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_annotator_judging_screen_is_blind_and_fits(
    chromium: Any,  # noqa: F811
    served: tuple[TeamEnv, ServerThread],
    size: str,
) -> None:
    e, server = served
    context = _context(chromium, size, "ja")
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{server.url}/signin/{e.annotator_token}")
    assert page.locator("#nav-team").count() == 0
    assert page.locator("h1").inner_text() == "キャンペーン一覧"
    page.goto(f"{server.url}/team")
    assert "チーム" in page.inner_text("main")  # 403: for the team only
    page.goto(f"{server.url}/c/{e.campaign.id}")
    page.wait_for_selector("#judge-form")
    body = page.content()
    assert not any(v in body for v in VARIANTS)
    assert page.evaluate("typeof window.__pwned") == "undefined" and watch.dialogs == []
    # the verdict buttons are in view without scrolling (sticky at the bottom)
    button = page.locator('button[data-key="4"]')
    box = button.bounding_box()
    assert box is not None and box["y"] + box["height"] <= SIZES[size]["height"]
    # 「どちらも悪い」 on one line
    assert box["height"] < 60, box
    # the header on one line: サインアウト level with the brand
    brand = page.locator(".brand").bounding_box()
    signout = page.locator(".bar form.inline button").bounding_box()
    assert brand is not None and signout is not None
    assert abs(signout["y"] - brand["y"]) < 16, (brand, signout)
    placeholder = page.get_attribute("#highlight", "placeholder") or ""
    if size == "phone":
        assert "H" not in placeholder
    page.screenshot(path=str(ARTIFACTS / f"team-judging-{size}.png"), full_page=False)
    _no_sideways_scroll(page)
    context.close()


def test_admin_header_and_dashboard_links(
    chromium: Any,  # noqa: F811
    served: tuple[TeamEnv, ServerThread],
) -> None:
    e, server = served
    for size in ("phone", "desktop"):
        context = _context(chromium, size, "ja")
        page = context.new_page()
        page.goto(f"{server.url}/signin/{e.admin_token}")
        page.goto(f"{server.url}/admin")
        assert page.locator("#to-feedback").count() == 1
        assert "キャンペーン" in page.inner_text("main h2")
        brand = page.locator(".brand").bounding_box()
        signout = page.locator(".bar form.inline button").bounding_box()
        assert brand is not None and signout is not None
        assert abs(signout["y"] - brand["y"]) < 16, (size, brand, signout)
        page.screenshot(path=str(ARTIFACTS / f"team-admin-{size}.png"), full_page=False)
        context.close()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_report_shows_example_outputs_and_fits_a_phone(
    chromium: Any,  # noqa: F811
    served: tuple[TeamEnv, ServerThread],
    lang: str,
) -> None:
    e, _server = served
    page_html = e.ws.reports.build(run=e.run_uid, lang=lang, baseline=VARIANTS[0])
    assert 'id="examples"' in page_html
    assert "<script>window.__pwned" not in page_html
    for size in ("phone", "desktop"):
        context = _context(chromium, size, lang)
        page = context.new_page()
        watch = Watch(page)
        page.set_content(page_html)
        assert page.locator("details.examples .example").count() >= 1
        text = page.inner_text("#forest")
        assert "<script>" in text  # zzscript-secret's output, shown as text
        assert page.evaluate("typeof window.__pwned") == "undefined" and watch.dialogs == []
        _no_sideways_scroll(page)
        page.locator("#examples").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"report-{size}-{lang}.png"), full_page=False)
        context.close()


@pytest.mark.parametrize(
    ("size", "lang", "name"), [("desktop", "ja", "zzpg-desk"), ("phone", "en", "zzpg-phone")]
)
def test_playground_edit_try_save_run_campaign_then_judged_blind(
    chromium: Any,  # noqa: F811
    served: tuple[TeamEnv, ServerThread],
    size: str,
    lang: str,
    name: str,
) -> None:
    e, server = served
    context = _context(chromium, size, lang)
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{server.url}/signin/{e.editor_token}")
    page.goto(f"{server.url}/team")
    page.click("#to-playground")
    page.wait_for_selector("#pg-form")
    page.fill("#pg-prompt", "質問: {{ question }}")
    page.fill("#pg-params", f"reply: '<b>{size}</b> 新しい回答です: {{last}}'")
    page.click("#pg-try")
    page.wait_for_selector("#pg-results[data-done=yes]")
    outputs = page.locator("#pg-results .out").all_inner_texts()
    assert len(outputs) == 3 and all(f"<b>{size}</b> 新しい回答です: 質問:" in o for o in outputs)
    assert page.locator("#pg-results b").count() == 0
    page.screenshot(path=str(ARTIFACTS / f"team-playground-{size}-{lang}.png"), full_page=True)
    # a template error is shown in place of the output, never a blank
    page.fill("#pg-prompt", "{{ question.nosuch.deeper }}")
    page.click("#pg-try")
    page.wait_for_selector("#pg-results[data-done=yes]")
    assert page.locator("#pg-results .err").count() >= 1
    assert page.locator("#pg-results .err").first.inner_text().strip() != ""
    page.fill("#pg-prompt", "質問: {{ question }}")
    page.fill("#pg-name", name)
    page.click("#pg-save")
    page.wait_for_selector("#pg-saved")
    saved = (e.root / "hyouka.yaml").read_text(encoding="utf-8")
    assert f"  {name}:" in saved and "saved from the playground by henshu" in saved
    page.click("#pg-run")
    page.wait_for_selector("#job[data-status=finished]", timeout=60_000)
    page.click("#job-campaign")
    page.wait_for_selector("#job-opened")
    page.screenshot(path=str(ARTIFACTS / f"team-playground-job-{size}-{lang}.png"), full_page=True)
    context.close()

    # the annotator judges the new variant's output, without its name
    context = _context(chromium, size, lang)
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{server.url}/signin/{e.annotator_token}")
    page.locator("a.card", has_text="playground").last.click()
    page.wait_for_selector("#judge-form")
    texts = " ".join(page.locator(".output-text").all_inner_texts())
    assert f"<b>{size}</b> 新しい回答です" in texts  # the new variant is one of the two sides
    body = page.content()
    assert name not in body and not any(v in body for v in VARIANTS)
    assert page.locator(".output-text b").count() == 0
    assert watch.dialogs == []
    page.screenshot(
        path=str(ARTIFACTS / f"team-playground-judged-{size}-{lang}.png"), full_page=False
    )
    context.close()
