"""Production-trace tests' parts: a project with an API key, a real `hyouka serve` process,
the instrumented app (tests/traces_app.py) as its own process, and OTLP request builders."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hyouka.api import Workspace

APP = Path(__file__).parent / "traces_app.py"
ROOT = Path(__file__).parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Project:
    root: Path
    url: str
    key: str
    name: str

    def workspace(self) -> Workspace:
        return Workspace.open(self.root, self.url)


def make_project(folder: Path, url: str | None = None, name: str | None = None) -> Project:
    folder.mkdir(parents=True, exist_ok=True)
    name = name or f"traces-{secrets.token_hex(3)}"
    (folder / "hyouka.yaml").write_text(f"name: {name}\n", encoding="utf-8")
    url = url or f"sqlite:///{folder / 'store.db'}"
    ws = Workspace.open(folder, url)
    _key, secret = ws.api_keys.add("shop-bot")
    ws.close()
    return Project(folder, url, secret, name)


def _env(project: Project) -> dict[str, str]:
    return {
        **os.environ,
        "HYOUKA_DATABASE_URL": project.url,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }


@contextmanager
def serving(project: Project, workers: int = 1) -> Iterator[str]:
    """``hyouka serve`` on a free loopback port; yields its base URL; stopped (SIGINT) after."""
    server = start_server(project, workers)
    try:
        yield server[1]
    finally:
        stop(server[0])


def start_server(project: Project, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "hyouka", "serve", "-p", str(project.root), "--port",
               str(port), "--workers", str(workers)]  # fmt: skip
    server = subprocess.Popen(
        command, env=_env(project), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"hyouka serve exited: {server.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("hyouka serve did not start")


def stop(server: subprocess.Popen[bytes], kill: bool = False) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGKILL if kill else signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


def run_app(
    kind: str, base: str, key: str, openai_base: str, questions: Sequence[str]
) -> list[dict[str, Any]]:
    """The instrumented app's calls (one JSON line each), after it flushed its exports."""
    done = subprocess.run(
        [sys.executable, str(APP), kind, base, key, openai_base, *questions],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Failed to export" not in done.stderr, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


# -- OTLP requests built by hand (for bad input and the benchmark) ----------------------------


def any_value(value: Any) -> Any:
    from opentelemetry.proto.common.v1 import common_pb2

    out = common_pb2.AnyValue()
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, list):
        out.array_value.values.extend(any_value(v) for v in value)
    elif isinstance(value, dict):
        out.kvlist_value.values.extend(key_value(k, v) for k, v in value.items())
    return out


def key_value(key: str, value: Any) -> Any:
    from opentelemetry.proto.common.v1 import common_pb2

    return common_pb2.KeyValue(key=key, value=any_value(value))


def llm_attributes(n: int, question: str = "返品の方法は?") -> dict[str, Any]:
    """A GenAI chat span's attributes (current layout, content on the span)."""
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-test",
        "gen_ai.response.model": "gpt-test-0613",
        "gen_ai.usage.input_tokens": 20 + n % 7,
        "gen_ai.usage.output_tokens": 30 + n % 5,
        "gen_ai.input.messages": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": f"{question} #{n}"}]}],
            ensure_ascii=False,
        ),
        "gen_ai.output.messages": json.dumps(
            [{"role": "assistant", "parts": [{"type": "text", "content": f"答え {n}"}]}],
            ensure_ascii=False,
        ),
        "user.id": f"u{n % 10}",
    }


def trace_request(
    spans: Sequence[tuple[bytes, bytes, dict[str, Any]]], start_ns: int | None = None
) -> bytes:
    """An ExportTraceServiceRequest of (trace id, span id, attributes) spans, serialised."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    from opentelemetry.proto.trace.v1 import trace_pb2

    request = trace_service_pb2.ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend([key_value("service.name", "bench-app")])
    ss = rs.scope_spans.add()
    ss.scope.name = "test"
    start = start_ns or time.time_ns()
    for trace_id, span_id, attrs in spans:
        span = ss.spans.add()
        span.trace_id, span.span_id = trace_id, span_id
        span.name = "chat gpt-test"
        span.kind = trace_pb2.Span.SPAN_KIND_CLIENT
        span.start_time_unix_nano = start
        span.end_time_unix_nano = start + 250_000_000
        span.attributes.extend(key_value(k, v) for k, v in attrs.items())
    return bytes(request.SerializeToString())
