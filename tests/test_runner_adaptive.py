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
            slots.release()
        for t in tickets[:5]:
            slots.rate_limited(t)  # five 429s from the same moment: one cut
        seen.append((slots.limit, slots.cuts, slots.in_flight))
        later = await slots.acquire()  # sent under the new limit
        slots.release()
        slots.rate_limited(later)
        seen.append((slots.limit, slots.cuts))
        for t in tickets[5:]:
            slots.rate_limited(t)  # old episode: no further cut
        seen.append((slots.limit, slots.cuts, slots.in_flight))
        for _ in range(4):  # 4 answers in a row at limit 4: one more allowed
            await slots.acquire()
            slots.release()
            slots.succeeded()
        seen.append(slots.limit)
        for _ in range(5 + 6):  # 5 more at 5, then 6 at 6
            await slots.acquire()
            slots.release()
            slots.succeeded()
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
    assert (report.refused, report.suggested) == (17, 7)  # 5 + 1 + 11; last refused at 8


def test_the_limit_holds_calls_back_and_never_goes_below_one_or_above_the_cap() -> None:
    async def scenario() -> tuple[int, int, bool, int]:
        slots = Slots(2)
        first = await slots.acquire()
        await slots.acquire()
        third = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0.01)
        waiting = not third.done()  # two in flight at limit 2: the third waits
        slots.release()
        await asyncio.wait_for(third, 1)
        slots.release()
        slots.release()
        for _ in range(5):  # each one sent after the last cut
            ticket = await slots.acquire()
            slots.release()
            slots.rate_limited(ticket)
        lowest = slots.limit
        for _ in range(50):
            slots.succeeded()
        return lowest, slots.limit, waiting, first

    lowest, highest, waiting, first = asyncio.run(scenario())
    assert waiting and first == 0
    assert lowest == 1 and highest == 2


def test_a_waiter_cancelled_after_its_wake_up_passes_its_turn_on() -> None:
    async def scenario() -> tuple[bool, int]:
        slots = Slots(1)
        await slots.acquire()
        first = asyncio.ensure_future(slots.acquire())
        second = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0)  # both wait
        slots.release()  # wakes the first...
        first.cancel()  # ...which is cancelled before it runs (e.g. its call timed out)
        await asyncio.sleep(0)
        await asyncio.wait_for(second, 1)  # the second gets the slot instead of hanging
        return first.cancelled(), slots.in_flight

    cancelled, in_flight = asyncio.run(scenario())
    assert cancelled and in_flight == 1


def test_a_call_cancelled_while_it_waits_keeps_no_slot() -> None:
    async def scenario() -> int:
        slots = Slots(1)
        await slots.acquire()
        waiting = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.sleep(0)
        slots.release()
        await asyncio.wait_for(slots.acquire(), 1)
        return slots.in_flight

    assert asyncio.run(scenario()) == 1


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


def test_a_busy_judge_provider_is_reported_too(tmp_path: Path) -> None:
    cfg = {
        "name": "busy-judge",
        "samples": 1,
        "concurrency": 16,
        "providers": {
            "echo": {"type": "echo"},
            "gpt": {"type": "openai", "base_url": "", "model": "judge", "max_retries": 8},
        },
        "variants": {"v": {"provider": "echo", "prompt": "{{ q }}"}},
        "checks": [{"type": "judge-rubric", "judge": "gpt", "preset": "mtbench"}],
    }
    cases = [{"id": f"c{i}", "vars": {"q": f"質問{i}"}} for i in range(40)]
    with FakeServer(latency=0.02, capacity=2, responder=lambda _body: "評価: [[7]]") as srv:
        cfg["providers"]["gpt"]["base_url"] = srv.base_url  # type: ignore[index]
        ws = Workspace.open(write_project(tmp_path, cfg, cases))
        result = ws.run(retry_base_delay=0.05)
    gpt = result.limits["gpt"]
    assert gpt.refused > 0 and gpt.cuts >= 1 and gpt.lowest <= 2
    assert result.judges is not None and result.judges.scores == 40
    with ws.store.engine.connect() as conn:
        judged = [
            str(s)
            for (s,) in conn.execute(select(samples.c.status).where(samples.c.role == "judge"))
        ]
    assert judged == ["ok"] * 40  # every judge call got through in the end
    ws.close()


