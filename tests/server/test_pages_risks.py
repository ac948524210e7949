"""The risk pages: a system's risk register (add, edit, close, reopen), the register across systems (filtered, sorted
and paged in the database, reached from the dashboard's heat map), impact assessments (draft, headings, finalise)
and incidents with their corrective actions; each form's success (message, stored record, audit event by the
person) and refusal (422 page, the value kept, the error by its field), the roles refused, the twins and CSV.
The real app over a real workspace (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

from fastapi.testclient import TestClient

from assay.governance.records import IMPACT_GUIDANCE, IMPACT_HEADINGS
from assay.store.audit import EventFilter
from tests.support.server import PASSWORD, Served


def _login(client: TestClient, name: str) -> str:
    """Log ``name`` in; the session's CSRF token (from a page's form)."""
    client.cookies.clear()
    response = client.post("/login", data={"name": name, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/risks").text)  # not the dashboard: see the report
    assert token is not None
    return token.group(1)


def _post(client: TestClient, path: str, data: dict[str, object]) -> object:
    return client.post(path, data=data, follow_redirects=False)


def _error(page: str, field: str, id_prefix: str = "") -> str:
    found = re.search(rf'<small class="field-error" id="{id_prefix}e-{field}">([^<]*)</small>', page)
    assert found is not None, f"no error by {field}"
    return html.unescape(found.group(1))


def _flash(client: TestClient, path: str) -> str:
    found = re.search(r'id="flash">([^<]*)<', client.get(path).text)
    assert found is not None
    return found.group(1)


RISK = {"title": "Drift in age", "source": "data", "likelihood": "3", "impact": "4", "treatment": "mitigate",
        "owner": "owner", "review_date": "2020-01-31", "controls": ["iso42001:A.6.2.4", "nist-ai-rmf:MEASURE 2.11"],
        "description": "Older applicants", "affected": "applicants over 60\nloan officers"}  # fmt: skip


def test_the_risk_register_of_a_system(served: Served) -> None:
    client, _, ws = served
    csrf = _login(client, "owner")
    page = client.get("/systems/release/risks")
    assert page.status_code == 200 and 'aria-current="page">Risks<' in page.text
    # likelihood and impact in words; the treatment and owner chosen by the person (no preselected "avoid")
    assert '<option value="4" >4 · likely</option>' in page.text and "5 · severe" in page.text
    treatment = page.text.split('id="f-treatment"')[1].split("</select>")[0]
    assert "selected" not in treatment and '<option value="">Choose a treatment</option>' in treatment
    assert '<option value="owner" >owner (owner)</option>' in page.text  # members of the system, with their role
    assert '<optgroup label="ISO/IEC 42001">' in page.text and 'value="iso42001:A.6.2.4"' in page.text

    refused = client.post("/systems/release/risks", data={**RISK, "treatment": "", "csrf": csrf})
    assert refused.status_code == 422
    assert _error(refused.text, "treatment") == "Input should be 'avoid', 'mitigate', 'transfer' or 'accept'"
    assert 'value="Drift in age"' in refused.text and 'value="iso42001:A.6.2.4" selected' in refused.text
    stranger = client.post("/systems/release/risks", data={**RISK, "owner": "stranger", "csrf": csrf})
    assert stranger.status_code == 422 and _error(stranger.text, "owner") == "not a member"
    raised = {**RISK, "residual_likelihood": "5", "residual_impact": "5", "csrf": csrf}
    above = client.post("/systems/release/risks", data=raised)
    assert above.status_code == 422 and "a treatment cannot raise the risk" in _error(above.text, "residual_likelihood")
    half = client.post("/systems/release/risks", data={**RISK, "residual_likelihood": "1", "csrf": csrf})
    assert half.status_code == 422 and _error(half.text, "residual_impact") == "choose this one too"
    assert len(ws.risks.list("release")) == 1  # nothing stored by a refusal

    added = _post(client, "/systems/release/risks", {**RISK, "residual_likelihood": "1", "residual_impact": "2",
                                                     "csrf": csrf})  # fmt: skip
    assert added.status_code == 303 and added.headers["location"] == "/systems/release/risks"  # type: ignore[attr-defined]
    assert _flash(client, "/systems/release/risks") == "Risk #2 added: Drift in age (high)"
    risk = ws.risks.get("release", 2)
    assert (risk.level, risk.residual_level, risk.owner, risk.review_date) == (
        "high",
        "low",
        "owner",
        dt.date(2020, 1, 31),
    )
    assert risk.controls == ["iso42001:A.6.2.4", "nist-ai-rmf:MEASURE 2.11"]
    assert risk.affected == ["applicants over 60", "loan officers"]
    assert ws.audit.log(EventFilter(action="risk.create"))[-1].actor == "owner"

    register = client.get("/systems/release/risks")
    assert "3 × 4 = 12" in register.text and 'badge-overdue">overdue<' in register.text  # its review date passed
    twin = client.get("/systems/release/risks.json").json()
    assert [r["id"] for r in twin["risks"]] == [2, 1] and twin["total"] == 2  # the most severe first
    assert twin["risks"][0]["score"] == 12 and twin["risks"][0]["overdue"] is True
    assert [r["id"] for r in client.get("/systems/release/risks.json", params={"level": "low"}).json()["risks"]] == [1]
    assert client.get("/systems/release/risks.json", params={"q": "AGE"}).json()["total"] == 1
    exported = list(csv.DictReader(io.StringIO(client.get("/systems/release/risks.csv?treatment=mitigate").text)))
    assert len(exported) == 1 and exported[0]["controls"] == "iso42001:A.6.2.4; nist-ai-rmf:MEASURE 2.11"

    # edit: the values stored are the form's; a refusal keeps what was typed
    edit_page = client.get("/systems/release/risks/2")
    assert edit_page.status_code == 200 and 'value="2020-01-31"' in edit_page.text
    assert '<option value="mitigate" selected>' in edit_page.text
    bad = client.post(
        "/systems/release/risks/2", data={**RISK, "title": "Drift, again", "likelihood": "", "csrf": csrf}
    )
    assert bad.status_code == 422 and "whole number from 1 to 5" in _error(bad.text, "likelihood")
    assert 'value="Drift, again"' in bad.text
    changed = {**RISK, "likelihood": "5", "impact": "5", "treatment": "avoid", "controls": [], "review_date": "",
               "csrf": csrf}  # fmt: skip
    assert _post(client, "/systems/release/risks/2", changed).status_code == 303  # type: ignore[attr-defined]
    assert _flash(client, "/systems/release/risks/2") == "Risk #2 saved (critical)"
    risk = ws.risks.get("release", 2)
    assert (risk.level, risk.treatment, risk.controls, risk.review_date) == ("critical", "avoid", [], None)
    assert ws.audit.log(EventFilter(action="risk.update"))[-1].actor == "owner"
    closed = _post(client, "/systems/release/risks/2/close", {"reason": "model retired", "csrf": csrf})
    assert closed.status_code == 303 and ws.risks.get("release", 2).status == "closed"  # type: ignore[attr-defined]
    assert 'action="/systems/release/risks/2/reopen"' in client.get("/systems/release/risks/2").text
    twice = client.post("/systems/release/risks/2/close", data={"csrf": csrf}, headers={"Accept": "text/html"})
    assert twice.status_code == 409 and "already closed" in twice.text
    again = client.post("/systems/release/risks/2", data=changed)  # a closed risk: reopen it first
    assert again.status_code == 409 and "reopen it before changing it" in again.text
    assert _post(client, "/systems/release/risks/2/reopen", {"csrf": csrf}).status_code == 303  # type: ignore[attr-defined]
    assert [e.actor for e in ws.audit.log(EventFilter(action="risk.reopen"))] == ["owner"]

    # a viewer reads, with no forms, and is refused a change; a stranger does not see the system
    csrf = _login(client, "viewer")
    seen = client.get("/systems/release/risks")
    assert seen.status_code == 200 and 'id="add-risk-form"' not in seen.text
    assert 'id="edit-risk-form"' not in client.get("/systems/release/risks/2").text
    refused = client.post("/systems/release/risks", data={**RISK, "csrf": csrf}, headers={"Accept": "text/html"})
    assert refused.status_code == 403 and "may not write" in refused.text and 'id="error"' in refused.text
    _login(client, "stranger")
    assert client.get("/systems/release/risks", headers={"Accept": "text/html"}).status_code == 404
    assert client.get("/systems/release/risks.json").status_code == 404


def test_the_risks_of_every_system_are_paged_and_filtered_in_the_database(served: Served) -> None:
    client, _, ws = served
    admin = ws.login("admin", PASSWORD)
    admin.systems.create({"name": "other"})
    for n in range(60):  # 61 risks on release with the fixture's
        admin.risks.add("release", {"title": f"r{n:02}", "source": "data", "likelihood": 1 + n % 5, "impact": 4,
                                    "treatment": "mitigate", "owner": "owner" if n % 2 else "",
                                    "review_date": "2020-01-01" if n < 3 else "2999-01-01"})  # fmt: skip
    admin.risks.add(
        "other", {"title": "Not yours", "source": "model", "likelihood": 5, "impact": 5, "treatment": "accept"}
    )
    admin.risks.close("release", 1)

    _login(client, "viewer")  # a member of release only
    first = client.get("/risks.json").json()
    assert first["total"] == 60 and len(first["risks"]) == 50  # open risks only, one page of 50
    assert {r["system"] for r in first["risks"]} == {"release"}  # "other" is not the viewer's
    assert first["risks"][0]["level"] == "critical" and first["risks"][-1]["level"] == "low"
    second = client.get("/risks.json?page=2").json()
    assert len(second["risks"]) == 10 and {r["level"] for r in second["risks"]} == {"low"}
    cell = client.get("/risks.json?impact=4&likelihood=3").json()  # the heat map's cell
    assert cell["total"] == 12 and {(r["impact"], r["likelihood"]) for r in cell["risks"]} == {(4, 3)}
    overdue = client.get("/risks.json?overdue=yes").json()
    assert [r["title"] for r in overdue["risks"]] == ["r02", "r01", "r00"] and all(
        r["overdue"] for r in overdue["risks"]
    )
    assert client.get("/risks.json?owner=owner&level=critical").json()["total"] == 6  # n odd, likelihood 5
    by_date = client.get("/risks.json?sort=review_date").json()["risks"]
    assert [r["review_date"] for r in by_date[:3]] == ["2020-01-01"] * 3
    assert client.get("/risks.json?status=closed").json()["risks"][0]["id"] == 1
    assert client.get("/risks.json?status=any").json()["total"] == 61
    assert client.get("/risks.json?q=R0").json()["total"] == 10
    page = client.get("/risks?impact=4&likelihood=3")
    assert page.status_code == 200 and 'href="/systems/release/risks/' in page.text and "Page 1 of 1" not in page.text
    assert "Not yours" not in page.text and "other" not in page.text.split("<main")[1].split("<table")[1]
    exported = list(csv.DictReader(io.StringIO(client.get("/risks.csv").text)))
    assert len(exported) == 60 and exported[0]["system"] == "release"
    bad = client.get("/risks?likelihood=x", headers={"Accept": "text/html"})
    assert bad.status_code == 422 and "likelihood must be a whole number" in bad.text

    _login(client, "auditor")  # sees every system
    # the dashboard's heat map links each counted cell to its risks
    assert 'href="/risks?impact=4&amp;likelihood=3">12</a>' in client.get("/").text
    assert client.get("/risks.json?system=other").json()["risks"][0]["title"] == "Not yours"
    assert client.get("/risks.json").json()["total"] == 61


def test_impact_assessments(served: Served) -> None:
    client, _, ws = served
    assert set(IMPACT_GUIDANCE) == set(IMPACT_HEADINGS)
    csrf = _login(client, "owner")
    empty = client.post("/systems/release/impact", data={"title": "", "assessor": "Ana", "csrf": csrf})
    assert empty.status_code == 422 and "at least 1 character" in _error(empty.text, "title")
    assert 'value="Ana"' in empty.text
    created = _post(client, "/systems/release/impact", {"title": "Loans 2026", "csrf": csrf})
    assert created.headers["location"] == "/systems/release/impact/1"  # type: ignore[attr-defined]
    page = client.get("/systems/release/impact/1")
    assert "Impact assessment #1 started" in page.text
    assert IMPACT_GUIDANCE["harms"] in page.text and 'name="harms"' in page.text
    assert ws.impact_assessments.get("release", 1).assessor == "owner"
    assert ws.audit.log(EventFilter(action="impact_assessment.create"))[-1].actor == "owner"

    sections = {key: f"About {key}." for key in IMPACT_HEADINGS}
    refused = client.post("/systems/release/impact/1", data={"title": "", **sections, "csrf": csrf})
    assert refused.status_code == 422 and _error(refused.text, "title")
    assert "About harms.</textarea>" in refused.text  # what was written is kept
    partial = {**sections, "measures": "", "approval": ""}
    saved = _post(client, "/systems/release/impact/1", {"title": "Loans 2026", **partial, "csrf": csrf})
    assert saved.status_code == 303  # type: ignore[attr-defined]
    assert ws.impact_assessments.get("release", 1).sections["harms"] == "About harms."
    assert ws.audit.log(EventFilter(action="impact_assessment.update"))[-1].actor == "owner"
    unticked = client.post("/systems/release/impact/1/finalise", data={"csrf": csrf})
    assert unticked.status_code == 422 and "tick the box to confirm" in unticked.text
    missing = client.post("/systems/release/impact/1/finalise", data={"confirm": "yes", "csrf": csrf})
    assert missing.status_code == 422 and _error(missing.text, "measures") == "write this heading before finalising"
    assert ws.impact_assessments.get("release", 1).status == "draft"
    _post(client, "/systems/release/impact/1", {"title": "Loans 2026", **sections, "csrf": csrf})
    final = _post(client, "/systems/release/impact/1/finalise", {"confirm": "yes", "csrf": csrf})
    assert final.status_code == 303 and ws.impact_assessments.get("release", 1).status == "final"  # type: ignore[attr-defined]
    assert ws.audit.log(EventFilter(action="impact_assessment.finalise"))[-1].actor == "owner"
    shown = client.get("/systems/release/impact/1")
    assert 'id="sections-form"' not in shown.text and "About approval." in shown.text  # read only
    late = client.post("/systems/release/impact/1", data={"title": "x", **sections, "csrf": csrf})
    assert late.status_code == 409 and "is final and cannot change" in late.text
    listed = client.get("/systems/release/impact.json").json()["assessments"]
    assert [(a["id"], a["status"], a["filled"]) for a in listed] == [(1, "final", 10)]
    assert client.get("/systems/release/impact/1.json").json()["assessment"]["sections"]["scope"] == "About scope."

    csrf = _login(client, "approver")
    assert 'id="new-assessment-form"' not in client.get("/systems/release/impact").text
    denied = client.post("/systems/release/impact", data={"title": "x", "csrf": csrf})
    assert denied.status_code == 403
    _login(client, "stranger")
    assert client.get("/systems/release/impact/1.json").status_code == 404


def test_incidents_and_corrective_actions(served: Served) -> None:
    client, _, ws = served
    csrf = _login(client, "owner")
    page = client.get("/systems/release/incidents")
    assert page.status_code == 200 and '<option value="lr@1" >lr@1</option>' in page.text
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    form = {"title": "Wrong refusals", "severity": "", "occurred_at": future, "description": "x", "csrf": csrf}
    refused = client.post("/systems/release/incidents", data=form)
    assert refused.status_code == 422 and _error(refused.text, "severity").startswith("Input should be")
    assert "is in the future" in _error(refused.text, "occurred_at") and 'value="Wrong refusals"' in refused.text
    first = {**form, "severity": "high", "occurred_at": "2026-01-05T09:30", "model_version": "lr@1"}
    reported = _post(client, "/systems/release/incidents", first)
    assert reported.headers["location"] == "/systems/release/incidents/1"  # type: ignore[attr-defined]
    assert _flash(client, "/systems/release/incidents/1") == "Incident #1 reported"
    incident = ws.incidents.detail("release", 1)
    assert (incident.incident.reported_by, incident.model_version) == ("owner", "lr@1")
    assert ws.audit.log(EventFilter(action="incident.create"))[-1].actor == "owner"

    empty = {"description": "", "owner": "owner", "due_date": "2020-02-01", "csrf": csrf}
    no_text = client.post("/systems/release/incidents/1/actions", data=empty)
    assert no_text.status_code == 422 and _error(no_text.text, "description", "action-")  # the ids carry a prefix
    assert 'value="2020-02-01"' in no_text.text
    action = {"description": "Retrain with 2025 data", "owner": "owner", "due_date": "2020-02-01", "csrf": csrf}
    assert _post(client, "/systems/release/incidents/1/actions", action).status_code == 303  # type: ignore[attr-defined]
    assert ws.audit.log(EventFilter(action="corrective_action.create"))[-1].actor == "owner"
    detail = client.get("/systems/release/incidents/1")
    assert 'badge-overdue">overdue<' in detail.text  # its due date passed
    listed = client.get("/systems/release/incidents.json").json()["incidents"]
    assert [(i["id"], i["open_actions"], i["overdue_actions"]) for i in listed] == [(1, 1, 1)]

    edit = {"title": "", "severity": "critical", "description": "Refused too often", "occurred_at": "2026-01-05T09:30",
            "model_version": "lr@1", "csrf": csrf}  # fmt: skip
    untitled = client.post("/systems/release/incidents/1", data=edit)
    assert untitled.status_code == 422 and _error(untitled.text, "title")
    assert "Refused too often</textarea>" in untitled.text
    assert _post(client, "/systems/release/incidents/1", {**edit, "title": "Wrong refusals"}).status_code == 303  # type: ignore[attr-defined]
    assert ws.incidents.get("release", 1).severity == "critical"
    assert ws.audit.log(EventFilter(action="incident.update"))[-1].actor == "owner"
    for status in ("investigating", "resolved"):
        moved = _post(client, "/systems/release/incidents/1/status", {"status": status, "note": "n", "csrf": csrf})
        assert moved.status_code == 303  # type: ignore[attr-defined]
    assert ws.audit.log(EventFilter(action="incident.status"))[-1].actor == "owner"
    unticked = client.post("/systems/release/incidents/1/status", data={"status": "closed", "csrf": csrf})
    assert unticked.status_code == 422 and "cannot be undone" in unticked.text
    blocked = client.post("/systems/release/incidents/1/status", data={"status": "closed", "confirm": "yes",
                                                                       "csrf": csrf})  # fmt: skip
    assert blocked.status_code == 409 and "corrective actions are open" in blocked.text
    done = _post(client, "/systems/release/actions/1/complete", {"note": "retrained", "csrf": csrf})
    assert done.headers["location"] == "/systems/release/incidents/1"  # type: ignore[attr-defined]
    assert ws.audit.log(EventFilter(action="corrective_action.complete"))[-1].actor == "owner"
    closed = _post(client, "/systems/release/incidents/1/status", {"status": "closed", "confirm": "yes", "csrf": csrf})
    again = client.post("/systems/release/actions/1/complete", data={"csrf": csrf}, headers={"Accept": "text/html"})
    assert again.status_code == 409 and "already done" in again.text
    assert closed.status_code == 303 and ws.incidents.get("release", 1).status == "closed"  # type: ignore[attr-defined]
    assert 'id="edit-incident-form"' not in client.get("/systems/release/incidents/1").text
    exported = list(csv.DictReader(io.StringIO(client.get("/systems/release/incidents.csv?severity=critical").text)))
    assert [(r["id"], r["status"], r["open_actions"]) for r in exported] == [("1", "closed", "0")]
    assert client.get("/systems/release/incidents/1.json").json()["actions"][0]["status"] == "done"

    csrf = _login(client, "viewer")
    assert 'id="report-incident-form"' not in client.get("/systems/release/incidents").text
    assert client.post("/systems/release/incidents", data={**form, "csrf": csrf}).status_code == 403
    _login(client, "stranger")
    assert client.get("/systems/release/incidents.csv").status_code == 404
