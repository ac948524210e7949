"""The JSON REST API: thin routes over the same services as the CLI. Every route is in the permission table."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from assay.errors import InvalidInput, PermissionDenied
from assay.server import schemas as out
from assay.server.deps import Auth, Page, page
from assay.services.controls import REVOKE_REASON_MAX

__all__ = ["router"]

router = APIRouter(prefix="/api")

Fields = Annotated[dict[str, Any], Body(description="The record's fields, as in the Python API.")]


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    scope: str = "read"
    days: int = 90


class UserBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    password: str = Field(max_length=1000)
    role: str = "member"


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: str
    comment: str = ""


class ApprovalBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str
    stage: str = "production"
    comment: str = ""
    required_approvals: int | None = None  # default: the number the policy in force asks for


class ControlBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    applicable: bool | None = None
    justification: str | None = None
    implementation: str | None = None
    owner: str | None = None


class EvidenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    framework: str
    control_id: str
    kind: str
    assessment_id: int | None = None
    url: str | None = None
    artifact_sha256: str | None = None
    description: str = ""
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


class RevokeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=REVOKE_REASON_MAX, description="Why the evidence is withdrawn (required).")


# -- public --------------------------------------------------------------------------------------------------


@router.get("/health", tags=["server"])
def health() -> out.Health:
    return out.Health(status="ok")


@router.get("/me", tags=["access"])
def me(auth: Auth) -> out.Me:
    who = auth.principal
    return out.Me(name=who.name, role=who.role, memberships=who.memberships, scope=who.scope)


# -- systems -------------------------------------------------------------------------------------------------


@router.get("/systems", tags=["systems"])
def list_systems(
    auth: Auth,
    paging: Page,
    category: Annotated[str | None, Query(description="EU AI Act category.")] = None,
    stage: Annotated[str | None, Query(description="Life cycle stage.")] = None,
) -> out.Page[out.System]:
    """The systems you may see (filtered and paginated in the database)."""
    rows = auth.ws.systems.list(category=category, stage=stage, limit=paging.limit, offset=paging.offset)
    return page(out.System, rows, paging)


@router.post("/systems", status_code=201, tags=["systems"])
def create_system(auth: Auth, fields: Fields) -> out.System:
    return out.System.of(auth.ws.systems.create(fields, owner_member=auth.principal.creator()))


@router.get("/systems/{system}", tags=["systems"])
def get_system(auth: Auth, system: str) -> out.System:
    return out.System.of(auth.ws.systems.get(system))


@router.patch("/systems/{system}", tags=["systems"])
def update_system(auth: Auth, system: str, fields: Fields) -> out.System:
    return out.System.of(auth.ws.systems.update(system, fields))


# -- models, datasets, artifacts --------------------------------------------------------------------------------


@router.get("/systems/{system}/models", tags=["models"])
def list_models(auth: Auth, system: str, paging: Page) -> out.Page[out.ModelVersionListed]:
    rows = auth.ws.models.list_versions(system, limit=paging.limit, offset=paging.offset)
    items = [{"model": m.name, "ref": f"{m.name}@{v.version}", **v.state()} for m, v in rows]
    return page(out.ModelVersionListed, items, paging, total=rows.total)


def _text(fields: dict[str, Any], key: str) -> str | None:
    """Take ``key`` out of the fields: a string, or absent."""
    value = fields.pop(key, None)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string")
    return value


@router.post("/systems/{system}/models", status_code=201, tags=["models"])
def register_model(auth: Auth, system: str, fields: Fields) -> out.ModelVersion:
    """Register a model version; its file: the artifact_sha256 of an upload, and file_name (model.skops, model.onnx),
    whose suffix tells the format when the server loads it."""
    file_name = _text(fields, "file_name")
    sha = fields.get("artifact_sha256")
    if sha is not None and not auth.ws.artifacts.has(str(sha)):
        raise InvalidInput(f"artifact {sha} is not in the artifact store: upload it with POST /api/artifacts")
    return out.ModelVersion.of(auth.ws.models.register_version(system, fields, file_name=file_name))


@router.get("/datasets", tags=["datasets"])
def list_datasets(auth: Auth, paging: Page) -> out.Page[out.DatasetVersionListed]:
    """The dataset versions you may see: of datasets owned by, or shared with, a system you are a member of."""
    rows = auth.ws.datasets.list_versions(limit=paging.limit, offset=paging.offset)
    owners = {info.dataset.name: info for info in auth.ws.datasets.list()}
    items = [
        {"dataset": d.name, "ref": f"{d.name}@{v.version}", "system": owners[d.name].system,
         "shared_with": list(owners[d.name].shared_with), **v.state()}
        for d, v in rows
    ]  # fmt: skip
    return page(out.DatasetVersionListed, items, paging, total=rows.total)


@router.post("/datasets", status_code=201, tags=["datasets"])
def register_dataset(auth: Auth, fields: Fields) -> out.DatasetVersion:
    """Register a dataset version of a dataset owned by the system named in the field system (you must own it);
    with the artifact_sha256 of an upload and its file_name (credit.csv, credit.parquet), the file is its registered
    copy (fingerprint, columns and rows read from it)."""
    sha, file_name, system = _text(fields, "artifact_sha256"), _text(fields, "file_name"), _text(fields, "system")
    if not system:
        raise InvalidInput("system: give the AI system that owns the dataset (one you own)")
    registered = auth.ws.datasets.register_version(fields, system=system, artifact_sha256=sha, file_name=file_name)
    return out.DatasetVersion.of(registered)


class ShareBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str = Field(min_length=1, max_length=100, description="The AI system.")


@router.post("/datasets/{dataset}/shares", status_code=201, tags=["datasets"])
def share_dataset(auth: Auth, dataset: str, body: ShareBody) -> out.DatasetInfo:
    """Share a dataset your system owns with another system: its members may read it and use it in its records."""
    info = auth.ws.datasets.share(dataset, body.system)
    return out.DatasetInfo.of(info)


@router.delete("/datasets/{dataset}/shares/{system}", tags=["datasets"])
def unshare_dataset(auth: Auth, dataset: str, system: str) -> out.DatasetInfo:
    """Stop sharing a dataset your system owns with a system."""
    info = auth.ws.datasets.unshare(dataset, system)
    return out.DatasetInfo.of(info)


@router.put("/datasets/{dataset}/system", tags=["datasets"])
def assign_dataset(auth: Auth, dataset: str, body: ShareBody) -> out.DatasetInfo:
    """Move a dataset to another owning system (you must be able to change both)."""
    info = auth.ws.datasets.assign(dataset, body.system)
    return out.DatasetInfo.of(info)


# -- assessments --------------------------------------------------------------------------------------------


@router.get("/systems/{system}/assessments", tags=["assessments"])
def list_assessments(auth: Auth, system: str, paging: Page) -> out.Page[out.AssessmentSummary]:
    """The documents recorded for the system (without their documents: GET one for that)."""
    return page(
        out.AssessmentSummary, auth.ws.assessments.list(system, limit=paging.limit, offset=paging.offset), paging
    )


@router.get("/systems/{system}/assessments/{assessment_id}", tags=["assessments"])
def get_assessment(auth: Auth, system: str, assessment_id: int) -> out.AssessmentDetail:
    return out.AssessmentDetail.of(auth.ws.assessments.get(system, assessment_id))


@router.post("/systems/{system}/assessments", status_code=201, tags=["assessments"])
def record_assessment(
    auth: Auth,
    system: str,
    document: Annotated[dict[str, Any], Body(description="A result document written by Assay.")],
    model_version: str | None = None,
    dataset_version: str | None = None,
) -> out.AssessmentSummary:
    recorded = auth.ws.assessments.record(
        system, document, model_version=model_version, dataset_version=dataset_version
    )
    return out.AssessmentSummary.of(recorded)


# -- risks, controls, evidence, incidents -------------------------------------------------------------------------


@router.get("/systems/{system}/risks", tags=["risks"])
def list_risks(
    auth: Auth, system: str, paging: Page, status: str | None = None, level: str | None = None
) -> out.Page[out.Risk]:
    return page(
        out.Risk,
        auth.ws.risks.list(system, status=status, level=level, limit=paging.limit, offset=paging.offset),
        paging,
    )


@router.post("/systems/{system}/risks", status_code=201, tags=["risks"])
def add_risk(auth: Auth, system: str, fields: Fields) -> out.Risk:
    return out.Risk.of(auth.ws.risks.add(system, fields))


@router.patch("/systems/{system}/risks/{risk_id}", tags=["risks"])
def update_risk(auth: Auth, system: str, risk_id: int, fields: Fields) -> out.Risk:
    return out.Risk.of(auth.ws.risks.update(system, risk_id, fields))


@router.get("/systems/{system}/controls", tags=["controls"])
def list_controls(auth: Auth, system: str, paging: Page, framework: str | None = None) -> out.Page[out.Control]:
    """The recorded control statuses, in catalogue order (a list bounded by the catalogues' size)."""
    return page(out.Control, auth.ws.controls.statuses(system, framework), paging)


@router.put("/systems/{system}/controls/{framework}/{control_id}", tags=["controls"])
def set_control(auth: Auth, system: str, framework: str, control_id: str, body: ControlBody) -> out.Control:
    return out.Control.of(auth.ws.controls.set_status(system, framework, control_id, **body.model_dump()))


@router.get("/systems/{system}/evidence", tags=["controls"])
def list_evidence(
    auth: Auth,
    system: str,
    paging: Page,
    framework: str | None = None,
    include_revoked: Annotated[bool, Query(description="List revoked evidence too (state 'revoked').")] = True,
) -> out.Page[out.Evidence]:
    views = auth.ws.controls.list_evidence(
        system, framework, include_revoked=include_revoked, limit=paging.limit, offset=paging.offset
    )
    return page(out.Evidence, views, paging)


@router.post("/systems/{system}/evidence", status_code=201, tags=["controls"])
def add_evidence(auth: Auth, system: str, body: EvidenceBody) -> out.Evidence:
    file = None
    if body.kind == "file":
        if not body.artifact_sha256 or not auth.ws.artifacts.has(body.artifact_sha256):
            raise InvalidInput("file evidence needs the artifact_sha256 of a file uploaded with POST /api/artifacts")
        file = auth.ws.artifacts.path_of(body.artifact_sha256)
    view = auth.ws.controls.add_evidence(
        system, body.framework, body.control_id, kind=body.kind, assessment_id=body.assessment_id, file=file,
        url=body.url, description=body.description, valid_from=body.valid_from, valid_until=body.valid_until,
    )  # fmt: skip
    return out.Evidence.of(view)


@router.post("/systems/{system}/evidence/{evidence_id}/revoke", tags=["controls"])
def revoke_evidence(auth: Auth, system: str, evidence_id: int, body: RevokeBody) -> out.Evidence:
    """Withdraw a piece of evidence: it stays listed (state 'revoked') and no longer counts; 409 when already
    revoked."""
    return out.Evidence.of(auth.ws.controls.revoke_evidence(system, evidence_id, reason=body.reason))


@router.get("/systems/{system}/soa", tags=["controls"])
def soa(auth: Auth, system: str) -> out.Document:
    return out.Document.of(auth.ws.controls.soa(system))


@router.get("/systems/{system}/readiness", tags=["controls"])
def readiness(auth: Auth, system: str, framework: str = "iso42001") -> out.Document:
    return out.Document.of(auth.ws.controls.readiness(system, framework))


@router.get("/systems/{system}/incidents", tags=["incidents"])
def list_incidents(auth: Auth, system: str, paging: Page, status: str | None = None) -> out.Page[out.Incident]:
    return page(
        out.Incident, auth.ws.incidents.list(system, status=status, limit=paging.limit, offset=paging.offset), paging
    )


@router.post("/systems/{system}/incidents", status_code=201, tags=["incidents"])
def open_incident(auth: Auth, system: str, fields: Fields) -> out.Incident:
    return out.Incident.of(auth.ws.incidents.open(system, fields))


# -- approvals, gates, cards ---------------------------------------------------------------------------------------


@router.get("/systems/{system}/approvals", tags=["approvals"])
def list_approvals(auth: Auth, system: str, paging: Page, status: str | None = None) -> out.Page[out.Approval]:
    return page(
        out.Approval, auth.ws.approvals.list(system, status=status, limit=paging.limit, offset=paging.offset), paging
    )


@router.post("/systems/{system}/approvals", status_code=201, tags=["approvals"])
def request_approval(auth: Auth, system: str, body: ApprovalBody) -> out.Approval:
    view = auth.ws.approvals.request(
        system, body.ref, body.stage, comment=body.comment, required_approvals=body.required_approvals
    )
    return out.Approval.of(view)


@router.post("/systems/{system}/approvals/{request_id}/decision", tags=["approvals"])
def decide(auth: Auth, system: str, request_id: int, body: DecisionBody) -> out.Approval:
    return out.Approval.of(auth.ws.approvals.decide(request_id, body.decision, comment=body.comment, system=system))


@router.get("/systems/{system}/models/{ref}/card", tags=["cards"])
def card(auth: Auth, system: str, ref: str) -> out.Document:
    return out.Document.of(auth.ws.cards.build(system, ref))


# -- audit ----------------------------------------------------------------------------------------------------


@router.get("/audit/events", tags=["audit"])
def audit_events(
    auth: Auth,
    paging: Page,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    after: Annotated[int, Query(ge=0, description="Only events after this sequence number.")] = 0,
) -> out.AuditEvents:
    from assay.store.audit import EventFilter

    events = auth.ws.audit.log(EventFilter(actor, action, object_type, None, None, None, after + paging.offset),
                               limit=paging.limit)  # fmt: skip
    return out.AuditEvents.of(
        {"items": [{**e.content(), "hash": e.hash} for e in events], "limit": paging.limit, "offset": paging.offset}
    )


@router.post("/audit/verify", tags=["audit"])
def audit_verify(auth: Auth) -> out.Verification:
    """The chain, the signed checkpoints and every governed record against the last event that touched it."""
    return out.Verification.of(auth.ws.audit.verify())


@router.get("/audit/export", tags=["audit"], response_class=Response)
def audit_export(auth: Auth) -> Response:
    """A zip of events.jsonl, checkpoints.jsonl and the public key, to verify offline."""
    with tempfile.TemporaryDirectory() as folder:
        paths = auth.ws.audit.export(Path(folder) / "export")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths.values():
                archive.write(path, arcname=path.name)
    headers = {"Content-Disposition": 'attachment; filename="assay-audit-export.zip"'}
    return Response(buffer.getvalue(), media_type="application/zip", headers=headers)


# -- users and tokens ---------------------------------------------------------------------------------------------


@router.get("/users", tags=["access"])
def list_users(auth: Auth, paging: Page) -> out.Page[out.User]:
    return page(out.User, auth.ws.access.users(limit=paging.limit, offset=paging.offset), paging)


@router.post("/users", status_code=201, tags=["access"])
def add_user(auth: Auth, body: UserBody) -> out.User:
    user = auth.ws.access.add_user(body.name, body.password, role=body.role)
    return out.User.of({"name": user.name, "role": user.role, "active": user.active})


@router.put("/users/{user}/memberships/{system}", tags=["access"])
def grant(auth: Auth, user: str, system: str, role: Annotated[str, Body(embed=True)]) -> out.Membership:
    auth.ws.access.grant(user, system, role)
    return out.Membership.of({"user": user, "system": system, "role": role})


@router.post("/tokens", status_code=201, tags=["access"])
def create_token(auth: Auth, body: TokenBody) -> out.Token:
    """A personal API token; the secret is in this response only."""
    if body.scope == "write" and auth.principal.scope != "write":
        raise PermissionDenied("a read token cannot create a write token")
    secret, token = auth.ws.access.create_token(auth.principal.name, body.name, scope=body.scope, days=body.days)
    return out.Token.of(
        {"id": token.id, "token": secret, "scope": token.scope, "expires_at": token.expires_at.isoformat()}
    )


# -- the rest of what the command line does -------------------------------------------------------------------------


class GateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str
    stage: str | None = None
    policy: str | None = Field(default=None, max_length=200_000, description="Policy YAML (default: Assay's own).")


class WaiverBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: str
    reason: str
    expires: dt.date
    model_version: str | None = None


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str
    note: str = ""


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = ""


@router.get("/systems/{system}/impact-assessments", tags=["risks"])
def list_impact_assessments(auth: Auth, system: str, paging: Page) -> out.Page[out.ImpactAssessment]:
    return page(
        out.ImpactAssessment, auth.ws.impact_assessments.list(system, limit=paging.limit, offset=paging.offset), paging
    )


@router.post("/systems/{system}/impact-assessments", status_code=201, tags=["risks"])
def create_impact_assessment(auth: Auth, system: str, fields: Fields) -> out.ImpactAssessment:
    return out.ImpactAssessment.of(auth.ws.impact_assessments.create(system, fields))


@router.patch("/systems/{system}/impact-assessments/{assessment_id}", tags=["risks"])
def update_impact_assessment(auth: Auth, system: str, assessment_id: int, fields: Fields) -> out.ImpactAssessment:
    return out.ImpactAssessment.of(auth.ws.impact_assessments.update(system, assessment_id, fields))


@router.post("/systems/{system}/impact-assessments/{assessment_id}/finalise", tags=["risks"])
def finalise_impact_assessment(auth: Auth, system: str, assessment_id: int) -> out.ImpactAssessment:
    return out.ImpactAssessment.of(auth.ws.impact_assessments.finalise(system, assessment_id))


@router.post("/systems/{system}/risks/{risk_id}/close", tags=["risks"])
def close_risk(auth: Auth, system: str, risk_id: int, body: NoteBody) -> out.Risk:
    return out.Risk.of(auth.ws.risks.close(system, risk_id, reason=body.note))


@router.patch("/systems/{system}/incidents/{incident_id}", tags=["incidents"])
def update_incident(auth: Auth, system: str, incident_id: int, fields: Fields) -> out.Incident:
    return out.Incident.of(auth.ws.incidents.update(system, incident_id, fields))


@router.post("/systems/{system}/incidents/{incident_id}/status", tags=["incidents"])
def incident_status(auth: Auth, system: str, incident_id: int, body: StatusBody) -> out.Incident:
    return out.Incident.of(auth.ws.incidents.set_status(system, incident_id, body.status, note=body.note))


@router.post("/systems/{system}/incidents/{incident_id}/actions", status_code=201, tags=["incidents"])
def add_action(auth: Auth, system: str, incident_id: int, fields: Fields) -> out.Action:
    return out.Action.of(auth.ws.incidents.add_action(system, incident_id, fields))


@router.post("/systems/{system}/actions/{action_id}/complete", tags=["incidents"])
def complete_action(auth: Auth, system: str, action_id: int, body: NoteBody) -> out.Action:
    return out.Action.of(auth.ws.incidents.complete_action(system, action_id, note=body.note))


@router.patch("/systems/{system}/models/{ref}", tags=["models"])
def update_model(auth: Auth, system: str, ref: str, fields: Fields) -> out.ModelVersion:
    return out.ModelVersion.of(auth.ws.models.update_version(system, ref, fields))


@router.post("/systems/{system}/models/{ref}/stage", tags=["models"])
def model_stage(auth: Auth, system: str, ref: str, body: StatusBody) -> out.ModelVersion:
    """Move to development, staging or retired (production only through an approval)."""
    return out.ModelVersion.of(auth.ws.models.set_stage(system, ref, body.status, reason=body.note))


@router.patch("/datasets/{ref}", tags=["datasets"])
def update_dataset(auth: Auth, ref: str, fields: Fields) -> out.DatasetVersion:
    return out.DatasetVersion.of(auth.ws.datasets.update_version(ref, fields))


@router.post("/systems/{system}/approvals/{request_id}/withdraw", tags=["approvals"])
def withdraw(auth: Auth, system: str, request_id: int, body: NoteBody) -> out.Approval:
    return out.Approval.of(auth.ws.approvals.withdraw(request_id, comment=body.note, system=system))


@router.post("/systems/{system}/gates", tags=["gates"])
def gate_with_policy(auth: Auth, system: str, body: GateBody) -> out.GateRun:
    """Evaluate a policy (YAML in the body, or Assay's default for the category) and record the decision."""
    return out.GateRun.of(auth.ws.gates.evaluate(system, body.ref, policy_text=body.policy, stage=body.stage))


@router.get("/systems/{system}/waivers", tags=["gates"])
def list_waivers(auth: Auth, system: str, paging: Page) -> out.Page[out.Waiver]:
    return page(out.Waiver, auth.ws.gates.waivers(system, limit=paging.limit, offset=paging.offset), paging)


@router.post("/systems/{system}/waivers", status_code=201, tags=["gates"])
def waive(auth: Auth, system: str, body: WaiverBody) -> out.Waiver:
    waiver = auth.ws.gates.waive(
        system, body.rule, reason=body.reason, expires=body.expires, model_version=body.model_version
    )
    return out.Waiver.of(waiver)


@router.post("/systems/{system}/waivers/{waiver_id}/revoke", tags=["gates"])
def revoke_waiver(auth: Auth, system: str, waiver_id: int, body: RevokeBody) -> out.Waiver:
    """End an active waiver now, with a reason: the rule counts as failing again (state 'revoked'); 409 when it
    is already revoked or expired."""
    return out.Waiver.of(auth.ws.gates.revoke_waiver(system, waiver_id, reason=body.reason))


class PolicyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: str = Field(
        max_length=200_000, description="Policy YAML (schema assay.policy/1); its stage is the one it guards."
    )


@router.get("/systems/{system}/policies", tags=["gates"])
def list_policies(auth: Auth, system: str, paging: Page) -> out.Page[out.Policy]:
    """The stored policy versions of a system, oldest first (the newest per stage is in force)."""
    return page(out.Policy, auth.ws.gates.policies(system, limit=paging.limit, offset=paging.offset), paging)


@router.post("/systems/{system}/policies", status_code=201, tags=["gates"])
def set_policy(auth: Auth, system: str, body: PolicyBody) -> out.Policy:
    """Store a policy for the system: approvals to its stage are judged by it from now on."""
    return out.Policy.of(auth.ws.gates.set_policy(system, text=body.policy))


@router.get("/systems/{system}/docs", tags=["cards"])
def technical_documentation(auth: Auth, system: str) -> out.Document:
    """The technical documentation along the EU AI Act Annex IV headings, with its gaps."""
    return out.Document.of(auth.ws.techdocs.build(system))


@router.post("/audit/checkpoint", tags=["audit"])
def audit_checkpoint(auth: Auth) -> out.CheckpointResult:
    signed = auth.ws.audit.checkpoint()
    return out.CheckpointResult.of(
        {
            "checkpoint": None
            if signed is None
            else {"seq": signed.seq, "head_hash": signed.head_hash, "time": signed.time, "key_id": signed.key_id}
        }
    )


@router.delete("/tokens/{token_id}", tags=["access"])
def revoke_token(auth: Auth, token_id: int) -> out.TokenRevoked:
    """Revoke one of your tokens (an admin may revoke anyone's)."""
    owner = None if auth.principal.role == "admin" else auth.principal.name
    auth.ws.access.revoke_token(token_id, owner=owner)
    return out.TokenRevoked.of({"id": token_id, "revoked": True})


# -- single records, and what the CLI's show, reopen, role and deactivate commands do ------------------------------


@router.get("/systems/{system}/models/{ref}", tags=["models"])
def get_model_version(auth: Auth, system: str, ref: str) -> out.ModelVersionDetail:
    """A model version with its lineage (versions, newest first)."""
    chain = auth.ws.models.lineage(system, ref)
    return out.ModelVersionDetail.of({**chain[0].state(), "lineage": [v.version for v in chain]})


@router.get("/datasets/{ref}", tags=["datasets"])
def get_dataset_version(auth: Auth, ref: str) -> out.DatasetVersionDetail:
    """A dataset version you may see, with its dataset's owning system and shares."""
    version = auth.ws.datasets.get_version(ref)
    info = auth.ws.datasets.get(ref.partition("@")[0])
    return out.DatasetVersionDetail.of(
        {**version.state(), "system": info.system, "shared_with": list(info.shared_with)}
    )


@router.get("/systems/{system}/risks/{risk_id}", tags=["risks"])
def get_risk(auth: Auth, system: str, risk_id: int) -> out.RiskDetail:
    """A risk with its scores (likelihood x impact)."""
    from assay.services.risks import risk_record

    return out.RiskDetail.of(risk_record(auth.ws.risks.get(system, risk_id)))


@router.post("/systems/{system}/risks/{risk_id}/reopen", tags=["risks"])
def reopen_risk(auth: Auth, system: str, risk_id: int, body: NoteBody) -> out.Risk:
    return out.Risk.of(auth.ws.risks.reopen(system, risk_id, reason=body.note))


@router.get("/systems/{system}/impact-assessments/{assessment_id}", tags=["risks"])
def get_impact_assessment(auth: Auth, system: str, assessment_id: int) -> out.ImpactAssessment:
    return out.ImpactAssessment.of(auth.ws.impact_assessments.get(system, assessment_id))


@router.get("/systems/{system}/incidents/{incident_id}", tags=["incidents"])
def get_incident(auth: Auth, system: str, incident_id: int) -> out.IncidentDetail:
    """An incident with its corrective actions."""
    return out.IncidentDetail.of(auth.ws.incidents.detail(system, incident_id))


@router.get("/systems/{system}/incidents/{incident_id}/actions", tags=["incidents"])
def list_actions(
    auth: Auth, system: str, incident_id: int, paging: Page, status: str | None = None
) -> out.Page[out.Action]:
    rows = auth.ws.incidents.list_actions(system, incident_id, status=status, limit=paging.limit, offset=paging.offset)
    return page(out.Action, rows, paging)


@router.get("/systems/{system}/approvals/{request_id}", tags=["approvals"])
def get_approval(auth: Auth, system: str, request_id: int) -> out.Approval:
    """A request with its decisions and whether it is stale."""
    return out.Approval.of(auth.ws.approvals.get(request_id, system=system))


class RoleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str


@router.put("/users/{user}/role", tags=["access"])
def set_role(auth: Auth, user: str, body: RoleBody) -> out.User:
    """Change a user's global role (admin, auditor, member)."""
    changed = auth.ws.access.set_role(user, body.role)
    return out.User.of({"name": changed.name, "role": changed.role, "active": changed.active})


@router.post("/users/{user}/deactivate", tags=["access"])
def deactivate_user(auth: Auth, user: str) -> out.User:
    """Stop a user from logging in or using tokens; their history stays."""
    changed = auth.ws.access.deactivate(user)
    return out.User.of({"name": changed.name, "role": changed.role, "active": changed.active})


@router.get("/users/{user}/memberships", tags=["access"])
def user_memberships(auth: Auth, user: str) -> out.Memberships:
    """The systems a user is a member of, with their role on each."""
    return out.Memberships.of({"name": user, "memberships": auth.ws.access.memberships(user)})
