"""The local engine's process: llama.cpp's server (``xllamacpp``) answering chat completions.

Started by :mod:`hyouka.providers.llamacpp_engine` as ``python -m
hyouka.providers.llamacpp_worker``; never imported by the rest of hyouka. A separate process,
because a native engine can die in ways Python cannot catch (a CPU instruction the machine
faults on, an out-of-memory kill, a corrupt model file): here such a death ends this process,
and the parent turns it into errors on the calls it was answering instead of losing the run.

Protocol, one JSON object per line. stdin: first the settings (``{"model_path", "n_ctx",
"n_threads", "n_batch", "n_parallel", "chat_template"}``), then requests ``{"id": int, "body":
{…}}`` where ``body`` is an OpenAI-style chat-completion request. stdout: first ``{"ready":
true, "system_info": str}`` or ``{"ready": false, "error": str}``, then one answer per request,
in the order they finish: ``{"id", "ok": completion, "ms": float}`` or ``{"id", "error": str,
"kind": str}``. Requests run on ``n_parallel`` threads: llama.cpp decodes the sequences of its
parallel slots together (continuous batching) and releases the GIL while it works. The process
exits when stdin closes. llama.cpp's own log (errors only) goes to stderr, which the parent
keeps the end of for its error messages.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import orjson


def _server(settings: dict[str, Any]) -> Any:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(settings["model_path"])
    n_parallel = int(settings["n_parallel"])
    # llama.cpp splits n_ctx between the slots: each sequence gets the configured context.
    params.n_ctx = int(settings["n_ctx"]) * n_parallel
    params.n_parallel = n_parallel
    params.n_batch = int(settings["n_batch"])
    params.cpuparams.n_threads = int(settings["n_threads"])
    params.cpuparams_batch.n_threads = int(settings["n_threads"])
    params.warmup = False
    params.verbosity = 1  # errors only
    # The server also listens on a random loopback port; nobody else may use it.
    params.api_keys = [secrets.token_urlsafe(24)]
    if settings.get("chat_template"):
        params.chat_template = str(settings["chat_template"])
    return xllamacpp.Server(params)


class _Out:
    """stdout, one line per message, from any thread."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        line = orjson.dumps(message) + b"\n"
        with self.lock:
            self.stream.write(line)
            self.stream.flush()


def _answer(server: Any, out: _Out, message: dict[str, Any]) -> None:
    ident = message.get("id")
    start = time.perf_counter()
    try:
        result = server.handle_chat_completions(message["body"])
    except Exception as exc:  # every failure goes back to the caller
        out.send({"id": ident, "error": f"{type(exc).__name__}: {exc}", "kind": "exception"})
        return
    ms = (time.perf_counter() - start) * 1000.0
    error = result.get("error") if isinstance(result, dict) else None
    if error is not None:
        text = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        kind = error.get("type", "error") if isinstance(error, dict) else "error"
        out.send({"id": ident, "error": text, "kind": kind})
        return
    out.send({"id": ident, "ok": result, "ms": ms})


def main() -> int:
    stdin = sys.stdin.buffer
    out = _Out(sys.stdout.buffer)
    first = stdin.readline()
    if not first:
        return 0
    settings = orjson.loads(first)
    try:
        server = _server(settings)
    except Exception as exc:  # the parent reports it with llama.cpp's log
        out.send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 0
    import xllamacpp

    out.send({"ready": True, "system_info": xllamacpp.get_system_info().strip()})
    with ThreadPoolExecutor(int(settings["n_parallel"]), "hyouka-slot") as pool:
        for line in stdin:
            if line.strip():
                pool.submit(_answer, server, out, orjson.loads(line))
    del server
    return 0


if __name__ == "__main__":
    sys.exit(main())
