"""The pages of AI systems, their models and their data (docs/web.md, "Systems, models and data"): the dashboard,
the list of systems (``/systems``), creating, editing and retiring a system, a system's overview (``/systems/{s}``)
and its models and datasets (``/systems/{s}/models``: register a model version with its file, upload a dataset
version, change their metadata).

Every page calls the services the REST API calls, so the permission table, the validation and the audit events
are the API's; a refused form comes back with what was typed and each error next to its field.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from assay.errors import AssayError, InvalidInput
from assay.governance.records import (
    ANNEX_III_AREAS,
    EU_AI_ACT_CATEGORIES,
    LIFECYCLE_STAGES,
    MODEL_STAGES,
    OVERSIGHT_MODES,
    SystemSpec,
    SystemUpdate,
)
from assay.metrics.options import BiasOptions
from assay.server import web
from assay.server.deps import Auth, page_user
from assay.server.ui import FormAuth, _readiness_document, _readiness_shares, organisation_readiness
from assay.server.web_cache import PageCache, page_cache, shared_cache
from assay.services.access import allowed, dataset_readable
from assay.services.kinds import KINDS
from assay.services.workspace import Workspace

__all__ = ["router", "shared_listing", "shared_overview"]

router = APIRouter(include_in_schema=False)

DASHBOARD_FRAMEWORKS: Final = ("iso42001", "nist-ai-rmf", "eu-ai-act")
RETIRED_STAGE: Final = "retirement"  # the ISO/IEC 22989 life cycle stage of a retired system
# the model files Assay's adapters load (a .joblib file only when the loader is told to trust it)
MODEL_SUFFIXES: Final = (".skops", ".onnx", ".joblib")
DATA_SUFFIXES: Final = (".csv", ".tsv", ".parquet")
# what the framework select offers (free text in the record: a version registered elsewhere keeps its own)
FRAMEWORKS: Final = ("scikit-learn", "XGBoost", "LightGBM", "CatBoost", "PyTorch", "TensorFlow", "ONNX", "other")
LEVELS: Final = ("critical", "high", "medium", "low")
_FORM_LIMITS: Final = {"max_files": 1, "max_fields": 40}


def _refused(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    exc: AssayError,
    values: Mapping[str, Any],
    *,
    form: str = "form",
    field: str | None = None,
    known: Sequence[str] = (),
) -> Response:
    """:func:`web.failed`, with the error next to ``field`` when the error names no field (a taken name), or next
    to the first of ``known`` its message names (a rule across fields: "a high-risk system needs its Annex III
    area")."""
    errors = web.field_errors(exc)
    if not errors:
        text = str(exc)
        named = next((k for k in known if k in text), field)
        if named is not None:
            errors = {named: text.rpartition("record: ")[2] if text.startswith("invalid ") else text}
    state = {"values": dict(values), "errors": errors, "message": str(exc)}
    return web.render(request, name, {**context, form: state}, status=web.status_of(exc))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _ticked(value: Any) -> bool:
    return str(value or "").strip().lower() in ("yes", "on", "true", "1")


def _texts(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


# -- the dashboard ---------------------------------------------------------------------------------------------------


def _everything(request: Request) -> Workspace:
    """The server's workspace, seeing every system: what the pages share is built from it, then filtered to what
    each person may see (built from the first asker's view, it would miss what they may not see)."""
    ws: Workspace = request.app.state.workspace
    return ws


def _overview(ws: Workspace, auth: Auth, shared: PageCache) -> dict[str, Any]:
    """What every dashboard shows of each system, the same whoever asks (so built once per ledger head and day,
    then filtered to what each person may see): readiness per framework, open risks by cell, pending approvals."""
    systems = ws.systems.list()
    judged = _readiness_shares(auth, shared, DASHBOARD_FRAMEWORKS)
    shares: dict[str, dict[str, Any]] = {s.name: {"system": s.name, **judged.get(s.name, {})} for s in systems}
    open_cells = ws.risks.cells(status="open")  # one query, not one listing per system
    cells: dict[str, list[tuple[int, int]]] = {s.name: open_cells.get(s.name, []) for s in systems}
    organisation = organisation_readiness(ws, auth, shared)
    requests = list(ws.approvals.list())  # one read: the pending ones and the held ones are picked here
    return {
        "management_system": {k: organisation[k] for k in ("ready", "clauses", "share", "as_of")},
        "systems": systems,
        "shares": shares,
        "risk_cells": cells,
        "pending": [a.to_dict() for a in requests if a.status == "pending"],
        "held": [a.to_dict() for a in requests if a.status == "approved" and a.held],
    }


def shared_overview(ws: Workspace, auth: Auth, shared: PageCache) -> dict[str, Any]:
    """The dashboard's overview (:func:`_overview`) from the shared cache, built from ``ws`` (seeing every system)."""
    return shared.get(auth, "overview", lambda: _overview(ws, auth, shared))


def shared_listing(ws: Workspace, auth: Auth, shared: PageCache) -> dict[str, Any]:
    """The systems list's shared part (:func:`_listed`) from the shared cache, built from ``ws``."""
    return shared.get(auth, "systems", lambda: _listed(ws, auth, shared))


def _visible_overview(auth: Auth, request: Request) -> tuple[dict[str, Any], list[Any]]:
    overview = shared_overview(_everything(request), auth, shared_cache(request))
    visible = auth.principal.systems()
    return overview, [s for s in overview["systems"] if visible is None or s.name in visible]


def _dashboard(auth: Auth, request: Request) -> dict[str, Any]:
    who, ws = auth.principal, auth.ws
    overview, systems = _visible_overview(auth, request)
    names = {s.name for s in systems}
    heat = [[0] * 5 for _ in range(5)]  # [impact-1][likelihood-1]
    for system in systems:
        for impact, likelihood in overview["risk_cells"][system.name]:
            heat[impact - 1][likelihood - 1] += 1
    events = []
    if allowed(who, "audit"):
        events = [{**e.content(), "hash": e.hash} for e in ws.audit.recent(15)]
    return {
        "page": "dashboard",
        "user": page_user(who),
        "systems": [
            {k: s.state()[k] for k in ("name", "eu_ai_act_category", "annex_iii_area", "lifecycle_stage", "owner")}
            for s in systems
        ],
        "by_category": {c: n for c in EU_AI_ACT_CATEGORIES if (n := Counter(s.eu_ai_act_category for s in systems)[c])},
        "by_stage": {st: n for st in LIFECYCLE_STAGES if (n := Counter(s.lifecycle_stage for s in systems)[st])},
        "risk_heat_map": {
            "rows": "impact 1..5",
            "columns": "likelihood 1..5",
            "counts": heat,
            "open": sum(map(sum, heat)),
        },
        "pending_approvals": [a for a in overview["pending"] if a["system"] in names],
        # in the stage they were approved for, though what was approved changed since: re-approval needed
        "held_versions": [a for a in overview["held"] if a["system"] in names],
        "readiness": [overview["shares"][s.name] for s in systems],
        # ISO/IEC 42001 clauses 4-10, judged once for the organisation (Annex A is per system, in "readiness")
        "management_system": overview["management_system"],
        "recent_events": events,
        "can_create": allowed(who, "contribute"),
    }


class _IndexTable(web.Table):
    """The dashboard's table of systems: its page is ``/``, its CSV twin ``/index.csv`` (as ``/index.json``)."""

    def csv_link(self) -> str:
        _, _, query = self.link(page=None).partition("?")
        return "/index.csv" + (f"?{query}" if query else "")


_DASHBOARD_COLUMNS: Final = (
    web.Column("name", "System"),
    web.Column("eu_ai_act_category", "EU AI Act", choices=EU_AI_ACT_CATEGORIES),
    web.Column("lifecycle_stage", "Stage", choices=LIFECYCLE_STAGES),
    web.Column("owner", "Owner"),
    web.Column("iso42001", "ISO/IEC 42001", kind="share"),
    web.Column("nist-ai-rmf", "NIST AI RMF", kind="share"),
    web.Column("eu-ai-act", "EU AI Act readiness", kind="share"),
)


def _dashboard_rows(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {**s, **{f: r.get(f) for f in DASHBOARD_FRAMEWORKS}}
        for s, r in zip(context["systems"], context["readiness"], strict=True)
    ]


def _dashboard_context(auth: Auth, request: Request) -> dict[str, Any]:
    return page_cache(request).get(auth, "dashboard", lambda: _dashboard(auth, request))


@router.get("/index.json")
def dashboard_json(request: Request, auth: Auth) -> Response:
    return JSONResponse(_dashboard_context(auth, request))


@router.get("/index.csv")
def dashboard_csv(request: Request, auth: Auth) -> Response:
    rows = _dashboard_rows(_dashboard_context(auth, request))
    return web.csv_response("systems", _DASHBOARD_COLUMNS, web.table(request, _DASHBOARD_COLUMNS, rows,
                                                                      per=web.CSV_MAX_ROWS).rows)  # fmt: skip


@router.get("/")
def dashboard(request: Request, auth: Auth) -> Response:
    context = _dashboard_context(auth, request)
    found = web.table(request, _DASHBOARD_COLUMNS, _dashboard_rows(context), default_sort="name")
    table = _IndexTable(**{k: getattr(found, k) for k in found.__dataclass_fields__})
    return web.render(request, "dashboard", {**context, "table": table})


# -- the list of systems ---------------------------------------------------------------------------------------------

_LIST_COLUMNS: Final = (
    web.Column("name", "System"),
    web.Column("eu_ai_act_category", "EU AI Act category", choices=EU_AI_ACT_CATEGORIES),
    web.Column("annex_iii_area", "Annex III area"),
    web.Column("lifecycle_stage", "Life cycle stage", choices=LIFECYCLE_STAGES),
    web.Column("owner", "Owner"),
    web.Column("open_risks", "Open risks", kind="number"),
    web.Column("readiness", "ISO/IEC 42001 readiness", kind="share"),
    web.Column("generative", "Generative", choices=("yes", "no")),
)


def _listed(ws: Workspace, auth: Auth, shared: PageCache) -> dict[str, Any]:
    """What the list of systems shows of each, the same whoever asks: the open risks and the ISO/IEC 42001 share
    (the dashboard's overview holds more: three frameworks, the management system, the approvals)."""
    judged = _readiness_shares(auth, shared, ("iso42001",))
    return {
        "systems": ws.systems.list(),
        "open_risks": {name: len(cells) for name, cells in ws.risks.cells(status="open").items()},
        "shares": {name: shares.get("iso42001") for name, shares in judged.items()},
    }


def _system_rows(auth: Auth, request: Request) -> list[dict[str, Any]]:
    listed = shared_listing(_everything(request), auth, shared_cache(request))
    visible = auth.principal.systems()
    systems = [s for s in listed["systems"] if visible is None or s.name in visible]
    return [
        {
            "name": s.name,
            "eu_ai_act_category": s.eu_ai_act_category,
            "annex_iii_area": s.annex_iii_area,
            "annex_iii_title": ANNEX_III_AREAS.get(s.annex_iii_area or 0),
            "lifecycle_stage": s.lifecycle_stage,
            "owner": s.owner,
            "open_risks": listed["open_risks"].get(s.name, 0),
            "readiness": listed["shares"].get(s.name),
            "generative": "yes" if s.generative else "no",
        }
        for s in systems
    ]


def _systems(auth: Auth, request: Request, *, per: int = 50) -> tuple[dict[str, Any], web.Table]:
    searchable = ("name", "owner", "annex_iii_title", "eu_ai_act_category", "lifecycle_stage")
    rows = _system_rows(auth, request)
    table = web.table(request, _LIST_COLUMNS, rows, default_sort="name", per=per, searchable=searchable)
    context = {
        "page": "systems",
        "user": page_user(auth.principal),
        "systems": table.rows,
        "total": table.total,
        "can_create": allowed(auth.principal, "contribute"),
    }
    return context, table


@router.get("/systems.json")
def systems_json(request: Request, auth: Auth) -> Response:
    return JSONResponse(_systems(auth, request)[0])


@router.get("/systems.csv")
def systems_csv(request: Request, auth: Auth) -> Response:
    _, table = _systems(auth, request, per=web.CSV_MAX_ROWS)
    return web.csv_response("systems", _LIST_COLUMNS, table.rows)


@router.get("/systems")
def systems_page(request: Request, auth: Auth) -> Response:
    """Every system the person may see: sortable, filterable by EU AI Act category and life cycle stage,
    searchable, exported to CSV."""
    context, table = _systems(auth, request)
    return web.render(request, "systems", {**context, "table": table})


# -- creating, editing and retiring a system -------------------------------------------------------------------------

# the fields of a dataset version its edit form changes (besides pii and its categories)
_DATA_EDIT: Final = ("source", "licence", "collection_method", "terms", "uri", "period_start", "period_end")
# the fields of the system form (the SystemSpec's, the name only when creating)
_LIST_FIELDS: Final = ("intended_uses", "out_of_scope_uses", "affected_people")
_TEXT_FIELDS: Final = ("purpose", "deployment_context", "owner", "disclosure")
_CHOICE_FIELDS: Final = ("eu_ai_act_category", "lifecycle_stage", "oversight")
_FLAGS: Final = ("generative", "commercial")
_KNOWN: Final = ("annex_iii_area", "disclosure", "eu_ai_act_category", "intended_uses", "out_of_scope_uses", "name")


def _form_choices() -> dict[str, Any]:
    return {
        "categories": list(EU_AI_ACT_CATEGORIES),
        "areas": [(str(k), f"{k}: {title}") for k, title in ANNEX_III_AREAS.items()],
        "stages": list(LIFECYCLE_STAGES),
        "oversight_modes": list(OVERSIGHT_MODES),
        "retired_stage": RETIRED_STAGE,
    }


def _system_fields(values: Mapping[str, str]) -> dict[str, Any]:
    """The system form's values as the fields of a :class:`SystemSpec` (lists one per line, boxes ticked or not,
    the Annex III area a number or none)."""
    fields: dict[str, Any] = {}
    for key in _TEXT_FIELDS:
        if key in values:
            fields[key] = values[key]
    if not (values.get("disclosure") or "").strip():
        fields["disclosure"] = None
    for key in _LIST_FIELDS:
        if key in values:
            fields[key] = _lines(values[key])
    for key in _CHOICE_FIELDS:
        if values.get(key):
            fields[key] = values[key]
    for key in _FLAGS:
        fields[key] = _ticked(values.get(key))
    area = (values.get("annex_iii_area") or "").strip()
    if not area:
        fields["annex_iii_area"] = None
    elif area.isdigit():
        fields["annex_iii_area"] = int(area)
    else:
        raise InvalidInput(f"annex_iii_area {area!r} is not an area number", fields={"annex_iii_area": "a number 1-8"})
    return fields


def _form_values(state: Mapping[str, Any]) -> dict[str, Any]:
    """A stored system as the form's values (lists one per line)."""
    values = {k: state.get(k) for k in (*_TEXT_FIELDS, *_CHOICE_FIELDS)}
    values |= {k: "\n".join(state.get(k) or []) for k in _LIST_FIELDS}
    values |= {k: "yes" if state.get(k) else "" for k in _FLAGS}
    values["annex_iii_area"] = "" if state.get("annex_iii_area") is None else str(state["annex_iii_area"])
    values["disclosure"] = state.get("disclosure") or ""
    return values


def _new_context(auth: Auth) -> dict[str, Any]:
    return {"page": "system_new", "user": page_user(auth.principal), "mode": "new", **_form_choices()}


@router.get("/systems/new")
def system_new_page(request: Request, auth: Auth) -> Response:
    defaults = _form_values(SystemSpec(name="x").model_dump())
    return web.render(request, "system_form", {**_new_context(auth), "form": web.empty_form(defaults)})


@router.post("/systems")
async def system_create_form(request: Request, auth: FormAuth) -> Response:
    """Register an AI system from the form; its creator (a member) becomes its owner."""
    values = _texts(await request.form())
    values.pop("csrf", None)
    try:
        name = values.get("name", "").strip()
        if name.lower() == "new":
            raise InvalidInput("'new' names the page of this form: choose another name", fields={"name": "reserved"})
        fields = {"name": name, **_system_fields(values)}
        system = await run_in_threadpool(auth.ws.systems.create, fields, owner_member=auth.principal.creator())
    except AssayError as exc:
        return _refused(request, "system_form", _new_context(auth), exc, values, field="name", known=_KNOWN)
    return web.done(request, f"/systems/{system.name}", f"AI system {system.name} created: you are its owner")


def _edit_context(auth: Auth, system: str) -> dict[str, Any]:
    state = auth.ws.systems.get(system).state()
    return {"page": "system_edit", "user": page_user(auth.principal), "mode": "edit", "system": state,
            **_form_choices()}  # fmt: skip


@router.get("/systems/{system}/edit")
def system_edit_page(request: Request, auth: Auth, system: str) -> Response:
    context = _edit_context(auth, system)
    return web.render(request, "system_form", {**context, "form": web.empty_form(_form_values(context["system"])),
                                               "retire": web.empty_form()})  # fmt: skip


@router.post("/systems/{system}/edit")
async def system_edit_form(request: Request, auth: FormAuth, system: str) -> Response:
    """Change what :class:`SystemUpdate` allows; only the fields that changed are sent (and recorded)."""
    values = _texts(await request.form())
    values.pop("csrf", None)
    context = _edit_context(auth, system)
    try:
        fields = _system_fields(values)
        current = context["system"]
        changed = {k: v for k, v in fields.items() if k in SystemUpdate.model_fields and v != current.get(k)}
        if not changed:
            return web.done(request, f"/systems/{system}", "Nothing changed", kind="warn")
        await run_in_threadpool(auth.ws.systems.update, system, changed)
    except AssayError as exc:
        context["retire"] = web.empty_form()
        return _refused(request, "system_form", context, exc, values, known=_KNOWN)
    saved = ", ".join(k.replace("_", " ") for k in sorted(changed))
    return web.done(request, f"/systems/{system}", f"Saved {system}: {saved}")


@router.post("/systems/{system}/retire")
async def system_retire_form(request: Request, auth: FormAuth, system: str) -> Response:
    """Move the system to the life cycle's retirement stage, after the confirmation box."""
    values = _texts(await request.form())
    context = _edit_context(auth, system)
    try:
        web.require_confirmation(values.get(web.CONFIRM_FIELD), f"retiring {system}")
        if context["system"]["lifecycle_stage"] == RETIRED_STAGE:
            raise InvalidInput(f"{system} is retired already")
        await run_in_threadpool(auth.ws.systems.update, system, {"lifecycle_stage": RETIRED_STAGE})
    except AssayError as exc:
        context["form"] = web.empty_form(_form_values(context["system"]))
        return _refused(request, "system_form", context, exc, {}, form="retire")
    return web.done(request, f"/systems/{system}", f"{system} is retired (life cycle stage: retirement)")


# -- the system's overview -------------------------------------------------------------------------------------------


_PROVENANCE = ("source", "licence", "collection_method", "period_start", "period_end", "row_count", "pii",
               "personal_data_categories", "fingerprint")  # fmt: skip


def _verdict(kind: str, document: Mapping[str, Any]) -> str | None:
    """An assessment's verdict as its kind summarises it (pass, fail, warn), if it states one."""
    found = KINDS.get(kind)
    status = (found.summary(document) if found is not None else {}).get("status") or document.get("status")
    return None if status is None else str(status)


def _system(ws: Workspace, auth: Auth, name: str, shared: PageCache) -> dict[str, Any]:
    system = ws.systems.get(name)
    versions = [
        {"model": m.name, "ref": f"{m.name}@{v.version}", **v.state()} for m, v in ws.models.list_versions(name)
    ]
    refs = {v["id"]: v["ref"] for v in versions}
    for version in versions:
        version["parent"] = refs.get(version["parent_id"])
    readiness: dict[str, Any] = next(
        (e for e in _readiness_document(auth, shared, "iso42001")["systems"] if e["system"]["name"] == name), {}
    )
    recorded = list(ws.assessments.list(name))
    data_ids = {v["training_dataset_version_id"] for v in versions} | {a.dataset_version_id for a in recorded}
    owners = {info.dataset.name: info for info in ws.datasets.list()}
    datasets = []  # who may see each is decided per person (_system_for)
    for d, dv in ws.datasets.list_versions():
        info = owners[d.name]
        if dv.id in data_ids or info.system == name or name in info.shared_with:
            datasets.append({"ref": f"{d.name}@{dv.version}", "id": dv.id, "system": info.system,
                             "shared_with": list(info.shared_with), "used": dv.id in data_ids,
                             "uri": dv.uri, "terms": dv.terms, **{k: dv.state()[k] for k in _PROVENANCE}})  # fmt: skip
    refs_by_data = {d["id"]: d["ref"] for d in datasets}
    for version in versions:
        version["training_dataset"] = refs_by_data.get(version["training_dataset_version_id"])
    controls = [c.state() for c in ws.controls.statuses(name)]
    evidence = [e.to_dict() for e in ws.controls.list_evidence(name)]
    assessments = []
    for a in recorded:
        state = a.state()
        document = state.pop("document")
        assessments.append({**state, "verdict": _verdict(a.kind, document)})
    return {
        "page": "system",
        "datasets": datasets,
        "controls": controls,
        "evidence": evidence,
        "system": {**system.state(), "annex_iii_title": ANNEX_III_AREAS.get(system.annex_iii_area or 0)},
        "models": versions,
        "assessments": assessments,
        "risks": [r.state() for r in ws.risks.list(name)],
        "approvals": [a.to_dict() for a in ws.approvals.list(name)],
        "incidents": [i.state() for i in ws.incidents.list(name)],
        "readiness": readiness,
    }


def _summary(context: Mapping[str, Any]) -> dict[str, Any]:
    """What the overview's cards show: counts and the latest records, each card linking to its tab."""
    open_risks = [r for r in context["risks"] if r["status"] == "open"]
    by_stage: dict[str, list[str]] = {stage: [] for stage in MODEL_STAGES}
    for version in context["models"]:
        by_stage.setdefault(version["stage"], []).append(version["ref"])
    closed = ("resolved", "closed")
    return {
        "risks_by_level": {level: sum(1 for r in open_risks if r["level"] == level) for level in LEVELS},
        "open_risks": len(open_risks),
        "latest_assessments": sorted(context["assessments"], key=lambda a: a["id"], reverse=True)[:5],
        "pending_approvals": [a for a in context["approvals"] if a["status"] == "pending"],
        "latest_approvals": sorted(context["approvals"], key=lambda a: a["id"], reverse=True)[:5],
        "versions_by_stage": {stage: refs for stage, refs in by_stage.items() if refs},
        "open_incidents": [i for i in context["incidents"] if i["status"] not in closed],
    }


def _system_for(request: Request, auth: Auth, name: str) -> dict[str, Any]:
    """The system page: what it shows of the system is the same for everyone who may see it (shared), and what
    this person may do there."""
    auth.ws.systems.get(name)  # 404 for whoever may not see it
    shared = shared_cache(request)
    context = shared.get(auth, "system", lambda: _system(_everything(request), auth, name, shared), name)
    who = auth.principal
    return {
        **context,
        "bias_defaults": {"threshold": BiasOptions.default("threshold")},  # the run form's defaults are the options'
        # a dataset the system's records used stays hidden from whoever may no longer see it (e.g. unshared)
        "datasets": [d for d in context["datasets"] if dataset_readable(who, d["system"], d["shared_with"])],
        # the systems the upload form may register a dataset in: those this person owns
        "owned_systems": [s.name for s in auth.ws.systems.list() if allowed(who, "write", s.name)],
        "user": page_user(auth.principal),
        "can_approve": allowed(auth.principal, "approve", name),
        "can_write": allowed(auth.principal, "write", name),
        # the review queue: reviewers, overseers and owners act there, auditors read it
        "can_see_review": allowed(auth.principal, "review", name) or auth.principal.role == "auditor",
        "summary": _summary(context),
    }


@router.get("/systems/{system}.json")
def system_json(request: Request, auth: Auth, system: str) -> Response:
    return JSONResponse(_system_for(request, auth, system))


@router.get("/systems/{system}")
def system_page(request: Request, auth: Auth, system: str) -> Response:
    return web.render(request, "system", _system_for(request, auth, system))


# -- models and data -------------------------------------------------------------------------------------------------

_MODEL_COLUMNS: Final = (
    web.Column("ref", "Version"),
    web.Column("stage", "Stage", choices=MODEL_STAGES),
    web.Column("framework", "Framework"),
    web.Column("training_dataset", "Training data"),
    web.Column("parent", "Derived from"),
    web.Column("licence", "Licence"),
    web.Column("file", "Model file"),
    web.Column("created_at", "Registered", kind="date"),
    web.Column("card", "Model card", sortable=False),
)
_DATA_COLUMNS: Final = (
    web.Column("dataset_ref", "Dataset version"),
    web.Column("owner", "Owned by"),
    web.Column("dataset_source", "Source"),
    web.Column("dataset_licence", "Licence"),
    web.Column("collection_method", "Collection"),
    web.Column("period", "Period"),
    web.Column("row_count", "Rows", kind="number"),
    web.Column("personal_data", "Personal data"),
    web.Column("used", "Used by this system", choices=("yes", "no")),
)


def _model_rows(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{**v, "file": (v.get("artifact_sha256") or "")[:12] or None, "card": v["ref"]} for v in context["models"]]


def _data_rows(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {**d, "dataset_ref": d["ref"], "owner": d["system"], "dataset_source": d["source"],
         "dataset_licence": d["licence"], "used": "yes" if d["used"] else "no",
         "period": " – ".join(str(p) for p in (d["period_start"], d["period_end"]) if p) or None,
         "personal_data": (", ".join(d["personal_data_categories"]) or "yes") if d["pii"] else "none declared"}
        for d in context["datasets"]
    ]  # fmt: skip


def _models(request: Request, auth: Auth, system: str) -> dict[str, Any]:
    context = _system_for(request, auth, system)
    who = auth.principal
    # the versions the training-data select offers: the system's own datasets and those shared with it
    training = [d["ref"] for d in context["datasets"] if d["system"] == system or system in d["shared_with"]]
    return {
        "page": "models",
        "user": context["user"],
        "system": context["system"],
        "models": context["models"],
        "datasets": context["datasets"],
        "can_write": context["can_write"],
        "choices": {
            "frameworks": list(FRAMEWORKS),
            "training": training,
            "parents": [v["ref"] for v in context["models"]],
            "model_names": sorted({v["model"] for v in context["models"]}),
            "dataset_names": sorted({d["ref"].split("@")[0] for d in context["datasets"] if d["system"] == system}),
            "writable_data": [d["ref"] for d in context["datasets"] if allowed(who, "write", d["system"])],
        },
    }


def _model_tables(request: Request, context: Mapping[str, Any], per: int = 50) -> tuple[web.Table, web.Table]:
    models = web.table(request, _MODEL_COLUMNS, _model_rows(context), default_sort="ref", per=per)
    # the second table of the page: its own query parameters (datasets.sort, datasets.page, ...); its links carry
    # table=datasets, which its CSV twin reads to export it
    data = web.table(
        request, _DATA_COLUMNS, _data_rows(context), default_sort="dataset_ref", per=per, prefix="datasets"
    )
    data.keep = (*data.keep, ("table", "datasets"))
    return models, data


def _models_page(
    request: Request, auth: Auth, system: str, forms: Mapping[str, Any] | None = None, *, status: int = 200
) -> Response:
    context = _models(request, auth, system)
    models, data = _model_tables(request, context)
    editing = request.query_params.get("edit")
    editing_data = request.query_params.get("edit_dataset")
    blank = {name: web.empty_form() for name in ("register", "upload", "edit_model", "edit_data")}
    edit_model = next((v for v in context["models"] if v["ref"] == editing), None)
    if edit_model is not None:
        shown = {k: edit_model.get(k) or "" for k in ("framework", "licence", "source", "training_dataset")}
        blank["edit_model"] = web.empty_form({**shown, "ref": edit_model["ref"]})
    edit_data = next((d for d in context["datasets"] if d["ref"] == editing_data), None)
    if edit_data is not None:
        given = {k: edit_data.get(k) or "" for k in _DATA_EDIT}
        given["pii"] = "yes" if edit_data["pii"] else ""
        given["personal_data_categories"] = "\n".join(edit_data["personal_data_categories"])
        blank["edit_data"] = web.empty_form({**given, "ref": edit_data["ref"]})
    shown = {**context, **blank, **(forms or {}), "model_table": models, "data_table": data}
    return web.render(request, "system_models", shown, status=status)


@router.get("/systems/{system}/models.json")
def models_json(request: Request, auth: Auth, system: str) -> Response:
    return JSONResponse(_models(request, auth, system))


@router.get("/systems/{system}/models.csv")
def models_csv(request: Request, auth: Auth, system: str) -> Response:
    models, data = _model_tables(request, _models(request, auth, system), per=web.CSV_MAX_ROWS)
    if request.query_params.get("table") == "datasets":
        return web.csv_response(f"{system}-datasets", _DATA_COLUMNS, data.rows)
    return web.csv_response(f"{system}-models", _MODEL_COLUMNS, models.rows)


@router.get("/systems/{system}/models")
def models_page(request: Request, auth: Auth, system: str) -> Response:
    """A system's model versions (stage, framework, training data, lineage, model cards) and the dataset versions
    it owns, is shared or used, with their provenance; the forms that register and change them."""
    return _models_page(request, auth, system)


def _failed_form(
    request: Request, auth: Auth, system: str, form: str, exc: AssayError, values: Mapping[str, Any],
    *, field: str | None = None, known: Sequence[str] = (), names: Mapping[str, str] | None = None,
) -> Response:  # fmt: skip
    """The models page again with ``form`` refused: what was typed kept, each error next to its field (``names``:
    the form's name of a record's field, where they differ)."""
    errors = {(names or {}).get(k, k): v for k, v in web.field_errors(exc).items()}
    if not errors:
        text = str(exc)
        named = next((k for k in known if re.search(rf"\b{k}\b", text)), field)
        if named is not None:
            errors = {named: text}
    state = {"values": dict(values), "errors": errors, "message": str(exc)}
    return _models_page(request, auth, system, {form: state}, status=web.status_of(exc))


def _file_of(form: FormData) -> UploadFile | None:
    file = form.get("file")
    return file if isinstance(file, UploadFile) and file.filename else None


def _suffix(file: UploadFile, allowed_suffixes: Sequence[str], what: str) -> str:
    suffix = Path(file.filename or "").suffix.lower()
    if suffix not in allowed_suffixes:
        raise InvalidInput(
            f"{what} {file.filename!r} is not a {', '.join(allowed_suffixes)} file",
            fields={"file": f"a {', '.join(allowed_suffixes)} file"},
        )
    return suffix


@router.post("/systems/{system}/models")
async def model_register_form(request: Request, auth: FormAuth, system: str) -> Response:
    """Register a model version with its uploaded file (stored through the artifact store, as the API's upload),
    its framework and its training data chosen from the registered versions. The form is parsed after the
    authentication and the CSRF check (no Form parameters: FastAPI would read them first)."""
    form = await request.form(**_FORM_LIMITS)
    values = _texts(form)
    values.pop("csrf", None)
    fields: dict[str, Any] = {"model": values.get("model", "").strip(), "version": values.get("version", "").strip()}
    for key in ("framework", "licence", "source", "description"):
        if values.get(key, "").strip():
            fields[key] = values[key].strip()
    for key in ("training_dataset", "parent"):
        if values.get(key, "").strip():
            fields[key] = values[key].strip()
    try:
        from assay.governance.records import ModelVersionSpec, validate

        validate(ModelVersionSpec, fields, "model version")  # refused before the file is stored
        file = _file_of(form)
        name = None
        if file is not None:
            _suffix(file, MODEL_SUFFIXES, "the model file")
            stored = await run_in_threadpool(auth.ws.artifacts.put_stream, file.file)
            fields["artifact_sha256"], name = stored.sha256, file.filename
        version = await run_in_threadpool(auth.ws.models.register_version, system, fields, file_name=name)
    except AssayError as exc:
        known = ("training_dataset", "parent", "file")
        return _failed_form(request, auth, system, "register", exc, values, field="version", known=known)
    finally:
        await form.close()
    ref = f"{fields['model']}@{version.version}"
    return web.done(request, f"/systems/{system}/models", f"Model version {ref} registered"
                    + (" with its file" if name else " (no model file)"))  # fmt: skip


@router.post("/systems/{system}/models/{ref}")
async def model_update_form(request: Request, auth: FormAuth, system: str, ref: str) -> Response:
    """Change a model version's framework, training data, licence or source (its stage changes through
    approvals)."""
    values = _texts(await request.form())
    values.pop("csrf", None)
    try:
        current = auth.ws.models.get_version(system, ref).state()
        data = next((d["ref"] for d in _models(request, auth, system)["datasets"]
                     if d["id"] == current["training_dataset_version_id"]), None)  # fmt: skip
        now = {"framework": current["framework"] or "", "licence": current["licence"] or "",
               "source": current["source"] or "", "training_dataset": data or ""}  # fmt: skip
        changed: dict[str, Any] = {k: values.get(k, "").strip() for k in now if values.get(k, "").strip() != now[k]}
        if "training_dataset" in changed and not changed["training_dataset"]:
            changed["training_dataset"] = None
        if not changed:
            return web.done(request, f"/systems/{system}/models", "Nothing changed", kind="warn")
        await run_in_threadpool(auth.ws.models.update_version, system, ref, changed)
    except AssayError as exc:
        return _failed_form(request, auth, system, "edit_model", exc, {**values, "ref": ref},
                            known=("training_dataset", "licence", "framework", "source"))  # fmt: skip
    return web.done(request, f"/systems/{system}/models", f"Model version {ref} saved: {', '.join(sorted(changed))}")


@router.post("/systems/{system}/datasets")
async def dataset_upload_form(request: Request, auth: FormAuth, system: str) -> Response:
    """Register a dataset version from an uploaded CSV, TSV or Parquet file (kept in the artifact store) in a
    dataset owned by the system. Parsed after the authentication and the CSRF check."""
    form = await request.form(**_FORM_LIMITS)
    values = _texts(form)
    values.pop("csrf", None)
    # the form's names differ from the model form's on the same page (one id per field): data_version, ...
    named = {"dataset": "dataset", "version": "data_version", "source": "data_source", "licence": "data_licence",
             "collection_method": "collection_method"}  # fmt: skip
    fields: dict[str, Any] = {key: values.get(name, "").strip() for key, name in named.items()}
    fields = {k: v for k, v in fields.items() if v or k in ("dataset", "version")}
    try:
        file = _file_of(form)
        if file is None:
            raise InvalidInput("choose the dataset's file (CSV, TSV or Parquet)", fields={"file": "choose a file"})
        suffix = _suffix(file, DATA_SUFFIXES, "the dataset file")

        def register() -> None:  # disk and parsing work: off the event loop
            with tempfile.TemporaryDirectory() as folder:
                target = Path(folder) / f"upload{suffix}"  # never a client-chosen path
                with target.open("wb") as out:
                    shutil.copyfileobj(file.file, out, 1024 * 1024)
                auth.ws.datasets.register_version(fields, system=system, file=target, copy=True,
                                                  principal=auth.principal)  # fmt: skip

        await run_in_threadpool(register)
    except AssayError as exc:
        return _failed_form(request, auth, system, "upload", exc, values, field="data_version", known=("file",),
                            names=named)  # fmt: skip
    finally:
        await form.close()
    ref = f"{fields['dataset']}@{fields['version']}"
    row_count = auth.ws.datasets.get_version(ref).row_count
    return web.done(request, f"/systems/{system}/models", f"Dataset version {ref} uploaded ({row_count} rows)")


@router.post("/systems/{system}/datasets/{ref}")
async def dataset_update_form(request: Request, auth: FormAuth, system: str, ref: str) -> Response:
    """Change a dataset version's provenance, location or personal-data fields (its content may not change:
    upload a new version)."""
    values = _texts(await request.form())
    values.pop("csrf", None)
    try:
        current = auth.ws.datasets.get_version(ref, principal=auth.principal).state()
        changed: dict[str, Any] = {}
        for key in _DATA_EDIT:
            given = values.get(key, "").strip()
            if given != str(current.get(key) or ""):
                changed[key] = given or (None if key in ("uri", "period_start", "period_end") else "")
        pii = _ticked(values.get("pii"))
        categories = _lines(values.get("personal_data_categories", ""))
        if pii != bool(current["pii"]):
            changed["pii"] = pii
        if categories != list(current["personal_data_categories"] or []):
            changed["personal_data_categories"] = categories
        if not changed:
            return web.done(request, f"/systems/{system}/models", "Nothing changed", kind="warn")
        await run_in_threadpool(auth.ws.datasets.update_version, ref, changed, principal=auth.principal)
    except AssayError as exc:
        return _failed_form(request, auth, system, "edit_data", exc, {**values, "ref": ref},
                            known=("period_end", "period_start", "personal_data_categories", "uri"))  # fmt: skip
    return web.done(request, f"/systems/{system}/models", f"Dataset version {ref} saved: {', '.join(sorted(changed))}")
