"""The organisation's management-system records (ISO/IEC 42001 4.1-4.3, 5.2, 5.3, 7.5, A.3.2): thin routes over
``workspace.aims`` (context, documents, roles, teams) under ``/api/aims``, and the pages ``/aims`` (the overview,
linking every part of the management system), ``/aims/context``, ``/aims/documents`` and ``/aims/roles``, each with
its ``.json`` twin. Reading needs ``read``; a change needs ``contribute``, and the service then applies the
management system's rule (a manager; a policy's approval by top management; a team by the system's owner too)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from assay.reports.jsonable import jsonable
from assay.server import web
from assay.server.deps import Auth, page_user

__all__ = ["router"]

router = APIRouter(tags=["management system"])


T = TypeVar("T", bound=BaseModel)


class Items(BaseModel, Generic[T]):
    """A list of records."""

    items: list[T]


class IssueOut(BaseModel):
    id: int
    kind: str
    title: str
    description: str
    category: str
    status: str
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    retired_at: dt.datetime | None


class PartyOut(BaseModel):
    id: int
    name: str
    name_key: str
    category: str
    requirements: list[str]
    addressed_by: list[str]
    status: str
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ScopeOut(BaseModel):
    """A version of the scope; in a history, with the AI systems it brought in (added) and took out (removed)."""

    id: int
    version: int
    statement: str
    systems: list[str]
    units: list[str]
    sites: list[str]
    exclusions: list[dict[str, str]]
    created_by: str
    created_at: dt.datetime
    added: list[str] | None = None
    removed: list[str] | None = None


class ScopeInForce(BaseModel):
    scope: ScopeOut | None


class DocumentOut(BaseModel):
    id: int
    key: str
    version: int
    kind: str
    title: str
    topic: str
    owner: str
    text: str
    location: str
    status: str
    approved_by: str | None
    approver_role: str | None
    approved_at: dt.datetime | None
    published_on: dt.date | None
    review_months: int | None
    next_review: dt.date | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class PolicyInForce(BaseModel):
    policy: DocumentOut | None


class RoleOut(BaseModel):
    id: int
    role: str
    person: str
    system_id: int | None
    system: str | None = None
    area: str
    responsibilities: str
    since: dt.date
    until: dt.date | None
    status: str
    assigned_by: str
    created_at: dt.datetime
    ended_at: dt.datetime | None


class MemberOut(BaseModel):
    id: int
    system_id: int
    person: str
    disciplines: list[str]
    role: str
    active: bool
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class CoverageOut(BaseModel):
    system: str
    category: str
    members: int
    required: list[str]
    covered: dict[str, list[str]]
    missing: list[str]
    other: dict[str, list[str]]
    complete: bool


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IssueBody(_Body):
    kind: str = Field(description="internal or external.")
    title: str
    description: str = ""
    category: str = ""


class IssueUpdate(_Body):
    kind: str | None = None
    title: str | None = None
    description: str | None = None
    category: str | None = None


class PartyBody(_Body):
    name: str
    category: str
    requirements: list[str] = Field(default_factory=list)
    addressed_by: list[str] = Field(default_factory=list)


class PartyUpdate(_Body):
    name: str | None = None
    category: str | None = None
    requirements: list[str] | None = None
    addressed_by: list[str] | None = None


class Exclusion(_Body):
    what: str
    why: str = ""


class ScopeBody(_Body):
    statement: str
    systems: list[str] = Field(default_factory=list)
    units: list[str] = Field(default_factory=list)
    sites: list[str] = Field(default_factory=list)
    exclusions: list[Exclusion] = Field(default_factory=list)


class DocumentBody(_Body):
    key: str
    kind: str
    title: str
    owner: str
    text: str = ""
    location: str = Field(default="", description="artifact:SHA256 (POST /api/artifacts first) or an http(s) URL.")
    topic: str = ""
    review_months: int | None = 12


class ApproveBody(_Body):
    version: int | None = None
    published_on: dt.date | None = None


class WithdrawBody(_Body):
    version: int | None = None
    reason: str


class RoleBody(_Body):
    role: str
    person: str
    system: str | None = None
    area: str = ""
    responsibilities: str = ""
    since: dt.date | None = None
    until: dt.date | None = None


class EndBody(_Body):
    until: dt.date | None = None
    reason: str = ""


class MemberBody(_Body):
    disciplines: list[str]
    role: str = ""


class RemoveBody(_Body):
    reason: str = ""


def _given(body: BaseModel) -> dict[str, Any]:
    return {key: value for key, value in body.model_dump().items() if value is not None}


# -- context ---------------------------------------------------------------------------------------------------------


def _issue(row: Any) -> IssueOut:
    return IssueOut.model_validate(row.state())


def _party(row: Any) -> PartyOut:
    return PartyOut.model_validate(row.state())


def _document(row: Any) -> DocumentOut:
    return DocumentOut.model_validate(row.state())


def _member(row: Any) -> MemberOut:
    return MemberOut.model_validate(row.state())


@router.get("/api/aims/issues", response_model=Items[IssueOut])
def list_issues(auth: Auth, kind: str | None = None, all: bool = False) -> Items[IssueOut]:
    rows = auth.ws.aims.context.issues(kind=kind, status=None if all else "active")
    return Items[IssueOut](items=[_issue(i) for i in rows])


@router.post("/api/aims/issues", status_code=201, response_model=IssueOut)
def add_issue(auth: Auth, body: IssueBody) -> IssueOut:
    return _issue(auth.ws.aims.context.add_issue(**body.model_dump()))


@router.patch("/api/aims/issues/{issue_id}", response_model=IssueOut)
def update_issue(auth: Auth, issue_id: int, body: IssueUpdate) -> IssueOut:
    return _issue(auth.ws.aims.context.update_issue(issue_id, **_given(body)))


@router.post("/api/aims/issues/{issue_id}/retire", response_model=IssueOut)
def retire_issue(auth: Auth, issue_id: int, body: RemoveBody) -> IssueOut:
    return _issue(auth.ws.aims.context.retire_issue(issue_id, reason=body.reason))


@router.get("/api/aims/parties", response_model=Items[PartyOut])
def list_parties(auth: Auth, all: bool = False) -> Items[PartyOut]:
    return Items[PartyOut](items=[_party(p) for p in auth.ws.aims.context.parties(status=None if all else "active")])


@router.post("/api/aims/parties", status_code=201, response_model=PartyOut)
def add_party(auth: Auth, body: PartyBody) -> PartyOut:
    return _party(auth.ws.aims.context.add_party(**body.model_dump()))


@router.patch("/api/aims/parties/{party}", response_model=PartyOut)
def update_party(auth: Auth, party: str, body: PartyUpdate) -> PartyOut:
    return _party(auth.ws.aims.context.update_party(party, **_given(body)))


@router.post("/api/aims/parties/{party}/retire", response_model=PartyOut)
def retire_party(auth: Auth, party: str, body: RemoveBody) -> PartyOut:
    return _party(auth.ws.aims.context.retire_party(party, reason=body.reason))


@router.get("/api/aims/scope", response_model=ScopeInForce)
def get_scope(auth: Auth) -> ScopeInForce:
    """The scope in force (``scope`` null before one is set)."""
    scope = auth.ws.aims.context.scope()
    return ScopeInForce(scope=None if scope is None else ScopeOut.model_validate(scope.state()))


@router.get("/api/aims/scopes", response_model=Items[ScopeOut])
def list_scopes(auth: Auth) -> Items[ScopeOut]:
    """Every version, with the AI systems each brought in (added) and took out (removed)."""
    return Items[ScopeOut](items=[ScopeOut.model_validate(s) for s in auth.ws.aims.context.scopes()])


@router.post("/api/aims/scopes", status_code=201, response_model=ScopeOut)
def set_scope(auth: Auth, body: ScopeBody) -> ScopeOut:
    data = body.model_dump()
    return ScopeOut.model_validate(auth.ws.aims.context.set_scope(data.pop("statement"), **data).state())


# -- documents -------------------------------------------------------------------------------------------------------


@router.get("/api/aims/documents", response_model=Items[DocumentOut])
def list_documents(
    auth: Auth,
    kind: str | None = None,
    status: str | None = None,
    due_within: Annotated[int | None, Query(ge=0, le=3650, description="Review due within this many days.")] = None,
) -> Items[DocumentOut]:
    """The current version of each document; with ``due_within`` (days) the approved ones whose review is due."""
    documents = auth.ws.aims.documents
    rows = documents.due_for_review(due_within) if due_within is not None else documents.list(kind=kind, status=status)
    return Items[DocumentOut](items=[_document(d) for d in rows])


@router.post("/api/aims/documents", status_code=201, response_model=DocumentOut)
def add_document(auth: Auth, body: DocumentBody) -> DocumentOut:
    """Add a draft version (its file, if any, uploaded first with ``POST /api/artifacts``: ``artifact:SHA256``)."""
    data = body.model_dump()
    key, kind, title, owner = data.pop("key"), data.pop("kind"), data.pop("title"), data.pop("owner")
    return _document(auth.ws.aims.documents.add(key, kind, title, owner, **data))


@router.get("/api/aims/documents/{key}", response_model=Items[DocumentOut])
def document_history(auth: Auth, key: str) -> Items[DocumentOut]:
    """Every version of the document, oldest first."""
    return Items[DocumentOut](items=[_document(d) for d in auth.ws.aims.documents.history(key)])


@router.post("/api/aims/documents/{key}/approve", response_model=DocumentOut)
def approve_document(auth: Auth, key: str, body: ApproveBody) -> DocumentOut:
    return _document(auth.ws.aims.documents.approve(key, body.version, published_on=body.published_on))


@router.post("/api/aims/documents/{key}/withdraw", response_model=DocumentOut)
def withdraw_document(auth: Auth, key: str, body: WithdrawBody) -> DocumentOut:
    return _document(auth.ws.aims.documents.withdraw(key, body.version, reason=body.reason))


@router.get("/api/aims/policy", response_model=PolicyInForce)
def get_policy(auth: Auth) -> PolicyInForce:
    """The AI policy in force (``policy`` null when none is approved)."""
    policy = auth.ws.aims.documents.policy()
    return PolicyInForce(policy=None if policy is None else _document(policy))


# -- roles and teams -------------------------------------------------------------------------------------------------


@router.get("/api/aims/roles", response_model=Items[RoleOut])
def list_roles(
    auth: Auth, person: str | None = None, role: str | None = None, system: str | None = None, all: bool = False
) -> Items[RoleOut]:
    rows = auth.ws.aims.roles.list(person=person, role=role, system=system, active=not all)
    return Items[RoleOut](items=[RoleOut.model_validate(r) for r in rows])


@router.post("/api/aims/roles", status_code=201, response_model=RoleOut)
def assign_role(auth: Auth, body: RoleBody) -> RoleOut:
    data = body.model_dump()
    row = auth.ws.aims.roles.assign(data.pop("role"), data.pop("person"), **data)
    return RoleOut.model_validate({**row.state(), "system": body.system})


@router.post("/api/aims/roles/{assignment_id}/end", response_model=RoleOut)
def end_role(auth: Auth, assignment_id: int, body: EndBody) -> RoleOut:
    return RoleOut.model_validate(auth.ws.aims.roles.end(assignment_id, until=body.until, reason=body.reason).state())


@router.get("/api/aims/teams/{system}", response_model=Items[MemberOut])
def list_team(auth: Auth, system: str) -> Items[MemberOut]:
    return Items[MemberOut](items=[_member(m) for m in auth.ws.aims.teams.list(system)])


@router.get("/api/aims/teams/{system}/coverage", response_model=CoverageOut)
def team_coverage(auth: Auth, system: str) -> CoverageOut:
    """The disciplines the team covers and those missing against what the system's gate policy requires."""
    return CoverageOut.model_validate(auth.ws.aims.teams.coverage(system))


