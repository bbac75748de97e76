"""Assignment: deterministic, uniform, sticky across weight changes by the documented rule
(only units in moved buckets change), the ramp only adds units, and the client works with
hyouka unreachable (the control, said in the log)."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as sps

from hyouka.client import Client
from hyouka.experiments import allocation as alloc


def _alloc(
    shares: list[float], buckets: list[int] | None = None, ramp: float = 1.0
) -> alloc.Allocation:
    table = buckets if buckets is not None else alloc.initial_buckets(shares)
    return alloc.Allocation.from_json(
        {
            "name": "tone",
            "status": "running",
            "revision": 1,
            "seed": 7,
            "variants": [f"v{i}" for i in range(len(shares))],
            "control": "v0",
            "ramp": ramp,
            "buckets": alloc.encode(table),
        }
    )


def test_deterministic_and_independent_of_process() -> None:
    a = _alloc([0.5, 0.5])
    first = [a.assign(f"user-{i}") for i in range(1000)]
    assert first == [a.assign(f"user-{i}") for i in range(1000)]
    # Another interpreter (another hash seed for str): the same answers.
    code = (
        "from hyouka.experiments import allocation as al\n"
        "a = al.Allocation.from_json({'name':'tone','status':'running','revision':1,'seed':7,"
        "'variants':['v0','v1'],'control':'v0','ramp':1.0,'buckets':al.encode(al.initial_buckets([0.5,0.5]))})\n"
        "print(''.join(a.assign(f'user-{i}')[0][-1] for i in range(200)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "".join(v[-1] for v, _ in first[:200])


def test_uniform_chi_square_over_100000_ids() -> None:
    a = _alloc([0.25, 0.25, 0.5])
    counts = {"v0": 0, "v1": 0, "v2": 0}
    buckets = np.zeros(alloc.BUCKETS, dtype=np.int64)
    for i in range(100_000):
        v, enrolled = a.assign(f"u{i:06d}")
        assert enrolled
        counts[v] += 1
        buckets[alloc.bucket_of(7, "tone", f"u{i:06d}")[0]] += 1
    observed = [counts["v0"], counts["v1"], counts["v2"]]
    p = sps.chisquare(observed, [25_000, 25_000, 50_000]).pvalue
    assert p > 0.001, (observed, p)
    # the buckets themselves are uniform too (10,000 cells of ~10 ids)
    assert sps.chisquare(buckets).pvalue > 0.001


def test_weight_change_moves_only_the_moved_buckets() -> None:
    old = alloc.initial_buckets([0.5, 0.5])
    new = alloc.rebalance(old, [0.9, 0.1])
    moved = [b for b in range(alloc.BUCKETS) if old[b] != new[b]]
    assert len(moved) == 4000  # exactly the 40% that must move, all from v1 to v0
    assert all(old[b] == 1 and new[b] == 0 for b in moved)
    before, after = _alloc([0.5, 0.5], old), _alloc([0.9, 0.1], new)
    changed = 0
    for i in range(20_000):
        u = f"u{i}"
        va, vb = before.assign(u)[0], after.assign(u)[0]
        if va == "v0":
            assert vb == "v0"  # nobody leaves the variant that grew
        changed += va != vb
    assert 0.37 < changed / 20_000 < 0.43
    # back to 50/50: the same buckets return, every unit has its first variant again
    again = alloc.rebalance(new, [0.5, 0.5])
    assert sum(a != b for a, b in zip(again, new, strict=True)) == 4000
    # adding a third variant takes buckets from both, keeps the rest
    third = alloc.rebalance(old, [1 / 3, 1 / 3, 1 / 3])
    kept = sum(a == b for a, b in zip(old, third, strict=True))
    assert kept == alloc.BUCKETS - alloc.target_counts([1 / 3] * 3)[2]


def test_ramp_only_adds_units_and_outside_is_control_unlogged() -> None:
    low, high = _alloc([0.5, 0.5], ramp=0.1), _alloc([0.5, 0.5], ramp=0.5)
    inside_low = {f"u{i}" for i in range(10_000) if low.assign(f"u{i}")[1]}
    inside_high = {f"u{i}" for i in range(10_000) if high.assign(f"u{i}")[1]}
    assert inside_low <= inside_high
    assert 0.08 < len(inside_low) / 10_000 < 0.12
    assert all(
        low.assign(f"u{i}") == ("v0", False) for i in range(2000) if f"u{i}" not in inside_low
    )
    # enrolled units see the same variant at either ramp
    assert all(low.assign(u)[0] == high.assign(u)[0] for u in inside_low)


def test_not_running_is_control() -> None:
    a = alloc.Allocation.from_json(
        {"name": "tone", "status": "stopped", "revision": 3, "seed": 7, "variants": ["a", "b"],
         "control": "a", "ramp": 1.0, "buckets": [[1, alloc.BUCKETS]]}
    )  # fmt: skip
    assert a.assign("anyone") == ("a", False)


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_client_with_hyouka_unreachable_falls_back_to_control(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"http://127.0.0.1:{_dead_port()}"
    with caplog.at_level(logging.WARNING, logger="hyouka.client"):
        client = Client(url, "hk_x", controls={"tone": "polite"}, timeout=0.2, exit_timeout=0.5)
        try:
            got = [client.assign("tone", f"u{i}") for i in range(50)]
            client.track("tone", "u1", "accepted", 1)
        finally:
            client.close()
    assert {a.variant for a in got} == {"polite"}
    assert all(a.fallback and not a.enrolled for a in got)
    assert client.fallbacks == 50
    warned = [r for r in caplog.records if "no allocation for experiment 'tone'" in r.getMessage()]
    assert len(warned) == 1 and "polite" in warned[0].getMessage()  # said once, not 50 times
    assert any("not sent at exit" in r.getMessage() for r in caplog.records)
    # per-call default when no control is configured
    c2 = Client(url, "hk_x", start=False)
    assert c2.assign("other", "u", default="A").variant == "A"
    assert c2.assign("other2", "u").variant is None


def test_client_buffer_is_bounded() -> None:
    c = Client("http://127.0.0.1:9", "hk_x", max_buffer=100, start=False)
    for i in range(250):
        c.track("tone", f"u{i}", "thumbs", 1)
    assert c.pending == 100 and c.dropped == 150


def test_client_import_is_light() -> None:
    code = (
        "import sys, hyouka.client\n"
        "heavy = [m for m in ('sqlalchemy', 'fastapi', 'pydantic', 'numpy', 'starlette') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
