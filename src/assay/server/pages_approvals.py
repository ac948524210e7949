"""The approvals pages: the inbox (``/approvals``), one request with everything an approver needs to decide it
(``/approvals/{id}``: the gate for the stage, readiness, open risks, the model card, what changed since the
system's last approval; approve, reject and withdraw as ordinary forms), a system's approvals (request one, its
history) and its gates and waivers (the policy in force in words, a gate judged for a version and stage, the
recorded runs, waivers given and revoked).

Every page calls the services the API calls, so the permission table, the rules (no approval while a rule of the
gate fails unwaived, no approving one's own request, waivers by the requester do not count for their request)
and the audit events are the API's. Each page has a ``.json`` twin; each table a ``.csv`` export.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from assay.errors import AssayError, InvalidInput
from assay.governance.records import MODEL_STAGES
from assay.governance.risk import LEVELS as RISK_LEVELS
from assay.server import web
from assay.server.deps import Auth, page_user
from assay.server.ui import FormAuth, _readiness_shares
from assay.server.web_cache import shared_cache
from assay.services.access import allowed
from assay.services.approvals import ApprovalView

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

STATUSES: Final = ("pending", "approved", "rejected", "withdrawn")
READINESS_FRAMEWORK: Final = "iso42001"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _age_days(created: dt.datetime) -> int:
    created = created if created.tzinfo is not None else created.replace(tzinfo=dt.UTC)
    return max(0, (_now() - created).days)


def _shares(request: Request, auth: Auth) -> dict[str, float | None]:
    """Each system's readiness share (ISO/IEC 42001 Annex A), from the readiness every page shares."""
    shares = _readiness_shares(auth, shared_cache(request), (READINESS_FRAMEWORK,))
    return {system: by_framework.get(READINESS_FRAMEWORK) for system, by_framework in shares.items()}


def _gate_text(gate: dict[str, Any] | None) -> tuple[str, str]:
    """The gate result in a few words and its verdict (pass, fail, other)."""
    if gate is None:
        return "no policy guards the stage", "other"
    failing = len(gate["blocking"])
    if failing:
        return f"fails {failing} of {gate['counts']['rules']}", "fail"
    waived = gate["counts"]["waived"]
    return "passes" + (f" ({waived} waived)" if waived else ""), "pass"


def _gate_for(auth: Auth, view: ApprovalView) -> dict[str, Any] | None:
    """The gate of the request's stage judged now, waivers by the requester not counted (as at the approval)."""
    return _gates_for(auth, [view])[0]


def _gates_for(auth: Auth, views: Sequence[ApprovalView]) -> list[dict[str, Any] | None]:
    """:func:`_gate_for` of each request, in one read."""
    return auth.ws.gates.check_many([(v.system, v.ref, v.stage, v.requested_by) for v in views])


def _row(view: ApprovalView, gate: dict[str, Any] | None, share: float | None, judged: bool) -> dict[str, Any]:
    text, verdict = _gate_text(gate) if judged else ("–", "other")
    return {
        "id": view.id,
        "system": view.system,
        "ref": view.ref,
        "stage": view.stage,
        "status": view.status,
        "stale": view.stale,
        "requested_by": view.requested_by,
        "created_at": view.created_at.isoformat(),
        "age_days": _age_days(view.created_at),
        "gate": text,
        "gate_verdict": verdict,
        "gate_failing": None if gate is None or not judged else len(gate["blocking"]),
        "gate_rules": None if gate is None or not judged else gate["counts"]["rules"],
        "approvals": f"{view.approvals} of {view.required_approvals}",
        "readiness": share,
    }


# -- the inbox ---------------------------------------------------------------------------------------------------


def _inbox_columns(systems: list[str]) -> list[web.Column]:
    return [
        web.Column("id", "Request", kind="number"),
        web.Column("system", "System", choices=systems),
        web.Column("ref", "Model version"),
        web.Column("stage", "Stage", choices=MODEL_STAGES),
        web.Column("status", "Status", choices=STATUSES),
        web.Column("requested_by", "Requested by"),
        web.Column("created_at", "When", kind="date"),
        web.Column("age_days", "Age (days)", kind="number"),
        web.Column("gate", "Gate for the stage"),
        web.Column("approvals", "Approvals", sortable=False),
        web.Column("readiness", "Readiness", kind="number"),
    ]


