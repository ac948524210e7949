"""SQLite: refuse INSERT OR REPLACE on the ledger tables.

SQLite's REPLACE deletes the row in the way without firing DELETE triggers (unless ``recursive_triggers`` is on
in that connection), so ``INSERT OR REPLACE INTO audit_events`` with the ``seq`` of a stored event rewrote it
past the append-only triggers of revision 0001. A BEFORE INSERT trigger now refuses an insert whose key is
already stored. PostgreSQL needs nothing: its ``INSERT ... ON CONFLICT DO UPDATE`` fires the UPDATE trigger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_KEYS = {"audit_events": "seq = NEW.seq OR hash = NEW.hash", "audit_checkpoints": "id = NEW.id"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, same_key in _KEYS.items():
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {same_key}) "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: a stored row cannot be replaced'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in _KEYS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
