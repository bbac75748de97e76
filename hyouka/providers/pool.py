"""The providers of one run: built from the config on first use, governed, shared, closed.

A :class:`ProviderPool` turns a provider name of ``hyouka.yaml`` into a
:class:`~hyouka.providers.governed.GovernedProvider`: the provider type's factory (built-in or
plugin, :func:`hyouka.plugins.provider_factories`) under its :class:`ProviderLimits` (rate
limits, calls in flight that adapt to 429s, the per-call timeout). The runner and the judges
of a run share one pool, so a provider used by both keeps what it learned about 429s and its
connections. :meth:`ProviderPool.policy` gives the timeout and retries of a call, from the
config only: a variant without a provider (a Python app) gets the config's defaults.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from hyouka.config import Project, ProviderConfig
from hyouka.errors import ConfigError
from hyouka.plugins import provider_factories
from hyouka.providers.base import GenerateRequest, Generation, Provider
from hyouka.providers.builtin import ProviderEnv
from hyouka.providers.calls import call_with_retries
from hyouka.providers.governed import GovernedProvider
from hyouka.providers.http import HttpTransport
from hyouka.providers.limits import ProviderLimits, SlotsReport


@dataclass(frozen=True)
class CallPolicy:
    """How long one call may take and how often a retryable failure is tried again."""

    timeout: float
    max_retries: int


# A variant with no provider (a Python app on its own) is called under the config's defaults.
DEFAULT_POLICY = CallPolicy(
    timeout=float(ProviderConfig.model_fields["timeout"].default),
    max_retries=int(ProviderConfig.model_fields["max_retries"].default),
)


class ProviderPool:
    """The governed providers of one run (or one judging pass), by provider name."""

    def __init__(
        self,
        project: Project,
        *,
        concurrency: int | None = None,
        transport: HttpTransport | None = None,
    ) -> None:
        self.project = project
        self.concurrency = concurrency or project.config.concurrency
        self.env = ProviderEnv(project.root, transport)
        self.providers: dict[str, GovernedProvider] = {}
        self.limits: dict[str, ProviderLimits] = {}
        self._policies: dict[str | None, CallPolicy] = {}  # asked twice per sample: kept

    def get(self, name: str, *, role: str = "provider") -> GovernedProvider:
        """The provider ``name`` (built on first use); ``role`` names it in errors."""
        found = self.providers.get(name)
        if found is not None:
            return found
        config = self.project.config.providers.get(name)
        if config is None:
            known = ", ".join(sorted(self.project.config.providers)) or "none defined"
            raise ConfigError(f"{role} '{name}' is not in providers (known: {known})")
        factories = provider_factories()
        factory = factories.get(config.type)
        if factory is None:
            raise ConfigError(
                f"{role} '{name}' has an unknown type '{config.type}' "
                f"(known: {', '.join(sorted(factories))})",
                self.project.locate("providers", name, "type"),
                f"providers.{name}.type",
            )
        inner: Provider = factory(name, config, self.env)
        limits = ProviderLimits(
            config.rpm,
            config.tpm,
            # A provider may declare how many calls it can serve at once (llamacpp: its slots).
            config.concurrency or getattr(inner, "max_concurrency", None),
            adaptive=config.adaptive,
            run_concurrency=self.concurrency,
        )
        self.limits[name] = limits
        governed = self.providers[name] = GovernedProvider(inner, limits)
        return governed

    async def generate(self, name: str, request: GenerateRequest) -> Generation:
        """One call to provider ``name`` with its retries; raises the last failure."""
        outcome = await call_with_retries(
            lambda: self.get(name).generate(request), self.policy(name).max_retries
        )
        if outcome.generation is None:
            assert outcome.exception is not None
            raise outcome.exception
        return outcome.generation

    def policy(self, name: str | None) -> CallPolicy:
        """Timeout and retries for calls to provider ``name`` (None: a variant without one)."""
        found = self._policies.get(name)
        if found is None:
            config = self.project.config.providers.get(name) if name else None
            found = (
                DEFAULT_POLICY if config is None else CallPolicy(config.timeout, config.max_retries)
            )
            self._policies[name] = found
        return found

    def reports(self) -> dict[str, SlotsReport]:
        """Per provider whose calls in flight adapt: how they went (cut by 429s or not)."""
        return {
            name: limits.slots.report()
            for name, limits in sorted(self.limits.items())
            if limits.slots is not None and limits.slots.adaptive
        }

    async def aclose(self) -> None:
        """Close every provider built (connections, model processes); errors are ignored."""
        for provider in self.providers.values():
            with contextlib.suppress(Exception):
                await provider.aclose()
