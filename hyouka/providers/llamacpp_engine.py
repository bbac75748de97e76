"""The local engine as a child process: start it, send it requests, survive its death.

One :class:`Engine` per model and settings, shared by every provider of the process that asks
for the same ones (:func:`engine_for`). It runs :mod:`hyouka.providers.llamacpp_worker` with
this interpreter and talks to it over pipes, one JSON line per message. Two threads per engine
read its stdout (answers) and stderr (the end of llama.cpp's log, kept for error messages), so
the engine does not belong to any event loop: runs made one after another in one process, each
with its own loop, share the loaded model.

When the process dies (a signal such as SIGSEGV or SIGILL from the native code, an
out-of-memory kill, ``kill -9``), every call it was answering fails with an
:class:`~hyouka.errors.EngineCrashedError` that says how it died, what llama.cpp last logged,
and what to do; the next call starts a fresh process. After
:data:`MAX_CONSECUTIVE_CRASHES` deaths with no answer in between, the engine stops restarting
and fails calls at once with the same explanation, so a machine the engine cannot run on costs
seconds, not a run's worth of restarts.
"""

from __future__ import annotations

import atexit
import collections
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from hyouka.errors import EngineCrashedError, ProviderError, ProviderResponseError

__all__ = [
    "MAX_CONSECUTIVE_CRASHES",
    "Answer",
    "Engine",
    "EngineSettings",
    "engine_for",
    "stop_engines",
]

MAX_CONSECUTIVE_CRASHES = 3
_LOG_LINES = 40  # lines of llama.cpp's stderr kept for error messages


@dataclass(frozen=True)
class EngineSettings:
    """What makes two engines interchangeable (the key of the process-wide table)."""

    model_path: Path
    n_ctx: int
    n_threads: int
    n_batch: int
    n_parallel: int
    chat_template: str | None = None

    def wire(self) -> dict[str, Any]:
        data = asdict(self)
        data["model_path"] = str(self.model_path)
        return data


@dataclass(frozen=True)
class Answer:
    completion: dict[str, Any]
    ms: float  # time the engine spent on the call, measured in the engine process


def describe_exit(code: int | None) -> str:
    """How a process ended, for people: 'killed by signal 11 (SIGSEGV)', 'exited with 1'."""
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown signal"
        return f"was killed by signal {-code} ({name})"
    return f"exited with code {code}"


def _advice(code: int | None) -> str:
    if code is not None and -code in (signal.SIGSEGV, signal.SIGILL, signal.SIGBUS):
        return (
            "The engine's native code crashed. If this happens on every call, this CPU may not "
            "run the prebuilt llama.cpp (xllamacpp): try n_parallel: 1 and n_threads: 1 for the "
            "provider, or a provider of type openai pointing at a llama.cpp or Ollama server."
        )
    if code is not None and -code == signal.SIGKILL:
        return (
            "It was killed from outside, often by the kernel's out-of-memory killer: use a "
            "smaller model or n_ctx, or fewer n_parallel slots."
        )
    return "See the engine's log above; the next call starts a new engine."


