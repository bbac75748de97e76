"""The playground: edit a variant's prompt and params, try it on a few cases, save it as a new
variant in ``hyouka.yaml`` (comments kept), run it in the background, put it before people.

- :func:`draft` resolves an edited variant exactly as ``hyouka run`` would (the same
  :func:`hyouka.variants.resolve_variant`, the same provider pool), so a try is a real call.
- :func:`try_cases` yields one event per step — ``start``, ``output`` or ``error`` per case,
  then ``done`` — as each call finishes (the route sends them as server-sent events). A
  provider error is an ``error`` event with its message, never a blank.
- :func:`save_variant` adds the variant to ``hyouka.yaml`` with ruamel.yaml's round trip
  (the file's comments, order and quoting are kept), its prompt in a file of its own when the
  variant it came from had one, and who saved it in the variant's ``description`` and in a
  comment above it. Nothing is written when the result would not load.
- :class:`Jobs` runs ``hyouka run`` for the new variant and the current best in a
  background thread and reports progress.
"""

from __future__ import annotations

import asyncio
import io
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from hyouka.bounds import NAME_MAX
from hyouka.config import CONFIG_FILE, Project, VariantConfig, load_config
from hyouka.errors import HyoukaError

MAX_TRY_CASES = 10
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class PlaygroundError(HyoukaError):
    """An edit that cannot be tried or saved as asked (the message says why)."""


@dataclass
class Draft:
    base: str
    prompt: str
    params: dict[str, Any]


def base_config(project: Project, name: str) -> VariantConfig:
    found = project.config.variants.get(name)
    if found is None:
        known = ", ".join(sorted(project.config.variants)) or "none"
        raise PlaygroundError(f"no variant '{name}' in hyouka.yaml (its variants: {known})")
    if found.app is not None or found.prompt is None:
        raise PlaygroundError(
            f"variant '{name}' is an app or uses messages: the playground edits prompt variants"
        )
    return found


def prompt_text(project: Project, name: str) -> str:
    """The prompt of variant ``name`` as written (its file's text when it names a file)."""
    from hyouka.variants import _read_text

    config = base_config(project, name)
    assert config.prompt is not None
    text, _path = _read_text(project, config.prompt, ("variants", name, "prompt"))
    return text


def parse_params(text: str) -> dict[str, Any]:
    """Params typed as YAML (or JSON): a mapping, else a clear error."""
    try:
        value = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise PlaygroundError(f"params are not valid YAML{where}: {exc}") from None
    if not isinstance(value, dict):
        raise PlaygroundError("params must be a mapping, e.g. `temperature: 0.7`")
    return value


def draft_spec(project: Project, d: Draft, name: str = "playground") -> Any:
    """The edited variant, resolved as ``hyouka run`` resolves one (template errors raised)."""
    from hyouka.variants import resolve_variant

    config = base_config(project, d.base).model_copy(
        update={"prompt": d.prompt, "params": d.params}
    )
    try:
        return resolve_variant(project, name, config)
    except HyoukaError as exc:
        raise PlaygroundError(str(exc)) from None


def dataset_cases(project: Project, limit: int = 50) -> list[Any]:
    """The first cases of the project's first dataset (to try a draft on)."""
    from hyouka.runner.run import load_datasets

    datasets, _bad = load_datasets(project, None, skip_bad=True)
    return list(datasets[0].cases[:limit]) if datasets else []


async def try_cases(
    project: Project, d: Draft, case_ids: Sequence[str]
) -> AsyncIterator[dict[str, Any]]:
    """One event per step of trying draft ``d`` on the chosen cases (see the module doc)."""
    from hyouka.providers.base import GenerateRequest
    from hyouka.providers.pool import ProviderPool

    spec = draft_spec(project, d)
    chosen = [c for c in dataset_cases(project, 10_000) if c.id in set(case_ids)]
    if not chosen:
        raise PlaygroundError("choose at least one case to try")
    chosen = chosen[:MAX_TRY_CASES]
    pool = ProviderPool(project, concurrency=2)
    try:
        provider = pool.get(spec.provider)
        for case in chosen:
            yield {"event": "start", "case": case.id}
            started = time.perf_counter()
            try:
                messages = spec.render(case)
                generation = await provider.generate(
                    GenerateRequest(
                        messages=messages,
                        model=spec.model,
                        params=spec.params,
                        seed=0,
                        timeout=60.0,
                        case=case.content(),
                        sample_index=0,
                    )
                )
            except Exception as exc:
                yield {"event": "error", "case": case.id, "message": f"{type(exc).__name__}: {exc}"}
                continue
            yield {
                "event": "output",
                "case": case.id,
                "text": generation.text,
                "ms": round((time.perf_counter() - started) * 1000),
            }
        yield {"event": "done", "cases": len(chosen)}
    finally:
        await pool.aclose()


