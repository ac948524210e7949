"""The governance store's tables (SQLAlchemy 2 declarative models).

Values with a closed set (lifecycle stage, EU AI Act category, treatment, ...) are stored as strings; the
domain (:mod:`assay.governance.records`) validates them before they get here. Result documents are kept whole
as JSON, with the columns the store must query on beside them. Times are UTC.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

__all__ = [
    "AimsAudit",
    "AimsDocument",
    "AimsFinding",
    "AimsIssue",
    "AimsMeasurement",
    "AimsObjective",
    "AimsParty",
    "AimsRole",
    "AimsScope",
    "AimsTeamMember",
    "AimsTraining",
    "AimsTrainingRecord",
    "Alert",
    "ApiToken",
    "ApprovalDecision",
    "ApprovalRequest",
    "Artifact",
    "Assessment",
    "AuditCheckpoint",
    "AuditEvent",
    "Base",
    "CaptureConfig",
    "ControlStatus",
    "CorrectiveAction",
    "Dataset",
    "DatasetShare",
    "DatasetVersion",
    "Evidence",
    "GateRun",
    "ImpactAssessment",
    "Incident",
    "Job",
    "JobProgress",
    "ManagementReview",
    "Membership",
    "Model",
    "ModelVersion",
    "Monitor",
    "MonitorRun",
    "Nonconformity",
    "NotificationMark",
    "RetrainingRequest",
    "Risk",
    "Schedule",
    "System",
    "SystemPolicy",
    "User",
    "Waiver",
    "WebSession",
    "WorkspaceSetting",
    "utcnow",
]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every database (SQLite keeps no zone: stored naive UTC, read back aware)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: pass an aware UTC time")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)
    # Whether every change of a row is an audit event (see store/audit.py GOVERNED). Only operational tables whose
    # rows change many times a second and decide nothing (a job's progress and heartbeat) say False.
    governed: ClassVar[bool] = True

    def state(self) -> dict[str, Any]:
        """Every column as plain JSON values: what the audit ledger's before/after digests are computed over."""
        loaded = self.__dict__  # a loaded column's value; getattr (loading it) for one expired or deferred
        return {
            key: _json_value(loaded[key] if key in loaded else getattr(self, key)) for key in _column_keys(type(self))
        }


@functools.cache
def _column_keys(cls: type[Base]) -> tuple[str, ...]:
    """The column attributes' keys of a mapped class, in the mapper's order (what :meth:`Base.state` reads)."""
    return tuple(c.key for c in cls.__mapper__.column_attrs)


def _created() -> Mapped[dt.datetime]:
    return mapped_column(UTCDateTime(), default=utcnow)


class System(Base):
    """An AI system. Names are unique regardless of case: ``name_key`` is the name in lower case, kept by the
    model whenever the name is set, and unique in the database."""

    __tablename__ = "systems"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    name_key: Mapped[str] = mapped_column(String(100), unique=True, index=True)  # a unique index
    purpose: Mapped[str] = mapped_column(Text, default="")
    intended_uses: Mapped[list[str]] = mapped_column(JSON, default=list)
    out_of_scope_uses: Mapped[list[str]] = mapped_column(JSON, default=list)
    affected_people: Mapped[list[str]] = mapped_column(JSON, default=list)
    deployment_context: Mapped[str] = mapped_column(Text, default="")
    lifecycle_stage: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str] = mapped_column(String(200), default="")
    eu_ai_act_category: Mapped[str] = mapped_column(String(20))
    annex_iii_area: Mapped[int | None] = mapped_column(Integer)
    generative: Mapped[bool] = mapped_column(Boolean, default=False)
    disclosure: Mapped[str | None] = mapped_column(Text)
    # used commercially: a licence that forbids commercial use of its data or model is then a risk
    commercial: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    oversight: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()

    @validates("name")
    def _keep_key(self, _key: str, name: str) -> str:
        self.name_key = name.lower()
        return name


class Artifact(Base):
    """A file kept in the workspace's content-addressed artifact store."""

    __tablename__ = "artifacts"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(300), default="")
    media_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    created_at: Mapped[dt.datetime] = _created()


