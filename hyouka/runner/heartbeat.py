"""A running run's sign of life: a thread that refreshes ``runs.heartbeat_at``.

The run's row names its owner (host and pid, written when the run starts or resumes); this
thread stamps the time every :data:`hyouka.store.store.HEARTBEAT_SECONDS` until the run ends.
A reader that finds a ``running`` run whose owner pid is gone on this host, or whose heartbeat
is stale, shows it as ``interrupted`` (:func:`hyouka.store.store.effective_status`), so a run
killed with ``kill -9`` never looks as if it were still running.
"""

from __future__ import annotations

import threading

from sqlalchemy.exc import SQLAlchemyError

from hyouka.store.store import HEARTBEAT_SECONDS, Store


class Heartbeat:
    """``with Heartbeat(store, run_id):`` keeps the run's heartbeat fresh while the block runs."""

    def __init__(self, store: Store, run_id: int, every: float = HEARTBEAT_SECONDS) -> None:
        self.store = store
        self.run_id = run_id
        self.every = every
        self.missed = 0  # beats the database refused (busy, connection lost): retried next time
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hyouka-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.store.heartbeat(self.run_id)
            except SQLAlchemyError:
                # A missed beat costs nothing: a run is only seen as interrupted after
                # several in a row.
                self.missed += 1
