"""The CLI's own cost beside the raw aiohttp floor, on the peer-benchmark workload (issue 16 §4).

N cases × 2 prompt variants (one English, one Japanese template) × 1 sample, one ``contains``
check per case, concurrency 50, against the fake OpenAI-compatible server
(``python -m hyouka.testing.fake_server``, a separate process) answering after 50 ms. Each round
runs, one after the other and in the same session:

- **floor**: aiohttp + ``asyncio.Semaphore(50)``, stdlib json, one POST per call, the check,
  one JSONL line per result (what shared/bench/peers/baseline_aiohttp.py does);
- **hyouka** (one row per ``--code LABEL=DIR``): ``python -m hyouka run -p PROJ -c 50
  --no-cache --json -q`` then ``python -m hyouka show -p PROJ --json``, with ``PYTHONPATH=DIR``
  (so two checkouts can be compared A/B in one session), a fresh store each time.

For every run: wall seconds, CPU milliseconds per call (user + sys of the process, from
``wait4``; for hyouka, ``run`` and ``show`` together), wall ÷ the same round's floor, the seconds
from the process start to the fake server's first model call, and peak RSS. Rounds alternate
the rows (floor, A, B, floor, B, A, …) so the machine's load hits all of them alike; the last
table gives the medians.

    python benchmarks/cli_overhead.py [--n 5000] [--rounds 3] [--code base=/tmp/base --code new=.]

Targets (issue 16 §4): CPU ≤ 0.4 ms per call, wall ≤ 1.15 × the floor, first model call
≤ 0.6 s after start, peak memory ≤ 150 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

FLOOR = r"""
import asyncio, json, sys
import aiohttp

async def main(cases_path, base_url, conc, out_path):
    with open(cases_path, encoding="utf-8") as f:
        cases = [json.loads(line) for line in f]
    url = base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": "Bearer dummy", "Content-Type": "application/json"}
    sem = asyncio.Semaphore(conc)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc),
                                     timeout=timeout, headers=headers) as s:
        async def one(c):
            body = json.dumps({"model": "mock-gpt", "temperature": 0,
                               "messages": [{"role": "user", "content": c["prompt"]}]})
            async with sem:
                async with s.post(url, data=body) as r:
                    r.raise_for_status()
                    d = json.loads(await r.read())
            out = d["choices"][0]["message"]["content"] or ""
            return {"sid": c["sid"], "output": out, "pass": c["expected"] in out}
        results = await asyncio.gather(*(one(c) for c in cases))
    with open(out_path, "w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(json.dumps({"passed": sum(r["pass"] for r in results)}))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
"""

TEMPLATES = {
    "a": "Answer the question briefly. ({{ id }}) {{ question }}",
    "b": "質問に日本語で答えてください。{{ question }} [{{ id }}]",
}


def start_server(latency_ms: int, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = tmp / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hyouka.testing.fake_server", "--latency-ms", str(latency_ms),
         "--port-file", str(port_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(400):
        if port_file.exists() and port_file.read_text().strip():
            break
        time.sleep(0.025)
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}"


def write_inputs(tmp: Path, n: int, base_url: str) -> tuple[Path, Path]:
    """The floor's call list and the hyouka project (the same prompts and checks)."""
    cases = [(f"ID-{i:05d}", f"What is {i}?") for i in range(n)]
    calls = tmp / "calls.jsonl"
    with calls.open("w", encoding="utf-8") as f:
        for cid, question in cases:
            for v, tpl in TEMPLATES.items():
                prompt = tpl.replace("{{ id }}", cid).replace("{{ question }}", question)
                f.write(json.dumps({"sid": f"{cid}/{v}", "prompt": prompt, "expected": cid},
                                   ensure_ascii=False) + "\n")  # fmt: skip
    proj = tmp / "proj"
    proj.mkdir()
    with (proj / "cases.jsonl").open("w", encoding="utf-8") as f:
        for cid, question in cases:
            row = {"id": cid, "vars": {"id": cid, "question": question},
                   "checks": [{"type": "contains", "value": cid, "normalize": "none"}]}  # fmt: skip
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    variants = "".join(
        f"  {v}: {{provider: mock, prompt: {json.dumps(t, ensure_ascii=False)}}}\n"
        for v, t in TEMPLATES.items()
    )
    (proj / "hyouka.yaml").write_text(
        "name: clibench\nsamples: 1\nproviders:\n"
        f'  mock: {{type: openai, base_url: "{base_url}/v1", model: mock-gpt, api_key: dummy}}\n'
        f"variants:\n{variants}datasets:\n  main: cases.jsonl\n",
        encoding="utf-8",
    )
    return calls, proj


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as r:
        data: dict[str, Any] = json.loads(r.read())
        return data


def _reset(base: str) -> None:
    req = urllib.request.Request(base + "/reset", data=b"{}", method="POST")
    urllib.request.urlopen(req, timeout=10).read()


def timed(cmd: list[str], env: dict[str, str], out: Path) -> dict[str, float]:
    """Run ``cmd``; its wall, user + sys CPU and peak RSS (from wait4), and when it started."""
    with out.open("wb") as f:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out.read_text()[-2000:]}")
    return {"start": t0, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024}  # fmt: skip


