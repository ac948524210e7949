"""The controls pages: a system's controls with their status and evidence (attach, revoke with a confirmation),
the Statement of Applicability, and readiness with each gap linking to the page that closes it.

Each page calls the services the REST API calls (``ws.controls``), so the permission table, the validation and
the audit events are the API's: reading needs ``read`` on the system, changing a status or evidence ``write``.
The counts of the three pages come from one judgement (:meth:`~assay.services.controls.Controls.entries`,
``readiness`` and ``soa`` share it): for ISO/IEC 42001, the 38 Annex A controls, "ready" meaning applicable,
implemented and with current evidence.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from assay.errors import AssayError, Conflict, InvalidInput
from assay.governance.records import EVIDENCE_KINDS, IMPLEMENTATION_STATUSES
from assay.reports.jsonable import jsonable
from assay.server import web
from assay.server.deps import Auth, Authorised, page_user
from assay.server.ui import FormAuth, _readiness_documents, organisation_readiness
from assay.server.web_cache import PageCache, shared_cache
from assay.services.access import allowed
from assay.services.controls import REVOKE_REASON_MAX

__all__ = ["FRAMEWORKS", "anchor", "gap_links", "router"]

router = APIRouter(include_in_schema=False)

# the frameworks a system's controls are shown for; NIST AI 600-1 only for a generative system
FRAMEWORKS: Final = ("iso42001", "nist-ai-rmf", "eu-ai-act")
GENERATIVE_FRAMEWORK: Final = "nist-ai-600-1"
STATUSES: Final = ("ready", "not ready", "excluded")
_FORM_FIELDS_MAX: Final = 20


def anchor(control_id: str) -> str:
    """The HTML id of a control's section on the controls page (``GOVERN 1.1`` -> ``control-GOVERN-1.1``)."""
    return "control-" + re.sub(r"[^A-Za-z0-9._-]+", "-", control_id).strip("-")


def controls_path(system: str, framework: str, control_id: str | None = None) -> str:
    path = f"/systems/{system}/controls?{urlencode({'framework': framework})}"
    return path + (f"#{anchor(control_id)}" if control_id else "")


def _frameworks_of(auth: Authorised, system: str) -> tuple[str, ...]:
    generative = bool(auth.ws.systems.get(system).generative)
    return (*FRAMEWORKS, GENERATIVE_FRAMEWORK) if generative else FRAMEWORKS


def _status_word(entry: Mapping[str, Any]) -> str:
    return "excluded" if not entry["applicable"] else ("ready" if entry["ready"] else "not ready")


# -- the controls page ---------------------------------------------------------------------------------------------

CONTROL_COLUMNS: Final = (
    web.Column("id", "Control"),
    web.Column("title", "Title"),
    web.Column("status", "Status", kind="verdict", choices=STATUSES),
    web.Column("implementation", "Implementation", choices=IMPLEMENTATION_STATUSES),
    web.Column("applicability", "Applicability"),
    web.Column("evidence", "Current evidence", kind="number"),
    web.Column("missing", "What is missing", sortable=False),
)


def _control_rows(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": e["id"],
            "title": e["title"],
            "anchor": anchor(e["id"]),
            "status": _status_word(e),
            "implementation": e["implementation"],
            "applicability": "applies" if e["applicable"] else f"excluded: {e['justification']}",
            "evidence": sum(1 for item in e["evidence"] if item["state"] == "current"),
            "evidence_total": len(e["evidence"]),
            "missing": "; ".join(g["detail"] for g in e["gaps"]),
        }
        for e in entries
    ]


def _framework(request: Request, auth: Authorised, system: str) -> tuple[str, tuple[str, ...]]:
    frameworks = _frameworks_of(auth, system)
    framework = request.query_params.get("framework") or FRAMEWORKS[0]
    if framework not in frameworks:
        raise InvalidInput(
            f"framework {framework[:50]!r} is not one of {', '.join(frameworks)} for {system}",
            fields={"framework": "choose one of the list"},
        )
    return framework, frameworks


