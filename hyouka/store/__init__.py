"""The store: one schema for SQLite and PostgreSQL, Alembic migrations, a facade."""
