"""The approvals pages (the real app, SQLite and PostgreSQL): the inbox with each request's gate result, the
approval page with its evidence, approve/reject/withdraw as forms (no pop-ups), a system's approvals and its gates
and waivers. The issue's scenario: a high-risk system whose gate fails cannot be approved (page and API, the
failing rules named) until another owner waives them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.server import HTML, PASSWORD, Served, serving

DOC = {"schema": "assay.assessment", "schema_version": 1, "spec": {"predicted": "p"}, "data": {}}


@pytest.fixture
def served(workspace: Workspace) -> Iterator[Served]:
    """serving()'s app, plus a high-risk system "parole" (owners owner and erin, approvers approver and carol) with
    model lr@1, an assessment without metrics (so its gate fails), and owner's request 2 to move it to production."""
    with serving(workspace) as (client, tokens, ws):
        admin = ws.login("admin", PASSWORD)
        admin.systems.create({"name": "parole", "eu_ai_act_category": "high", "annex_iii_area": 6})
        admin.models.register_version("parole", {"model": "lr", "version": "1"})
        admin.assessments.record("parole", DOC, model_version="lr@1")
        for name in ("erin", "carol"):
            admin.access.add_user(name, PASSWORD)
            tokens[name] = admin.access.create_token(name, "test", scope="write")[0]
        for name, role in (("owner", "owner"), ("erin", "owner"), ("approver", "approver"), ("carol", "approver"),
                           ("viewer", "viewer")):  # fmt: skip
            admin.access.grant(name, "parole", role)
        request = ws.login("owner", PASSWORD).approvals.request("parole", "lr@1", "production", comment="pilot")
        assert request.id == 2 and request.required_approvals == 2
        client.headers.update(HTML)
        yield client, tokens, ws


