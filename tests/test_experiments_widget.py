"""The feedback widget in real Chromium, on an app page served from another origin (two
loopback ports): 👍 in English, 👎 with どこが悪いか, a quick tag and "never say this" on a
selected phrase in Japanese, by keyboard and by touch on a phone-sized screen; an XSS
payload in the output and in a quick tag stays inert; the page never learns the variant; an
origin the key does not list cannot post."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from experiments_env import Live, build_live
from humans_env import ServerThread, free_port
from sqlalchemy import select
from test_browser_judging import CHROMIUM, Watch, chromium  # noqa: F401

from hyouka.client import Client
from hyouka.store.schema import judgments

pytestmark = [pytest.mark.browser, pytest.mark.slow]

XSS_OUTPUT = '<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2</script>'
XSS_TAG = '<img src=x onerror="window.__pwned=3">'


class HostPage:
    """The team's own app page: another origin, including hyouka's widget script."""

    def __init__(self, hyouka_url: str, key: str, lang: str, outputs: dict[str, str]) -> None:
        self.port = free_port()
        items = "".join(
            f'<div class="answer" data-hyouka-output="{html.escape(ref)}">{html.escape(text)}</div>'
            for ref, text in outputs.items()
        )
        page = (
            f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<script src="{hyouka_url}/widget.js" data-key="{key}" data-lang="{lang}" defer>'
            f"</script></head><body><h1>operator console</h1>{items}</body></html>"
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> HostPage:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Live, ServerThread, int]]:
    host_port = free_port()
    # Playwright's sync API keeps an event loop on this thread: the run goes on another
    with ThreadPoolExecutor(1) as pool:
        live = pool.submit(
            build_live,
            tmp_path / "p",
            f"sqlite:///{tmp_path / 'store.db'}",
            origin=f"http://127.0.0.1:{host_port}",
            tags=["長すぎる", "事実と違う", XSS_TAG],
        ).result()
    try:
        with ServerThread(live.app) as server:
            client = Client(server.url, live.api_key, start=False)
            assert client.refresh()
            for i in range(4):
                client.assign("tone", f"op{i}")
                client.output("tone", f"op{i}", f"out-{i}")
            assert client.flush(10)
            client.close()
            yield live, server, host_port
    finally:
        live.close()


def _rows(live: Live) -> list[dict[str, Any]]:
    with live.ws.store.engine.connect() as conn:
        q = select(judgments).where(judgments.c.project == live.project).order_by(judgments.c.id)
        return [dict(r._mapping) for r in conn.execute(q)]


def _page(browser: Any, locale: str, **options: Any) -> tuple[Any, Any, Watch, list[str]]:
    context = browser.new_context(locale=locale, **options)
    page = context.new_page()
    bodies: list[str] = []

    def seen(response: Any) -> None:
        if "/api/widget/" in response.url and response.request.method != "OPTIONS":
            bodies.append(response.text())

    page.on("response", seen)
    return context, page, Watch(page), bodies


def _inert(page: Any, watch: Watch) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert watch.dialogs == []
    assert page.locator("img").count() == 0


def test_widget_english_thumbs_up_and_keyboard(chromium: Any, setup: Any) -> None:  # noqa: F811
    live, server, host_port = setup
    outputs = {"out-0": "Here is your draft. " + XSS_OUTPUT, "out-1": "Second draft."}
    with _serve_page_at(host_port, server.url, live.widget_key, "en", outputs) as page_server:
        context, page, watch, bodies = _page(
            chromium, "en-US", viewport={"width": 1000, "height": 800}
        )
        page.goto(page_server.url)
        page.wait_for_selector(".hyouka-widget .hyouka-up")
        assert page.locator(".hyouka-widget").count() == 2
        up = page.locator(".hyouka-up").first
        assert up.get_attribute("aria-label") == "Good answer"
        up.click()
        page.wait_for_function(
            "document.querySelector('.hyouka-status').textContent.includes('Thank you')"
        )
        # keyboard: 👎 of the second output; Enter opens, Escape closes, Enter, type, send
        down = page.locator(".hyouka-down").nth(1)
        down.focus()
        page.keyboard.press("Enter")
        page.wait_for_selector(".hyouka-panel textarea")
        assert page.evaluate("document.activeElement.className") == "hyouka-comment"
        page.keyboard.press("Escape")
        assert page.locator(".hyouka-panel").count() == 0
        page.keyboard.press("Enter")  # focus went back to 👎
        page.wait_for_selector(".hyouka-panel textarea")
        page.keyboard.type("The tone is too formal")
        page.locator(".hyouka-send").focus()
        page.keyboard.press("Space")
        page.wait_for_function(
            "document.querySelectorAll('.hyouka-status')[1].textContent.includes('Thank you')"
        )
        _inert(page, watch)
        context.close()
    rows = _rows(live)
    assert [r["thumb"] for r in rows] == [1, -1]
    assert rows[0]["external_ref"] == "out-0" and XSS_OUTPUT in rows[0]["output_text"]
    assert rows[1]["comment"] == "The tone is too formal"
    assert all(r["variant_id"] is not None for r in rows)  # linked server-side by the output id
    joined = " ".join(bodies)
    assert "polite" not in joined and "concise" not in joined  # no variant identity on the page


def _serve_page_at(
    port: int, hyouka: str, key: str, lang: str, outputs: dict[str, str]
) -> HostPage:
    host = HostPage(hyouka, key, lang, outputs)
    host.server.server_close()
    host.port = port
    host.server = ThreadingHTTPServer(("127.0.0.1", port), host.server.RequestHandlerClass)
    host.thread = threading.Thread(target=host.server.serve_forever, daemon=True)
    return host


def test_widget_japanese_on_a_phone_with_tag_and_never_say(chromium: Any, setup: Any) -> None:  # noqa: F811
    live, server, host_port = setup
    outputs = {
        "out-2": "お問い合わせありがとうございます。担当者が折り返しご連絡いたします。" + XSS_OUTPUT
    }
    with _serve_page_at(host_port, server.url, live.widget_key, "ja", outputs) as host:
        context, page, watch, _bodies = _page(
            chromium,
            "ja-JP",
            viewport={"width": 390, "height": 844},
            has_touch=True,
            is_mobile=True,
        )
        page.goto(host.url)
        page.wait_for_selector(".hyouka-down")
        down = page.locator(".hyouka-down")
        assert down.get_attribute("aria-label") == "よくない点がある"
        box = down.bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44
        down.tap()
        page.wait_for_selector(".hyouka-panel")
        assert "どこが悪いか" in page.locator(".hyouka-panel label").inner_text()
        tags = page.locator(".hyouka-tag")
        assert tags.count() == 3
        assert tags.nth(2).inner_text() == XSS_TAG  # a payload in a tag is only text
        tags.first.tap()
        assert tags.first.get_attribute("aria-pressed") == "true"
        page.locator(".hyouka-comment").fill("折り返しの約束はできません")
        page.evaluate(
            """() => {
              const node = document.querySelector('.answer').firstChild;
              const start = node.textContent.indexOf('折り返しご連絡いたします');
              const range = document.createRange();
              range.setStart(node, start); range.setEnd(node, start + 12);
              const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
            }"""
        )
        page.locator(".hyouka-never").tap()
        assert "「折り返しご連絡いたします」" in page.locator(".hyouka-phrase").inner_text()
        page.locator(".hyouka-send").tap()
        page.wait_for_function(
            "document.querySelector('.hyouka-status').textContent.includes('ありがとう')"
        )
        _inert(page, watch)
        context.close()
    row = _rows(live)[-1]
    assert row["thumb"] == -1 and row["comment"] == "折り返しの約束はできません"
    tags = [t["tag"] for t in row["tags"]]
    assert tags == ["長すぎる", "never say this"]
    assert row["highlight"] == "折り返しご連絡いたします"
    # it reaches `hyouka feedback` as a phrase complaint
    assert any(g.kind == "phrase" for g in live.ws.feedback.pending())


def test_widget_from_an_origin_the_key_does_not_list(chromium: Any, setup: Any) -> None:  # noqa: F811
    live, server, _host_port = setup
    with HostPage(server.url, live.widget_key, "en", {"out-3": "draft"}) as host:  # another port
        context, page, _watch, _bodies = _page(chromium, "en-US")
        page.goto(host.url)
        page.wait_for_selector(".hyouka-up")
        page.locator(".hyouka-up").click()
        page.wait_for_function(
            "document.querySelector('.hyouka-status').textContent.includes('Could not')"
        )
        context.close()
    assert _rows(live) == []
