"""``hyouka demo``: the whole loop, offline, on the embedded local model.

Creates two projects in a folder — ``support-en`` (an English support assistant, three prompt
variants, repeated samples) and ``rag-ja`` (Japanese retrieval-augmented QA from JSQuAD with an
extractive baseline) — runs them on SmolLM2-135M-Instruct in process, and returns what a user
needs to see: for each project one line saying which variant came out best and against what,
the verdict of every check for each pair it compared, per-variant results, failing checks with
reasons, why samples failed (if any did), and what to run next.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyouka.api import Workspace
from hyouka.errors import HyoukaError, MissingDependencyError, NotFoundError
from hyouka.i18n.cli import Lang, resolve_lang, t
from hyouka.projects import copy_example
from hyouka.runner.run import RunResult
from hyouka.summary import ErrorCause, VariantSummary

if TYPE_CHECKING:
    from hyouka.analysis.compare import CompareResult


@dataclass(frozen=True)
class DemoSize:
    """How much of each example to run: sized to finish in a few minutes on 2 CPU cores."""

    support_cases: int | None
    support_samples: int
    rag_cases: int | None
    rag_samples: int


# compare needs at least 6 shared cases (hyouka.analysis.compare), so both sizes have 6.
FULL = DemoSize(support_cases=6, support_samples=3, rag_cases=6, rag_samples=1)
QUICK = DemoSize(support_cases=6, support_samples=2, rag_cases=6, rag_samples=1)


@dataclass
class DemoLoop:
    """What the demo sets up after the runs: a human campaign and a report."""

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
    causes: list[ErrorCause] = field(default_factory=list)
    headline: str = ""  # which variant came out best, against what (one line)
    verdicts: list[str] = field(default_factory=list)  # each names the two variants it compares
    compare_command: str = ""
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
    lang: str | None = None,
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
        part = DemoPart(example, root, result, summaries, failures, seconds)
        part.causes = ws.errors(result.run.uid)
        _compare(ws, part, resolve_lang(lang))
        return part
    finally:
        ws.close()


def _leader(summaries: list[VariantSummary]) -> str | None:
    """The variant with the highest mean pass rate over its checks (the first on a tie)."""
    best: tuple[float, str] | None = None
    for s in summaries:
        rates = [c.pass_rate for c in s.checks.values() if c.pass_rate is not None]
        if rates and (best is None or sum(rates) / len(rates) > best[0]):
            best = (sum(rates) / len(rates), s.name)
    return best[1] if best else None


def _count(n: int, lang: Lang) -> str:
    return t(lang, "demo.check") if n == 1 else t(lang, "demo.checks", n=n)


def headline(project: str, leader: str, result: CompareResult, lang: Lang) -> str:
    """ "best: concise — better than polite on 2 checks, not distinguishable on 3; …": how the
    leader fared against each other variant, check by check (Holm-adjusted together)."""
    parts = []
    clear = True
    for pair in result.comparisons:  # pair.a is the leader, pair.b the other variant
        better = sum(1 for m in pair.metrics if m.significant and not m.b_better)
        worse = sum(1 for m in pair.metrics if m.significant and m.b_better)
        noise = len(pair.metrics) - better - worse
        clear = clear and better > 0 and worse == 0
        phrases: list[str] = []
        for key, n in (("better", better), ("worse", worse), ("noise", noise)):
            if n:
                form = f"demo.{key}" if phrases else f"demo.{key}_than"
                phrases.append(t(lang, form, other=pair.b, n=_count(n, lang)))
        parts.append(t(lang, "demo.part_sep").join(phrases))
    key = "demo.best" if clear else "demo.no_best"
    return t(lang, key, project=project, best=leader, rest=t(lang, "demo.sep").join(parts))


def _compare(ws: Workspace, part: DemoPart, lang: Lang) -> None:
    """The headline and verdicts of a part: its leader against each other variant."""
    from hyouka.analysis.verdict import pair_sentences

    names = [s.name for s in part.summaries]
    leader = _leader(part.summaries)
    if leader is None or len(names) < 2:
        part.headline = t(lang, "demo.no_checks", project=part.name)
        return
    others = [n for n in names if n != leader]
    try:
        result = ws.compare(leader, *others, run=part.result.run.uid)
    except HyoukaError:  # too few shared cases, or no check metric shared by the variants
        part.headline = t(lang, "demo.no_checks", project=part.name)
        return
    part.headline = headline(part.name, leader, result, lang)
    part.verdicts = [
        line for pair in result.comparisons for line in pair_sentences(pair, lang, name_pair=True)
    ]
    part.compare_command = f"hyouka compare {leader} {' '.join(others)} -p {part.root}"


def _setup_loop(part: DemoPart, lang: str | None, port: int = 8300) -> DemoLoop:
    """Open a voting campaign with sign-in links, write the report."""
    from hyouka.humans.campaigns import CampaignSpec, create_campaign, get_campaign
    from hyouka.humans.people import add_annotator, list_annotators, reset_link, signin_link
    from hyouka.i18n.cli import resolve_lang
    from hyouka.report import write_report

    ws = Workspace.open(part.root)
    try:
        names = [s.name for s in part.summaries]
        language = resolve_lang(lang)
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

    Each project's best variant (by mean pass rate) is compared with each other variant. Then,
    on the support-en run: open a pairwise voting campaign with sign-in links, and write the
    HTML report.
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
            lang,
        )
    ]
    if include_ja:
        parts.append(
            _run_part(
                "rag-ja", folder / "rag-ja", size.rag_cases, size.rag_samples, on_start, run, lang
            )
        )
    return parts, _setup_loop(parts[0], lang)
