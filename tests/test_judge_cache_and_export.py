"""Issue 17, defects 9 and 10: every sample gets its own judge call by default (text-level
reuse is the explicit ``cache: text``), and the export carries every judge repeat and their
mean, which is what ``hyouka compare`` averages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hyouka.testing import FakeServer
from tests.test_scorers_judges import _scores, _workspace

SAME_TEXT = {  # two variants whose outputs are identical text
    "left": {"provider": "echo", "prompt": "{{ q }}"},
    "right": {"provider": "echo", "prompt": "{{ q }}"},
}


def _count_judge(body: dict[str, Any]) -> str:
    return str(3 + body["seed"] % 3)


def test_identical_outputs_of_two_variants_get_their_own_judge_calls(tmp_path: Path) -> None:
    check = {"type": "judge-rubric", "judge": "gpt"}
    with FakeServer(responder=_count_judge) as srv:
        ws = _workspace(tmp_path, srv.base_url, [check], variants=SAME_TEXT)
        result = ws.run()
        # 3 cases × 2 variants: the same prompt text, but six samples, six calls.
        assert srv.stats()["model_calls"] == 6 and result.judges.cached == 0
        # A new run of the same variant versions reuses the stored answers of the same samples.
        again = ws.run(resume=None)
        assert srv.stats()["model_calls"] == 6 and again.judges.cached == 6


def test_cache_text_is_the_explicit_text_level_reuse(tmp_path: Path) -> None:
    check = {"type": "judge-rubric", "judge": "gpt", "cache": "text"}
    with FakeServer(responder=_count_judge) as srv:
        ws = _workspace(tmp_path, srv.base_url, [check], variants=SAME_TEXT)
        result = ws.run()
        assert srv.stats()["model_calls"] == 3 and result.judges.cached == 3
    values = {}
    for row in _scores(ws, "judge-rubric"):
        values.setdefault(row["output"], set()).add(row["value"])
    assert all(len(v) == 1 for v in values.values())  # one verdict shared per text


def test_cache_option_is_validated(tmp_path: Path) -> None:
    from hyouka.errors import ConfigError

    with FakeServer(responder=_count_judge) as srv, pytest.raises(ConfigError, match="'cache'"):
        _workspace(tmp_path, srv.base_url, [{"type": "judge-rubric", "judge": "gpt",
                                             "cache": "everything"}]).run()  # fmt: skip


def test_export_has_every_judge_repeat_and_their_mean(tmp_path: Path) -> None:
    check = {"type": "judge-rubric", "judge": "gpt", "judge_samples": 3,
             "params": {"temperature": 1.0}}  # fmt: skip
    with FakeServer(responder=_count_judge) as srv:
        ws = _workspace(tmp_path, srv.base_url, [check])
        ws.run()
    out = tmp_path / "run.jsonl"
    ws.export("latest", out, "jsonl")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 6
    for row in rows:
        cell = row["scores"]["judge-rubric"]
        reps = cell["repeats"]
        assert [r["repeat"] for r in reps] == [0, 1, 2]
        assert all(r["status"] == "ok" for r in reps)
        assert cell["value"] == pytest.approx(np.mean([r["value"] for r in reps]))
    # The exported mean is the per-sample value compare uses: the mean of the ok repeats.
    exported = sorted(r["scores"]["judge-rubric"]["value"] for r in rows if r["variant"] == "good")
    assert exported == pytest.approx(sorted(_sample_means(ws, "good")))
    assert len(set(exported)) > 1  # the repeats differ, so the mean is not any single repeat


def _sample_means(ws: Any, variant: str) -> list[float]:
    by_sample: dict[int, list[float]] = {}
    for row in _scores(ws, "judge-rubric"):
        if row["variant"] == variant and row["status"] == "ok":
            by_sample.setdefault(row["sample_id"], []).append(float(row["value"]))
    return [float(np.mean(v)) for v in by_sample.values()]
