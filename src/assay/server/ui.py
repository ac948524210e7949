"""The web pages: server-rendered Jinja2, each page with a ``.json`` twin built from the same context.

Pages use the session cookie; without one they redirect to ``/login`` (and back after logging in), while their
``.json`` and ``.csv`` twins answer 401 with the JSON error body. Forms carry the session's CSRF token in a hidden
field. Static files (CSS, a little JavaScript, Plotly from the installed package) are served
from ``/static``; nothing comes from a CDN.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from assay.errors import InvalidInput, NotFound, PermissionDenied
from assay.reports.jsonable import jsonable
from assay.server import web
from assay.server.deps import SESSION_COOKIE, Auth, Authorised, Unauthenticated, page_user, workspace
from assay.server.login import login_response
from assay.server.web_cache import PageCache
from assay.services.access import allowed
from assay.services.review import HIDDEN_SENTENCE
from assay.services.workspace import Workspace

__all__ = ["organisation_readiness", "router", "static_files"]

router = APIRouter(include_in_schema=False)


def static_files() -> StaticFiles:
    """The package's static folder (CSS, JavaScript); Plotly is served from the installed plotly package."""
    return StaticFiles(directory=Path(str(resources.files("assay.server") / "static")))


def _plotly_js() -> Path:
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)


@router.get("/static/plotly.min.js")
def plotly_js() -> Response:
    return Response(_plotly_js().read_bytes(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})


def _render(request: Request, name: str, context: dict[str, Any], *, json_twin: bool) -> Response:
    if json_twin:
        return JSONResponse(context)
    return web.render(request, name, context)


# -- login and logout --------------------------------------------------------------------------------------------


def _local(target: str | None) -> str:
    """Where to go after logging in: a path of this server only (``/systems/x?tab=y``); anything else (another
    host, ``//host``, a backslash trick) is the dashboard, so the login page cannot redirect anyone elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or len(target) > 2000:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


@router.get("/login")
def login_page(request: Request) -> Response:
    context = {
        "error": request.query_params.get("error"),
        "next": _local(request.query_params.get("next")),
        "user": None,
    }
    return web.render(request, "login", context)


@router.post("/login")
def login_form(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/",  # the form field's name
) -> Response:
    target = _local(next)
    try:
        return login_response(request, name, password, redirect=target)
    except Unauthenticated:
        again = "/login?error=1" + ("" if target == "/" else f"&{urlencode({'next': target})}")
        return RedirectResponse(again, status_code=303)


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


def _readiness_documents(auth: Auth, shared: PageCache, frameworks: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Readiness of every system against each of ``frameworks``, shared by everyone (callers filter and must not
    change them): each kept by framework, those not kept computed together (one read for all of them)."""
    found = {f: kept for f in frameworks if (kept := shared.peek(auth, "readiness", f)) is not None}
    missing = [f for f in frameworks if f not in found]
    if missing:
        computed = auth.ws.controls.readiness_of(None, missing)
        for framework in missing:
            found[framework] = shared.get(
                auth, "readiness", functools.partial(computed.__getitem__, framework), framework
            )
    return {f: found[f] for f in frameworks}


def organisation_readiness(ws: Workspace, auth: Auth, shared: PageCache) -> dict[str, Any]:
    """The management system's readiness (clauses 4-10), shared by everyone (the dashboard and readiness show it)."""
    return shared.get(auth, "aims-readiness", lambda: ws.aims.readiness())


def _readiness_document(auth: Auth, shared: PageCache, framework: str) -> dict[str, Any]:
    """Readiness of every system against ``framework`` (:func:`_readiness_documents`)."""
    return _readiness_documents(auth, shared, (framework,))[framework]


