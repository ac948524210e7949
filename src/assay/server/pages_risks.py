"""The risk pages: each system's risk register (add, edit, close, reopen), the register across systems (paged and
filtered in the database), impact assessments (ISO/IEC 42005: draft, edit heading by heading, finalise) and
incidents with their corrective actions (ISO/IEC 42001 clause 10.2).

Every page has its ``.json`` twin (and its tables a ``.csv``); every form posts to the page's path and answers
:func:`~assay.server.web.done` or :func:`~assay.server.web.failed`. The pages call the services the API calls
(``ws.risks``, ``ws.impact_assessments``, ``ws.incidents``), so the permission table, validation and audit events
are the API's.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from functools import cache
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from assay.errors import AssayError, Conflict, InvalidInput
from assay.governance.catalogues import list_frameworks, load_catalogue
from assay.governance.records import (
    IMPACT_GUIDANCE,
    IMPACT_HEADINGS,
    IMPACT_SCALE,
    INCIDENT_SEVERITIES,
    INCIDENT_STATUSES,
    LIKELIHOOD_SCALE,
    RISK_STATUSES,
    TREATMENTS,
)
from assay.governance.risk import LEVELS
from assay.reports.jsonable import jsonable
from assay.server import web
from assay.server.deps import Auth, page_user
from assay.server.ui import FormAuth
from assay.services.access import allowed
from assay.services.incidents import TRANSITIONS
from assay.services.risks import RiskQuery, missing_headings, risk_record

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=20_000)]
Short = Annotated[str, Form(max_length=300)]
Choices = Annotated[list[str], Form()]

RATINGS: Final = tuple(range(1, 6))
_REVIEWABLE_REASON: Final = 2_000


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _context(auth: Auth, page: str, system: str | None = None, **data: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"page": page, "user": page_user(auth.principal)}
    if system is not None:
        context["system"] = system
        context["can_write"] = allowed(auth.principal, "write", system)
    return {**context, **data}


def _html_or_json(request: Request, name: str, context: Mapping[str, Any], *, json_twin: bool) -> Response:
    return web.twin(jsonable(dict(context))) if json_twin else web.render(request, name, context)


def _members(auth: Auth, system: str) -> list[tuple[str, str]]:
    """The people a risk or an action may be assigned to: the system's members, as (name, "name (role)")."""
    return [(name, f"{name} ({role})") for name, role in auth.ws.access.members(system).items()]


def _with_current(options: list[tuple[str, str]], current: str | None) -> list[tuple[str, str]]:
    """``options`` with a stored value that is no longer among them (a former member), so editing keeps it."""
    if current and current not in {value for value, _ in options}:
        return [*options, (current, f"{current} (no longer a member)")]
    return options


@cache
def _control_groups() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """The catalogues' controls a risk can name, by framework: each entry without children (a control, a
    subcategory, an obligation), as (``framework:id``, "id title")."""
    groups = []
    for framework in list_frameworks():
        catalogue = load_catalogue(framework.id)
        parents = {c.parent for c in catalogue.controls if c.parent}
        leaves = tuple((c.ref, f"{c.id} {c.title}") for c in catalogue.controls if c.id not in parents)
        groups.append((framework.id, leaves))
    return tuple(groups)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _rating(value: str) -> int | str | None:
    """A rating as typed: a whole number, else the text (the record's validation names the field), None if empty."""
    value = value.strip()
    if not value:
        return None
    return int(value) if value.isdigit() else value


# -- a system's risk register ---------------------------------------------------------------------------------------

REGISTER: Final = (
    web.Column("id", "#", kind="number"),
    web.Column("title", "Risk"),
    web.Column("source", "Source"),
    web.Column("level", "Level", sortable=False, kind="level", choices=LEVELS),
    web.Column("score", "Likelihood × impact", kind="number"),
    web.Column("treatment", "Treatment", choices=TREATMENTS),
    web.Column("owner", "Owner"),
    web.Column("review_date", "Review by", kind="date"),
    web.Column("residual_level", "Residual level", sortable=False, kind="level"),
    web.Column("controls", "Controls", sortable=False),
    web.Column("status", "Status", choices=RISK_STATUSES),
)
# the CSV: every stored field, lists joined
RISK_CSV: Final = (
    *(web.Column(key, key) for key in ("id", "system", "title", "source", "description", "affected", "likelihood",
                                       "impact", "score", "level", "treatment", "controls", "owner",
                                       "residual_likelihood", "residual_impact", "residual_score", "residual_level",
                                       "review_date", "overdue", "status", "created_at", "updated_at")),
)  # fmt: skip


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: "; ".join(v) if isinstance(v, list) else v for k, v in row.items()}


