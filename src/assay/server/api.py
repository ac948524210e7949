"""The JSON REST API: thin routes over the same services as the CLI. Every route is in the permission table."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from assay.errors import InvalidInput, PermissionDenied
from assay.server.deps import Auth, Page, page
from assay.services.access import Principal

__all__ = ["MAX_UPLOAD", "router"]

router = APIRouter(prefix="/api")
MAX_UPLOAD = 200 * 1024 * 1024  # bytes per uploaded file

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
    required_approvals: int = 1


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


@router.post("/systems/{system}/models", status_code=201, tags=["models"])
def register_model(auth: Auth, system: str, fields: Fields) -> dict[str, Any]:
    sha = fields.get("artifact_sha256")
    if sha is not None and not auth.ws.artifacts.has(str(sha)):
        raise InvalidInput(f"artifact {sha} is not in the artifact store: upload it with POST /api/artifacts")
    return auth.ws.models.register_version(system, fields).state()


@router.get("/datasets", tags=["datasets"])
def list_datasets(auth: Auth, paging: Page) -> dict[str, Any]:
    rows = [
        {"dataset": d.name, "ref": f"{d.name}@{v.version}", **v.state()} for d, v in auth.ws.datasets.list_versions()
    ]
    return page(rows, paging)


@router.post("/datasets", status_code=201, tags=["datasets"])
def register_dataset(auth: Auth, fields: Fields) -> dict[str, Any]:
    return auth.ws.datasets.register_version(fields).state()


@router.post("/artifacts", status_code=201, tags=["artifacts"])
async def upload_artifact(auth: Auth, file: UploadFile) -> dict[str, Any]:
    """Store an uploaded file by its SHA-256 (the name the client sends is kept as a label, never as a path)."""
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as buffer:
        size = 0
        while chunk := await file.read(1024 * 1024):
            size += len(chunk)
            if size > MAX_UPLOAD:
                raise InvalidInput(f"the upload is larger than {MAX_UPLOAD // (1024 * 1024)} MiB")
            buffer.write(chunk)
        buffer.seek(0)
        stored = auth.ws.artifacts.put_stream(buffer)  # type: ignore[arg-type]
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
def list_evidence(auth: Auth, system: str, paging: Page, framework: str | None = None) -> dict[str, Any]:
    return page([e.to_dict() for e in auth.ws.controls.list_evidence(system, framework)], paging)


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
    if auth.ws.approvals.get(request_id).system != system:
        raise InvalidInput(f"approval request {request_id} is not a request of {system!r}")
    return auth.ws.approvals.decide(request_id, body.decision, comment=body.comment).to_dict()


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
    result = auth.ws.audit.verify()
    return {"ok": result.ok, "events": result.events, "checkpoints": result.checkpoints,
            "first_bad_seq": result.first_bad_seq, "problem": result.problem}  # fmt: skip


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
    return auth.ws.datasets.update_version(ref, fields).state()


@router.post("/systems/{system}/approvals/{request_id}/withdraw", tags=["approvals"])
def withdraw(auth: Auth, system: str, request_id: int, body: NoteBody) -> dict[str, Any]:
    if auth.ws.approvals.get(request_id).system != system:
        raise InvalidInput(f"approval request {request_id} is not a request of {system!r}")
    return auth.ws.approvals.withdraw(request_id, comment=body.note).to_dict()


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
