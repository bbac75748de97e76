"""The plugin manager: built-in providers and checks, then third-party entry points."""

from __future__ import annotations

import functools
from collections.abc import Callable
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
    provider_factories.cache_clear()
    from hyouka.scorers import registry

    registry.reset()


@functools.lru_cache(maxsize=1)
def provider_factories() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}

    def register(type_name: str, factory: Callable[..., Any]) -> None:
        found[type_name] = factory

    manager().hook.register_providers(register=register)
    return found
