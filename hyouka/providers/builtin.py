"""Built-in provider types, registered through the same hook as plugins."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hyouka.config import ProviderConfig
from hyouka.hookspecs import hookimpl
from hyouka.providers.base import GenerateRequest, Pricing, Provider
from hyouka.providers.http import HttpTransport


@dataclass(frozen=True)
class ProviderEnv:
    """What a provider factory may need besides its config."""

    root: Path
    transport: HttpTransport | None = None


def _pricing(config: ProviderConfig) -> Pricing | None:
    if config.pricing is None:
        return None
    return Pricing(config.pricing.input_per_mtok, config.pricing.output_per_mtok)


def make_openai(name: str, config: ProviderConfig, env: ProviderEnv) -> Provider:
    from hyouka.providers.openai_compat import OpenAICompatProvider, api_key_from_env

    return OpenAICompatProvider(
        name,
        model=config.model,
        base_url=config.base_url,
        api_key=api_key_from_env(config.api_key_env, name),
        headers=config.headers,
        pricing=_pricing(config),
        transport=env.transport,
        options=config.options,
    )


def make_anthropic(name: str, config: ProviderConfig, env: ProviderEnv) -> Provider:
    from hyouka.providers.anthropic import AnthropicProvider
    from hyouka.providers.openai_compat import api_key_from_env

    return AnthropicProvider(
        name,
        model=config.model,
        base_url=config.base_url,
        api_key=api_key_from_env(config.api_key_env, name),
        headers=config.headers,
        pricing=_pricing(config),
        transport=env.transport,
        options=config.options,
    )


def make_echo(name: str, config: ProviderConfig, env: ProviderEnv) -> Provider:
    from hyouka.providers.echo import EchoProvider

    return EchoProvider(name, config.options)


def make_llamacpp(name: str, config: ProviderConfig, env: ProviderEnv) -> Provider:
    from hyouka.providers.llamacpp import LlamaCppProvider

    options = dict(config.options)
    path = options.get("model_path")
    if path and not Path(str(path)).is_absolute():
        options["model_path"] = str(env.root / str(path))
    provider: Provider = LlamaCppProvider(name, options)
    return provider


def check_openai_params(params: Mapping[str, Any]) -> None:
    from hyouka.providers.openai_compat import check_params

    check_params(params)


def check_anthropic_params(params: Mapping[str, Any]) -> None:
    from hyouka.providers.anthropic import check_params

    check_params(params)


def check_llamacpp_params(params: Mapping[str, Any]) -> None:
    from hyouka.providers.llamacpp import completion_kwargs

    completion_kwargs(GenerateRequest(messages=(), params=params))


@hookimpl
def register_providers(register: Callable[..., Any]) -> None:
    # echo takes any params: its ``reply`` param, and whatever a real provider's variant had.
    register("openai", make_openai, check_openai_params)
    register("openai-compatible", make_openai, check_openai_params)
    register("anthropic", make_anthropic, check_anthropic_params)
    register("echo", make_echo)
    register("llamacpp", make_llamacpp, check_llamacpp_params)
