"""The JSON REST API: thin routes over the same services as the CLI. Every route is in the permission table."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from assay.errors import InvalidInput, PermissionDenied
from assay.server.deps import Auth, Authorised, Page, page
from assay.services.access import Principal
from assay.services.controls import REVOKE_REASON_MAX

__all__ = ["router", "uploaded_file"]

router = APIRouter(prefix="/api")

Fields = Annotated[dict[str, Any], Body(description="The record's fields, as in the Python API.")]


def _visible(who: Principal, system: str) -> bool:
    systems = who.systems()
    return systems is None or system in systems


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)
    password: str = Field(max_length=1000)


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
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/me", tags=["access"])
def me(auth: Auth) -> dict[str, Any]:
    who = auth.principal
    return {"name": who.name, "role": who.role, "memberships": who.memberships, "scope": who.scope}


# -- systems -------------------------------------------------------------------------------------------------


@router.get("/systems", tags=["systems"])
def list_systems(
    auth: Auth,
    paging: Page,
    category: Annotated[str | None, Query(description="EU AI Act category.")] = None,
    stage: Annotated[str | None, Query(description="Life cycle stage.")] = None,
) -> dict[str, Any]:
    rows = [
        s.state()
        for s in auth.ws.systems.list()
        if _visible(auth.principal, s.name)
        and (category is None or s.eu_ai_act_category == category)
        and (stage is None or s.lifecycle_stage == stage)
    ]
    return page(rows, paging)


@router.post("/systems", status_code=201, tags=["systems"])
def create_system(auth: Auth, fields: Fields) -> dict[str, Any]:
    system = auth.ws.systems.create(fields, owner_member=auth.principal.creator())
    return system.state()


@router.get("/systems/{system}", tags=["systems"])
def get_system(auth: Auth, system: str) -> dict[str, Any]:
    return auth.ws.systems.get(system).state()


@router.patch("/systems/{system}", tags=["systems"])
def update_system(auth: Auth, system: str, fields: Fields) -> dict[str, Any]:
    return auth.ws.systems.update(system, fields).state()


# -- models, datasets, artifacts --------------------------------------------------------------------------------


@router.get("/systems/{system}/models", tags=["models"])
def list_models(auth: Auth, system: str, paging: Page) -> dict[str, Any]:
    rows = [
        {"model": m.name, "ref": f"{m.name}@{v.version}", **v.state()} for m, v in auth.ws.models.list_versions(system)
    ]
    return page(rows, paging)


def _text(fields: dict[str, Any], key: str) -> str | None:
    """Take ``key`` out of the fields: a string, or absent."""
    value = fields.pop(key, None)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string")
    return value


@router.post("/systems/{system}/models", status_code=201, tags=["models"])
def register_model(auth: Auth, system: str, fields: Fields) -> dict[str, Any]:
    """Register a model version; its file: the artifact_sha256 of an upload, and file_name (model.skops, model.onnx),
    whose suffix tells the format when the server loads it."""
    file_name = _text(fields, "file_name")
    sha = fields.get("artifact_sha256")
    if sha is not None and not auth.ws.artifacts.has(str(sha)):
        raise InvalidInput(f"artifact {sha} is not in the artifact store: upload it with POST /api/artifacts")
    return auth.ws.models.register_version(system, fields, file_name=file_name).state()


@router.get("/datasets", tags=["datasets"])
def list_datasets(auth: Auth, paging: Page) -> dict[str, Any]:
    """The dataset versions you may see: of datasets owned by, or shared with, a system you are a member of."""
    owners = {info.dataset.name: info for info in auth.ws.datasets.list(principal=auth.principal)}
    rows = [
        {"dataset": d.name, "ref": f"{d.name}@{v.version}", "system": owners[d.name].system,
         "shared_with": list(owners[d.name].shared_with), **v.state()}
        for d, v in auth.ws.datasets.list_versions(principal=auth.principal)
        if d.name in owners
    ]  # fmt: skip
    return page(rows, paging)


@router.post("/datasets", status_code=201, tags=["datasets"])
def register_dataset(auth: Auth, fields: Fields) -> dict[str, Any]:
    """Register a dataset version of a dataset owned by the system named in the field system (you must own it);
    with the artifact_sha256 of an upload and its file_name (credit.csv, credit.parquet), the file is its registered
    copy (fingerprint, columns and rows read from it)."""
    sha, file_name, system = _text(fields, "artifact_sha256"), _text(fields, "file_name"), _text(fields, "system")
    if not system:
        raise InvalidInput("system: give the AI system that owns the dataset (one you own)")
    registered = auth.ws.datasets.register_version(
        fields, system=system, artifact_sha256=sha, file_name=file_name, principal=auth.principal
    )
    return registered.state()


class ShareBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str = Field(min_length=1, max_length=100, description="The AI system.")


@router.post("/datasets/{dataset}/shares", status_code=201, tags=["datasets"])
def share_dataset(auth: Auth, dataset: str, body: ShareBody) -> dict[str, Any]:
    """Share a dataset your system owns with another system: its members may read it and use it in its records."""
    return auth.ws.datasets.share(dataset, body.system, principal=auth.principal).to_dict()


@router.delete("/datasets/{dataset}/shares/{system}", tags=["datasets"])
def unshare_dataset(auth: Auth, dataset: str, system: str) -> dict[str, Any]:
    """Stop sharing a dataset your system owns with a system."""
    return auth.ws.datasets.unshare(dataset, system, principal=auth.principal).to_dict()


@router.put("/datasets/{dataset}/system", tags=["datasets"])
def assign_dataset(auth: Auth, dataset: str, body: ShareBody) -> dict[str, Any]:
    """Move a dataset to another owning system (you must be able to change both)."""
    return auth.ws.datasets.assign(dataset, body.system, principal=auth.principal).to_dict()


_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@asynccontextmanager
async def uploaded_file(request: Request, field: str = "file") -> AsyncIterator[UploadFile]:
    """The file of a multipart upload, parsed only now: after authentication (the route's dependencies), so an
    unauthenticated request is refused before any byte of its body is read or spooled. The body's size is capped
    before that by the application's body limit (ASSAY_MAX_UPLOAD_MB). The form's files are closed on exit."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise InvalidInput(f"send the file as multipart/form-data with the field {field!r}")
    form = await request.form(max_files=1, max_fields=20)
    try:
        file = form.get(field)
        if not isinstance(file, UploadFile):
            raise InvalidInput(f"the upload has no file in the field {field!r}")
        yield file
    finally:
        await form.close()


@router.post("/artifacts", status_code=201, tags=["artifacts"], openapi_extra=_UPLOAD_BODY)
async def upload_artifact(request: Request, auth: Auth) -> dict[str, Any]:
    """Store an uploaded file (multipart field ``file``) by its SHA-256 (the name the client sends is kept as a
    label, never as a path)."""
    async with uploaded_file(request) as file:
        stored = await run_in_threadpool(auth.ws.artifacts.put_stream, file.file)  # hashing: off the event loop
        return {"sha256": stored.sha256, "size": stored.size, "name": (file.filename or "")[:300]}


# -- assessments --------------------------------------------------------------------------------------------


@router.get("/systems/{system}/assessments", tags=["assessments"])
def list_assessments(auth: Auth, system: str, paging: Page) -> dict[str, Any]:
    rows = [{k: v for k, v in a.state().items() if k != "document"} for a in auth.ws.assessments.list(system)]
    return page(rows, paging)


@router.get("/systems/{system}/assessments/{assessment_id}", tags=["assessments"])
def get_assessment(auth: Auth, system: str, assessment_id: int) -> dict[str, Any]:
    return auth.ws.assessments.get(system, assessment_id).state()


@router.post("/systems/{system}/assessments", status_code=201, tags=["assessments"])
def record_assessment(
    auth: Auth,
    system: str,
    document: Annotated[dict[str, Any], Body(description="A result document written by Assay.")],
    model_version: str | None = None,
    dataset_version: str | None = None,
) -> dict[str, Any]:
    recorded = auth.ws.assessments.record(
        system, document, model_version=model_version, dataset_version=dataset_version
    )
    return {k: v for k, v in recorded.state().items() if k != "document"}


# -- risks, controls, evidence, incidents -------------------------------------------------------------------------


@router.get("/systems/{system}/risks", tags=["risks"])
def list_risks(
    auth: Auth, system: str, paging: Page, status: str | None = None, level: str | None = None
) -> dict[str, Any]:
    return page([r.state() for r in auth.ws.risks.list(system, status=status, level=level)], paging)


@router.post("/systems/{system}/risks", status_code=201, tags=["risks"])
def add_risk(auth: Auth, system: str, fields: Fields) -> dict[str, Any]:
    return auth.ws.risks.add(system, fields).state()


@router.patch("/systems/{system}/risks/{risk_id}", tags=["risks"])
def update_risk(auth: Auth, system: str, risk_id: int, fields: Fields) -> dict[str, Any]:
    return auth.ws.risks.update(system, risk_id, fields).state()


@router.get("/systems/{system}/controls", tags=["controls"])
def list_controls(auth: Auth, system: str, paging: Page, framework: str | None = None) -> dict[str, Any]:
    return page([c.state() for c in auth.ws.controls.statuses(system, framework)], paging)


@router.put("/systems/{system}/controls/{framework}/{control_id}", tags=["controls"])
def set_control(auth: Auth, system: str, framework: str, control_id: str, body: ControlBody) -> dict[str, Any]:
    return auth.ws.controls.set_status(system, framework, control_id, **body.model_dump()).state()


@router.get("/systems/{system}/evidence", tags=["controls"])
def list_evidence(
    auth: Auth,
    system: str,
    paging: Page,
    framework: str | None = None,
    include_revoked: Annotated[bool, Query(description="List revoked evidence too (state 'revoked').")] = True,
) -> dict[str, Any]:
    views = auth.ws.controls.list_evidence(system, framework, include_revoked=include_revoked)
    return page([e.to_dict() for e in views], paging)


@router.post("/systems/{system}/evidence", status_code=201, tags=["controls"])
def add_evidence(auth: Auth, system: str, body: EvidenceBody) -> dict[str, Any]:
    file = None
    if body.kind == "file":
        if not body.artifact_sha256 or not auth.ws.artifacts.has(body.artifact_sha256):
            raise InvalidInput("file evidence needs the artifact_sha256 of a file uploaded with POST /api/artifacts")
        file = auth.ws.artifacts.path_of(body.artifact_sha256)
    view = auth.ws.controls.add_evidence(
        system, body.framework, body.control_id, kind=body.kind, assessment_id=body.assessment_id, file=file,
        url=body.url, description=body.description, valid_from=body.valid_from, valid_until=body.valid_until,
    )  # fmt: skip
    return view.to_dict()


@router.post("/systems/{system}/evidence/{evidence_id}/revoke", tags=["controls"])
def revoke_evidence(auth: Auth, system: str, evidence_id: int, body: RevokeBody) -> dict[str, Any]:
    """Withdraw a piece of evidence: it stays listed (state 'revoked') and no longer counts; 409 when already
    revoked."""
    return auth.ws.controls.revoke_evidence(system, evidence_id, reason=body.reason).to_dict()


@router.get("/systems/{system}/soa", tags=["controls"])
def soa(auth: Auth, system: str) -> dict[str, Any]:
    return auth.ws.controls.soa(system)


@router.get("/systems/{system}/readiness", tags=["controls"])
def readiness(auth: Auth, system: str, framework: str = "iso42001") -> dict[str, Any]:
    return auth.ws.controls.readiness(system, framework)


@router.get("/systems/{system}/incidents", tags=["incidents"])
def list_incidents(auth: Auth, system: str, paging: Page, status: str | None = None) -> dict[str, Any]:
    return page([i.state() for i in auth.ws.incidents.list(system, status=status)], paging)


@router.post("/systems/{system}/incidents", status_code=201, tags=["incidents"])
def open_incident(auth: Auth, system: str, fields: Fields) -> dict[str, Any]:
    return auth.ws.incidents.open(system, fields).state()


# -- approvals, gates, cards ---------------------------------------------------------------------------------------


@router.get("/systems/{system}/approvals", tags=["approvals"])
def list_approvals(auth: Auth, system: str, paging: Page, status: str | None = None) -> dict[str, Any]:
    return page([a.to_dict() for a in auth.ws.approvals.list(system, status=status)], paging)


@router.post("/systems/{system}/approvals", status_code=201, tags=["approvals"])
def request_approval(auth: Auth, system: str, body: ApprovalBody) -> dict[str, Any]:
    view = auth.ws.approvals.request(
        system, body.ref, body.stage, comment=body.comment, required_approvals=body.required_approvals
    )
    return view.to_dict()


@router.post("/systems/{system}/approvals/{request_id}/decision", tags=["approvals"])
def decide(auth: Auth, system: str, request_id: int, body: DecisionBody) -> dict[str, Any]:
    return auth.ws.approvals.decide(request_id, body.decision, comment=body.comment, system=system).to_dict()


@router.get("/systems/{system}/models/{ref}/card", tags=["cards"])
def card(auth: Auth, system: str, ref: str) -> dict[str, Any]:
    return auth.ws.cards.build(system, ref)


# -- audit ----------------------------------------------------------------------------------------------------


@router.get("/audit/events", tags=["audit"])
def audit_events(
    auth: Auth,
    paging: Page,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    after: Annotated[int, Query(ge=0, description="Only events after this sequence number.")] = 0,
) -> dict[str, Any]:
    from assay.store.audit import EventFilter

    events = auth.ws.audit.log(EventFilter(actor, action, object_type, None, None, None, after + paging.offset),
                               limit=paging.limit)  # fmt: skip
    return {"items": [{**e.content(), "hash": e.hash} for e in events], "limit": paging.limit, "offset": paging.offset}


@router.post("/audit/verify", tags=["audit"])
def audit_verify(auth: Auth) -> dict[str, Any]:
    """The chain, the signed checkpoints and every governed record against the last event that touched it."""
    return auth.ws.audit.verify().to_dict()


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
def list_users(auth: Auth, paging: Page) -> dict[str, Any]:
    rows = [{"name": u.name, "role": u.role, "active": u.active} for u in auth.ws.access.users()]
    return page(rows, paging)


@router.post("/users", status_code=201, tags=["access"])
def add_user(auth: Auth, body: UserBody) -> dict[str, Any]:
    user = auth.ws.access.add_user(body.name, body.password, role=body.role)
    return {"name": user.name, "role": user.role, "active": user.active}


@router.put("/users/{user}/memberships/{system}", tags=["access"])
def grant(auth: Auth, user: str, system: str, role: Annotated[str, Body(embed=True)]) -> dict[str, Any]:
    auth.ws.access.grant(user, system, role)
    return {"user": user, "system": system, "role": role}


@router.post("/tokens", status_code=201, tags=["access"])
def create_token(auth: Auth, body: TokenBody) -> dict[str, Any]:
    """A personal API token; the secret is in this response only."""
    if body.scope == "write" and auth.principal.scope != "write":
        raise PermissionDenied("a read token cannot create a write token")
    secret, token = auth.ws.access.create_token(auth.principal.name, body.name, scope=body.scope, days=body.days)
    return {"id": token.id, "token": secret, "scope": token.scope, "expires_at": token.expires_at.isoformat()}


@router.post("/login", tags=["access"])
def login(request: Request, body: LoginBody) -> Response:
    from assay.server.app import login_response

    return login_response(request, body.name, body.password)


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
def list_impact_assessments(auth: Auth, system: str, paging: Page) -> dict[str, Any]:
    return page([i.state() for i in auth.ws.impact_assessments.list(system)], paging)


@router.post("/systems/{system}/impact-assessments", status_code=201, tags=["risks"])
def create_impact_assessment(auth: Auth, system: str, fields: Fields) -> dict[str, Any]:
    return auth.ws.impact_assessments.create(system, fields).state()


@router.patch("/systems/{system}/impact-assessments/{assessment_id}", tags=["risks"])
def update_impact_assessment(auth: Auth, system: str, assessment_id: int, fields: Fields) -> dict[str, Any]:
    return auth.ws.impact_assessments.update(system, assessment_id, fields).state()


@router.post("/systems/{system}/impact-assessments/{assessment_id}/finalise", tags=["risks"])
def finalise_impact_assessment(auth: Auth, system: str, assessment_id: int) -> dict[str, Any]:
    return auth.ws.impact_assessments.finalise(system, assessment_id).state()


@router.post("/systems/{system}/risks/{risk_id}/close", tags=["risks"])
def close_risk(auth: Auth, system: str, risk_id: int, body: NoteBody) -> dict[str, Any]:
    return auth.ws.risks.close(system, risk_id, reason=body.note).state()


@router.patch("/systems/{system}/incidents/{incident_id}", tags=["incidents"])
def update_incident(auth: Auth, system: str, incident_id: int, fields: Fields) -> dict[str, Any]:
    return auth.ws.incidents.update(system, incident_id, fields).state()


@router.post("/systems/{system}/incidents/{incident_id}/status", tags=["incidents"])
def incident_status(auth: Auth, system: str, incident_id: int, body: StatusBody) -> dict[str, Any]:
    return auth.ws.incidents.set_status(system, incident_id, body.status, note=body.note).state()


@router.post("/systems/{system}/incidents/{incident_id}/actions", status_code=201, tags=["incidents"])
def add_action(auth: Auth, system: str, incident_id: int, fields: Fields) -> dict[str, Any]:
    return auth.ws.incidents.add_action(system, incident_id, fields).state()


@router.post("/systems/{system}/actions/{action_id}/complete", tags=["incidents"])
def complete_action(auth: Auth, system: str, action_id: int, body: NoteBody) -> dict[str, Any]:
    return auth.ws.incidents.complete_action(system, action_id, note=body.note).state()


@router.patch("/systems/{system}/models/{ref}", tags=["models"])
def update_model(auth: Auth, system: str, ref: str, fields: Fields) -> dict[str, Any]:
    return auth.ws.models.update_version(system, ref, fields).state()


@router.post("/systems/{system}/models/{ref}/stage", tags=["models"])
def model_stage(auth: Auth, system: str, ref: str, body: StatusBody) -> dict[str, Any]:
    """Move to development, staging or retired (production only through an approval)."""
    return auth.ws.models.set_stage(system, ref, body.status, reason=body.note).state()


@router.patch("/datasets/{ref}", tags=["datasets"])
def update_dataset(auth: Auth, ref: str, fields: Fields) -> dict[str, Any]:
    return auth.ws.datasets.update_version(ref, fields, principal=auth.principal).state()


@router.post("/systems/{system}/approvals/{request_id}/withdraw", tags=["approvals"])
def withdraw(auth: Auth, system: str, request_id: int, body: NoteBody) -> dict[str, Any]:
    return auth.ws.approvals.withdraw(request_id, comment=body.note, system=system).to_dict()


@router.post("/systems/{system}/gates", tags=["gates"])
def gate_with_policy(auth: Auth, system: str, body: GateBody) -> dict[str, Any]:
    """Evaluate a policy (YAML in the body, or Assay's default for the category) and record the decision."""
    return auth.ws.gates.evaluate(system, body.ref, policy_text=body.policy, stage=body.stage)


@router.get("/systems/{system}/waivers", tags=["gates"])
def list_waivers(auth: Auth, system: str, paging: Page) -> dict[str, Any]:
    return page(auth.ws.gates.waivers(system), paging)


@router.post("/systems/{system}/waivers", status_code=201, tags=["gates"])
def waive(auth: Auth, system: str, body: WaiverBody) -> dict[str, Any]:
    waiver = auth.ws.gates.waive(
        system, body.rule, reason=body.reason, expires=body.expires, model_version=body.model_version
    )
    return waiver.state()


class PolicyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: str = Field(
        max_length=200_000, description="Policy YAML (schema assay.policy/1); its stage is the one it guards."
    )


@router.get("/systems/{system}/policies", tags=["gates"])
def list_policies(auth: Auth, system: str, paging: Page) -> dict[str, Any]:
    """The stored policy versions of a system, oldest first (the newest per stage is in force)."""
    return page(auth.ws.gates.policies(system), paging)


@router.post("/systems/{system}/policies", status_code=201, tags=["gates"])
def set_policy(auth: Auth, system: str, body: PolicyBody) -> dict[str, Any]:
    """Store a policy for the system: approvals to its stage are judged by it from now on."""
    return auth.ws.gates.set_policy(system, text=body.policy)


@router.get("/systems/{system}/docs", tags=["cards"])
def technical_documentation(auth: Auth, system: str) -> dict[str, Any]:
    """The technical documentation along the EU AI Act Annex IV headings, with its gaps."""
    return auth.ws.techdocs.build(system)


@router.post("/audit/checkpoint", tags=["audit"])
def audit_checkpoint(auth: Auth) -> dict[str, Any]:
    signed = auth.ws.audit.checkpoint()
    return {"checkpoint": None if signed is None else {"seq": signed.seq, "head_hash": signed.head_hash,
                                                       "time": signed.time, "key_id": signed.key_id}}  # fmt: skip


@router.delete("/tokens/{token_id}", tags=["access"])
def revoke_token(auth: Auth, token_id: int) -> dict[str, Any]:
    """Revoke one of your tokens (an admin may revoke anyone's)."""
    owner = None if auth.principal.role == "admin" else auth.principal.name
    auth.ws.access.revoke_token(token_id, owner=owner)
    return {"id": token_id, "revoked": True}


# -- single records, and what the CLI's show, reopen, role and deactivate commands do ------------------------------


@router.get("/systems/{system}/models/{ref}", tags=["models"])
def get_model_version(auth: Auth, system: str, ref: str) -> dict[str, Any]:
    """A model version with its lineage (versions, newest first)."""
    chain = auth.ws.models.lineage(system, ref)
    return {**chain[0].state(), "lineage": [v.version for v in chain]}


@router.get("/datasets/{ref}", tags=["datasets"])
def get_dataset_version(auth: Auth, ref: str) -> dict[str, Any]:
    """A dataset version you may see, with its dataset's owning system and shares."""
    version = auth.ws.datasets.get_version(ref, principal=auth.principal)
    info = auth.ws.datasets.get(ref.partition("@")[0], principal=auth.principal)
    return {**version.state(), "system": info.system, "shared_with": list(info.shared_with)}


@router.get("/systems/{system}/risks/{risk_id}", tags=["risks"])
def get_risk(auth: Auth, system: str, risk_id: int) -> dict[str, Any]:
    """A risk with its scores (likelihood x impact)."""
    from assay.services.risks import risk_record

    return risk_record(auth.ws.risks.get(system, risk_id))


@router.post("/systems/{system}/risks/{risk_id}/reopen", tags=["risks"])
def reopen_risk(auth: Auth, system: str, risk_id: int, body: NoteBody) -> dict[str, Any]:
    return auth.ws.risks.reopen(system, risk_id, reason=body.note).state()


@router.get("/systems/{system}/impact-assessments/{assessment_id}", tags=["risks"])
def get_impact_assessment(auth: Auth, system: str, assessment_id: int) -> dict[str, Any]:
    return auth.ws.impact_assessments.get(system, assessment_id).state()


@router.get("/systems/{system}/incidents/{incident_id}", tags=["incidents"])
def get_incident(auth: Auth, system: str, incident_id: int) -> dict[str, Any]:
    """An incident with its corrective actions."""
    return auth.ws.incidents.detail(system, incident_id).to_dict()


@router.get("/systems/{system}/incidents/{incident_id}/actions", tags=["incidents"])
def list_actions(auth: Auth, system: str, incident_id: int, paging: Page, status: str | None = None) -> dict[str, Any]:
    return page([a.state() for a in auth.ws.incidents.list_actions(system, incident_id, status=status)], paging)


@router.get("/systems/{system}/approvals/{request_id}", tags=["approvals"])
def get_approval(auth: Auth, system: str, request_id: int) -> dict[str, Any]:
    """A request with its decisions and whether it is stale."""
    return auth.ws.approvals.get(request_id, system=system).to_dict()


class RoleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str


@router.put("/users/{user}/role", tags=["access"])
def set_role(auth: Auth, user: str, body: RoleBody) -> dict[str, Any]:
    """Change a user's global role (admin, auditor, member)."""
    changed = auth.ws.access.set_role(user, body.role)
    return {"name": changed.name, "role": changed.role, "active": changed.active}


@router.post("/users/{user}/deactivate", tags=["access"])
def deactivate_user(auth: Auth, user: str) -> dict[str, Any]:
    """Stop a user from logging in or using tokens; their history stays."""
    changed = auth.ws.access.deactivate(user)
    return {"name": changed.name, "role": changed.role, "active": changed.active}


@router.get("/users/{user}/memberships", tags=["access"])
def user_memberships(auth: Auth, user: str) -> dict[str, Any]:
    """The systems a user is a member of, with their role on each."""
    return {"name": user, "memberships": auth.ws.access.memberships(user)}


# -- compute on the server: registered dataset versions and model versions ------------------------------------------
#
# The data is the stored copy of a registered dataset version, the model the stored file of a registered model
# version: nothing in a body names a file, a URL or an import. A joblib/pickle model file is loaded only when the
# operator started the server with --trust-pickle (create_app(trust_pickle=True)).

Ref = Annotated[str, Field(min_length=1, max_length=201, description="NAME@VERSION")]
Column = Annotated[str, Field(min_length=1, max_length=300)]
Columns = Annotated[list[Column], Field(max_length=10_000)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
Value = Annotated[str, Field(max_length=1_000)] | bool | int | Finite
Values = Value | Annotated[list[Value], Field(min_length=1, max_length=1_000)]


def _values(given: Values | None) -> tuple[Any, ...] | None:
    return None if given is None else tuple(given) if isinstance(given, list) else (given,)


def _trust_pickle(request: Request) -> bool:
    return bool(getattr(request.app.state, "trust_pickle", False))


def _summary(recorded: Any, **extra: Any) -> dict[str, Any]:
    """The recorded assessment's state without its document (GET the assessment for that)."""
    return {**{k: v for k, v in recorded.state().items() if k != "document"}, **extra}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FacetBody(_Body):
    column: Column
    values: Annotated[list[Value], Field(max_length=1_000)] | None = Field(
        default=None, description="The values of facet d (the group compared with the rest)."
    )
    threshold: Finite | None = Field(default=None, description="Facet d is the rows with a value above this.")

    def facet(self) -> Any:
        from assay.frames import Facet

        return Facet(self.column, _values(self.values), self.threshold)


def _facets(given: list[Column | FacetBody]) -> list[Any]:
    return [item if isinstance(item, str) else item.facet() for item in given]


class _Labelled(_Body):
    label: Column
    positive: Values | None = Field(default=None, description="The positive (favourable) label values.")
    label_threshold: Finite | None = Field(default=None, description="Positive when the label is above this.")

    def label_role(self) -> Any:
        from assay.frames import Label

        return Label(self.label, _values(self.positive), self.label_threshold)


class AssessmentRunBody(_Labelled):
    dataset_version: Ref
    model_version: Ref | None = None
    score_with_model: bool = Field(
        default=False, description="Score the data with the stored model file of model_version."
    )
    facets: Annotated[list[Column | FacetBody], Field(min_length=1, max_length=50)]
    predicted: Column | None = None
    score: Column | None = None
    threshold: Share = 0.5
    group: Column | None = None
    intersect: bool = False
    metrics: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=50)] | None = None
    features: Columns | None = None
    bootstrap: Annotated[int, Field(ge=0, le=10_000)] | None = None
    confidence: Annotated[float, Field(gt=0, lt=1)] | None = None
    seed: Seed | None = None
    min_group_size: Annotated[int, Field(ge=0, le=1_000_000_000)] | None = None
    divergence: Literal["sound", "clarify"] = "sound"

    def options(self) -> dict[str, Any]:
        given = self.model_dump(exclude={"dataset_version", "model_version", "score_with_model", "positive",
                                         "label_threshold", "facets"})  # fmt: skip
        return {**given, "label": self.label_role(), "facets": _facets(self.facets)}