def _readiness_shares(auth: Auth, shared: PageCache, frameworks: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Each system's readiness share per framework (``{system: {framework: share}}``), from the shared readiness;
    a system a framework does not apply to has no share for it."""
    shares: dict[str, dict[str, float | None]] = {}
    for framework, document in _readiness_documents(auth, shared, frameworks).items():
        for entry in document["systems"]:
            shares.setdefault(entry["system"]["name"], {})[framework] = entry.get("share")
    return shares


# -- assessment, risks, SoA, readiness, approvals, audit, model card -------------------------------------------------

# -- monitoring ----------------------------------------------------------------------------------------------------

_CHART_RUNS = 60  # windows drawn per monitor
_CHART_SUBJECTS = 8  # lines per chart: the subjects with the largest latest values
_CHARTS = 12  # charts per monitor


def _charts(monitor: int, runs: list[Any]) -> list[dict[str, Any]]:
    """Each (check kind, metric) of a monitor over its windows, oldest first: one line per subject (feature, facet),
    the threshold when the check states one."""
    series: dict[tuple[str, str], dict[str, list[tuple[str, float]]]] = {}
    thresholds: dict[tuple[str, str], float] = {}
    for run in reversed(runs):
        for result in run.results:
            for metric in result.get("metrics") or []:
                key = (result["kind"], metric["name"])
                series.setdefault(key, {}).setdefault(metric["subject"] or "", []).append(
                    (run.window_end.isoformat(), metric["value"])
                )
                if metric.get("threshold") is not None:
                    thresholds[key] = metric["threshold"]
    charts = []
    ranked = sorted(series.items(), key=lambda item: (item[0] not in thresholds, item[0]))  # judged metrics first
    for i, ((kind, name), subjects) in enumerate(ranked[:_CHARTS]):
        chosen = sorted(subjects.items(), key=lambda item: -abs(item[1][-1][1]))[:_CHART_SUBJECTS]
        charts.append(
            {
                "id": f"chart-{monitor}-{i}", "title": f"{kind}: {name}", "threshold": thresholds.get((kind, name)),
                "traces": [{"name": subject or name, "x": [p[0] for p in points], "y": [p[1] for p in points]}
                           for subject, points in chosen],
                "hidden": max(0, len(subjects) - _CHART_SUBJECTS),
            }
        )  # fmt: skip
    return charts


def _monitoring(auth: Auth, system: str) -> dict[str, Any]:
    ws = auth.ws
    ws.systems.get(system)  # 404 for whoever may not see it
    monitors = []
    for view in ws.monitors.list(system):
        runs = list(ws.monitors.runs(system, view.name, limit=_CHART_RUNS))
        monitors.append(
            {
                **jsonable(view.as_dict()),
                "runs": [jsonable(run.as_dict()) for run in runs[:20]],
                "charts": _charts(view.id, runs),
            }
        )
    return {
        "page": "monitoring",
        "user": page_user(auth.principal),
        "system": system,
        "monitors": monitors,
        "alerts": [jsonable(alert) for alert in _open_alerts(auth, system, {m["id"]: m["name"] for m in monitors})],
    }


def _open_alerts(auth: Auth, system: str, monitors: dict[int, str]) -> list[dict[str, Any]]:
    found = [*auth.ws.alerts.list(system, status="open"), *auth.ws.alerts.list(system, status="acknowledged")]
    return [{**alert.state(), "monitor": monitors.get(alert.monitor_id, "")} for alert in found]


@router.get("/systems/{system}/monitoring.json")
def monitoring_json(request: Request, auth: Auth, system: str) -> Response:
    return _render(request, "monitoring", _monitoring(auth, system), json_twin=True)


@router.get("/systems/{system}/monitoring")
def monitoring_page(request: Request, auth: Auth, system: str) -> Response:
    """A system's monitors: each metric over its windows with its threshold, the runs with their checks' reports,
    and the open alerts."""
    return _render(request, "monitoring", _monitoring(auth, system), json_twin=False)


# -- the review queue ------------------------------------------------------------------------------------------------

# The queue's tabs: name -> (label, the service's filters)
REVIEW_TABS: dict[str, tuple[str, dict[str, Any]]] = {
    "open": ("Open", {"status": "open"}),
    "mine": ("Mine", {"status": "open", "mine": True}),
    "escalated": ("Escalated", {"status": "escalated"}),
    "overdue": ("Overdue", {"status": "open", "overdue": True}),
    "decided": ("Decided", {"status": "decided"}),
}
REVIEW_PAGE = 25  # items per page of the queue
_TOP_FACTORS = 10  # contributions drawn in an item's explanation chart


def _span(seconds: float) -> str:
    """A duration for people: ``40 min``, ``1 h 30 min``, ``20 h``, ``3 days`` (under a minute: ``under a minute``)."""
    minutes = round(abs(seconds) / 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 10 * 60:
        return f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")
    if minutes < 48 * 60:
        return f"{round(minutes / 60)} h"
    return f"{round(minutes / 1440)} days"


def _due(item: dict[str, Any], now: dt.datetime) -> str:
    """The time to decision, relative: ``due in 40 min``, ``overdue by 2 h``, ``decided 1 h late``."""
    due = dt.datetime.fromisoformat(item["due_at"])
    if item.get("decided_at"):
        late = (dt.datetime.fromisoformat(item["decided_at"]) - due).total_seconds()
        return f"decided {_span(late)} late" if late > 0 else "decided in time"
    left = (due - now).total_seconds()
    return f"overdue by {_span(left)}" if left < 0 else f"due in {_span(left)}"


def _review_config(auth: Auth, system: str) -> dict[str, Any] | None:
    """What the pages show of the configuration in force: its version, the time to decision, the outcomes."""
    config = auth.ws.review.config(system)
    if config is None:
        return None
    settings = config["settings"]
    return {
        "version": config["version"],
        "active": config["active"],
        "sla": settings.get("sla"),
        "sla_text": _span(settings.get("sla") or 0),
        "claim_timeout_text": _span(settings.get("claim_timeout") or 0),
        "double_review": settings.get("double_review") or 0,
        "outcomes": settings.get("outcomes"),
    }


def _shown(item: dict[str, Any]) -> dict[str, Any]:
    """An item as the pages show it: without its stored explanation, which holds the features' raw values (the item
    page shows it through :func:`_explanation`, masked)."""
    return {k: v for k, v in jsonable(item).items() if k != "explanation"}


def _can_act(auth: Auth, system: str, item: dict[str, Any]) -> bool:
    """Whether this person may claim and decide the item: reviewers, overseers and owners an open one; only those
    who may oversee an escalated one; nobody a decided one."""
    if item["status"] == "decided":
        return False
    return allowed(auth.principal, "oversee" if item["status"] == "escalated" else "review", system)


def _review_queue(auth: Auth, system: str, tab: str, offset: int) -> dict[str, Any]:
    if tab not in REVIEW_TABS:
        raise InvalidInput(f"tab {tab!r} is not one of {', '.join(REVIEW_TABS)}")
    ws, now = auth.ws, dt.datetime.now(dt.UTC)
    found = ws.review.queue(system, **REVIEW_TABS[tab][1], limit=REVIEW_PAGE, offset=max(offset, 0))
    counts = {name: ws.review.queue(system, **filters, limit=1).total for name, (_, filters) in REVIEW_TABS.items()}
    me = auth.principal.name
    items = [
        {**_shown(item), "due": _due(item, now), "mine": me in item["claimed_by"],
         "can_claim": _can_act(auth, system, item) and me not in item["claimed_by"]}
        for item in found
    ]  # fmt: skip
    return {
        "page": "review",
        "user": page_user(auth.principal),
        "system": system,
        "tab": tab,
        "tabs": [{"name": name, "label": label, "count": counts[name]} for name, (label, _) in REVIEW_TABS.items()],
        "config": _review_config(auth, system),
        "items": items,
        "total": found.total,
        "limit": REVIEW_PAGE,
        "offset": max(offset, 0),
        "can_review": allowed(auth.principal, "review", system),
    }


def _mentions(text: str, names: set[str]) -> bool:
    lowered = text.lower()
    return any(name.lower() in lowered for name in names)


def _number(value: Any) -> float | None:
    """A finite number, or None (booleans and NaN are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)