class Engine:
    """One engine process and the calls it is answering."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self.system_info = ""
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending: dict[int, Future[Answer]] = {}
        self._next_id = 0
        self._log: collections.deque[str] = collections.deque(maxlen=_LOG_LINES)
        self._crashes = 0  # consecutive deaths without an answer in between
        self._last_death: EngineCrashedError | None = None
        self._log_thread: threading.Thread | None = None
        self.starts = 0  # processes started so far (inspected by tests)

    # -- the process ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def _start(self) -> subprocess.Popen[bytes]:
        """Start the process and wait for the model to load (call with the lock held)."""
        if self._crashes >= MAX_CONSECUTIVE_CRASHES and self._last_death is not None:
            raise EngineCrashedError(
                f"{self._last_death} The engine died {self._crashes} times in a row, so hyouka "
                "stopped restarting it for this run.",
                retryable=False,
            )
        env = dict(os.environ)
        # llama.cpp's OpenMP threads spin between operations by default; on a loaded 2-core
        # machine 32 tokens took 18-44 s spinning and 2.8-3.5 s passive. A user's setting wins.
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self._log.clear()
        proc = subprocess.Popen(
            [sys.executable, "-m", "hyouka.providers.llamacpp_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal reaches hyouka, not the engine
        )
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        self.starts += 1
        self._log_thread = threading.Thread(
            target=self._read_log, args=(proc.stderr,), name="hyouka-engine-log", daemon=True
        )
        self._log_thread.start()
        proc.stdin.write(orjson.dumps(self.settings.wire()) + b"\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        hello: dict[str, Any] = orjson.loads(line) if line.strip() else {}
        if hello.get("ready") is True:
            self.system_info = str(hello.get("system_info", ""))
            self._proc = proc
            threading.Thread(
                target=self._read_answers, args=(proc,), name="hyouka-engine", daemon=True
            ).start()
            return proc
        code = proc.wait()
        self._wait_for_log()
        name = self.settings.model_path.name
        if "error" in hello:  # the model did not load: a bad file, not a crash
            raise ProviderError(
                f"llama.cpp could not load {self.settings.model_path}: {self._log_summary()}. "
                "Check that it is a complete GGUF model file (a partial download or another "
                "format does not load).",
                retryable=False,
            )
        death = EngineCrashedError(
            f"The local engine {describe_exit(code)} while loading {name}"
            f"{self._log_tail()}. {_advice(code)}",
            retryable=False,
        )
        self._crashes += 1
        self._last_death = death
        raise death

    def _read_log(self, stream: IO[bytes]) -> None:
        for raw in stream:
            text = raw.decode("utf-8", "replace").rstrip()
            if text:
                self._log.append(text)

    def _wait_for_log(self) -> None:
        # The process has ended: its stderr reaches end of file as soon as the reader drains it.
        thread = self._log_thread
        if thread is not None:
            thread.join(timeout=2.0)

    def _log_summary(self) -> str:
        lines = [line.split(" E ", 1)[-1].strip() for line in list(self._log)]
        useful = [line for line in lines if line]
        return useful[0] if useful else "llama.cpp gave no reason"

    def _log_tail(self) -> str:
        tail = [line for line in list(self._log)[-3:] if line]
        return f" (engine log: {' | '.join(tail)})" if tail else ""

    def _read_answers(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            with self._lock:
                future = self._pending.pop(int(message.get("id", -1)), None)
                if "ok" in message:
                    self._crashes = 0
            if future is None:
                continue
            if "ok" in message:
                future.set_result(Answer(message["ok"], float(message.get("ms") or 0.0)))
            else:
                future.set_exception(self._call_error(message))
        code = proc.wait()
        self._wait_for_log()
        self._died(proc, code)

    def _call_error(self, message: dict[str, Any]) -> ProviderError:
        text = str(message.get("error", "unknown error"))
        kind = str(message.get("kind", ""))
        name = self.settings.model_path.name
        if kind == "exceed_context_size_error":
            return ProviderResponseError(
                f"llama.cpp failed on {name}: {text}. Shorten the prompt or raise the provider's "
                f"n_ctx (now {self.settings.n_ctx}).",
                retryable=False,
            )
        return ProviderResponseError(f"llama.cpp failed on {name}: {text}", retryable=False)

    def _died(self, proc: subprocess.Popen[bytes], code: int) -> None:
        with self._lock:
            if self._proc is proc:
                self._proc = None
            pending, self._pending = self._pending, {}
            if code == 0 and not pending:
                return  # closed by us
            self._crashes += 1
            death = EngineCrashedError(
                f"The local engine {describe_exit(code)} while answering "
                f"{len(pending)} call(s) on {self.settings.model_path.name}{self._log_tail()}. "
                f"{_advice(code)}",
                retryable=False,
            )
            self._last_death = death
        for future in pending.values():
            if not future.done():
                future.set_exception(death)

    # -- calls ------------------------------------------------------------------------------

    def ensure_started(self) -> None:
        """Start the process and load the model unless it runs (blocking)."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                self._start()

    def submit(self, body: dict[str, Any]) -> Future[Answer]:
        """Send one chat-completion request; blocks while the engine (re)starts."""
        future: Future[Answer] = Future()
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                proc = self._start()
            ident = self._next_id
            self._next_id += 1
            self._pending[ident] = future
            assert proc.stdin is not None
            try:
                proc.stdin.write(orjson.dumps({"id": ident, "body": body}) + b"\n")
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                # The reader thread sees the death and fails this call with the reason.
                pass
        return future

    def close(self, timeout: float = 10.0) -> None:
        """End the process: close its stdin so it finishes the calls in progress, wait up to
        ``timeout`` seconds, then kill it."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()


_ENGINES: dict[EngineSettings, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(settings: EngineSettings) -> Engine:
    """The process-wide engine for ``settings`` (its process starts with the first call)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(settings)
        if engine is None:
            engine = _ENGINES[settings] = Engine(settings)
        return engine


def stop_engines() -> None:
    """End every engine process (waits for calls in progress). Later calls start them again."""
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for engine in engines:
        engine.close()


atexit.register(stop_engines)
