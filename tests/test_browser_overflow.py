"""Issue 12, 9d: a long unbroken input, output, tag or campaign name wraps inside the judging
card at phone and desktop widths; nothing scrolls sideways. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_browser_judging import ARTIFACTS, _serve, chromium  # noqa: F401

# ruff: noqa: F811  (the chromium fixture is a test argument)

LONG_INPUT = "x" * 3000 + " https://example.com/" + "a/" * 400
LONG_TAG = "t" * 100  # the longest a quick tag may be
WIDTHS = {"phone": 390, "desktop": 1280}

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 1) wide.push(`${el.tagName}.${el.className}#${el.id}`);
  }
  return {width, scroll: document.documentElement.scrollWidth, wide: wide.slice(0, 5)};
}"""


@pytest.mark.parametrize("screen", list(WIDTHS))
def test_long_unbroken_text_stays_inside_the_judging_card(
    chromium: Any, tmp_path: Path, screen: str
) -> None:
    with _serve(
        tmp_path,
        questions=(LONG_INPUT,),
        replies=["y" * 2500 + "{last}", "z" * 2000],
        tags=(LONG_TAG, "長すぎる"),
        people=1,
    ) as (env, server):
        page = chromium.new_page(viewport={"width": WIDTHS[screen], "height": 900})
        page.goto(f"{server.url}/signin/{env.people[0][1]}")
        page.goto(f"{server.url}/c/{env.campaign.id}")
        assert page.locator("#text-left").count() == 1
        found = page.evaluate(OVERFLOW)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"judge-long-input-{screen}.png"))
        page.close()
    assert found["scroll"] == found["width"] and found["wide"] == [], found
