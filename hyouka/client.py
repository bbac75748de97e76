"""The Python client of live experiments: assign in-process, send events in the background.

>>> from hyouka.client import Client
>>> hk = Client("http://hyouka.internal:8300", api_key="hk_...", controls={"draft-tone": "polite"})
>>> a = hk.assign("draft-tone", user_id)          # ~2 µs, no network: logs an exposure
>>> reply = VARIANTS[a.variant](question)
>>> hk.output("draft-tone", user_id, reply_id)    # so widget feedback on it finds the variant
>>> hk.track("draft-tone", user_id, "accepted", 1)

- **Never slows the app.** :meth:`Client.assign` hashes (experiment, unit) against the
  allocation cached in memory (:mod:`hyouka.experiments.allocation`); a background thread
  refreshes it every ``refresh_seconds`` and sends the buffered events in batches.
- **Works when hyouka is down.** Without an allocation (hyouka unreachable since the process
  started, and no ``cache_path`` from an earlier run) a unit gets the experiment's control
  (``controls=``, or ``default=`` per call), marked ``fallback=True``, and the log says so once
  per experiment. An allocation once fetched keeps being used while hyouka is away.
- **Nothing counted twice, little lost.** Every event carries an idempotency key; a batch
  that failed (network, 5xx, 429) is sent again, unchanged, with backoff. The buffer is
  bounded (``max_buffer`` events; beyond it the oldest are dropped, counted and logged); what
  is left is sent at exit (``atexit``, at most ``exit_timeout`` seconds).

Only the standard library is imported here (no SQLAlchemy, FastAPI or pydantic).
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Mapping
from typing import Any, NamedTuple

from hyouka.experiments.allocation import Allocation

log = logging.getLogger("hyouka.client")

__all__ = ["Assignment", "Client"]

_now = time.time
_OPTIONAL = ("variant", "revision", "metric", "value", "output_ref")


class Assignment(NamedTuple):
    """``variant``: what to show (None only when no control is known for a fallback);
    ``enrolled``: the unit is in the experiment (its exposure is logged); ``fallback``: no
    allocation was available, so this is the control by default. (A NamedTuple: one is made
    on every call, and it is cheaper to make than a frozen dataclass.)"""

    experiment: str
    unit_id: str
    variant: str | None
    enrolled: bool
    fallback: bool = False
    revision: int | None = None


class Client:
    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        controls: Mapping[str, str] | None = None,
        refresh_seconds: float = 30.0,
        flush_seconds: float = 1.0,
        batch_size: int = 500,
        max_buffer: int = 100_000,
        timeout: float = 3.0,
        cache_path: str | os.PathLike[str] | None = None,
        exit_timeout: float = 5.0,
        start: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.controls = dict(controls or {})
        self.refresh_seconds = refresh_seconds
        self.flush_seconds = flush_seconds
        self.batch_size = max(1, min(batch_size, 1000))
        self.timeout = timeout
        self.cache_path = os.fspath(cache_path) if cache_path is not None else None
        self.exit_timeout = exit_timeout
        self._allocs: dict[str, Allocation] = {}
        self._buffer: deque[tuple[Any, ...]] = deque(maxlen=max(1, max_buffer))
        self._seq = itertools.count()
        self._id = secrets.token_hex(6)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # around taking a batch out and putting it back
        self._in_flight = 0
        self._warned: set[str] = set()
        self._next_refresh = 0.0
        self._backoff = 0.0
        self.sent = 0  # events the server accepted or already had
        self.dropped = 0  # events lost to a full buffer or refused by the server
        self.retries = 0
        self.fallbacks = 0
        self.last_error: str | None = None
        self._load_cache()
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    # -- the app's calls ------------------------------------------------------------------

    def assign(
        self,
        experiment: str,
        unit_id: str,
        *,
        default: str | None = None,
        log_exposure: bool = True,
    ) -> Assignment:
        """The unit's variant; sticky (the same unit gets the same answer while the
        allocation is unchanged, and after weight changes unless its bucket moved)."""
        alloc = self._allocs.get(experiment)
        if alloc is None:
            return self._fallback(experiment, unit_id, default)
        variant, enrolled = alloc.assign(unit_id)
        if enrolled and log_exposure:
            self._push("exposure", experiment, unit_id, variant, alloc.revision)
        return Assignment(experiment, unit_id, variant, enrolled, False, alloc.revision)

    def output(self, experiment: str, unit_id: str, output_id: str) -> None:
        """Say which unit was shown output ``output_id`` (feedback on it finds the variant)."""
        self._push("output", experiment, unit_id, output_ref=str(output_id))

    def track(
        self,
        experiment: str,
        unit_id: str,
        metric: str,
        value: float = 1.0,
        *,
        output_id: str | None = None,
    ) -> None:
        """An outcome: ``accepted`` 1/0, ``thumbs`` 1/0, ``handling_s`` 93.5, ``latency_ms``…"""
        ref = None if output_id is None else str(output_id)
        self._push(
            "outcome", experiment, unit_id, metric=metric, value=float(value), output_ref=ref
        )

    def flush(self, timeout: float = 10.0) -> bool:
        """Send what is buffered now; True when everything was sent within ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._buffer and not self._in_flight:
                return True
            if self._thread is None or not self._thread.is_alive():
                if not self._send_one():
                    time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
            else:
                self._wake.set()
                time.sleep(0.01)
        return not self._buffer and not self._in_flight

    def refresh(self) -> bool:
        """Fetch the allocations now (the background thread does it every refresh_seconds)."""
        try:
            data = self._request("GET", "/api/experiments/allocations", None)
        except Exception as exc:  # network, HTTP or JSON: keep what is cached
            self.last_error = f"allocations: {exc}"
            return False
        found = {a["name"]: Allocation.from_json(a) for a in data.get("experiments", [])}
        self._allocs = found
        for a in found.values():
            self.controls.setdefault(a.name, a.control)
        self._save_cache(data)
        return True

    @property
    def pending(self) -> int:
        return len(self._buffer) + self._in_flight

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="hyouka-client", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def close(self) -> None:
        """Stop the thread and send what is left (at most ``exit_timeout`` seconds)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.exit_timeout)
        self._thread = None
        if self._buffer:
            deadline = time.monotonic() + self.exit_timeout
            while self._buffer and time.monotonic() < deadline:
                if not self._send_one():
                    break
        if self._buffer:
            log.warning("hyouka: %d event(s) not sent at exit (%s)", len(self._buffer),
                        self.last_error or "hyouka unreachable")  # fmt: skip

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- inside -----------------------------------------------------------------------------

    def _fallback(self, experiment: str, unit_id: str, default: str | None) -> Assignment:
        self.fallbacks += 1
        variant = default or self.controls.get(experiment)
        if experiment not in self._warned:
            self._warned.add(experiment)
            log.warning(
                "hyouka: no allocation for experiment '%s' (%s): showing the control '%s'",
                experiment, self.last_error or "not fetched yet", variant,
            )  # fmt: skip
        return Assignment(experiment, unit_id, variant, False, True, None)

    def _push(
        self,
        kind: str,
        experiment: str,
        unit_id: str,
        variant: str | None = None,
        revision: int | None = None,
        metric: str | None = None,
        value: float | None = None,
        output_ref: str | None = None,
    ) -> None:
        # A tuple, turned into JSON only when sent: assign() is the app's hot path.
        buffer = self._buffer
        if len(buffer) == buffer.maxlen:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 10000 == 0:
                log.warning("hyouka: event buffer full: %d event(s) dropped so far", self.dropped)
        buffer.append(
            (kind, experiment, unit_id, next(self._seq), _now(), variant, revision, metric,
             value, output_ref)
        )  # fmt: skip
        if len(buffer) >= self.batch_size:
            self._wake.set()

    def _as_json(self, e: tuple[Any, ...]) -> dict[str, Any]:
        out = {
            "kind": e[0],
            "experiment": e[1],
            "unit_id": str(e[2]),
            "idempotency_key": f"{self._id}-{e[3]}",
            "at": e[4],
        }
        for name, value in zip(_OPTIONAL, e[5:], strict=True):
            if value is not None:
                out[name] = value
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= self._next_refresh:
                ok = self.refresh()
                self._next_refresh = now + (
                    self.refresh_seconds if ok else min(5.0, self.refresh_seconds)
                )
            if self._buffer and now >= self._backoff:
                while self._buffer and not self._stop.is_set():
                    if not self._send_one():
                        break
            self._wake.wait(self.flush_seconds)
            self._wake.clear()

    def _send_one(self) -> bool:
        """Send one batch; False when it failed (it is back at the front of the buffer)."""
        with self._lock:
            batch: list[tuple[Any, ...]] = []
            while self._buffer and len(batch) < self.batch_size:
                batch.append(self._buffer.popleft())
            self._in_flight = len(batch)
        if not batch:
            return True
        try:
            self._request("POST", "/api/events", {"events": [self._as_json(e) for e in batch]})
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                return self._put_back(batch, f"HTTP {exc.code}")
            detail = exc.read()[:300].decode("utf-8", "replace")
            self.dropped += len(batch)
            log.error("hyouka: %d event(s) refused (HTTP %d): %s", len(batch), exc.code, detail)
            self._in_flight = 0
            return True
        except Exception as exc:  # connection refused, timeout, reset: try again later
            return self._put_back(batch, str(exc))
        self.sent += len(batch)
        self._in_flight = 0
        self._backoff = 0.0
        self._delay = 0.0
        return True

    _delay = 0.0

    def _put_back(self, batch: list[tuple[Any, ...]], why: str) -> bool:
        with self._lock:
            room = (self._buffer.maxlen or 0) - len(self._buffer)
            keep = batch[:room] if room < len(batch) else batch
            self.dropped += len(batch) - len(keep)
            self._buffer.extendleft(reversed(keep))
            self._in_flight = 0
        self.retries += 1
        self.last_error = why
        self._delay = min(30.0, max(0.25, self._delay * 2))
        self._backoff = time.monotonic() + self._delay
        return False

    def _request(self, method: str, path: str, body: Any) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("X-API-Key", self.api_key)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            return json.loads(resp.read() or b"{}")

    def _load_cache(self) -> None:
        if not self.cache_path:
            return
        try:
            with open(self.cache_path, encoding="utf-8") as f:
                data = json.load(f)
            self._allocs = {a["name"]: Allocation.from_json(a) for a in data["experiments"]}
            for a in self._allocs.values():
                self.controls.setdefault(a.name, a.control)
        except (OSError, ValueError, KeyError, TypeError):
            return

    def _save_cache(self, data: Any) -> None:
        if not self.cache_path:
            return
        tmp = f"{self.cache_path}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(tmp, self.cache_path)
        except OSError as exc:
            log.warning("hyouka: cannot write the allocation cache %s: %s", self.cache_path, exc)
