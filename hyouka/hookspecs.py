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
    """Call ``register(type_name, factory)`` for each provider type.

    ``factory(name, config: ProviderConfig, env: ProviderEnv) -> Provider``.
    """


@hookspec
def register_checks(register: Callable[..., Any]) -> None:
    """Call ``register(check_class)`` for each check (see hyouka.scorers.base.Check)."""
