"""The CLI's own start-up: ``hyouka --help`` / ``--version`` and ``hyouka run`` to its first call.

Each command runs in a fresh interpreter (the installed ``hyouka`` entry point's code path:
``python -m hyouka``), ``--repeats`` times after one warm-up; the median wall time is printed.
``hyouka run`` runs a two-case project against the fake OpenAI-compatible server on
127.0.0.1, which notes the moment the first model call arrives: "first call" is that moment
minus the moment the process was started. ``--importtime`` also prints the slowest imports of
``hyouka --version`` (``python -X importtime``).

    python benchmarks/cli_startup.py [--repeats 5] [--importtime]

CPU is user + sys seconds of the command (for the first call: used by then, from /proc): on
a machine that others share it is the steadier figure.

Targets (issue 16): --help and --version ≤ 0.3 s; first model call of ``hyouka run`` ≤ 0.6 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from hyouka.testing import FakeServer
from hyouka.testing.fake_calls import default_responder

HYOUKA = [sys.executable, "-m", "hyouka"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + sys) seconds of one run of ``cmd``."""
    cpu0, started = _children_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, _children_cpu() - cpu0


def median_timed(cmd: list[str], repeats: int) -> tuple[float, float]:
    timed(cmd)  # warm-up: the page cache, .pyc files
    found = [timed(cmd) for _ in range(repeats)]
    return statistics.median(w for w, _ in found), statistics.median(c for _, c in found)


def write_project(root: Path, base_url: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cases.jsonl").write_text(
        '{"id": "c1", "vars": {"q": "one"}}\n{"id": "c2", "vars": {"q": "two"}}\n',
        encoding="utf-8",
    )
    (root / "hyouka.yaml").write_text(
        "name: startup\n"
        "providers:\n"
        f'  mock: {{type: openai, base_url: "{base_url}", model: m, api_key: dummy}}\n'
        "variants:\n"
        '  a: {provider: mock, prompt: "Answer: {{ q }}"}\n'
        "datasets:\n  main: cases.jsonl\n"
        "checks:\n  - {type: contains, value: one}\n",
        encoding="utf-8",
    )


class FirstCall:
    """A responder that notes when the first model call arrived, and the CPU the calling
    process had used by then (a figure the other processes on the machine do not inflate)."""

    def __init__(self) -> None:
        self.at: float | None = None
        self.cpu: float | None = None
        self.pid: int | None = None
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> str:
        with self.lock:
            if self.at is None:
                self.at = time.perf_counter()
                self.cpu = _process_cpu(self.pid) if self.pid else None
        return default_responder(body)


def _process_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def first_call_seconds(repeats: int) -> tuple[float, float | None, float]:
    """Medians: seconds from start to the first model call, CPU seconds used by then, and
    seconds to the end of the run."""
    firsts, cpus, totals = [], [], []
    with tempfile.TemporaryDirectory() as tmp, FakeServer(latency=0.0) as server:
        root = Path(tmp) / "proj"
        write_project(root, server.base_url)
        cmd = [*HYOUKA, "run", "-p", str(root), "--no-cache", "-q"]
        for i in range(repeats + 1):
            seen = FirstCall()
            server.set_responder(seen)
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
            seen.pid = proc.pid
            if proc.wait() != 0:
                raise SystemExit(f"{' '.join(cmd)} failed")
            ended = time.perf_counter()
            if i == 0:
                continue  # warm-up (creates the store)
            assert seen.at is not None, "the run made no model call"
            firsts.append(seen.at - started)
            if seen.cpu is not None:
                cpus.append(seen.cpu)
            totals.append(ended - started)
    cpu = statistics.median(cpus) if cpus else None
    return statistics.median(firsts), cpu, statistics.median(totals)


def slowest_imports(top: int = 15) -> list[tuple[int, str]]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hyouka", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--importtime", action="store_true", help="also list the slowest imports")
    args = ap.parse_args()
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"], ""),
        ("hyouka --version", [*HYOUKA, "--version"], "target ≤ 0.3"),
        ("hyouka --help", [*HYOUKA, "--help"], "target ≤ 0.3"),
    ]
    print(f"median of {args.repeats} (after 1 warm-up), seconds; load average {_load()}")
    print(f"  {'':28} {'wall':>6} {'CPU':>6}")
    for label, cmd, target in rows:
        w, c = median_timed(cmd, args.repeats)
        print(f"  {label:28} {w:6.3f} {c:6.3f}   {target}")
    first, cpu, total = first_call_seconds(args.repeats)
    cpu_text = f"{cpu:6.3f}" if cpu is not None else f"{'–':>6}"
    print(f"  {'hyouka run: first call at':28} {first:6.3f} {cpu_text}   target ≤ 0.6")
    print(f"  {'hyouka run: whole run':28} {total:6.3f} {'':6}   (2 calls, fake server)")
    if args.importtime:
        print("slowest imports of `hyouka --version` (cumulative µs):")
        for us, name in slowest_imports():
            print(f"  {us:>9} {name}")


if __name__ == "__main__":
    main()
