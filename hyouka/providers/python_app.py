"""Python app functions as variants: the team's own code, evaluated like any model.

``app: mypkg.rag:answer`` names a function ``answer(case, params, ctx)`` (sync or async; the
``params`` and ``ctx`` arguments are optional) that returns the output text, or an
:class:`AppResult` with the retrieved contexts, or a dict ``{"output": …, "contexts": […]}``.
``ctx`` gives the function the variant's LLM (``await ctx.generate(...)`` or, from sync code,
``ctx.generate_sync(...)``) with the sample's seed already applied, so an app's repeated samples
are as reproducible as a plain prompt's.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hyouka.datasets import Case, case_from_mapping
from hyouka.errors import ConfigError, HyoukaError, ProviderError, ProviderResponseError
from hyouka.providers.base import BaseProvider, GenerateRequest, Generation, Message, Provider


@dataclass
class AppResult:
    """What an app function may return: the output and the contexts it retrieved."""

    output: str
    contexts: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _as_messages(
    prompt: str | Sequence[Mapping[str, str]] | Sequence[Message],
) -> tuple[Message, ...]:
    if isinstance(prompt, str):
        return (Message("user", prompt),)
    out = []
    for m in prompt:
        out.append(m if isinstance(m, Message) else Message(str(m["role"]), str(m["content"])))
    return tuple(out)


class AppContext:
    """Handed to an app function: the sample's seed and index, and the variant's LLM."""

    def __init__(
        self,
        *,
        llm: Provider | None,
        model: str,
        params: Mapping[str, Any],
        seed: int | None,
        sample_index: int,
        timeout: float,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.llm = llm
        self.model = model
        self.params = dict(params)
        self.seed = seed
        self.sample_index = sample_index
        self.timeout = timeout
        self.usage = {"input_tokens": 0, "output_tokens": 0, "cost": 0.0, "calls": 0}
        self._loop = loop

    @property
    def has_llm(self) -> bool:
        return self.llm is not None

    async def generate(
        self, prompt: str | Sequence[Mapping[str, str]] | Sequence[Message], **params: Any
    ) -> Generation:
        """Call the variant's LLM; token use and cost add up into the sample's."""
        if self.llm is None:
            raise ProviderResponseError(
                "this app called ctx.generate but its variant has no 'provider:'"
            )
        request = GenerateRequest(
            messages=_as_messages(prompt),
            model=self.model,
            params=params,
            seed=self.seed,
            timeout=self.timeout,
            sample_index=self.sample_index,
        )
        gen = await self.llm.generate(request)
        self.usage["calls"] += 1
        self.usage["input_tokens"] += gen.input_tokens or 0
        self.usage["output_tokens"] += gen.output_tokens or 0
        self.usage["cost"] += gen.cost or 0.0
        return gen

    def generate_sync(
        self, prompt: str | Sequence[Mapping[str, str]] | Sequence[Message], **params: Any
    ) -> Generation:
        """The same from a sync app function (which hyouka runs in a worker thread)."""
        future = asyncio.run_coroutine_threadsafe(self.generate(prompt, **params), self._loop)
        return future.result()


def import_app(ref: str, root: Path) -> Callable[..., Any]:
    """Import ``module:function``, looking in the project folder first."""
    module_name, _, func_name = ref.partition(":")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import app module '{module_name}': {exc}") from None
    except Exception as exc:
        raise ConfigError(
            f"importing app module '{module_name}' failed: {type(exc).__name__}: {exc}"
        ) from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ConfigError(f"module '{module_name}' has no function '{func_name}'")
    return func  # type: ignore[no-any-return]


class PythonAppProvider(BaseProvider):
    """Runs an app function for each sample."""

    def __init__(
        self,
        name: str,
        func: Callable[..., Any],
        *,
        llm: Provider | None = None,
        model: str = "",
    ) -> None:
        super().__init__(name)
        self.func = func
        self.llm = llm
        self.model = model
        self._arity = len(inspect.signature(func).parameters)
        self._is_async = inspect.iscoroutinefunction(func)

    async def generate(self, request: GenerateRequest) -> Generation:
        case = case_from_mapping(request.case or {})
        ctx = AppContext(
            llm=self.llm,
            model=request.model or self.model,
            params=request.params,
            seed=request.seed,
            sample_index=request.sample_index,
            timeout=request.timeout,
            loop=asyncio.get_running_loop(),
        )
        args: tuple[Any, ...] = (case, dict(request.params), ctx)[: max(1, min(self._arity, 3))]
        started = time.perf_counter()
        try:
            if self._is_async:
                result = await self.func(*args)
            else:
                result = await asyncio.to_thread(self.func, *args)
        except (HyoukaError, ProviderError):
            raise
        except Exception as exc:
            raise ProviderResponseError(f"app function raised {type(exc).__name__}: {exc}") from exc
        latency = (time.perf_counter() - started) * 1000
        return self._to_generation(result, ctx, latency)

    def _to_generation(self, result: Any, ctx: AppContext, latency: float) -> Generation:
        if isinstance(result, AppResult):
            output, contexts = result.output, result.contexts
        elif isinstance(result, Mapping) and "output" in result:
            output, contexts = result["output"], result.get("contexts")
        elif isinstance(result, str):
            output, contexts = result, None
        else:
            raise ProviderResponseError(
                f"app function returned {type(result).__name__}; return a str, an AppResult "
                "or a dict with 'output'"
            )
        used = ctx.usage["calls"] > 0
        return Generation(
            text=str(output),
            input_tokens=int(ctx.usage["input_tokens"]) if used else None,
            output_tokens=int(ctx.usage["output_tokens"]) if used else None,
            cost=float(ctx.usage["cost"]) if used else 0.0,
            latency_ms=latency,
            contexts=[dict(c) for c in contexts] if contexts else None,
        )

    async def aclose(self) -> None:
        return None


__all__ = ["AppContext", "AppResult", "Case", "PythonAppProvider", "import_app"]
