"""The front door's rooms: what the CLI, the web app and Python code call, grouped by area.

:class:`hyouka.api.Workspace` hands these out (``ws.campaigns``, ``ws.people``,
``ws.api_keys``, ``ws.judgments``, ``ws.feedback``, ``ws.reports``); the web app builds the
same :class:`Front` over its own :class:`~hyouka.facades.scope.Scope`. Each facade is bound to
one scope — a store, the project's name and, when the folder is known, its
:class:`~hyouka.config.Project` — so no
method takes ``(store, project_name, project)``, and each default is resolved here, once, from
the typed config (``human.overlap``, ``human.rubric``, ``seed``, …).

- :mod:`hyouka.facades.humans`: campaigns, people, API keys, judgments;
- :mod:`hyouka.facades.judging`: the annotator's screens (next item, submit, skip);
- :mod:`hyouka.facades.loop`: complaints → checks (feedback), the gate, the report;
- :mod:`hyouka.facades.imports`: outputs produced elsewhere (``hyouka import``).
- :mod:`hyouka.facades.traces`: production traces received over OpenTelemetry.
- :mod:`hyouka.facades.experiments`: live experiments and the widget's keys.
- :mod:`hyouka.facades.workbench`: runs, the case grid, compare, versions (``/team/``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from hyouka.facades.scope import Scope

if TYPE_CHECKING:
    from hyouka.facades.experiments import Experiments, WidgetKeys
    from hyouka.facades.humans import ApiKeys, Campaigns, Judgments, People
    from hyouka.facades.imports import Imports
    from hyouka.facades.judging import Judging
    from hyouka.facades.loop import Feedback, Reports
    from hyouka.facades.traces import Traces
    from hyouka.facades.workbench import Workbench

__all__ = ["Front", "Scope"]


class Front:
    """The facades over one scope, made on first use: what the Workspace and the web share."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    @functools.cached_property
    def campaigns(self) -> Campaigns:
        from hyouka.facades.humans import Campaigns

        return Campaigns(self.scope)

    @functools.cached_property
    def people(self) -> People:
        from hyouka.facades.humans import People

        return People(self.scope)

    @functools.cached_property
    def api_keys(self) -> ApiKeys:
        from hyouka.facades.humans import ApiKeys

        return ApiKeys(self.scope)

    @functools.cached_property
    def judgments(self) -> Judgments:
        from hyouka.facades.humans import Judgments

        return Judgments(self.scope)

    @functools.cached_property
    def feedback(self) -> Feedback:
        from hyouka.facades.loop import Feedback

        return Feedback(self.scope)

    @functools.cached_property
    def reports(self) -> Reports:
        from hyouka.facades.loop import Reports

        return Reports(self.scope)

    @functools.cached_property
    def judging(self) -> Judging:
        from hyouka.facades.judging import Judging

        return Judging(self.scope)

    @functools.cached_property
    def imports(self) -> Imports:
        from hyouka.facades.imports import Imports

        return Imports(self.scope)

    @functools.cached_property
    def traces(self) -> Traces:
        from hyouka.facades.traces import Traces

        return Traces(self.scope)

    @functools.cached_property
    def experiments(self) -> Experiments:
        from hyouka.facades.experiments import Experiments

        return Experiments(self.scope)

    @functools.cached_property
    def widget_keys(self) -> WidgetKeys:
        from hyouka.facades.experiments import WidgetKeys

        return WidgetKeys(self.scope)

    @functools.cached_property
    def workbench(self) -> Workbench:
        """The team's workbench: runs, the case grid, two variants compared, versions."""
        from hyouka.facades.workbench import Workbench

        return Workbench(self.scope)
