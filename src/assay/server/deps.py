"""Request dependencies, declared once: the workspace, the principal (token or session), authorisation by the
permission table, and pagination."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse

from assay.errors import NotFound, PermissionDenied
from assay.server.permissions import ROUTES
from assay.server.schemas import Out
from assay.server.schemas import Page as Page_
from assay.services._base import Listing
from assay.services.access import Principal, allowed
from assay.services.workspace import Workspace

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Auth",
    "Authorised",
    "Page",
    "Paging",
    "Unauthenticated",
    "authorised",
    "error_body",
    "page",
    "page_user",
    "workspace",
]

SESSION_COOKIE = "assay_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
M = TypeVar("M", bound=Out)


def error_body(kind: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


class Unauthenticated(PermissionDenied):
    """No (valid) credentials: 401, not 403."""


# ``workspace`` and ``authorised`` are ``async def``: they do no I/O, and FastAPI runs a plain ``def`` dependency in
# its thread pool, a hop that costs more than the work under load (``principal`` reads the store: it stays a ``def``).
async def workspace(request: Request) -> Workspace:
    ws: Workspace = request.app.state.workspace
    return ws


def principal(request: Request, ws: Annotated[Workspace, Depends(workspace)]) -> Principal:
    """From ``Authorization: Bearer <token>``, else the session cookie (with the CSRF header on changes)."""
    header = request.headers.get("authorization", "")
    try:
        if header.lower().startswith("bearer "):
            return ws.access.from_token(header[7:].strip())
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise Unauthenticated("log in, or send an API token as 'Authorization: Bearer <token>'")
        user, csrf = ws.access.from_session(cookie)
    except PermissionDenied as exc:  # unknown, revoked or expired credentials
        raise Unauthenticated(str(exc)) from None
    request.state.csrf = csrf  # for the forms of the web pages
    request.state.principal = user  # for the header of an error page
    api_change = request.method not in _SAFE and request.url.path.startswith("/api/")
    if api_change and not secrets.compare_digest(request.headers.get(CSRF_HEADER, ""), csrf):
        raise PermissionDenied(f"missing or wrong {CSRF_HEADER}: reload the page")
    # the pages' forms carry the token in a field instead: each form route checks it (ui._form_csrf)
    return user


@dataclass(frozen=True)
class Authorised:
    """The principal, allowed to call this route, and the workspace acting as them. ``reads_only``: the request
    changes nothing (a GET), so the ledger's head it first reads stays its head (:meth:`head`)."""

    principal: Principal
    ws: Workspace
    reads_only: bool = False
    _heads: list[int] = field(default_factory=list, compare=False, repr=False)

    def head(self) -> int:
        """The ledger's head: the key of the page caches. A request that only reads reads it once (a page looks up
        a dozen cached parts; on PostgreSQL each read was a session of its own); one that may write reads it each
        time, so what it caches after its change is keyed by the head after it."""
        if not self.reads_only:
            return self.ws.audit.head_seq()
        if not self._heads:
            self._heads.append(self.ws.audit.head_seq())
        return self._heads[0]


def authorise(request: Request, who: Principal, ws: Workspace) -> Authorised:
    """``who``, allowed the request's route by the permission table, and ``ws`` acting as them; else the error."""
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    action = ROUTES.get((request.method, path))
    if action is None:  # deny by default: a route without an entry in the table is never served
        raise PermissionDenied(f"{request.method} {path} has no entry in the permission table")
    system = request.path_params.get("system")
    # a system you cannot see does not exist for you (whatever the token's scope: an ingest token gets 403, not 404)
    if system is not None and not allowed(replace(who, scope="write"), "read", system):
        raise NotFound(f"no AI system named {system!r}")
    if not allowed(who, action, system):
        where = f" on system {system!r}" if system else ""
        raise PermissionDenied(f"{who.name} ({who.role}) may not {action}{where}")
    reads_only = request.method in ("GET", "HEAD")
    return Authorised(who, ws.authenticated_as(who.name), reads_only)  # the credential was checked above


async def authorised(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    ws: Annotated[Workspace, Depends(workspace)],
) -> Authorised:
    return authorise(request, who, ws)


Auth = Annotated[Authorised, Depends(authorised)]


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


def paging(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Items to skip.")] = 0,
) -> Paging:
    return Paging(limit, offset)


Page = Annotated[Paging, Depends(paging)]


def page(model: type[M], items: Sequence[Any], paging: Paging, *, total: int | None = None) -> Page_[M]:
    """One page of ``items`` as ``model``s. A service's :class:`~assay.services._base.Listing` (or ``total``) is a
    page already cut in the database, with the number of matching rows; a plain list (a computed one, such as
    control statuses in catalogue order) is cut here."""
    if total is None and isinstance(items, Listing):
        total = items.total
    if total is None:
        total, items = len(items), items[paging.offset : paging.offset + paging.limit]
    return Page_[M](items=model.many(items), total=total, limit=paging.limit, offset=paging.offset)


def page_user(who: Principal) -> dict[str, Any]:
    """Who a page's header names: the user and what they are, in words: ``admin`` or ``auditor`` (global roles),
    else the roles they hold on systems (``approver``, ``owner, viewer``), ``member`` when they hold none; with the
    counts the header shows (open tasks, unread notifications), filled in by the pages that know them."""
    title = who.role if who.role != "member" else ", ".join(sorted(set(who.memberships.values()))) or "member"
    return {"name": who.name, "role": who.role, "title": title, "tasks": 0, "unread": 0}
