"""Python app functions as variants: the team's own code, evaluated like any model.

``app: mypkg.rag:answer`` names a function ``answer(case, params, ctx)`` (sync or async; the
``params`` and ``ctx`` arguments are optional) that returns the output text, or an
:class:`AppResult` with the retrieved contexts, or a dict ``{"output": …, "contexts": […]}``.
``ctx`` gives the function the variant's LLM (``await ctx.generate(...)`` or, from sync code,
``ctx.generate_sync(...)``) with the sample's seed already applied, so an app's repeated samples
are as reproducible as a plain prompt's.

Conversations (docs/conversations.md): a conversation case's turns are ``case.messages``, a
list of ``{"role", "content", …}`` dicts. ``ctx.generate(messages, tools=[…])`` lets the model
call tools; the generation's ``tool_calls`` say which. An app that runs an agent loop appends
the assistant turn and ``{"role": "tool", "tool_call_id": …, "content": result}`` turns and
calls again; hyouka keeps every call's tool calls and the whole trajectory (the last call's
messages and its answer, or ``AppResult.trajectory``) with the sample. ``ctx.tool_result(call,
result)`` records a tool's result on its call and returns the tool turn to append.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from hyouka.convo.messages import to_message
from hyouka.datasets import Case, case_from_mapping
from hyouka.errors import ConfigError, HyoukaError, ProviderError, ProviderResponseError
from hyouka.providers.base import (
    BaseProvider,
    GenerateRequest,
    Generation,
    Message,
    Provider,
    ToolCall,
)


@dataclass
class AppResult:
    """What an app function may return: the output and the contexts it retrieved."""

    output: str
    contexts: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # the whole conversation, when the app keeps it itself (neutral message dicts)
    trajectory: list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None  # default: every ctx.generate call's


def _as_messages(
    prompt: str | Sequence[Mapping[str, Any]] | Sequence[Message],
) -> tuple[Message, ...]:
    if isinstance(prompt, str):
        return (Message("user", prompt),)
    out = []
    for i, m in enumerate(prompt):
        out.append(m if isinstance(m, Message) else to_message(cast(Mapping[str, Any], m), i))
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
        self.tool_calls: list[dict[str, Any]] = []  # every call's, in order (with results)
        self.last_messages: tuple[Message, ...] = ()
        self.last_answer: Generation | None = None

    @property
    def has_llm(self) -> bool:
        return self.llm is not None

    async def generate(
        self,
        prompt: str | Sequence[Mapping[str, Any]] | Sequence[Message],
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: Any = None,
        **params: Any,
    ) -> Generation:
        """Call the variant's LLM; token use and cost add up into the sample's.

        ``tools`` (``[{name, description, parameters}]``, see docs/conversations.md) lets the
        model call them; its calls are ``generation.tool_calls``, kept with the sample."""
        if self.llm is None:
            raise ProviderResponseError(
                "this app called ctx.generate but its variant has no 'provider:'"
            )
        parsed_tools: tuple[dict[str, Any], ...] = ()
        if tools:
            from hyouka.convo.messages import ConvoError, parse_tools

            try:
                parsed_tools = tuple(parse_tools(list(tools)))
            except ConvoError as exc:
                raise ProviderResponseError(f"ctx.generate: {exc}") from None
        request = GenerateRequest(
            messages=_as_messages(prompt),
            model=self.model,
            params=params,
            seed=self.seed,
            timeout=self.timeout,
            sample_index=self.sample_index,
            tools=parsed_tools,
            tool_choice=tool_choice,
        )
        gen = await self.llm.generate(request)
        self.usage["calls"] += 1
        self.usage["input_tokens"] += gen.input_tokens or 0
        self.usage["output_tokens"] += gen.output_tokens or 0
        self.usage["cost"] += gen.cost or 0.0
        self.tool_calls.extend(c.as_dict() for c in gen.tool_calls or ())
        self.last_messages, self.last_answer = request.messages, gen
        return gen

    def generate_sync(
        self,
        prompt: str | Sequence[Mapping[str, Any]] | Sequence[Message],
        **params: Any,
    ) -> Generation:
        """The same from a sync app function (which hyouka runs in a worker thread)."""
        future = asyncio.run_coroutine_threadsafe(self.generate(prompt, **params), self._loop)
        return future.result()

    def tool_result(self, call: ToolCall | Mapping[str, Any], result: Any) -> dict[str, Any]:
        """Record a tool's result on its call (stored with the sample, shown to judges) and
        return the tool turn to append to the conversation."""
        call_id = call.id if isinstance(call, ToolCall) else str(call.get("id"))
        name = call.name if isinstance(call, ToolCall) else str(call.get("name"))
        for stored in reversed(self.tool_calls):
            if stored.get("id") == call_id:
                stored["result"] = result
                break
        text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
        return {"role": "tool", "tool_call_id": call_id, "name": name, "content": text}

    def call_tool(
        self, name: str, arguments: Mapping[str, Any], tool: Callable[..., Any]
    ) -> list[dict[str, Any]]:
        """Run a tool the app chose itself (a router, not the model), recording the call and
        its result like a model's: returns the assistant turn that calls it and the tool turn,
        to append to the conversation."""
        call_id = f"app_{len(self.tool_calls)}"
        try:
            result = tool(**arguments)
        except Exception as exc:  # the tool's failure is part of the trajectory
            result = {"error": f"{type(exc).__name__}: {exc}"}
        self.tool_calls.append({"id": call_id, "name": name, "arguments": dict(arguments),
                                "result": result})  # fmt: skip
        text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
        call = {"id": call_id, "name": name, "arguments": dict(arguments), "result": result}
        return [
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call_id, "name": name, "content": text},
        ]

    def trajectory(self) -> list[dict[str, Any]] | None:
        """The last call's messages and its answer (the whole loop, when the app kept the
        conversation growing), tool results included."""
        if self.last_answer is None:
            return None
        out = [m.as_dict() for m in self.last_messages]
        answer: dict[str, Any] = {"role": "assistant", "content": self.last_answer.text}
        if self.last_answer.tool_calls:
            answer["tool_calls"] = [c.as_dict() for c in self.last_answer.tool_calls]
        out.append(answer)
        results = {c["id"]: c["result"] for c in self.tool_calls if "result" in c}
        for turn in out:
            for c in turn.get("tool_calls") or ():
                if c.get("id") in results:
                    c["result"] = results[c["id"]]
        return out


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
        trajectory = tool_calls = None
        if isinstance(result, AppResult):
            output, contexts = result.output, result.contexts
            trajectory, tool_calls = result.trajectory, result.tool_calls
        elif isinstance(result, Mapping) and "output" in result:
            output, contexts = result["output"], result.get("contexts")
            trajectory, tool_calls = result.get("trajectory"), result.get("tool_calls")
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
            tool_calls=_calls(tool_calls if tool_calls is not None else ctx.tool_calls),
            trajectory=trajectory if trajectory is not None else _agent_trajectory(ctx),
        )

    async def aclose(self) -> None:
        return None


def _calls(calls: Sequence[Mapping[str, Any]]) -> list[ToolCall] | None:
    if not calls:
        return None
    out = []
    for i, c in enumerate(calls):
        out.append(ToolCall(
            str(c.get("id") or f"call_{i}"), str(c.get("name") or ""), c.get("arguments"),
            c.get("raw"), c.get("error"), "result" in c, c.get("result"),
        ))  # fmt: skip
    return out


def _agent_trajectory(ctx: AppContext) -> list[dict[str, Any]] | None:
    # Only an app that made tool calls ran a loop worth storing; a single plain call is the
    # sample's own output already.
    return ctx.trajectory() if ctx.tool_calls else None


__all__ = ["AppContext", "AppResult", "Case", "PythonAppProvider", "import_app"]
