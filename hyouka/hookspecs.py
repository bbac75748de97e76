"""The plugin contract (pluggy). Built-ins register through these same hooks.

A third-party package exposes a module with ``@hookimpl`` functions under the entry point group
``hyouka``; see docs/plugins.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("hyouka")
hookimpl = pluggy.HookimplMarker("hyouka")


@hookspec
def register_providers(register: Callable[..., None]) -> None:
    """Call ``register(type_name, factory, check_params=None)`` for each provider type.

    ``factory(name, config: ProviderConfig, env: ProviderEnv) -> Provider``.
    ``check_params(params: Mapping[str, Any]) -> None``, optional, raises
    :class:`hyouka.errors.ConfigError` for variant ``params`` the provider would not use
    (:func:`hyouka.providers.base.reject_unknown_params` does it for a set of names). It is
    called for every prompt variant before the run starts, one param at a time, so a typo
    such as ``temprature`` is reported with its file, line and field instead of being dropped
    or failing every sample. Without it, the type takes any params.
    """


@hookspec
def register_checks(register: Callable[..., Any]) -> None:
    """Call ``register(check_class)`` for each check (see hyouka.scorers.base.Check)."""
