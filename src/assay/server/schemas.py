"""The API's response models: the public shape of each record, chosen field by field.

Responses are built from these models (``Model.of(record)``), never dumped from the database's columns: a column
added to a table does not reach the API until a field is added here, and internal columns (password and token
hashes, session secrets, ``systems.name_key``) never do. The field names are the ones the web UI, the command
line's remote client and the tests read. OpenAPI (``/api/openapi.json``) shows these shapes, and schemathesis
checks every response against them (tests/test_server_fuzz.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Generic, Self, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

__all__ = [
    "Action",
    "Alert",
    "Approval",
    "Artifact",
    "AssessmentDetail",
    "AssessmentSummary",
    "AuditEvent",
    "AuditEvents",
    "Checkpoint",
    "CheckpointResult",
    "Control",
    "DatasetInfo",
    "DatasetVersion",
    "DatasetVersionDetail",
    "DatasetVersionListed",
    "Document",
    "Evidence",
    "GateRun",
    "Health",
    "ImpactAssessment",
    "Incident",
    "IncidentDetail",
    "LoginSession",
    "Me",
    "Membership",
    "Memberships",
    "ModelVersion",
    "ModelVersionDetail",
    "ModelVersionListed",
    "Page",
    "Policy",
    "RetrainingRequest",
    "Risk",
    "RiskDetail",
    "System",
    "Token",
    "TokenRevoked",
    "User",
    "Verification",
    "Waiver",
]


def _iso(value: Any) -> Any:
    """A datetime or date as the ISO text the API has always sent (``+00:00``, as ``isoformat`` writes it)."""
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


Timestamp = Annotated[str, BeforeValidator(_iso), WithJsonSchema({"type": "string", "format": "date-time"})]
Day = Annotated[str, BeforeValidator(_iso), WithJsonSchema({"type": "string", "format": "date"})]
T = TypeVar("T")


class Out(BaseModel):
    """A response model: fields not declared here are dropped (``extra="ignore"``), never passed through."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def of(cls, record: Any, **extra: Any) -> Self:
        """From a stored record (its ``state()``), a view with ``to_dict()``, or a mapping; ``extra`` adds fields."""
        if isinstance(record, Mapping):
            values = dict(record)
        elif hasattr(record, "to_dict"):
            values = record.to_dict()
        else:
            values = record.state()
        return cls.model_validate({**values, **extra})

    @classmethod
    def many(cls, records: Sequence[Any]) -> list[Self]:
        return [cls.of(record) for record in records]


class Page(BaseModel, Generic[T]):
    """One page of a list, counted and cut in the database: ``total`` items match, ``items`` are those from
    ``offset``, at most ``limit`` of them."""

    items: list[T]
    total: int = Field(ge=0, description="How many items match (all pages).")
    limit: int = Field(ge=1)
    offset: int = Field(ge=0)


# -- server and access -------------------------------------------------------------------------------------------


class Health(Out):
    status: str


class Me(Out):
    name: str
    role: str
    memberships: dict[str, str] = Field(description="System name -> owner, approver, overseer, reviewer or viewer.")
    scope: str


class LoginSession(Out):
    name: str
    role: str
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every change made with the session cookie.")


class User(Out):
    name: str
    role: str
    active: bool


class Membership(Out):
    user: str
    system: str
    role: str


class Memberships(Out):
    name: str
    memberships: dict[str, str]


class Token(Out):
    id: int
    token: str = Field(description="The secret: in this response only (only its SHA-256 is stored).")
    scope: str
    expires_at: Timestamp


class TokenRevoked(Out):
    id: int
    revoked: bool


class Artifact(Out):
    sha256: str
    size: int
    name: str


# -- inventory --------------------------------------------------------------------------------------------------


