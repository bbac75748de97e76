"""OpenAI-compatible chat completions: OpenAI, vLLM, Ollama, llama.cpp server, LM Studio, and
most Japanese LLM APIs. Base URL, key from an env var, extra headers."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import orjson

from hyouka.convo.messages import (
    openai_message,
    openai_tool_calls,
    openai_tools,
    tool_choice_openai,
)
from hyouka.errors import ConfigError, ProviderResponseError
from hyouka.providers.base import (
    BaseProvider,
    GenerateRequest,
    Generation,
    Message,
    Pricing,
    reject_unknown_params,
)
from hyouka.providers.http import AiohttpTransport, HttpTransport, check_response

# Parameters passed through to the API as they are.
PASSTHROUGH = {
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "response_format",
    "top_k",
    "min_p",
    "repetition_penalty",
    "reasoning_effort",
    "n",
}

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def check_params(params: Mapping[str, Any]) -> None:
    """Reject params :meth:`OpenAICompatProvider.build_body` would drop (``extra_<name>``
    passes any other body field through)."""
    reject_unknown_params(
        {k: v for k, v in params.items() if not k.startswith("extra_")},
        PASSTHROUGH,
        "openai",
        ", and extra_<field> for any other field of the request body (the run seeds each "
        "sample itself: seed in hyouka.yaml)",
    )


def api_key_from_env(env_name: str | None, provider: str) -> str | None:
    if not env_name:
        return None
    key = os.environ.get(env_name)
    if not key:
        raise ConfigError(
            f"the environment variable {env_name} (api_key_env of provider '{provider}') is not set"
        )
    return key


def wire(m: Message) -> dict[str, Any]:
    """A message in the chat-completions form, built once per Message object and kept on it
    (a conversation case's turns are the same objects in every call: measured, rebuilding
    them was a tenth of the per-call CPU of 10-turn cases). Shared: never mutate it.

    Plain turns keep their historical ``{role, content}`` shape, so the prompt keys of stored
    runs stay the same."""
    found: dict[str, Any] | None = m.__dict__.get("_wire")
    if found is None:
        found = openai_message(m) if m.tool_calls or m.tool_call_id or m.name else m.as_dict()
        object.__setattr__(m, "_wire", found)  # a cache of derived data on a frozen object
    return found


def _messages(request: GenerateRequest) -> list[dict[str, Any]]:
    return [wire(m) for m in request.messages]


class OpenAICompatProvider(BaseProvider):
    """POST {base_url}/chat/completions."""

    def __init__(
        self,
        name: str,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        pricing: Pricing | None = None,
        transport: HttpTransport | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(name, options)
        self.model = model
        self.url = (base_url or DEFAULT_BASE_URL).rstrip("/") + "/chat/completions"
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.pricing = pricing
        self._owns_transport = transport is None
        self.transport: HttpTransport = transport or AiohttpTransport()

    def build_body(self, request: GenerateRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model or self.model,
            "messages": _messages(request),
        }
        if request.tools:
            body["tools"] = openai_tools(request.tools)
            if request.tool_choice is not None:
                body["tool_choice"] = tool_choice_openai(request.tool_choice)
        for key, value in request.params.items():
            if key in PASSTHROUGH or key.startswith("extra_"):
                body[key.removeprefix("extra_")] = value
        if request.seed is not None:
            body["seed"] = request.seed
        return body

    async def generate(self, request: GenerateRequest) -> Generation:
        body = self.build_body(request)
        started = time.perf_counter()
        resp = await self.transport.post(
            self.url, orjson.dumps(body), self.headers, request.timeout
        )
        latency = (time.perf_counter() - started) * 1000
        data = check_response(resp, self.url)
        return self.parse(data, body, latency)

    def parse(self, data: Any, body: dict[str, Any], latency_ms: float) -> Generation:
        try:
            choice = data["choices"][0]
            message = choice["message"]
            text = message.get("content") or ""
            calls = openai_tool_calls(message)
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ProviderResponseError(
                f"{self.url} answered without choices[0].message: {str(data)[:200]}",
                retryable=True,
            ) from None
        usage = data.get("usage") or {}
        tokens_in = usage.get("prompt_tokens")
        tokens_out = usage.get("completion_tokens")
        cost = self.pricing.cost(tokens_in, tokens_out) if self.pricing else None
        return Generation(
            text=text,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost=cost,
            latency_ms=latency_ms,
            finish_reason=choice.get("finish_reason"),
            raw_request=body,
            raw_response=data,
            tool_calls=calls,
        )

    async def aclose(self) -> None:
        if self._owns_transport:
            await self.transport.aclose()
