"""The project configuration, ``hyouka.yaml``, as pydantic models.

:func:`load_config` reads the file (and the files it ``include``s), validates it and turns every
problem into one :class:`~hyouka.errors.ConfigError` naming the file, line and field. The JSON
Schema for editors comes from :func:`json_schema`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hyouka.bounds import NAME_MAX, SEED_MAX, name_problem
from hyouka.errors import ConfigError, Location
from hyouka.experiments.spec import ExperimentConfig
from hyouka.humans.modes import CampaignMode
from hyouka.yamlsource import SourceMap, load_yaml

CONFIG_FILE = "hyouka.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PricingConfig(_Model):
    """Price per million tokens, used to record the cost of each sample."""

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)


class ProviderConfig(BaseModel):
    """A model endpoint. Unknown keys are passed to the provider as options."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        max_length=100, description="openai, anthropic, llamacpp, echo, or a plugin's type"
    )
    model: str = Field("", max_length=300)
    base_url: str | None = None
    api_key_env: str | None = Field(None, description="name of the env var holding the key")
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(60.0, gt=0, description="seconds per call")
    max_retries: int = Field(6, ge=0)
    rpm: float | None = Field(None, gt=0, description="requests per minute limit")
    tpm: float | None = Field(None, gt=0, description="tokens per minute limit")
    concurrency: int | None = Field(None, ge=1, description="max calls in flight")
    adaptive: bool = Field(
        True,
        description="on 429s halve the calls in flight, then add one back per run of "
        "successes (AIMD), up to `concurrency` (else the run's)",
    )
    pricing: PricingConfig | None = None

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class MessageConfig(_Model):
    role: Literal["system", "user", "assistant"]
    content: str


class CheckConfig(BaseModel):
    """One check. ``type`` names a registered check; its own options are extra keys."""

    model_config = ConfigDict(extra="allow")

    type: str
    value: Any = None
    threshold: float | None = None
    weight: float = Field(1.0, ge=0)
    metric: str | None = None

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class VariantConfig(_Model):
    """One version of the app: a prompt on a provider, or a Python app function."""

    provider: str | None = None
    model: str | None = Field(None, max_length=300)
    prompt: str | None = Field(None, description="Jinja2 template file or inline text")
    system: str | None = Field(None, description="system prompt file or inline text")
    messages: list[MessageConfig] | None = None
    app: str | None = Field(None, description="module:function of a Python app")
    params: dict[str, Any] = Field(default_factory=dict)
    tools: list[dict[str, Any]] | None = Field(
        None,
        description="tools the model may call: [{name, description, parameters: JSON Schema}] "
        "(docs/conversations.md)",
    )
    family: str | None = Field(
        None, max_length=NAME_MAX, description="replicates (e.g. fine-tune seeds) share one"
    )
    description: str = ""

    @model_validator(mode="after")
    def _one_kind(self) -> VariantConfig:
        has_prompt = self.prompt is not None or self.messages is not None
        if self.app is None and not has_prompt and self.system is None:
            raise ValueError(
                "give either 'prompt' (with 'provider') or 'app: module:function' "
                "('system' alone: a variant for conversation cases)"
            )
        if self.app is not None and has_prompt:
            raise ValueError("give 'prompt' or 'app', not both")
        if self.app is None and self.provider is None:
            raise ValueError("a prompt variant needs 'provider'")
        if self.prompt is not None and self.messages is not None:
            raise ValueError("give 'prompt' or 'messages', not both")
        if self.app is not None and ":" not in self.app:
            raise ValueError("'app' must look like 'module:function'")
        return self


class SimulateConfig(_Model):
    """Simulated conversations (docs/conversations.md): a simulated user, an LLM with each
    case's ``simulate: {persona, goal}``, talks with the variant for up to ``max_turns``."""

    provider: str = Field(description="provider of the simulated user (a name in providers)")
    model: str | None = Field(None, max_length=300)
    prompt: str | None = Field(
        None,
        description="the simulated user's system prompt (file or inline Jinja2: persona, "
        "goal, language); default: hyouka's, in the case's language",
    )
    params: dict[str, Any] = Field(default_factory=dict)
    max_turns: int = Field(6, ge=1, le=50, description="assistant turns at most")
    language: Literal["ja", "en"] = Field("ja", description="when a case gives none")
    goal_marker: str = Field("[[GOAL]]", min_length=1, description="the user says it: goal reached")
    give_up_marker: str = Field("[[GIVE_UP]]", min_length=1, description="the user gives up")
    goal_checks: list[CheckConfig] = Field(
        default_factory=list,
        description="deterministic checks on an assistant turn; all pass: goal reached",
    )