class System(Out):
    id: int
    name: str
    purpose: str
    intended_uses: list[str]
    out_of_scope_uses: list[str]
    affected_people: list[str]
    deployment_context: str
    lifecycle_stage: str
    owner: str
    eu_ai_act_category: str
    annex_iii_area: int | None
    generative: bool
    disclosure: str | None
    commercial: bool = False
    oversight: str | None
    created_at: Timestamp
    updated_at: Timestamp


class ModelVersion(Out):
    id: int
    model_id: int
    version: str
    artifact_sha256: str | None
    framework: str
    training_dataset_version_id: int | None
    parent_id: int | None
    stage: str
    licence: str = ""
    source: str = ""
    terms: str = ""
    foundation_model: str = ""
    provider: str = ""
    created_at: Timestamp
    updated_at: Timestamp


class ModelVersionListed(ModelVersion):
    model: str
    ref: str = Field(description="MODEL@VERSION")


class ModelVersionDetail(ModelVersion):
    lineage: list[str] = Field(description="This version and its ancestors, newest first.")


class DatasetVersion(Out):
    id: int
    dataset_id: int
    version: str
    uri: str | None
    artifact_sha256: str | None
    fingerprint: str | None
    columns: list[Any]
    row_count: int | None
    source: str
    licence: str
    terms: str = ""
    collection_method: str
    period_start: Day | None
    period_end: Day | None
    pii: bool
    personal_data_categories: list[str]
    parent_ids: list[int]
    created_at: Timestamp


class DatasetVersionDetail(DatasetVersion):
    system: str = Field(description="The AI system that owns the dataset.")
    shared_with: list[str]


class DatasetVersionListed(DatasetVersionDetail):
    dataset: str
    ref: str = Field(description="DATASET@VERSION")


class DatasetInfo(Out):
    id: int
    name: str
    description: str
    system: str
    shared_with: list[str]
    created_at: Timestamp


class AssessmentSummary(Out):
    """A recorded document (a bias assessment, an explanation, a mitigation, a check) without the document."""

    id: int
    system_id: int
    model_version_id: int | None
    dataset_version_id: int | None
    kind: str = Field(description="The document's schema, e.g. assay.assessment.")
    document_sha256: str
    data_fingerprint: str | None
    attachments: dict[str, Any]
    created_by: str
    created_at: Timestamp


class AssessmentDetail(AssessmentSummary):
    document: dict[str, Any]


# -- risks, controls, evidence, incidents -----------------------------------------------------------------------------


class Risk(Out):
    id: int
    system_id: int
    title: str
    source: str
    description: str
    affected: list[str]
    likelihood: int
    impact: int
    level: str
    treatment: str
    controls: list[str]
    owner: str
    residual_likelihood: int | None
    residual_impact: int | None
    residual_level: str | None
    review_date: Day | None
    status: str
    created_at: Timestamp
    updated_at: Timestamp


class RiskDetail(Risk):
    score: int = Field(description="likelihood x impact")
    residual_score: int | None


class ImpactAssessment(Out):
    id: int
    system_id: int
    title: str
    sections: dict[str, str]
    status: str
    assessor: str
    created_at: Timestamp
    updated_at: Timestamp


class Control(Out):
    id: int
    system_id: int
    framework: str
    control_id: str
    applicable: bool
    justification: str
    implementation: str
    owner: str
    updated_at: Timestamp


class Evidence(Out):
    id: int
    system: str
    framework: str
    control_id: str
    kind: str
    assessment_id: int | None
    artifact_sha256: str | None
    url: str | None
    description: str
    rule: str | None
    valid_from: Day | None
    valid_until: Day | None
    created_by: str
    created_at: Timestamp
    state: str = Field(description="current, expired, not yet valid or revoked")
    current: bool
    via: str | None
    revoked_at: Timestamp | None
    revoked_by: str | None
    revoke_reason: str | None


class Action(Out):
    id: int
    incident_id: int
    description: str
    owner: str
    due_date: Day | None
    status: str
    created_at: Timestamp
    completed_at: Timestamp | None


