"""Internal audits, nonconformities and management reviews over a real app (routes and pages) and the command line
(`assay --user NAME aims ...`), on one workspace (SQLite; the services' tests run both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.cli import main
from assay.server import create_app
from tests.support.aims import Org, make_org
from tests.support.people import PASSWORD

API = "/api/aims"


@pytest.fixture(scope="module", params=["sqlite"])
def org(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    made = make_org(request, tmp_path_factory)
    yield made
    made.ws.close()


@pytest.fixture(scope="module")
def client(org: Org) -> Iterator[TestClient]:
    with TestClient(create_app(org.ws, secure_cookies=False)) as served:
        yield served


def bearer(org: Org, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {org.admin.access.create_token(name, 'api', scope='write')[0]}"}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_audit_nonconformity_and_review_over_http(org: Org, client: TestClient) -> None:
    admin, ivy, otto = bearer(org, "admin"), bearer(org, "ivy"), bearer(org, "otto")
    system = org.system()
    plan = {"programme": "2027", "title": "Monitoring", "auditor": "ivy", "area": "Operations",
            "scope": {"systems": [system], "clauses": ["9.1"]}, "criteria": ["iso42001:A.6.2.6"],
            "planned_on": "2027-05-01"}  # fmt: skip
    refused = client.post(f"{API}/audits", json=plan, headers=otto)
    assert refused.status_code == 403 and "otto may not plan an internal audit" in refused.text
    bad = client.post(f"{API}/audits", json={**plan, "criteria": ["iso42001:Z"]}, headers=admin)
    assert bad.status_code == 422 and "criteria: no control 'Z'" in bad.json()["error"]["message"]
    audit = ok(client.post(f"{API}/audits", json=plan, headers=admin), 201)
    ok(client.post(f"{API}/audits/{audit['id']}/start", headers=admin))
    finding = ok(client.post(f"{API}/audits/{audit['id']}/findings", headers=ivy, json={
        "kind": "minor", "title": "Alerts not triaged", "controls": ["iso42001:A.6.2.6"],
        "records": [f"system:{system}"],
    }), 201)  # fmt: skip
    ok(client.post(f"{API}/audits/{audit['id']}/complete", headers=ivy, json={"conclusion": "One minor."}))
    late = client.post(f"{API}/audits/{audit['id']}/findings", headers=ivy, json={"kind": "minor", "title": "x"})
    assert late.status_code == 409
    row = next(
        a for a in ok(client.get(f"{API}/audits?programme=2027", headers=otto))["items"] if a["id"] == audit["id"]
    )
    assert (row["status"], row["findings"]["minor"]) == ("completed", 1)
    assert [f["id"] for f in ok(client.get(f"{API}/findings?audit_id={audit['id']}", headers=otto))["items"]] == [
        finding["id"]
    ]

    nc_id = finding["nonconformity_id"]
    nc = ok(client.get(f"{API}/nonconformities/{nc_id}", headers=otto))
    assert (nc["source"], nc["source_ref"], nc["system"]) == ("audit", f"finding:{finding['id']}", system)
    ok(client.patch(f"{API}/nonconformities/{nc_id}", headers=admin, json={"root_cause": "No rota", "owner": "otto"}))
    rota = {"description": "A triage rota", "owner": "otto", "due_date": "2027-06-01"}
    action = ok(client.post(f"{API}/nonconformities/{nc_id}/actions", headers=otto, json=rota), 201)
    ok(client.post(f"{API}/nonconformities/{nc_id}/actions/{action['id']}/complete", headers=otto, json={"note": "x"}))
    premature = client.post(f"{API}/nonconformities/{nc_id}/close", headers=otto)
    assert premature.status_code == 409 and "without an effectiveness review" in premature.text
    ok(client.post(f"{API}/nonconformities/{nc_id}/verification", headers=otto))
    own = client.post(f"{API}/nonconformities/{nc_id}/effectiveness", headers=otto,
                      json={"effectiveness": "fine", "effective": True})  # fmt: skip
    assert own.status_code == 403 and "reviewed by someone else" in own.text
    ok(client.post(f"{API}/nonconformities/{nc_id}/effectiveness", headers=admin,
                   json={"effectiveness": "Alerts triaged within a day", "effective": True}))  # fmt: skip
    assert ok(client.post(f"{API}/nonconformities/{nc_id}/close", headers=otto))["status"] == "closed"

    opening = {"title": "Q2 review", "held_on": "2027-06-30", "attendees": ["admin", "ivy"]}
    review = ok(client.post(f"{API}/reviews", headers=admin, json=opening), 201)
    assert f"audit:{audit['id']}" in review["inputs"]["audits"]["completed"]["refs"]
    rid = review["id"]
    ok(client.post(f"{API}/reviews/{rid}/decisions", headers=admin, json={"decision": "Keep the rota"}))
    ok(client.post(f"{API}/reviews/{rid}/actions", headers=admin,
                   json={"description": "Check the rota", "owner": "ivy", "due_date": "2027-09-30"}), 201)  # fmt: skip
    ok(client.post(f"{API}/reviews/{rid}/refresh", headers=admin))
    ok(client.put(f"{API}/reviews/{rid}/minutes", headers=admin, json={"minutes": "All inputs reviewed."}))
    ok(client.post(f"{API}/reviews/{rid}/close", headers=admin))
    frozen = client.post(f"{API}/reviews/{rid}/decisions", headers=admin, json={"decision": "late"})
    assert frozen.status_code == 409 and "a closed review is frozen" in frozen.text
    detail = ok(client.get(f"{API}/reviews/{rid}", headers=otto))
    assert detail["decisions"] == ["Keep the rota"] and detail["actions"][0]["owner"] == "ivy"

    # the pages and their JSON twins
    page = client.get("/aims/audits", headers=otto)
    assert page.status_code == 200 and "Alerts not triaged" not in page.text and "Monitoring" in page.text
    assert any(a["id"] == audit["id"] for a in ok(client.get("/aims/audits.json", headers=otto))["audits"])
    page = client.get("/aims/nonconformities", headers=otto)
    assert page.status_code == 200 and "Alerts not triaged" in page.text and f"finding:{finding['id']}" in page.text
    assert ok(client.get("/aims/nonconformities.json", headers=otto))["counts"]["closed"] >= 1
    page = client.get("/aims/reviews", headers=otto)
    assert page.status_code == 200 and f'href="/aims/reviews/{rid}"' in page.text
    page = client.get(f"/aims/reviews/{rid}", headers=otto)
    assert page.status_code == 200
    for text in ("Q2 review", 'id="input-previous_actions"', 'id="input-opportunities"', f"audit:{audit['id']}",
                 "Keep the rota", "All inputs reviewed.", "Check the rota"):  # fmt: skip
        assert text in page.text, text
    assert ok(client.get(f"/aims/reviews/{rid}.json", headers=otto))["review"]["status"] == "closed"
    assert client.get("/aims/reviews/99999", headers=otto).status_code == 404
    assert org.ws.audit.verify().ok


def test_the_command_line(org: Org, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ASSAY_PASSWORD", PASSWORD)
    system = org.system()

    def run(*args: str, user: str = "admin") -> str:
        capsys.readouterr()
        code = main(["--workspace", str(org.ws.root), "--user", user, *args])
        out = capsys.readouterr()
        assert code == 0, out.err
        return out.out

    assert "internal audit" in run("aims", "audit", "plan", "cli", "--title", "Scope", "--auditor", "ivy",
                                   "--system", system, "--clause", "4.3", "--criterion", "iso42001:A.2.2")  # fmt: skip
    audit_id = org.admin.aims.audits.list(programme="cli")[0].id
    run("aims", "audit", "start", str(audit_id))
    run("aims", "finding", "add", str(audit_id), "opportunity", "--title", "Publish the scope", user="ivy")
    run("aims", "audit", "complete", str(audit_id), "--conclusion", "Fine", user="ivy")
    assert "Publish the scope" in run("aims", "audit", "show", str(audit_id))
    assert "opportunity" in run("aims", "audit", "list", "cli")
    run("aims", "nc", "open", "complaint", "T-9", "--title", "Slow answers", "--system", system)
    nc_id = org.admin.aims.nonconformities.list(source="complaint")[-1].id
    run("aims", "nc", "update", str(nc_id), "--root-cause", "Queue", "--correction", "Answered")
    run("aims", "nc", "action", str(nc_id), "Add staff", "--owner", "otto", "--due-date", "2027-01-01")
    action_id = org.admin.aims.nonconformities.detail(nc_id)["actions"][0]["id"]
    run("aims", "nc", "done", str(action_id), user="otto")
    run("aims", "nc", "verify", str(nc_id))
    code = main(["--workspace", str(org.ws.root), "--user", "admin", "aims", "nc", "close", str(nc_id)])
    assert code != 0 and "without an effectiveness review" in capsys.readouterr().err
    run("aims", "nc", "effectiveness", str(nc_id), "Queue empty", "--effective")
    run("aims", "nc", "close", str(nc_id))
    assert "closed" in run("aims", "nc", "list", "--status", "closed")
    out = run("aims", "review", "open", "CLI review", "--held-on", "2027-12-01", "--attendee", "admin")
    assert "previous_actions" in out and "opportunities" in out
    review_id = org.admin.aims.reviews.list()[0].id
    run("aims", "review", "decide", str(review_id), "Carry on")
    run("aims", "review", "action", str(review_id), "Publish", "--owner", "otto")
    run("aims", "review", "minutes", str(review_id), "Short meeting")
    run("aims", "review", "close", str(review_id))
    assert "Carry on" in run("aims", "review", "show", str(review_id), "--json")