class ExplanationBody(_Labelled):
    dataset_version: Ref
    model_version: Ref
    facets: Annotated[list[Column | FacetBody], Field(max_length=50)] = []
    rows: (
        Annotated[int, Field(ge=0, le=1_000)]
        | Annotated[list[Annotated[int, Field(ge=0, le=2**31 - 1)]], Field(max_length=1_000)]
    ) = Field(default=5, description="Local explanations: the first N rows, or these rows (counted from 0).")
    sample: Annotated[int, Field(ge=1, le=10_000)] | None = None
    background: Annotated[int, Field(ge=1, le=1_000)] = 100
    method: Literal["auto", "tree", "linear", "permutation", "kernel"] = "auto"
    pdp: Annotated[int, Field(ge=0, le=50)] = 5
    grid_resolution: Annotated[int, Field(ge=2, le=200)] = 15
    features: Columns | None = None
    seed: Seed = 0

    def options(self) -> dict[str, Any]:
        exclude = {"dataset_version", "model_version", "positive", "label_threshold", "facets", "features"}
        return {**self.model_dump(exclude=exclude), "label": self.label_role(), "facets": _facets(self.facets)}


class MitigationBody(_Labelled):
    dataset_version: Ref
    model_version: Ref
    new_version: Ref | None = Field(default=None, description="The mitigated model's version (default VERSION-METHOD).")
    facet: FacetBody = Field(description="Facet d, the group to protect: its values or a threshold.")
    method: Literal["reweighing", "exponentiated-gradient", "threshold-optimizer", "reject-option"]
    constraint: Literal["demographic_parity", "equalized_odds"] | None = None
    features: Columns | None = None
    test_size: Annotated[float, Field(ge=0.05, le=0.95)] = 0.3
    seed: Seed = 0
    sample: Annotated[int, Field(ge=10, le=100_000_000)] | None = None
    difference_bound: Annotated[float, Field(gt=0, le=1)] = 0.01
    max_iter: Annotated[int, Field(ge=1, le=1_000)] = 50
    tolerance: Share | None = None
    margin: Annotated[float, Field(ge=0, le=0.5)] | None = None
    metric: Literal["DPPL", "DI"] = "DPPL"
    bounds: tuple[Finite, Finite] | None = None
    threshold: Share = 0.5
    curve: bool = True
    bootstrap: Annotated[int, Field(ge=0, le=10_000)] = 200

    def options(self) -> dict[str, Any]:
        given = self.model_dump(exclude={"dataset_version", "model_version", "new_version", "positive",
                                         "label_threshold", "facet"})  # fmt: skip
        return {**given, "label": self.label_role(), "facet": self.facet.facet()}