def _risk_rows(auth: Auth, system: str) -> list[dict[str, Any]]:
    today = _today()
    rows = []
    for risk in auth.ws.risks.list(system):
        record = risk_record(risk)
        due = risk.review_date
        rows.append({**record, "system": system, "overdue": risk.status == "open" and due is not None and due < today})
    return rows


def _register(request: Request, auth: Auth, system: str, form: Mapping[str, Any] | None = None) -> dict[str, Any]:
    table = web.table(request, REGISTER, _risk_rows(auth, system), default_sort="score", default_desc=True,
                      searchable=("title", "source", "owner", "description"))  # fmt: skip
    return _context(
        auth, "risks", system,
        risks=table.rows, total=table.total, paging={"page": table.page, "per": table.per},
        table=table, form=form or web.empty_form(), **_risk_choices(auth, system),
    )  # fmt: skip


def _risk_choices(auth: Auth, system: str, current_owner: str | None = None) -> dict[str, Any]:
    return {
        "members": _with_current(_members(auth, system), current_owner),
        "likelihoods": [(n, f"{n} · {LIKELIHOOD_SCALE[n]}") for n in RATINGS],
        "impacts": [(n, f"{n} · {IMPACT_SCALE[n]}") for n in RATINGS],
        "treatments": list(TREATMENTS),
        "control_groups": _control_groups(),
    }


def _twin_of(context: Mapping[str, Any]) -> dict[str, Any]:
    """What a page's ``.json`` twin holds: its context without the rendering state (the table, the form, the
    choices of its selects)."""
    hidden = {"table", "form", "members", "likelihoods", "impacts", "treatments", "control_groups", "edit",
              "status_form", "action_form", "finalise_form", "versions"}  # fmt: skip
    return {k: v for k, v in context.items() if k not in hidden}


@router.get("/systems/{system}/risks.json")
def risks_json(request: Request, auth: Auth, system: str) -> Response:
    return web.twin(jsonable(_twin_of(_register(request, auth, system))))


@router.get("/systems/{system}/risks.csv")
def risks_csv(request: Request, auth: Auth, system: str) -> Response:
    table = web.table(request, REGISTER, _risk_rows(auth, system), default_sort="score", default_desc=True,
                      per=web.CSV_MAX_ROWS, searchable=("title", "source", "owner", "description"))  # fmt: skip
    return web.csv_response(f"risks-{system}", RISK_CSV, (_flat(r) for r in table.rows))


@router.get("/systems/{system}/risks")
def risks_page(request: Request, auth: Auth, system: str) -> Response:
    """The risk register of a system: sorted, filtered and searched; the form to add a risk."""
    return web.render(request, "risks", _register(request, auth, system))


RISK_FORM: Final = ("title", "source", "description", "affected", "likelihood", "impact", "treatment", "owner",
                    "review_date", "residual_likelihood", "residual_impact")  # fmt: skip


def _risk_fields(shown: Mapping[str, Any]) -> dict[str, Any]:
    """The risk's fields from the form as typed (``shown``): empty ratings and dates as none, one affected party
    a line."""
    fields: dict[str, Any] = {
        "title": shown["title"], "source": shown["source"], "description": shown["description"],
        "affected": _lines(shown["affected"]), "likelihood": _rating(shown["likelihood"]),
        "impact": _rating(shown["impact"]), "treatment": shown["treatment"].strip() or None,
        "owner": shown["owner"].strip(), "review_date": shown["review_date"].strip() or None,
        "controls": [c for c in shown["controls"] if c], "residual_likelihood": _rating(shown["residual_likelihood"]),
        "residual_impact": _rating(shown["residual_impact"]),
    }  # fmt: skip
    if (fields["residual_likelihood"] is None) != (fields["residual_impact"] is None):
        missing = "residual_impact" if fields["residual_impact"] is None else "residual_likelihood"
        raise InvalidInput(
            "give the residual likelihood and impact together, or neither", fields={missing: "choose this one too"}
        )
    return fields