def _login(client: TestClient, name: str) -> str:
    """Log in as ``name``; the session's CSRF token."""
    client.cookies.clear()
    response = client.post("/login", data={"name": name, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/approvals").text)
    assert found
    return found.group(1)


def _flash(client: TestClient, response: httpx.Response) -> str:
    """The one-time message on the page an action redirected to (303, followed)."""
    assert response.history and response.history[0].status_code == 303, response.text[:500]
    found = re.search(r'id="flash">([^<]+)<', response.text)
    assert found, response.text[:500]
    return found.group(1)


def _actions(ws: Workspace) -> list[str]:
    return [e.action for e in ws.audit.log(EventFilter(after_seq=0))]


def _failing(ws: Workspace) -> list[str]:
    check = ws.login("admin", PASSWORD).gates.check("parole", "lr@1", "production", ignore_waivers_by="owner")
    assert check is not None
    return list(check["blocking"])


def test_a_failing_gate_cannot_be_approved_until_someone_else_waives_it(served: Served) -> None:
    """The issue's scenario: one click moved a high-risk model whose gate failed into production. Now the page shows
    why approving is impossible and refuses it, the API refuses it too, each naming the failing rules; waivers by
    the requester do not count, another owner's do, and two approvals move the version."""
    client, tokens, ws = served
    failing = _failing(ws)
    assert "four-fifths" in failing and "approvals" not in failing
    csrf = _login(client, "approver")

    inbox = client.get("/approvals")
    assert inbox.status_code == 200
    row = next(r for r in inbox.text.split("<tr>") if 'href="/approvals/2"' in r)
    assert f"fails {len(failing)} of " in row and "verdict-fail" in row and "parole" in row
    assert 'href="/approvals/1"' in inbox.text  # the other pending request (release, staging: no policy guards it)
    listed = client.get("/approvals.json").json()["table"]["rows"]
    parole = next(r for r in listed if r["id"] == 2)
    assert parole["gate_failing"] == len(failing) and parole["gate_rules"] > len(failing)

    page = client.get("/approvals/2")
    assert page.status_code == 200
    button = re.search(r'<button[^>]*value="approve"[^>]*>', page.text)
    assert button and "disabled" in button.group(0)
    why = re.search(r'id="why-not"[^>]*>(.*?)</p>', page.text, re.S)
    assert why and all(rule in why.group(1) for rule in failing) and "/systems/parole/gates?" in why.group(1)
    assert 'id="gate-rules"' in page.text and 'id="readiness"' in page.text and 'id="risks"' in page.text
    assert "/systems/parole/models/lr%401/card?format=pdf" in page.text and 'id="changes"' in page.text
    assert "alert(" not in page.text and 'class="decide"' not in page.text
    twin = client.get("/approvals/2.json").json()
    assert twin["gate"]["blocking"] == failing and twin["can_approve"] is False and twin["can_decide"] is True
    assert twin["changes"]["last_approval"] is None and twin["changes"]["assessments"]["total"] == 1

    # approving anyway (a stale page, a crafted post): refused as a page, nothing written
    before = len(_actions(ws))
    refused = client.post("/systems/parole/approvals/2/decision", data={"csrf": csrf, "decision": "approve"})
    assert refused.status_code == 409 and "text/html" in refused.headers["content-type"]
    assert "cannot be approved" in refused.text and all(rule in refused.text for rule in failing)
    api = client.post("/api/systems/parole/approvals/2/decision", json={"decision": "approve"},
                      headers={"Authorization": f"Bearer {tokens['carol']}"})  # fmt: skip
    assert api.status_code == 409 and all(rule in api.json()["error"]["message"] for rule in failing)
    assert len(_actions(ws)) == before

    # the requester's own waivers do not count for her request
    csrf = _login(client, "owner")
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    bad = client.post("/systems/parole/waivers", data={"csrf": csrf, "rule": failing[0], "reason": "pilot",
                                                       "expires": "next week"})  # fmt: skip
    assert bad.status_code == 422 and 'value="next week"' in bad.text
    assert re.search(r'class="field-error" id="e-expires">a date, YYYY-MM-DD<', bad.text)
    given = client.post("/systems/parole/waivers", data={"csrf": csrf, "rule": failing[0], "reason": "pilot",
                                                         "expires": until})  # fmt: skip
    assert f"rule {failing[0]} may fail until {until}" in _flash(client, given)
    assert _failing(ws) == failing
    # ... another owner's do
    csrf = _login(client, "erin")
    for rule in failing:
        given = client.post("/systems/parole/waivers", data={"csrf": csrf, "rule": rule, "reason": "three-month pilot",
                                                             "expires": until, "model_version": "lr@1"})  # fmt: skip
        assert given.history[0].status_code == 303
    assert _failing(ws) == []

    csrf = _login(client, "approver")
    page = client.get("/approvals/2")
    button = re.search(r'<button[^>]*value="approve"[^>]*>', page.text)
    assert button and "disabled" not in button.group(0) and 'id="why-not"' not in page.text
    first = client.post("/systems/parole/approvals/2/decision", data={"csrf": csrf, "decision": "approve",
                                                                      "comment": "waivers read"})  # fmt: skip
    assert "Your approval of request 2 is recorded: 1 of 2" in _flash(client, first)
    again = client.post("/systems/parole/approvals/2/decision", data={"csrf": csrf, "decision": "approve"})
    assert again.status_code == 409 and "already decided" in again.text
    csrf = _login(client, "carol")
    final = client.post("/systems/parole/approvals/2/decision", data={"csrf": csrf, "decision": "approve"})
    assert "Request 2 approved: lr@1 is now in production" in _flash(client, final)
    assert ws.models.get_version("parole", "lr@1").stage == "production"
    actions = _actions(ws)
    assert actions.count("approval.decision") == 2 and "approval.approve" in actions and "gate.evaluate" in actions

    # the next request shows what changed since this approval
    erin = ws.login("erin", PASSWORD)
    erin.models.register_version("parole", {"model": "lr", "version": "2", "parent": "1"})
    erin.risks.add("parole", {"title": "Drift in parole data", "source": "data", "likelihood": 4, "impact": 4,
                              "treatment": "mitigate"})  # fmt: skip
    nxt = erin.approvals.request("parole", "lr@2", "production")
    changes = client.get(f"/approvals/{nxt.id}.json").json()["changes"]
    assert changes["last_approval"]["id"] == 2 and changes["last_approval"]["ref"] == "lr@1"
    assert changes["model_version"]["parent"] == "lr@1" and changes["assessments"]["total"] == 0
    assert [r["title"] for r in changes["risks_opened"]["items"]] == ["Drift in parole data"]
    page = client.get(f"/approvals/{nxt.id}").text
    assert "Drift in parole data" in page and "No assessment recorded." in page and "from lr@1" in page
    assert ws.audit.verify().ok


def test_request_reject_and_withdraw_with_confirmation(served: Served) -> None:
    client, _, ws = served
    csrf = _login(client, "owner")
    page = client.get("/systems/release/approvals")
    assert page.status_code == 200 and 'id="request-approval"' in page.text and '<option value="lr@1"' in page.text
    wrong = client.post("/systems/release/approvals", data={"csrf": csrf, "ref": "lr@1", "stage": "moon",
                                                            "comment": "kept"})  # fmt: skip
    assert (
        wrong.status_code == 422
        and re.search(r'id="e-stage">choose one<', wrong.text)
        and ">kept</textarea>" in wrong.text
    )
    twice = client.post("/systems/release/approvals", data={"csrf": csrf, "ref": "lr@1", "stage": "staging"})
    assert twice.status_code == 409 and "request 1 to move lr@1 to staging is already pending" in twice.text
    made = client.post("/systems/release/approvals", data={"csrf": csrf, "ref": "lr@1", "stage": "retired",
                                                           "comment": "end of life"})  # fmt: skip
    assert made.history[0].headers["location"] == "/approvals/3"
    assert "Approval request 3 made: lr@1 to retired, 1 approval(s) needed" in _flash(client, made)

    # withdraw: only with the box ticked, only by the requester
    page = client.get("/approvals/3")
    assert 'id="withdraw-form"' in page.text and 'name="confirm"' in page.text
    unconfirmed = client.post("/systems/release/approvals/3/withdraw", data={"csrf": csrf, "why": "typo"})
    assert (
        unconfirmed.status_code == 422 and "tick to confirm" in unconfirmed.text and 'value="typo"' in unconfirmed.text
    )
    withdrawn = client.post("/systems/release/approvals/3/withdraw", data={"csrf": csrf, "why": "typo",
                                                                           "confirm": "yes"})  # fmt: skip
    assert "Request 3 withdrawn" in _flash(client, withdrawn)
    assert ws.approvals.get(3).status == "withdrawn"
    event = ws.audit.log(EventFilter(action="approval.withdraw"))[-1]
    assert event.actor == "owner" and event.payload["comment"] == "typo"
    assert 'id="withdraw-form"' not in client.get("/approvals/3").text

    # reject needs a comment (next to the field), then works; the requester cannot decide her own
    own = client.post("/systems/release/approvals/1/decision", data={"csrf": csrf, "decision": "approve"})
    assert own.status_code == 403 and "may not approve on system" in own.text  # owners do not decide
    csrf = _login(client, "approver")
    bare = client.post("/systems/release/approvals/1/decision", data={"csrf": csrf, "decision": "reject"})
    assert bare.status_code == 422 and re.search(r'id="e-comment">say why<', bare.text)
    rejected = client.post("/systems/release/approvals/1/decision", data={"csrf": csrf, "decision": "reject",
                                                                          "comment": "no report"})  # fmt: skip
    assert "Request 1 rejected" in _flash(client, rejected)
    no_token = client.post("/systems/release/approvals/1/decision", data={"decision": "approve"})
    assert no_token.status_code == 403 and "CSRF" in no_token.text

    # the history: table, JSON twin, CSV with the same filters
    history = client.get("/systems/release/approvals", params={"status": "rejected"})
    assert 'href="/approvals/1"' in history.text and 'href="/approvals/3"' not in history.text
    twin = client.get("/systems/release/approvals.json").json()
    assert {r["id"]: r["status"] for r in twin["table"]["rows"]} == {1: "rejected", 3: "withdrawn"}
    exported = client.get("/systems/release/approvals.csv", params={"status": "withdrawn"})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["id"] for r in rows] == ["3"] and rows[0]["requested_by"] == "owner"
    inbox = list(csv.DictReader(io.StringIO(client.get("/approvals.csv", params={"status": ""}).text)))
    assert {r["id"] for r in inbox} == {"1", "2", "3"} and "gate" in inbox[0]


def test_roles_see_and_do_what_the_api_allows(served: Served) -> None:
    client, _, _ = served
    csrf = _login(client, "viewer")
    page = client.get("/approvals/2")
    assert page.status_code == 200 and 'id="decide-form"' not in page.text
    assert "Deciding needs the approver role on parole" in page.text
    refused = client.post("/systems/parole/approvals/2/decision", data={"csrf": csrf, "decision": "approve"})
    assert refused.status_code == 403 and 'id="error"' in refused.text
    assert client.post("/systems/parole/waivers", data={"csrf": csrf, "rule": "x", "reason": "y",
                                                        "expires": "2030-01-01"}).status_code == 403  # fmt: skip
    gates = client.get("/systems/parole/gates")
    assert gates.status_code == 200 and 'id="waive-form"' not in gates.text and 'id="record-form"' not in gates.text

    csrf = _login(client, "approver")  # approvers decide; waiving is the owners' (as the API's table says)
    assert client.post("/systems/parole/waivers", data={"csrf": csrf, "rule": "x", "reason": "y",
                                                        "expires": "2030-01-01"}).status_code == 403  # fmt: skip
    assert client.post("/systems/parole/approvals/2/withdraw", data={"csrf": csrf, "confirm": "yes"}).status_code == 403

    _login(client, "stranger")  # a system one cannot see does not exist
    for path in ("/approvals/2", "/approvals/2.json", "/systems/parole/gates", "/systems/parole/approvals"):
        assert client.get(path).status_code == 404, path
    assert client.get("/approvals.json").json()["table"]["rows"] == []
    _login(client, "auditor")
    assert client.get("/approvals/2").status_code == 200 and client.get("/systems/parole/gates.json").status_code == 200


def test_gates_page_policy_runs_and_waivers(served: Served) -> None:
    client, tokens, ws = served
    csrf = _login(client, "erin")
    page = client.get("/systems/parole/gates")
    assert page.status_code == 200
    assert "default-high" in page.text and "bias metric DI within [0.8, 1.25] for every facet" in page.text
    assert "Needs 2 approvals" in page.text and "moved back (demoted)" in page.text
    shown = client.get("/systems/parole/gates", params={"ref": "lr@1", "stage": "production"})
    assert 'id="gate-rules"' in shown.text and "four-fifths" in shown.text and 'id="record-form"' in shown.text
    twin = client.get("/systems/parole/gates.json", params={"ref": "lr@1", "stage": "production"}).json()
    assert "four-fifths" in twin["check"]["blocking"] and twin["runs"] == []
    assert twin["policies"][0]["rules"][0]["requires"].startswith("bias metric DI")

    recorded = client.post("/systems/parole/gates", data={"csrf": csrf, "ref": "lr@1", "stage": "production"})
    assert "recorded: failed" in _flash(client, recorded)
    assert ws.audit.log(EventFilter(action="gate.evaluate"))[-1].actor == "erin"
    assert client.get("/systems/parole/gates.json").json()["runs"][0]["outcome"] == "failed"
    unknown = client.post("/systems/parole/gates", data={"csrf": csrf, "ref": "lr@9", "stage": "production"})
    assert unknown.status_code == 404 and "model &#39;lr&#39; has no version &#39;9&#39;" in unknown.text

    until = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    client.post("/systems/parole/waivers", data={"csrf": csrf, "rule": "four-fifths", "reason": "pilot",
                                                 "expires": until})  # fmt: skip
    listed = client.get("/systems/parole/gates.json").json()["table"]["rows"]
    waiver = listed[0]
    assert waiver["state"] == "active" and waiver["model_version"] == "every version"
    form = client.get("/systems/parole/gates", params={"revoke": waiver["id"]})
    assert f'action="/systems/parole/waivers/{waiver["id"]}/revoke"' in form.text
    path = f"/systems/parole/waivers/{waiver['id']}/revoke"
    unconfirmed = client.post(path, data={"csrf": csrf, "why": "pilot over"})
    assert unconfirmed.status_code == 422 and "tick to confirm" in unconfirmed.text
    revoked = client.post(path, data={"csrf": csrf, "why": "pilot over", "confirm": "yes"})
    assert "counts again" in _flash(client, revoked)
    event = ws.audit.log(EventFilter(action="waiver.revoke"))[-1]
    assert event.actor == "erin" and event.payload["reason"] == "pilot over"
    again = client.post(path, data={"csrf": csrf, "why": "twice", "confirm": "yes"})
    assert again.status_code == 409 and "already revoked" in again.text
    exported = list(csv.DictReader(io.StringIO(client.get("/systems/parole/gates.csv").text)))
    assert exported[0]["state"] == "revoked" and exported[0]["rule"] == "four-fifths"
    assert (exported[0]["revoked_by"], exported[0]["revoke_reason"]) == ("erin", "pilot over")
    assert exported[0]["revoked_at"] == event.time  # when, from the ledger's event
    shown = client.get("/systems/parole/gates", params={"state": "revoked"}).text.split('id="waiver-list"')[1]
    assert "by erin: pilot over" in shown and f'datetime="{dt.datetime.fromisoformat(event.time).isoformat()}"' in shown
    assert client.get("/systems/parole/gates.json").json()["table"]["rows"][0]["revoked_by"] == "erin"

    # the API revokes too, with the same rules
    client.post("/systems/parole/waivers", data={"csrf": csrf, "rule": "calibration", "reason": "pilot",
                                                 "expires": until})  # fmt: skip
    second = client.get("/systems/parole/gates.json").json()["table"]["rows"][0]["id"]
    api = f"/api/systems/parole/waivers/{second}/revoke"
    assert (
        client.post(api, json={"reason": "no"}, headers={"Authorization": f"Bearer {tokens['approver']}"}).status_code
        == 403
    )
    done = client.post(api, json={"reason": "over"}, headers={"Authorization": f"Bearer {tokens['owner']}"})
    assert done.status_code == 200 and done.json()["state"] == "revoked"