@router.post("/systems/{system}/assessments/run", status_code=201, tags=["compute"])
def run_assessment(request: Request, auth: Auth, system: str, body: AssessmentRunBody) -> dict[str, Any]:
    """Run a bias assessment (the options of `assay assess`) on the stored copy of a registered dataset version,
    scored by the stored file of model_version with score_with_model; record it with its report files."""
    recorded = auth.ws.assessments.run(
        system, body.dataset_version, model_version=body.model_version, score_with_model=body.score_with_model,
        trust_pickle=_trust_pickle(request), **body.options(),
    )  # fmt: skip
    return _summary(recorded)


@router.post("/systems/{system}/explanations", status_code=201, tags=["compute"])
def explain_model(request: Request, auth: Auth, system: str, body: ExplanationBody) -> dict[str, Any]:
    """Explain the stored file of a registered model version on a registered dataset version (as `assay explain`);
    record the assay.explanations document with its report files."""
    recorded = auth.ws.explanations.run(
        system, body.dataset_version, body.model_version, trust_pickle=_trust_pickle(request), features=body.features,
        **body.options(),
    )  # fmt: skip
    return _summary(recorded)


@router.post("/systems/{system}/mitigations", status_code=201, tags=["compute"])
def mitigate_model(request: Request, auth: Auth, system: str, body: MitigationBody) -> dict[str, Any]:
    """Mitigate bias of a registered model version on a registered dataset version (as `assay mitigate`); register
    the mitigated model (skops) as a new version whose parent is the original, and record the comparison."""
    recorded = auth.ws.mitigation.run_registered(
        system, body.dataset_version, body.model_version, new_version=body.new_version,
        trust_pickle=_trust_pickle(request), **body.options(),
    )  # fmt: skip
    return _summary(recorded.assessment, new_model_version=recorded.ref)


