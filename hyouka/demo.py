"""``hyouka demo``: the whole loop, offline, on the embedded local model.

Creates two projects in a folder — ``support-en`` (an English support assistant, three prompt
variants, repeated samples) and ``rag-ja`` (Japanese retrieval-augmented QA from JSQuAD with an
extractive baseline) — runs them on SmolLM2-135M-Instruct in process, and returns what a user
needs to see: per-variant results, failing checks with reasons, and what to run next.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hyouka.api import Workspace
from hyouka.errors import MissingDependencyError
from hyouka.projects import copy_example
from hyouka.runner.run import RunResult
from hyouka.summary import VariantSummary


@dataclass(frozen=True)
class DemoSize:
    """How much of each example to run: sized to finish in a few minutes on 2 CPU cores."""

    support_cases: int | None
    support_samples: int
    rag_cases: int | None
    rag_samples: int


FULL = DemoSize(support_cases=None, support_samples=3, rag_cases=12, rag_samples=1)
QUICK = DemoSize(support_cases=3, support_samples=2, rag_cases=4, rag_samples=1)


@dataclass
class DemoPart:
    name: str
    root: Path
    result: RunResult
    summaries: list[VariantSummary]
    failures: dict[str, list[dict[str, Any]]]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def check_requirements(include_ja: bool) -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        raise MissingDependencyError("llama-cpp-python", "local", "The demo's local model")
    if include_ja and importlib.util.find_spec("fugashi") is None:
        raise MissingDependencyError("fugashi", "ja", "The Japanese RAG demo")


def _run_part(
    example: str,
    root: Path,
    cases: int | None,
    samples: int,
    on_start: Callable[[str, Workspace], None] | None,
    run: Callable[..., RunResult] | None,
) -> DemoPart:
    if not (root / "hyouka.yaml").exists():
        copy_example(example, root)
    ws = Workspace.open(root)
    try:
        if on_start is not None:
            on_start(example, ws)
        started = time.perf_counter()
        options: dict[str, Any] = {"samples": samples, "limit": cases}
        result = run(ws, **options) if run is not None else ws.run(**options)
        seconds = time.perf_counter() - started
        _, summaries = ws.show(result.run.uid)
        failures = ws.failures(result.run.uid, per_check=2)
        return DemoPart(example, root, result, summaries, failures, seconds)
    finally:
        ws.close()


def run_demo(
    folder: Path,
    size: DemoSize = FULL,
    include_ja: bool = True,
    on_start: Callable[[str, Workspace], None] | None = None,
    run: Callable[..., RunResult] | None = None,
) -> list[DemoPart]:
    """Create and run the demo projects in ``folder``; ``run`` lets the CLI add a progress bar."""
    check_requirements(include_ja)
    folder.mkdir(parents=True, exist_ok=True)
    parts = [
        _run_part(
            "support-en",
            folder / "support-en",
            size.support_cases,
            size.support_samples,
            on_start,
            run,
        )
    ]
    if include_ja:
        parts.append(
            _run_part("rag-ja", folder / "rag-ja", size.rag_cases, size.rag_samples, on_start, run)
        )
    return parts
