"""The web pages: server-rendered Jinja2, each page with a ``.json`` twin built from the same context.

Pages use the session cookie; without one they redirect to ``/login``. Forms carry the session's CSRF token
in a hidden field. Static files (CSS, a little JavaScript, Plotly from the installed package) are served
from ``/static``; nothing comes from a CDN.
"""

from __future__ import annotations

import secrets
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from assay.errors import PermissionDenied
from assay.governance.records import ANNEX_III_AREAS, EU_AI_ACT_CATEGORIES, LIFECYCLE_STAGES
from assay.reports._jinja import template
from assay.server.deps import SESSION_COOKIE, Auth, Unauthenticated, workspace
from assay.services.access import allowed
from assay.services.workspace import Workspace

__all__ = ["router", "static_files"]

router = APIRouter(include_in_schema=False)


def static_files() -> StaticFiles:
    """The package's static folder (CSS, JavaScript); Plotly is served from the installed plotly package."""
    return StaticFiles(directory=Path(str(resources.files("assay.server") / "static")))


def _plotly_js() -> Path:
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


@router.get("/static/plotly.min.js")
def plotly_js() -> Response:
    return Response(_plotly_js().read_bytes(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})


def _render(request: Request, name: str, context: dict[str, Any], *, json_twin: bool) -> Response:
    if json_twin:
        return JSONResponse(context)
    csrf = getattr(request.state, "csrf", "")
    return HTMLResponse(template(f"ui/{name}.html.j2").render(**context, csrf=csrf))


# -- login and logout --------------------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request) -> Response:
    return HTMLResponse(template("ui/login.html.j2").render(error=request.query_params.get("error"), user=None))


@router.post("/login")
def login_form(
    request: Request, name: Annotated[str, Form(max_length=100)], password: Annotated[str, Form(max_length=1000)]
) -> Response:
    from assay.server.app import login_response

    try:
        return login_response(request, name, password, redirect="/")
    except Unauthenticated:
        return RedirectResponse("/login?error=1", status_code=303)


@router.post("/logout")
def logout(
    request: Request,
    ws: Annotated[Workspace, Depends(workspace)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if cookie:
        _, expected = ws.access.from_session(cookie)
        if not secrets.compare_digest(csrf, expected):
            raise PermissionDenied("missing or wrong CSRF token: reload the page")
        ws.access.end_session(cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- dashboard ---------------------------------------------------------------------------------------------------


def _dashboard(auth: Auth) -> dict[str, Any]:
    who, ws = auth.principal, auth.ws
    visible = who.systems()
    systems = [s for s in ws.systems.list() if visible is None or s.name in visible]
    heat = [[0] * 5 for _ in range(5)]  # [impact-1][likelihood-1]
    for system in systems:
        for risk in ws.risks.list(system.name, status="open"):
            heat[risk.impact - 1][risk.likelihood - 1] += 1
    approvals = [a.to_dict() for s in systems for a in ws.approvals.list(s.name, status="pending")]
    readiness = []
    for system in systems:
        shares = {}
        for framework in ("iso42001", "nist-ai-rmf", "eu-ai-act"):
            document = ws.controls.readiness(system.name, framework)
            entry = document["systems"][0] if document.get("systems") else {}
            shares[framework] = entry.get("share")
        readiness.append({"system": system.name, **shares})
    events = []
    if allowed(who, "audit"):
        log = ws.audit.log()
        events = [{**e.content(), "hash": e.hash} for e in log[-15:]][::-1]
    return {
        "page": "dashboard",
        "user": {"name": who.name, "role": who.role},
        "systems": [
            {k: s.state()[k] for k in ("name", "eu_ai_act_category", "annex_iii_area", "lifecycle_stage", "owner")}
            for s in systems
        ],
        "by_category": {c: n for c in EU_AI_ACT_CATEGORIES if (n := Counter(s.eu_ai_act_category for s in systems)[c])},
        "by_stage": {st: n for st in LIFECYCLE_STAGES if (n := Counter(s.lifecycle_stage for s in systems)[st])},
        "risk_heat_map": {"rows": "impact 1..5", "columns": "likelihood 1..5", "counts": heat},
        "pending_approvals": approvals,
        "readiness": readiness,
        "recent_events": events,
    }


@router.get("/index.json")
def dashboard_json(request: Request, auth: Auth) -> Response:
    return _render(request, "dashboard", _dashboard(auth), json_twin=True)


@router.get("/")
def dashboard(request: Request, auth: Auth) -> Response:
    return _render(request, "dashboard", _dashboard(auth), json_twin=False)


# -- system page ---------------------------------------------------------------------------------------------------


def _system(auth: Auth, name: str) -> dict[str, Any]:
    ws = auth.ws
    system = ws.systems.get(name)
    versions = [
        {"model": m.name, "ref": f"{m.name}@{v.version}", **v.state()} for m, v in ws.models.list_versions(name)
    ]
    refs = {v["id"]: v["ref"] for v in versions}
    for version in versions:
        version["parent"] = refs.get(version["parent_id"])
    readiness = ws.controls.readiness(name, "iso42001")
    return {
        "page": "system",
        "user": {"name": auth.principal.name, "role": auth.principal.role},
        "system": {**system.state(), "annex_iii_title": ANNEX_III_AREAS.get(system.annex_iii_area or 0)},
        "models": versions,
        "assessments": [{k: v for k, v in a.state().items() if k != "document"} for a in ws.assessments.list(name)],
        "risks": [r.state() for r in ws.risks.list(name)],
        "approvals": [a.to_dict() for a in ws.approvals.list(name)],
        "incidents": [i.state() for i in ws.incidents.list(name)],
        "readiness": (readiness.get("systems") or [{}])[0],
        "can_approve": allowed(auth.principal, "approve", name),
    }


@router.get("/systems/{system}.json")
def system_json(request: Request, auth: Auth, system: str) -> Response:
    return _render(request, "system", _system(auth, system), json_twin=True)


@router.get("/systems/{system}")
def system_page(request: Request, auth: Auth, system: str) -> Response:
    return _render(request, "system", _system(auth, system), json_twin=False)