class Incident(Out):
    id: int
    system_id: int
    model_version_id: int | None
    title: str
    description: str
    severity: str
    status: str
    occurred_at: Timestamp | None
    reported_by: str
    created_at: Timestamp
    updated_at: Timestamp
    closed_at: Timestamp | None


class IncidentDetail(Incident):
    model_version: str | None
    actions: list[Action]


# -- alerts of the monitors, retraining requests -----------------------------------------------------------------------


class Alert(Out):
    id: int
    monitor_id: int
    system_id: int
    key: str = Field(description="monitor:kind:subject, one open alert per key")
    kind: str
    subject: str
    severity: str
    status: str = Field(description="open, acknowledged or resolved")
    description: str
    first_run_id: int
    last_run_id: int
    occurrences: int = Field(description="Windows in which the violation was found.")
    notified_at: Timestamp | None
    incident_id: int | None
    assessment_ids: list[int] = Field(description="The evidence: the failing checks' recorded assessments.")
    rollback_to: str | None = Field(description="MODEL@VERSION the monitor recommends rolling back to.")
    created_at: Timestamp
    updated_at: Timestamp
    resolved_at: Timestamp | None


class RetrainingRequest(Out):
    id: int
    system_id: int
    model_version_id: int
    alert_id: int | None
    assessment_ids: list[int]
    reason: str
    status: str = Field(description="open, done or declined")
    resolved_by_version_id: int | None
    resolution: str
    created_by: str
    created_at: Timestamp
    updated_at: Timestamp


# -- approvals, gates -------------------------------------------------------------------------------------------------


class Approval(Out):
    id: int
    system: str
    ref: str
    stage: str
    status: str
    stale: bool
    requested_by: str
    comment: str
    required_approvals: int
    approvals: int
    held: bool
    gate_run_id: int | None
    state_digest: str
    current_digest: str
    created_at: Timestamp
    decided_at: Timestamp | None
    decisions: list[dict[str, Any]]


class GateRun(Out):
    """A recorded gate decision (document schema ``assay.gate``)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    schema_: str = Field(alias="schema", serialization_alias="schema")
    schema_version: int
    id: int
    system: str
    ref: str
    stage: str
    policy: dict[str, Any]
    passed: bool
    counts: dict[str, int]
    results: list[dict[str, Any]]
    created_by: str
    created_at: Timestamp


class Waiver(Out):
    id: int
    rule: str
    reason: str
    expires: Day
    waived_by: str
    model_version_id: int | None
    created_at: Timestamp
    active: bool | None = Field(default=None, description="Not expired today (in lists).")
    state: str | None = Field(default=None, description="active, expired or revoked (in lists, and once revoked).")


class Policy(Out):
    id: int
    system: str
    stage: str
    name: str
    sha256: str
    created_by: str
    created_at: Timestamp
    text: str = Field(description="The policy YAML.")


# -- documents and the audit ledger -----------------------------------------------------------------------------------


class Document(Out):
    """A generated document (statement of applicability, readiness, model card, technical documentation): its
    ``schema`` names it, and its fields are described in docs/ for that schema."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)
    schema_: str = Field(alias="schema", serialization_alias="schema")
    schema_version: int


class AuditEvent(Out):
    seq: int
    time: str
    actor: str
    action: str
    object_type: str
    object_id: str
    before: str | None = Field(description="SHA-256 of the object's state before.")
    after: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class AuditEvents(Out):
    """Events in sequence order after ``offset`` (the ledger is append-only: page by ``after``)."""

    items: list[AuditEvent]
    limit: int
    offset: int


class Verification(Out):
    ok: bool
    events: int
    checkpoints: int
    first_bad_seq: int | None
    problem: str | None
    records: int
    record_problems: list[Any]
    head_checkpoint_time: str | None


class Checkpoint(Out):
    seq: int
    head_hash: str
    time: str
    key_id: str


class CheckpointResult(Out):
    checkpoint: Checkpoint | None
