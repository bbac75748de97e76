"""Local engine throughput: hyouka's llamacpp provider (xllamacpp) against the previous engine.

The previous engine is llama-cpp-python (built from source; hyouka used it until 2026-12). It
no longer installs with hyouka, so it runs in its own interpreter, given by
``--previous-python`` (a virtualenv with ``pip install 'llama-cpp-python>=0.3.36,<0.4'``),
as a child process that loads the model once and answers workloads sent to it; both sides run
on this machine in one run, round by round, alternating which goes first so that load from
other processes falls on both alike. Without ``--previous-python`` only hyouka's side runs.

Both sides run the bundled SmolLM2-135M-Instruct with the same threads and n_ctx, on the same
16 requests (4 prompts x 4 seeds), the same sampling params and max_tokens. Two ways of
calling:

- ``single``: one request at a time (a single stream).
- ``4 at once``: 4 requests in flight. hyouka's provider decodes them together on 4 slots
  (continuous batching). The previous provider ran one call at a time on the model's one
  thread (``max_concurrency = 1``), so its figure is its single-stream figure: the script
  says so rather than measuring a schedule hyouka never used.

Throughput is generated tokens divided by wall time; per side the best round (least disturbed
by other load) and the mean. Also printed: whether hyouka's 4-slot texts equal its
single-stream texts for the same seeds. Target: hyouka at 4 at once >= 1.5 x the previous
engine.

    python benchmarks/llamacpp_throughput.py [--previous-python PATH] [--rounds 3]
        [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field

from hyouka.providers.base import GenerateRequest, Generation, Message
from hyouka.providers.llamacpp import LlamaCppProvider, default_model_path

PROMPTS = [
    "Write a long story about a lighthouse keeper.",
    "Explain in detail how a bicycle works.",
    "Describe a busy market in the morning.",
    "Write a letter to a friend about your holiday.",
]
PARAMS = {"temperature": 0.8, "top_p": 0.95, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.0}
CALLS = [(prompt, 100 + seed) for prompt in range(len(PROMPTS)) for seed in range(4)]

# The previous engine's side, run by --previous-python: one JSON line in per workload, one out.
PREVIOUS = textwrap.dedent(
    """
    import json, sys, time
    from llama_cpp import Llama
    cfg = json.loads(sys.argv[1])
    llama = Llama(model_path=cfg["model"], n_ctx=cfg["n_ctx"], n_threads=cfg["threads"],
                  n_threads_batch=cfg["threads"], verbose=False)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        tokens, texts, start = 0, [], time.perf_counter()
        for prompt, seed in job["calls"]:
            out = llama.create_chat_completion(
                messages=[{"role": "user", "content": job["prompts"][prompt]}],
                seed=seed, max_tokens=job["max_tokens"], **job["params"])
            tokens += out["usage"]["completion_tokens"]
            texts.append(out["choices"][0]["message"]["content"])
        seconds = time.perf_counter() - start
        print(json.dumps({"tokens": tokens, "seconds": seconds, "texts": texts}), flush=True)
    """
)


@dataclass
class Figures:
    rates: list[float] = field(default_factory=list)  # tokens/s per round

    def line(self) -> str:
        if not self.rates:
            return "      -"
        return f"best {max(self.rates):6.1f}  mean {statistics.fmean(self.rates):6.1f} tok/s"


def request(prompt: int, seed: int, max_tokens: int) -> GenerateRequest:
    return GenerateRequest(
        messages=(Message("user", PROMPTS[prompt]),),
        params={**PARAMS, "max_tokens": max_tokens},
        seed=seed,
    )


async def hyouka_single(provider: LlamaCppProvider, max_tokens: int) -> list[Generation]:
    return [await provider.generate(request(p, s, max_tokens)) for p, s in CALLS]


async def hyouka_parallel(
    provider: LlamaCppProvider, max_tokens: int, in_flight: int
) -> list[Generation]:
    gate = asyncio.Semaphore(in_flight)

    async def one(prompt: int, seed: int) -> Generation:
        async with gate:
            return await provider.generate(request(prompt, seed, max_tokens))

    return list(await asyncio.gather(*(one(p, s) for p, s in CALLS)))


def timed(run: object) -> tuple[float, list[Generation]]:
    start = time.perf_counter()
    gens = asyncio.run(run)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    return sum(g.output_tokens or 0 for g in gens) / seconds, gens


class Previous:
    def __init__(self, python: str, threads: int, n_ctx: int) -> None:
        cfg = {"model": str(default_model_path()), "n_ctx": n_ctx, "threads": threads}
        self.proc = subprocess.Popen(
            [python, "-c", PREVIOUS, json.dumps(cfg)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"},  # as hyouka set it
        )
        assert self.proc.stdout is not None
        if not json.loads(self.proc.stdout.readline()).get("ready"):
            raise SystemExit("the previous engine did not start")

    def run(self, max_tokens: int) -> tuple[float, list[str]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        job = {"calls": CALLS, "prompts": PROMPTS, "params": PARAMS, "max_tokens": max_tokens}
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        out = json.loads(self.proc.stdout.readline())
        return out["tokens"] / out["seconds"], out["texts"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--previous-python", help="an interpreter with llama-cpp-python")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    n_ctx = 1024
    single = LlamaCppProvider("single", {"n_ctx": n_ctx, "n_threads": threads, "n_parallel": 1})
    slots = LlamaCppProvider("slots", {"n_ctx": n_ctx, "n_threads": threads, "n_parallel": 4})
    start = time.perf_counter()
    asyncio.run(slots.start())
    load = time.perf_counter() - start
    asyncio.run(single.start())
    previous = Previous(args.previous_python, threads, n_ctx) if args.previous_python else None
    print(
        f"model {default_model_path().name}, {threads} threads, n_ctx {n_ctx}, "
        f"{len(CALLS)} requests x max_tokens {args.max_tokens}, {args.rounds} rounds, "
        f"load average {os.getloadavg()[0]:.1f}; hyouka engine start + model load {load:.2f} s"
    )
    ours_single, ours_four, theirs = Figures(), Figures(), Figures()
    same_slots = same_sides = 0
    for round_ in range(args.rounds):
        if previous is not None and round_ % 2 == 0:
            rate, their_texts = previous.run(args.max_tokens)
            theirs.rates.append(rate)
        rate, one_by_one = timed(hyouka_single(single, args.max_tokens))
        ours_single.rates.append(rate)
        rate, together = timed(hyouka_parallel(slots, args.max_tokens, 4))
        ours_four.rates.append(rate)
        same_slots += [g.text for g in together] == [g.text for g in one_by_one]
        if previous is not None and round_ % 2 == 1:
            rate, their_texts = previous.run(args.max_tokens)
            theirs.rates.append(rate)
        if previous is not None:
            same_sides += their_texts == [g.text for g in one_by_one]
    print(f"previous engine, single    : {theirs.line()}")
    print(f"previous engine, 4 at once : {theirs.line()}  (its calls ran one at a time)")
    print(f"hyouka xllamacpp, single   : {ours_single.line()}")
    print(f"hyouka xllamacpp, 4 at once: {ours_four.line()}")
    if theirs.rates:
        print(
            f"ratio at 4 at once, hyouka / previous: best "
            f"{max(ours_four.rates) / max(theirs.rates):.2f}, mean "
            f"{statistics.fmean(ours_four.rates) / statistics.fmean(theirs.rates):.2f}"
            f"   (single stream: {max(ours_single.rates) / max(theirs.rates):.2f})"
        )
        print(f"same texts as the previous engine, same seeds: {same_sides}/{args.rounds} rounds")
    print(f"4-slot texts equal single-stream texts: {same_slots}/{args.rounds} rounds")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if previous is not None:
        previous.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
