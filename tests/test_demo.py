"""`hyouka demo` end to end on the embedded local model (reduced size)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

needs_local = pytest.mark.skipif(
    importlib.util.find_spec("xllamacpp") is None and not os.environ.get("CI"),
    reason="xllamacpp is not installed (pip install 'hyouka[local]')",
)


@needs_local
@pytest.mark.slow
def test_demo_quick_runs_the_whole_loop_offline(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    env = {**os.environ, "COLUMNS": "200", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "hyouka", "demo", str(folder), "--quick"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    # Both projects ran, with their variants, checks and next steps in the summary.
    for text in (
        "support-en",
        "rag-ja",
        "polite",
        "concise",
        "steps",
        "extractive",
        "checks: pass rate",
        "hit-at-k",
        "char-f1",
        "hyouka show -p",
        "The demo took",
        "hyouka compare",
        "hyouka serve -p",
        "/signin/",
        "report.html",
    ):
        assert text in out, f"{text!r} missing from the demo summary:\n{out[-4000:]}"
    assert "failed checks" in out  # the 135M model fails some checks, and the demo says why
    # One line per project at the top of the results says which variant came out best.
    found = out.split("what the demo found", 1)[1]
    for project in ("support-en", "rag-ja"):
        assert re.search(rf"\n\s+• {project}: (best: \S+ — |no clear best — )", found), found[:800]
    # Every verdict line names the two variants it compares (both projects are compared).
    names = {"support-en": ("polite", "concise", "steps"),
             "rag-ja": ("extractive", "llm-top3-concise", "llm-top5-detailed")}  # fmt: skip
    ends = {"support-en": "rag-ja: results", "rag-ja": "let people judge"}
    for project, variants in names.items():
        section = out.split(f"{project}: results", 1)[1].split(ends[project], 1)[0]
        lines = re.findall(r"^  • (.+)$", section, flags=re.MULTILINE)
        assert lines, f"no verdicts for {project}"
        for line in lines:
            assert sum(1 for v in variants if re.search(rf"\b{re.escape(v)}\b", line)) == 2, line
    # The comparison speaks in sentences with intervals, whatever it concludes (their level is
    # Holm-adjusted across the checks and pairs compared: 95% or wider).
    levels = [float(x) for x in re.findall(r"\((\d+(?:\.\d+)?)% CI ", out)]
    assert levels and all(95 <= level < 100 for level in levels), levels
    report = (folder / "support-en" / "report.html").read_text(encoding="utf-8")
    assert report.lower().startswith("<!doctype html>") and "<svg" in report
    assert 'src="http' not in report and 'href="http' not in report  # opens offline
    # Real generated text is stored: outputs are non-empty and differ across samples.
    from hyouka.api import Workspace

    ws = Workspace.open(folder / "support-en")
    _, summaries = ws.show()
    assert [s.name for s in summaries] == ["polite", "concise", "steps"]
    assert all(s.samples == 12 and s.errors == 0 and s.output_tokens > 0 for s in summaries)
    rows = list(
        __import__("hyouka.export", fromlist=["iter_rows"]).iter_rows(ws.store, ws.get_run())
    )
    outputs = [r["output"] for r in rows]
    assert all(o and o.strip() for o in outputs)
    by_case: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        by_case.setdefault((r["variant"], r["case_id"]), set()).add(r["output"])
    assert any(len(v) > 1 for v in by_case.values()), "repeated samples should differ"
    rag = Workspace.open(folder / "rag-ja")
    _, rag_summaries = rag.show()
    extractive = next(s for s in rag_summaries if s.name == "extractive")
    assert extractive.checks[("hit-at-k", "hit-at-k")].n == 6
