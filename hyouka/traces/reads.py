"""Reading production traces: a span with the messages its log records carry, and traces as
dataset cases (and as an external variant's samples, in the generic import JSONL)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from hyouka.store.store import Store
from hyouka.store.tx import as_utc, reading
from hyouka.traces import queries
from hyouka.traces.conventions import Message, events_content, output_text
from hyouka.traces.queries import TraceFilter


@dataclass(frozen=True)
class Trace:
    """One stored LLM span, with its messages (from the span, else from its log records)."""

    id: int
    trace_id: str
    span_id: str
    name: str
    convention: str
    started_at: datetime
    latency_ms: float | None
    status: str
    error: str | None
    operation: str | None
    system: str | None
    model: str | None
    input_messages: tuple[Message, ...]
    output_text: str | None
    input_tokens: int | None
    output_tokens: int | None
    user_id: str | None
    session_id: str | None
    variant: str | None
    service: str | None
    has_feedback: bool
    attributes: dict[str, Any]

    @property
    def ref(self) -> str:
        """What production feedback on it names (``judgments.external_ref``)."""
        return f"otel:{self.trace_id}:{self.span_id}"

    @property
    def case_id(self) -> str:
        return f"{self.trace_id}-{self.span_id}"

    @property
    def last_user_message(self) -> str:
        users = [m["content"] for m in self.input_messages if m.get("role") == "user"]
        return users[-1] if users else ""

    @property
    def system_prompt(self) -> str:
        return "\n".join(m["content"] for m in self.input_messages if m.get("role") == "system")

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "attributes"}
        out["input_messages"] = list(self.input_messages)
        out["started_at"] = self.started_at.isoformat()
        return out


def _trace(row: dict[str, Any], logs: Sequence[dict[str, Any]]) -> Trace:
    inputs = row["input_messages"] or []
    answer = row["output_text"]
    if logs and (not inputs or answer is None):
        found = events_content((log["event_name"], log["attributes"], log["body"]) for log in logs)
        if not inputs:
            inputs = found.system + found.input
        if answer is None:
            answer = output_text(found.output)
    started = as_utc(row["started_at"])
    assert started is not None
    return Trace(
        id=row["id"], trace_id=row["trace_id"], span_id=row["span_id"], name=row["name"],
        convention=row["convention"], started_at=started, latency_ms=row["latency_ms"],
        status=row["status"], error=row["error"], operation=row["operation"],
        system=row["system"], model=row["model"], input_messages=tuple(inputs),
        output_text=answer, input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"], user_id=row["user_id"],
        session_id=row["session_id"], variant=row["variant"], service=row["service"],
        has_feedback=bool(row.get("has_feedback")), attributes=row["attributes"],
    )  # fmt: skip


def list_traces(store: Store, project: str, f: TraceFilter) -> list[Trace]:
    """The LLM spans that ``f`` selects, newest first, with their log records' messages."""
    with reading(store) as conn:
        rows = queries.select_spans(conn, project, f)
        wanting = [
            (r["trace_id"], r["span_id"])
            for r in rows
            if not r["input_messages"] or r["output_text"] is None
        ]
        by_span: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for log in queries.logs_of(conn, project, wanting):
            by_span.setdefault((log["trace_id"], log["span_id"]), []).append(log)
    return [_trace(r, by_span.get((r["trace_id"], r["span_id"]), [])) for r in rows]


def span_for_feedback(
    store: Store, project: str, trace_id: str, span_id: str | None
) -> Trace | None:
    """The span feedback on ``trace_id`` is about: ``span_id``'s, else the trace's last LLM
    span (its final answer); None while the trace has not arrived."""
    with reading(store) as conn:
        if span_id:
            row = queries.span_by_ids(conn, project, trace_id, span_id)
        else:
            row = queries.last_span_of_trace(conn, project, trace_id)
        if row is None:
            return None
        logs = queries.logs_of(conn, project, [(row["trace_id"], row["span_id"])])
    return _trace(row, logs)


# -- traces as cases --------------------------------------------------------------------------


def case_of(trace: Trace, reference: bool) -> dict[str, Any]:
    """A dataset row (``hyouka.datasets``): ``vars.input`` the last user message, ``vars.system``
    the system prompt, ``vars.messages`` every input message; ``expected`` the production
    answer when ``reference``; ``metadata`` where it came from."""
    row: dict[str, Any] = {
        "id": trace.case_id,
        "vars": {
            "input": trace.last_user_message,
            "system": trace.system_prompt,
            "messages": [dict(m) for m in trace.input_messages],
        },
        "metadata": {
            "source": "otel",
            "trace_id": trace.trace_id,
            "span_id": trace.span_id,
            "model": trace.model,
            "variant": trace.variant,
            "user_id": trace.user_id,
            "session_id": trace.session_id,
            "started_at": trace.started_at.isoformat(),
        },
    }
    if reference and trace.output_text:
        row["expected"] = trace.output_text
    return row


def sample_of(trace: Trace, variant: str | None) -> dict[str, Any]:
    """A row of the generic import JSONL (``hyouka import``): the production answer as sample
    0 of an external variant (``variant``, else the trace's label, else "production")."""
    return {
        "id": trace.case_id,
        "variant": variant or trace.variant or "production",
        "sample": 0,
        "output": trace.output_text or "",
        "latency_ms": trace.latency_ms,
        "input_tokens": trace.input_tokens,
        "output_tokens": trace.output_tokens,
        "cost": None,
        "model": trace.model,
    }


@dataclass(frozen=True)
class DatasetWritten:
    cases: int
    samples: int
    skipped: int  # traces without a user message (nothing to ask again)
    example_skipped: str | None


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as out:
        for row in rows:
            out.write(orjson.dumps(row) + b"\n")
    tmp.replace(path)


def to_dataset(
    traces: Sequence[Trace],
    path: Path,
    *,
    reference: bool = True,
    samples_path: Path | None = None,
    variant: str | None = None,
) -> DatasetWritten:
    """Write the traces as a JSONL dataset at ``path`` (and their answers at ``samples_path``)."""
    usable = [t for t in traces if t.input_messages]
    skipped = [t for t in traces if not t.input_messages]
    seen: set[str] = set()
    unique = [t for t in usable if not (t.case_id in seen or seen.add(t.case_id))]  # type: ignore[func-returns-value]
    _write_jsonl(path, (case_of(t, reference) for t in unique))
    written = 0
    if samples_path is not None:
        answered = [t for t in unique if t.output_text is not None]
        _write_jsonl(samples_path, (sample_of(t, variant) for t in answered))
        written = len(answered)
    return DatasetWritten(
        cases=len(unique),
        samples=written,
        skipped=len(skipped),
        example_skipped=skipped[0].ref if skipped else None,
    )


def iter_refs(traces: Iterable[Trace]) -> Iterator[str]:
    for t in traces:
        yield t.ref
