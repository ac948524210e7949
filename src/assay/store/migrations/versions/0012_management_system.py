"""The organisation's AI management system (ISO/IEC 42001 clauses 4-10): context (``aims_issues``,
``aims_parties``, ``aims_scopes``), documents and policies (``aims_documents``), roles and teams (``aims_roles``,
``aims_team_members``), objectives (``aims_objectives``, ``aims_measurements``), competence (``aims_trainings``,
``aims_training_records``), internal audit (``aims_audits``, ``aims_findings``), ``nonconformities`` and
``management_reviews``; ``corrective_actions`` may now belong to a nonconformity or a review instead of an incident.
All governed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 12:20:00.453685
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "aims_audits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("auditor", sa.String(length=200), nullable=False),
        sa.Column("area", sa.String(length=200), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("conclusion", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aims_audits")),
    )
    with op.batch_alter_table("aims_audits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aims_audits_programme"), ["programme"], unique=False)

    op.create_table(
        "aims_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approver_role", sa.String(length=60), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("review_months", sa.Integer(), nullable=True),
        sa.Column("next_review", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aims_documents")),
        sa.UniqueConstraint("key", "version", name=op.f("uq_aims_documents_key")),
    )
    with op.batch_alter_table("aims_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aims_documents_key"), ["key"], unique=False)

    op.create_table(
        "aims_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aims_issues")),
    )
    op.create_table(
        "aims_objectives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("measure", sa.JSON(), nullable=True),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aims_objectives")),
        sa.UniqueConstraint("key", name=op.f("uq_aims_objectives_key")),
    )
    op.create_table(
        "aims_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("requirements", sa.JSON(), nullable=False),
        sa.Column("addressed_by", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aims_parties")),
        sa.UniqueConstraint("name_key", name=op.f("uq_aims_parties_name_key")),
    )
    op.create_table(
        "aims_scopes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("systems", sa.JSON(), nullable=False),
        sa.Column("units", sa.JSON(), nullable=False),
        sa.Column("sites", sa.JSON(), nullable=False),
        sa.Column("exclusions", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aims_scopes")),
        sa.UniqueConstraint("version", name=op.f("uq_aims_scopes_version")),
    )
    op.create_table(
        "aims_trainings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("validity_months", sa.Integer(), nullable=True),
        sa.Column("required_for", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aims_trainings")),
        sa.UniqueConstraint("code", name=op.f("uq_aims_trainings_code")),
    )
    op.create_table(
        "management_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_management_reviews")),
    )
    op.create_table(
        "aims_measurements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("met", sa.Boolean(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("measured_by", sa.String(length=200), nullable=False),
        sa.Column("measured_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["objective_id"], ["aims_objectives.id"], name=op.f("fk_aims_measurements_objective_id_aims_objectives")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aims_measurements")),
    )
    with op.batch_alter_table("aims_measurements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_aims_measurements_objective_id_measured_at", ["objective_id", "measured_at"], unique=False
        )

    op.create_table(
        "aims_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=60), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=True),
        sa.Column("area", sa.String(length=200), nullable=False),
        sa.Column("responsibilities", sa.Text(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assigned_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_aims_roles_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aims_roles")),
    )
    with op.batch_alter_table("aims_roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aims_roles_person"), ["person"], unique=False)
        batch_op.create_index(batch_op.f("ix_aims_roles_role"), ["role"], unique=False)

    op.create_table(
        "aims_team_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=False),
        sa.Column("disciplines", sa.JSON(), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_aims_team_members_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aims_team_members")),
        sa.UniqueConstraint("system_id", "person", name=op.f("uq_aims_team_members_system_id")),
    )
    with op.batch_alter_table("aims_team_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aims_team_members_system_id"), ["system_id"], unique=False)

    op.create_table(
        "aims_training_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("training_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("evidence", sa.String(length=1000), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["training_id"], ["aims_trainings.id"], name=op.f("fk_aims_training_records_training_id_aims_trainings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aims_training_records")),
    )
    with op.batch_alter_table("aims_training_records", schema=None) as batch_op:
        batch_op.create_index("ix_aims_training_records_person_training_id", ["person", "training_id"], unique=False)

    op.create_table(
        "nonconformities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("correction", sa.Text(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("effectiveness", sa.Text(), nullable=False),
        sa.Column("effective", sa.Boolean(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_nonconformities_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nonconformities")),
    )
    with op.batch_alter_table("nonconformities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nonconformities_system_id"), ["system_id"], unique=False)

    op.create_table(
        "aims_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("controls", sa.JSON(), nullable=False),
        sa.Column("records", sa.JSON(), nullable=False),
        sa.Column("nonconformity_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["audit_id"], ["aims_audits.id"], name=op.f("fk_aims_findings_audit_id_aims_audits")),
        sa.ForeignKeyConstraint(
            ["nonconformity_id"], ["nonconformities.id"], name=op.f("fk_aims_findings_nonconformity_id_nonconformities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aims_findings")),
    )
    with op.batch_alter_table("aims_findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_aims_findings_audit_id"), ["audit_id"], unique=False)

    with op.batch_alter_table("corrective_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nonconformity_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("review_id", sa.Integer(), nullable=True))
        batch_op.alter_column("incident_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(batch_op.f("ix_corrective_actions_nonconformity_id"), ["nonconformity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_corrective_actions_review_id"), ["review_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_corrective_actions_nonconformity_id_nonconformities"),
            "nonconformities",
            ["nonconformity_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_corrective_actions_review_id_management_reviews"),
            "management_reviews",
            ["review_id"],
            ["id"],
        )


def downgrade() -> None:
    # actions of nonconformities or reviews that no incident holds have no place in the old table (whose incident_id
    # is required): they go with the nonconformities and reviews dropped below
    op.execute("DELETE FROM corrective_actions WHERE incident_id IS NULL")
    with op.batch_alter_table("corrective_actions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_corrective_actions_review_id_management_reviews"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_corrective_actions_nonconformity_id_nonconformities"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_corrective_actions_review_id"))
        batch_op.drop_index(batch_op.f("ix_corrective_actions_nonconformity_id"))
        batch_op.alter_column("incident_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("review_id")
        batch_op.drop_column("nonconformity_id")

    with op.batch_alter_table("aims_findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aims_findings_audit_id"))

    op.drop_table("aims_findings")
    with op.batch_alter_table("nonconformities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nonconformities_system_id"))

    op.drop_table("nonconformities")
    with op.batch_alter_table("aims_training_records", schema=None) as batch_op:
        batch_op.drop_index("ix_aims_training_records_person_training_id")

    op.drop_table("aims_training_records")
    with op.batch_alter_table("aims_team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aims_team_members_system_id"))

    op.drop_table("aims_team_members")
    with op.batch_alter_table("aims_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aims_roles_role"))
        batch_op.drop_index(batch_op.f("ix_aims_roles_person"))

    op.drop_table("aims_roles")
    with op.batch_alter_table("aims_measurements", schema=None) as batch_op:
        batch_op.drop_index("ix_aims_measurements_objective_id_measured_at")

    op.drop_table("aims_measurements")
    op.drop_table("management_reviews")
    op.drop_table("aims_trainings")
    op.drop_table("aims_scopes")
    op.drop_table("aims_parties")
    op.drop_table("aims_objectives")
    op.drop_table("aims_issues")
    with op.batch_alter_table("aims_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aims_documents_key"))

    op.drop_table("aims_documents")
    with op.batch_alter_table("aims_audits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aims_audits_programme"))

    op.drop_table("aims_audits")
