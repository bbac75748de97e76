"""A third-party plugin as a package would ship it: one implementation of every hook.

tests/test_plugins.py registers it through the real plugin manager and runs a project with its
provider type and its check; it also checks that every hook in hyouka/hookspecs.py is
implemented here and documented in docs/plugins.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hyouka.config import ProviderConfig
from hyouka.hookspecs import hookimpl
from hyouka.providers.base import BaseProvider, GenerateRequest, Generation, reject_unknown_params
from hyouka.providers.builtin import ProviderEnv
from hyouka.scorers.base import Check, CheckMeta, CheckResult, SampleView


class ReverseProvider(BaseProvider):
    """Answers with the prompt backwards, plus the variant's ``suffix`` param."""

    async def generate(self, request: GenerateRequest) -> Generation:
        text = request.messages[-1].content[::-1] + str(request.params.get("suffix", ""))
        return Generation(text=text, input_tokens=len(request.messages[-1].content),
                          output_tokens=len(text), latency_ms=0.0)  # fmt: skip


def make_reverse(name: str, config: ProviderConfig, env: ProviderEnv) -> ReverseProvider:
    return ReverseProvider(name, config.options)


def check_reverse_params(params: Mapping[str, Any]) -> None:
    reject_unknown_params(params, {"suffix"}, "reverse")


class EndsWithBang(Check):
    meta = CheckMeta(
        "ends-with-bang", "Ends with !", "！で終わる",
        "Passes when the output ends with an exclamation mark.", "出力が ! で終われば合格。",
    )  # fmt: skip

    def score(self, sample: SampleView) -> CheckResult:
        ok = sample.output.rstrip().endswith(("!", "！"))
        return CheckResult(1.0 if ok else 0.0, ok, "ends with !" if ok else "no ! at the end")


@hookimpl
def register_providers(register: Callable[..., None]) -> None:
    register("reverse", make_reverse, check_reverse_params)


@hookimpl
def register_checks(register: Callable[..., Any]) -> None:
    register(EndsWithBang)