def _contributions(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The feature contributions of an explanation in either of its shapes: ``contributions`` [{feature, value,
    shap}], ``shap.values`` {feature: value} (with ``features``), or ``factors`` [{feature, value, contribution}]."""
    listed = raw.get("contributions")
    if isinstance(listed, list):
        entries = [e for e in listed if isinstance(e, dict)]
        return [{"feature": str(e.get("feature")), "value": e.get("value"), "shap": _number(e.get("shap"))}
                for e in entries]  # fmt: skip
    shap = raw.get("shap")
    if isinstance(shap, dict) and isinstance(shap.get("values"), dict):
        given = raw.get("features")
        values: dict[str, Any] = given if isinstance(given, dict) else {}
        return [{"feature": str(k), "value": values.get(k), "shap": _number(v)} for k, v in shap["values"].items()]
    factors = raw.get("factors")
    if isinstance(factors, list):
        entries = [e for e in factors if isinstance(e, dict)]
        return [{"feature": str(e.get("feature")), "value": e.get("value"), "shap": _number(e.get("contribution"))}
                for e in entries]  # fmt: skip
    return []


def _sentences(raw: dict[str, Any]) -> list[str]:
    found: list[Any] = [raw.get("summary")]
    if isinstance(raw.get("sentences"), list):
        found += raw["sentences"]
    elif isinstance(raw.get("factors"), list):
        found += [f.get("sentence") for f in raw["factors"] if isinstance(f, dict)]
    counterfactual = raw.get("counterfactual")
    if isinstance(counterfactual, dict):
        found.append(counterfactual.get("sentence"))
    return [s for s in found if isinstance(s, str) and s.strip()]


def _explanation(raw: Any, masked: set[str]) -> dict[str, Any]:
    """What the item page shows of a local explanation, read defensively (a background job writes it, see
    :func:`_contributions` for its shapes, or ``{"error": ...}``): the largest contributions, with the values of
    masked features masked, and its sentences, leaving out those that name a masked feature."""
    if raw is None:
        return {"state": "pending"}
    if not isinstance(raw, dict):
        return {"state": "error", "error": "the stored explanation cannot be read"}
    if raw.get("error"):
        return {"state": "error", "error": str(raw["error"])}
    rows = [r for r in _contributions(raw) if r["shap"] is not None]
    for row in rows:
        row["masked"] = row["feature"] in masked
        if row["masked"]:
            row["value"] = None
        elif not isinstance(row["value"], str | int | float | bool | None):
            row["value"] = str(row["value"])
    top = sorted(rows, key=lambda r: -abs(r["shap"]))[:_TOP_FACTORS]
    sentences = _sentences(raw)
    given = raw.get("shap")
    shap: dict[str, Any] = given if isinstance(given, dict) else {}
    return {
        "state": "ready" if top else "error",
        "error": None if top else "the explanation holds no feature contributions",
        "contributions": top,
        "more": len(rows) - len(top),
        "sentences": [s for s in sentences if not _mentions(s, masked) and s != HIDDEN_SENTENCE],
        "hidden_sentences": sum(1 for s in sentences if _mentions(s, masked) or s == HIDDEN_SENTENCE),
        "base_value": _number(raw.get("base_value", shap.get("expected_value"))),
    }


def _review_item(auth: Auth, system: str, item_id: int, decided: int | None) -> dict[str, Any]:
    ws, me, now = auth.ws, auth.principal.name, dt.datetime.now(dt.UTC)
    item = ws.review.item(system, item_id)
    masked = set(item["masked"])
    decisions = item.get("decisions") or []
    given = [d for d in decisions if d["decision"] != "escalate"]
    room = 1 if item["status"] == "escalated" else max(item["reviews_needed"] - len(given), 1)
    waiting = item["status"] == "pending" and any(d["reviewer"] == me for d in decisions)
    can_act = _can_act(auth, system, item) and not waiting
    mine = me in item["claimed_by"]
    taken = not mine and len(item["claimed_by"]) >= room
    shown = _shown(item)
    prediction = item["output"].get("prediction")
    return {
        "page": "review-item",
        "user": page_user(auth.principal),
        "system": system,
        "item": {**shown, "due": _due(item, now)},
        "features": [
            {"name": k, "value": None if k in masked else v, "masked": k in masked} for k, v in item["features"].items()
        ],
        "explanation": _explanation(item.get("explanation"), masked),
        "config": _review_config(auth, system),
        "numeric_outcome": isinstance(prediction, int | float) and not isinstance(prediction, bool),
        "can_act": can_act,
        "claimed_by_me": mine,
        "taken_by_others": taken,
        "can_claim": can_act and not mine and not taken,
        "can_decide": can_act and not taken,
        "can_escalate": can_act and not taken and item["status"] == "pending",
        "waiting_for_second": waiting,
        "flash": _decided_flash(auth, system, decided),
    }


def _decided_flash(auth: Auth, system: str, decided: int | None) -> str | None:
    """The confirmation of the decision just taken on item ``decided`` (the page the reviewer moved on to)."""
    if decided is None:
        return None
    try:
        item = auth.ws.review.item(system, decided)
    except (NotFound, PermissionDenied):
        return None
    mine = [d for d in item.get("decisions") or [] if d["reviewer"] == auth.principal.name]
    if not mine:
        return None
    last = mine[-1]
    if last["decision"] == "escalate":
        return f"Item {decided} escalated to an overseer."
    if item["status"] == "decided":
        final, model = (item["final"] or {}).get("prediction"), item["output"].get("prediction")
        if item["overridden"]:
            return f"Item {decided} decided: the outcome is changed to {final} (the model said {model})."
        return f"Item {decided} decided: the model's outcome {final} is accepted."
    if item["status"] == "escalated":
        return f"Item {decided}: the two reviews disagree, so it is escalated to an overseer."
    return f"Item {decided}: your decision is recorded; a second reviewer decides it too."


@router.get("/systems/{system}/review.json")
def review_json(request: Request, auth: Auth, system: str, tab: str = "open", offset: int = 0) -> Response:
    return _render(request, "review", _review_queue(auth, system, tab, offset), json_twin=True)


@router.get("/systems/{system}/review")
def review_page(request: Request, auth: Auth, system: str, tab: str = "open", offset: int = 0,
                decided: int | None = None) -> Response:  # fmt: skip
    """A system's review queue: tabs open, mine, escalated, overdue and decided, with counts; each item's output,
    reasons, time to decision and claim."""
    context = _review_queue(auth, system, tab, offset)
    return _render(request, "review", {**context, "flash": _decided_flash(auth, system, decided)}, json_twin=False)


@router.get("/systems/{system}/review/{item_id}.json")
def review_item_json(request: Request, auth: Auth, system: str, item_id: int) -> Response:
    return _render(request, "review_item", _review_item(auth, system, item_id, None), json_twin=True)


@router.get("/systems/{system}/review/{item_id}")
def review_item_page(request: Request, auth: Auth, system: str, item_id: int, decided: int | None = None) -> Response:
    """One review item: the model's output, the features (masked ones marked), why it was routed, the local
    explanation, the decisions so far, and the actions this person may take."""
    return _render(request, "review_item", _review_item(auth, system, item_id, decided), json_twin=False)


# -- contested decisions -----------------------------------------------------------------------------------------


def _contests(auth: Auth, system: str) -> dict[str, Any]:
    ws = auth.ws
    ws.systems.get(system)  # 404 for whoever may not see it
    return {
        "page": "contests",
        "user": page_user(auth.principal),
        "system": system,
        "counts": ws.contests.counts(system),
        "cases": [jsonable(case.state()) for case in ws.contests.list(system, limit=200)],
    }


def _contest(auth: Auth, system: str, case_id: int) -> dict[str, Any]:
    ws = auth.ws
    case = ws.contests.get(system, case_id)
    explanation = case.explanation or {}
    factors = [] if "error" in explanation else list(explanation.get("factors", []))
    values = explanation.get("shap", {}).get("values", {}) if "error" not in explanation else {}
    ranked = sorted(values.items(), key=lambda kv: abs(kv[1]))[-10:]  # the chart: the ten largest, largest on top
    return {
        "page": "contest",
        "user": page_user(auth.principal),
        "system": system,
        "case": {
            **jsonable(case.state()),
            "model_version": ws.contests.model_version_ref(case),
            "letter": case.letter,
        },
        "factors": factors,
        "chart": {
            "features": [k for k, _ in ranked],
            "values": [v for _, v in ranked],
            "scale": explanation.get("shap", {}).get("output_scale", ""),
        },
        "can_decide": case.status == "open" and allowed(auth.principal, "oversee", system),
    }


@router.get("/systems/{system}/contests.json")
def contests_json(request: Request, auth: Auth, system: str) -> Response:
    return _render(request, "contests", _contests(auth, system), json_twin=True)


@router.get("/systems/{system}/contests")
def contests_page(request: Request, auth: Auth, system: str) -> Response:
    """A system's contested decisions: each case's status, decision and due date, and the counts."""
    return _render(request, "contests", _contests(auth, system), json_twin=False)


@router.get("/systems/{system}/contests/{case_id}.json")
def contest_json(request: Request, auth: Auth, system: str, case_id: int) -> Response:
    return _render(request, "contest", _contest(auth, system, case_id), json_twin=True)


@router.get("/systems/{system}/contests/{case_id}")
def contest_page(request: Request, auth: Auth, system: str, case_id: int) -> Response:
    """One contested case in plain language: the decision, its factors (a bar chart), what would change it, the
    outcome and the letter."""
    return _render(request, "contest", _contest(auth, system, case_id), json_twin=False)


def _form_csrf(request: Request, sent: str) -> None:
    """A form posted with the session cookie must carry the session's CSRF token (a bearer token needs none)."""
    expected = getattr(request.state, "csrf", None)
    if expected is None:
        return
    if not secrets.compare_digest(sent, expected):
        raise PermissionDenied("missing or wrong CSRF token: reload the page")


async def form_csrf(request: Request, auth: Auth) -> Authorised:
    """The authorised principal of a page form, after checking the form's CSRF field (before anything else of
    the form is validated)."""
    form = await request.form()
    sent = form.get("csrf")
    try:
        _form_csrf(request, sent if isinstance(sent, str) else "")
    except PermissionDenied:
        await form.close()  # an upload's spooled file
        raise
    return auth


FormAuth = Annotated[Authorised, Depends(form_csrf)]


@router.get("/systems/{system}/models/{ref}/card.json")
def card_json(auth: Auth, system: str, ref: str) -> Response:
    return JSONResponse(auth.ws.cards.build(system, ref))


@router.get("/systems/{system}/models/{ref}/card")
def card_page(auth: Auth, system: str, ref: str, format: str = "html") -> Response:
    from assay.services.cards import CARD_FORMATS

    if format not in CARD_FORMATS:
        raise InvalidInput(f"format {format!r} is not one of {', '.join(CARD_FORMATS)}")
    body = auth.ws.cards.render(auth.ws.cards.build(system, ref), format)
    media = {"html": "text/html", "pdf": "application/pdf", "md": "text/markdown", "huggingface": "text/markdown"}
    headers = {} if format == "html" else {"Content-Disposition": f'attachment; filename="model-card-{ref}.{format}"'}
    return Response(body, media_type=media.get(format, "application/json"), headers=headers)


# -- forms that change things ----------------------------------------------------------------------------------------


def _back(path: str) -> Response:
    return RedirectResponse(path, status_code=303)
