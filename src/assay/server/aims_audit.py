"""Internal audits, nonconformities and management reviews over HTTP (thin routes over ``workspace.aims.audits``,
``.nonconformities`` and ``.reviews``): the API under ``/api/aims`` and the pages ``/aims/audits``,
``/aims/nonconformities``, ``/aims/reviews`` and ``/aims/reviews/{id}`` (each with its ``.json`` twin).

The permission table asks ``read`` to read and ``contribute`` to change; the services then apply the management
system's rules (a manager keeps the records, the auditor records their own audit's findings, a system's owner
opens and keeps its nonconformities).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from assay.governance.aims import FINDING_KINDS, NONCONFORMITY_STATUSES, REVIEW_INPUTS, one_of
from assay.server import web
from assay.server.deps import Auth, page_user

__all__ = ["router"]

router = APIRouter(tags=["management system"])
_API = "/api/aims"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuditScope(_Body):
    systems: list[str] = Field(default_factory=list, max_length=200, description="AI systems in scope.")
    clauses: list[str] = Field(default_factory=list, max_length=100, description="ISO/IEC 42001 clauses, e.g. 9.2.")
    units: list[str] = Field(default_factory=list, max_length=100)


class AuditPlan(_Body):
    programme: str = Field(max_length=100, description="The audit programme, e.g. 2027.")
    title: str = Field(max_length=300)
    auditor: str = Field(max_length=200, description="A user holding internal-auditor, independent of the area.")
    scope: AuditScope
    criteria: list[str] = Field(default_factory=list, max_length=500, description="FRAMEWORK:CONTROL ids.")
    area: str = Field(default="", max_length=200)
    planned_on: dt.date | None = None


class Conclusion(_Body):
    conclusion: str = Field(max_length=20_000)


class Reason(_Body):
    reason: str = Field(default="", max_length=2000)


class FindingBody(_Body):
    kind: str = Field(description=f"One of {', '.join(FINDING_KINDS)}.", max_length=20)
    title: str = Field(max_length=300)
    description: str = Field(default="", max_length=20_000)
    controls: list[str] = Field(default_factory=list, max_length=200, description="FRAMEWORK:CONTROL ids.")
    records: list[str] = Field(default_factory=list, max_length=200, description="TYPE:ID references.")


class NonconformityBody(_Body):
    source: str = Field(max_length=20)
    source_ref: str = Field(max_length=200, description="incident:ID, gate:ID, alert:ID, finding:ID, or a reference.")
    title: str = Field(max_length=300)
    description: str = Field(default="", max_length=20_000)
    severity: str = Field(default="minor", max_length=20)
    system: str | None = Field(default=None, max_length=100)
    owner: str | None = Field(default=None, max_length=200)
    due_date: dt.date | None = None


class NonconformityUpdate(_Body):
    correction: str | None = Field(default=None, max_length=20_000)
    root_cause: str | None = Field(default=None, max_length=20_000)
    description: str | None = Field(default=None, max_length=20_000)
    severity: str | None = Field(default=None, max_length=20)
    owner: str | None = Field(default=None, max_length=200)
    due_date: dt.date | None = None


class ActionBody(_Body):
    description: str = Field(max_length=20_000)
    owner: str | None = Field(default=None, max_length=200)
    due_date: dt.date | None = None


class Note(_Body):
    note: str = Field(default="", max_length=2000)


class Effectiveness(_Body):
    effectiveness: str = Field(max_length=20_000, description="What the review found.")
    effective: bool = Field(description="False reopens the nonconformity: a new corrective action is needed.")


class ReviewBody(_Body):
    title: str = Field(max_length=300)
    held_on: dt.date
    attendees: list[str] = Field(max_length=200)


class Decision(_Body):
    decision: str = Field(max_length=5000)


class ReviewAction(_Body):
    description: str = Field(max_length=20_000)
    owner: str = Field(max_length=200)
    due_date: dt.date | None = None


class Minutes(_Body):
    minutes: str = Field(max_length=100_000)


# -- what the routes answer (the records' stored fields, as ``record.state()`` gives them) --------------------------


class AuditOut(BaseModel):
    id: int
    programme: str
    title: str
    scope: dict[str, list[str]] = Field(description="systems, clauses, units")
    criteria: list[str]
    auditor: str
    area: str
    planned_on: dt.date | None
    status: str = Field(description="planned, in_progress, completed, cancelled")
    conclusion: str
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None


class AuditRow(AuditOut):
    findings: dict[str, int] = Field(description="Findings counted by kind.")
    findings_total: int


class AuditList(BaseModel):
    items: list[AuditRow]


class FindingOut(BaseModel):
    id: int
    audit_id: int
    kind: str
    title: str
    description: str
    controls: list[str]
    records: list[str] = Field(description="TYPE:ID references.")
    nonconformity_id: int | None = Field(description="The nonconformity a major or minor finding opened.")
    created_by: str
    created_at: dt.datetime


class FindingList(BaseModel):
    items: list[FindingOut]


class AuditDetail(AuditOut):
    findings: list[FindingOut]


class ActionOut(BaseModel):
    id: int
    incident_id: int | None
    nonconformity_id: int | None
    review_id: int | None
    description: str
    owner: str
    due_date: dt.date | None
    status: str = Field(description="open or done")
    created_at: dt.datetime
    completed_at: dt.datetime | None
    overdue: bool | None = Field(default=None, description="Open and past its due date (in details).")


class NonconformityOut(BaseModel):
    id: int
    source: str
    source_ref: str
    system_id: int | None
    title: str
    description: str
    severity: str
    correction: str
    root_cause: str
    status: str = Field(description="open, verification, closed")
    owner: str
    due_date: dt.date | None
    effectiveness: str
    effective: bool | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None


class ActionCounts(BaseModel):
    open: int
    done: int
    overdue: int


class NonconformityRow(NonconformityOut):
    system: str | None
    actions: ActionCounts


class NonconformityList(BaseModel):
    items: list[NonconformityRow]


class NonconformityDetail(NonconformityOut):
    system: str | None
    actions: list[ActionOut]
    findings: list[str] = Field(description="The audit findings that opened it (finding:ID).")


class ReviewOut(BaseModel):
    id: int
    title: str
    held_on: dt.date
    attendees: list[str]
    inputs: dict[str, Any] = Field(description="Assembled from the store, keyed by the inputs of ISO/IEC 42001 9.3.2.")
    decisions: list[str]
    minutes: str
    status: str = Field(description="draft or closed (frozen)")
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None


class ReviewList(BaseModel):
    items: list[ReviewOut]


class ReviewDetail(ReviewOut):
    actions: list[ActionOut]


# -- internal audits -----------------------------------------------------------------------------------------------


@router.get(
    f"{_API}/audits", response_model=AuditList, summary="The audit programme (audits with their findings counted)"
)
def audits(auth: Auth, programme: str | None = None) -> dict[str, Any]:
    return {"items": auth.ws.aims.audits.programme(programme)}


@router.post(f"{_API}/audits", response_model=AuditOut, status_code=201, summary="Plan an internal audit")
def plan_audit(auth: Auth, body: AuditPlan) -> dict[str, Any]:
    audit = auth.ws.aims.audits.plan(
        body.programme, body.title, auditor=body.auditor, scope=body.scope.model_dump(), criteria=body.criteria,
        area=body.area, planned_on=body.planned_on,
    )  # fmt: skip
    return audit.state()


@router.get(f"{_API}/audits/{{audit_id}}", response_model=AuditDetail, summary="An internal audit with its findings")
def audit(auth: Auth, audit_id: int) -> dict[str, Any]:
    return auth.ws.aims.audits.detail(audit_id)


@router.post(f"{_API}/audits/{{audit_id}}/start", response_model=AuditOut, summary="Start a planned audit")
def start_audit(auth: Auth, audit_id: int) -> dict[str, Any]:
    return auth.ws.aims.audits.start(audit_id).state()


@router.post(
    f"{_API}/audits/{{audit_id}}/complete", response_model=AuditOut, summary="Complete an audit with its conclusion"
)
def complete_audit(auth: Auth, audit_id: int, body: Conclusion) -> dict[str, Any]:
    return auth.ws.aims.audits.complete(audit_id, body.conclusion).state()


@router.post(f"{_API}/audits/{{audit_id}}/cancel", response_model=AuditOut, summary="Cancel an audit")
def cancel_audit(auth: Auth, audit_id: int, body: Reason | None = None) -> dict[str, Any]:
    return auth.ws.aims.audits.cancel(audit_id, reason="" if body is None else body.reason).state()


@router.post(
    f"{_API}/audits/{{audit_id}}/findings", response_model=FindingOut, status_code=201, summary="Record a finding"
)
def add_finding(auth: Auth, audit_id: int, body: FindingBody) -> dict[str, Any]:
    finding = auth.ws.aims.audits.add_finding(
        audit_id, body.kind, body.title, description=body.description, controls=body.controls, records=body.records
    )
    return finding.state()


@router.get(f"{_API}/findings", response_model=FindingList, summary="Findings of one audit or of every audit")
def findings(auth: Auth, audit_id: int | None = None, kind: str | None = None) -> dict[str, Any]:
    return {"items": [f.state() for f in auth.ws.aims.audits.findings(audit_id, kind=kind)]}


# -- nonconformities -----------------------------------------------------------------------------------------------


@router.get(
    f"{_API}/nonconformities", response_model=NonconformityList, summary="Nonconformities with their actions counted"
)
def nonconformities(auth: Auth, status: str | None = None) -> dict[str, Any]:
    if status is not None:
        one_of("status", status, NONCONFORMITY_STATUSES)
    rows = auth.ws.aims.nonconformities.summary()
    return {"items": [row for row in rows if status in (None, row["status"])]}


@router.post(
    f"{_API}/nonconformities", response_model=NonconformityOut, status_code=201, summary="Open a nonconformity"
)
def open_nonconformity(auth: Auth, body: NonconformityBody) -> dict[str, Any]:
    nc = auth.ws.aims.nonconformities.open(
        body.source, body.source_ref, body.title, description=body.description, severity=body.severity,
        system=body.system, owner=body.owner, due_date=body.due_date,
    )  # fmt: skip
    return nc.state()


@router.get(
    f"{_API}/nonconformities/{{nc_id}}",
    response_model=NonconformityDetail,
    summary="A nonconformity with its corrective actions",
)
def nonconformity(auth: Auth, nc_id: int) -> dict[str, Any]:
    return auth.ws.aims.nonconformities.detail(nc_id)


@router.patch(
    f"{_API}/nonconformities/{{nc_id}}",
    response_model=NonconformityOut,
    summary="Record correction and root cause; change it",
)
def update_nonconformity(auth: Auth, nc_id: int, body: NonconformityUpdate) -> dict[str, Any]:
    return auth.ws.aims.nonconformities.update(nc_id, **body.model_dump()).state()


@router.post(
    f"{_API}/nonconformities/{{nc_id}}/actions",
    response_model=ActionOut,
    status_code=201,
    summary="Add a corrective action",
)
def add_nc_action(auth: Auth, nc_id: int, body: ActionBody) -> dict[str, Any]:
    action = auth.ws.aims.nonconformities.add_action(nc_id, body.description, owner=body.owner, due_date=body.due_date)
    return action.state()


@router.post(
    f"{_API}/nonconformities/{{nc_id}}/actions/{{action_id}}/complete",
    response_model=ActionOut,
    summary="Complete an action",
)
def complete_nc_action(auth: Auth, nc_id: int, action_id: int, body: Note | None = None) -> dict[str, Any]:
    note = "" if body is None else body.note
    return auth.ws.aims.nonconformities.complete_action(action_id, note=note, nonconformity=nc_id).state()


@router.post(
    f"{_API}/nonconformities/{{nc_id}}/verification",
    response_model=NonconformityOut,
    summary="Move to verification (every action done)",
)
def verify_nonconformity(auth: Auth, nc_id: int, body: Note | None = None) -> dict[str, Any]:
    return auth.ws.aims.nonconformities.verify(nc_id, note="" if body is None else body.note).state()


@router.post(
    f"{_API}/nonconformities/{{nc_id}}/effectiveness",
    response_model=NonconformityOut,
    summary="Record the effectiveness review",
)
def review_effectiveness(auth: Auth, nc_id: int, body: Effectiveness) -> dict[str, Any]:
    nc = auth.ws.aims.nonconformities.review_effectiveness(nc_id, body.effectiveness, effective=body.effective)
    return nc.state()


@router.post(
    f"{_API}/nonconformities/{{nc_id}}/close",
    response_model=NonconformityOut,
    summary="Close a nonconformity found effective",
)
def close_nonconformity(auth: Auth, nc_id: int, body: Note | None = None) -> dict[str, Any]:
    return auth.ws.aims.nonconformities.close(nc_id, note="" if body is None else body.note).state()


# -- management reviews --------------------------------------------------------------------------------------------


@router.get(f"{_API}/reviews", response_model=ReviewList, summary="Management reviews, newest first")
def reviews(auth: Auth) -> dict[str, Any]:
    return {"items": [r.state() for r in auth.ws.aims.reviews.list()]}


@router.post(
    f"{_API}/reviews",
    response_model=ReviewOut,
    status_code=201,
    summary="Open a review (inputs assembled from the store)",
)
def open_review(auth: Auth, body: ReviewBody) -> dict[str, Any]:
    return auth.ws.aims.reviews.open(body.title, body.held_on, body.attendees).state()


@router.get(
    f"{_API}/reviews/{{review_id}}",
    response_model=ReviewDetail,
    summary="A review with its inputs, decisions and actions",
)
def review(auth: Auth, review_id: int) -> dict[str, Any]:
    return auth.ws.aims.reviews.detail(review_id)


@router.post(
    f"{_API}/reviews/{{review_id}}/refresh", response_model=ReviewOut, summary="Assemble a draft review's inputs again"
)
def refresh_review(auth: Auth, review_id: int) -> dict[str, Any]:
    return auth.ws.aims.reviews.refresh_inputs(review_id).state()


@router.post(f"{_API}/reviews/{{review_id}}/decisions", response_model=ReviewOut, summary="Record a decision")
def add_decision(auth: Auth, review_id: int, body: Decision) -> dict[str, Any]:
    return auth.ws.aims.reviews.add_decision(review_id, body.decision).state()


@router.post(
    f"{_API}/reviews/{{review_id}}/actions",
    response_model=ActionOut,
    status_code=201,
    summary="Record an action decided",
)
def add_review_action(auth: Auth, review_id: int, body: ReviewAction) -> dict[str, Any]:
    action = auth.ws.aims.reviews.add_action(review_id, body.description, owner=body.owner, due_date=body.due_date)
    return action.state()


@router.post(
    f"{_API}/reviews/{{review_id}}/actions/{{action_id}}/complete",
    response_model=ActionOut,
    summary="Complete a review's action",
)
def complete_review_action(auth: Auth, review_id: int, action_id: int, body: Note | None = None) -> dict[str, Any]:
    note = "" if body is None else body.note
    return auth.ws.aims.reviews.complete_action(action_id, note=note, review=review_id).state()


@router.put(f"{_API}/reviews/{{review_id}}/minutes", response_model=ReviewOut, summary="Record the minutes")
def set_minutes(auth: Auth, review_id: int, body: Minutes) -> dict[str, Any]:
    return auth.ws.aims.reviews.set_minutes(review_id, body.minutes).state()


@router.post(f"{_API}/reviews/{{review_id}}/close", response_model=ReviewOut, summary="Close (freeze) a review")
def close_review(auth: Auth, review_id: int) -> dict[str, Any]:
    return auth.ws.aims.reviews.close(review_id).state()


# -- pages ---------------------------------------------------------------------------------------------------------


def _render(request: Request, name: str, context: dict[str, Any], *, json_twin: bool) -> Response:
    if json_twin:
        return JSONResponse(context)
    return web.render(request, name, context)


def _audits_page(auth: Auth) -> dict[str, Any]:
    rows = auth.ws.aims.audits.programme()
    return {"page": "aims_audits", "user": page_user(auth.principal), "audits": rows, "kinds": list(FINDING_KINDS)}


def _ncs_page(auth: Auth) -> dict[str, Any]:
    rows = auth.ws.aims.nonconformities.summary()
    counts = {status: sum(r["status"] == status for r in rows) for status in NONCONFORMITY_STATUSES}
    return {
        "page": "aims_nonconformities",
        "user": page_user(auth.principal),
        "nonconformities": rows,
        "counts": counts,
    }


def _reviews_page(auth: Auth) -> dict[str, Any]:
    rows = [{k: v for k, v in r.state().items() if k != "inputs"} for r in auth.ws.aims.reviews.list()]
    return {"page": "aims_reviews", "user": page_user(auth.principal), "reviews": rows}


def _review_page(auth: Auth, review_id: int) -> dict[str, Any]:
    detail = auth.ws.aims.reviews.detail(review_id)
    return {"page": "aims_review", "user": page_user(auth.principal), "review": detail, "order": list(REVIEW_INPUTS)}


@router.get("/aims/audits.json", include_in_schema=False)
def audits_json(request: Request, auth: Auth) -> Response:
    return _render(request, "aims_audits", _audits_page(auth), json_twin=True)


@router.get("/aims/audits", include_in_schema=False)
def audits_page(request: Request, auth: Auth) -> Response:
    """The internal audit programme: each audit's scope, auditor, status and findings by kind."""
    return _render(request, "aims_audits", _audits_page(auth), json_twin=False)