@router.put("/api/aims/teams/{system}/{person}", response_model=MemberOut)
def put_member(auth: Auth, system: str, person: str, body: MemberBody) -> MemberOut:
    """Add the person to the team, or change their disciplines and role when they are in it."""
    teams = auth.ws.aims.teams
    if person in {m.person for m in teams.list(system)}:
        return _member(teams.update(system, person, disciplines=body.disciplines, role=body.role))
    return _member(teams.add(system, person, body.disciplines, role=body.role))


@router.post("/api/aims/teams/{system}/{person}/remove", response_model=MemberOut)
def remove_member(auth: Auth, system: str, person: str, body: RemoveBody) -> MemberOut:
    return _member(auth.ws.aims.teams.remove(system, person, reason=body.reason))


# -- pages -----------------------------------------------------------------------------------------------------------

# the pages of the management system's other parts (written by their own modules)
PARTS: tuple[tuple[str, str], ...] = (
    ("/aims/context", "Context, parties and scope"),
    ("/aims/documents", "Documents and policies"),
    ("/aims/roles", "Roles and teams"),
    ("/aims/objectives", "Objectives"),
    ("/aims/training", "Competence and training"),
    ("/aims/audits", "Internal audits"),
    ("/aims/nonconformities", "Nonconformities"),
    ("/aims/reviews", "Management reviews"),
)