# -- data checks, one route each (as `assay check NAME`) ------------------------------------------------------------


class CheckBody(_Body):
    dataset_version: Ref

    def options(self) -> dict[str, Any]:
        return self.model_dump(exclude={"dataset_version"})


class BaselineBody(CheckBody):
    max_categories: Annotated[int, Field(ge=1, le=100_000)] = 1000
    max_domain: Annotated[int, Field(ge=0, le=10_000)] = 50
    comparison_threshold: Share = 0.1
    comparison_method: Literal["Simple", "Robust"] = "Simple"
    categorical_drift_method: Literal["LInfinity", "ChiSquared"] = "LInfinity"

    def options(self) -> dict[str, Any]:
        from assay.services.checks import monitoring_config

        config = monitoring_config(self.comparison_threshold, self.comparison_method, self.categorical_drift_method)
        return {"max_categories": self.max_categories, "max_domain": self.max_domain, "monitoring_config": config}


class ValidateBody(CheckBody):
    baseline_id: Annotated[int, Field(ge=1, le=2**31 - 1)] = Field(
        description="The id of a baseline check recorded for this system (its constraints.json, statistics.json)."
    )
    max_categories: Annotated[int, Field(ge=1, le=100_000)] = 1000


class DuplicatesBody(CheckBody):
    columns: Columns | None = None
    exclude: Columns = []
    id_column: Column | None = None
    show: Columns = []
    examples: Annotated[int, Field(ge=0, le=1_000)] = 5
    max_share: Share = 0.0


