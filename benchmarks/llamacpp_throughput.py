"""Throughput of hyouka's in-process llamacpp provider against raw llama-cpp-python.

Both sides run the bundled SmolLM2-135M-Instruct with the same settings (n_ctx, threads,
batch) in one process, on the same prompts, seeds and sampling params. Raw calls
``Llama.create_chat_completion`` directly on its own ``Llama``, as a user script would (with
llama-cpp-python's unrestricted prefix reuse); hyouka goes through ``LlamaCppProvider.generate``
from an event loop (worker thread, canonical prompt evaluation). Calls are interleaved one by
one, alternating which side goes first, so that load from other processes falls on both alike.

Two workloads: ``distinct`` (8 different prompts, one sample each: the worst case for hyouka,
which re-evaluates the chat template's shared prefix that raw reuses) and ``repeated`` (4
prompts × 3 samples back to back with different seeds: how hyouka runs repeated samples).
Throughput is generated tokens divided by the wall time seen by the caller; per call the best
of the rounds (least disturbed by other load) and, for reference, the mean. Target: hyouka
≥ 0.9 × raw.

    python benchmarks/llamacpp_throughput.py [--rounds 3] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hyouka.providers.base import GenerateRequest, Message
from hyouka.providers.llamacpp import LlamaCppProvider

PROMPTS = [
    "Write a long story about a lighthouse keeper.",
    "Explain in detail how a bicycle works.",
    "Describe a busy market in the morning.",
    "Write a letter to a friend about your holiday.",
    "Explain why the sky is blue, step by step.",
    "Write a long essay about the sea.",
    "Describe the life cycle of a butterfly in detail.",
    "Write a story about a robot who learns to cook.",
]
PARAMS = {"temperature": 0.8, "top_p": 0.95, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.0}
WORKLOADS = {
    "distinct": [(prompt, prompt) for prompt in range(8)],
    "repeated": [(prompt, 100 + sample) for prompt in range(4) for sample in range(3)],
}


@dataclass
class Side:
    """Per call of the workload: generated tokens, every wall time measured, texts seen."""

    tokens: dict[int, int] = field(default_factory=dict)
    seconds: dict[int, list[float]] = field(default_factory=dict)
    texts: dict[int, set[str]] = field(default_factory=dict)

    def add(self, call: int, tokens: int, seconds: float, text: str) -> None:
        self.tokens[call] = tokens
        self.seconds.setdefault(call, []).append(seconds)
        self.texts.setdefault(call, set()).add(text)

    def rate(self, pick: Callable[[list[float]], float]) -> float:
        total = sum(pick(times) for times in self.seconds.values())
        return sum(self.tokens.values()) / total


def call_raw(llama: Any, call: int, prompt: int, seed: int, max_tokens: int, side: Side) -> None:
    start = time.perf_counter()
    out = llama.create_chat_completion(
        messages=[{"role": "user", "content": PROMPTS[prompt]}],
        seed=seed,
        max_tokens=max_tokens,
        **PARAMS,
    )
    elapsed = time.perf_counter() - start
    text = out["choices"][0]["message"]["content"]
    side.add(call, out["usage"]["completion_tokens"], elapsed, text)


async def call_hyouka(
    provider: LlamaCppProvider, call: int, prompt: int, seed: int, max_tokens: int, side: Side
) -> None:
    request = GenerateRequest(
        messages=(Message("user", PROMPTS[prompt]),),
        params={**PARAMS, "max_tokens": max_tokens},
        seed=seed,
    )
    start = time.perf_counter()
    generation = await provider.generate(request)
    elapsed = time.perf_counter() - start
    side.add(call, generation.output_tokens or 0, elapsed, generation.text)


async def measure(
    llama: Any, provider: LlamaCppProvider, workload: str, rounds: int, max_tokens: int
) -> tuple[Side, Side]:
    raw, ours = Side(), Side()
    calls = WORKLOADS[workload]
    for round_ in range(rounds):
        raw_first = round_ % 2 == 0
        # Each side runs the workload in order, so its own cache sees the calls as a user's
        # program would; the sides alternate call by call.
        for call, (prompt, seed) in enumerate(calls):
            if raw_first:
                call_raw(llama, call, prompt, seed, max_tokens, raw)
            await call_hyouka(provider, call, prompt, seed, max_tokens, ours)
            if not raw_first:
                call_raw(llama, call, prompt, seed, max_tokens, raw)
    return raw, ours


def report(workload: str, raw: Side, ours: Side) -> None:
    calls = len(raw.texts)
    same = sum(raw.texts[c] == ours.texts[c] and len(ours.texts[c]) == 1 for c in raw.texts)
    for label, pick in (("best", min), ("mean", statistics.fmean)):
        raw_rate, our_rate = raw.rate(pick), ours.rate(pick)
        print(
            f"{workload:9} {label}: raw {raw_rate:6.1f} tok/s   hyouka {our_rate:6.1f} tok/s   "
            f"ratio {our_rate / raw_rate:.3f}"
        )
    print(f"{workload:9} same text on both sides in every round: {same}/{calls} calls")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    threads = os.cpu_count() or 1
    provider = LlamaCppProvider("local", {"n_ctx": 2048, "n_threads": threads, "n_batch": 512})
    settings = provider.settings
    # Load hyouka's model first: it sets the OpenMP wait policy before llama.cpp loads, and
    # both sides then share it (one process).
    asyncio.run(provider.model())
    from llama_cpp import Llama

    llama = Llama(
        model_path=str(settings.model_path),
        n_ctx=settings.n_ctx,
        n_threads=settings.n_threads,
        n_threads_batch=settings.n_threads,
        n_batch=settings.n_batch,
        verbose=False,
    )
    print(f"model {settings.model_path.name}, {threads} threads, n_ctx {settings.n_ctx}, ", end="")
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, {args.rounds} rounds, ", end="")
    print(f"max_tokens {args.max_tokens}, load average {os.getloadavg()[0]:.1f}")
    asyncio.run(measure(llama, provider, "distinct", 1, 8))  # warm-up
    for workload in WORKLOADS:
        raw, ours = asyncio.run(measure(llama, provider, workload, args.rounds, args.max_tokens))
        report(workload, raw, ours)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