def _render(request: Request, name: str, context: dict[str, Any], *, json_twin: bool) -> Response:
    context = jsonable(context)
    if json_twin:
        return JSONResponse(context)
    return web.render(request, name, context)


def _overview(auth: Auth) -> dict[str, Any]:
    aims = auth.ws.aims
    scope = aims.context.scope()
    policy = aims.documents.policy()
    return {
        "page": "aims",
        "user": page_user(auth.principal),
        "scope": None if scope is None else scope.state(),
        "policy": None if policy is None else policy.state(),
        "counts": {
            "issues": len(aims.context.issues()),
            "parties": len(aims.context.parties()),
            "documents": aims.documents.counts(),
            "reviews_due": len(aims.documents.due_for_review(30)),
            "roles": len(aims.roles.list()),
        },
        "parts": [{"href": href, "title": title} for href, title in PARTS],
    }


def _context(auth: Auth) -> dict[str, Any]:
    context = auth.ws.aims.context
    return {
        "page": "aims-context",
        "user": page_user(auth.principal),
        "issues": [i.state() for i in context.issues(status=None)],
        "parties": [p.state() for p in context.parties(status=None)],
        "scopes": context.scopes(),
    }


def _documents(auth: Auth) -> dict[str, Any]:
    documents = auth.ws.aims.documents
    return {
        "page": "aims-documents",
        "user": page_user(auth.principal),
        "documents": [d.state() for d in documents.list()],
        "due": [d.state() for d in documents.due_for_review(30)],
    }


