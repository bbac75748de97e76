"""``echo``: a deterministic fake model shipped for tests, docs and dry runs.

It answers with a template over the request (default: the last user message), so outputs are
predictable; ``{seed}`` and ``{sample}`` make repeated samples differ the way a real model's do.
Options: ``reply`` (a format string with {last}, {seed}, {sample}, {model}), ``latency_ms``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from hyouka.providers.base import BaseProvider, GenerateRequest, Generation

DEFAULT_REPLY = "{last}"


class EchoProvider(BaseProvider):
    def __init__(self, name: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(name, options)
        self.reply = str(self.options.get("reply", DEFAULT_REPLY))
        self.latency = float(self.options.get("latency_ms", 0)) / 1000

    async def generate(self, request: GenerateRequest) -> Generation:
        started = time.perf_counter()
        if self.latency:
            await asyncio.sleep(self.latency)
        last = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
        reply = request.params.get("reply", self.reply)
        text = str(reply).format(
            last=last, seed=request.seed, sample=request.sample_index, model=request.model
        )
        prompt_words = sum(len(m.content.split()) for m in request.messages)
        return Generation(
            text=text,
            input_tokens=prompt_words,
            output_tokens=len(text.split()),
            cost=0.0,
            latency_ms=(time.perf_counter() - started) * 1000,
            finish_reason="stop",
        )
