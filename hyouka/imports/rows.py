"""The generic import row (docs/import.md): parsing and checking one row of any format.

Every format reader (generic JSONL/CSV, promptfoo, Inspect AI) turns its records into plain
mappings of the generic format, so there is one place that says what a row may hold. A bad
field raises :class:`FieldProblem` naming the field; the importer adds the file and line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hyouka.bounds import NAME_MAX, name_problem, text_problem
from hyouka.datasets import MAX_ID_LENGTH

FIELDS = frozenset(
    {"id", "vars", "variant", "sample", "output", "latency_ms", "input_tokens", "output_tokens",
     "cost", "model", "scores", "judge_takes", "expected"}
)  # fmt: skip
TAKE_FIELDS = frozenset({"metric", "take", "value", "raw"})
MAX_SAMPLE = 100_000  # a sample index beyond this is a typo, not a repeat
MAX_TAKE = 1_000
_INT_MAX = 2**31 - 1  # PostgreSQL INTEGER (tokens)


class FieldProblem(Exception):
    """A bad field of one row: ``field`` is its dotted name (``scores.exact``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:  # pickled from the parsing worker process
        return (FieldProblem, (self.field, self.message))


@dataclass(slots=True)
class ImportRow:
    """One sample to import, checked."""

    variant: str
    case_id: str | None  # the case id to match (or the id of an inline case)
    vars: dict[str, Any] | None  # inline inputs: the case is made from them
    expected: list[str] | None
    sample: int
    output: str | None
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    model: str | None = None
    # (metric, value, passed)
    scores: list[tuple[str, float | None, bool | None]] = field(default_factory=list)
    # (metric, take, value, raw)
    takes: list[tuple[str, int, float | None, str | None]] = field(default_factory=list)
    error: str | None = None  # set by the promptfoo / Inspect readers for a failed sample


def _number(value: Any, name: str, *, integer: bool = False) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldProblem(name, f"must be a number, not {_kind(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldProblem(name, "must be a finite number")
    if value < 0:
        raise FieldProblem(name, f"must be ≥ 0 (got {value})")
    if integer:
        if isinstance(value, float):
            if not value.is_integer():
                raise FieldProblem(name, f"must be a whole number (got {value})")
            value = int(value)
        if value > _INT_MAX:
            raise FieldProblem(name, f"must be at most {_INT_MAX}")
        return int(value)
    return float(value)


def _float(value: Any, name: str) -> float | None:
    found = _number(value, name)
    return None if found is None else float(found)


def _int(value: Any, name: str) -> int | None:
    found = _number(value, name, integer=True)
    return None if found is None else int(found)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def _text(value: Any, name: str, *, limit: int | None = None) -> str:
    if not isinstance(value, str):
        raise FieldProblem(name, f"must be text, not {_kind(value)}")
    problem = text_problem(value)
    if problem:
        raise FieldProblem(name, problem)
    if limit is not None and len(value) > limit:
        raise FieldProblem(name, f"must be at most {limit} characters (got {len(value)})")
    return value


def _score_value(value: Any, name: str) -> tuple[float | None, bool | None]:
    if value is None:
        return None, None
    if isinstance(value, bool):
        return (1.0 if value else 0.0), value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise FieldProblem(name, "must be a finite number")
        return float(value), None
    raise FieldProblem(name, f"must be a number, true/false or null, not {_kind(value)}")


_GOOD_NAMES: dict[str, str] = {}  # names already checked (metrics, variants) -> stripped


def _name(value: Any, name: str, what: str) -> str:
    if isinstance(value, str):
        hit = _GOOD_NAMES.get(value)
        if hit is not None:
            return hit
    text = _text(value, name)
    problem = name_problem(text, what)
    if problem:
        raise FieldProblem(name, problem)
    if len(_GOOD_NAMES) < 10_000:
        _GOOD_NAMES[text] = text.strip()
    return text.strip()


def _metric(value: Any, name: str) -> str:
    return _name(value, name, "a metric name")


def _scores(value: Any) -> list[tuple[str, float | None, bool | None]]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise FieldProblem("scores", f"must be an object {{metric: value}}, not {_kind(value)}")
    out: list[tuple[str, float | None, bool | None]] = []
    good = _GOOD_NAMES
    for metric, raw in value.items():
        name = good.get(metric) if type(metric) is str else None
        if name is None:
            name = _metric(metric, "scores")
        if raw is None:
            out.append((name, None, None))
        elif raw is True or raw is False:
            out.append((name, 1.0 if raw else 0.0, raw))
        elif (type(raw) is float and math.isfinite(raw)) or type(raw) is int:
            out.append((name, float(raw), None))
        else:
            out.append((name, *_score_value(raw, f"scores.{name}")))
    return out


def _takes(value: Any) -> list[tuple[str, int, float | None, str | None]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldProblem("judge_takes", f"must be a list of objects, not {_kind(value)}")
    out: list[tuple[str, int, float | None, str | None]] = []
    seen: dict[str, int] = {}
    keys: set[tuple[str, int]] = set()
    for i, take in enumerate(value):
        where = f"judge_takes[{i}]"
        if not isinstance(take, Mapping):
            raise FieldProblem(where, f"must be an object {{metric, take, value, raw}}, not "
                               f"{_kind(take)}")  # fmt: skip
        unknown = sorted(set(map(str, take)) - TAKE_FIELDS)
        if unknown:
            raise FieldProblem(f"{where}.{unknown[0]}", "unknown field (allowed: metric, take, "
                               "value, raw)")  # fmt: skip
        if "metric" not in take:
            raise FieldProblem(f"{where}.metric", "is missing")
        metric = _metric(take["metric"], f"{where}.metric")
        index = take.get("take")
        if index is None:
            index = seen.get(metric, 0)
        elif isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_TAKE:
            raise FieldProblem(f"{where}.take", f"must be a whole number 0 to {MAX_TAKE}")
        if (metric, index) in keys:
            raise FieldProblem(f"{where}.take", f"take {index} of '{metric}' is given twice")
        keys.add((metric, index))
        seen[metric] = max(seen.get(metric, 0), index + 1)
        number, _ = _score_value(take.get("value"), f"{where}.value")
        raw = take.get("raw")
        out.append((metric, index, number, None if raw is None else _text(raw, f"{where}.raw")))
    return out


def _expected(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [_text(value, "expected")]
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [_text(str(v), "expected") for v in value]
    raise FieldProblem("expected", "must be text or a list of texts")


def _fast_float(value: Any, name: str) -> float | None:
    # the common case first: a plain non-negative number
    kind = type(value)
    if value is None:
        return None
    if (kind is float or kind is int) and 0 <= value < math.inf:
        return float(value)
    return _float(value, name)


def _fast_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if type(value) is int and 0 <= value <= _INT_MAX:
        return value
    return _int(value, name)


def parse_row(row: Any, variant: str | None = None) -> ImportRow:
    """Check one generic row (a mapping); ``variant`` (``--variant``) overrides the row's.

    About 10 µs a row: the hot path takes each field's common type first (measured in
    benchmarks/import_speed.py)."""
    if not isinstance(row, Mapping):
        raise FieldProblem("", f"a row must be an object, not {_kind(row)}")
    if not row.keys() <= FIELDS:
        unknown = sorted(str(k) for k in row if k not in FIELDS)
        raise FieldProblem(unknown[0], f"unknown field (allowed: {', '.join(sorted(FIELDS))})")
    get = row.get
    name = variant if variant is not None else get("variant")
    if name is None:
        raise FieldProblem("variant", "is missing (give it in every row, or pass --variant NAME)")
    name = _name(name, "variant", "a variant name")
    case_id = get("id")
    if case_id is not None:
        if type(case_id) is not str:
            if isinstance(case_id, bool) or not isinstance(case_id, str | int):
                raise FieldProblem("id", f"must be text or a number, not {_kind(case_id)}")
            case_id = str(case_id)
        if not 1 <= len(case_id) <= MAX_ID_LENGTH:
            raise FieldProblem("id", f"must be 1 to {MAX_ID_LENGTH} characters")
        case_id = _text(case_id, "id")
    variables = get("vars")
    if variables is not None and not isinstance(variables, Mapping):
        raise FieldProblem("vars", f"must be an object of inputs, not {_kind(variables)}")
    if case_id is None and variables is None:
        raise FieldProblem("id", "is missing: give the case 'id' (as in the dataset) or its 'vars'")
    sample = get("sample")
    if sample is None:
        sample = 0
    elif type(sample) is not int or not 0 <= sample <= MAX_SAMPLE:
        raise FieldProblem("sample", f"must be a whole number 0 to {MAX_SAMPLE}")
    output = get("output")
    if output is None:
        raise FieldProblem("output", "is missing")
    output = _text(output, "output")
    model = get("model")
    expected = get("expected")
    scores = get("scores")
    takes = get("judge_takes")
    return ImportRow(
        name,
        case_id,
        dict(variables) if variables is not None else None,
        None if expected is None else _expected(expected),
        sample,
        output,
        _fast_float(get("latency_ms"), "latency_ms"),
        _fast_int(get("input_tokens"), "input_tokens"),
        _fast_int(get("output_tokens"), "output_tokens"),
        _fast_float(get("cost"), "cost"),
        None if model is None else _name_or_text(model),
        [] if scores is None else _scores(scores),
        [] if takes is None else _takes(takes),
    )


def _name_or_text(model: Any) -> str:
    return _text(model, "model", limit=300)


__all__ = ["FIELDS", "NAME_MAX", "FieldProblem", "ImportRow", "parse_row"]
