"""Production feedback that names a trace: it attaches to the exact LLM span that answered.

``POST /api/feedback`` with ``trace_id`` (and optionally ``span_id``): the judgment's
``external_ref`` becomes ``otel:<trace id>:<span id>`` and, unless the app sent them, its input
and output text are the span's, so the complaint reaches ``hyouka feedback`` with the real
production answer. A trace that has not arrived yet (exporters batch for a few seconds) is
still accepted: the ref is ``otel:<trace id>`` and ``hyouka traces --feedback`` finds it
once the trace is stored.
"""

from __future__ import annotations

import dataclasses
import re

from hyouka.humans.feedback import Feedback
from hyouka.humans.people import HumanEvalError
from hyouka.store.store import Store
from hyouka.traces.reads import span_for_feedback

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_SPAN_ID = re.compile(r"^[0-9a-f]{16}$")


def with_trace(
    store: Store, project: str, fb: Feedback, trace_id: str, span_id: str | None
) -> Feedback:
    """``fb`` bound to the trace's span: its ref, and its texts where the app sent none."""
    trace_id, span_id = trace_id.strip().lower(), (span_id or "").strip().lower() or None
    if not _TRACE_ID.match(trace_id) or trace_id.strip("0") == "":
        raise HumanEvalError("trace_id must be 32 hex digits (not all zero)", "error.bad_trace_id")
    if span_id is not None and (not _SPAN_ID.match(span_id) or span_id.strip("0") == ""):
        raise HumanEvalError("span_id must be 16 hex digits (not all zero)", "error.bad_trace_id")
    found = span_for_feedback(store, project, trace_id, span_id)
    if found is None:
        ref = f"otel:{trace_id}" + (f":{span_id}" if span_id else "")
        return dataclasses.replace(fb, external_ref=ref)
    return dataclasses.replace(
        fb,
        external_ref=found.ref,
        input_text=fb.input_text if fb.input_text is not None else found.last_user_message,
        output_text=fb.output_text if fb.output_text is not None else found.output_text,
    )
