"""Notifications: what each user has read and been e-mailed of the ledger events that concern them
(``notification_marks``, not governed), and indexes on the ledger by object and by actor (a person's notifications
are the events on their records; search and the audit page filter by actor).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 20:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_marks",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("read_seq", sa.BigInteger(), nullable=False),
        sa.Column("mailed_seq", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notification_marks_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_marks")),
    )
    # plain CREATE INDEX (never a batch copy of the table: the ledger's append-only triggers stay as they are)
    op.create_index("ix_audit_events_object_type_object_id", "audit_events", ["object_type", "object_id"])
    op.create_index("ix_audit_events_actor", "audit_events", ["actor"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_actor", table_name="audit_events")
    op.drop_index("ix_audit_events_object_type_object_id", table_name="audit_events")
    op.drop_table("notification_marks")
