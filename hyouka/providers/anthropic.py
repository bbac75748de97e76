"""Anthropic Messages API over the same lean HTTP path as the OpenAI-compatible provider."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from hyouka.convo.messages import (
    anthropic_messages,
    anthropic_tool_calls,
    anthropic_tools,
    tool_choice_anthropic,
)
from hyouka.errors import ProviderResponseError
from hyouka.providers.base import (
    BaseProvider,
    GenerateRequest,
    Generation,
    Pricing,
    reject_unknown_params,
)
from hyouka.providers.http import AiohttpTransport, HttpTransport, check_response

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
PASSTHROUGH = {"temperature", "top_p", "top_k", "max_tokens", "stop_sequences", "metadata"}


def check_params(params: Mapping[str, Any]) -> None:
    """Reject params :meth:`AnthropicProvider.build_body` would drop (``stop`` becomes
    ``stop_sequences``)."""
    reject_unknown_params(
        params, PASSTHROUGH | {"stop"}, "anthropic", " (Anthropic has no seed parameter)"
    )


class AnthropicProvider(BaseProvider):
    """POST {base_url}/v1/messages. Anthropic has no seed parameter; samples differ freely."""

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
        self.url = (base_url or DEFAULT_BASE_URL).rstrip("/") + "/v1/messages"
        self.headers = {
            "Content-Type": "application/json",
            "anthropic-version": API_VERSION,
            **(headers or {}),
        }
        if api_key:
            self.headers["x-api-key"] = api_key
        self.pricing = pricing
        self._owns_transport = transport is None
        self.transport: HttpTransport = transport or AiohttpTransport()

    def build_body(self, request: GenerateRequest) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        body: dict[str, Any] = {
            "model": request.model or self.model,
            "max_tokens": 1024,
            "messages": anthropic_messages(request.messages),
        }
        if system:
            body["system"] = system
        if request.tools:
            body["tools"] = anthropic_tools(request.tools)
            if request.tool_choice is not None:
                body["tool_choice"] = tool_choice_anthropic(request.tool_choice)
        for key, value in request.params.items():
            if key in PASSTHROUGH:
                body[key] = value
        if "stop" in request.params:
            stop = request.params["stop"]
            body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        return body

    async def generate(self, request: GenerateRequest) -> Generation:
        body = self.build_body(request)
        started = time.perf_counter()
        resp = await self.transport.post(
            self.url, orjson.dumps(body), self.headers, request.timeout
        )
        latency = (time.perf_counter() - started) * 1000
        if resp.status == 529:  # overloaded: Anthropic's own retryable status
            resp = type(resp)(503, resp.headers, resp.body)
        data = check_response(resp, self.url)
        try:
            text = "".join(
                block.get("text", "") for block in data["content"] if block.get("type") == "text"
            )
            calls = anthropic_tool_calls(data["content"])
        except (KeyError, TypeError, AttributeError):
            raise ProviderResponseError(
                f"{self.url} answered without content blocks: {str(data)[:200]}", retryable=True
            ) from None
        usage = data.get("usage") or {}
        tokens_in, tokens_out = usage.get("input_tokens"), usage.get("output_tokens")
        return Generation(
            text=text,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost=self.pricing.cost(tokens_in, tokens_out) if self.pricing else None,
            latency_ms=latency,
            finish_reason=data.get("stop_reason"),
            raw_request=body,
            raw_response=data,
            tool_calls=calls,
        )

    async def aclose(self) -> None:
        if self._owns_transport:
            await self.transport.aclose()