class Model(Base):
    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("system_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = _created()

    system: Mapped[System] = relationship()


class Dataset(Base):
    """A dataset, owned by one AI system (whose owners may change it and add versions; whose members may read
    it) and shared explicitly with others (whose members may read it and use it in their records)."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = _created()


class DatasetShare(Base):
    """A dataset shared with an AI system other than its owner: readable by that system's members and usable in
    its records (assessments, checks, training data); never writable through the share."""

    __tablename__ = "dataset_shares"
    __table_args__ = (UniqueConstraint("dataset_id", "system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    created_at: Mapped[dt.datetime] = _created()


class DatasetVersion(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    version: Mapped[str] = mapped_column(String(100))
    uri: Mapped[str | None] = mapped_column(Text)
    artifact_sha256: Mapped[str | None] = mapped_column(ForeignKey("artifacts.sha256"))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    columns: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(Text, default="")
    licence: Mapped[str] = mapped_column(String(200), default="")
    terms: Mapped[str] = mapped_column(Text, default="")  # terms of use beyond the licence
    collection_method: Mapped[str] = mapped_column(Text, default="")
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    pii: Mapped[bool] = mapped_column(Boolean, default=False)
    personal_data_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    parent_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # lineage: the versions it was derived from
    created_at: Mapped[dt.datetime] = _created()

    dataset: Mapped[Dataset] = relationship()


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    version: Mapped[str] = mapped_column(String(100))
    artifact_sha256: Mapped[str | None] = mapped_column(String(64))
    framework: Mapped[str] = mapped_column(String(100), default="")
    training_dataset_version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    stage: Mapped[str] = mapped_column(String(20), default="development")
    # licence and provenance (a generative system's foundation model and its provider, too)
    licence: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(Text, default="")
    terms: Mapped[str] = mapped_column(Text, default="")
    foundation_model: Mapped[str] = mapped_column(String(200), default="")
    provider: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()

    model: Mapped[Model] = relationship()


class Assessment(Base):
    """A result document (``assay.assessment`` and later check documents) attached to what it assessed."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"), index=True)
    dataset_version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"))
    kind: Mapped[str] = mapped_column(String(100))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    document_sha256: Mapped[str] = mapped_column(String(64))
    data_fingerprint: Mapped[str | None] = mapped_column(String(100))  # "sha256:<hex>"
    attachments: Mapped[dict[str, str] | None] = mapped_column(JSON)  # file name -> artifact SHA-256 (reports)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class Risk(Base):
    __tablename__ = "risks"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    affected: Mapped[list[str]] = mapped_column(JSON, default=list)
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(20))
    treatment: Mapped[str] = mapped_column(String(20))
    controls: Mapped[list[str]] = mapped_column(JSON, default=list)  # "framework:control id"
    owner: Mapped[str] = mapped_column(String(200), default="")
    residual_likelihood: Mapped[int | None] = mapped_column(Integer)
    residual_impact: Mapped[int | None] = mapped_column(Integer)
    residual_level: Mapped[str | None] = mapped_column(String(20))
    review_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()


class ImpactAssessment(Base):
    """An AI system impact assessment, one text per ISO/IEC 42005 heading."""

    __tablename__ = "impact_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    sections: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    assessor: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()


