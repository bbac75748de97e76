"""The plugin manager: built-in providers and checks, then third-party entry points."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import pluggy

from hyouka import hookspecs

ENTRY_POINT_GROUP = "hyouka"

BUILTIN_PLUGINS = (
    "hyouka.providers.builtin",
    "hyouka.scorers.builtin",
)


@functools.lru_cache(maxsize=1)
def manager() -> pluggy.PluginManager:
    import importlib

    pm = pluggy.PluginManager("hyouka")
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


def register_plugin(plugin: Any, name: str | None = None) -> None:
    """Register a plugin object at run time (tests, notebooks)."""
    manager().register(plugin, name=name)
    _providers.cache_clear()
    from hyouka.scorers import registry

    registry.reset()


ParamCheck = Callable[[Mapping[str, Any]], None]


@functools.lru_cache(maxsize=1)
def _providers() -> tuple[dict[str, Callable[..., Any]], dict[str, ParamCheck]]:
    factories: dict[str, Callable[..., Any]] = {}
    checks: dict[str, ParamCheck] = {}

    def register(
        type_name: str, factory: Callable[..., Any], check_params: ParamCheck | None = None
    ) -> None:
        factories[type_name] = factory
        checks.pop(type_name, None)
        if check_params is not None:
            checks[type_name] = check_params

    manager().hook.register_providers(register=register)
    return factories, checks


def provider_factories() -> dict[str, Callable[..., Any]]:
    """Provider factories by type name."""
    return _providers()[0]


def provider_param_checks() -> dict[str, ParamCheck]:
    """By provider type, the function that rejects params that type does not take (raising
    :class:`hyouka.errors.ConfigError`); types registered without one take any params."""
    return _providers()[1]