def _controls(request: Request, auth: Authorised, system: str, framework: str | None = None) -> dict[str, Any]:
    ws = auth.ws
    chosen, frameworks = _framework(request, auth, system)
    framework = framework or chosen
    document = ws.controls.entries(system, framework)
    rows = _control_rows(document["entries"])
    can_write = allowed(auth.principal, "write", system)
    assessments = []
    if can_write:  # the assessments evidence may link: those recorded for this system
        assessments = [
            (str(a.id), f"#{a.id} {a.kind} of {a.created_at:%Y-%m-%d %H:%M}") for a in ws.assessments.list(system)
        ]
    return {
        "page": "controls",
        "user": page_user(auth.principal),
        "system": system,
        "framework": document["framework"],
        "frameworks": list(frameworks),
        "not_applicable": document["not_applicable"],
        "as_of": document["as_of"],
        "summary": _summary(document["entries"]),
        "entries": [{**e, "anchor": anchor(e["id"])} for e in document["entries"]],
        "rows": rows,
        "can_write": can_write,
        "assessments": assessments,
        "implementations": list(IMPLEMENTATION_STATUSES),
        "evidence_kinds": list(EVIDENCE_KINDS),
        "revoke_reason_max": REVOKE_REASON_MAX,
    }


def _summary(entries: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """The counts the three pages show, in the same words: entries, applicable, excluded, ready (applicable,
    implemented, with current evidence)."""
    applicable = [e for e in entries if e["applicable"]]
    return {
        "entries": len(entries),
        "applicable": len(applicable),
        "excluded": len(entries) - len(applicable),
        "implemented": sum(1 for e in applicable if e["implementation"] == "implemented"),
        "ready": sum(1 for e in applicable if e["ready"]),
    }


def _controls_page(
    request: Request, auth: Authorised, system: str, *, framework: str | None = None
) -> tuple[dict[str, Any], web.Table]:
    context = _controls(request, auth, system, framework)
    table = web.table(
        request, CONTROL_COLUMNS, context["rows"], searchable=("id", "title", "missing"), carry=("framework",)
    )  # sorting or paging stays on the framework shown
    return context, table


@router.get("/systems/{system}/controls.json")
def controls_json(request: Request, auth: Auth, system: str) -> Response:
    context = _controls(request, auth, system)
    table = web.table(request, CONTROL_COLUMNS, context["rows"], per=10**6, searchable=("id", "title", "missing"))
    return web.twin(jsonable({**context, "rows": table.rows, "total": table.total}))


@router.get("/systems/{system}/controls.csv")
def controls_csv(request: Request, auth: Auth, system: str) -> Response:
    context = _controls(request, auth, system)
    table = web.table(request, CONTROL_COLUMNS, context["rows"], per=10**6, searchable=("id", "title", "missing"))
    return web.csv_response(f"{system}-controls-{context['framework']['id']}", CONTROL_COLUMNS, table.rows)


@router.get("/systems/{system}/controls")
def controls_page(request: Request, auth: Auth, system: str) -> Response:
    """A system's controls for one framework: status, applicability, evidence and what is missing; each control's
    section sets its status and attaches or revokes evidence (for those who may change the system)."""
    context, table = _controls_page(request, auth, system)
    return web.render(request, "controls", {**context, "table": table, "form_key": None, "form": web.empty_form()})


def _refused(
    request: Request,
    auth: Authorised,
    system: str,
    exc: AssayError,
    values: Mapping[str, Any],
    key: str,
    *,
    framework: str | None,
    page: str = "controls",
) -> Response:
    """The page again after a refused form, the form ``key`` showing what was typed and its errors."""
    if page == "soa":
        context: dict[str, Any] = _soa(auth, system)
        soa_table = web.table(request, SOA_COLUMNS, context["rows"], searchable=("id", "title", "justification"))
        return web.failed(request, "soa", {**context, "table": soa_table, "form_key": key}, exc, values)
    try:
        context, table = _controls_page(request, auth, system, framework=framework)
    except InvalidInput:
        context, table = _controls_page(request, auth, system, framework=FRAMEWORKS[0])
    return web.failed(request, "controls", {**context, "table": table, "form_key": key}, exc, values)


def _back(system: str, framework: str, control_id: str, page: str) -> str:
    if page == "soa":
        return f"/systems/{system}/soa#{anchor(control_id)}"
    return controls_path(system, framework, control_id)


@router.post("/systems/{system}/controls")
def control_status_form(
    request: Request,
    auth: FormAuth,
    system: str,
    framework: Annotated[str, Form(max_length=50)],
    control_id: Annotated[str, Form(max_length=100)],
    applicable: Annotated[str, Form(max_length=10)] = "",
    justification: Annotated[str | None, Form(max_length=20_000)] = None,
    implementation: Annotated[str, Form(max_length=50)] = "",
    owner: Annotated[str | None, Form(max_length=300)] = None,
    back: Annotated[str, Form(max_length=20)] = "controls",
) -> Response:
    """Set what the service lets a person set of a control's status: whether it applies (an exclusion needs a
    justification), how far its implementation is, and who owns it. Fields the form leaves out keep their value."""
    page = "soa" if back == "soa" else "controls"
    values = {"framework": framework, "control_id": control_id, "applicable": applicable,
              "justification": justification or "", "implementation": implementation, "owner": owner or ""}  # fmt: skip
    key = f"status:{control_id}"
    try:
        if applicable not in ("", "yes", "no"):
            raise InvalidInput(f"applicable is 'yes' or 'no', not {applicable!r}", fields={"applicable": "yes or no"})
        if applicable == "no" and not (justification or "").strip():
            raise InvalidInput(
                f"excluding {control_id} needs a justification (ISO/IEC 42001 6.1.3): say why it does not apply",
                fields={"justification": "say why the control does not apply"},
            )
        if implementation and implementation not in IMPLEMENTATION_STATUSES:
            raise InvalidInput(
                f"implementation {implementation!r} is not one of {', '.join(IMPLEMENTATION_STATUSES)}",
                fields={"implementation": "choose one of the list"},
            )
        auth.ws.controls.set_status(
            system, framework, control_id,
            applicable=None if not applicable else applicable == "yes",
            justification=None if justification is None else justification.strip(),
            implementation=implementation or None,
            owner=None if owner is None else owner.strip(),
        )  # fmt: skip
    except (InvalidInput, Conflict) as exc:
        return _refused(request, auth, system, exc, values, key, framework=framework, page=page)
    return web.done(request, _back(system, framework, control_id, page), f"Status of {control_id} saved")


def _date(value: str, name: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"{name.replace('_', ' ')} {value[:30]!r} is not a date: give YYYY-MM-DD", fields={name: "a date"}
        ) from None


def _form_text(form: Mapping[str, Any], name: str, limit: int) -> str:
    value = form.get(name)
    text = value if isinstance(value, str) else ""
    if len(text) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters", fields={name: f"at most {limit} characters"})
    return text


_SAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")
_EVIDENCE_FIELDS: Final = ("framework", "control_id", "kind", "url", "assessment_id", "description", "valid_until")


@router.post("/systems/{system}/evidence")
async def evidence_add_form(request: Request, auth: FormAuth, system: str) -> Response:
    """Attach evidence to a control: an uploaded file (kept in the artifact store), a URL or an assessment
    recorded for the system, with a description and the day it is valid until. The form (multipart, for the
    file) is read only after authentication and the CSRF check."""
    form = await request.form(max_files=1, max_fields=_FORM_FIELDS_MAX)
    values: dict[str, Any] = {}
    framework: str | None = None
    key = "evidence:"
    try:
        values = {name: _form_text(form, name, 20_000) for name in _EVIDENCE_FIELDS}
        framework, control_id = values["framework"], values["control_id"]
        key = f"evidence:{control_id}"
        kind = values["kind"]
        if kind not in EVIDENCE_KINDS:
            raise InvalidInput(f"kind {kind!r} is not one of {', '.join(EVIDENCE_KINDS)}", fields={"kind": "choose"})
        upload = form.get("file")
        has_file = isinstance(upload, UploadFile) and bool(upload.filename)
        missing = {
            "file": ("file", "choose a file to upload") if not has_file else None,
            "url": ("url", "give the address (https://...)") if not values["url"].strip() else None,
            "assessment": ("assessment_id", "choose an assessment") if not values["assessment_id"] else None,
        }[kind]
        if missing is not None:
            raise InvalidInput(f"evidence of kind {kind}: {missing[1]}", fields={missing[0]: missing[1]})
        assessment_id = None
        if kind == "assessment":
            try:
                assessment_id = int(values["assessment_id"])
            except ValueError:
                raise InvalidInput("assessment_id must be a number", fields={"assessment_id": "a number"}) from None
        until = _date(values["valid_until"], "valid_until")
        options: dict[str, Any] = {
            "kind": kind,
            "assessment_id": assessment_id,
            "url": values["url"].strip() if kind == "url" else None,
            "description": values["description"].strip(),
            "valid_until": until,
        }

        def attach() -> Any:
            if kind != "file" or not isinstance(upload, UploadFile):
                return auth.ws.controls.add_evidence(system, framework or "", control_id, **options)
            with tempfile.TemporaryDirectory() as folder:  # the client's name as a label only, never a path
                name = _SAFE_NAME.sub("-", Path(upload.filename or "").name).strip(".-")[:200] or "evidence"
                target = Path(folder) / name
                with target.open("wb") as out:
                    shutil.copyfileobj(upload.file, out, 1024 * 1024)
                return auth.ws.controls.add_evidence(system, framework or "", control_id, file=target, **options)

        view = await run_in_threadpool(attach)
    except (InvalidInput, Conflict) as exc:
        return await run_in_threadpool(_refused, request, auth, system, exc, values, key, framework=framework)
    finally:
        await form.close()
    return web.done(
        request, controls_path(system, view.framework, view.control_id), f"Evidence {view.id} attached to {view.ref}"
    )


@router.post("/systems/{system}/evidence/{evidence_id}/revoke")
def evidence_revoke_form(
    request: Request,
    auth: FormAuth,
    system: str,
    evidence_id: int,
    reason: Annotated[str, Form(max_length=REVOKE_REASON_MAX)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Withdraw a piece of evidence with a reason, once the person confirmed: it stays listed as revoked and no
    longer counts anywhere (readiness, the SoA, gates)."""
    evidence = next((e for e in auth.ws.controls.list_evidence(system) if e.id == evidence_id), None)
    framework = None if evidence is None else evidence.framework
    key = f"revoke:{evidence_id}"
    try:
        web.require_confirmation(confirm, f"revoking evidence {evidence_id}")
        if not reason.strip():
            raise InvalidInput("say why the evidence is withdrawn", fields={"reason": "say why it is withdrawn"})
        view = auth.ws.controls.revoke_evidence(system, evidence_id, reason=reason)
    except (InvalidInput, Conflict) as exc:
        values = {"reason": reason}
        return _refused(request, auth, system, exc, values, key, framework=framework)
    return web.done(
        request,
        controls_path(system, view.framework, view.control_id),
        f"Evidence {view.id} revoked: it no longer counts for {view.ref}",
    )


# -- the Statement of Applicability --------------------------------------------------------------------------------

SOA_COLUMNS: Final = (
    web.Column("id", "Control"),
    web.Column("objective", "Objective"),
    web.Column("title", "Title"),
    web.Column("applicable", "Applicable", choices=("yes", "no")),
    web.Column("justification", "Justification", sortable=False),
    web.Column("implementation", "Implementation", choices=IMPLEMENTATION_STATUSES),
    web.Column("owner", "Owner"),
    web.Column("current_evidence", "Current evidence", kind="number"),
    web.Column("status", "Status", kind="verdict", choices=STATUSES),
)
SOA_DOWNLOADS: Final = {"html": "text/html", "md": "text/markdown", "csv": "text/csv"}


def _soa(auth: Authorised, system: str) -> dict[str, Any]:
    document = auth.ws.controls.soa(system)
    rows = [
        {
            "id": c["id"],
            "anchor": anchor(c["id"]),
            "objective": "" if c["objective"] is None else f"{c['objective']['id']} {c['objective']['title']}",
            "title": c["title"],
            "applicable": "yes" if c["applicable"] else "no",
            "justification": c["justification"],
            "implementation": c["implementation"],
            "owner": c["owner"],
            "current_evidence": sum(1 for e in c["evidence"] if e["current"]),
            "status": "excluded" if not c["applicable"] else ("ready" if c["implemented_with_current_evidence"] else
                                                              "not ready"),
        }
        for c in document["controls"]
    ]  # fmt: skip
    summary = document["summary"]
    return {
        "page": "soa",
        "user": page_user(auth.principal),
        "system": system,
        "framework": document["framework"],
        "document": document,
        # the words the readiness and controls pages use for the same counts
        "summary": {
            "entries": summary["controls"],
            "applicable": summary["applicable"],
            "excluded": summary["excluded"],
            "implemented": summary["implemented"],
            "ready": summary["implemented_with_current_evidence"],
        },
        "rows": rows,
        "downloads": list(SOA_DOWNLOADS),
        "can_write": allowed(auth.principal, "write", system),
    }


@router.get("/systems/{system}/soa.json")
def soa_json(request: Request, auth: Auth, system: str) -> Response:
    return web.twin(_soa(auth, system))


@router.get("/systems/{system}/soa.csv")
def soa_csv(request: Request, auth: Auth, system: str) -> Response:
    context = _soa(auth, system)
    table = web.table(request, SOA_COLUMNS, context["rows"], per=10**6, searchable=("id", "title", "justification"))
    return web.csv_response(f"{system}-soa", SOA_COLUMNS, table.rows)


@router.get("/systems/{system}/soa/download")
def soa_download(auth: Auth, system: str, format: str = "html") -> Response:
    """The Statement of Applicability as the document ``assay soa`` writes (HTML, Markdown or CSV)."""
    from assay.reports.soa import render_soa

    if format not in SOA_DOWNLOADS:
        raise InvalidInput(f"format {format[:20]!r} is not one of {', '.join(SOA_DOWNLOADS)}", fields={"format": "?"})
    body = render_soa(auth.ws.controls.soa(system), format)
    filename = f"soa-{_SAFE_NAME.sub('-', system)}.{format}"
    return Response(
        body,
        media_type=f"{SOA_DOWNLOADS[format]}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/systems/{system}/soa")
def soa_page(request: Request, auth: Auth, system: str) -> Response:
    """The Statement of Applicability (ISO/IEC 42001 6.1.3) in the layout: every Annex A control, whether it
    applies and why, its implementation and evidence; its downloads; applicability edited in place."""
    context = _soa(auth, system)
    table = web.table(request, SOA_COLUMNS, context["rows"], searchable=("id", "title", "justification"))
    return web.render(request, "soa", {**context, "table": table, "form_key": None, "form": web.empty_form()})


# -- readiness -----------------------------------------------------------------------------------------------------

READINESS_FRAMEWORKS: Final = (*FRAMEWORKS, GENERATIVE_FRAMEWORK)
GAP_KINDS: Final = ("not_implemented", "no_evidence", "evidence_revoked", "evidence_expired",
                    "evidence_not_yet_valid", "stale_approval", "management_system")  # fmt: skip
SUMMARY_COLUMNS: Final = (
    web.Column("system", "System"),
    web.Column("framework", "Framework"),
    web.Column("ready", "Ready", kind="number"),
    web.Column("applicable", "Applicable", kind="number"),
    web.Column("excluded", "Excluded", kind="number"),
    web.Column("share", "Share ready", kind="number"),
)
GAP_COLUMNS: Final = (
    web.Column("system", "System", choices=()),
    web.Column("framework", "Framework", choices=("organisation", *READINESS_FRAMEWORKS)),
    web.Column("control", "Control or clause"),
    web.Column("title", "Title"),
    web.Column("kind", "Gap", choices=GAP_KINDS),
    web.Column("detail", "What is missing", sortable=False),
    web.Column("link", "Where to close it", sortable=False),
)
# the management system's pages that close a clause's gap (the longest prefix wins)
_CLAUSE_PAGES: Final = (
    ("4", "/aims/context"), ("5.1", "/aims/documents"), ("5.2", "/aims/documents"), ("5.3", "/aims/roles"),
    ("6.1", "/aims"), ("6.2", "/aims/objectives"), ("6.3", "/aims/documents"), ("7.1", "/aims/roles"),
    ("7.2", "/aims/training"), ("7.3", "/aims/training"), ("7.4", "/aims/documents"), ("7.5", "/aims/documents"),
    ("8", "/aims"), ("9.1", "/aims/objectives"), ("9.2", "/aims/audits"), ("9.3", "/aims/reviews"),
    ("10", "/aims/nonconformities"),
)  # fmt: skip
# ISO/IEC 42001 Annex A objectives whose evidence comes from another page (impact assessments: A.5)
_IMPACT_PREFIX: Final = "A.5."


def clause_page(clause: str) -> str:
    """The /aims page where a clause's gap is closed."""
    best = max((p for p, _ in _CLAUSE_PAGES if clause == p or clause.startswith(p + ".")), key=len, default=None)
    return dict(_CLAUSE_PAGES)[best] if best is not None else "/aims"


def gap_links(system: str, framework: str, gap: Mapping[str, Any]) -> list[dict[str, str]]:
    """Where a system's gap is closed: the control's section on the controls page (status and evidence), and for
    an entry whose evidence an assessment gives, the page to run one; impact assessments for ISO/IEC 42001 A.5;
    the approvals page for a stale approval."""
    kind, control = gap["kind"], gap.get("control")
    if kind == "stale_approval" or control is None:
        return [{"text": "request approval again", "href": f"/systems/{system}/approvals"}]
    links = [{"text": "set status" if kind == "not_implemented" else "attach evidence",
              "href": controls_path(system, framework, control)}]  # fmt: skip
    if kind != "not_implemented":
        if framework == "iso42001" and control.startswith(_IMPACT_PREFIX):
            links.append({"text": "impact assessments", "href": f"/systems/{system}/impact"})
        elif (framework, control) in _assessment_served():
            links.append({"text": "run an assessment", "href": f"/systems/{system}/run"})
    return links


@cache
def _assessment_served() -> frozenset[tuple[str, str]]:
    """The entries the evidence rules fill from a recorded assessment (run one and the evidence is linked)."""
    from assay.governance.evidence import evidence_rules

    return frozenset((link.framework, link.control) for rule in evidence_rules() for link in rule.serves)


def _readiness(request: Request, auth: Authorised, shared: PageCache) -> dict[str, Any]:
    visible = auth.principal.systems()
    summary: list[dict[str, Any]] = []
    gaps: list[dict[str, Any]] = []
    documents = {}
    for framework, document in _readiness_documents(auth, shared, READINESS_FRAMEWORKS).items():
        systems = [s for s in document["systems"] if visible is None or s["system"]["name"] in visible]
        # the shared document names whoever first asked at this head: this one is the viewer's
        documents[framework] = {**document, "systems": systems, "generated_by": auth.principal.name}
        for entry in systems:
            name = entry["system"]["name"]
            summary.append({"system": name, "framework": framework, "ready": entry["ready"],
                            "applicable": entry["applicable"], "excluded": entry["excluded"],
                            "share": entry["share"], "entries": entry["entries"]})  # fmt: skip
            for gap in entry["gaps"]:  # links are added to the rows shown (_linked): thousands of gaps, 50 a page
                gaps.append({"system": name, "framework": framework, "control": gap["control"] or "",
                             "title": gap["title"], "kind": gap["kind"], "detail": gap["detail"]})  # fmt: skip
    organisation = organisation_readiness(auth.ws, auth, shared)
    for clause in organisation["entries"]:
        for gap in clause["gaps"]:
            href = clause_page(clause["id"])
            gaps.append({"system": "", "framework": "organisation", "control": clause["id"], "title": clause["title"],
                         "kind": "management_system", "detail": f"{gap['detail']} ({gap['fix']})", "link": href,
                         "links": [{"text": "management system", "href": href}]})  # fmt: skip
    return {
        "page": "readiness",
        "user": page_user(auth.principal),
        "organisation": {k: organisation[k] for k in ("ready", "clauses", "share", "as_of")},
        "counted": {f: documents[f]["counted"] for f in READINESS_FRAMEWORKS},
        "formula": documents[FRAMEWORKS[0]]["formula"],
        "frameworks": documents,
        "summary": summary,
        "gaps": gaps,
        "systems": sorted({row["system"] for row in summary}),
    }


def _linked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The gap rows with the links to where each is closed (``link``, the first; ``links``)."""
    for row in rows:
        if "links" not in row:
            links = gap_links(row["system"], row["framework"], {"kind": row["kind"], "control": row["control"] or None})
            row.update(link=links[0]["href"], links=links)
    return rows


def _gap_columns(systems: Sequence[str]) -> tuple[web.Column, ...]:
    return (web.Column("system", "System", choices=tuple(systems)), *GAP_COLUMNS[1:])


def _readiness_tables(request: Request, context: Mapping[str, Any], per: int = 50) -> tuple[web.Table, web.Table]:
    columns = _gap_columns(context["systems"])
    gaps = web.table(request, columns, context["gaps"], per=per, searchable=("system", "control", "title", "detail"))
    _linked(gaps.rows)
    asked = web.table_query(request, columns)
    rows = [r for r in context["summary"] if all(str(r.get(k, "")) == v for k, v in asked.filters.items()
                                                 if k in ("system", "framework"))]  # fmt: skip
    summary = web.Table(SUMMARY_COLUMNS, rows, len(rows), path=request.url.path)
    return gaps, summary


@router.get("/readiness.json")
def readiness_json(request: Request, auth: Auth) -> Response:
    context = _readiness(request, auth, shared_cache(request))
    gaps, summary = _readiness_tables(request, context, per=10**6)
    return web.twin({**context, "summary": summary.rows, "gaps": gaps.rows, "total_gaps": gaps.total})


@router.get("/readiness.csv")
def readiness_csv(request: Request, auth: Auth) -> Response:
    context = _readiness(request, auth, shared_cache(request))
    gaps, _ = _readiness_tables(request, context, per=10**6)
    return web.csv_response("readiness-gaps", _gap_columns(context["systems"]), gaps.rows)


@router.get("/readiness")
def readiness_page(request: Request, auth: Auth) -> Response:
    """Readiness of every system the person may see, per framework, and the management system's clauses; each
    gap links to the page where it is closed."""
    context = _readiness(request, auth, shared_cache(request))
    gaps, summary = _readiness_tables(request, context)
    return web.render(request, "readiness", {**context, "table": gaps, "summary_table": summary})
