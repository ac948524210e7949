"""The controls pages: a system's controls (status, evidence attached as a file, a URL or an assessment, revoked
with a confirmation), the Statement of Applicability and readiness with each gap linking to the page that closes
it; for each role, with their JSON twins and CSV exports; the real app over a real workspace (SQLite and
PostgreSQL)."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from starlette.routing import Match

from assay.server.pages_controls import anchor
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.server import HTML, PASSWORD, Served

CONTROL = "A.6.2.4"  # release's assessment is linked to it by the evidence rules (evidence 1)


def _as(client: TestClient, name: str) -> TestClient:
    """A browser of its own, logged in as ``name``."""
    browser = TestClient(client.app)
    response = browser.post("/login", data={"name": name, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return browser


def _bearer(tokens: dict[str, str], name: str) -> dict[str, str]:
    """Another person's requests, with their token (no login: the password hash is slow by design)."""
    return {**HTML, "Authorization": f"Bearer {tokens[name]}"}


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _events(ws: Workspace, action: str) -> list[dict[str, object]]:
    return [e.content() for e in ws.audit.log(EventFilter(action=action))]


def test_the_controls_page_for_each_role(served: Served) -> None:
    client, tokens, _ = served
    owner = _as(client, "owner")
    page = owner.get("/systems/release/controls")
    assert page.status_code == 200
    assert f'id="{anchor(CONTROL)}"' in page.text and 'href="#control-A.6.2.4"' in page.text
    assert page.text.count('<section id="control-') == 38  # the Annex A controls, as the SoA
    assert "Attach evidence" in page.text and "Set status" in page.text and "Revoke evidence 1" in page.text
    assert len(set(re.findall(r' id="([^"]+)"', page.text))) == len(re.findall(r' id="([^"]+)"', page.text))
    for name in ("viewer", "auditor", "approver"):
        seen = client.get("/systems/release/controls?framework=nist-ai-rmf", headers=_bearer(tokens, name))
        assert seen.status_code == 200 and "GOVERN 1.1" in seen.text, name
        assert 'href="/systems/release/controls?sort=id&amp;framework=nist-ai-rmf"' in seen.text  # sorting stays
        assert "Attach evidence" not in seen.text and "Revoke evidence" not in seen.text, name
    assert client.get("/systems/release/controls", headers=_bearer(tokens, "stranger")).status_code in (403, 404)
    refused = owner.get("/systems/release/controls?framework=nist-ai-600-1", headers=HTML)
    assert refused.status_code == 422 and "nist-ai-600-1" in refused.text  # release is not generative
    twin = owner.get("/systems/release/controls.json", params={"framework": "eu-ai-act", "status": "not ready"})
    assert twin.status_code == 200 and twin.json()["framework"]["id"] == "eu-ai-act"
    assert twin.json()["total"] == 41 and {r["status"] for r in twin.json()["rows"]} == {"not ready"}
    exported = owner.get("/systems/release/controls.csv", params={"q": CONTROL})
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["id"] for r in rows] == [CONTROL] and rows[0]["evidence"] == "1"
    assert "not_implemented" not in rows[0]["missing"] and "implementation is not_started" in rows[0]["missing"]