def _round_trip() -> Any:
    try:
        from ruamel.yaml import YAML
    except ImportError:
        raise PlaygroundError(
            "saving from the playground needs ruamel.yaml (to keep hyouka.yaml's comments): "
            "pip install 'hyouka[playground]'"
        ) from None
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    return y


def save_variant(project: Project, d: Draft, name: str, who: str) -> Path:
    """Write variant ``name`` into hyouka.yaml (a copy of ``d.base`` with the draft's prompt
    and params); return the prompt file written, or hyouka.yaml when the prompt is inline."""
    from ruamel.yaml.comments import CommentedMap

    name = name.strip()
    if not name or len(name) > NAME_MAX or not NAME_RE.match(name):
        raise PlaygroundError(
            "a variant name is letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    if name in project.config.variants:
        raise PlaygroundError(f"a variant named '{name}' already exists; choose another name")
    draft_spec(project, d, name)  # the template compiles and the provider is known
    base = base_config(project, d.base)
    assert base.prompt is not None
    path = project.root / CONFIG_FILE
    y = _round_trip()
    original = path.read_text(encoding="utf-8")
    doc = y.load(original)
    variants = doc["variants"]
    entry = CommentedMap()
    for key, value in variants[d.base].items():
        entry[key] = value
    written = path
    base_file = project.resolve(base.prompt)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if "\n" not in base.prompt and base_file.is_file():
        written = base_file.with_name(f"{name}{base_file.suffix or '.txt'}")
        if written.exists():
            raise PlaygroundError(f"{written.name} already exists next to {base_file.name}")
        entry["prompt"] = str(written.relative_to(project.root))
    else:
        entry["prompt"] = d.prompt
    entry["params"] = d.params
    entry["description"] = f"saved from the playground by {who} on {when} (from {d.base})"
    variants[name] = entry
    variants.yaml_set_comment_before_after_key(
        name, before=f"saved from the playground by {who} on {when}", indent=2
    )
    out = io.StringIO()
    y.dump(doc, out)
    if written != path:
        written.write_text(d.prompt, encoding="utf-8")
    path.write_text(out.getvalue(), encoding="utf-8")
    try:
        load_config(project.root)
    except HyoukaError as exc:
        path.write_text(original, encoding="utf-8")  # nothing half-stored
        if written != path:
            written.unlink(missing_ok=True)
        raise PlaygroundError(f"the saved hyouka.yaml would not load: {exc}") from None
    return written


@dataclass
class Job:
    id: str
    variants: list[str]
    started: float = field(default_factory=time.monotonic)
    total: int = 0
    done: int = 0
    errors: int = 0
    status: str = "running"  # running | finished | failed
    run: str | None = None
    message: str = ""


class Jobs:
    """Background runs started from the playground, by id (this server process only)."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(self, root: Path, store: Any, variants: list[str], samples: int | None = None) -> Job:
        job = Job(uuid.uuid4().hex[:16], variants)
        with self._lock:
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, root, store, samples), daemon=True).start()
        return job

    def _run(self, job: Job, root: Path, store: Any, samples: int | None) -> None:
        # what Workspace.arun does (hyouka.api imports the facades, which import this module)
        from hyouka.runner.run import Runner, RunOptions

        def seen(p: Any) -> None:
            job.total, job.done, job.errors = p.total, p.done + p.skipped, p.errors

        try:
            options = RunOptions(variants=job.variants, resume=None, samples=samples)
            result = asyncio.run(Runner(load_config(root), store, options, seen).execute())
            job.run = result.run.uid
            job.status = "finished"
        except Exception as exc:
            job.status = "failed"
            job.message = f"{type(exc).__name__}: {exc}"


def best_variant(store: Any, project: str, exclude: str) -> str | None:
    """The variant with the highest mean pass rate over its checks in the newest finished
    run (the one a new variant should be put against), other than ``exclude``."""
    from hyouka.summary import summarize_run

    for row in store.list_runs(project, 20):
        if row["status"] != "finished":
            continue
        best: tuple[float, str] | None = None
        for s in summarize_run(store, int(row["id"])):
            rates = [c.pass_rate for c in s.checks.values() if c.pass_rate is not None]
            if s.name == exclude or not rates:
                continue
            score = sum(rates) / len(rates)
            if best is None or score > best[0]:
                best = (score, s.name)
        if best is not None:
            return best[1]
    return None


Listener = Callable[[dict[str, Any]], None]
