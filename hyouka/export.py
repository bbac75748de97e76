"""Exporting a run's samples with their scores (and any rows: :func:`write_rows`): JSONL, CSV
or Parquet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hyouka.csvsafe import csv_cell
from hyouka.errors import HyoukaError, MissingDependencyError
from hyouka.store.schema import cases, samples, scores, variants
from hyouka.store.store import RunInfo, Store

COLUMNS = [
    "run",
    "variant",
    "variant_version",
    "case_id",
    "sample_index",
    "seed",
    "status",
    "output",
    "error",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "cost",
    "cached",
    "vars",
    "expected",
    "contexts",
    "scores",
]


def iter_rows(
    store: Store, run: RunInfo, only: Sequence[str] | None = None
) -> Iterator[dict[str, Any]]:
    query = (
        select(
            samples.c.id,
            variants.c.name,
            variants.c.version,
            cases.c.case_key,
            cases.c.content,
            samples.c.sample_index,
            samples.c.seed,
            samples.c.status,
            samples.c.output,
            samples.c.error,
            samples.c.latency_ms,
            samples.c.input_tokens,
            samples.c.output_tokens,
            samples.c.cost,
            samples.c.cached,
            samples.c.contexts,
        )
        .join(variants, variants.c.id == samples.c.variant_id)
        .join(cases, cases.c.id == samples.c.case_id)
        .where(samples.c.run_id == run.id, samples.c.role == "app")
        .order_by(samples.c.id)
    )
    if only:
        query = query.where(variants.c.name.in_(list(only)))
    with store.engine.connect() as conn:
        sample_rows = conn.execute(query).fetchall()
        # Newest row per (sample, metric, repeat): rescoring adds rows, the last one counts.
        found: dict[int, dict[str, dict[int, dict[str, Any]]]] = {}
        for s in conn.execute(
            select(
                scores.c.sample_id,
                scores.c.metric,
                scores.c.repeat,
                scores.c.value,
                scores.c.passed,
                scores.c.status,
            )
            .join(samples, samples.c.id == scores.c.sample_id)
            .where(samples.c.run_id == run.id)
            .order_by(scores.c.id)
        ):
            found.setdefault(int(s.sample_id), {}).setdefault(s.metric, {})[int(s.repeat)] = {
                "value": s.value,
                "passed": s.passed,
                "status": s.status,
            }
        score_map = {
            sample: {metric: _score_cell(reps) for metric, reps in by_metric.items()}
            for sample, by_metric in found.items()
        }
    for r in sample_rows:
        content = r.content or {}
        yield {
            "run": run.uid,
            "variant": r.name,
            "variant_version": r.version,
            "case_id": r.case_key,
            "sample_index": r.sample_index,
            "seed": r.seed,
            "status": r.status,
            "output": r.output,
            "error": r.error,
            "latency_ms": r.latency_ms,
            "input_tokens": r.input_tokens,
            "output_tokens": r.output_tokens,
            "cost": r.cost,
            "cached": bool(r.cached),
            "vars": content.get("vars"),
            "expected": content.get("expected"),
            "contexts": r.contexts,
            "scores": score_map.get(int(r.id), {}),
        }


def _score_cell(repeats: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One metric of one sample. A check asked once: its value, passed and status. A judge
    asked several times (``repeat``): ``value`` is the mean over the ok repeats of the value
    (or pass = 1 / fail = 0), as ``hyouka compare`` uses it; ``passed`` is true or false when
    every ok repeat agrees, else null; ``status`` is ok when any repeat is; and ``repeats``
    lists every repeat in order."""
    if len(repeats) == 1:
        return dict(next(iter(repeats.values())))
    ordered = [{"repeat": r, **repeats[r]} for r in sorted(repeats)]
    ok = [r for r in ordered if r["status"] == "ok"]
    numbers = [
        float(r["value"]) if r["value"] is not None else float(r["passed"])
        for r in ok
        if r["value"] is not None or r["passed"] is not None
    ]
    verdicts = {r["passed"] for r in ok}
    return {
        "value": sum(numbers) / len(numbers) if numbers else None,
        "passed": verdicts.pop() if len(verdicts) == 1 else None,
        "status": "ok" if ok else ordered[-1]["status"],
        "repeats": ordered,
    }


def _flat(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def export_run(
    store: Store,
    run: RunInfo,
    path: Path,
    fmt: str | None = None,
    only: Sequence[str] | None = None,
) -> int:
    return write_rows(iter_rows(store, run, only), path, fmt, COLUMNS)


def write_rows(
    rows: Iterable[dict[str, Any]], path: Path, fmt: str | None, columns: Sequence[str]
) -> int:
    """Write ``rows`` as JSONL, CSV (nested values as JSON text, formula-like text neutralised:
    :mod:`hyouka.csvsafe`) or Parquet, by ``fmt`` or the file's suffix; return how many were
    written. CSV starts with a UTF-8 byte-order mark: the
    Japanese edition of Excel reads a CSV without one as Shift_JIS (mojibake), and pandas and
    hyouka's own dataset loader skip it."""
    fmt = (fmt or path.suffix.lstrip(".") or "jsonl").lower()
    count = 0
    if fmt == "jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                count += 1
    elif fmt == "csv":
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(columns))
            writer.writeheader()
            for row in rows:
                writer.writerow({k: csv_cell(v) for k, v in row.items()})
                count += 1
    elif fmt == "parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise MissingDependencyError("pyarrow", "parquet", "Parquet export") from None
        data = [{k: _flat(v) for k, v in row.items()} for row in rows]  # in memory
        count = len(data)
        table = (
            pa.Table.from_pylist(data)
            if data
            else pa.table({c: pa.array([], pa.null()) for c in columns})
        )
        pq.write_table(table, path)
    else:
        raise HyoukaError(f"unknown export format '{fmt}' (use jsonl, csv or parquet)")
    return count


def csv_text(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], batch: int = 500
) -> Iterator[str]:
    """The CSV :func:`write_rows` writes, as text chunks (byte-order mark first), for a
    download streamed while the rows are read."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns))
    buffer.write("\ufeff")
    writer.writeheader()
    for n, row in enumerate(rows, 1):
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
        if n % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def jsonl_text(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """JSON Lines, a row per line, for a streamed download."""
    for row in rows:
        yield json.dumps(row, ensure_ascii=False, default=str) + "\n"
