"""Generative AI: guardrail policies (``guard_policies``, versioned), their decisions (``guard_decisions``, not
governed row by row, sealed into the ledger in ``guard_batches``), protected corpora (``protected_corpora``); licence
and provenance of model versions (licence, source, terms, foundation model, provider), the terms of dataset
versions, and whether a system is used commercially.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 15:20:43.115062
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guard_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guard_batches")),
    )
    op.create_table(
        "guard_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_guard_policies_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guard_policies")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_guard_policies_name")),
    )
    with op.batch_alter_table("guard_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guard_policies_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_guard_policies_system_id"), ["system_id"], unique=False)

    op.create_table(
        "protected_corpora",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("artifact_sha256", sa.String(length=64), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_sha256"], ["artifacts.sha256"], name=op.f("fk_protected_corpora_artifact_sha256_artifacts")
        ),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_protected_corpora_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protected_corpora")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_protected_corpora_name")),
    )
    with op.batch_alter_table("protected_corpora", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_protected_corpora_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_protected_corpora_system_id"), ["system_id"], unique=False)

    op.create_table(
        "guard_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("characters", sa.Integer(), nullable=False),
        sa.Column("conversation", sa.String(length=200), nullable=True),
        sa.Column("content", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["guard_batches.id"], name=op.f("fk_guard_decisions_batch_id_guard_batches")
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["guard_policies.id"], name=op.f("fk_guard_decisions_policy_id_guard_policies")
        ),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_guard_decisions_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guard_decisions")),
    )
    with op.batch_alter_table("guard_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guard_decisions_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_guard_decisions_policy_id"), ["policy_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_guard_decisions_system_id"), ["system_id"], unique=False)

    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("terms", sa.Text(), nullable=False, server_default=""))

    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("licence", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("source", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("terms", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("foundation_model", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("provider", sa.String(length=200), nullable=False, server_default=""))
    # the defaults filled the rows there were; new rows get theirs from the models, like the other text columns
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        for column in ("licence", "source", "terms", "foundation_model", "provider"):
            batch_op.alter_column(column, server_default=None)
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.alter_column("terms", server_default=None)

    with op.batch_alter_table("systems", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commercial", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("systems", schema=None) as batch_op:
        batch_op.drop_column("commercial")

    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_column("provider")
        batch_op.drop_column("foundation_model")
        batch_op.drop_column("terms")
        batch_op.drop_column("source")
        batch_op.drop_column("licence")

    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.drop_column("terms")

    with op.batch_alter_table("guard_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guard_decisions_system_id"))
        batch_op.drop_index(batch_op.f("ix_guard_decisions_policy_id"))
        batch_op.drop_index(batch_op.f("ix_guard_decisions_batch_id"))

    op.drop_table("guard_decisions")
    with op.batch_alter_table("protected_corpora", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_protected_corpora_system_id"))
        batch_op.drop_index(batch_op.f("ix_protected_corpora_name"))

    op.drop_table("protected_corpora")
    with op.batch_alter_table("guard_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guard_policies_system_id"))
        batch_op.drop_index(batch_op.f("ix_guard_policies_name"))

    op.drop_table("guard_policies")
    op.drop_table("guard_batches")