def _inbox(request: Request, auth: Auth, *, csv: bool = False) -> tuple[dict[str, Any], web.Table]:
    """Every request the person may see; pending ones only when the page is opened without a query (an inbox),
    the filters choose the others. The gate is judged now for pending requests (decided ones keep their record)."""
    views = list(auth.ws.approvals.list())
    shares = _shares(request, auth)
    default_pending = not request.url.query
    shown = [v for v in views if not default_pending or v.status == "pending"]
    judged = [v for v in shown if v.status == "pending"]  # the gate judged now, in one read for all of them
    gates = dict(zip([v.id for v in judged], _gates_for(auth, judged), strict=True))
    rows = [_row(v, gates.get(v.id), shares.get(v.system), v.status == "pending") for v in shown]
    columns = _inbox_columns(sorted({v.system for v in views}))
    table = web.table(request, columns, rows, default_sort="id", default_desc=True, per=10**6 if csv else 50)
    if default_pending:
        table.filters["status"] = "pending"
    context = {
        "page": "approvals",
        "user": page_user(auth.principal),
        "pending": sum(v.status == "pending" for v in views),
        "table": {"total": table.total, "rows": table.rows, "page": table.page, "pages": table.pages},
    }
    return context, table


@router.get("/approvals.json")
def approvals_json(request: Request, auth: Auth) -> Response:
    return web.twin(_inbox(request, auth)[0])


@router.get("/approvals.csv")
def approvals_csv(request: Request, auth: Auth) -> Response:
    _, table = _inbox(request, auth, csv=True)
    return web.csv_response("approvals", table.columns, table.rows)


@router.get("/approvals")
def approvals_page(request: Request, auth: Auth) -> Response:
    """The approvals inbox: each request with its gate result for the stage and the system's readiness."""
    context, table = _inbox(request, auth)
    return web.render(request, "approvals", {**context, "t": table})


# -- one request --------------------------------------------------------------------------------------------------


def _card(auth: Auth, system: str, ref: str) -> dict[str, Any]:
    card = auth.ws.cards.build(system, ref)
    model = card["model"]
    training = card.get("training_data") or {}
    base = f"/systems/{quote(system)}/models/{quote(ref)}/card"
    return {
        "ref": model["ref"],
        "description": model.get("description", ""),
        "framework": model.get("framework", ""),
        "stage": model.get("stage"),
        "lineage": model.get("lineage", []),
        "artifact_sha256": model.get("artifact_sha256"),
        "training_data": training.get("ref") if isinstance(training, dict) else None,
        "caveats": card.get("caveats", []),
        "links": {"html": base, "pdf": f"{base}?format=pdf", "json": f"{base}.json"},
    }


def _risks(auth: Auth, system: str) -> dict[str, Any]:
    risks = [r.state() for r in auth.ws.risks.list(system, status="open")]
    levels = Counter(r["level"] for r in risks)
    order = {level: n for n, level in enumerate(reversed(RISK_LEVELS))}
    risks.sort(key=lambda r: (order.get(r["level"], 99), r["id"]))
    return {
        "open": len(risks),
        "by_level": {level: levels[level] for level in reversed(RISK_LEVELS) if levels[level]},
        "items": [{k: r[k] for k in ("id", "title", "level", "treatment", "owner")} for r in risks[:20]],
        "link": f"/systems/{quote(system)}/risks",
    }


def _approval(request: Request, auth: Auth, request_id: int) -> dict[str, Any]:
    ws, who = auth.ws, auth.principal
    view = ws.approvals.get(request_id)
    pending = view.status == "pending"
    gate = _gate_for(auth, view) if pending else None
    mine = who.name == view.requested_by
    decided = any(d["approver"] == who.name for d in view.decisions)
    may_approve = allowed(who, "approve", view.system)
    blocked = bool(gate and gate["blocking"])
    share = _shares(request, auth).get(view.system)
    query = urlencode({"ref": view.ref, "stage": view.stage})
    return {
        "page": "approval",
        "user": page_user(who),
        "approval": {**view.to_dict(), "age_days": _age_days(view.created_at)},
        "system": view.system,
        "gate": gate,
        "gate_text": _gate_text(gate)[0] if pending else None,
        "gates_link": f"/systems/{quote(view.system)}/gates?{query}",
        "waivers_link": f"/systems/{quote(view.system)}/gates?{query}#waivers",
        "readiness": {"framework": READINESS_FRAMEWORK, "share": share, "link": "/readiness"},
        "risks": _risks(auth, view.system),
        "card": _card(auth, view.system, view.ref),
        "changes": ws.approvals.changes(request_id),
        "can_decide": pending and may_approve and not mine and not decided and not view.stale,
        "can_approve": pending and may_approve and not mine and not decided and not view.stale and not blocked,
        "why_not": _why_not(view, gate, may_approve=may_approve, mine=mine, decided=decided),
        "can_withdraw": pending and mine and allowed(who, "write", view.system),
    }