class LeakageBody(CheckBody):
    reference_version: Ref = Field(description="The dataset version it must not share rows with (e.g. training).")
    columns: Columns | None = None
    exclude: Columns = []
    max_share: Share = 0.0


class TargetLeakageBody(CheckBody, _Labelled):
    features: Columns | None = None
    exclude: Columns = []
    threshold: Annotated[float, Field(ge=0.5, le=1)] = 0.99
    max_bins: Annotated[int, Field(ge=2, le=100_000)] = 1000

    def options(self) -> dict[str, Any]:
        given = self.model_dump(exclude={"dataset_version", "label", "positive", "label_threshold"})
        return {**given, "label": self.label_role()}


class LabelIssuesBody(CheckBody):
    label: Column
    features: Columns | None = None
    exclude: Columns = []
    sample: Annotated[int, Field(ge=10, le=100_000)] = 5000
    folds: Annotated[int, Field(ge=2, le=20)] = 5
    seed: Seed = 0
    max_share: Share = 0.05


class RepresentativenessBody(CheckBody):
    populations: Annotated[
        dict[Column, Annotated[dict[Annotated[str, Field(max_length=1_000)], Share], Field(min_length=1)]],
        Field(min_length=1, max_length=100),
    ] = Field(description='Reference shares per column and group: {"sex": {"Female": 0.51, "Male": 0.49}}.')
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05


