"""Production traces under failure and scale-out: a 200 means stored (``kill -9`` of the
server right after its answers loses no acknowledged span), and ``hyouka serve --workers 2``
on PostgreSQL with two exporters stores every span exactly once (idempotent on trace id +
span id, also when the same batch reaches both workers)."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import httpx
from pg import temporary_schema
from traces_env import (
    Project,
    llm_attributes,
    make_project,
    run_app,
    start_server,
    stop,
    trace_request,
)

from hyouka.store.tx import reading
from hyouka.testing.fake_server import FakeServer
from hyouka.traces import queries

PB = {"content-type": "application/x-protobuf"}


def _stored_ids(project: Project) -> set[tuple[str, str]]:
    ws = project.workspace()
    try:
        return {(t.trace_id, t.span_id) for t in ws.traces.list(limit=100_000)}
    finally:
        ws.close()


def _batch(n: int) -> tuple[bytes, list[tuple[str, str]]]:
    trace = secrets.token_bytes(16)
    spans = [(trace, secrets.token_bytes(8), llm_attributes(i)) for i in range(n)]
    return trace_request(spans), [(trace.hex(), s.hex()) for _, s, _ in spans]


def test_kill_9_right_after_answers_loses_no_acknowledged_span(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    server, base = start_server(project)
    acked: list[tuple[str, str]] = []
    stop_sending = threading.Event()
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(base_url=base, timeout=5, headers={**PB, "X-API-Key": project.key}) as c:
            while not stop_sending.is_set():
                body, ids = _batch(50)
                try:
                    answer = c.post("/v1/traces", content=body)
                except httpx.HTTPError:
                    return  # killed
                if answer.status_code == 200:
                    with lock:
                        acked.extend(ids)

    senders = [threading.Thread(target=send) for _ in range(3)]
    for s in senders:
        s.start()
    while True:  # kill while requests are in flight, once a few hundred spans are acknowledged
        with lock:
            if len(acked) >= 600:
                break
        threading.Event().wait(0.01)
    stop(server, kill=True)
    stop_sending.set()
    for s in senders:
        s.join(10)
    stored = _stored_ids(project)
    missing = set(acked) - stored
    assert not missing, f"{len(missing)} acknowledged spans lost, e.g. {sorted(missing)[0]}"
    # the store opens again and takes more
    server, base = start_server(project)
    try:
        body, ids = _batch(10)
        answer = httpx.post(
            f"{base}/v1/traces", content=body, headers={**PB, "X-API-Key": project.key}
        )
        assert answer.status_code == 200
        assert set(ids) <= _stored_ids(project)
    finally:
        stop(server)


def test_two_workers_on_postgresql_store_every_span_of_two_exporters_once(
    tmp_path: Path,
) -> None:
    from hyouka.store import db

    with temporary_schema() as url:
        engine = db.create(url)
        db.upgrade(engine)
        engine.dispose()
        project = make_project(tmp_path / "project", url)
        server, base = start_server(project, workers=2)
        try:
            with FakeServer() as fake:
                questions = [f"質問 {n}" for n in range(15)]
                results: dict[str, list[dict[str, object]]] = {}

                def export(kind: str) -> None:
                    results[kind] = run_app(kind, base, project.key, fake.base_url, questions)

                apps = [
                    threading.Thread(target=export, args=(k,))
                    for k in ("openinference", "otel-span")
                ]
                for a in apps:
                    a.start()
                # meanwhile: the same batches sent twice at once, as two workers may get them
                # (a collector retrying through a load balancer)
                batches = [_batch(40) for _ in range(20)]

                def resend() -> None:
                    with httpx.Client(
                        base_url=base, timeout=10, headers={**PB, "X-API-Key": project.key}
                    ) as c:
                        for body, _ids in batches:
                            assert c.post("/v1/traces", content=body).status_code == 200

                twice = [threading.Thread(target=resend) for _ in range(2)]
                for t in twice:
                    t.start()
                for t in [*apps, *twice]:
                    t.join(120)
            stored = _stored_ids(project)
            expected = {i for _, ids in batches for i in ids}
            assert expected <= stored
            exported = {str(c["trace_id"]) for calls in results.values() for c in calls}
            assert len(exported) == 2 * len(questions)
            assert exported <= {t for t, _ in stored}
            ws = project.workspace()
            with reading(ws.store) as conn:
                rows = queries.count_spans(conn, ws.name)
            ws.close()
            assert rows == len(expected) + 2 * len(questions)  # no duplicate, none lost
        finally:
            stop(server)


def test_counts_filters_logs_and_feedback_on_postgresql(tmp_path: Path) -> None:
    import json
    from datetime import UTC, datetime, timedelta

    from hyouka.humans.feedback import Feedback, record_feedback
    from hyouka.store import db

    with temporary_schema() as url:
        engine = db.create(url)
        db.upgrade(engine)
        engine.dispose()
        ws = make_project(tmp_path / "project", url).workspace()
        trace, first = secrets.token_bytes(16), secrets.token_bytes(8)
        spans = [(trace, first, {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"})]
        spans += [(trace, secrets.token_bytes(8), llm_attributes(n)) for n in range(4)]
        body = trace_request(spans)
        sent = ws.traces.ingest_spans(body, "application/x-protobuf")
        again = ws.traces.ingest_spans(body, "application/x-protobuf")
        assert (sent.stored, sent.duplicates, again.stored, again.duplicates) == (5, 0, 0, 5)
        content = {"key": "content", "value": {"stringValue": "ログだけの質問"}}
        record = {"eventName": "gen_ai.user.message", "traceId": trace.hex(), "spanId": first.hex(),
                  "body": {"kvlistValue": {"values": [content]}}}  # fmt: skip
        logs = json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]}).encode()
        assert ws.traces.ingest_logs(logs, "application/json").stored == 1
        assert ws.traces.ingest_logs(logs, "application/json").duplicates == 1
        [from_log] = ws.traces.list(text="ログだけ")
        assert from_log.span_id == first.hex()
        assert list(from_log.input_messages) == [{"role": "user", "content": "ログだけの質問"}]
        assert len(ws.traces.list(text="返品")) == 4
        assert len(ws.traces.list(since=datetime.now(UTC) - timedelta(hours=1))) == 5
        assert len(ws.traces.list(user="u1")) == 1
        fb = ws.traces.feedback(Feedback(thumb="down", comment="違う"), trace.hex())
        record_feedback(ws.store, ws.name, 1, fb)
        assert [t.span_id for t in ws.traces.list(feedback=True)] == [fb.external_ref.split(":")[2]]  # type: ignore[union-attr]
        assert len(ws.traces.list(feedback=False)) == 4
        ws.close()
