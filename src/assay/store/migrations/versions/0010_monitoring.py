"""Monitoring: ``capture_configs`` (what is captured of a model version's inference records, and what is dropped or
hashed), ``monitors`` (checks, baselines, window, alerting, schedule), ``monitor_runs`` (one per monitor and window),
``alerts`` (de-duplicated violations) and ``retraining_requests``. All governed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "capture_configs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("id_column", sa.String(length=200), nullable=False),
        sa.Column("label_column", sa.String(length=200), nullable=True),
        sa.Column("time_column", sa.String(length=200), nullable=True),
        sa.Column("drop_columns", sa.JSON(), nullable=False),
        sa.Column("hash_columns", sa.JSON(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_versions.id"], name=op.f("fk_capture_configs_model_version_id_model_versions")
        ),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_capture_configs_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capture_configs")),
        sa.UniqueConstraint("model_version_id", name=op.f("uq_capture_configs_model_version_id")),
    )
    with op.batch_alter_table("capture_configs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_capture_configs_system_id"), ["system_id"], unique=False)

    op.create_table(
        "monitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("alerting", sa.JSON(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_version_id"], ["model_versions.id"], name=op.f("fk_monitors_model_version_id_model_versions")
        ),
        sa.ForeignKeyConstraint(["schedule_id"], ["schedules.id"], name=op.f("fk_monitors_schedule_id_schedules")),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_monitors_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitors")),
    )
    with op.batch_alter_table("monitors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitors_model_version_id"), ["model_version_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_monitors_system_id"), ["system_id"], unique=False)

    op.create_table(
        "monitor_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["monitor_id"], ["monitors.id"], name=op.f("fk_monitor_runs_monitor_id_monitors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_runs")),
        sa.UniqueConstraint("monitor_id", "window_start", "window_end", name=op.f("uq_monitor_runs_monitor_id")),
    )
    with op.batch_alter_table("monitor_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitor_runs_monitor_id"), ["monitor_id"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("first_run_id", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("notified_at", sa.DateTime(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("assessment_ids", sa.JSON(), nullable=False),
        sa.Column("rollback_to", sa.String(length=201), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["first_run_id"], ["monitor_runs.id"], name=op.f("fk_alerts_first_run_id_monitor_runs")
        ),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_alerts_incident_id_incidents")),
        sa.ForeignKeyConstraint(["last_run_id"], ["monitor_runs.id"], name=op.f("fk_alerts_last_run_id_monitor_runs")),
        sa.ForeignKeyConstraint(["monitor_id"], ["monitors.id"], name=op.f("fk_alerts_monitor_id_monitors")),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_alerts_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_monitor_id_status", ["monitor_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_system_id"), ["system_id"], unique=False)

    op.create_table(
        "retraining_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("assessment_ids", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resolved_by_version_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_retraining_requests_alert_id_alerts")),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_retraining_requests_model_version_id_model_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_version_id"],
            ["model_versions.id"],
            name=op.f("fk_retraining_requests_resolved_by_version_id_model_versions"),
        ),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name=op.f("fk_retraining_requests_system_id_systems")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retraining_requests")),
    )
    with op.batch_alter_table("retraining_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retraining_requests_system_id"), ["system_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("retraining_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retraining_requests_system_id"))

    op.drop_table("retraining_requests")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_system_id"))
        batch_op.drop_index("ix_alerts_monitor_id_status")

    op.drop_table("alerts")
    with op.batch_alter_table("monitor_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitor_runs_monitor_id"))

    op.drop_table("monitor_runs")
    with op.batch_alter_table("monitors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitors_system_id"))
        batch_op.drop_index(batch_op.f("ix_monitors_model_version_id"))

    op.drop_table("monitors")
    with op.batch_alter_table("capture_configs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capture_configs_system_id"))

    op.drop_table("capture_configs")
