"""The HTML report: every section from real data, self-contained, escaped, in ja and en, and
rendered by headless Chromium without a single request beyond the file."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hyouka import humans
from hyouka.api import Workspace
from hyouka.humans import CampaignSpec, Feedback, JudgmentInput
from hyouka.report import build_report
from hyouka.report.i18n import EN, JA
from hyouka.testing import FakeServer
from tests.conftest import write_project
from tests.loop_env import need_chromium, open_report

RANK = {"good": 3, "meh": 2, "bad": 1}
SCORE_PY = """\
BONUS = {"[good]": 0.3, "[meh]": 0.15, "[bad]": 0.0}
def quality(output, ctx):
    seed = int(output.rsplit("#", 1)[1])
    bonus = next(v for k, v in BONUS.items() if k in output)
    return min(1.0, (seed * len(output)) % 97 / 140 + bonus)
"""


def _quality(text: str) -> int:
    return next(v for k, v in RANK.items() if f"[{k}]" in text)


def _pairwise_judge(body: dict[str, Any]) -> str:
    prompt = str(body["messages"][-1]["content"])

    def answer(tag: str) -> str:
        head = f"[The start of assistant {tag}'s answer]\n"
        return prompt.split(head, 1)[1].split(f"\n[The end of assistant {tag}", 1)[0]

    a, b = _quality(answer("A")), _quality(answer("B"))
    return "[[A]]" if a > b else "[[B]]" if b > a else "[[C]]"


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """Three variants × 12 cases × 3 samples; a measured check with a spread; an LLM judge
    comparing with the baseline; three people voting and rating with overlap."""
    root = tmp_path_factory.mktemp("rich")
    with FakeServer(responder=_pairwise_judge) as srv:
        cfg = {
            "name": "rich",
            "samples": 3,
            "seed": 3,
            "providers": {
                "fake": {"type": "echo"},
                "gpt": {"type": "openai", "base_url": srv.base_url, "model": "j"},
            },
            "variants": {
                k: {
                    "provider": "fake",
                    "prompt": "{{ q }}",
                    "params": {"reply": f"[{k}] {{last}} #{{seed}}"},
                }
                for k in RANK
            },
            "checks": [
                {"type": "python", "value": "score:quality", "metric": "quality"},
                {"type": "contains", "value": "good", "metric": "says-good"},
                {"type": "judge-pairwise", "judge": "gpt", "baseline": "good", "lang": "en"},
            ],
        }
        write_project(
            root, cfg, [{"id": f"c{i:02d}", "vars": {"q": f"質問 {i}"}} for i in range(12)]
        )
        (root / "score.py").write_text(SCORE_PY, encoding="utf-8")
        ws = Workspace.open(root)
        run = ws.run().run
    _votes(ws, run.id)
    yield ws
    ws.close()


def _votes(ws: Workspace, run_id: int) -> None:
    store = ws.store
    people = [
        humans.add_annotator(store, "rich", f"p{i}", "ops" if i < 2 else "dev")[0] for i in range(3)
    ]
    spec = CampaignSpec(
        name="r1", mode="pairwise+rating", overlap=3, tags=("長すぎる",), seed=1, max_samples=1
    )
    campaign = humans.create_campaign(store, "rich", run_id, spec)
    rng = random.Random(0)
    for person in people:
        for k in range(36):
            a = humans.next_assignment(store, campaign, person.id)
            if a is None:
                break
            view = humans.item_view(store, a)
            assert view.right is not None
            ql, qr = _quality(view.left.text), _quality(view.right.text)
            verdict = "tie" if rng.random() < 0.2 else ("left" if ql > qr else "right")
            data = JudgmentInput(
                f"k{k}",
                verdict,
                rating_left=min(5, ql + 1 + rng.randint(0, 1)),
                rating_right=min(5, qr + 1 + rng.randint(0, 1)),
            )
            humans.submit_judgment(store, campaign, a.public_id, person.id, data, view.sides)


SECTIONS = [
    "summary",
    "variants",
    "forest",
    "gacha",
    "ranking",
    "agreement",
    "judges",
    "complaints",
    "speed",
    "experiments",
]


def _section(page: str, sid: str) -> str:
    found = re.search(rf'<section id="{sid}">(.*?)</section>', page, re.S)
    assert found, sid
    return found.group(1)


def test_every_section_is_computed_from_the_runs_data(rich: Workspace) -> None:
    started = time.perf_counter()
    page = build_report(rich.store, "rich", lang="en", baseline="good")
    elapsed = time.perf_counter() - started
    print(f"\nreport: {len(page.encode()) / 1024:.0f} KiB built in {elapsed:.2f} s")
    assert re.findall(r'<section id="(\w+)">', page) == SECTIONS
    assert "Baseline: good" in page
    forest = _section(page, "forest")
    assert forest.count("<svg") == 1 and forest.count("significant</span>") == 4
    assert "bad@" in forest and "says-good" in forest and "-1.000" in forest
    gacha = _section(page, "gacha")
    assert "on quality (the 12 cases of 12" in gacha and gacha.count("<circle") >= 3 * 12 * 3
    ranking = _section(page, "ranking")
    assert "<h3>human</h3>" in ranking and "<h3>LLM judge</h3>" in ranking
    ranks = re.findall(r'<td class="num">(\d)</td><td>(\w+)</td>', ranking)
    assert ranks[:3] == [("1", "good"), ("2", "meh"), ("3", "bad")]
    agreement = _section(page, "agreement")
    assert "Krippendorff α" in agreement and "Most disputed" in agreement
    assert "judge-pairwise@gpt" in _section(page, "judges")
    assert "Nothing to show: no complaints yet" in _section(page, "complaints")


def test_the_page_is_one_file_that_fetches_nothing(rich: Workspace) -> None:
    page = build_report(rich.store, "rich")
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace name, never fetched
    assert "<script" not in page and " src=" not in page and "<link" not in page
    assert "default-src 'none'; style-src 'unsafe-inline'; img-src data:" in page


def test_japanese_and_english_reports_say_the_same_things() -> None:
    assert set(EN) == set(JA)
    for key in EN:  # the same placeholders in both languages
        assert set(re.findall(r"{(\w+)", EN[key])) == set(re.findall(r"{(\w+)", JA[key])), key


def test_the_japanese_report_is_in_japanese(rich: Workspace) -> None:
    page = build_report(rich.store, "rich", lang="ja")
    assert '<html lang="ja">' in page
    assert (
        "ガチャ：ケースごとのサンプルのばらつき" in page and "ベースラインとの対応のある差" in page
    )


def test_complaints_and_outputs_are_text_never_markup(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "name": "esc",
            "providers": {"fake": {"type": "echo"}},
            "variants": {"v": {"provider": "fake", "prompt": "{{ q }}"}},
        },
        [{"id": "c1", "vars": {"q": "<b>太字</b>"}}],
    )
    ws = Workspace.open(root)
    ws.run()
    key, _ = humans.add_api_key(ws.store, "esc", "app")
    evil = '<img src=x onerror="alert(1)">やめて'
    humans.record_feedback(
        ws.store, "esc", key.id, Feedback(thumb="down", comment=evil, output_text="x")
    )
    page = build_report(ws.store, "esc")
    assert evil not in page and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;やめて" in page
    assert "<b>太字</b>" not in page
    # One variant, no votes: those sections say why they are empty.
    assert "Nothing to show: the run has one variant: nothing to compare" in page
    assert "Nothing to show: no pairwise votes yet" in page


@pytest.mark.browser
def test_chromium_renders_the_report_offline_and_keeps_a_screenshot(
    rich: Workspace, tmp_path: Path
) -> None:
    need_chromium()
    path = tmp_path / "report.html"
    path.write_text(build_report(rich.store, "rich", baseline="good"), encoding="utf-8")
    view = open_report(path, "report-rich.png")
    print(
        f"\nreport screenshot: {view.screenshot} ({path.stat().st_size} bytes, rendered in "
        f"{view.render_ms:.0f} ms)"
    )
    assert view.requests == [path.resolve().as_uri()]
    assert view.section_ids == SECTIONS
    assert view.svg_count == 5  # variants, forest, gacha, two rankings (no complaint timeline)
    assert "Bradley–Terry ranking from pairwise votes" in view.text
    assert view.screenshot.stat().st_size > 50_000
