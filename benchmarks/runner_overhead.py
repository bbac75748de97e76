"""Runner overhead on the peer-benchmark workload (shared/bench): wall, CPU per sample, memory.

2 variants × N cases × 1 sample, one `contains` check, concurrency 50, against the fake
OpenAI-compatible server (a separate process) answering after a fixed 50 ms. Prints the wall
time, the ideal (calls × latency / concurrency), their ratio, the CPU milliseconds per sample of
the hyouka process (request, parsing, check, storage: everything), and peak memory — for N and
for N/5, to show memory does not grow with the number of samples.

    python benchmarks/runner_overhead.py [--n 5000] [--latency-ms 50] [--conc 50]
    python benchmarks/runner_overhead.py --conversation 10   # conversation cases (issue 15)

Targets (issue 2): ≤ 0.6 ms CPU per sample, wall ≤ 1.15 × ideal, peak memory ≤ 200 MB.
``per call`` leaves out the dataset's one-off load and save (timed apart in the same process);
``--no-payloads`` does not store the raw request/response bodies.
``--conversation T``: each case is a conversation of T turns (``messages``, ending with the
user's) answered by system-only variants; target (issue 15): the same per-call overhead as
single-turn cases. It also prints the time to load the dataset (target: 10,000 cases of 10
turns in ≤ 3 s).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from hyouka.api import Workspace
root, conc, payloads = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
ws = Workspace.open(root)
t0, c0 = time.perf_counter(), time.process_time()
result = ws.run(concurrency=conc, use_cache=False, store_payloads=payloads)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
# The dataset's own load and save (once per run, not per call), timed apart in another store.
from hyouka.datasets import load_dataset
from hyouka.store.store import Store
c1 = time.process_time()
ds = load_dataset("main", Path(root) / "cases.jsonl")
Store.open(f"sqlite:///{Path(root) / 'other.db'}").save_dataset("other", ds)
dataset_cpu = time.process_time() - c1
_, summaries = ws.show(result.run.uid)
passed = sum(c.passed for s in summaries for c in s.checks.values())
print(json.dumps({"wall": wall, "cpu": cpu, "dataset_cpu": dataset_cpu,
                  "samples": result.progress.done,
                  "errors": result.progress.errors, "passed": passed,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def start_server(latency_ms: int, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = tmp / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hyouka.testing.fake_server",
            "--latency-ms",
            str(latency_ms),
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(400):
        if port_file.exists() and port_file.read_text().strip():
            break
        time.sleep(0.025)
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}/v1"


def conversation(i: int, turns: int) -> list[dict[str, str]]:
    """``turns`` turns ending with the user's; the last one names the case (the check)."""
    out = []
    for t in range(turns):
        role = "user" if (turns - t) % 2 == 1 else "assistant"
        text = f"質問 ID-{i:05d} について" if t == turns - 1 else f"{role} の発言 {t}: 配送について"
        out.append({"role": role, "content": text})
    return out


def write_conversation_project(root: Path, n: int, base_url: str, turns: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cases.jsonl").write_text(
        "".join(
            json.dumps({"id": f"ID-{i:05d}", "messages": conversation(i, turns)},
                       ensure_ascii=False) + "\n"
            for i in range(n)
        ),
        encoding="utf-8",
    )  # fmt: skip
    (root / "hyouka.yaml").write_text(
        f"""name: bench
samples: 1
providers:
  mock: {{type: openai, base_url: "{base_url}", model: mock-gpt, max_retries: 2}}
variants:
  en: {{provider: mock, system: "Answer briefly."}}
  ja: {{provider: mock, system: "簡潔に答えてください。"}}
datasets:
  main: cases.jsonl
checks:
  - {{type: contains, value: "ID-"}}
""",
        encoding="utf-8",
    )


def load_seconds(path: Path) -> float:
    from hyouka.datasets import load_dataset

    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        ds = load_dataset("main", path)
        best = min(best, time.perf_counter() - t0)
        assert not ds.problems
    return best


def write_project(root: Path, n: int, base_url: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cases.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "id": f"ID-{i:05d}",
                    "vars": {"question": f"質問 ID-{i:05d} について"},
                    "checks": [],
                },
                ensure_ascii=False,
            )
            + "\n"
            for i in range(n)
        ),
        encoding="utf-8",
    )
    (root / "hyouka.yaml").write_text(
        f"""name: bench
samples: 1
providers:
  mock: {{type: openai, base_url: "{base_url}", model: mock-gpt, max_retries: 2}}
variants:
  en: {{provider: mock, prompt: "Answer briefly: {{{{ question }}}}"}}
  ja: {{provider: mock, prompt: "簡潔に答えてください: {{{{ question }}}}"}}
datasets:
  main: cases.jsonl
checks:
  - {{type: contains, value: "ID-"}}
""",
        encoding="utf-8",
    )


def measure(
    n: int, latency_ms: int, conc: int, turns: int = 0, payloads: bool = True
) -> dict[str, float]:
    load = None
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        server, url = start_server(latency_ms, tmp)
        try:
            if turns:
                write_conversation_project(tmp / "proj", n, url, turns)
                load = load_seconds(tmp / "proj" / "cases.jsonl")
            else:
                write_project(tmp / "proj", n, url)
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    str(tmp / "proj"),
                    str(conc),
                    "1" if payloads else "0",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            server.terminate()
            server.wait()
    data: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    calls = 2 * n
    ideal = calls * latency_ms / 1000 / conc
    data.update(
        ideal=ideal,
        ratio=data["wall"] / ideal,
        cpu_ms_per_sample=data["cpu"] * 1000 / calls,
        call_ms=(data["cpu"] - data["dataset_cpu"]) * 1000 / calls,
    )
    if load is not None:
        data["load_s"] = load
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="cases (calls = 2 × n)")
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--conc", type=int, default=50)
    ap.add_argument(
        "--conversation", type=int, default=0, metavar="TURNS",
        help="conversation cases of TURNS turns each (0: single-turn cases)",
    )  # fmt: skip
    ap.add_argument(
        "--no-payloads", action="store_true",
        help="do not store raw request/response payloads (RunOptions.store_payloads=False)",
    )  # fmt: skip
    args = ap.parse_args()
    kind = f"conversations of {args.conversation} turns" if args.conversation else "cases"
    print(
        f"workload: 2 variants × N {kind} × 1 sample, contains check, concurrency {args.conc}, "
        f"fake server {args.latency_ms} ms"
    )
    print(
        f"{'N':>6} {'calls':>6} {'wall s':>7} {'ideal s':>7} {'×ideal':>6} "
        f"{'CPU ms/sample':>13} {'per call':>8} {'peak MB':>8} {'errors':>6} {'passed':>6}"
    )
    for n in (max(1, args.n // 5), args.n):
        r = measure(n, args.latency_ms, args.conc, args.conversation, not args.no_payloads)
        print(
            f"{n:>6} {2 * n:>6} {r['wall']:>7.2f} {r['ideal']:>7.2f} {r['ratio']:>6.2f} "
            f"{r['cpu_ms_per_sample']:>13.3f} {r['call_ms']:>8.3f} {r['peak_rss_mb']:>8.0f} "
            f"{r['errors']:>6.0f} "
            f"{r['passed']:>6.0f}"
            + (f"   dataset load {r['load_s']:.2f} s" if "load_s" in r else "")
        )
    print("targets: CPU ≤ 0.6 ms/sample, wall ≤ 1.15 × ideal, peak ≤ 200 MB and flat in N")
    print("per call: CPU ms per call without the dataset's one-off load and save (timed apart)")


if __name__ == "__main__":
    main()
