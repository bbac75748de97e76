"""The store: one schema for SQLite and PostgreSQL (:mod:`schema`), migrations
(:mod:`db`, ``migrations/``), the runner's facade (:mod:`store`) and the write-transaction
rules of the other writers (:mod:`tx`)."""

# Feature tables on the same MetaData, defined in their own modules: imported here so that
# every use of the store sees them (migrations, the fresh-store fast path, the schema test).
from hyouka.store import schema_traces as _schema_traces  # noqa: F401  (0007)
