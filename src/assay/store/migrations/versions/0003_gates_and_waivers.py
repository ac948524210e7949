"""Policy gates: the recorded decisions (gate_runs) and the waivers of rules.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gate_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("policy_name", sa.String(length=100), nullable=False),
        sa.Column("policy_sha256", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("waived", sa.Integer(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_versions.id"], name=op.f("fk_gate_runs_model_version_id_model_versions")
        ),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_gate_runs_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_runs")),
    )
    with op.batch_alter_table("gate_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gate_runs_model_version_id"), ["model_version_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gate_runs_system_id"), ["system_id"], unique=False)
    op.create_table(
        "waivers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires", sa.Date(), nullable=False),
        sa.Column("waived_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_versions.id"], name=op.f("fk_waivers_model_version_id_model_versions")
        ),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_waivers_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waivers")),
    )
    with op.batch_alter_table("waivers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waivers_system_id"), ["system_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("waivers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waivers_system_id"))
    op.drop_table("waivers")
    with op.batch_alter_table("gate_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_runs_system_id"))
        batch_op.drop_index(batch_op.f("ix_gate_runs_model_version_id"))
    op.drop_table("gate_runs")
