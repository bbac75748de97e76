"""The Python API: the one front door that the CLI and the web app call.

A :class:`Workspace` is a project and its store. It runs, scores and shows runs, answers the
statistical questions (compare, ranking, agreement), and hands out the facades of the other
areas, each bound to this project: ``ws.campaigns``, ``ws.people``, ``ws.api_keys``,
``ws.judgments`` (human evaluation, :mod:`hyouka.facades.humans`), ``ws.feedback`` (complaints
→ checks and the gate) and ``ws.reports`` (:mod:`hyouka.facades.loop`), ``ws.traces``
(production traces received over OpenTelemetry, :mod:`hyouka.facades.traces`). Defaults and bounds
come from the typed config, resolved there once.

>>> ws = Workspace.open("path/to/project")
>>> result = ws.run(samples=3)
>>> ws.show(result.run.uid)
>>> campaign = ws.campaigns.create("round-1", run=result.run.uid)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyouka.config import Project, load_config
from hyouka.facades import Front, Scope
from hyouka.store.store import RunInfo, Store
from hyouka.summary import (
    ErrorCause,
    VariantSummary,
    error_causes,
    failed_examples,
    summarize_run,
)

if TYPE_CHECKING:
    from hyouka.runner.run import Progress, RunResult
    from hyouka.scorers.judge_report import JudgeSummary
    from hyouka.scorers.scoring import ScoreReport

if TYPE_CHECKING:
    from hyouka.analysis import AgreementReport, CompareResult, RankingReport


__all__ = ["Workspace", "schema_revisions", "upgrade_schema"]


class Workspace(Front):
    """A project and its store; the facades of :class:`~hyouka.facades.Front` over them."""

    def __init__(self, project: Project, store: Store) -> None:
        self.project = project
        self.store = store
        super().__init__(Scope(store, project.config.name, project))

    @classmethod
    def open(cls, root: str | Path = ".", database_url: str | None = None) -> Workspace:
        project = load_config(root)
        store = Store.open(database_url or project.database_url())
        return cls(project, store)

    @property
    def name(self) -> str:
        return self.project.config.name

    def close(self) -> None:
        self.store.close()

    # -- runs -------------------------------------------------------------------------------

    def run(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        **options: Any,
    ) -> RunResult:
        """Run the project's variants over its datasets (see :class:`RunOptions`)."""
        return asyncio.run(self.arun(on_progress, **options))

    async def arun(
        self, on_progress: Callable[[Progress], None] | None = None, **options: Any
    ) -> RunResult:
        # Imported here: the runner brings the HTTP stack (aiohttp, ~0.1 s), which the
        # commands that only read the store do not need.
        from hyouka.runner.run import Runner, RunOptions

        runner = Runner(self.project, self.store, RunOptions(**options), on_progress)
        return await runner.execute()

    def score(self, ref: str = "latest", **options: Any) -> ScoreReport:
        """(Re)score a stored run without regenerating it (see
        :func:`hyouka.scorers.scoring.score_run`)."""
        from hyouka.scorers.scoring import score_run

        return score_run(self.project, self.store, ref, **options)

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        return self.store.list_runs(self.name, limit)

    def get_run(self, ref: str = "latest") -> RunInfo:
        return self.store.get_run(ref, self.name)

    def show(self, ref: str = "latest") -> tuple[RunInfo, list[VariantSummary]]:
        run = self.get_run(ref)
        return run, summarize_run(self.store, run.id)

    def errors(self, ref: str = "latest") -> list[ErrorCause]:
        """The distinct causes of the run's failed samples, with counts and one example each."""
        return error_causes(self.store, self.get_run(ref).id)

    def failures(self, ref: str = "latest", per_check: int = 3) -> dict[str, list[dict[str, Any]]]:
        return failed_examples(self.store, self.get_run(ref).id, per_check)

    def judges(self, ref: str = "latest") -> list[JudgeSummary]:
        """The run's judges: calls, cost, parse failures, self-agreement, position bias."""
        from hyouka.scorers.judge_report import judge_report

        return judge_report(self.store, self.get_run(ref).id)

    # -- statistics (hyouka.analysis) -------------------------------------------------------

    def compare(
        self, a: str, *b: str, run: str = "latest", metrics: Sequence[str] = (), **options: Any
    ) -> CompareResult:
        """B − A for each of ``b`` against baseline ``a`` on every shared check metric.

        Options: ``delta`` (0.05), ``seed`` (the run's), ``level`` (0.95; α = 1 − level),
        ``power`` (see :func:`hyouka.analysis.compare_variants`).
        """
        from hyouka.analysis import compare_variants

        return compare_variants(self.store, self.get_run(run), a, b, metrics=metrics, **options)

    def ranking(
        self, campaign: str | None = None, *, run: str = "latest", **options: Any
    ) -> RankingReport:
        """Bradley–Terry ranking of a campaign's (or a run's) human and judge votes.

        Options: ``sources`` (("human", "judge")), ``n_boot``, ``seed``, ``alpha``.
        """
        from hyouka.analysis import rank_votes
        from hyouka.analysis.data import judgments_for

        run_info = None if campaign is not None else self.get_run(run)
        scope, js, _ = judgments_for(self.store, self.name, campaign=campaign, run=run_info)
        return rank_votes(js, scope, **options)

    def agreement(
        self, campaign: str, *, judge_metric: str | None = None, **options: Any
    ) -> AgreementReport:
        """Rater agreement, disputes, group preferences, judge vs humans and PPI++.

        ``judge_metric`` names a score metric (e.g. a judge rubric) to combine with the human
        ratings by PPI++. Options: ``n_boot``, ``seed``, ``min_overlap``, ``top``,
        ``ppi_min_labels`` (30: fewer human labels and PPI++ is listed as not estimated).
        """
        from hyouka.analysis import campaign_agreement
        from hyouka.analysis.data import judgments_for, metric_by_sample, sample_keys

        _, js, info = judgments_for(self.store, self.name, campaign=campaign)
        assert info is not None
        scores = {}
        if judge_metric:
            scores[judge_metric] = metric_by_sample(self.store, info.run_id, judge_metric)
        keys = sample_keys(self.store, info.run_id, info.variant_ids or list(js.variants))
        return campaign_agreement(js, info.name, judge_scores=scores, sample_keys=keys, **options)

    # -- variants ---------------------------------------------------------------------------

    def variant_history(self, name: str | None = None) -> list[dict[str, Any]]:
        return self.store.variant_history(self.name, name)

    def current_variants(self) -> list[dict[str, Any]]:
        from hyouka.variants import resolve_variants

        return [
            {
                "name": v.name,
                "version": v.version,
                "kind": v.kind,
                "provider": v.provider,
                "model": v.model,
                "params": v.params,
            }
            for v in resolve_variants(self.project)
        ]

    # -- export -----------------------------------------------------------------------------

    def export(
        self, ref: str, path: Path, fmt: str | None = None, variants: Sequence[str] | None = None
    ) -> int:
        from hyouka.export import export_run

        return export_run(self.store, self.get_run(ref), path, fmt, variants)


# -- the store's schema (a store not at hyouka's schema cannot be opened as a Workspace) ------


def _store_url(root: str | Path, database_url: str | None) -> str:
    return database_url or load_config(root).database_url()


def schema_revisions(
    root: str | Path = ".", database_url: str | None = None
) -> tuple[str | None, str]:
    """The store's schema revision (None: empty) and the one this hyouka expects."""
    from hyouka.store import db

    engine = db.create(_store_url(root, database_url))
    return db.current_revision(engine), db.head_revision()


def upgrade_schema(
    root: str | Path = ".", database_url: str | None = None, revision: str = "head"
) -> tuple[str | None, str | None]:
    """Apply the schema migrations up to ``revision``; the revisions before and after."""
    from hyouka.store import db

    engine = db.create(_store_url(root, database_url))
    before = db.current_revision(engine)
    db.upgrade(engine, revision)
    return before, db.current_revision(engine)