class PiiBody(CheckBody):
    columns: Columns | None = None
    sample: Annotated[int, Field(ge=1, le=10_000)] = 200
    seed: Seed = 0
    min_score: Annotated[float, Field(gt=0, le=1)] = 0.4


def _check(auth: Authorised, system: str, check: str, body: CheckBody) -> dict[str, Any]:
    options = body.options()
    reference, baseline = options.pop("reference_version", None), options.pop("baseline_id", None)
    recorded = auth.ws.checks.run(
        system, check, body.dataset_version, reference_version=reference, baseline_id=baseline, **options
    )
    return _summary(recorded, status=recorded.document.get("status"), summary=recorded.document.get("summary"))


@router.post("/systems/{system}/checks/baseline", status_code=201, tags=["checks"])
def check_baseline(auth: Auth, system: str, body: BaselineBody) -> dict[str, Any]:
    """Profile a dataset version and suggest constraints in Model Monitor's formats (kept as the record's files)."""
    return _check(auth, system, "baseline", body)


@router.post("/systems/{system}/checks/validate", status_code=201, tags=["checks"])
def check_validate(auth: Auth, system: str, body: ValidateBody) -> dict[str, Any]:
    """Validate a dataset version against a recorded baseline check (constraint violations and drift)."""
    return _check(auth, system, "validate", body)