def run_floor(tmp: Path, base: str, calls: Path, conc: int) -> dict[str, float]:
    _reset(base)
    r = timed([sys.executable, "-c", FLOOR, str(calls), base + "/v1", str(conc),
               str(tmp / "floor-out.jsonl")], dict(os.environ), tmp / "floor.log")  # fmt: skip
    r["first_call"] = _get(base + "/stats")["first_call_monotonic"] - r["start"]
    return r


def run_hyouka(tmp: Path, base: str, proj: Path, conc: int, code: str) -> dict[str, float]:
    import shutil

    shutil.rmtree(proj / ".hyouka", ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=code)
    _reset(base)
    hy = [sys.executable, "-m", "hyouka"]
    run = timed([*hy, "run", "-p", str(proj), "-c", str(conc), "--no-cache", "--json", "-q"],
                env, tmp / "run.log")  # fmt: skip
    first = _get(base + "/stats")["first_call_monotonic"] - run["start"]
    show = timed([*hy, "show", "-p", str(proj), "--json"], env, tmp / "show.json")
    data = json.loads((tmp / "show.json").read_text())
    passed = sum(round(c["pass_rate"] * c["n"]) for v in data["variants"] for c in v["checks"])
    return {"wall": run["wall"] + show["wall"], "cpu": run["cpu"] + show["cpu"],
            "run_cpu": run["cpu"], "show_cpu": show["cpu"], "first_call": first,
            "rss_mb": max(run["rss_mb"], show["rss_mb"]), "passed": passed}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="cases (calls = 2 × n)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--latency-ms", type=int, default=50)
    ap.add_argument("--conc", type=int, default=50)
    ap.add_argument(
        "--code", action="append", default=[], metavar="LABEL=DIR",
        help="a hyouka checkout to measure (repeatable; default: this one as 'hyouka')",
    )  # fmt: skip
    args = ap.parse_args()
    here = str(Path(__file__).resolve().parents[1])
    codes = [tuple(c.split("=", 1)) for c in args.code] or [("hyouka", here)]
    calls_n = 2 * args.n
    print(
        f"workload: {args.n} cases × 2 variants × 1 sample = {calls_n} calls, contains check, "
        f"concurrency {args.conc}, fake server {args.latency_ms} ms; "
        f"ideal {calls_n * args.latency_ms / 1000 / args.conc:.2f} s"
    )
    print(f"{'round':>5} {'row':<10} {'wall s':>7} {'×floor':>6} {'CPU ms/call':>11} "
          f"{'(run+show)':>13} {'1st call s':>10} {'peak MB':>7} {'passed':>6}")  # fmt: skip
    rows: dict[str, list[dict[str, float]]] = {"floor": []}
    for label, _ in codes:
        rows[label] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        server, base = start_server(args.latency_ms, tmp)
        try:
            calls, proj = write_inputs(tmp, args.n, base)
            for i in range(args.rounds):
                floor = run_floor(tmp, base, calls, args.conc)
                floor["ratio"] = 1.0
                rows["floor"].append(floor)
                _print(i + 1, "floor", floor, calls_n)
                # Every other round in reverse order: no checkout always runs right after the floor.
                for label, code in codes if i % 2 == 0 else codes[::-1]:
                    r = run_hyouka(tmp, base, proj, args.conc, code)
                    r["ratio"] = r["wall"] / floor["wall"]
                    rows[label].append(r)
                    _print(i + 1, label, r, calls_n)
        finally:
            server.terminate()
            server.wait()
    print("medians:")
    for label, runs in rows.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        _print("med", label, med, calls_n)
    print("targets: CPU ≤ 0.4 ms/call, wall ≤ 1.15 × floor, 1st call ≤ 0.6 s, peak ≤ 150 MB")


def _print(rnd: object, label: str, r: dict[str, float], calls: int) -> None:
    split = (
        f"{r['run_cpu'] * 1000 / calls:.3f}+{r['show_cpu'] * 1000 / calls:.3f}"
        if "run_cpu" in r
        else ""
    )
    passed = f"{r['passed']:.0f}" if "passed" in r else ""
    print(f"{rnd!s:>5} {label:<10} {r['wall']:>7.2f} {r['ratio']:>6.2f} "
          f"{r['cpu'] * 1000 / calls:>11.3f} {split:>13} {r['first_call']:>10.2f} "
          f"{r['rss_mb']:>7.0f} {passed:>6}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
