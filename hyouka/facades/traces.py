"""Production traces through the front door: ingest OTLP exports, list and filter traces,
turn them into dataset cases, attach feedback to them (:mod:`hyouka.traces`)."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

from hyouka.facades.scope import Scope
from hyouka.humans.feedback import Feedback
from hyouka.humans.people import HumanEvalError
from hyouka.traces.ingest import Outcome, ingest_logs, ingest_spans
from hyouka.traces.queries import TraceFilter
from hyouka.traces.reads import DatasetWritten, Trace, list_traces, to_dataset


class Traces:
    """LLM spans an app sent over OpenTelemetry (``hyouka serve``'s ``/v1/traces``)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def ingest_spans(
        self, body: bytes, content_type: str | None, encoding: str | None = None,
        api_key_id: int | None = None,
    ) -> Outcome:  # fmt: skip
        """Store one OTLP ``ExportTraceServiceRequest`` (protobuf or JSON)."""
        return ingest_spans(
            self.scope.store, self.scope.name, body, content_type, encoding, api_key_id
        )

    def ingest_logs(
        self, body: bytes, content_type: str | None, encoding: str | None = None
    ) -> Outcome:
        """Store one OTLP ``ExportLogsServiceRequest``: GenAI events carrying messages."""
        return ingest_logs(self.scope.store, self.scope.name, body, content_type, encoding)

    def list(self, **filters: Any) -> builtins.list[Trace]:
        """Traces, newest first (filters: the fields of :class:`TraceFilter`)."""
        return list_traces(self.scope.store, self.scope.name, TraceFilter(**filters))

    def to_dataset(
        self,
        path: Path,
        *,
        reference: bool = True,
        samples: Path | None = None,
        as_variant: str | None = None,
        **filters: Any,
    ) -> DatasetWritten:
        """Write the selected traces as dataset cases at ``path`` (the production answer as
        ``expected`` when ``reference``), and as an external variant's samples in the generic
        import JSONL at ``samples`` (for ``hyouka import``), as variant ``as_variant``."""
        found = self.list(**filters)
        if not found:
            raise HumanEvalError("no trace matches: nothing written")
        return to_dataset(
            found, path, reference=reference, samples_path=samples, variant=as_variant
        )

    def feedback(self, fb: Feedback, trace_id: str, span_id: str | None = None) -> Feedback:
        """``fb`` attached to a trace's LLM span (see :mod:`hyouka.traces.feedback`)."""
        from hyouka.traces.feedback import with_trace

        if fb.external_ref is not None:
            raise HumanEvalError(
                "send either trace_id or external_ref, not both", "error.trace_and_ref"
            )
        return with_trace(self.scope.store, self.scope.name, fb, trace_id, span_id)