class DatasetConfig(_Model):
    path: str
    checks: list[CheckConfig] = Field(default_factory=list)
    description: str = ""
    simulate: SimulateConfig | None = None


class HumanConfig(_Model):
    """Defaults for human-evaluation campaigns."""

    mode: CampaignMode = "pairwise+rating"
    overlap: int = Field(3, ge=1, le=100, description="people who judge each item")
    rubric: str | None = Field(None, description="rubric file or inline text")
    tags: list[str] = Field(default_factory=list)
    instructions: str | None = None


class ProjectConfig(_Model):
    """The whole of ``hyouka.yaml``."""

    name: str = Field(min_length=1, max_length=NAME_MAX)
    store: str | None = Field(None, description="database URL; default: .hyouka/hyouka.db")
    seed: int = Field(0, ge=0, le=SEED_MAX)
    samples: int = Field(1, ge=1, le=1000)
    concurrency: int = Field(16, ge=1, le=10000)
    include: list[str] = Field(default_factory=list)
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    variants: dict[str, VariantConfig] = Field(default_factory=dict)
    datasets: dict[str, DatasetConfig] = Field(default_factory=dict)
    checks: list[CheckConfig] = Field(default_factory=list)
    judge_samples: int = Field(1, ge=1, le=20)
    human: HumanConfig = Field(default_factory=HumanConfig)
    experiments: dict[str, ExperimentConfig] = Field(
        default_factory=dict, description="live experiments (docs/experiments.md)"
    )

    @field_validator("datasets", mode="before")
    @classmethod
    def _dataset_shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"path": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        problem = name_problem(value, "the project name")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("providers", "variants", "datasets", "experiments")
    @classmethod
    def _plain_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            problem = name_problem(key, f"the name '{key[:40]}'")
            if problem:
                raise ValueError(problem)
        return value


class Project:
    """A loaded project: its folder, its validated config and where each value came from."""

    def __init__(self, root: Path, config: ProjectConfig, sources: list[SourceMap]) -> None:
        self.root = root
        self.config = config
        self.sources = sources

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    def resolve(self, relative: str) -> Path:
        path = Path(relative)
        return path if path.is_absolute() else self.root / path

    def locate(self, *loc: str | int) -> Location:
        return self.sources[0].locate(loc)

    def database_url(self) -> str:
        env = os.environ.get("HYOUKA_DATABASE_URL")
        if env:
            return env
        if self.config.store:
            return self.config.store
        return f"sqlite:///{self.root / '.hyouka' / 'hyouka.db'}"


def _format_validation_error(exc: ValidationError, smap: SourceMap) -> ConfigError:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    field = ".".join(str(p) for p in loc)
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        location = smap.positions.get((*loc, "__key__"))
        where = Location(smap.path, *location) if location else smap.locate(loc)
        message = "unknown field (check the spelling; see docs/config.md)"
        return ConfigError(message, where, field)
    if err["type"] == "missing":
        message = "this field is required"
        return ConfigError(message, smap.locate(loc[:-1]), field)
    count = exc.error_count()
    if count > 1:
        message += f" (and {count - 1} more problem{'s' if count > 2 else ''})"
    return ConfigError(message, smap.locate(loc), field)


