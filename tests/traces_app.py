"""A small production app, run as its own process by tests/test_traces_*.py and
benchmarks/otlp_ingest.py: the real ``openai`` SDK calling the fake OpenAI server, instrumented
by a real OpenTelemetry instrumentor, exporting with the real OTLP/HTTP exporter.

    python tests/traces_app.py INSTRUMENTOR ENDPOINT API_KEY OPENAI_BASE_URL QUESTION...

INSTRUMENTOR: ``openinference`` | ``otel-span`` (openai-v2, content on the span) |
``otel-event`` (openai-v2, content as OTLP log records) | ``otel-legacy`` (openai-v2, previous
layout: gen_ai.*.message events as log records). Prints one JSON line per call:
``{trace_id, span_id, question, answer, prompt_tokens, completion_tokens}``.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    kind, endpoint, key, base_url, *questions = sys.argv[1:]
    if kind == "otel-span":
        os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
    elif kind == "otel-event":
        os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "EVENT_ONLY"
    elif kind == "otel-legacy":
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    os.environ["OTEL_EXPORTER_OTLP_HEADERS"] = f"x-api-key={key}"
    os.environ["OTEL_RESOURCE_ATTRIBUTES"] = "service.name=shop-bot,hyouka.variant=prompt-v2"

    from opentelemetry import _logs, trace
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()
    spans = TracerProvider(resource=resource)
    spans.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(spans)
    logs = LoggerProvider(resource=resource)
    logs.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    _logs.set_logger_provider(logs)

    if kind == "openinference":
        from openinference.instrumentation import using_attributes
        from openinference.instrumentation.openai import OpenAIInstrumentor as OI

        OI().instrument()
    else:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor as V2

        V2().instrument()
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="sk-test")
    tracer = trace.get_tracer("shop-bot")
    for n, question in enumerate(questions):
        user, session = f"user-{n % 2}", f"session-{n}"
        # the app's request span carries the user and session (the LLM span is its child)
        with tracer.start_as_current_span(
            "handle_request", attributes={"user.id": user, "session.id": session}
        ):
            messages = [
                {"role": "system", "content": "丁寧に答えてください"},
                {"role": "user", "content": question},
            ]
            if kind == "openinference":
                with using_attributes(user_id=user, session_id=session):
                    reply = client.chat.completions.create(model="fake-model", messages=messages)  # type: ignore[arg-type]
            else:
                reply = client.chat.completions.create(model="fake-model", messages=messages)  # type: ignore[arg-type]
            current = trace.get_current_span().get_span_context()
        usage = reply.usage
        assert usage is not None
        print(
            json.dumps(
                {
                    "trace_id": format(current.trace_id, "032x"),
                    "question": question,
                    "answer": reply.choices[0].message.content,
                    "prompt_tokens": usage.prompt_tokens,
                    "completion_tokens": usage.completion_tokens,
                    "user": user,
                    "session": session,
                },
                ensure_ascii=False,
            ),
            flush=True,
        )
    spans.force_flush()
    logs.force_flush()
    spans.shutdown()
    logs.shutdown()


if __name__ == "__main__":
    main()