def _why_not(view: ApprovalView, gate: dict[str, Any] | None, *, may_approve: bool, mine: bool, decided: bool) -> str:
    """Why this person cannot approve the request now ("" when they can)."""
    if view.status != "pending":
        return f"The request is {view.status}."
    if not may_approve:
        return f"Deciding needs the approver role on {view.system}."
    if mine:
        return "You made this request: someone else decides it."
    if decided:
        return "You have decided on this request."
    if view.stale:
        return (
            "The model version, its assessments or the system's risks changed since the request: the requester "
            "withdraws it and requests again."
        )
    if gate and gate["blocking"]:
        return (
            f"The gate {gate['policy']['name']} for {view.stage} fails {len(gate['blocking'])} of "
            f"{gate['counts']['rules']} rules ({', '.join(gate['blocking'])}): approving is not possible until they "
            f"are fixed or waived by someone other than {view.requested_by}."
        )
    return ""


def _forms(**forms: dict[str, Any]) -> dict[str, Any]:
    return {"decide_form": web.empty_form(), "withdraw_form": web.empty_form(), **forms}


@router.get("/approvals/{request_id}.json")
def approval_json(request: Request, auth: Auth, request_id: int) -> Response:
    return web.twin(_approval(request, auth, request_id))


@router.get("/approvals/{request_id}")
def approval_page(request: Request, auth: Auth, request_id: int) -> Response:
    """One request with everything an approver needs, and its decision, rejection or withdrawal."""
    return web.render(request, "approval", {**_approval(request, auth, request_id), **_forms()})