def _merge_includes(data: dict[str, Any], root: Path, sources: list[SourceMap]) -> None:
    """Merge ``checks`` and ``datasets`` from included files (e.g. the regressions file)."""
    included = data.get("include")
    if included is None:
        return
    if not isinstance(included, list):
        raise ConfigError(
            "'include' must be a list of file names, e.g. include: [regressions.yaml]",
            sources[0].locate(("include",)),
            "include",
        )
    for i, rel in enumerate(included):
        loc = sources[0].locate(("include", i))
        if not isinstance(rel, str) or not rel.strip() or "\x00" in rel:
            raise ConfigError("each 'include' entry must be a file name", loc, f"include.{i}")
        path = root / rel
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "not found"
            raise ConfigError(f"included file '{rel}' {what}", loc, f"include.{i}")
        extra, smap = load_yaml(path)
        sources.append(smap)
        if extra is None:
            continue
        if not isinstance(extra, dict) or set(extra) - {"checks", "datasets"}:
            raise ConfigError(
                "an included file may only hold 'checks' and 'datasets'", Location(str(path), 1)
            )
        checks = extra.get("checks") or []
        datasets = extra.get("datasets") or {}
        if not isinstance(checks, list) or not isinstance(datasets, dict):
            section = "checks" if not isinstance(checks, list) else "datasets"
            kind = "a list" if section == "checks" else "a mapping"
            raise ConfigError(f"'{section}' must be {kind}", smap.locate((section,)), section)
        mine_checks = data.get("checks") or []
        mine_datasets = data.get("datasets") or {}
        if not isinstance(mine_checks, list) or not isinstance(mine_datasets, dict):
            return  # the project's own section is wrong: validation says where
        data["checks"] = list(mine_checks) + list(checks)
        merged = dict(mine_datasets)
        for name, value in datasets.items():
            merged.setdefault(name, value)
        data["datasets"] = merged


def load_config(root: Path | str = ".") -> Project:
    """Load and validate ``hyouka.yaml`` in ``root``."""
    root = Path(root).resolve()
    path = root / CONFIG_FILE
    if not path.exists():
        raise ConfigError(
            "no hyouka.yaml here; create a project with 'hyouka init' or pass --project DIR",
            Location(str(path)),
        )
    data, smap = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("the file must hold a mapping (key: value lines)", Location(str(path), 1))
    sources = [smap]
    _merge_includes(data, root, sources)
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise _format_validation_error(exc, smap) from None
    _check_references(config, smap)
    return Project(root, config, sources)


def _check_references(config: ProjectConfig, smap: SourceMap) -> None:
    for name, dataset in config.datasets.items():
        sim = dataset.simulate
        if sim is not None and sim.provider not in config.providers:
            known = ", ".join(sorted(config.providers)) or "none defined"
            where = ("datasets", name, "simulate", "provider")
            raise ConfigError(
                f"unknown provider '{sim.provider}' (known: {known})",
                smap.locate(where),
                ".".join(where),
            )
    for name, variant in config.variants.items():
        if variant.provider is not None and variant.provider not in config.providers:
            known = ", ".join(sorted(config.providers)) or "none defined"
            loc = ("variants", name, "provider")
            raise ConfigError(
                f"unknown provider '{variant.provider}' (known: {known})",
                smap.locate(loc),
                ".".join(loc),
            )


def int_bounds(model: type[BaseModel], name: str) -> tuple[int, int, int]:
    """A field's default and its ``ge``/``le`` bounds: for code that checks the same value
    outside a config file (a campaign made on the web), so the bounds live here once."""
    info = model.model_fields[name]
    low = next((m.ge for m in info.metadata if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in info.metadata if getattr(m, "le", None) is not None), None)
    if low is None or high is None:
        raise ValueError(f"{model.__name__}.{name} has no ge/le bounds")
    return int(info.default), int(low), int(high)


def run_option(value: int | None, name: str, default: int) -> int:
    """A setting given for one run (``samples``, ``concurrency`` from the CLI or the API):
    ``default`` (the project's) when not given, else checked against the bounds hyouka.yaml
    has for it, so 0 is an error rather than a silent "use the config"."""
    if value is None:
        return default
    _, low, high = int_bounds(ProjectConfig, name)
    if not low <= value <= high:
        raise ConfigError(f"{name}={value}: must be from {low} to {high}", field=name)
    return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``hyouka.yaml`` (for editors: yaml-language-server)."""
    schema = ProjectConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "hyouka.yaml"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
