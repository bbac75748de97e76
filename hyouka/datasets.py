"""Datasets: test cases read from JSONL, CSV or YAML, versioned by content hash.

A case has ``vars`` (template inputs), optional ``expected`` (one or several references),
per-case ``checks``, an ``aspect`` (per-case rubric text), ``tags`` and ``gold_ids`` (the ids of
the passages a retrieval step should find). Its id is given, or derived from its content.

A conversation case also has ``messages`` (the turns so far; the variant answers the next
assistant turn), and may list ``tools`` (JSON Schema), ``expected_tool_calls`` and a
``simulate`` block (a simulated user's persona and goal): see hyouka/convo/messages.py and
docs/conversations.md. Those fields enter a case's content (and hash) only when given, so
single-turn cases keep their ids and cache keys.

Loading never stops at the first bad row and never drops one silently: every bad row becomes
a :class:`RowProblem` with its file and line, and :meth:`Dataset.raise_for_problems` reports
them all at once. A file with no rows at all (empty, blank lines, a CSV header alone) is a
:class:`~hyouka.errors.DatasetError`.

Limits, so that every value can be hashed and stored (a row beyond one is a row problem):
values nest at most :data:`MAX_DEPTH` levels, integers fit in 64 bits, text holds no NUL
character (PostgreSQL refuses it) and no lone surrogate (``"\\ud800"``: not Unicode), an id
is at most :data:`MAX_ID_LENGTH` characters. A single cell or line may be as long as the file.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hyouka.bounds import _UNSTORABLE, NAME_MAX, text_problem
from hyouka.errors import DatasetError, Location
from hyouka.hashing import content_hash

CONVO_FIELDS = ("messages", "tools", "expected_tool_calls", "simulate")
FIELDS = {"id", "vars", "expected", "checks", "aspect", "tags", "gold_ids", "metadata"} | set(
    CONVO_FIELDS
)
MAX_REPORTED = 20
MAX_DEPTH = 100  # levels of nesting in one row (the store's JSON encoder stops at 255)
MAX_ID_LENGTH = NAME_MAX  # the store's case key column
_INT_BOUND = 2**63  # the store's JSON encoder takes 64-bit integers


@dataclass(frozen=True)
class Case:
    """One test case."""

    id: str
    vars: Mapping[str, Any]
    expected: tuple[str, ...] | None = None
    checks: tuple[Mapping[str, Any], ...] = ()
    aspect: str | None = None
    tags: tuple[str, ...] = ()
    gold_ids: tuple[str, ...] | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # A conversation case: the turns so far (neutral form, hyouka/convo/messages.py), as a list
    messages: list[dict[str, Any]] | None = None
    tools: list[dict[str, Any]] | None = None
    expected_tool_calls: list[dict[str, Any]] | None = None
    simulate: Mapping[str, Any] | None = None  # persona, goal, language, opening, max_turns

    def content(self) -> dict[str, Any]:
        """Everything that identifies the case, as plain JSON-able data (do not mutate)."""
        return self._content

    @functools.cached_property
    def _content(self) -> dict[str, Any]:
        # Cached: the runner asks for it once per sample (measured: ~15% of runner CPU).
        return {
            "id": self.id,
            "vars": dict(self.vars),
            "expected": list(self.expected) if self.expected is not None else None,
            "checks": [dict(c) for c in self.checks],
            "aspect": self.aspect,
            "tags": list(self.tags),
            "gold_ids": list(self.gold_ids) if self.gold_ids is not None else None,
            "metadata": dict(self.metadata),
            **{name: value for name in CONVO_FIELDS if (value := getattr(self, name)) is not None},
        }

    @functools.cached_property
    def chat(self) -> tuple[Any, ...]:
        """The conversation as provider :class:`~hyouka.providers.base.Message` s (built once)."""
        from hyouka.convo.messages import to_messages

        return to_messages(self.messages or ())

    @functools.cached_property
    def hash(self) -> str:
        return content_hash(self.content(), 32)

    @functools.cached_property
    def template_vars(self) -> dict[str, Any]:
        """Variables visible to a prompt template: the case vars plus ``case``."""
        return {**self.vars, "case": self.content()}

    def as_template_vars(self) -> dict[str, Any]:
        return self.template_vars


@dataclass(frozen=True)
class RowProblem:
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass
class Dataset:
    name: str
    path: Path
    cases: list[Case]
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def version(self) -> str:
        return content_hash([c.hash for c in self.cases], 16)

    def raise_for_problems(self) -> None:
        if not self.problems:
            return
        shown = "\n".join(f"  {p}" for p in self.problems[:MAX_REPORTED])
        more = len(self.problems) - MAX_REPORTED
        tail = f"\n  … and {more} more" if more > 0 else ""
        advice = (
            "Fix the rows, or pass --skip-bad-rows to run the good ones only."
            if self.cases
            else "Fix the rows: no row is good, so there is nothing to run."
        )
        raise DatasetError(
            f"dataset '{self.name}' has {len(self.problems)} bad row(s) "
            f"({len(self.cases)} good):\n{shown}{tail}\n{advice}"
        )


class _RowError(Exception):
    """A problem with one row, raised inside the row parser (``column``: 0 when unknown;
    ``path``: where inside the row, for formats that can name its own line)."""

    def __init__(self, message: str, column: int = 0, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.column = column
        self.path = path


def _as_str_tuple(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str | int | float) for v in value):
        return tuple(str(v) for v in value)
    raise _RowError(f"'{name}' must be a string or a list of strings")


def _clean(value: Any, depth: int) -> bool:
    """True when ``value`` surely breaks no limit: the fast path of :func:`check_value` for
    plain parsed JSON/YAML (measured: 10,000 conversations of 10 turns load in 1.3 s of CPU
    instead of 1.8 s). Recursion stops at MAX_DEPTH, so the stack stays small; False only means
    "look closer"."""
    kind = type(value)
    if kind is str:
        return _UNSTORABLE.search(value) is None
    if kind is dict:
        if depth >= MAX_DEPTH:
            return False
        for key, child in value.items():
            if type(key) is not str or _UNSTORABLE.search(key) is not None:
                return False
            if not _clean(child, depth + 1):
                return False
        return True
    if kind is list:
        if depth >= MAX_DEPTH:
            return False
        return all(_clean(child, depth + 1) for child in value)
    if kind is int:
        return bool(-_INT_BOUND <= value < _INT_BOUND)
    return value is None or kind is float or kind is bool


def check_value(value: Any) -> None:
    """Raise ``_RowError`` if ``value`` (a parsed row) breaks a limit of the module docstring.

    Iterative, so that no nesting depth can exhaust the stack."""
    if _clean(value, 0):
        return
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                raise _RowError(f"the value at {where or 'the row'} {problem}")
        elif isinstance(item, bool) or item is None or isinstance(item, float):
            continue
        elif isinstance(item, int):
            if not -_INT_BOUND <= item < _INT_BOUND:
                raise _RowError(
                    f"the number at {where or 'the row'} does not fit in 64 bits; "
                    "put it in quotes to keep it as text"
                )
        elif isinstance(item, Mapping | list | tuple):
            if depth >= MAX_DEPTH:
                raise _RowError(f"nested more than {MAX_DEPTH} levels deep")
            pairs = item.items() if isinstance(item, Mapping) else enumerate(item)
            for key, child in pairs:
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str):
                    problem = text_problem(key)
                    if problem:
                        raise _RowError(f"a key at {where or 'the row'} {problem}")
                stack.append((child, name, depth + 1))


def case_from_mapping(row: Mapping[str, Any]) -> Case:
    """Build a case from a row; raise ``_RowError`` with a clear message when it is wrong."""
    check_value(row)
    unknown = set(row) - FIELDS
    if unknown:
        names = ", ".join(sorted(map(str, unknown)))
        raise _RowError(
            f"unknown field(s) {names}; put template inputs under 'vars' "
            f"(allowed: {', '.join(sorted(FIELDS))})"
        )
    variables = row.get("vars", {})
    if not isinstance(variables, Mapping):
        raise _RowError("'vars' must be a mapping of template variables")
    expected = row.get("expected")
    expected_t = None if expected is None else _as_str_tuple(expected, "expected")
    checks = row.get("checks") or []
    if not isinstance(checks, list) or not all(isinstance(c, Mapping) for c in checks):
        raise _RowError("'checks' must be a list of mappings such as {type: contains, value: x}")
    for c in checks:
        if "type" not in c:
            raise _RowError("every check needs a 'type'")
    aspect = row.get("aspect")
    if aspect is not None and not isinstance(aspect, str):
        raise _RowError("'aspect' must be text")
    tags = _as_str_tuple(row.get("tags") or [], "tags")
    gold = row.get("gold_ids")
    gold_t = None if gold is None else _as_str_tuple(gold, "gold_ids")
    metadata = row.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise _RowError("'metadata' must be a mapping")
    convo = _convo_fields(row)
    case_id = row.get("id")
    if case_id is not None and (isinstance(case_id, bool) or not isinstance(case_id, str | int)):
        raise _RowError("'id' must be text or a number")
    if case_id is not None and not 1 <= len(str(case_id)) <= MAX_ID_LENGTH:
        raise _RowError(f"'id' must be 1 to {MAX_ID_LENGTH} characters")
    body = Case(
        id="" if case_id is None else str(case_id),
        vars=dict(variables),
        expected=expected_t,
        checks=tuple(dict(c) for c in checks),
        aspect=aspect,
        tags=tags,
        gold_ids=gold_t,
        metadata=dict(metadata),
        **convo,
    )
    if case_id is not None:
        return body  # built with its id: no second Case (~3 µs a row)
    # Hashed only when no id is given: ~15 µs a row, a tenth of loading 5,000 cases.
    derived = content_hash({k: v for k, v in body.content().items() if k != "id"}, 12)
    return dataclasses.replace(body, id=derived)


def _convo_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """The conversation fields of a row, validated (hyouka/convo/messages.py)."""
    if not any(name in row for name in CONVO_FIELDS):
        return {}
    from hyouka.convo.messages import (
        ConvoError,
        parse_case_simulate,
        parse_expected_calls,
        parse_messages,
        parse_tools,
    )

    out: dict[str, Any] = {}
    try:
        if row.get("messages") is not None:
            out["messages"] = parse_messages(row["messages"])
        if row.get("tools") is not None:
            out["tools"] = parse_tools(row["tools"])
        if row.get("expected_tool_calls") is not None:
            out["expected_tool_calls"] = parse_expected_calls(row["expected_tool_calls"])
        if row.get("simulate") is not None:
            out["simulate"] = parse_case_simulate(row["simulate"])
    except ConvoError as exc:
        raise _RowError(str(exc), path=exc.path) from None
    return out


def _rows_jsonl(path: Path, text: str) -> Iterator[tuple[int, Any | _RowError]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, _RowError(f"invalid JSON at column {exc.colno}: {exc.msg}")
        except RecursionError:
            yield number, _RowError(f"nested more than {MAX_DEPTH} levels deep")
        except ValueError:  # an integer of more than 4,300 digits (int()'s own limit)
            yield number, _RowError("a number has more than 4,300 digits; put it in quotes")


_CSV_LIST_FIELDS = {"expected", "tags", "gold_ids"}


def _csv_cell(name: str, value: str) -> Any:
    stripped = value.strip()
    if name in {"checks", "metadata", *CONVO_FIELDS} or (
        name in _CSV_LIST_FIELDS and stripped.startswith("[")
    ):
        if not stripped:
            return None
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise _RowError(f"column '{name}' must hold JSON ({exc.msg})") from None
    if name in {"tags", "gold_ids"}:
        return [t.strip() for t in stripped.replace(";", ",").split(",") if t.strip()]
    return value if stripped else None


def _rows_csv(path: Path, text: str) -> Iterator[tuple[int, Any | _RowError]]:
    # A cell may be as long as the file (a long passage is a realistic cell); the csv module's
    # limit is process-wide, so it is raised for this read only.
    previous = csv.field_size_limit(max(len(text) + 1, csv.field_size_limit()))
    try:
        yield from _csv_records(text)
    finally:
        csv.field_size_limit(previous)


def _csv_records(text: str) -> Iterator[tuple[int, Any | _RowError]]:
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        yield 1, _RowError(f"the header row is not valid CSV ({exc})")
        return
    header = [h.strip() for h in header]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        yield 1, _RowError(f"the header names column(s) {', '.join(duplicated)} twice")
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, _RowError(f"not valid CSV ({exc})")
            return
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield number, _RowError(f"has {len(row)} cells but the header has {len(header)}")
            continue
        try:
            out: dict[str, Any] = {"vars": {}}
            for name, cell in zip(header, row, strict=True):
                if name.startswith("vars."):
                    out["vars"][name[5:]] = cell
                elif name in FIELDS - {"vars"}:
                    parsed = _csv_cell(name, cell)
                    if parsed is not None:
                        out[name] = parsed
                else:
                    out["vars"][name] = cell
            yield number, out
        except _RowError as exc:
            yield number, exc


def _rows_yaml(path: Path, text: str) -> Iterator[tuple[int, Any | _RowError]]:
    from hyouka.errors import ConfigError
    from hyouka.yamlsource import parse_yaml

    try:
        data, smap = parse_yaml(text, str(path))
    except ConfigError as exc:
        line = exc.location.line if exc.location else 0
        column = exc.location.column if exc.location else 0
        yield line, _RowError(exc.detail, column)
        return
    if data is None:  # an empty file, or comments only
        return
    prefix: tuple[str | int, ...] = ()
    if isinstance(data, dict) and isinstance(data.get("cases"), list):
        data, prefix = data["cases"], ("cases",)
    if not isinstance(data, list):
        yield 1, _RowError("a YAML dataset must be a list of cases (or 'cases:' with a list)")
        return
    for i, row in enumerate(data):
        yield smap.locate((*prefix, i)).line, _Located(row, smap, (*prefix, i))


class _Located:
    """A YAML row with its source map, so a problem deep inside it names its own line."""

    __slots__ = ("base", "row", "smap")

    def __init__(self, row: Any, smap: Any, base: tuple[str | int, ...]) -> None:
        self.row, self.smap, self.base = row, smap, base

    def line_of(self, path: tuple[str | int, ...]) -> tuple[int, int]:
        for end in range(len(path), 0, -1):
            found = self.smap.positions.get((*self.base, *path[:end]))
            if found:
                return int(found[0]), int(found[1])
        return 0, 0


_READERS = {".jsonl": _rows_jsonl, ".csv": _rows_csv, ".yaml": _rows_yaml, ".yml": _rows_yaml}


def load_dataset(name: str, path: Path) -> Dataset:
    """Read a dataset file; bad rows are collected in ``problems``, not raised one by one."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise DatasetError(
            f"unsupported dataset format '{path.suffix}' (use .jsonl, .csv or .yaml)",
            Location(str(path)),
        )
    text = _read(path)
    dataset = Dataset(name=name, path=path, cases=[])
    seen: dict[str, int] = {}
    rows = 0
    for line, item in reader(path, text):
        rows += 1
        located = item if isinstance(item, _Located) else None
        row = located.row if located is not None else item
        where = Location(str(path), line, row.column if isinstance(row, _RowError) else 0)
        try:
            if isinstance(row, _RowError):
                raise row
            if not isinstance(row, Mapping):
                raise _RowError("a row must be an object/mapping")
            case = case_from_mapping(row)
            if case.id in seen:
                raise _RowError(f"duplicate id '{case.id}' (first at line {seen[case.id]})")
        except _RowError as exc:
            if located is not None and exc.path:
                deep_line, deep_column = located.line_of(exc.path)
                if deep_line:
                    where = Location(str(path), deep_line, deep_column)
            dataset.problems.append(RowProblem(where, str(exc)))
            continue
        seen[case.id] = line
        dataset.cases.append(case)
    if not rows:
        what = "only a header row" if path.suffix.lower() == ".csv" and text.strip() else "no rows"
        raise DatasetError(f"dataset '{name}' has {what}: add cases to it", Location(str(path)))
    return dataset


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError("file not found", Location(str(path))) from None
    except IsADirectoryError:
        raise DatasetError("is a folder, not a file", Location(str(path))) from None
    except OSError as exc:
        raise DatasetError(f"cannot be read ({exc.strerror})", Location(str(path))) from None
    except ValueError:  # a NUL character in the path
        raise DatasetError("is not a valid file name", Location(repr(str(path)))) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DatasetError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8",
            Location(str(path), line),
        ) from None
