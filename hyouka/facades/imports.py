"""Importing outputs produced elsewhere (``hyouka import``, ``ws.imports``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyouka.errors import HyoukaError
from hyouka.facades.scope import Scope

if TYPE_CHECKING:
    from hyouka.imports.importer import ImportResult


class Imports:
    """``ws.imports.file(path, variant=…, dataset=…, run=…, format=…, skip_bad_rows=…)``."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def file(self, path: str | Path, **options: Any) -> ImportResult:
        """Import one file as a run of external variants (see :mod:`hyouka.imports.importer`).

        Options: ``variant`` (every row's variant), ``dataset`` (a project dataset to match
        case ids in, or the name of the inline cases' dataset), ``cases`` (a dataset file to
        match case ids in, e.g. ``hyouka traces to-dataset``'s), ``run`` (add to that stored
        run instead of a new one), ``format`` (jsonl | csv | promptfoo | inspect),
        ``skip_bad_rows``. Importing the same file the same way again stores nothing and
        returns ``already=True``.
        """
        from hyouka.imports.importer import ImportOptions, import_file

        if self.scope.project is None:
            raise HyoukaError("importing needs the project folder (its datasets and seed)")
        return import_file(self.scope.project, self.scope.store, path, ImportOptions(**options))
