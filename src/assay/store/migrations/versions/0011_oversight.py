"""Human oversight: ``review_configs`` (versioned routing rules per system), ``review_items`` and
``review_decisions`` (the review queue), ``model_pauses`` (the kill switch), ``contested_cases`` and ``feedback``. All
governed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 08:53:43.640377
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "review_configs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_review_configs_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_configs")),
        sa.UniqueConstraint("system_id", "version", name=op.f("uq_review_configs_system_id")),
    )
    with op.batch_alter_table("review_configs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_configs_system_id"), ["system_id"], unique=False)

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
        sa.Column("inference_id", sa.String(length=200), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("scale", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("redactions", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_versions.id"], name=op.f("fk_feedback_model_version_id_model_versions")
        ),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_feedback_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_system_id_created_at", ["system_id", "created_at"], unique=False)

    op.create_table(
        "model_pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("fallback", sa.Text(), nullable=False),
        sa.Column("paused_by", sa.String(length=200), nullable=False),
        sa.Column("paused_at", sa.DateTime(), nullable=False),
        sa.Column("resumed_by", sa.String(length=200), nullable=True),
        sa.Column("resumed_at", sa.DateTime(), nullable=True),
        sa.Column("resume_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_versions.id"], name=op.f("fk_model_pauses_model_version_id_model_versions")
        ),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_model_pauses_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_pauses")),
    )
    with op.batch_alter_table("model_pauses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_pauses_model_version_id"), ["model_version_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_model_pauses_system_id"), ["system_id"], unique=False)

    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("config_id", sa.Integer(), nullable=False),
        sa.Column("inference_id", sa.String(length=200), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reviews_needed", sa.Integer(), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("final", sa.JSON(), nullable=True),
        sa.Column("overridden", sa.Boolean(), nullable=True),
        sa.Column("explanation", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["config_id"], ["review_configs.id"], name=op.f("fk_review_items_config_id_review_configs")
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_versions.id"], name=op.f("fk_review_items_model_version_id_model_versions")
        ),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_review_items_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sa.UniqueConstraint("model_version_id", "inference_id", name=op.f("uq_review_items_model_version_id")),
    )
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.create_index("ix_review_items_system_id_status", ["system_id", "status"], unique=False)

    op.create_table(
        "contested_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("inference_id", sa.String(length=200), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("requester", sa.String(length=200), nullable=False),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=True),
        sa.Column("counterfactual", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("new_decision", sa.JSON(), nullable=True),
        sa.Column("reviewer", sa.String(length=200), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("letter", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["review_items.id"], name=op.f("fk_contested_cases_item_id_review_items")),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_versions.id"], name=op.f("fk_contested_cases_model_version_id_model_versions")
        ),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_contested_cases_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contested_cases")),
    )
    with op.batch_alter_table("contested_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contested_cases_system_id"), ["system_id"], unique=False)

    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["review_items.id"], name=op.f("fk_review_decisions_item_id_review_items")
        ),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_review_decisions_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decisions")),
    )
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_decisions_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_decisions_system_id"), ["system_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_decisions_system_id"))
        batch_op.drop_index(batch_op.f("ix_review_decisions_item_id"))

    op.drop_table("review_decisions")
    with op.batch_alter_table("contested_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contested_cases_system_id"))

    op.drop_table("contested_cases")
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        batch_op.drop_index("ix_review_items_system_id_status")

    op.drop_table("review_items")
    with op.batch_alter_table("model_pauses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_pauses_system_id"))
        batch_op.drop_index(batch_op.f("ix_model_pauses_model_version_id"))

    op.drop_table("model_pauses")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_system_id_created_at")

    op.drop_table("feedback")
    with op.batch_alter_table("review_configs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_configs_system_id"))

    op.drop_table("review_configs")
