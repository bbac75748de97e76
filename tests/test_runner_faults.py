"""The runner against the fake OpenAI-compatible server over real HTTP, with faults."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hyouka.api import Workspace
from hyouka.store.schema import samples
from hyouka.testing import FakeServer
from tests.conftest import write_project


def _project(tmp_path: Path, base_url: str, cases: list[dict[str, Any]], **provider: Any) -> Path:
    cfg = {
        "name": "faults",
        "samples": 1,
        "providers": {
            "srv": {
                "type": "openai",
                "base_url": base_url,
                "model": "fake",
                "max_retries": 3,
                **provider,
            }
        },
        "variants": {"v": {"provider": "srv", "prompt": "{{ q }}"}},
        "checks": [{"type": "contains", "value": "回答"}],
    }
    return write_project(tmp_path, cfg, cases)


def _statuses(ws: Workspace) -> dict[str, tuple[str, int, str | None]]:
    from hyouka.store.schema import cases

    with ws.store.engine.connect() as conn:
        rows = conn.execute(
            select(cases.c.case_key, samples.c.status, samples.c.attempts, samples.c.error).join(
                cases, cases.c.id == samples.c.case_id
            )
        ).all()
    return {r.case_key: (r.status, r.attempts, r.error) for r in rows}


def test_run_completes_with_right_statuses_and_call_counts(tmp_path: Path) -> None:
    cases = [
        {"id": "ok", "vars": {"q": "普通の質問"}},
        {"id": "429-once", "vars": {"q": "混雑 [[fault:429:0.2*1]]"}},
        {"id": "500-twice", "vars": {"q": "不調 [[fault:500*2]]"}},
        {"id": "drop-once", "vars": {"q": "切断 [[fault:drop*1]]"}},
        {"id": "malformed-once", "vars": {"q": "壊れ [[fault:malformed*1]]"}},
        {"id": "always-503", "vars": {"q": "停止 [[fault:503]]"}},
        {"id": "slow", "vars": {"q": "遅い [[fault:slow:3]]"}},
        {"id": "bad-request", "vars": {"q": "拒否 [[fault:400]]"}},
    ]
    with FakeServer() as srv:
        root = _project(tmp_path, srv.base_url, cases, timeout=0.5)
        ws = Workspace.open(root)
        started = time.monotonic()
        result = ws.run(retry_base_delay=0.01, concurrency=8)
        elapsed = time.monotonic() - started
        stats = srv.stats()
    got = _statuses(ws)
    assert got["ok"][:2] == ("ok", 1)
    assert got["429-once"][:2] == ("ok", 2)
    assert got["500-twice"][:2] == ("ok", 3)
    assert got["drop-once"][:2] == ("ok", 2)
    assert got["malformed-once"][:2] == ("ok", 2)
    status, attempts, error = got["always-503"]
    assert (status, attempts) == ("error", 4) and "HTTP 503" in (error or "")
    status, attempts, error = got["slow"]
    assert (status, attempts) == ("timeout", 4) and "0.5 s" in (error or "")
    status, attempts, error = got["bad-request"]
    assert (status, attempts) == ("error", 1) and "HTTP 400" in (error or "")
    # calls = 1 + 2 + 3 + 2 + 2 + 4 + 4 + 1
    assert stats["model_calls"] == 19
    assert result.progress.errors == 3 and result.run.status == "finished"
    # Retry-After 0.2 s was honoured, and the slow case gave up after 4 × 0.5 s.
    assert elapsed >= 2.0


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    cases = [{"id": "a", "vars": {"q": "x [[fault:429:1*1]]"}}]
    with FakeServer() as srv:
        ws = Workspace.open(_project(tmp_path, srv.base_url, cases))
        started = time.monotonic()
        ws.run(retry_base_delay=0.001)
        assert time.monotonic() - started >= 1.0
        assert srv.stats()["model_calls"] == 2


def test_requests_per_minute_limit_spaces_calls(tmp_path: Path) -> None:
    cases = [{"id": f"c{i}", "vars": {"q": f"q{i}"}} for i in range(5)]
    with FakeServer() as srv:
        # 120/min = 2/s; the bucket starts with a minute's worth, so use a tiny capacity run:
        root = _project(tmp_path, srv.base_url, cases, rpm=1.0)
        ws = Workspace.open(root)
        from hyouka.providers import limits

        bucket = limits.TokenBucket(120.0, capacity=1.0)
        assert bucket.capacity == 1.0
        started = time.monotonic()
        import asyncio

        async def five() -> None:
            for _ in range(5):
                await bucket.acquire()

        asyncio.run(five())
        assert 1.8 <= time.monotonic() - started < 3.0  # 4 waits of 0.5 s
        result = ws.run(limit=1)  # rpm=1 with a full bucket: the first call goes at once
        assert result.progress.calls == 1


def test_seed_and_sample_index_reach_the_provider_and_the_cache(tmp_path: Path) -> None:
    cases = [{"id": "a", "vars": {"q": "同じ質問"}}]
    with FakeServer() as srv:
        root = _project(tmp_path, srv.base_url, cases)
        ws = Workspace.open(root)
        first = ws.run(samples=3)
        assert srv.stats()["model_calls"] == 3
        outputs = {r["output"] for r in _outputs(ws, first.run.id)}
        assert len(outputs) == 3  # the fake answers with the seed: each sample differs
        second = ws.run(samples=3)
        assert srv.stats()["model_calls"] == 3  # all three from the cache, keyed by sample index
        assert second.progress.cached == 3
        third = ws.run(samples=4)  # one more sample index: exactly one new call
        assert srv.stats()["model_calls"] == 4 and third.progress.cached == 3
        ws.run(samples=3, use_cache=False)
        assert srv.stats()["model_calls"] == 7
    assert {r["output"] for r in _outputs(ws, second.run.id)} == outputs


def _outputs(ws: Workspace, run_id: int) -> list[dict[str, Any]]:
    with ws.store.engine.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(
                select(samples.c.output, samples.c.seed, samples.c.sample_index).where(
                    samples.c.run_id == run_id
                )
            )
        ]


@pytest.mark.parametrize("endpoint", ["anthropic"])
def test_anthropic_provider_over_http(tmp_path: Path, endpoint: str) -> None:
    cases = [{"id": "a", "vars": {"q": "こんにちは"}}]
    with FakeServer() as srv:
        cfg = {
            "name": "anth",
            "providers": {
                "c": {
                    "type": "anthropic",
                    "base_url": srv.url,
                    "model": "claude-x",
                    "pricing": {"input_per_mtok": 3, "output_per_mtok": 15},
                }
            },
            "variants": {"v": {"provider": "c", "system": "丁寧に", "prompt": "{{ q }}"}},
        }
        ws = Workspace.open(write_project(tmp_path, cfg, cases))
        ws.run()
        body = srv.calls()[0].body
    assert body["system"] == "丁寧に" and body["messages"] == [
        {"role": "user", "content": "こんにちは"}
    ]
    row = _outputs(ws, 1)[0]
    assert row["output"].startswith("回答: こんにちは")
    _run, summaries = ws.show()
    assert summaries[0].cost > 0 and summaries[0].input_tokens > 0


def test_queued_calls_do_not_time_out_while_waiting_for_a_slot(tmp_path: Path) -> None:
    # One call at a time (like the in-process model), each 0.2 s, timeout 0.5 s, 6 calls at
    # once: the timeout starts when a call starts, so none of the queued calls times out.
    cfg = {
        "name": "queue",
        "samples": 6,
        "providers": {
            "slow": {
                "type": "echo",
                "latency_ms": 200,
                "concurrency": 1,
                "timeout": 0.5,
                "max_retries": 0,
            }
        },
        "variants": {"v": {"provider": "slow", "prompt": "{{ q }}"}},
    }
    ws = Workspace.open(write_project(tmp_path, cfg, [{"id": "a", "vars": {"q": "x"}}]))
    started = time.monotonic()
    result = ws.run(concurrency=6)
    assert result.progress.errors == 0
    assert time.monotonic() - started >= 6 * 0.2  # they really ran one at a time
