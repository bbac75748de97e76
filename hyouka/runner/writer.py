"""One writer thread per run: samples reach the store in batches, in the order they finish.

Batching matters for speed (one transaction per ~100 ms instead of per sample: measured in
benchmarks/runner_overhead.py) and for safety: SQLite sees a single writer, and after a
``kill -9`` every committed sample is whole (sample, payload and scores in one transaction), so
a resumed run skips exactly the samples that were stored.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from hyouka.store.store import SampleRecord, Store


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
        self._queue: queue.SimpleQueue[SampleRecord] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="hyouka-writer", daemon=True)
        self._thread.start()

    def put(self, record: SampleRecord) -> None:
        # Nothing waits on the queue itself: a writer blocked in get() was woken by every
        # sample, and each put then stalled the event loop for a thread switch (~85 µs per
        # sample under cProfile). The writer wakes on its clock, or when a batch is full.
        if self.error is not None:
            raise self.error
        self._queue.put(record)
        if self._queue.qsize() >= self.batch_size:
            self._wake.set()

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()
        if self.error is not None:
            raise self.error

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.flush_every)
            self._wake.clear()
            stopping = self._stopping  # read before draining: nothing is put after close()
            pending = self._drain()
            for start in range(0, len(pending), self.batch_size):
                self._flush(pending[start : start + self.batch_size])
            if stopping:
                return

    def _drain(self) -> list[SampleRecord]:
        out: list[SampleRecord] = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

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
