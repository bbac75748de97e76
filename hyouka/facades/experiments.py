"""Live experiments through the front door: declared in hyouka.yaml, synced to the store,
started, stopped, ramped, and analysed; the widget's publishable keys.

``hyouka experiments ...``, the admin pages and ``/api/assign`` / ``/api/events`` call these.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from hyouka.errors import HyoukaError
from hyouka.experiments import queries as q
from hyouka.facades.scope import Scope

if TYPE_CHECKING:
    from hyouka.experiments.analysis import ExperimentReport
    from hyouka.experiments.spec import ExperimentConfig


class Experiments:
    """The project's experiments (hyouka.yaml's ``experiments:``, as stored)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def declared(self) -> dict[str, ExperimentConfig]:
        return dict(self.scope.project.config.experiments) if self.scope.project else {}

    def sync(self, by: str = "") -> builtins.list[q.SyncChange]:
        """Store the declared experiments (new: draft) and any change of weights or ramp."""
        if self.scope.project is None:
            raise HyoukaError("this needs the project folder (run it where hyouka.yaml is)")
        changes = q.sync_experiments(
            self.scope.store, self.scope.name, self.declared(), self.scope.seed, by
        )
        q.forget_cache()
        return changes

    def list(self) -> builtins.list[q.ExperimentState]:
        return q.list_experiments(self.scope.store, self.scope.name)

    def get(self, name: str) -> q.ExperimentState:
        return q.get_experiment(self.scope.store, self.scope.name, name)

    def _synced(self, name: str, by: str) -> None:
        if self.scope.project is not None and name in self.declared():
            self.sync(by)

    def start(self, name: str, by: str = "") -> q.ExperimentState:
        """Start (or restart) assigning units; syncs hyouka.yaml first when it is known."""
        self._synced(name, by)
        state = q.set_status(self.scope.store, self.scope.name, name, "running", by)
        q.forget_cache()
        return state

    def stop(self, name: str, by: str = "") -> q.ExperimentState:
        """Stop: every unit gets the control again; the data stay for the analysis."""
        state = q.set_status(self.scope.store, self.scope.name, name, "stopped", by)
        q.forget_cache()
        return state

    def ramp(self, name: str, share: float, by: str = "") -> q.ExperimentState:
        """Enrol ``share`` (0–1] of the units (raising it only adds units)."""
        state = self.get(name)
        new = q.set_status(self.scope.store, self.scope.name, name, state.status, by, ramp=share)
        q.forget_cache()
        return new

    def allocations(self) -> builtins.list[dict[str, Any]]:
        return q.allocations(self.scope.store, self.scope.name)

    def ingest(self, events: Sequence[q.EventIn]) -> q.IngestResult:
        return q.insert_events(self.scope.store, self.scope.name, events)

    def config_of(self, name: str, state: q.ExperimentState | None = None) -> ExperimentConfig:
        from hyouka.experiments.spec import ExperimentConfig

        found = self.declared().get(name)
        if found is not None:
            return found
        state = state or self.get(name)
        return ExperimentConfig(variants=list(state.variants), control=state.control)

    def show(self, name: str) -> ExperimentReport:
        """The live analysis (docs/experiments.md, "Reading the results")."""
        from hyouka.experiments.analysis import analyse

        state = self.get(name)
        data = q.experiment_data(self.scope.store, self.scope.name, name)
        return analyse(state, self.config_of(name, state), data)


class WidgetKeys:
    """Publishable keys of the feedback widget (feedback only, one project, listed origins)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def add(self, name: str, origins: Iterable[str]) -> tuple[q.WidgetKey, str]:
        return q.add_widget_key(self.scope.store, self.scope.name, name, origins)

    def list(self) -> builtins.list[q.WidgetKey]:
        return q.list_widget_keys(self.scope.store, self.scope.name)

    def disable(self, name: str) -> None:
        q.disable_widget_key(self.scope.store, self.scope.name, name)