def _residual_field(exc: AssayError) -> AssayError:
    """A refusal the whole record carries (a residual level above the inherent one) shown by the residual field."""
    if isinstance(exc, InvalidInput) and not web.field_errors(exc) and "residual" in str(exc):
        return InvalidInput(str(exc), fields={"residual_likelihood": "a treatment cannot raise the risk"})
    return exc


def _member_owner(auth: Auth, system: str, owner: str, stored: str | None = None) -> None:
    """The owner chosen must be a member of the system (or the one already stored)."""
    if owner and owner != stored and owner not in auth.ws.access.members(system):
        raise InvalidInput(
            f"{owner!r} holds no role on {system}: choose one of its members", fields={"owner": "not a member"}
        )


@router.post("/systems/{system}/risks")
def risk_add(
    request: Request,
    auth: FormAuth,
    system: str,
    title: Short = "",
    source: Short = "",
    description: Text = "",
    affected: Text = "",
    likelihood: Short = "",
    impact: Short = "",
    treatment: Short = "",
    owner: Short = "",
    review_date: Short = "",
    controls: Choices = [],  # noqa: B006 (FastAPI copies a default)
    residual_likelihood: Short = "",
    residual_impact: Short = "",
) -> Response:
    """Add a risk: its level is computed from likelihood × impact; the treatment is the person's choice."""
    shown: dict[str, Any] = {key: value for key, value in locals().items() if key in RISK_FORM}
    shown["controls"] = list(controls)
    try:
        fields = _risk_fields(shown)
        _member_owner(auth, system, fields["owner"])
        risk = auth.ws.risks.add(system, fields)
    except (InvalidInput, Conflict) as exc:
        return web.failed(request, "risks", _register(request, auth, system), _residual_field(exc), shown)
    return web.done(request, f"/systems/{system}/risks", f"Risk #{risk.id} added: {risk.title} ({risk.level})")


def _risk_page(auth: Auth, system: str, risk_id: int, form: Mapping[str, Any] | None = None) -> dict[str, Any]:
    risk = auth.ws.risks.get(system, risk_id)
    record = {**risk_record(risk), "overdue": risk.status == "open" and risk.review_date is not None
              and risk.review_date < _today()}  # fmt: skip
    stored = {
        **{k: record[k] for k in ("title", "source", "description", "treatment", "owner", "controls")},
        **{k: "" if record[k] is None else str(record[k]) for k in ("likelihood", "impact", "residual_likelihood",
                                                                    "residual_impact", "review_date")},
        "affected": "\n".join(record["affected"]),
    }  # fmt: skip
    return _context(
        auth, "risk", system, risk=record, edit=form or web.empty_form(stored),
        **_risk_choices(auth, system, risk.owner),
    )  # fmt: skip


@router.get("/systems/{system}/risks/{risk_id}.json")
def risk_json(auth: Auth, system: str, risk_id: int) -> Response:
    return web.twin(jsonable(_twin_of(_risk_page(auth, system, risk_id))))


@router.get("/systems/{system}/risks/{risk_id}")
def risk_page(request: Request, auth: Auth, system: str, risk_id: int) -> Response:
    """One risk: its fields, the form to change them, close or reopen it."""
    return web.render(request, "risk", _risk_page(auth, system, risk_id))