@router.post("/systems/{system}/checks/duplicates", status_code=201, tags=["checks"])
def check_duplicates(auth: Auth, system: str, body: DuplicatesBody) -> dict[str, Any]:
    """Count duplicate rows; examples name rows by position, never by value."""
    return _check(auth, system, "duplicates", body)


@router.post("/systems/{system}/checks/leakage", status_code=201, tags=["checks"])
def check_leakage(auth: Auth, system: str, body: LeakageBody) -> dict[str, Any]:
    """Rows of a dataset version that also occur in another (e.g. test rows in the training set)."""
    return _check(auth, system, "leakage", body)


@router.post("/systems/{system}/checks/target-leakage", status_code=201, tags=["checks"])
def check_target_leakage(auth: Auth, system: str, body: TargetLeakageBody) -> dict[str, Any]:
    """Features that predict the label alone (ROC AUC at least the threshold)."""
    return _check(auth, system, "target-leakage", body)


@router.post("/systems/{system}/checks/label-issues", status_code=201, tags=["checks"])
def check_label_issues(auth: Auth, system: str, body: LabelIssuesBody) -> dict[str, Any]:
    """Rows likely mislabelled, by cross-validated confident learning on a stated sample."""
    return _check(auth, system, "label-issues", body)


@router.post("/systems/{system}/checks/representativeness", status_code=201, tags=["checks"])
def check_representativeness(auth: Auth, system: str, body: RepresentativenessBody) -> dict[str, Any]:
    """Group shares against reference populations, with a chi-square goodness-of-fit test."""
    return _check(auth, system, "representativeness", body)


@router.post("/systems/{system}/checks/pii", status_code=201, tags=["checks"])
def check_pii(auth: Auth, system: str, body: PiiBody) -> dict[str, Any]:
    """Personal data in column names and sampled values (Presidio, offline); never returns a value."""
    return _check(auth, system, "pii", body)
