"""The fake OpenAI/Anthropic server: response shapes, faults, counters, CLI and CPU cost.

Every test talks real HTTP/1.1 over 127.0.0.1 with the standard library's ``http.client``.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hyouka.testing
from hyouka.testing import Call, FakeServer, Fault, FaultSpecError, parse_fault, prompt_key

REPO = Path(__file__).resolve().parents[1]
CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"


def chat(text: str, seed: int | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "gpt-x", "messages": [{"role": "user", "content": text}]}
    if seed is not None:
        body["seed"] = seed
    return body | extra


def post(
    conn: http.client.HTTPConnection, path: str, body: object
) -> tuple[int, http.client.HTTPResponse, bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", path, raw, {"content-type": "application/json"})
    resp = conn.getresponse()
    return resp.status, resp, resp.read()


def connect(srv: FakeServer, timeout: float = 10.0) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)


@pytest.fixture
def srv() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


def test_chat_completion_has_openai_shape_and_default_answer(srv: FakeServer) -> None:
    conn = connect(srv)
    status, resp, raw = post(conn, CHAT, chat("日本の首都は？", seed=7))
    body = json.loads(raw)
    assert status == 200
    assert resp.getheader("connection") == "keep-alive"
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "回答: 日本の首都は？ (seed=7)",
    }
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["model"] == "gpt-x"
    assert body["id"] == "chatcmpl-fake-0"
    # "user: 日本の首都は？" is 27 UTF-8 bytes -> 7 tokens; the answer is 38 bytes -> 10.
    assert body["usage"] == {"prompt_tokens": 7, "completion_tokens": 10, "total_tokens": 17}
    assert srv.base_url == f"http://127.0.0.1:{srv.port}/v1"


def test_default_answer_is_truncated_to_200_characters(srv: FakeServer) -> None:
    _, _, raw = post(connect(srv), CHAT, chat("あ" * 500))
    assert json.loads(raw)["choices"][0]["message"]["content"] == "回答: " + "あ" * 200


def test_messages_endpoint_has_anthropic_shape(srv: FakeServer) -> None:
    request = {
        "model": "claude-x",
        "max_tokens": 100,
        "system": "be brief",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
    }
    status, _, raw = post(connect(srv), MESSAGES, request)
    body = json.loads(raw)
    assert status == 200
    assert body["type"] == "message"
    assert body["content"] == [{"type": "text", "text": "回答: hello"}]
    assert body["stop_reason"] == "end_turn"
    assert body["model"] == "claude-x"
    # "system: be brief\nuser: hello" is 28 bytes -> 7 tokens; "回答: hello" is 13 -> 4.
    assert body["usage"] == {"input_tokens": 7, "output_tokens": 4}


def test_script_replies_come_first_then_the_responder(srv: FakeServer) -> None:
    seen: list[dict[str, Any]] = []

    def responder(request: dict[str, Any]) -> str:
        seen.append(request)
        return f"verdict for {request['messages'][-1]['content']}"

    srv.set_responder(responder)
    srv.set_script(["A", "B"])
    conn = connect(srv)
    answers = [
        json.loads(post(conn, CHAT, chat(f"q{i}"))[2])["choices"][0]["message"]["content"]
        for i in range(3)
    ]
    assert answers == ["A", "B", "verdict for q2"]
    assert [r["messages"][0]["content"] for r in seen] == ["q2"]


def test_index_fault_429_sends_retry_after_and_openai_error(srv: FakeServer) -> None:
    srv.set_faults({1: "429:2"})
    conn = connect(srv)
    assert post(conn, CHAT, chat("a"))[0] == 200
    status, resp, raw = post(conn, CHAT, chat("b"))
    assert status == 429
    assert resp.getheader("retry-after") == "2"
    assert json.loads(raw)["error"]["type"] == "rate_limit_exceeded"
    assert post(conn, CHAT, chat("c"))[0] == 200  # same keep-alive connection still works
    assert srv.stats()["by_status"] == {"200": 2, "429": 1}


def test_fault_without_retry_after_sends_no_header(srv: FakeServer) -> None:
    srv.set_faults({0: 429})
    status, resp, _ = post(connect(srv), CHAT, chat("a"))
    assert status == 429
    assert resp.getheader("retry-after") is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_marker_in_last_user_message_injects_server_errors(srv: FakeServer, status: int) -> None:
    got, _, raw = post(connect(srv), CHAT, chat(f"case 1 [[fault:{status}]]"))
    assert got == status
    assert json.loads(raw)["error"]["type"] == "server_error"


def test_marker_with_attempt_limit_fails_only_first_attempts(srv: FakeServer) -> None:
    conn = connect(srv)
    statuses = [post(conn, CHAT, chat("flaky [[fault:503*2]]"))[0] for _ in range(4)]
    assert statuses == [503, 503, 200, 200]


def test_marker_in_earlier_turn_is_ignored(srv: FakeServer) -> None:
    body = {
        "messages": [
            {"role": "user", "content": "[[fault:500]]"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "next"},
        ]
    }
    assert post(connect(srv), CHAT, body)[0] == 200


def test_anthropic_errors_use_anthropic_error_types(srv: FakeServer) -> None:
    srv.set_faults({0: "429:0.5", 1: 529})
    conn = connect(srv)
    body = {"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    status, resp, raw = post(conn, MESSAGES, body)
    assert (status, resp.getheader("retry-after")) == (429, "0.5")
    assert json.loads(raw) == {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "fake server: injected HTTP 429 for call 0",
        },
    }
    status, _, raw = post(conn, MESSAGES, body)
    assert status == 529
    assert json.loads(raw)["error"]["type"] == "overloaded_error"


def test_rule_sees_attempt_and_can_fail_each_first_attempt(srv: FakeServer) -> None:
    seen: list[Call] = []

    def rule(call: Call) -> str | None:
        seen.append(call)
        return "503" if call.attempt == 0 else None

    srv.set_faults(rule=rule)
    conn = connect(srv)
    statuses = [post(conn, CHAT, chat(t))[0] for t in ["x", "x", "y", "y", "y"]]
    assert statuses == [503, 200, 503, 200, 200]
    assert [(c.index, c.attempt, c.last_user) for c in seen[:3]] == [
        (0, 0, "x"),
        (1, 1, "x"),
        (2, 0, "y"),
    ]


def test_index_fault_wins_over_marker_and_rule(srv: FakeServer) -> None:
    srv.set_faults({0: 502}, rule=lambda call: 500)
    conn = connect(srv)
    assert post(conn, CHAT, chat("[[fault:503]]"))[0] == 502
    assert post(conn, CHAT, chat("[[fault:503]]"))[0] == 503
    assert post(conn, CHAT, chat("plain"))[0] == 500


def test_slow_fault_outlasts_a_client_timeout(srv: FakeServer) -> None:
    conn = connect(srv, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        post(conn, CHAT, chat("[[fault:slow:1]]"))
    assert 0.28 <= time.monotonic() - start < 0.9
    conn.close()  # what a client does after its timeout
    time.sleep(1.0)  # the server finishes its sleep and finds the client gone
    stats = srv.stats()
    assert (stats["client_gone"], stats["faults"], stats["inflight"]) == (1, {"slow": 1}, 0)


def test_slow_fault_answers_normally_after_the_delay(srv: FakeServer) -> None:
    start = time.monotonic()
    status, _, raw = post(connect(srv), CHAT, chat("[[fault:slow:0.4]] hi"))
    elapsed = time.monotonic() - start
    assert status == 200
    assert json.loads(raw)["choices"][0]["message"]["content"] == "回答: [[fault:slow:0.4]] hi"
    assert 0.39 <= elapsed < 1.5


def test_dropped_connection_raises_connection_error(srv: FakeServer) -> None:
    srv.set_faults({0: "drop"})
    with pytest.raises(ConnectionError):
        post(connect(srv), CHAT, chat("a"))
    assert post(connect(srv), CHAT, chat("a"))[0] == 200  # the server keeps serving
    stats = srv.stats()
    assert (stats["dropped"], stats["by_status"], stats["model_calls"]) == (1, {"200": 1}, 2)
    assert [c.status for c in srv.calls()] == [None, 200]


def test_drop_after_delay_waits_before_closing(srv: FakeServer) -> None:
    start = time.monotonic()
    with pytest.raises(ConnectionError):
        post(connect(srv), CHAT, chat("[[fault:drop:0.3]]"))
    assert time.monotonic() - start >= 0.29


def test_malformed_fault_sends_truncated_json(srv: FakeServer) -> None:
    srv.set_faults({0: "malformed"})
    status, resp, raw = post(connect(srv), CHAT, chat("a"))
    assert (status, resp.getheader("content-type")) == (200, "application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)


def test_no_choices_fault_sends_valid_json_without_the_answer(srv: FakeServer) -> None:
    srv.set_faults({0: "no_choices", 1: "no_choices"})
    conn = connect(srv)
    body = json.loads(post(conn, CHAT, chat("a"))[2])
    assert "choices" not in body
    assert body["object"] == "chat.completion"
    body = json.loads(post(conn, MESSAGES, {"max_tokens": 5, "messages": []})[2])
    assert "content" not in body
    assert body["type"] == "message"


def test_base_latency_delays_every_call() -> None:
    with FakeServer(latency=0.05) as srv:
        conn = connect(srv)
        start = time.monotonic()
        for i in range(4):
            assert post(conn, CHAT, chat(str(i)))[0] == 200
        assert 0.2 <= time.monotonic() - start < 1.0
        assert srv.stats()["latency_s"] == 0.05


def test_counters_per_prompt_status_and_connections(srv: FakeServer) -> None:
    srv.set_faults({3: 500})
    conn = connect(srv)
    for text, seed in [("a", 1), ("b", 1), ("a", 1), ("a", 2)]:
        post(conn, CHAT, chat(text, seed=seed))
    post(connect(srv), CHAT, chat("c"))
    stats = srv.stats(prompts=True)
    assert stats["model_calls"] == 5
    assert stats["requests_total"] == 5
    assert stats["distinct_prompts"] == 4  # seed is part of the prompt's identity
    assert stats["prompts_seen_more_than_once"] == 1
    assert stats["extra_calls_for_repeated_prompts"] == 1
    assert stats["max_calls_per_prompt"] == 2
    assert stats["by_status"] == {"200": 4, "500": 1}
    assert stats["faults"] == {"500": 1}
    assert stats["connections_total"] == 2
    assert stats["by_path"] == {f"POST {CHAT}": 5}
    assert stats["prompts"][prompt_key(chat("a", seed=1))] == 2
    assert srv.prompt_counts() == stats["prompts"]
    assert srv.calls_for("a") == 3
    assert [c.seed for c in srv.calls()] == [1, 1, 1, 2, None]


def test_prompt_key_depends_on_messages_system_and_seed_only() -> None:
    base = prompt_key(chat("a", seed=1))
    assert prompt_key(chat("a", seed=1, temperature=0.3) | {"model": "other"}) == base
    assert prompt_key(chat("a", seed=2)) != base
    assert prompt_key(chat("a", seed=1) | {"system": "s"}) != base
    assert len(base) == 16


def test_peak_inflight_counts_concurrent_calls() -> None:
    with FakeServer(latency=0.3) as srv:
        threads = [
            threading.Thread(target=post, args=(connect(srv), CHAT, chat(str(i)))) for i in range(5)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = srv.stats()
        assert (stats["max_inflight"], stats["inflight"], stats["max_connections_open"]) == (
            5,
            0,
            5,
        )


def test_stats_and_reset_over_http(srv: FakeServer) -> None:
    conn = connect(srv)
    post(conn, CHAT, chat("a"))
    conn.request("GET", "/stats")
    stats = json.loads(conn.getresponse().read())
    assert (stats["model_calls"], stats["by_path"][f"POST {CHAT}"]) == (1, 1)
    assert post(conn, "/reset", b"")[2] == b'{"ok":true}'
    raw = post(conn, CHAT, chat("a"))[2]
    assert json.loads(raw)["id"] == "chatcmpl-fake-0"  # the call index restarts at 0
    stats = srv.stats()
    # The /reset request itself was counted before the counters were zeroed.
    assert (stats["model_calls"], stats["requests_total"], stats["distinct_prompts"]) == (1, 1, 1)


def test_bad_requests_get_clear_errors(srv: FakeServer) -> None:
    conn = connect(srv)
    status, _, raw = post(conn, CHAT, b"{not json")
    assert status == 400
    assert json.loads(raw)["error"]["message"] == "fake server: request body is not valid JSON"
    assert post(conn, CHAT, {"model": "m"})[0] == 400
    conn.request("GET", CHAT)
    resp = conn.getresponse()
    assert resp.status == 405
    message = json.loads(resp.read())["error"]["message"]
    assert message == "fake server: GET not allowed on /v1/chat/completions"
    assert post(conn, "/v1/nowhere", {})[0] == 404
    stats = srv.stats()
    assert (stats["bad_requests"], stats["model_calls"]) == (2, 0)


def test_broken_rule_is_reported_in_a_500(srv: FakeServer) -> None:
    srv.set_faults(rule=lambda call: "teapot")
    status, _, raw = post(connect(srv), CHAT, chat("a"))
    assert status == 500
    assert "unknown fault spec 'teapot'" in json.loads(raw)["error"]["message"]


def test_connection_close_header_closes_after_the_answer(srv: FakeServer) -> None:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        body = json.dumps(chat("a")).encode()
        head = f"POST {CHAT} HTTP/1.1\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body)
        data = b""
        while chunk := sock.recv(65536):  # ends only because the server closes
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"connection: close\r\n" in data


def test_pipelined_requests_are_answered_in_order() -> None:
    with FakeServer(latency=0.02) as srv, socket.create_connection(("127.0.0.1", srv.port)) as sock:
        reqs = b""
        for text in ["first", "second"]:
            body = json.dumps(chat(text)).encode()
            reqs += f"POST {CHAT} HTTP/1.1\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        sock.sendall(reqs)
        sock.settimeout(5)
        data = b""
        while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b"}}"):
            data += sock.recv(65536)
    assert data.index(b"first") < data.index(b"second")


def test_fault_specs_parse_and_reject_with_guidance() -> None:
    assert parse_fault("429:2") == Fault.http(429, retry_after=2.0)
    assert parse_fault(503) == Fault("http", status=503)
    assert parse_fault("slow:5") == Fault.slow(5)
    assert parse_fault("drop:0.5") == Fault("drop", seconds=0.5)
    assert parse_fault("no_choices").label == "no_choices"
    with pytest.raises(FaultSpecError, match=r"unknown fault spec 'slow'.*'slow:5'"):
        parse_fault("slow")
    with pytest.raises(FaultSpecError, match="not an error status"):
        parse_fault(200)
    with pytest.raises(FaultSpecError, match="bad fault spec '429:soon'"):
        FakeServer(faults={0: "429:soon"})


def test_refuses_non_loopback_host() -> None:
    with pytest.raises(ValueError, match=r"refusing to listen on '0\.0\.0\.0'"):
        FakeServer(host="0.0.0.0")


def test_package_exports_are_the_fake_servers_own_objects() -> None:
    # Each exported name is the fake server module's object (not merely "not None"), the
    # list matches what the package declares, and an unknown name is an AttributeError.
    from hyouka._lazy import type_checking_imports
    from hyouka.testing import fake_server

    declared = type_checking_imports(hyouka.testing.__file__ or "")
    assert set(hyouka.testing.__all__) == set(declared) <= set(fake_server.__all__)
    for name in hyouka.testing.__all__:
        assert getattr(hyouka.testing, name) is getattr(fake_server, name), name
    with pytest.raises(AttributeError):
        _ = hyouka.testing.FakeServr


def test_cpu_per_call_over_2000_keep_alive_requests(srv: FakeServer) -> None:
    conn = connect(srv)
    bodies = [
        json.dumps(chat(f"質問 {i}: 日本の首都はどこですか？", seed=i)).encode()
        for i in range(2000)
    ]
    cpu0 = srv.stats()["server_cpu_s"]
    for body in bodies:
        conn.request("POST", CHAT, body, {"content-type": "application/json"})
        conn.getresponse().read()
    stats = srv.stats()
    per_call_ms = (stats["server_cpu_s"] - cpu0) / 2000 * 1000
    print(f"\nfake server CPU per call: {per_call_ms:.3f} ms over 2000 keep-alive calls")
    assert stats["connections_total"] == 1
    assert stats["distinct_prompts"] == 2000
    assert 0 < per_call_ms < 1.0


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], str]:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "hyouka.testing.fake_server", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_cli_prints_base_url_serves_faults_and_writes_stats_on_sigterm(tmp_path: Path) -> None:
    stats_file = tmp_path / "stats.json"
    proc, url = _start_cli(
        "--latency-ms", "20", "--fault", "0=503", "--stats-file", str(stats_file)
    )
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        port = int(url.removesuffix("/v1").rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start = time.monotonic()
        assert post(conn, CHAT, chat("a"))[0] == 503
        assert post(conn, CHAT, chat("a"))[0] == 200
        assert time.monotonic() - start >= 0.04
        conn.request("GET", "/stats")
        stats = json.loads(conn.getresponse().read())
        assert (stats["model_calls"], stats["by_status"], stats["latency_s"]) == (
            2,
            {"503": 1, "200": 1},
            0.02,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Warning" not in err
    assert json.loads(stats_file.read_text())["model_calls"] == 2


def test_cli_rejects_bad_fault_flag() -> None:
    proc, _ = _start_cli("--fault", "zero=503")
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 2
    assert "--fault wants INDEX=SPEC" in err