def test_setting_a_status_and_its_refusals(served: Served) -> None:
    client, tokens, ws = served
    owner = _as(client, "owner")
    token = _csrf(owner.get("/systems/release/controls").text)
    form = {
        "csrf": token,
        "framework": "iso42001",
        "control_id": CONTROL,
        "applicable": "yes",
        "implementation": "implemented",
        "owner": "Ada",
        "justification": "",
    }
    done = owner.post("/systems/release/controls", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("#control-A.6.2.4")
    assert "Status of A.6.2.4 saved" in owner.get(done.headers["location"]).text
    status = next(s for s in ws.controls.statuses("release", "iso42001") if s.control_id == CONTROL)
    assert (status.implementation, status.owner) == ("implemented", "Ada")
    assert _events(ws, "control.status")[-1]["actor"] == "owner"
    excluded = owner.post("/systems/release/controls", data={**form, "applicable": "no", "owner": "Kept Owner"})
    assert excluded.status_code == 422
    assert 'id="s-control-A.6.2.4-e-justification"' in excluded.text and 'value="Kept Owner"' in excluded.text
    assert status.applicable  # nothing changed
    refused = client.post("/systems/release/controls", data=form, headers=_bearer(tokens, "viewer"))
    assert refused.status_code == 403
    assert len(_events(ws, "control.status")) == 1


def test_attaching_a_file_a_url_and_an_assessment(served: Served) -> None:
    client, tokens, ws = served
    owner = _as(client, "owner")
    token = _csrf(owner.get("/systems/release/controls").text)
    base = {"csrf": token, "framework": "iso42001", "control_id": "A.2.2", "description": "the policy"}
    content = b"%PDF-1.4 the AI policy\n"
    done = owner.post(
        "/systems/release/evidence",
        data={**base, "kind": "file", "valid_until": "2099-01-01"},
        files={"file": ("../ai policy.pdf", content, "application/pdf")},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/systems/release/controls?framework=iso42001#control-A.2.2"
    link = owner.post(
        "/systems/release/evidence",
        data={**base, "kind": "url", "url": "https://example.org/p"},
        follow_redirects=False,
    )
    linked = owner.post(
        "/systems/release/evidence", data={**base, "kind": "assessment", "assessment_id": "1"}, follow_redirects=False
    )
    assert link.status_code == 303 and linked.status_code == 303
    shown = {e.kind: e for e in ws.controls.list_evidence("release", "iso42001", "A.2.2") if e.via is None}
    assert shown["file"].artifact_sha256 == hashlib.sha256(content).hexdigest()
    assert ws.artifacts.has(hashlib.sha256(content).hexdigest())
    assert str(shown["file"].valid_until) == "2099-01-01" and shown["file"].created_by == "owner"
    assert shown["url"].url == "https://example.org/p" and shown["assessment"].assessment_id == 1
    assert [e["actor"] for e in _events(ws, "evidence.add")] == ["owner"] * 3
    page = owner.get("/systems/release/controls")
    assert "https://example.org/p" in page.text and "Evidence" in page.text
    bad_url = owner.post("/systems/release/evidence", data={**base, "kind": "url", "url": "ftp://x"})
    assert bad_url.status_code == 422 and 'id="ev-control-A.2.2-e-url"' in bad_url.text
    assert 'value="ftp://x"' in bad_url.text  # kept
    no_file = owner.post("/systems/release/evidence", data={**base, "kind": "file"})
    assert no_file.status_code == 422 and "choose a file to upload" in no_file.text
    bad_day = owner.post(
        "/systems/release/evidence", data={**base, "kind": "url", "url": "https://x.org", "valid_until": "next week"}
    )
    assert bad_day.status_code == 422 and 'id="ev-control-A.2.2-e-valid_until"' in bad_day.text
    other = owner.post("/systems/release/evidence", data={**base, "kind": "assessment", "assessment_id": "999"})
    assert other.status_code == 404
    assert len(_events(ws, "evidence.add")) == 3
    by_viewer = {**base, "kind": "url", "url": "https://x.org"}
    assert (
        client.post("/systems/release/evidence", data=by_viewer, headers=_bearer(tokens, "viewer")).status_code == 403
    )


def test_revoking_needs_a_confirmation(served: Served) -> None:
    client, tokens, ws = served
    owner = _as(client, "owner")
    token = _csrf(owner.get("/systems/release/controls").text)
    unconfirmed = owner.post("/systems/release/evidence/1/revoke", data={"csrf": token, "reason": "wrong data"})
    assert unconfirmed.status_code == 422
    assert 'id="revoke-1-e-confirm"' in unconfirmed.text and 'value="wrong data"' in unconfirmed.text
    assert ws.controls.list_evidence("release")[0].state == "current" and not _events(ws, "evidence.revoke")
    no_reason = owner.post("/systems/release/evidence/1/revoke", data={"csrf": token, "confirm": "yes"})
    assert no_reason.status_code == 422 and 'id="revoke-1-e-reason"' in no_reason.text
    refused = client.post(
        "/systems/release/evidence/1/revoke", data={"reason": "x", "confirm": "yes"}, headers=_bearer(tokens, "viewer")
    )
    assert refused.status_code == 403
    done = owner.post(
        "/systems/release/evidence/1/revoke",
        data={"csrf": token, "reason": "wrong data", "confirm": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Evidence 1 revoked" in owner.get(done.headers["location"]).text
    evidence = ws.controls.list_evidence("release")[0]
    assert (evidence.state, evidence.revoked_by, evidence.revoke_reason) == ("revoked", "owner", "wrong data")
    events = _events(ws, "evidence.revoke")
    assert len(events) == 1 and events[0]["actor"] == "owner"
    again = owner.post("/systems/release/evidence/1/revoke", data={"csrf": token, "reason": "x", "confirm": "yes"})
    assert again.status_code == 409 and "already revoked" in again.text


def test_the_statement_of_applicability(served: Served) -> None:
    client, tokens, _ = served
    owner = _as(client, "owner")
    page = owner.get("/systems/release/soa")
    assert page.status_code == 200 and "Statement of Applicability" in page.text and 'id="soa"' in page.text
    assert "<strong>0 of 38</strong> applicable Annex A controls ready" in page.text
    for fmt, kind in (("html", "text/html"), ("md", "text/markdown"), ("csv", "text/csv")):
        download = owner.get("/systems/release/soa/download", params={"format": fmt})
        assert download.status_code == 200 and download.headers["content-type"].startswith(kind), fmt
        assert "attachment" in download.headers["content-disposition"]
    assert owner.get("/systems/release/soa/download", params={"format": "pdf"}).status_code == 422
    token = _csrf(page.text)
    form = {
        "csrf": token,
        "framework": "iso42001",
        "control_id": "A.10.4",
        "applicable": "no",
        "justification": "no customers",
        "back": "soa",
    }
    done = owner.post("/systems/release/soa", data=form, follow_redirects=False)
    assert done.status_code == 405  # the form posts to the controls route
    done = owner.post("/systems/release/controls", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/systems/release/soa#control-A.10.4"
    missing = owner.post("/systems/release/controls", data={**form, "control_id": "A.10.3", "justification": " "})
    assert missing.status_code == 422 and 'id="soa-control-A.10.3-e-justification"' in missing.text
    twin = owner.get("/systems/release/soa.json").json()
    assert twin["summary"]["excluded"] == 1 and twin["document"]["schema"] == "assay.soa"
    exported = list(csv.DictReader(io.StringIO(owner.get("/systems/release/soa.csv?applicable=no").text)))
    assert [(r["id"], r["justification"], r["status"]) for r in exported] == [("A.10.4", "no customers", "excluded")]
    assert client.get("/systems/release/soa", headers=_bearer(tokens, "auditor")).status_code == 200
    viewer_page = client.get("/systems/release/soa", headers=_bearer(tokens, "viewer"))
    assert viewer_page.status_code == 200 and "Save status" not in viewer_page.text
    assert client.get("/systems/release/soa.json", headers=_bearer(tokens, "stranger")).status_code in (403, 404)


def test_readiness_counts_agree_with_the_soa(served: Served) -> None:
    """The finding "readiness says 0 of 70 where the SoA says 38": both count the 38 Annex A controls, ready
    meaning applicable, implemented and with current evidence; the controls page says the same."""
    client, _, ws = served
    owner_ws = ws.login("owner", PASSWORD)
    owner_ws.controls.set_status("release", "iso42001", CONTROL, implementation="implemented")  # evidence 1
    owner_ws.controls.set_status("release", "iso42001", "A.2.2", implementation="implemented")  # no evidence
    owner_ws.controls.set_status("release", "iso42001", "A.10.4", applicable=False, justification="no customers")
    owner_ws.controls.set_status("release", "iso42001", "A.3.2", implementation="implemented")
    owner_ws.controls.add_evidence("release", "iso42001", "A.3", kind="url", url="https://x.org")  # its objective
    soa = ws.controls.soa("release")["summary"]
    readiness = ws.controls.readiness("release", "iso42001")["systems"][0]
    assert (readiness["entries"], readiness["applicable"], readiness["excluded"]) == (38, 37, 1)
    assert (soa["controls"], soa["applicable"], soa["excluded"]) == (38, 37, 1)
    assert readiness["ready"] == soa["implemented_with_current_evidence"] == 2
    assert readiness["implemented"] == soa["implemented"] == 3
    owner = _as(client, "owner")
    pages = {
        "soa": owner.get("/systems/release/soa.json").json()["summary"],
        "controls": owner.get("/systems/release/controls.json").json()["summary"],
        "readiness": next(r for r in owner.get("/readiness.json").json()["summary"] if r["framework"] == "iso42001"),
    }
    for name, counts in pages.items():
        assert (counts["ready"], counts["applicable"], counts["excluded"]) == (2, 37, 1), name
    assert "<strong>2 of 37</strong>" in owner.get("/systems/release/soa").text
    assert "<strong>2 of 37</strong>" in owner.get("/systems/release/controls").text
    assert "<strong>2 of 37</strong> applicable" in owner.get("/readiness?framework=iso42001").text


def _route_exists(client: TestClient, path: str) -> bool:
    scope = {"type": "http", "method": "GET", "path": path, "root_path": ""}
    return any(route.matches(scope)[0] is Match.FULL for route in client.app.routes)  # type: ignore[attr-defined]


# the pages other parts of the web application serve (systems, compute, risks, approvals): linked here
ELSEWHERE = {"run", "impact", "approvals"}


def test_readiness_gaps_link_to_the_pages_that_close_them(served: Served) -> None:
    client, tokens, ws = served
    ws.login("owner", PASSWORD).controls.revoke_evidence("release", 1, reason="wrong data")
    owner = _as(client, "owner")
    page = owner.get("/readiness")
    assert page.status_code == 200 and 'id="gap-table"' in page.text
    everything = owner.get("/readiness.json").json()
    gaps = everything["gaps"]
    kinds = {g["kind"] for g in gaps}
    assert {"not_implemented", "no_evidence", "evidence_revoked", "management_system"} <= kinds
    revoked = next(g for g in gaps if g["kind"] == "evidence_revoked" and g["framework"] == "iso42001")
    assert revoked["link"] == "/systems/release/controls?framework=iso42001#control-A.6.2.4"
    assert any(link["href"] == "/systems/release/run" for g in gaps for link in g["links"])
    assert any(g["link"].startswith("/aims/") for g in gaps)
    checked = set()
    for href in {link["href"] for g in gaps for link in g["links"]}:
        parts = urlsplit(href)
        if not _route_exists(client, parts.path):
            assert parts.path.rsplit("/", 1)[-1] in ELSEWHERE, href
            continue
        response = owner.get(href, headers=HTML)
        assert response.status_code == 200, href
        if parts.fragment:
            assert f'id="{parts.fragment}"' in response.text, href
        checked.add(parts.path)
    assert "/systems/release/controls" in checked and len(checked) >= 4
    filtered = owner.get(
        "/readiness.json", params={"system": "release", "framework": "eu-ai-act", "kind": "no_evidence"}
    ).json()
    assert filtered["total_gaps"] > 0 and {(g["framework"], g["kind"]) for g in filtered["gaps"]} == {
        ("eu-ai-act", "no_evidence")
    }
    exported = list(csv.DictReader(io.StringIO(owner.get("/readiness.csv", params={"kind": "evidence_revoked"}).text)))
    assert exported and {r["kind"] for r in exported} == {"evidence_revoked"} and "link" in exported[0]
    stranger = client.get("/readiness.json", headers=_bearer(tokens, "stranger")).json()
    assert stranger["summary"] == [] and all(g["system"] == "" for g in stranger["gaps"])


def test_only_the_file_forms_of_the_pages_take_an_upload() -> None:
    from assay.server.app import is_upload

    assert is_upload("POST", "/systems/release/evidence")
    assert is_upload("POST", "/systems/release/datasets") and is_upload("POST", "/systems/release/models")
    assert not is_upload("POST", "/datasets")  # the dataset form moved to its system's page
    assert not is_upload("GET", "/systems/release/evidence")
    assert not is_upload("POST", "/systems/release/evidence/1/revoke")
    assert not is_upload("POST", "/systems/a/b/evidence")
