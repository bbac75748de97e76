"""The plugin manager and every registry built from it: provider types and check classes.

Built-in providers and checks register through the same hooks as third-party plugins
(``hookspecs.py``; the entry point group ``hyouka``; see docs/plugins.md). Each registry is
built on first use and kept; :func:`reset` forgets them all, so that they are rebuilt from
the plugins registered now (tests call it when they take a plugin away).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
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

ParamCheck = Callable[[Mapping[str, Any]], None]


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
    _providers.cache_clear()
    check_classes.cache_clear()


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
    """Every provider factory by type name (``register_providers``)."""
    return _providers()[0]


def provider_param_checks() -> dict[str, ParamCheck]:
    """By provider type, the function that rejects params that type does not take (raising
    :class:`hyouka.errors.ConfigError`); types registered without one take any params."""
    return _providers()[1]


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
