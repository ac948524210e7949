"""Alembic environment of the governance store. Run through :mod:`assay.store.migrate`, which passes the
connection in ``config.attributes["connection"]``; ``render_as_batch`` lets later migrations alter SQLite tables."""

from __future__ import annotations

from alembic import context

from assay.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when someone runs the alembic command by hand
    raise RuntimeError("run migrations with `assay db upgrade`, which connects to the workspace's database")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