@router.get("/aims/nonconformities.json", include_in_schema=False)
def nonconformities_json(request: Request, auth: Auth) -> Response:
    return _render(request, "aims_nonconformities", _ncs_page(auth), json_twin=True)


@router.get("/aims/nonconformities", include_in_schema=False)
def nonconformities_page(request: Request, auth: Auth) -> Response:
    """Nonconformities with their source, status and corrective actions (open, done, overdue)."""
    return _render(request, "aims_nonconformities", _ncs_page(auth), json_twin=False)


@router.get("/aims/reviews.json", include_in_schema=False)
def reviews_json(request: Request, auth: Auth) -> Response:
    return _render(request, "aims_reviews", _reviews_page(auth), json_twin=True)


@router.get("/aims/reviews", include_in_schema=False)
def reviews_page(request: Request, auth: Auth) -> Response:
    """Management reviews, newest first."""
    return _render(request, "aims_reviews", _reviews_page(auth), json_twin=False)


@router.get("/aims/reviews/{review_id}.json", include_in_schema=False)
def review_json(request: Request, auth: Auth, review_id: int) -> Response:
    return _render(request, "aims_review", _review_page(auth, review_id), json_twin=True)


@router.get("/aims/reviews/{review_id}", include_in_schema=False)
def review_page(request: Request, auth: Auth, review_id: int) -> Response:
    """One management review: its inputs as assembled from the store, decisions, actions and minutes."""
    return _render(request, "aims_review", _review_page(auth, review_id), json_twin=False)