@router.post("/systems/{system}/approvals/{request_id}/decision")
def approval_decide_form(
    request: Request,
    auth: FormAuth,
    system: str,
    request_id: int,
    decision: Annotated[str, Form(max_length=20)],
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve or reject with a comment (the service refuses an approval while the gate fails unwaived)."""
    values = {"decision": decision, "comment": comment}
    try:
        if decision == "reject" and not comment.strip():
            raise InvalidInput("a rejection needs a comment saying why", fields={"comment": "say why"})
        view = auth.ws.approvals.decide(request_id, decision, comment=comment, system=system)
    except AssayError as exc:
        context = {**_approval(request, auth, request_id), **_forms()}
        return web.failed(request, "approval", context, exc, values, form="decide_form")
    if decision == "reject":
        message = f"Request {view.id} rejected: {view.ref} stays in {view.model_stage}."
    elif view.status == "approved":
        message = f"Request {view.id} approved: {view.ref} is now in {view.stage}."
    else:
        message = f"Your approval of request {view.id} is recorded: {view.approvals} of {view.required_approvals}."
    return web.done(request, f"/approvals/{view.id}", message)


@router.post("/systems/{system}/approvals/{request_id}/withdraw")
def approval_withdraw_form(
    request: Request,
    auth: FormAuth,
    system: str,
    request_id: int,
    why: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Withdraw a pending (or stale) request, by its requester, after the confirmation."""
    values = {"why": why}
    try:
        web.require_confirmation(confirm, "withdrawing an approval request")
        view = auth.ws.approvals.withdraw(request_id, comment=why, system=system)
    except AssayError as exc:
        context = {**_approval(request, auth, request_id), **_forms()}
        return web.failed(request, "approval", context, exc, values, form="withdraw_form")
    return web.done(request, f"/approvals/{view.id}", f"Request {view.id} withdrawn: request again when ready.")


# -- a system's approvals ----------------------------------------------------------------------------------------

HISTORY_COLUMNS: Final = (
    web.Column("id", "Request", kind="number"),
    web.Column("ref", "Model version"),
    web.Column("stage", "Stage", choices=MODEL_STAGES),
    web.Column("status", "Status", choices=STATUSES),
    web.Column("requested_by", "Requested by"),
    web.Column("created_at", "When", kind="date"),
    web.Column("decided_at", "Decided", kind="date"),
    web.Column("approvals", "Approvals", sortable=False),
    web.Column("decisions", "Decisions", sortable=False),
    web.Column("stale", "Changed since", sortable=False),
)


def _history_rows(auth: Auth, system: str) -> list[dict[str, Any]]:
    return [
        {
            "id": v.id,
            "ref": v.ref,
            "stage": v.stage,
            "status": v.status,
            "requested_by": v.requested_by,
            "created_at": v.created_at.isoformat(),
            "decided_at": None if v.decided_at is None else v.decided_at.isoformat(),
            "approvals": f"{v.approvals} of {v.required_approvals}",
            "decisions": "; ".join(f"{d['approver']}: {d['decision']}" for d in v.decisions),
            "stale": "yes" if v.stale else "no",
        }
        for v in auth.ws.approvals.list(system)
    ]


def _system_approvals(
    request: Request, auth: Auth, system: str, *, csv: bool = False
) -> tuple[dict[str, Any], web.Table]:
    ws = auth.ws
    name = ws.systems.get(system).name
    versions = [f"{m.name}@{v.version}" for m, v in ws.models.list_versions(name)]
    table = web.table(request, HISTORY_COLUMNS, _history_rows(auth, name), default_sort="id", default_desc=True,
                      per=10**6 if csv else 50)  # fmt: skip
    context = {
        "page": "system_approvals",
        "user": page_user(auth.principal),
        "system": name,
        "versions": versions,
        "stages": list(MODEL_STAGES),
        "can_request": allowed(auth.principal, "write", name),
        "table": {"total": table.total, "rows": table.rows, "page": table.page, "pages": table.pages},
    }
    return context, table


def _options(context: dict[str, Any]) -> dict[str, Any]:
    """Model versions as a select's (value, label) pairs: shown as registered, not turned into words."""
    return {"version_options": [(v, v) for v in context["versions"]]}


@router.get("/systems/{system}/approvals.json")
def system_approvals_json(request: Request, auth: Auth, system: str) -> Response:
    return web.twin(_system_approvals(request, auth, system)[0])


@router.get("/systems/{system}/approvals.csv")
def system_approvals_csv(request: Request, auth: Auth, system: str) -> Response:
    _, table = _system_approvals(request, auth, system, csv=True)
    return web.csv_response(f"approvals-{system}", table.columns, table.rows)


@router.get("/systems/{system}/approvals")
def system_approvals_page(request: Request, auth: Auth, system: str) -> Response:
    """A system's approvals: request one, and its history."""
    context, table = _system_approvals(request, auth, system)
    form = web.empty_form({"stage": "production", "ref": context["versions"][-1] if context["versions"] else ""})
    return web.render(request, "system_approvals", {**context, **_options(context), "t": table, "form": form})


@router.post("/systems/{system}/approvals")
def approval_request_form(
    request: Request,
    auth: FormAuth,
    system: str,
    ref: Annotated[str, Form(max_length=201)],
    stage: Annotated[str, Form(max_length=20)] = "production",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Request approval to move a model version to a stage."""
    values = {"ref": ref, "stage": stage, "comment": comment}
    try:
        if stage not in MODEL_STAGES:
            raise InvalidInput(
                f"stage {stage!r} is not one of {', '.join(MODEL_STAGES)}", fields={"stage": "choose one"}
            )
        if not ref.strip():
            raise InvalidInput("choose the model version to approve", fields={"ref": "choose one"})
        view = auth.ws.approvals.request(system, ref.strip(), stage, comment=comment)
    except AssayError as exc:
        context, table = _system_approvals(request, auth, system)
        return web.failed(request, "system_approvals", {**context, **_options(context), "t": table}, exc, values)
    return web.done(
        request,
        f"/approvals/{view.id}",
        f"Approval request {view.id} made: {view.ref} to {view.stage}, {view.required_approvals} approval(s) needed.",
    )


# -- a system's gates and waivers ---------------------------------------------------------------------------------

WAIVER_COLUMNS: Final = (
    web.Column("id", "Waiver", kind="number"),
    web.Column("rule", "Rule"),
    web.Column("model_version", "Model version"),
    web.Column("reason", "Reason"),
    web.Column("waived_by", "By"),
    web.Column("expires", "Until"),
    web.Column("state", "State", choices=("active", "expired", "revoked")),
    web.Column("created_at", "Given", kind="date"),
    web.Column("revoked_at", "Revoked", kind="date"),
)
# the CSV export also names who revoked a waiver and why (the page shows them in the "Revoked" cell)
WAIVER_CSV_COLUMNS: Final = (
    *WAIVER_COLUMNS,
    web.Column("revoked_by", "Revoked by"),
    web.Column("revoke_reason", "Why revoked"),
)


def _waiver_rows(auth: Auth, system: str, refs: dict[int, str]) -> list[dict[str, Any]]:
    return [
        {
            **{k: w[k] for k in ("id", "rule", "reason", "waived_by", "state")},
            "model_version": "every version" if w["model_version_id"] is None else refs.get(w["model_version_id"]),
            "expires": w["expires"].isoformat(),
            "created_at": w["created_at"].isoformat(),
            **_revocation(w["revoked"]),
        }
        for w in auth.ws.gates.waivers(system)
    ]


def _revocation(revoked: dict[str, Any] | None) -> dict[str, Any]:
    """Whether, when, by whom and why a waiver was revoked (the service's ``revoked``; none: not revoked)."""
    found = revoked or {}
    return {"revoked_at": found.get("at"), "revoked_by": found.get("by"), "revoke_reason": found.get("reason")}


def _gates(
    request: Request, auth: Auth, system: str, *, csv: bool = False, revoke: int | None = None
) -> tuple[dict[str, Any], web.Table]:
    ws = auth.ws
    name = ws.systems.get(system).name
    pairs = list(ws.models.list_versions(name))
    refs = {v.id: f"{m.name}@{v.version}" for m, v in pairs}
    policies = ws.gates.in_force(name)
    ref = request.query_params.get("ref", "")
    stage = request.query_params.get("stage", "") or (policies[0]["stage"] if policies else "production")
    if stage not in MODEL_STAGES:
        raise InvalidInput(f"stage {stage!r} is not one of {', '.join(MODEL_STAGES)}", fields={"stage": "choose one"})
    check = None
    if ref:
        check = ws.gates.check(name, ref, stage)
    waivers = _waiver_rows(auth, name, refs)
    table = web.table(request, WAIVER_COLUMNS, waivers, default_sort="id", default_desc=True,
                      per=10**6 if csv else 50)  # fmt: skip
    asked = str(revoke) if revoke is not None else request.query_params.get("revoke", "")
    revoking = next((w for w in waivers if str(w["id"]) == asked and w["state"] == "active"), None)
    rules = sorted({r["id"] for p in policies for r in p["rules"]} | {"approvals"})
    failing = [] if check is None else [r["rule"] for r in check["results"] if r["status"] == "failed"]
    context = {
        "page": "gates",
        "user": page_user(auth.principal),
        "system": name,
        "policies": policies,
        "versions": list(refs.values()),
        "stages": list(MODEL_STAGES),
        "chosen": {"ref": ref, "stage": stage},
        "check": check,
        "runs": ws.gates.system_runs(name),
        "rules": rules,
        "failing": failing,
        "can_write": allowed(auth.principal, "write", name),
        "revoking": revoking,
        "table": {"total": table.total, "rows": table.rows, "page": table.page, "pages": table.pages},
    }
    return context, table


def _gates_page(
    request: Request, auth: Auth, system: str, *, revoke: int | None = None, **forms: dict[str, Any]
) -> dict[str, Any]:
    context, table = _gates(request, auth, system, revoke=revoke)
    until = (dt.date.today() + dt.timedelta(days=90)).isoformat()
    defaults = {
        "waive_form": web.empty_form({"rule": context["failing"][0] if context["failing"] else "", "expires": until,
                                      "model_version": context["chosen"]["ref"]}),
        "run_form": web.empty_form(context["chosen"]),
        "revoke_form": web.empty_form(),
    }  # fmt: skip
    failing = context["failing"]
    options = {
        "version_options": [(v, v) for v in context["versions"]],
        "rule_options": [(r, r) for r in failing] + [(r, r) for r in context["rules"] if r not in failing],
    }
    return {**context, **options, "t": table, **defaults, **forms}


@router.get("/systems/{system}/gates.json")
def gates_json(request: Request, auth: Auth, system: str) -> Response:
    return web.twin(_gates(request, auth, system)[0])


@router.get("/systems/{system}/gates.csv")
def gates_csv(request: Request, auth: Auth, system: str) -> Response:
    """The waivers table as CSV."""
    _, table = _gates(request, auth, system, csv=True)
    return web.csv_response(f"waivers-{system}", WAIVER_CSV_COLUMNS, table.rows)


@router.get("/systems/{system}/gates")
def gates_page(request: Request, auth: Auth, system: str) -> Response:
    """The gate policy in force, a gate judged for a chosen version and stage, the runs recorded, the waivers."""
    return web.render(request, "gates", _gates_page(request, auth, system))


@router.post("/systems/{system}/gates")
def gate_run_form(
    request: Request,
    auth: FormAuth,
    system: str,
    ref: Annotated[str, Form(max_length=201)],
    stage: Annotated[str, Form(max_length=20)] = "production",
) -> Response:
    """Judge the gate for a version and stage and record the run (a ``gate.evaluate`` event)."""
    values = {"ref": ref, "stage": stage}
    try:
        if stage not in MODEL_STAGES:
            raise InvalidInput(
                f"stage {stage!r} is not one of {', '.join(MODEL_STAGES)}", fields={"stage": "choose one"}
            )
        decision = auth.ws.gates.evaluate(system, ref.strip(), stage=stage)
    except AssayError as exc:
        return web.failed(request, "gates", _gates_page(request, auth, system), exc, values, form="run_form")
    verdict = "passed" if decision["passed"] else f"failed {decision['counts']['failed']} rule(s)"
    query = urlencode({"ref": decision["ref"], "stage": stage})
    return web.done(
        request, f"/systems/{quote(system)}/gates?{query}", f"Gate run {decision['id']} recorded: {verdict}."
    )


@router.post("/systems/{system}/waivers")
def waiver_form(
    request: Request,
    auth: FormAuth,
    system: str,
    rule: Annotated[str, Form(max_length=80)],
    reason: Annotated[str, Form(max_length=5000)],
    expires: Annotated[str, Form(max_length=20)],
    model_version: Annotated[str, Form(max_length=201)] = "",
) -> Response:
    """Waive a rule of the gate until a date, with a reason (for one model version, or every one)."""
    values = {"rule": rule, "reason": reason, "expires": expires, "model_version": model_version}
    try:
        try:
            until = dt.date.fromisoformat(expires.strip())
        except ValueError:
            raise InvalidInput(
                f"expiry {expires!r} is not a date: give YYYY-MM-DD", fields={"expires": "a date, YYYY-MM-DD"}
            ) from None
        waiver = auth.ws.gates.waive(
            system, rule, reason=reason, expires=until, model_version=model_version.strip() or None
        )
    except AssayError as exc:
        return web.failed(request, "gates", _gates_page(request, auth, system), exc, values, form="waive_form")
    return web.done(
        request,
        f"/systems/{quote(system)}/gates#waivers",
        f"Waiver {waiver.id} given: rule {waiver.rule} may fail until {waiver.expires}.",
    )


@router.post("/systems/{system}/waivers/{waiver_id}/revoke")
def waiver_revoke_form(
    request: Request,
    auth: FormAuth,
    system: str,
    waiver_id: int,
    why: Annotated[str, Form(max_length=5000)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Revoke an active waiver with a reason, after the confirmation."""
    values = {"why": why}
    try:
        web.require_confirmation(confirm, "revoking a waiver")
        if not why.strip():
            raise InvalidInput("revoking a waiver needs a reason", fields={"why": "say why"})
        revoked = auth.ws.gates.revoke_waiver(system, waiver_id, reason=why)
    except AssayError as exc:
        context = _gates_page(request, auth, system, revoke=waiver_id)
        return web.failed(request, "gates", context, exc, values, form="revoke_form")
    return web.done(
        request,
        f"/systems/{quote(system)}/gates#waivers",
        f"Waiver {revoked['id']} revoked: rule {revoked['rule']} counts again.",
    )