@router.post("/systems/{system}/risks/{risk_id}")
def risk_edit(
    request: Request,
    auth: FormAuth,
    system: str,
    risk_id: int,
    title: Short = "",
    source: Short = "",
    description: Text = "",
    affected: Text = "",
    likelihood: Short = "",
    impact: Short = "",
    treatment: Short = "",
    owner: Short = "",
    review_date: Short = "",
    controls: Choices = [],  # noqa: B006 (FastAPI copies a default)
    residual_likelihood: Short = "",
    residual_impact: Short = "",
) -> Response:
    """Change a risk's fields; its levels are computed again."""
    shown: dict[str, Any] = {key: value for key, value in locals().items() if key in RISK_FORM}
    shown["controls"] = list(controls)
    try:
        fields = _risk_fields(shown)
        _member_owner(auth, system, fields["owner"], auth.ws.risks.get(system, risk_id).owner)
        risk = auth.ws.risks.update(system, risk_id, fields)
    except (InvalidInput, Conflict) as exc:
        context = _risk_page(auth, system, risk_id)
        return web.failed(request, "risk", context, _residual_field(exc), shown, form="edit")
    return web.done(request, f"/systems/{system}/risks/{risk_id}", f"Risk #{risk.id} saved ({risk.level})")


@router.post("/systems/{system}/risks/{risk_id}/close")
def risk_close(
    request: Request, auth: FormAuth, system: str, risk_id: int, reason: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    """Close a risk (it stays in the register and can be reopened)."""
    risk = auth.ws.risks.close(system, risk_id, reason=reason.strip())
    return web.done(request, f"/systems/{system}/risks/{risk_id}", f"Risk #{risk.id} closed")


@router.post("/systems/{system}/risks/{risk_id}/reopen")
def risk_reopen(
    request: Request, auth: FormAuth, system: str, risk_id: int, reason: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    risk = auth.ws.risks.reopen(system, risk_id, reason=reason.strip())
    return web.done(request, f"/systems/{system}/risks/{risk_id}", f"Risk #{risk.id} reopened")


# -- the register across systems -------------------------------------------------------------------------------------

ALL_STATUSES: Final = ("open", "closed", "any")


def _across_columns(auth: Auth) -> tuple[web.Column, ...]:
    systems = tuple(s.name for s in auth.ws.systems.list())
    return (
        web.Column("system", "System", choices=systems),
        web.Column("id", "#", sortable=False, kind="number"),
        web.Column("title", "Risk", sortable=False),
        web.Column("level", "Level", kind="level", choices=LEVELS),
        web.Column("likelihood", "Likelihood", sortable=False, kind="number", choices=tuple(map(str, RATINGS))),
        web.Column("impact", "Impact", sortable=False, kind="number", choices=tuple(map(str, RATINGS))),
        web.Column("treatment", "Treatment", sortable=False, choices=TREATMENTS),
        web.Column("owner", "Owner", sortable=False, choices=auth.ws.risks.owners()),
        web.Column("review_date", "Review by", kind="date"),
        web.Column("overdue", "Review overdue", sortable=False, choices=("yes", "no")),
        web.Column("status", "Status", sortable=False, choices=ALL_STATUSES),
    )


def _number(filters: Mapping[str, str], key: str) -> int | None:
    value = filters.get(key)
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidInput(f"{key} must be a whole number from 1 to 5, not {value!r}", fields={key: "1-5"})
    return int(value)


def _across_query(asked: web.TableQuery) -> RiskQuery:
    filters = asked.filters
    status = filters.get("status", "open")
    overdue = filters.get("overdue")
    return RiskQuery(
        system=filters.get("system"), level=filters.get("level"), status=None if status == "any" else status,
        treatment=filters.get("treatment"), owner=filters.get("owner"), likelihood=_number(filters, "likelihood"),
        impact=_number(filters, "impact"), overdue=None if overdue is None else overdue == "yes", q=asked.q,
        sort=asked.sort or "level", desc=asked.desc if asked.sort else True,
    )  # fmt: skip


def _across(request: Request, auth: Auth) -> tuple[dict[str, Any], web.Table, Callable[[int, int], list[Any]]]:
    columns = _across_columns(auth)
    asked = web.table_query(request, columns)
    query = _across_query(asked)

    def fetch(offset: int, limit: int) -> list[Any]:
        return [_shown(row) for row in auth.ws.risks.across(query, limit=limit, offset=offset)]

    found = auth.ws.risks.across(query, limit=asked.per, offset=asked.offset)
    rows = [_shown(row) for row in found]
    filters = {"status": "open", **asked.filters}  # the default shown as chosen (and kept in the table's links)
    table = web.Table(columns, rows, found.total, asked.q, asked.sort, asked.desc, asked.page, asked.per,
                      filters, request.url.path.removesuffix(".json").removesuffix(".csv"))  # fmt: skip
    context = _context(auth, "all_risks", risks=rows, total=found.total,
                       paging={"page": asked.page, "per": asked.per}, table=table)  # fmt: skip
    return context, table, fetch


def _shown(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**row, "overdue": "yes" if row["overdue"] else "no"}


@router.get("/risks.json")
def all_risks_json(request: Request, auth: Auth) -> Response:
    return web.twin(jsonable(_twin_of(_across(request, auth)[0])))


@router.get("/risks.csv")
def all_risks_csv(request: Request, auth: Auth) -> Response:
    _, table, fetch = _across(request, auth)
    return web.csv_response("risks", RISK_CSV, (_flat(r) for r in web.all_rows(table, fetch)))


@router.get("/risks")
def all_risks_page(request: Request, auth: Auth) -> Response:
    """Every open risk of the systems this person may see, filtered, sorted and paged in the database."""
    return web.render(request, "all_risks", _across(request, auth)[0])


# -- impact assessments ---------------------------------------------------------------------------------------------


def _impact_list(auth: Auth, system: str, form: Mapping[str, Any] | None = None) -> dict[str, Any]:
    assessments = [
        {**a.state(), "filled": len(IMPACT_HEADINGS) - len(missing_headings(a.sections))}
        for a in auth.ws.impact_assessments.list(system)
    ]
    return _context(auth, "impact", system, assessments=assessments, headings=len(IMPACT_HEADINGS),
                    form=form or web.empty_form())  # fmt: skip


@router.get("/systems/{system}/impact.json")
def impact_json(auth: Auth, system: str) -> Response:
    return web.twin(jsonable(_twin_of(_impact_list(auth, system))))


@router.get("/systems/{system}/impact")
def impact_page(request: Request, auth: Auth, system: str) -> Response:
    """A system's impact assessments (ISO/IEC 42005) and the form to start one."""
    return web.render(request, "impact", _impact_list(auth, system))


@router.post("/systems/{system}/impact")
def impact_create(request: Request, auth: FormAuth, system: str, title: Short = "", assessor: Short = "") -> Response:
    shown = {"title": title, "assessor": assessor}
    try:
        assessment = auth.ws.impact_assessments.create(system, {"title": title, "assessor": assessor.strip()})
    except InvalidInput as exc:
        return web.failed(request, "impact", _impact_list(auth, system), exc, shown)
    return web.done(
        request, f"/systems/{system}/impact/{assessment.id}",
        f"Impact assessment #{assessment.id} started: write each heading, then finalise it",
    )  # fmt: skip


def _assessment(
    auth: Auth, system: str, assessment_id: int, *, edit: Mapping[str, Any] | None = None,
    finalise: Mapping[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    assessment = auth.ws.impact_assessments.get(system, assessment_id)
    state = assessment.state()
    headings = [
        {"id": key, "title": title, "guidance": IMPACT_GUIDANCE[key], "text": state["sections"].get(key, "")}
        for key, title in IMPACT_HEADINGS.items()
    ]
    stored = {"title": state["title"], "assessor": state["assessor"], **{h["id"]: h["text"] for h in headings}}
    return _context(
        auth, "impact_assessment", system, assessment=state, headings=headings,
        missing=missing_headings(assessment.sections), edit=edit or web.empty_form(stored),
        finalise_form=finalise or web.empty_form(),
    )  # fmt: skip


@router.get("/systems/{system}/impact/{assessment_id}.json")
def assessment_json(auth: Auth, system: str, assessment_id: int) -> Response:
    return web.twin(jsonable(_twin_of(_assessment(auth, system, assessment_id))))


@router.get("/systems/{system}/impact/{assessment_id}")
def assessment_page(request: Request, auth: Auth, system: str, assessment_id: int) -> Response:
    """One impact assessment: a draft's headings to write (each with its guidance), a final one to read."""
    return web.render(request, "impact_assessment", _assessment(auth, system, assessment_id))


@router.post("/systems/{system}/impact/{assessment_id}")
async def assessment_save(request: Request, auth: FormAuth, system: str, assessment_id: int) -> Response:
    """Save a draft's title, assessor and the text of every heading (an empty text clears its heading)."""
    form = await request.form()  # read once by the CSRF check: one field per heading
    text = {key: str(form.get(key) or "") for key in ("title", "assessor", *IMPACT_HEADINGS)}
    too_long = {key: "at most 20,000 characters" for key, value in text.items() if len(value) > 20_000}

    def save() -> Response:
        try:
            if too_long:
                raise InvalidInput("some texts are too long: " + ", ".join(too_long), fields=too_long)
            changes = {"title": text["title"], "assessor": text["assessor"].strip(),
                       "sections": {key: text[key].strip() for key in IMPACT_HEADINGS}}  # fmt: skip
            auth.ws.impact_assessments.update(system, assessment_id, changes)
        except (InvalidInput, Conflict) as exc:
            named = _section_field(exc)
            return web.failed(request, "impact_assessment", _assessment(auth, system, assessment_id), named, text,
                              form="edit")  # fmt: skip
        return web.done(request, f"/systems/{system}/impact/{assessment_id}", "Impact assessment saved")

    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(save)


def _section_field(exc: AssayError) -> AssayError:
    """A heading's error (``sections.harms``) shown by that heading's field."""
    fields = web.field_errors(exc)
    if isinstance(exc, InvalidInput) and "sections" in fields:
        named = {key: fields["sections"] for key in IMPACT_HEADINGS if f"sections.{key}" in str(exc)}
        return InvalidInput(str(exc), fields={**fields, **named})
    return exc


@router.post("/systems/{system}/impact/{assessment_id}/finalise")
def assessment_finalise(
    request: Request, auth: FormAuth, system: str, assessment_id: int, confirm: Short = ""
) -> Response:
    """Make a draft final: it can no longer change (a confirmation is asked); every heading must have text."""
    try:
        web.require_confirmation(confirm, f"finalising impact assessment #{assessment_id}")
        missing = missing_headings(auth.ws.impact_assessments.get(system, assessment_id).sections)
        if missing:  # the service refuses too; here each missing heading is named by its field
            raise InvalidInput(
                f"impact assessment #{assessment_id} cannot be finalised: write these headings first: "
                + ", ".join(IMPACT_HEADINGS[key] for key in missing),
                fields=dict.fromkeys(missing, "write this heading before finalising"),
            )
        auth.ws.impact_assessments.finalise(system, assessment_id)
    except (InvalidInput, Conflict) as exc:
        context = _assessment(auth, system, assessment_id)
        state = {"values": {}, "errors": web.field_errors(exc), "message": str(exc)}
        context = {**context, "finalise_form": state, "edit": {**context["edit"], "errors": web.field_errors(exc)}}
        return web.render(request, "impact_assessment", context, status=web.status_of(exc))
    return web.done(request, f"/systems/{system}/impact/{assessment_id}", "Impact assessment finalised")


# -- incidents and corrective actions ----------------------------------------------------------------------------------

INCIDENTS: Final = (
    web.Column("id", "#", kind="number"),
    web.Column("title", "Incident"),
    web.Column("severity_rank", "Severity", kind="number"),
    web.Column("severity", "Severity (filter)", sortable=False, choices=INCIDENT_SEVERITIES),
    web.Column("status", "Status", choices=INCIDENT_STATUSES),
    web.Column("occurred_at", "Occurred", kind="date"),
    web.Column("reported_by", "Reported by"),
    web.Column("open_actions", "Open actions", kind="number"),
    web.Column("overdue_actions", "Overdue actions", kind="number"),
)
INCIDENT_CSV: Final = tuple(
    web.Column(key, key)
    for key in ("id", "title", "description", "severity", "status", "occurred_at", "reported_by", "open_actions",
                "overdue_actions", "created_at", "updated_at", "closed_at")
)  # fmt: skip


def _late(action: Mapping[str, Any], today: dt.date) -> bool:
    due = action.get("due_date")
    return action.get("status") == "open" and bool(due) and dt.date.fromisoformat(str(due)) < today


def _incident_rows(auth: Auth, system: str) -> list[dict[str, Any]]:
    today = _today()
    actions = [a.state() for a in auth.ws.incidents.list_actions(system)]
    open_ = Counter(a["incident_id"] for a in actions if a["status"] == "open")
    late = Counter(a["incident_id"] for a in actions if _late(a, today))
    return [
        {**i.state(), "severity_rank": INCIDENT_SEVERITIES.index(i.severity) + 1, "open_actions": open_[i.id],
         "overdue_actions": late[i.id]}
        for i in auth.ws.incidents.list(system)
    ]  # fmt: skip


def _versions(auth: Auth, system: str) -> list[str]:
    return [f"{m.name}@{v.version}" for m, v in auth.ws.models.list_versions(system)]


def _incidents(request: Request, auth: Auth, system: str, form: Mapping[str, Any] | None = None) -> dict[str, Any]:
    table = web.table(request, INCIDENTS, _incident_rows(auth, system), default_sort="id", default_desc=True,
                      searchable=("title", "description", "reported_by"))  # fmt: skip
    return _context(
        auth, "incidents", system, incidents=table.rows, total=table.total,
        paging={"page": table.page, "per": table.per}, table=table, form=form or web.empty_form(),
        severities=list(INCIDENT_SEVERITIES), versions=_versions(auth, system),
    )  # fmt: skip


@router.get("/systems/{system}/incidents.json")
def incidents_json(request: Request, auth: Auth, system: str) -> Response:
    return web.twin(jsonable(_twin_of(_incidents(request, auth, system))))


@router.get("/systems/{system}/incidents.csv")
def incidents_csv(request: Request, auth: Auth, system: str) -> Response:
    table = web.table(request, INCIDENTS, _incident_rows(auth, system), default_sort="id", default_desc=True,
                      per=web.CSV_MAX_ROWS, searchable=("title", "description", "reported_by"))  # fmt: skip
    return web.csv_response(f"incidents-{system}", INCIDENT_CSV, table.rows)


@router.get("/systems/{system}/incidents")
def incidents_page(request: Request, auth: Auth, system: str) -> Response:
    """A system's incidents, their open and overdue corrective actions, and the form to report one."""
    return web.render(request, "incidents", _incidents(request, auth, system))


def _incident_fields(title: str, severity: str, description: str, occurred_at: str, model_version: str
                     ) -> dict[str, Any]:  # fmt: skip
    return {"title": title, "severity": severity.strip() or None, "description": description,
            "occurred_at": occurred_at.strip() or None, "model_version": model_version.strip() or None}  # fmt: skip


@router.post("/systems/{system}/incidents")
def incident_report(
    request: Request,
    auth: FormAuth,
    system: str,
    title: Short = "",
    severity: Short = "",
    description: Text = "",
    occurred_at: Short = "",
    model_version: Short = "",
) -> Response:
    """Report an incident (the reporter is the person logged in)."""
    shown = {"title": title, "severity": severity, "description": description, "occurred_at": occurred_at,
             "model_version": model_version}  # fmt: skip
    try:
        incident = auth.ws.incidents.open(system, _incident_fields(title, severity, description, occurred_at,
                                                                   model_version))  # fmt: skip
    except (InvalidInput, Conflict) as exc:
        return web.failed(request, "incidents", _incidents(request, auth, system), exc, shown)
    return web.done(request, f"/systems/{system}/incidents/{incident.id}", f"Incident #{incident.id} reported")


def _incident(
    auth: Auth, system: str, incident_id: int, *, edit: Mapping[str, Any] | None = None,
    status_form: Mapping[str, Any] | None = None, action_form: Mapping[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    detail = auth.ws.incidents.detail(system, incident_id)
    incident = {**detail.incident.state(), "model_version": detail.model_version}
    today = _today()
    actions = [{**a.state(), "overdue": _late(a.state(), today)} for a in detail.actions]
    occurred = incident["occurred_at"]
    stored = {
        "title": incident["title"],
        "severity": incident["severity"],
        "description": incident["description"],
        "occurred_at": occurred[:16] if occurred else "",
        "model_version": incident["model_version"] or "",
    }
    return _context(
        auth, "incident", system, incident=incident, actions=actions,
        next_statuses=list(TRANSITIONS[incident["status"]]), edit=edit or web.empty_form(stored),
        status_form=status_form or web.empty_form(), action_form=action_form or web.empty_form(),
        severities=list(INCIDENT_SEVERITIES), versions=_versions(auth, system), members=_members(auth, system),
    )  # fmt: skip


@router.get("/systems/{system}/incidents/{incident_id}.json")
def incident_json(auth: Auth, system: str, incident_id: int) -> Response:
    return web.twin(jsonable(_twin_of(_incident(auth, system, incident_id))))


@router.get("/systems/{system}/incidents/{incident_id}")
def incident_page(request: Request, auth: Auth, system: str, incident_id: int) -> Response:
    """One incident: its fields, its life cycle (open, investigating, resolved, closed), its corrective actions."""
    return web.render(request, "incident", _incident(auth, system, incident_id))


@router.post("/systems/{system}/incidents/{incident_id}")
def incident_edit(
    request: Request,
    auth: FormAuth,
    system: str,
    incident_id: int,
    title: Short = "",
    severity: Short = "",
    description: Text = "",
    occurred_at: Short = "",
    model_version: Short = "",
) -> Response:
    shown = {"title": title, "severity": severity, "description": description, "occurred_at": occurred_at,
             "model_version": model_version}  # fmt: skip
    try:
        auth.ws.incidents.update(system, incident_id, _incident_fields(title, severity, description, occurred_at,
                                                                      model_version))  # fmt: skip
    except (InvalidInput, Conflict) as exc:
        return web.failed(request, "incident", _incident(auth, system, incident_id), exc, shown, form="edit")
    return web.done(request, f"/systems/{system}/incidents/{incident_id}", f"Incident #{incident_id} saved")


@router.post("/systems/{system}/incidents/{incident_id}/status")
def incident_status(
    request: Request,
    auth: FormAuth,
    system: str,
    incident_id: int,
    status: Short = "",
    note: Annotated[str, Form(max_length=_REVIEWABLE_REASON)] = "",
    confirm: Short = "",
) -> Response:
    """Move an incident along its life cycle; closing it is final (a confirmation is asked)."""
    shown = {"status": status, "note": note}
    try:
        if not status.strip():
            raise InvalidInput("choose the incident's next status", fields={"status": "choose one"})
        if status == "closed":
            web.require_confirmation(confirm, f"closing incident #{incident_id}")
        incident = auth.ws.incidents.set_status(system, incident_id, status, note=note.strip())
    except (InvalidInput, Conflict) as exc:
        context = _incident(auth, system, incident_id)
        return web.failed(request, "incident", context, exc, shown, form="status_form")
    return web.done(
        request, f"/systems/{system}/incidents/{incident_id}", f"Incident #{incident_id} is now {incident.status}"
    )


@router.post("/systems/{system}/incidents/{incident_id}/actions")
def action_add(
    request: Request,
    auth: FormAuth,
    system: str,
    incident_id: int,
    description: Text = "",
    owner: Short = "",
    due_date: Short = "",
) -> Response:
    """Add a corrective action to an incident, with its owner (a member of the system) and due date. Its fields have
    the service's names; their ids carry the prefix ``action-`` (the page also has the incident's own description)."""
    shown = {"description": description, "owner": owner, "due_date": due_date}
    try:
        _member_owner(auth, system, owner.strip())
        fields = {"description": description, "owner": owner.strip(), "due_date": due_date.strip() or None}
        action = auth.ws.incidents.add_action(system, incident_id, fields)
    except (InvalidInput, Conflict) as exc:
        context = _incident(auth, system, incident_id)
        return web.failed(request, "incident", context, exc, shown, form="action_form")
    return web.done(request, f"/systems/{system}/incidents/{incident_id}", f"Corrective action #{action.id} added")


@router.post("/systems/{system}/actions/{action_id}/complete")
def action_complete(
    request: Request,
    auth: FormAuth,
    system: str,
    action_id: int,
    note: Annotated[str, Form(max_length=_REVIEWABLE_REASON)] = "",
) -> Response:
    """Mark a corrective action done."""
    action = auth.ws.incidents.complete_action(system, action_id, note=note.strip())
    return web.done(
        request, f"/systems/{system}/incidents/{action.incident_id}", f"Corrective action #{action.id} done"
    )
