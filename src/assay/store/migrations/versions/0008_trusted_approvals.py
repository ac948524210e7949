"""Approvals bound to the gate and to authenticated approvers: a system's stored gate policies, the workspace's
mode (multi-user or single-user), which approvals were authenticated, and the gate run a decision relied on.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "system_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_system_policies_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_policies")),
    )
    with op.batch_alter_table("system_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_system_policies_system_id"), ["system_id"], unique=False)
    op.create_table(
        "workspace_settings",
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_workspace_settings")),
    )
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_stage", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("gate_run_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_approval_requests_gate_run_id_gate_runs"), "gate_runs", ["gate_run_id"], ["id"]
        )
    with op.batch_alter_table("approval_decisions", schema=None) as batch_op:
        # decisions made before this revision were never authenticated
        batch_op.add_column(sa.Column("authenticated", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("approval_decisions", schema=None) as batch_op:
        batch_op.drop_column("authenticated")
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_approval_requests_gate_run_id_gate_runs"), type_="foreignkey")
        batch_op.drop_column("gate_run_id")
        batch_op.drop_column("from_stage")
    op.drop_table("workspace_settings")
    with op.batch_alter_table("system_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_system_policies_system_id"))
    op.drop_table("system_policies")
