"""The store: one schema for SQLite and PostgreSQL (:mod:`schema`), migrations
(:mod:`db`, ``migrations/``), the runner's facade (:mod:`store`) and the write-transaction
rules of the other writers (:mod:`tx`)."""
