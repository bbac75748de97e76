"""Datasets: test cases read from JSONL, CSV or YAML, versioned by content hash.

A case has ``vars`` (template inputs), optional ``expected`` (one or several references),
per-case ``checks``, an ``aspect`` (per-case rubric text), ``tags`` and ``gold_ids`` (the ids of
the passages a retrieval step should find). Its id is given, or derived from its content.

Loading never stops at the first bad row and never drops one silently: every bad row becomes
a :class:`RowProblem` with its file and line, and :meth:`Dataset.raise_for_problems` reports
them all at once.
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

from hyouka.errors import DatasetError, Location
from hyouka.hashing import content_hash

FIELDS = {"id", "vars", "expected", "checks", "aspect", "tags", "gold_ids", "metadata"}
MAX_REPORTED = 20


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
        }

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
        raise DatasetError(
            f"dataset '{self.name}' has {len(self.problems)} bad row(s) "
            f"({len(self.cases)} good):\n{shown}{tail}\n"
            "Fix the rows, or pass --skip-bad-rows to run the good ones only."
        )


class _RowError(Exception):
    """A problem with one row, raised inside the row parser."""


def _as_str_tuple(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str | int | float) for v in value):
        return tuple(str(v) for v in value)
    raise _RowError(f"'{name}' must be a string or a list of strings")


def case_from_mapping(row: Mapping[str, Any]) -> Case:
    """Build a case from a row; raise ``_RowError`` with a clear message when it is wrong."""
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
    case_id = row.get("id")
    if case_id is not None and not isinstance(case_id, str | int):
        raise _RowError("'id' must be text or a number")
    body = Case(
        id="",
        vars=dict(variables),
        expected=expected_t,
        checks=tuple(dict(c) for c in checks),
        aspect=aspect,
        tags=tags,
        gold_ids=gold_t,
        metadata=dict(metadata),
    )
    if case_id is not None:
        return dataclasses.replace(body, id=str(case_id))
    # Hashed only when no id is given: ~15 µs a row, a tenth of loading 5,000 cases.
    derived = content_hash({k: v for k, v in body.content().items() if k != "id"}, 12)
    return dataclasses.replace(body, id=derived)


def _rows_jsonl(path: Path, text: str) -> Iterator[tuple[int, Any | _RowError]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, _RowError(f"invalid JSON at column {exc.colno}: {exc.msg}")


_CSV_LIST_FIELDS = {"expected", "tags", "gold_ids"}


def _csv_cell(name: str, value: str) -> Any:
    stripped = value.strip()
    if name in {"checks", "metadata"} or (name in _CSV_LIST_FIELDS and stripped.startswith("[")):
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
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip() for h in header]
    for row in reader:
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
        yield line, _RowError(exc.detail)
        return
    prefix: tuple[str | int, ...] = ()
    if isinstance(data, dict) and isinstance(data.get("cases"), list):
        data, prefix = data["cases"], ("cases",)
    if not isinstance(data, list):
        yield 1, _RowError("a YAML dataset must be a list of cases (or 'cases:' with a list)")
        return
    for i, row in enumerate(data):
        yield smap.locate((*prefix, i)).line, row


_READERS = {".jsonl": _rows_jsonl, ".csv": _rows_csv, ".yaml": _rows_yaml, ".yml": _rows_yaml}


def load_dataset(name: str, path: Path) -> Dataset:
    """Read a dataset file; bad rows are collected in ``problems``, not raised one by one."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise DatasetError(
            f"unsupported dataset format '{path.suffix}' (use .jsonl, .csv or .yaml)",
            Location(str(path)),
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError("file not found", Location(str(path))) from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"not UTF-8 text ({exc.reason})", Location(str(path))) from None
    dataset = Dataset(name=name, path=path, cases=[])
    seen: dict[str, int] = {}
    for line, row in reader(path, text):
        where = Location(str(path), line)
        try:
            if isinstance(row, _RowError):
                raise row
            if not isinstance(row, Mapping):
                raise _RowError("a row must be an object/mapping")
            case = case_from_mapping(row)
            if case.id in seen:
                raise _RowError(f"duplicate id '{case.id}' (first at line {seen[case.id]})")
        except _RowError as exc:
            dataset.problems.append(RowProblem(where, str(exc)))
            continue
        seen[case.id] = line
        dataset.cases.append(case)
    return dataset
