"""Config mistakes found before a run calls any model, reported with file, line and field.

Two kinds, checked for every prompt variant of the run:

- **template variables**: a name the template reads (``{{ nmae }}``) that the cases of a
  dataset do not have. Cases lacking a name the template reads are rendered (the first
  :data:`RENDER_LIMIT` of them), so a name guarded by ``{% if x is defined %}`` or by a branch
  the case does not take is no problem.
  A name no case has is a typo: an error. A name only some cases lack is an error too, unless
  the run skips bad rows (``--skip-bad-rows``): then it is a warning, and those samples are
  stored as errors with the cause.
- **params** a provider does not take (``temprature``): the check its type registered
  (``register(type_name, factory, check_params)``, see hyouka/hookspecs.py) is asked about
  each param on its own, so every unknown param gets its own line. A judge check's
  ``params`` are checked against its judge's provider the same way.
- **API keys**: a provider the run's variants or judges use whose ``api_key_env`` names an
  environment variable that is not set (pointing at that ``api_key_env`` line).

Every problem found is reported at once (:class:`hyouka.errors.ConfigProblems`); the CLI exits
with code 2 and no run is stored.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes

from hyouka.config import Project
from hyouka.datasets import Case, Dataset
from hyouka.errors import ConfigError, ConfigProblems, Location
from hyouka.plugins import ParamCheck, provider_param_checks
from hyouka.variants import _ENV, VariantSpec

# How many cases lacking a name are rendered to confirm it is really read (the rest are
# counted): enough to see past guards, bounded for datasets of any size.
RENDER_LIMIT = 200
# Param names a close match is looked for among (each guess is confirmed by the check).
_COMMON_PARAMS = (
    "temperature", "top_p", "top_k", "min_p", "max_tokens", "max_completion_tokens", "stop",
    "presence_penalty", "frequency_penalty", "repetition_penalty", "repeat_penalty", "seed",
    "response_format", "reasoning_effort", "logit_bias", "stop_sequences",
)  # fmt: skip
_UNDEFINED = re.compile(r"^'([^']+)' is undefined$")


@dataclass(frozen=True)
class _Missing:
    message: str  # jinja's, e.g. "'nmae' is undefined"
    name: str | None
    failing: int  # rendered cases that failed so
    count: int  # cases that fail so (exact when all of them were rendered)
    example: Case
    tried: int  # rendered cases lacking the name


def check_before_run(
    project: Project, variants: Sequence[VariantSpec], datasets: Sequence[Dataset], skip_bad: bool
) -> list[str]:
    """Raise :class:`ConfigProblems` for the mistakes above; return the warnings (partial
    template variables when ``skip_bad``)."""
    problems: list[ConfigError] = []
    warnings: list[str] = []
    checks = provider_param_checks()
    problems.extend(key_problems(project, variants))
    problems.extend(judge_param_problems(project, checks))
    for variant in variants:
        problems.extend(param_problems(project, variant, checks))
        for dataset in datasets:
            for error, every_case in template_problems(project, variant, dataset):
                if skip_bad and not every_case:
                    warnings.append(str(error))
                else:
                    problems.append(error)
    if problems:
        raise ConfigProblems(problems)
    return warnings


# -- params ---------------------------------------------------------------------------------


def param_problems(
    project: Project, variant: VariantSpec, checks: Mapping[str, ParamCheck]
) -> list[ConfigError]:
    """The variant's params its provider does not take (app variants pass params to the app)."""
    if variant.kind != "prompt" or not variant.provider_type:
        return []
    check = checks.get(variant.provider_type)
    if check is None:
        return []
    out = []
    for key, value in variant.params.items():
        try:
            check({key: value})
        except ConfigError as exc:
            loc = ("variants", variant.name, "params", key)
            out.append(
                ConfigError(
                    _with_guess(exc.detail, key, value, check),
                    _key_location(project, loc),
                    ".".join(loc),
                )
            )
    return out


def _global_judges(project: Project) -> list[tuple[int, str, Mapping[str, Any]]]:
    """(index in ``checks:``, judge provider name, params) of the project's judge checks."""
    out = []
    for i, check in enumerate(project.config.checks):
        raw = check.model_dump(exclude_none=True)
        judge = raw.get("judge")
        if isinstance(judge, str) and judge in project.config.providers:
            params = raw.get("params")
            out.append((i, judge, params if isinstance(params, Mapping) else {}))
    return out


def judge_param_problems(project: Project, checks: Mapping[str, ParamCheck]) -> list[ConfigError]:
    """Params of judge checks (``checks[i].params``) their judge's provider does not take."""
    out = []
    for i, judge, params in _global_judges(project):
        check = checks.get(project.config.providers[judge].type)
        if check is None:
            continue
        for key, value in params.items():
            try:
                check({key: value})
            except ConfigError as exc:
                loc = ("checks", i, "params", key)
                message = _with_guess(exc.detail, key, value, check)
                out.append(
                    ConfigError(
                        f"{message} (judge provider '{judge}')",
                        _key_location(project, loc),
                        ".".join(map(str, loc)),
                    )
                )
    return out


