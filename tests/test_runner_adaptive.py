"""Calls in flight that follow a provider's 429s (AIMD): halve once per episode, add one back
per run of successes; and a run against a server that refuses calls beyond its capacity."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from hyouka.api import Workspace
from hyouka.cli.main import cli
from hyouka.runner.limits import ProviderLimits, Slots
from hyouka.store.schema import samples
from hyouka.testing import FakeServer
from tests.conftest import write_project


def test_a_429_halves_once_per_episode_and_successes_add_one_back() -> None:
    async def scenario() -> list[Any]:
        slots = Slots(16)
        seen: list[Any] = []
        tickets = [await slots.acquire() for _ in range(16)]  # 16 calls sent at once
        for _ in tickets:
            await slots.release()
        for t in tickets[:5]:
            slots.rate_limited(t)  # five 429s from the same moment: one cut
        seen.append((slots.limit, slots.cuts, slots.in_flight))
        later = await slots.acquire()  # sent under the new limit
        await slots.release()
        slots.rate_limited(later)
        seen.append((slots.limit, slots.cuts))
        for t in tickets[5:]:
            slots.rate_limited(t)  # old episode: no further cut
        seen.append((slots.limit, slots.cuts, slots.in_flight))
        for _ in range(4):  # 4 answers in a row at limit 4: one more allowed
            await slots.acquire()
            await slots.release()
            await slots.succeeded()
        seen.append(slots.limit)
        for _ in range(5 + 6):  # 5 more at 5, then 6 at 6
            await slots.acquire()
            await slots.release()
            await slots.succeeded()
        seen.append(slots.limit)
        seen.append(slots.report())
        return seen

    halved, again, stale, up, up2, report = asyncio.run(scenario())
    assert halved == (8, 1, 0)
    assert again == (4, 2)
    assert stale == (4, 2, 0)
    assert up == 5
    assert up2 == 7
    assert (report.ceiling, report.lowest, report.final, report.cuts) == (16, 4, 7, 2)


def test_the_limit_holds_calls_back_and_never_goes_below_one_or_above_the_cap() -> None:
    async def scenario() -> tuple[int, int, bool, int]:
        slots = Slots(2)
        first = await slots.acquire()
        await slots.acquire()
        third = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0.01)
        waiting = not third.done()  # two in flight at limit 2: the third waits
        await slots.release()
        await asyncio.wait_for(third, 1)
        await slots.release()
        await slots.release()
        for _ in range(5):  # each one sent after the last cut
            ticket = await slots.acquire()
            await slots.release()
            slots.rate_limited(ticket)
        lowest = slots.limit
        for _ in range(50):
            await slots.succeeded()
        return lowest, slots.limit, waiting, first

    lowest, highest, waiting, first = asyncio.run(scenario())
    assert waiting and first == 0
    assert lowest == 1 and highest == 2


def test_fixed_limits_and_no_cap() -> None:
    fixed = ProviderLimits(None, None, 3, adaptive=False, run_concurrency=16)
    assert fixed.slots is not None and (fixed.slots.limit, fixed.slots.adaptive) == (3, False)
    fixed.slots.rate_limited(0)
    assert fixed.slots.limit == 3
    assert ProviderLimits(None, None, None, adaptive=False, run_concurrency=16).slots is None
    adaptive = ProviderLimits(None, None, None, adaptive=True, run_concurrency=16).slots
    assert adaptive is not None and (adaptive.limit, adaptive.adaptive) == (16, True)
    one_at_a_time = ProviderLimits(None, None, 1, adaptive=True, run_concurrency=16).slots
    assert one_at_a_time is not None and not one_at_a_time.adaptive  # nothing to adapt


def _project(tmp_path: Path, base_url: str, n: int, adaptive: bool) -> Path:
    cfg = {
        "name": "busy",
        "samples": 1,
        "concurrency": 32,
        "providers": {
            "srv": {
                "type": "openai",
                "base_url": base_url,
                "model": "fake",
                "max_retries": 8,
                "adaptive": adaptive,
            }
        },
        "variants": {"v": {"provider": "srv", "prompt": "{{ q }}"}},
    }
    cases = [{"id": f"c{i}", "vars": {"q": f"質問{i}"}} for i in range(n)]
    return write_project(tmp_path, cfg, cases)


def _statuses(root: Path) -> list[str]:
    ws = Workspace.open(root)
    with ws.store.engine.connect() as conn:
        found = [str(s) for (s,) in conn.execute(select(samples.c.status))]
    ws.close()
    return found


def test_a_busy_provider_gets_fewer_calls_in_flight_and_every_sample_through(
    tmp_path: Path,
) -> None:
    n = 120
    with FakeServer(latency=0.03, capacity=4) as srv:
        root = _project(tmp_path / "fixed", srv.base_url, n, adaptive=False)
        fixed = Workspace.open(root).run(retry_base_delay=0.05)
        fixed_calls = srv.stats()["model_calls"]
        srv.reset()
        root = _project(tmp_path / "adaptive", srv.base_url, n, adaptive=True)
        out = CliRunner().invoke(cli, ["run", "-p", str(root), "--json"], catch_exceptions=False)
        adaptive_calls = srv.stats()["model_calls"]
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    limits = report["limits"]["srv"]
    # 32 calls at once against room for 4: cut until the 429s stop, then probe around 4.
    assert limits["ceiling"] == 32 and limits["cuts"] >= 3 and limits["lowest"] <= 4
    assert report["progress"]["errors"] == 0 and _statuses(root) == ["ok"] * n
    refused = report["progress"]["rate_limited"]
    assert adaptive_calls == n + refused  # each refused call was retried once more
    # With a fixed 32 in flight most calls are refused, again and again.
    assert fixed.progress.rate_limited > 2 * refused
    assert fixed_calls > adaptive_calls


def test_the_run_says_how_far_calls_in_flight_came_down(tmp_path: Path) -> None:
    with FakeServer(latency=0.02, capacity=2) as srv:
        root = _project(tmp_path, srv.base_url, 40, adaptive=True)
        out = CliRunner().invoke(cli, ["run", "-p", str(root)], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "srv: rate-limited (" in text and "calls in flight were halved" in text
    assert "Setting providers.srv.concurrency:" in text