class ControlStatus(Base):
    __tablename__ = "control_statuses"
    __table_args__ = (UniqueConstraint("system_id", "framework", "control_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    framework: Mapped[str] = mapped_column(String(40))
    control_id: Mapped[str] = mapped_column(String(40))
    applicable: Mapped[bool] = mapped_column(Boolean, default=True)
    justification: Mapped[str] = mapped_column(Text, default="")
    implementation: Mapped[str] = mapped_column(String(20), default="not_started")
    owner: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[dt.datetime] = _created()


class Evidence(Base):
    """Evidence for one control of one system. Not deleted: a revoked item keeps its row with who revoked it,
    when and why (the ``evidence.revoke`` audit event records the same)."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    framework: Mapped[str] = mapped_column(String(40))
    control_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))  # assessment, file, url
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    artifact_sha256: Mapped[str | None] = mapped_column(ForeignKey("artifacts.sha256"))
    url: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    rule: Mapped[str | None] = mapped_column(String(100))  # the evidence rule that linked it, None when by hand
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    # withdrawn (attached by mistake, or no longer true): kept, shown as revoked, and never counted again
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class ApprovalRequest(Base):
    __tablename__ = "approval_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    required_approvals: Mapped[int] = mapped_column(Integer, default=1)
    state_digest: Mapped[str] = mapped_column(String(64))  # the frozen state the approvers decide on
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[dt.datetime] = _created()
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    from_stage: Mapped[str | None] = mapped_column(String(20))  # the stage the version left when approved
    gate_run_id: Mapped[int | None] = mapped_column(ForeignKey("gate_runs.id"))  # the gate the decision relied on


class ApprovalDecision(Base):
    __tablename__ = "approval_decisions"
    __table_args__ = (UniqueConstraint("request_id", "approver"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id"), index=True)
    approver: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(20))  # approve, reject
    comment: Mapped[str] = mapped_column(Text, default="")
    state_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = _created()
    # whether the approver proved who they are (a password or a token), or was taken at their word
    authenticated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")
    occurred_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reported_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CorrectiveAction(Base):
    """An action with an owner and a due date, taken on an incident (``incident_id``), a nonconformity
    (``nonconformity_id``, ISO/IEC 42001 10.2) or decided by a management review (``review_id``, 9.3): one kind of
    action, not one per source."""

    __tablename__ = "corrective_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"), index=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("management_reviews.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200), default="")
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[dt.datetime] = _created()
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class GateRun(Base):
    """A policy gate's decision for a model version, with every rule's result."""

    __tablename__ = "gate_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    policy_name: Mapped[str] = mapped_column(String(100))
    policy_sha256: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))  # passed, failed
    passed: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    waived: Mapped[int] = mapped_column(Integer)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class Waiver(Base):
    """Permission for one policy rule to fail until a date, given by a named person with a reason."""

    __tablename__ = "waivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    rule: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    expires: Mapped[dt.date] = mapped_column(Date)
    waived_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class SystemPolicy(Base):
    """A version of the gate policy a system must pass before a stage (the newest one per stage is in force)."""

    __tablename__ = "system_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class WorkspaceSetting(Base):
    """A workspace-wide setting kept in the database (and so in the ledger), e.g. ``mode``: multi-user or
    single-user."""

    __tablename__ = "workspace_settings"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = _created()


class User(Base):
    """A local user. ``role`` is global: admin (everything), auditor (read everything, verify and export the
    ledger) or member (what their memberships allow)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    role: Mapped[str] = mapped_column(String(20), default="member")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = _created()


class Membership(Base):
    """A user's role on one AI system: owner, approver, overseer, reviewer or viewer."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = _created()


class ApiToken(Base):
    """A personal API token: only its SHA-256 is stored; scoped (read or write) and expiring."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(20))  # read, write
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = _created()


class WebSession(Base):
    """A browser session: the cookie holds a random secret, the table its SHA-256 and the CSRF token."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = _created()


class Job(Base):
    """A background job: a registered handler (``kind``) run by a worker with ``params``. Governed: every change of
    status (submit, start, cancel request, end) is an audit event; what changes while it runs (progress, stage,
    heartbeat) is in :class:`JobProgress`, which is not."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(100))
    system_id: Mapped[int | None] = mapped_column(ForeignKey("systems.id"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued running succeeded failed cancelled
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)  # one line, as the command line would print it
    requested_by: Mapped[str] = mapped_column(String(200))
    authenticated: Mapped[bool] = mapped_column(Boolean, default=False)  # the requester proved who they are
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id"), index=True)
    worker: Mapped[str | None] = mapped_column(String(200))  # host:pid:thread of the worker that ran it
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = _created()
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class JobProgress(Base):
    """What a running job reports: progress (0..1, None when unknown), its stage, the log of its stages (bounded)
    and the worker's heartbeat. Operational, not governed: it changes many times while a job runs and decides
    nothing; the job's start and end are in :class:`Job` and the ledger."""

    __tablename__ = "job_progress"
    governed: ClassVar[bool] = False

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    progress: Mapped[float | None] = mapped_column(Float)
    stage: Mapped[str] = mapped_column(String(200), default="")
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{"at": ISO time, "stage": ...}]
    heartbeat_at: Mapped[dt.datetime] = _created()


class Schedule(Base):
    """A job run on a cron expression or an interval in an explicit time zone. ``next_run_at`` is when it is next
    due (UTC); ``missed`` says what happens to fire times missed while no worker ran: ``coalesce`` (run once now)
    or ``skip`` (run none of them). Deleted schedules are kept (``deleted_at``): their jobs refer to them."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    kind: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cron: Mapped[str | None] = mapped_column(String(200))
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    missed: Mapped[str] = mapped_column(String(20), default="coalesce")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_job_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: jobs refer to schedules
    created_by: Mapped[str] = mapped_column(String(200))
    authenticated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CaptureConfig(Base):
    """How inference records of a model version are captured: the fields a record must fit (``fields``: a list of
    ``{"name", "type", "required"}``), the columns dropped or hashed at capture (personal data), the inference id
    column that later ground-truth labels join on, and how long captured partitions are kept. Governed: what is
    kept of people's data is a decision."""

    __tablename__ = "capture_configs"
    __table_args__ = (UniqueConstraint("model_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    id_column: Mapped[str] = mapped_column(String(200), default="inference_id")
    label_column: Mapped[str | None] = mapped_column(String(200))  # the ground truth, when labels arrive later
    time_column: Mapped[str | None] = mapped_column(String(200))  # the record's own event time (None: captured_at)
    drop_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    hash_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    retention_days: Mapped[int | None] = mapped_column(Integer)  # None: kept until deleted
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()


class Monitor(Base):
    """A monitor of a deployed model version: its checks (``checks``: a list of ``{"kind", "options",
    "baseline_id"}``: compute kinds run on each window, with the recorded baselines they compare against), the
    window it reads (``window_seconds`` of captured data, or a folder of files), its alert settings and, through
    ``schedule_id``, when it runs. Deleted monitors are kept (``deleted_at``): their runs and alerts refer to them."""

    __tablename__ = "monitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"capture": true} or {"files": ...}
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    window_seconds: Mapped[int] = mapped_column(Integer, default=86400)
    alerting: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # channels, incident, retraining, rollback
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id"))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class MonitorRun(Base):
    """One run of a monitor over one window ``[window_start, window_end)``; unique per window, so running a window
    again (cron, a retry) finds the run instead of adding one. ``results`` holds per check ``{"kind", "status",
    "assessment_id", "violations": [...], "metrics": {name: value}}``; ``status`` is ``ok``, ``violations``,
    ``no_data`` or ``failed``."""

    __tablename__ = "monitor_runs"
    __table_args__ = (UniqueConstraint("monitor_id", "window_start", "window_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id"), index=True)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20))
    rows: Mapped[int | None] = mapped_column(BigInteger)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class Alert(Base):
    """A violation that persists across a monitor's windows: one open alert per ``key`` (monitor, check kind, subject),
    updated while the violation persists, resolved when a window passes. Links to the incident or retraining request
    it opened."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_monitor_id_status", "monitor_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id"))
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(100))  # the check's compute kind
    subject: Mapped[str] = mapped_column(String(300), default="")  # the feature, metric or facet concerned
    severity: Mapped[str] = mapped_column(String(20), default="warning")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open acknowledged resolved
    description: Mapped[str] = mapped_column(Text, default="")
    first_run_id: Mapped[int] = mapped_column(ForeignKey("monitor_runs.id"))
    last_run_id: Mapped[int] = mapped_column(ForeignKey("monitor_runs.id"))
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    assessment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # the evidence: the failing checks' records
    rollback_to: Mapped[str | None] = mapped_column(String(201))  # MODEL@VERSION recommended, when the monitor says so
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RetrainingRequest(Base):
    """A request to retrain a model version, opened by a person or by an alert, closed by the version that replaces
    it (``resolved_by_version_id``) or declined with a reason."""

    __tablename__ = "retraining_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    assessment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # the evidence it was opened on
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open done declined
    resolved_by_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    resolution: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()


class ReviewConfig(Base):
    """A version of a system's human-review configuration (the newest is in force): the routing rules that send a
    prediction to a person before it takes effect (an uncertainty band, watched slices, a random audit sample, rules on
    features), the time to decision, the share reviewed twice, the personal columns and who may see them. ``text`` is
    the YAML as given, ``rules`` the validated configuration (:class:`assay.governance.oversight.ReviewSettings`)."""

    __tablename__ = "review_configs"
    __table_args__ = (UniqueConstraint("system_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sha256: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False: the queue is switched off (nothing routed)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class ReviewItem(Base):
    """A prediction held for human review: the model's output (``output``: ``{"prediction", "score"}``), the features
    a reviewer needs, why it was routed (``reasons``: the rule names), how many independent reviews it needs, its
    claims (``claims``: ``[{"reviewer", "at"}]``), its deadline and, once decided, the final outcome and whether it
    overrode the model. Unique per (model version, inference id): routing the same inference again finds it."""

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("model_version_id", "inference_id"),
        Index("ix_review_items_system_id_status", "system_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    config_id: Mapped[int] = mapped_column(ForeignKey("review_configs.id"))
    inference_id: Mapped[str] = mapped_column(String(200))
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    output: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(20))  # api file client contest
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending claimed escalated decided
    reviews_needed: Mapped[int] = mapped_column(Integer, default=1)
    claims: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    final: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the outcome that takes effect
    overridden: Mapped[bool | None] = mapped_column(Boolean)
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the local explanation of this prediction
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ReviewDecision(Base):
    """One reviewer's decision on an item: ``accept`` (the model's outcome stands), ``change`` (``outcome`` replaces
    it) or ``escalate``; with the reason and the seconds from the item's arrival to the decision."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), index=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = _created()


class ModelPause(Base):
    """A model version paused by a named overseer (the kill switch): while ``resumed_at`` is empty, the capture and
    review endpoints answer "paused" and clients take the ``fallback`` (the manual path)."""

    __tablename__ = "model_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    fallback: Mapped[str] = mapped_column(Text, default="")
    paused_by: Mapped[str] = mapped_column(String(200))
    paused_at: Mapped[dt.datetime] = _created()
    resumed_by: Mapped[str | None] = mapped_column(String(200))
    resumed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    resume_reason: Mapped[str] = mapped_column(Text, default="")


class ContestedCase(Base):
    """A decision contested by the person it affects (or the operator on their behalf), by its inference id: the
    decision and input as they were, the local explanation in plain language and the counterfactual (what would
    change the outcome), the reviewer's outcome (``upheld``, ``overturned``) with its rationale and the letter sent."""

    __tablename__ = "contested_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    inference_id: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("review_items.id"))
    requester: Mapped[str] = mapped_column(String(200), default="")  # who contests (a reference, not personal data)
    grounds: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the output contested
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    counterfactual: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open decided withdrawn
    outcome: Mapped[str | None] = mapped_column(String(20))  # upheld overturned
    new_decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reviewer: Mapped[str | None] = mapped_column(String(200))
    rationale: Mapped[str] = mapped_column(Text, default="")
    letter: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Feedback(Base):
    """An end user's feedback on an output: a rating on a ``scale`` (2: thumbs down/up as 0/1; 5: stars 1..5), a
    reason category, free text (stored only after personal data in it was replaced by tags, ``redactions`` counting
    what was replaced) and the slice attributes it is summarised by."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_system_id_created_at", "system_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"))
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    inference_id: Mapped[str | None] = mapped_column(String(200))
    rating: Mapped[int | None] = mapped_column(Integer)
    scale: Mapped[int] = mapped_column(Integer, default=5)
    category: Mapped[str | None] = mapped_column(String(50))
    comment: Mapped[str] = mapped_column(Text, default="")
    redactions: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # slice attributes (e.g. channel, region)
    source: Mapped[str] = mapped_column(String(20))  # api snippet client file
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


# -- the organisation's AI management system (ISO/IEC 42001 clauses 4-10; see docs/management-system.md) ------------


class AimsIssue(Base):
    """An internal or external issue that affects the AI management system's intended results (ISO/IEC 42001 4.1):
    ``kind`` internal or external, a ``category`` (legal, technical, social, economic, ...). Retired, never deleted."""

    __tablename__ = "aims_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # internal external
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")  # active retired
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AimsParty(Base):
    """An interested party (ISO/IEC 42001 4.2) and its requirements (``requirements``: a list of texts), with what
    addresses them (``addressed_by``: control ids, document keys). Names are unique regardless of case."""

    __tablename__ = "aims_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    category: Mapped[str] = mapped_column(String(60), default="")  # customer regulator affected-persons employees ...
    requirements: Mapped[list[str]] = mapped_column(JSON, default=list)
    addressed_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active retired
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()

    @validates("name")
    def _keep_key(self, _key: str, value: str) -> str:
        self.name_key = value.strip().lower()
        return value


class AimsScope(Base):
    """A version of the management system's scope (ISO/IEC 42001 4.3), append-only (the newest is in force): the
    statement, the AI systems, units and sites in scope, and what is out and why (``exclusions``:
    ``[{"what", "why"}]``)."""

    __tablename__ = "aims_scopes"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    statement: Mapped[str] = mapped_column(Text)
    systems: Mapped[list[str]] = mapped_column(JSON, default=list)
    units: Mapped[list[str]] = mapped_column(JSON, default=list)
    sites: Mapped[list[str]] = mapped_column(JSON, default=list)
    exclusions: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class AimsDocument(Base):
    """One version of a document of the management system (documented information, ISO/IEC 42001 7.5): the AI policy
    (5.2, ``kind`` ``ai-policy``), topic policies, procedures, plans, records. ``key`` names the document across its
    versions; a new version supersedes the approved one (both kept). The content is ``text`` (kept here) or at
    ``location`` (``artifact:SHA256`` in the artifact store, or a URL). Approved by a named person holding
    ``approver_role`` (policies: a top-management role); reviewed every ``review_months``."""

    __tablename__ = "aims_documents"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))  # ai-policy topic-policy procedure plan record other
    title: Mapped[str] = mapped_column(String(300))
    topic: Mapped[str] = mapped_column(String(100), default="")
    owner: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft approved superseded withdrawn
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approver_role: Mapped[str | None] = mapped_column(String(60))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    review_months: Mapped[int | None] = mapped_column(Integer)
    next_review: Mapped[dt.date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()


class AimsRole(Base):
    """A governance role (ISO/IEC 42001 5.3, A.3.2: management-system owner, top management, risk owner, approver,
    data protection officer, internal auditor, ...) held by a person (a user name), for the organisation
    (``system_id`` null) or one AI system, with the ``area`` they are responsible for (an internal auditor may not
    audit their own area). Ended, never deleted."""

    __tablename__ = "aims_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(60), index=True)
    person: Mapped[str] = mapped_column(String(200), index=True)
    system_id: Mapped[int | None] = mapped_column(ForeignKey("systems.id"))
    area: Mapped[str] = mapped_column(String(200), default="")
    responsibilities: Mapped[str] = mapped_column(Text, default="")
    since: Mapped[dt.date] = mapped_column(Date)
    until: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active ended
    assigned_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AimsTeamMember(Base):
    """A member of an AI system's team and the disciplines they bring (``disciplines``: data-science, engineering,
    legal, ethics, domain, security, ...): a high-risk system's team must cover the disciplines its policy requires."""

    __tablename__ = "aims_team_members"
    __table_args__ = (UniqueConstraint("system_id", "person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    person: Mapped[str] = mapped_column(String(200))
    disciplines: Mapped[list[str]] = mapped_column(JSON, default=list)
    role: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()


class AimsObjective(Base):
    """A measurable AI objective (ISO/IEC 42001 6.2) with its target (``target`` reached when the measure is
    ``direction`` ``at_least`` or ``at_most`` it), owner and due date. ``measure`` names a measure Assay computes from
    the store (``{"name": ..., parameters}``); null for an objective measured by hand."""

    __tablename__ = "aims_objectives"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    measure: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    target: Mapped[float | None] = mapped_column(Float)
    direction: Mapped[str] = mapped_column(String(10), default="at_least")  # at_least at_most
    unit: Mapped[str] = mapped_column(String(40), default="")
    owner: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active achieved retired
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()


class AimsMeasurement(Base):
    """One measurement of an objective (its trend is the series): the value, whether the target was met, the
    details that prove it (e.g. which systems lack a recent assessment), computed or entered by hand."""

    __tablename__ = "aims_measurements"
    __table_args__ = (Index("ix_aims_measurements_objective_id_measured_at", "objective_id", "measured_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[int] = mapped_column(ForeignKey("aims_objectives.id"))
    value: Mapped[float | None] = mapped_column(Float)
    met: Mapped[bool | None] = mapped_column(Boolean)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(20))  # computed manual
    measured_by: Mapped[str] = mapped_column(String(200))
    measured_at: Mapped[dt.datetime] = _created()


class AimsTraining(Base):
    """A training of the catalogue (ISO/IEC 42001 7.2, 7.3): required for the roles in ``required_for`` (governance
    roles or system roles), valid ``validity_months`` after completion (null: does not expire)."""

    __tablename__ = "aims_trainings"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    validity_months: Mapped[int | None] = mapped_column(Integer)
    required_for: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active retired
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()


class AimsTrainingRecord(Base):
    """A person's completion of a training: when, the score, when it expires, and where the certificate is."""

    __tablename__ = "aims_training_records"
    __table_args__ = (Index("ix_aims_training_records_person_training_id", "person", "training_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("aims_trainings.id"))
    person: Mapped[str] = mapped_column(String(200))
    completed_on: Mapped[dt.date] = mapped_column(Date)
    score: Mapped[float | None] = mapped_column(Float)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    evidence: Mapped[str] = mapped_column(String(1000), default="")
    source: Mapped[str] = mapped_column(String(20), default="cli")  # cli api csv
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class AimsAudit(Base):
    """An internal audit (ISO/IEC 42001 9.2) of the audit ``programme`` (e.g. ``2027``): its scope (systems, clauses,
    units), criteria (``FRAMEWORK:CONTROL`` ids), the auditor (never auditing their own ``area``), its state and
    conclusion."""

    __tablename__ = "aims_audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(300))
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    criteria: Mapped[list[str]] = mapped_column(JSON, default=list)
    auditor: Mapped[str] = mapped_column(String(200))
    area: Mapped[str] = mapped_column(String(200), default="")
    planned_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="planned")  # planned in_progress completed cancelled
    conclusion: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class AimsFinding(Base):
    """A finding of an internal audit: ``kind`` major or minor nonconformity, observation, or opportunity for
    improvement; linked to the controls (``FRAMEWORK:CONTROL``) and records (``TYPE:ID``) concerned; a
    nonconformity finding opens a :class:`Nonconformity`."""

    __tablename__ = "aims_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("aims_audits.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # major minor observation opportunity
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    controls: Mapped[list[str]] = mapped_column(JSON, default=list)
    records: Mapped[list[str]] = mapped_column(JSON, default=list)
    nonconformity_id: Mapped[int | None] = mapped_column(ForeignKey("nonconformities.id"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class Nonconformity(Base):
    """A nonconformity (ISO/IEC 42001 10.2) from any ``source`` (audit, incident, gate, alert, complaint, review,
    other; ``source_ref`` ``TYPE:ID``): the correction, the root cause, the corrective actions
    (:class:`CorrectiveAction` rows), and the effectiveness review that must precede closing."""

    __tablename__ = "nonconformities"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    source_ref: Mapped[str] = mapped_column(String(200), default="")
    system_id: Mapped[int | None] = mapped_column(ForeignKey("systems.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(20), default="minor")  # major minor
    correction: Mapped[str] = mapped_column(Text, default="")
    root_cause: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open verification closed
    owner: Mapped[str] = mapped_column(String(200), default="")
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    effectiveness: Mapped[str] = mapped_column(Text, default="")
    effective: Mapped[bool | None] = mapped_column(Boolean)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class ManagementReview(Base):
    """A management review (ISO/IEC 42001 9.3): the inputs Assay assembled from the store when it was opened
    (``inputs``, kept as they were), who attended, the decisions (``decisions``: texts) and minutes; the actions taken
    are :class:`CorrectiveAction` rows with its ``review_id``. Closed reviews do not change."""

    __tablename__ = "management_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    held_on: Mapped[dt.date] = mapped_column(Date)
    attendees: Mapped[list[str]] = mapped_column(JSON, default=list)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decisions: Mapped[list[str]] = mapped_column(JSON, default=list)
    minutes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft closed
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _created()
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class GuardPolicy(Base):
    """A guardrail policy (YAML, schema ``assay.guardrail/1``, see :mod:`assay.genai.policy`), versioned by name: a
    new text is a new ``version``; old versions are kept (decisions cite the version that judged them). ``system_id``
    binds it to one AI system (its use cases and disclosure feed the policy), null for a policy of the organisation."""

    __tablename__ = "guard_policies"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    system_id: Mapped[int | None] = mapped_column(ForeignKey("systems.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class GuardBatch(Base):
    """A batch of guardrail decisions sealed into the ledger: the ids it covers, their count, the SHA-256 digest of
    their canonical JSON (in id order) and counts by policy and action. Decisions are many (one per prompt and
    response) and written in batches; the ledger event of each batch makes them tamper-evident without an event per
    decision."""

    __tablename__ = "guard_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_id: Mapped[int] = mapped_column(Integer)
    last_id: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = _created()


class GuardDecision(Base):
    """One guardrail decision on a prompt (``source`` INPUT) or a response (OUTPUT): the policy version that judged,
    the ``channel`` (library, cli, api, proxy, evaluation), the action (NONE or GUARDRAIL_INTERVENED) and its
    ``outcome`` (blocked, masked, detected or none: what block rates are counted from), the findings
    with matched values redacted, the latency and the characters guarded; ``content`` (masked) only when the policy
    keeps content. Not governed row by row: each is covered by its :class:`GuardBatch`'s ledger event."""

    __tablename__ = "guard_decisions"
    governed: ClassVar[bool] = False

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("guard_policies.id"), index=True)
    system_id: Mapped[int | None] = mapped_column(ForeignKey("systems.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("guard_batches.id"), index=True)
    source: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(30))
    outcome: Mapped[str] = mapped_column(String(20))  # blocked, masked, detected (findings, nothing changed) or none
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    latency_ms: Mapped[float] = mapped_column(Float)
    characters: Mapped[int] = mapped_column(Integer)
    conversation: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = _created()


class ProtectedCorpus(Base):
    """Documents the organisation must not reproduce (a registered corpus, its file in the artifact store), versioned
    by name; responses that copy long verbatim spans of it are flagged by a guardrail's protected-content check."""

    __tablename__ = "protected_corpora"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    system_id: Mapped[int | None] = mapped_column(ForeignKey("systems.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    artifact_sha256: Mapped[str] = mapped_column(ForeignKey("artifacts.sha256"))
    documents: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class AuditEvent(Base):
    """One ledger event; the database refuses UPDATE and DELETE on this table (triggers in the migration). Indexed by
    object (a person's notifications are the events on their records) and by actor (search, the audit page)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_object_type_object_id", "object_type", "object_id"),
        Index("ix_audit_events_actor", "actor"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[str | None] = mapped_column(String(64))
    after: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, kept byte for byte
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))
    time: Mapped[str] = mapped_column(String(40))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


class NotificationMark(Base):
    """What one user has had of their notifications (which are derived from the ledger, see
    :mod:`assay.services.notifications`): the newest event sequence number they marked read (``read_seq``) and the
    newest one e-mailed to them (``mailed_seq``), and the address they asked to be e-mailed at (``email``; none: the
    workspace's mail domain, if set). Not governed: it changes each time a person reads their notifications and decides
    nothing (the events themselves are in the ledger)."""

    __tablename__ = "notification_marks"
    governed: ClassVar[bool] = False

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    read_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    mailed_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    email: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[dt.datetime] = _created()
