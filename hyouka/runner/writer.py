"""One writer thread per run: samples reach the store in batches, in the order they finish.

Batching matters for speed (one transaction per ~100 ms instead of per sample: measured in
benchmarks/runner_overhead.py) and for safety: SQLite sees a single writer, and after a
``kill -9`` every committed sample is whole (sample, payload and scores in one transaction), so
a resumed run skips exactly the samples that were stored.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from hyouka.store.store import SampleRecord, Store

_STOP = object()


class SampleWriter:
    def __init__(
        self,
        store: Store,
        flush_every: float = 0.1,
        batch_size: int = 500,
        on_written: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.flush_every = flush_every
        self.batch_size = batch_size
        self.on_written = on_written
        self.error: BaseException | None = None
        self.written = 0
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="hyouka-writer", daemon=True)
        self._thread.start()

    def put(self, record: SampleRecord) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(record)

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()
        if self.error is not None:
            raise self.error

    def _loop(self) -> None:
        pending: list[SampleRecord] = []
        deadline = time.monotonic() + self.flush_every
        while True:
            timeout = max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            if item is _STOP:
                self._flush(pending)
                return
            if isinstance(item, SampleRecord):
                pending.append(item)
            if len(pending) >= self.batch_size or time.monotonic() >= deadline:
                self._flush(pending)
                pending = []
                deadline = time.monotonic() + self.flush_every

    def _flush(self, pending: list[SampleRecord]) -> None:
        if not pending or self.error is not None:
            return
        try:
            self.store.write_samples(pending)
            self.written += len(pending)
            if self.on_written is not None:
                self.on_written(len(pending))
        except BaseException as exc:  # surfaced to the runner by put()/close()
            self.error = exc
