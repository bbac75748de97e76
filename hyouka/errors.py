"""One exception tree for everything a user can be told.

    HyoukaError                      anything hyouka reports to a person (exit code 2 in the CLI)
    ├── ConfigError                  hyouka.yaml is wrong: file, line, field
    │     └── ConfigProblems         several of them, found before a run starts
    ├── DatasetError                 a dataset file cannot be read at all
    │     (bad rows are collected as RowError values, not raised one by one)
    ├── TemplateError                a prompt template does not render
    ├── StoreError                   the database cannot be opened or is not migrated
    ├── NotFoundError                a run, variant or campaign named by the user does not exist
    ├── MissingDependencyError       an optional extra is not installed
    └── ProviderError                a model call failed (carries retry information)
          ├── RateLimitedError       HTTP 429 (honours Retry-After)
          ├── ProviderTimeoutError   the per-call timeout passed
          └── ProviderResponseError  the provider answered something unusable

Every message says what went wrong, where, and what to do; the CLI prints it without a
traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class HyoukaError(Exception):
    """Base of every error meant for a person."""

    exit_code = 2


@dataclass(frozen=True)
class Location:
    """A place in a user's file: ``path:line:column`` (1-based; 0 when unknown)."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line and self.column:
            return f"{self.path}:{self.line}:{self.column}"
        if self.line:
            return f"{self.path}:{self.line}"
        return self.path


class ConfigError(HyoukaError):
    """The project configuration is invalid."""

    def __init__(self, message: str, location: Location | None = None, field: str = "") -> None:
        self.location = location
        self.field = field
        self.detail = message
        where = f"{location}: " if location else ""
        at = f"{field}: " if field else ""
        super().__init__(f"{where}{at}{message}")


class ConfigProblems(ConfigError):
    """Several configuration mistakes found at once (before a run calls any model)."""

    def __init__(self, problems: list[ConfigError]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(first.detail, first.location, first.field)
        lines = [str(p) for p in problems]
        head = f"{len(problems)} problems in the configuration; nothing was run:"
        self.args = (lines[0] if len(lines) == 1 else "\n  ".join([head, *lines]),)

    def __str__(self) -> str:
        return str(self.args[0])


class DatasetError(HyoukaError):
    """A dataset file cannot be read."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.location = location
        where = f"{location}: " if location else ""
        super().__init__(f"{where}{message}")


class TemplateError(HyoukaError):
    """A prompt template is broken or refers to a missing variable."""


class StoreError(HyoukaError):
    """The store cannot be used as asked."""


class NotFoundError(HyoukaError):
    """Something the user named does not exist."""


class MissingDependencyError(HyoukaError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str, purpose: str, install: str = "") -> None:
        command = install or f"pip install 'hyouka[{extra}]'"
        super().__init__(
            f"{purpose} needs the Python package '{package}', which is not installed. "
            f"Install it with: {command}"
        )


class ProviderError(HyoukaError):
    """A model call failed.

    ``retryable`` says whether the runner may try again; ``retry_after`` is the delay the
    provider asked for (seconds), when it said one; ``status`` is the sample status to record
    once retries are exhausted.
    """

    status = "error"

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.http_status = http_status


class RateLimitedError(ProviderError):
    status = "rate_limited"


class ProviderTimeoutError(ProviderError):
    status = "timeout"


class ProviderResponseError(ProviderError):
    status = "error"


class EngineCrashedError(ProviderError):
    """The local model engine's process died (a signal, an out-of-memory kill) during a call."""

    status = "error"