def _roles(auth: Auth) -> dict[str, Any]:
    ws = auth.ws
    teams = ws.aims.teams.overview()
    return {"page": "aims-roles", "user": page_user(auth.principal), "roles": ws.aims.roles.list(), "teams": teams}


@router.get("/aims.json", include_in_schema=False)
def overview_json(request: Request, auth: Auth) -> Response:
    return _render(request, "aims", _overview(auth), json_twin=True)


@router.get("/aims", include_in_schema=False)
def overview_page(request: Request, auth: Auth) -> Response:
    """The management system at a glance: the scope and AI policy in force, counts, and every part's page."""
    return _render(request, "aims", _overview(auth), json_twin=False)


@router.get("/aims/context.json", include_in_schema=False)
def context_json(request: Request, auth: Auth) -> Response:
    return _render(request, "aims_context", _context(auth), json_twin=True)


@router.get("/aims/context", include_in_schema=False)
def context_page(request: Request, auth: Auth) -> Response:
    return _render(request, "aims_context", _context(auth), json_twin=False)


@router.get("/aims/documents.json", include_in_schema=False)
def documents_json(request: Request, auth: Auth) -> Response:
    return _render(request, "aims_documents", _documents(auth), json_twin=True)


@router.get("/aims/documents", include_in_schema=False)
def documents_page(request: Request, auth: Auth) -> Response:
    return _render(request, "aims_documents", _documents(auth), json_twin=False)


@router.get("/aims/roles.json", include_in_schema=False)
def roles_json(request: Request, auth: Auth) -> Response:
    return _render(request, "aims_roles", _roles(auth), json_twin=True)


@router.get("/aims/roles", include_in_schema=False)
def roles_page(request: Request, auth: Auth) -> Response:
    return _render(request, "aims_roles", _roles(auth), json_twin=False)
