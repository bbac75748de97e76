"""The Python API. The CLI and the web app only call this.

>>> ws = Workspace.open("path/to/project")
>>> result = ws.run(samples=3)
>>> ws.show(result.run.uid)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hyouka.config import Project, load_config
from hyouka.runner.run import Progress, RunOptions, Runner, RunResult
from hyouka.store.store import RunInfo, Store
from hyouka.summary import VariantSummary, failed_examples, summarize_run


class Workspace:
    """A project and its store."""

    def __init__(self, project: Project, store: Store) -> None:
        self.project = project
        self.store = store

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
        runner = Runner(self.project, self.store, RunOptions(**options), on_progress)
        return asyncio.run(runner.execute())

    async def arun(
        self, on_progress: Callable[[Progress], None] | None = None, **options: Any
    ) -> RunResult:
        runner = Runner(self.project, self.store, RunOptions(**options), on_progress)
        return await runner.execute()

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        return self.store.list_runs(self.name, limit)

    def get_run(self, ref: str = "latest") -> RunInfo:
        return self.store.get_run(ref, self.name)

    def show(self, ref: str = "latest") -> tuple[RunInfo, list[VariantSummary]]:
        run = self.get_run(ref)
        return run, summarize_run(self.store, run.id)

    def failures(self, ref: str = "latest", per_check: int = 3) -> dict[str, list[dict[str, Any]]]:
        return failed_examples(self.store, self.get_run(ref).id, per_check)

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

    def export(self, ref: str, path: Path, fmt: str | None = None,
               variants: Sequence[str] | None = None) -> int:
        from hyouka.export import export_run

        return export_run(self.store, self.get_run(ref), path, fmt, variants)