def test_a_waiter_cancelled_before_its_turn_leaves_it_to_the_next_one() -> None:
    async def scenario() -> int:
        slots = Slots(1)
        await slots.acquire()
        first = asyncio.ensure_future(slots.acquire())
        second = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0)
        first.cancel()  # cancelled while waiting...
        slots.release()  # ...and the slot frees before its task has unwound
        await asyncio.wait_for(second, 1)
        return slots.in_flight

    assert asyncio.run(scenario()) == 1


def test_every_waiting_call_gets_through() -> None:
    async def scenario() -> list[int]:
        slots = Slots(2)
        done: list[int] = []

        async def call(i: int) -> None:
            await slots.acquire()
            await asyncio.sleep(0.001)
            done.append(i)
            slots.release()

        await asyncio.wait_for(asyncio.gather(*(call(i) for i in range(50))), 5)
        return sorted(done)

    assert asyncio.run(scenario()) == list(range(50))


def test_one_requests_own_refusals_do_not_cut_and_its_first_cut_is_undone() -> None:
    async def scenario() -> list[Any]:
        slots = Slots(16)
        seen: list[Any] = []
        ticket = await slots.acquire()
        slots.release()
        slots.rate_limited(ticket, "poison")  # first refusal: cannot tell yet, cuts
        seen.append((slots.limit, slots.cuts))
        for _ in range(3):  # others answered, then the same request is refused again
            for _ in range(5):
                await slots.acquire()
                slots.release()
                slots.succeeded()
            ticket = await slots.acquire()
            slots.release()
            slots.rate_limited(ticket, "poison")
            seen.append((slots.limit, slots.cuts))
        seen.append(slots.report())
        return seen

    first, *again, report = asyncio.run(scenario())
    assert first == (8, 1)
    assert again == [(16, 1), (16, 1), (16, 1)]  # back to 16 and no further cut
    assert (report.refused, report.request_refusals, report.undone) == (4, 3, 1)


def test_overload_still_cuts_when_every_request_is_refused_again() -> None:
    async def scenario() -> tuple[int, int, int]:
        slots = Slots(16)
        for round_ in range(4):  # half the calls answered; half refused, retries and new ones
            tickets = [await slots.acquire() for _ in range(slots.limit)]
            for _ in tickets:
                slots.release()
            for i, t in enumerate(tickets):
                if i % 2:
                    slots.succeeded()
                else:  # r0 is retried every round, the others are new requests
                    slots.rate_limited(t, "r0" if i == 0 else f"r{round_}-{i}")
        return slots.lowest, slots.cuts, slots.request_refusals

    lowest, cuts, own = asyncio.run(scenario())
    assert (lowest, cuts, own) == (1, 4, 0)


def test_prompts_refused_every_time_do_not_starve_the_run(tmp_path: Path) -> None:
    cfg = {
        "name": "refusing",
        "samples": 1,
        "concurrency": 16,
        "providers": {"srv": {"type": "openai", "base_url": "", "model": "fake", "max_retries": 6}},
        "variants": {"v": {"provider": "srv", "prompt": "{{ q }}"}},
    }
    poison = {20, 60, 100}
    cases = [
        {"id": f"c{i}", "vars": {"q": f"質問{i}" + (" [[fault:429]]" if i in poison else "")}}
        for i in range(600)
    ]
    with FakeServer(latency=0.02) as srv:  # the run lasts ~0.75 s, each prompt's retries less
        cfg["providers"]["srv"]["base_url"] = srv.base_url  # type: ignore[index]
        ws = Workspace.open(write_project(tmp_path, cfg, cases))
        result = ws.run(retry_base_delay=0.005)
        ws.close()
    srv_limits = result.limits["srv"]
    assert result.progress.rate_limited == 3 * 7  # each refused on every attempt (1 + 6)
    assert sorted(_statuses(tmp_path)).count("rate_limited") == 3
    # The first refusal of each prompt cuts (nothing tells it from overload yet), and its
    # repeats are told apart as the prompt's own: they do not cut, and a cut is undone.
    # Before, every refusal sent after the last cut cut again (21 here), down to 1.
    assert srv_limits.cuts <= 6 and srv_limits.undone >= 1 and srv_limits.final == 16
    assert srv_limits.request_refusals >= 12
