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
from hyouka.errors import MissingDependencyError, NotFoundError
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


FULL = DemoSize(support_cases=4, support_samples=3, rag_cases=5, rag_samples=1)
QUICK = DemoSize(support_cases=3, support_samples=2, rag_cases=4, rag_samples=1)


@dataclass
class DemoLoop:
    """What the demo sets up after the runs: a comparison, a human campaign, a report."""

    verdicts: list[str]
    campaign: str
    admin_link: str
    annotator_links: dict[str, str]
    report: Path
    serve_command: str


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
    if importlib.util.find_spec("xllamacpp") is None:
        raise MissingDependencyError("xllamacpp", "local", "The demo's local model")
    from hyouka.providers.llamacpp import default_model_path

    default_model_path()  # the bundled model, with its own install hint when missing
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


def _setup_loop(part: DemoPart, lang: str | None, port: int = 8300) -> DemoLoop:
    """Compare two variants, open a voting campaign with sign-in links, write the report."""
    from hyouka.analysis.verdict import pair_sentences
    from hyouka.humans.campaigns import CampaignSpec, create_campaign, get_campaign
    from hyouka.humans.people import add_annotator, list_annotators, reset_link, signin_link
    from hyouka.i18n.cli import resolve_lang
    from hyouka.report import write_report

    ws = Workspace.open(part.root)
    try:
        names = [s.name for s in part.summaries]
        result = ws.compare(names[0], *names[1:3], run=part.result.run.uid)
        language = resolve_lang(lang)
        verdicts = [line for pair in result.comparisons for line in pair_sentences(pair, language)]
        base = f"http://127.0.0.1:{port}"
        existing = {a.name for a in list_annotators(ws.store, ws.name)}
        links: dict[str, str] = {}
        for name, group, admin in (
            ("admin", "team", True),
            ("tanaka", "operators", False),
            ("sato", "operators", False),
            ("lee", "researchers", False),
        ):
            if name in existing:  # a rerun of the demo: issue fresh links
                token = reset_link(ws.store, ws.name, name)
            else:
                _, token = add_annotator(ws.store, ws.name, name, group, admin)
            links[name] = signin_link(base, token)
        campaign = f"demo-{part.result.run.uid}"
        try:
            get_campaign(ws.store, ws.name, campaign)
        except NotFoundError:
            create_campaign(
                ws.store,
                ws.name,
                part.result.run.id,
                CampaignSpec(
                    name=campaign,
                    variants=names[:2],
                    overlap=2,
                    max_samples=1,
                    seed=ws.project.config.seed,
                ),
            )
        report = write_report(
            ws.store, ws.name, part.root / "report.html", run=part.result.run.uid, lang=language
        )
        admin_link = links.pop("admin")
        return DemoLoop(
            verdicts,
            campaign,
            admin_link,
            links,
            report,
            f"hyouka serve -p {part.root} --port {port}",
        )
    finally:
        ws.close()


def run_demo(
    folder: Path,
    size: DemoSize = FULL,
    include_ja: bool = True,
    on_start: Callable[[str, Workspace], None] | None = None,
    run: Callable[..., RunResult] | None = None,
    lang: str | None = None,
) -> tuple[list[DemoPart], DemoLoop]:
    """Create and run the demo projects in ``folder``; ``run`` lets the CLI add a progress bar.

    Then, on the support-en run: compare the variants, open a pairwise voting campaign with
    sign-in links, and write the HTML report.
    """
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
    return parts, _setup_loop(parts[0], lang)
