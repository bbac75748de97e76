"""The plugin manager and every registry built from it: provider types and check classes.

Built-in providers and checks register through the same hooks as third-party plugins
(``hookspecs.py``; the entry point group ``hyouka``; see docs/plugins.md). Each registry is
built on first use and kept; :func:`reset` forgets them all, so that they are rebuilt from
the plugins registered now (tests call it when they take a plugin away).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

from hyouka import hookspecs

if TYPE_CHECKING:
    from hyouka.scorers.base import Check

ENTRY_POINT_GROUP = "hyouka"

BUILTIN_PLUGINS = (
    "hyouka.providers.builtin",
    "hyouka.scorers.builtin",
)


@functools.lru_cache(maxsize=1)
def manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("hyouka")
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


def register_plugin(plugin: Any, name: str | None = None) -> None:
    """Register a plugin object at run time (tests, notebooks)."""
    manager().register(plugin, name=name)
    reset()


def unregister_plugin(plugin: Any) -> None:
    """Take a plugin registered with :func:`register_plugin` away again."""
    manager().unregister(plugin)
    reset()


def reset() -> None:
    """Forget every registry built from the plugins; each is rebuilt when next used."""
    provider_factories.cache_clear()
    check_classes.cache_clear()


@functools.lru_cache(maxsize=1)
def provider_factories() -> dict[str, Callable[..., Any]]:
    """Every provider factory by type name (``register_providers``)."""
    found: dict[str, Callable[..., Any]] = {}

    def register(type_name: str, factory: Callable[..., Any]) -> None:
        found[type_name] = factory

    manager().hook.register_providers(register=register)
    return found


@functools.lru_cache(maxsize=1)
def check_classes() -> dict[str, type[Check]]:
    """Every check class by type name (``register_checks``)."""
    found: dict[str, type[Check]] = {}

    def register(cls: type[Check]) -> None:
        meta = getattr(cls, "meta", None)
        if meta is None:
            raise TypeError(f"check class {cls.__name__} has no 'meta' (CheckMeta)")
        found[meta.name] = cls

    manager().hook.register_checks(register=register)
    return found
