"""hyouka's own per-call work for single-turn and conversation cases, in one process.

What the runner does per call besides waiting for HTTP: render the variant's messages for the
case, build the request body, encode it, parse the answer, build the stored sample record and
score the sample's deterministic checks. Measured for single-turn cases (a `prompt` template)
and for conversation cases of T turns (a system-only variant), interleaved, best of several
rounds of CPU time, so other jobs on the machine disturb it less than the full benchmark
(benchmarks/runner_overhead.py --conversation T, which adds HTTP, the writer and the store).
Also the time to load 10,000 conversation cases of T turns (JSONL and CSV).

    python benchmarks/conversation_calls.py [--turns 10] [--calls 20000]

Target (issue 15): conversation cases at the same per-call overhead as single-turn cases;
10,000 cases of 10 turns load in ≤ 3 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import orjson

from hyouka.config import load_config
from hyouka.datasets import Case, load_dataset
from hyouka.providers.base import GenerateRequest
from hyouka.providers.calls import CallOutcome, SampleKey, sample_record
from hyouka.providers.openai_compat import OpenAICompatProvider
from hyouka.scorers.base import SampleView
from hyouka.scorers.engine import compile_checks, score_sample
from hyouka.variants import resolve_variants


def conversation(i: int, turns: int) -> list[dict[str, str]]:
    out = []
    for t in range(turns):
        role = "user" if (turns - t) % 2 == 1 else "assistant"
        text = f"質問 ID-{i:05d} について" if t == turns - 1 else f"{role} の発言 {t}: 配送について"
        out.append({"role": role, "content": text})
    return out


def project(root: Path, turns: int, n: int) -> Path:
    root.mkdir(parents=True)
    rows = (
        {"id": f"ID-{i:05d}", "messages": conversation(i, turns)}
        if turns
        else {"id": f"ID-{i:05d}", "vars": {"question": f"質問 ID-{i:05d} について"}}
        for i in range(n)
    )
    (root / "cases.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    variant = (
        '{provider: mock, system: "簡潔に答えてください。"}'
        if turns
        else '{provider: mock, system: "簡潔に答えてください。", prompt: "{{ question }}"}'
    )
    (root / "hyouka.yaml").write_text(
        f"""name: bench
providers:
  mock: {{type: openai, base_url: "http://127.0.0.1:9/v1", model: m}}
variants:
  v: {variant}
datasets:
  main: cases.jsonl
checks:
  - {{type: contains, value: "ID-"}}
""",
        encoding="utf-8",
    )
    return root


class Path_:
    """One kind of case, ready to be called ``calls`` times."""

    def __init__(self, root: Path) -> None:
        proj = load_config(root)
        self.variant = resolve_variants(proj)[0]
        self.cases: list[Case] = load_dataset("main", root / "cases.jsonl").cases
        self.checks = compile_checks(proj)
        self.provider = OpenAICompatProvider("mock", model="m", base_url="http://127.0.0.1:9/v1")

    def run(self, calls: int) -> float:
        c0 = time.process_time()
        n = len(self.cases)
        for k in range(calls):
            case = self.cases[k % n]
            request = GenerateRequest(
                messages=self.variant.render(case), model="m", params={}, seed=k,
                case=case.content(), sample_index=0, tools=self.variant.tools_for(case),
            )  # fmt: skip
            body = self.provider.build_body(request)
            raw = orjson.dumps(body)
            answer = orjson.loads(
                orjson.dumps({"choices": [{"message": {"content": f"回答: {case.id}"},
                                           "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": len(raw) // 4, "completion_tokens": 5}})
            )  # fmt: skip
            gen = self.provider.parse(answer, body, 1.0)
            record = sample_record(SampleKey(1, 1, k, 0, k, "key"), CallOutcome(gen, "ok", None, 1))
            checks = self.checks.for_case("main", case.checks)
            view = SampleView(output=gen.text, case=case, contexts=None, variant="v")
            record.scores = score_sample(checks, view)
        return (time.process_time() - c0) * 1e6 / calls


def load_time(tmp: Path, turns: int, n: int) -> dict[str, float]:
    rows = [{"id": f"ID-{i:05d}", "messages": conversation(i, turns)} for i in range(n)]
    jsonl = tmp / "big.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    with (tmp / "big.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "messages"])
        for r in rows:
            writer.writerow([r["id"], json.dumps(r["messages"], ensure_ascii=False)])
    out: dict[str, float] = {}
    for name in ("big.jsonl", "big.csv"):
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            ds = load_dataset("big", tmp / name)
            best = min(best, time.perf_counter() - t0)
            assert len(ds.cases) == n and not ds.problems
        out[name] = best
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        single = Path_(project(tmp / "single", 0, 1000))
        convo = Path_(project(tmp / "convo", args.turns, 1000))
        best: dict[str, float] = {"single": float("inf"), "convo": float("inf")}
        for _ in range(args.rounds):  # interleaved: both see the same machine
            best["single"] = min(best["single"], single.run(args.calls))
            best["convo"] = min(best["convo"], convo.run(args.calls))
        loads = load_time(tmp, args.turns, 10000)
    extra = best["convo"] - best["single"]
    print(f"hyouka's own work per call (best of {args.rounds} rounds of {args.calls} calls, CPU):")
    print(f"  single-turn case (system + prompt templates)   {best['single']:7.1f} µs")
    print(f"  conversation of {args.turns} turns (system template)   {best['convo']:7.1f} µs"
          f"   ({extra:+.1f} µs, {best['convo'] / best['single']:.2f} ×)")  # fmt: skip
    for name, seconds in loads.items():
        print(f"load 10,000 conversations of {args.turns} turns, {name[4:]}: {seconds:.2f} s")
    print("targets: the same per-call overhead; load ≤ 3 s")


if __name__ == "__main__":
    main()