def key_problems(project: Project, variants: Sequence[VariantSpec]) -> list[ConfigError]:
    """Providers of the run whose ``api_key_env`` variable is not set, with who uses them."""
    users: dict[str, list[str]] = {}
    for v in variants:
        if v.provider:
            users.setdefault(v.provider, []).append(f"variant '{v.name}'")
    for i, judge, _ in _global_judges(project):
        users.setdefault(judge, []).append(f"the judge of checks[{i}]")
    out = []
    for name, used_by in users.items():
        provider = project.config.providers.get(name)
        env = provider.api_key_env if provider is not None else None
        if not env or os.environ.get(env):
            continue
        loc = ("providers", name, "api_key_env")
        out.append(
            ConfigError(
                f"the environment variable {env} is not set: provider '{name}' (used by "
                f"{', '.join(used_by)}) reads its API key from it; set it (export {env}=...) "
                "or point api_key_env at the variable that holds the key",
                project.locate(*loc),
                ".".join(loc),
            )
        )
    return out


def _with_guess(message: str, key: str, value: Any, check: ParamCheck) -> str:
    if "did you mean" in message:
        return message
    for guess in difflib.get_close_matches(key, _COMMON_PARAMS, n=3, cutoff=0.75):
        try:
            check({guess: value})
        except ConfigError:
            continue
        return f"{message} (did you mean '{guess}'?)"
    return message


def _key_location(project: Project, loc: tuple[str | int, ...]) -> Location:
    smap = project.sources[0]
    found = smap.positions.get((*loc, "__key__"))
    return Location(smap.path, *found) if found else project.locate(*loc)


# -- template variables ---------------------------------------------------------------------


def template_problems(
    project: Project, variant: VariantSpec, dataset: Dataset
) -> list[tuple[ConfigError, bool]]:
    """(problem, whether every case of the dataset has it) for each template of the variant."""
    out: list[tuple[ConfigError, bool]] = []
    configured = project.config.datasets.get(dataset.name)
    simulated = configured is not None and configured.simulate is not None
    for (role, text), (field_loc, path) in zip(variant.messages, variant.sources, strict=True):
        ast = _ENV.parse(text)
        reads = meta.find_undeclared_variables(ast) - set(_ENV.globals) - {"case"}
        if not reads:
            continue
        # Conversation cases (and simulated dialogues) use a variant's system templates only.
        cases = dataset.cases
        if role != "system":
            cases = [] if simulated else [c for c in dataset.cases if not c.messages]
        if not cases:
            continue
        template = _ENV.from_string(text)
        for found in _missing(template, reads, cases):
            every = found.count == len(cases) and found.failing == found.tried
            line = _first_line(ast, found.name) if found.name else 0
            location, where = _template_location(project, field_loc, path, line)
            message = _describe(found, dataset, every, where)
            out.append((ConfigError(message, location, ".".join(map(str, field_loc))), every))
    return out


def _missing(template: jinja2.Template, reads: set[str], cases: Sequence[Case]) -> list[_Missing]:
    lacking: list[tuple[Case, frozenset[str]]] = []
    for case in cases:
        absent = frozenset(reads - case.as_template_vars().keys())
        if absent:
            lacking.append((case, absent))
    tried = lacking[:RENDER_LIMIT]
    failures: dict[str, list[Case]] = {}
    for case, _ in tried:
        try:
            template.render(case.as_template_vars())
        except jinja2.UndefinedError as exc:
            failures.setdefault(str(exc.message), []).append(case)
        except jinja2.TemplateError:
            continue  # not a missing variable: the sample records it, with its cause
    out = []
    for message, failed in failures.items():
        match = _UNDEFINED.match(message)
        name = match.group(1) if match else None
        absent_in = [c for c, absent in lacking if name is None or name in absent]
        tried_in = sum(1 for _, absent in tried if name is None or name in absent)
        # Every case lacking it was rendered: the count is exact; else it is the cases lacking it.
        count = len(failed) if len(tried) == len(lacking) else len(absent_in)
        out.append(_Missing(message, name, len(failed), count, failed[0], tried_in))
    return out


def _first_line(ast: nodes.Template, name: str) -> int:
    lines = [n.lineno for n in ast.find_all(nodes.Name) if n.name == name and n.ctx == "load"]
    return min(lines) if lines else 0


def _template_location(
    project: Project, field_loc: tuple[str | int, ...], path: Path | None, line: int
) -> tuple[Location, str]:
    """Where to point: the template file's line, or the hyouka.yaml field of an inline one."""
    if path is not None:
        return Location(_shown(path), line), ""
    where = f" (line {line} of the template)" if line > 1 else ""
    return project.locate(*field_loc), where


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _describe(found: _Missing, dataset: Dataset, every: bool, where: str) -> str:
    case = found.example
    have = ", ".join(sorted(case.vars)) or "none"
    n = len(dataset.cases)
    if every:
        scope = (
            f"no case of dataset '{dataset.name}' has it ({n} case{'s' if n != 1 else ''}; "
            f"case '{case.id}' has vars: {have})"
        )
    else:
        scope = (
            f"{found.count} of {n} cases of dataset '{dataset.name}' lack it "
            f"(e.g. case '{case.id}', which has vars: {have})"
        )
    guess = ""
    if found.name:
        close = difflib.get_close_matches(found.name, list(case.vars), n=1, cutoff=0.6)
        guess = f"; did you mean '{close[0]}'?" if close else ""
    return f"{found.message}{where}: {scope}{guess}"
