"""The server: every route × every role from one table, authentication, CSRF, rate limiting, headers, errors,
pages and their JSON twins; the real FastAPI app on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from assay.server.permissions import PUBLIC, ROUTES
from assay.services._base import Listing
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.server import PARAMS, PASSWORD, ROLES, serving

SYSTEM_MEMBERS = {"owner", "approver", "overseer", "reviewer", "viewer", "stranger"}  # global role "member"

# The expected decision for each action and role, written out here independently of the code under test.
# Routes with {system} are called on "release", where owner/approver/viewer hold those roles and stranger none.
EXPECTED: dict[str, set[str]] = {
    "read": {"admin", "auditor", "owner", "approver", "overseer", "reviewer", "viewer"},
    "write": {"admin", "owner"},
    "approve": {"admin", "approver"},
    "audit": {"admin", "auditor"},
    "contribute": {"admin", "owner", "approver", "overseer", "reviewer", "viewer", "stranger"},
    "account": set(ROLES),
    "admin": {"admin"},
    "ingest": {"admin", "owner"},
    "review": {"admin", "owner", "overseer", "reviewer"},
    "oversee": {"admin", "owner", "overseer"},
    "feedback": {
        "admin",
        "owner",
        "approver",
        "overseer",
        "reviewer",
        "viewer",
    },  # whoever reads the system (not the auditor)
}
# without a {system}, reading is a listing every member may see (filtered to their systems)
GLOBAL_READ = set(ROLES)


@pytest.fixture
def server(workspace: Workspace) -> Iterator[tuple[TestClient, dict[str, str], Workspace]]:
    with serving(workspace) as served:
        yield served


def routes() -> list[tuple[str, str]]:
    return sorted(ROUTES)


def _call(client: TestClient, method: str, path: str, token: str) -> Any:
    url = path.replace("{user}", "spare") if path.endswith("/deactivate") else path  # keep the roles' users active
    for name, value in PARAMS.items():
        url = url.replace("{" + name + "}", value)
    headers = {"Authorization": f"Bearer {token}"}
    if path == "/api/artifacts":
        return client.post(url, headers=headers, files={"file": ("x.bin", b"data")})
    query = None
    body: Any = None
    if method in ("POST", "PUT", "PATCH"):
        body = {}
        if "memberships" in path:
            body = {"role": "viewer"}
        elif path.endswith("/evidence/{evidence_id}/revoke"):
            body = {"reason": "matrix"}  # the first allowed role revokes, the next ones get 409
    return client.request(method, url, headers=headers, json=body, params=query)


def test_every_route_has_an_entry_in_the_permission_table() -> None:
    from assay.server.app import ROUTERS

    served = {
        (method, route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    missing = served - set(ROUTES) - PUBLIC
    assert not missing, f"routes without a permission entry: {sorted(missing)}"
    assert set(ROUTES) <= served, f"table entries without a route: {sorted(set(ROUTES) - served)}"


def test_every_route_for_every_role(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, tokens, _ = server
    wrong = []
    for method, path in routes():
        action = ROUTES[(method, path)]
        expected = EXPECTED[action] if "{system}" in path or action != "read" else GLOBAL_READ
        for role in ROLES:
            response = _call(client, method, path, tokens[role])
            # the table's refusal says "<user> (<role>) may not <action>"; other 403s are domain rules (a
            # requester deciding their own approval, ...) on a call the role was allowed to make
            denied = response.status_code == 403 and f"({'member' if role in SYSTEM_MEMBERS else role}) may not" in (
                response.text
            )
            if "{system}" in path and role not in EXPECTED["read"]:
                # a system the role cannot see does not exist for it: 404, whatever the action (never 403)
                hidden = response.status_code == 404 and "no AI system named 'release'" in response.text
                if not hidden:
                    wrong.append(f"{method} {path} as {role}: {response.status_code} (not 404) {response.text[:120]}")
                continue
            if denied == (role in expected) or response.status_code in (401, 500):
                wrong.append(f"{method} {path} as {role}: {response.status_code} {response.text[:120]}")
    assert not wrong, "\n".join(wrong)


def test_unauthenticated_and_read_tokens(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, _, ws = server
    response = client.get("/api/systems")
    assert response.status_code == 401 and response.json()["error"]["type"] == "unauthenticated"
    owner = ws.login("owner", PASSWORD)  # a user makes their own tokens
    read_token = owner.access.create_token("owner", "ro", scope="read")[0]
    headers = {"Authorization": f"Bearer {read_token}"}
    assert client.get("/api/systems/release", headers=headers).status_code == 200
    assert client.patch("/api/systems/release", headers=headers, json={"owner": "x"}).status_code == 403
    assert client.post("/api/tokens", headers=headers, json={"name": "w", "scope": "write"}).status_code == 403
    secret, revoked = owner.access.create_token("owner", "gone", scope="write")
    assert client.get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    ws.access.revoke_token(revoked.id)
    assert client.get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_changes_are_audited_with_the_user(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, tokens, ws = server
    headers = {"Authorization": f"Bearer {tokens['owner']}"}
    response = client.patch("/api/systems/release", headers=headers, json={"owner": "dana"})
    assert response.status_code == 200 and response.json()["owner"] == "dana"
    event = ws.audit.log(EventFilter(action="system.update"))[-1]
    assert event.actor == "owner"
    approver = {"Authorization": f"Bearer {tokens['approver']}"}
    decided = client.post("/api/systems/release/approvals/1/decision", headers=approver, json={"decision": "approve"})
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert ws.audit.log(EventFilter(action="approval.approve"))[-1].actor == "approver"


def test_errors_pagination_and_uploads(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, tokens, ws = server
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    missing = client.get("/api/systems/nope", headers=headers)
    assert missing.status_code == 404 and set(missing.json()["error"]) == {"type", "message"}
    bad = client.post("/api/systems", headers=headers, json={"name": "x y"})
    assert bad.status_code == 422 and "name" in bad.json()["error"]["message"]
    conflict = client.post("/api/systems", headers=headers, json={"name": "release"})
    assert conflict.status_code == 409
    for index in range(3):
        client.post("/api/systems", headers=headers, json={"name": f"s{index}"})
    listed = client.get("/api/systems?limit=2&offset=1", headers=headers).json()
    assert listed["total"] == 4 and len(listed["items"]) == 2 and listed["offset"] == 1
    upload = client.post("/api/artifacts", headers=headers, files={"file": ("../../etc/passwd", b"hello")})
    assert upload.status_code == 201
    assert ws.artifacts.has(upload.json()["sha256"]) and upload.json()["size"] == 5
    exported = client.get("/api/audit/export", headers=headers)
    names = zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
    assert sorted(names) == ["checkpoints.jsonl", "events.jsonl", "ledger.pub"]
    assert client.post("/api/audit/verify", headers=headers).json()["ok"] is True


def test_security_headers_login_csrf_and_rate_limit(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, _, ws = server
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert (
        "frame-ancestors 'none'" in csp
        and "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    login = client.post("/api/login", json={"name": "owner", "password": PASSWORD})
    assert login.status_code == 200
    csrf = login.json()["csrf_token"]
    assert (
        "httponly" in login.headers["set-cookie"].lower() and "samesite=strict" in login.headers["set-cookie"].lower()
    )
    assert client.get("/api/me").json()["name"] == "owner"  # the cookie authenticates
    assert client.patch("/api/systems/release", json={"owner": "x"}).status_code == 403  # no CSRF header
    ok = client.patch("/api/systems/release", json={"owner": "x"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200
    fresh = TestClient(client.app)
    codes = [
        fresh.post("/api/login", json={"name": "viewer", "password": "wrong password!"}).status_code for _ in range(6)
    ]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert PASSWORD not in str(ws.audit.log())


def test_pages_and_their_json_twins(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, _, ws = server
    assert client.get("/", follow_redirects=False).status_code == 303  # no session: to the login page
    client.post("/login", data={"name": "viewer", "password": PASSWORD}, follow_redirects=False)
    page = client.get("/")
    assert page.status_code == 200 and 'href="/systems/release"' in page.text
    # the heat map: each cell coloured by its risk level, empty cells faded, the open risks counted under it
    assert page.text.count('class="num level-critical empty"') == 3, "the critical cells are empty"
    assert re.findall(r"· ([^<]*open risks?)<", page.text) == ["1 open risk"]  # the fixture's one risk
    assert "plotly.min.js" not in page.text  # a table, not a 3.5 MB chart library
    login = ws.audit.log(EventFilter(action="session.start"))[-1]
    assert login.actor == "viewer"  # the person who logged in, not the server's own user
    twin = client.get("/index.json").json()
    assert [s["name"] for s in twin["systems"]] == ["release"] and twin["recent_events"] == []  # viewer: no ledger
    ws.systems.update("release", {"purpose": "<script>alert(1)</script>"})
    system = client.get("/systems/release")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in system.text and "<script>alert" not in system.text
    assert client.get("/systems/release.json").json()["system"]["purpose"] == "<script>alert(1)</script>"
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/plotly.min.js").status_code == 200


def test_governance_pages(server: tuple[TestClient, dict[str, str], Workspace], tmp_path: Any) -> None:
    import re

    client, _, ws = server
    client.post("/login", data={"name": "owner", "password": PASSWORD}, follow_redirects=False)
    page = client.get("/systems/release/risks")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    form = {"title": "Drift in age", "source": "data", "likelihood": "3", "impact": "4", "treatment": "mitigate"}
    assert client.post("/systems/release/risks", data=form, follow_redirects=False).status_code == 403  # no CSRF
    created = client.post("/systems/release/risks", data={**form, "csrf": csrf.group(1)}, follow_redirects=False)
    assert created.status_code == 303
    risks = client.get("/systems/release/risks.json?sort=id").json()["risks"]
    assert risks[-1]["title"] == "Drift in age"
    heat = client.get("/").text  # impact 4, likelihood 3: score 12, a high risk, counted in its cell
    assert re.search(
        r'class="num level-high" title="impact 4, likelihood 3 \(high\): 1 open risk">'
        r'<a href="/risks\?impact=4&amp;likelihood=3">1</a><',
        heat,
    )
    assert "no open risks" not in heat
    edit = {**form, "likelihood": "5", "treatment": "avoid", "csrf": csrf.group(1)}
    assert (
        client.post(f"/systems/release/risks/{risks[-1]['id']}", data=edit, follow_redirects=False).status_code == 303
    )
    close = {"reason": "done", "csrf": csrf.group(1)}
    closing = client.post(f"/systems/release/risks/{risks[-1]['id']}/close", data=close, follow_redirects=False)
    assert closing.status_code == 303
    edited = client.get(f"/systems/release/risks/{risks[-1]['id']}.json").json()["risk"]
    assert (edited["level"], edited["treatment"], edited["status"]) == ("critical", "avoid", "closed")
    assert "Datasets (training and evaluation)" in client.get("/systems/release/models").text
    assert ws.audit.log(EventFilter(action="risk.create"))[-1].actor == "owner"
    assert 'action="/systems/release/evidence/1/revoke"' in client.get("/systems/release/controls").text
    revoke = {"reason": "attached to the wrong control", "csrf": csrf.group(1)}
    assert client.post("/systems/release/evidence/1/revoke", data=revoke).status_code == 422  # not confirmed
    revoke["confirm"] = "yes"
    assert client.post("/systems/release/evidence/1/revoke", data=revoke, follow_redirects=False).status_code == 303
    shown = {e["id"]: e for e in client.get("/systems/release.json").json()["evidence"]}
    assert shown[1]["state"] == "revoked" and shown[1]["revoke_reason"] == "attached to the wrong control"
    assert 'action="/systems/release/evidence/1/revoke"' not in client.get("/systems/release/controls").text
    assert ws.audit.log(EventFilter(action="evidence.revoke"))[-1].actor == "owner"
    assert "Statement of Applicability" in client.get("/systems/release/soa").text
    assert client.get("/readiness.json").json()["summary"][0]["system"] == "release"
    card = client.get("/systems/release/models/lr@1/card?format=pdf")
    assert card.status_code == 200 and card.content.startswith(b"%PDF")
    assert client.get("/audit").status_code == 403  # an owner does not read the ledger
    client.post("/logout", data={"csrf": csrf.group(1)})
    client.post("/login", data={"name": "approver", "password": PASSWORD}, follow_redirects=False)
    inbox = client.get("/approvals.json").json()["table"]["rows"]
    assert [a["id"] for a in inbox] == [1]
    approval = client.get("/approvals/1.json").json()  # the owner changed a risk since: stale, not to be decided
    assert (
        approval["approval"]["stale"]
        and not approval["can_decide"]
        and "withdraws it and requests again" in approval["why_not"]
    )
    assert (
        '<span class="user">approver <small>(approver)</small></span>' in client.get("/").text
    )  # the role held, not the global "member"
    client.post("/logout", data={"csrf": re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)})
    assert ws.audit.log(EventFilter(action="session.end"))[-1].actor == "approver"
    client.post("/login", data={"name": "auditor", "password": PASSWORD}, follow_redirects=False)
    audit = client.get("/audit")
    token = re.search(r'name="csrf" value="([^"]+)"', audit.text)
    assert token is not None
    verified = client.post("/audit/verify", data={"csrf": token.group(1)})
    assert "The ledger verifies" in verified.text


def test_stored_report_is_sandboxed(server: tuple[TestClient, dict[str, str], Workspace], tmp_path: Any) -> None:
    import pandas as pd

    import assay

    client, tokens, ws = server
    frame = pd.DataFrame({"g": ["a", "b"] * 50, "y": [1, 0, 0, 1] * 25, "p": [1, 1, 0, 0] * 25})
    report = assay.assess(frame, label="y", facets={"g": ["b"]}, predicted="p", bootstrap=0)
    recorded = ws.assessments.record("release", report.to_dict(), model_version="lr@1")
    headers = {"Authorization": f"Bearer {tokens['viewer']}"}
    page = client.get(f"/systems/release/assessments/{recorded.id}/report", headers=headers)
    assert page.status_code == 200 and "Plotly" in page.text
    assert page.headers["Content-Security-Policy"].startswith("sandbox allow-scripts")
    summary = client.get(f"/systems/release/assessments/{recorded.id}", headers=headers)
    assert summary.status_code == 200 and "DPPL" in summary.text
    assert client.get("/systems/release/assessments/1/report", headers=headers).status_code == 404  # incomplete doc


def test_every_page_form_refuses_a_session_post_without_its_csrf_field(
    server: tuple[TestClient, dict[str, str], Workspace],
) -> None:
    client, _, _ = server
    client.post("/login", data={"name": "admin", "password": PASSWORD}, follow_redirects=False)
    forms = [(m, p) for (m, p) in ROUTES if m == "POST" and not p.startswith("/api/")]
    assert forms, "no page forms found"
    for method, path in forms:
        url = path.replace("{system}", "release")
        response = client.request(method, url, data={"title": "t", "source": "s", "likelihood": "1", "impact": "1",
                                                     "treatment": "accept"}, follow_redirects=False)  # fmt: skip
        assert response.status_code == 403, f"{method} {path} accepted a form without the CSRF field"


def test_api_covers_the_command_line_areas(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, tokens, ws = server
    owner = {"Authorization": f"Bearer {tokens['owner']}"}
    policy = "schema: assay.policy/1\nname: api\nrules:\n  - {id: assessed, assessment: assay.assessment}\n"
    decision = client.post("/api/systems/release/gates", headers=owner, json={"ref": "lr@1", "policy": policy})
    assert decision.status_code == 200 and decision.json()["passed"] is True
    bad = client.post("/api/systems/release/gates", headers=owner, json={"ref": "lr@1", "policy": "rules: [\n"})
    assert bad.status_code == 422 and "YAML" in bad.json()["error"]["message"]
    waiver = {"rule": "assessed", "reason": "pilot", "expires": "2099-01-01"}
    assert client.post("/api/systems/release/waivers", headers=owner, json=waiver).status_code == 422  # > a year
    impact = client.post("/api/systems/release/impact-assessments", headers=owner, json={"title": "first"})
    assert impact.status_code == 201
    refused = client.post(f"/api/systems/release/impact-assessments/{impact.json()['id']}/finalise", headers=owner)
    assert refused.status_code == 409  # headings are empty
    incident = client.post("/api/systems/release/incidents", headers=owner, json={"title": "drift", "severity": "low"})
    action = client.post(
        f"/api/systems/release/incidents/{incident.json()['id']}/actions", headers=owner, json={"description": "fix"}
    )
    assert action.status_code == 201
    done = client.post(f"/api/systems/release/actions/{action.json()['id']}/complete", headers=owner, json={})
    assert done.json()["status"] == "done"
    docs = client.get("/api/systems/release/docs", headers=owner).json()
    assert docs["sections"][0]["id"] == "Annex IV.1"
    secret, token = ws.login("owner", PASSWORD).access.create_token("owner", "temp", scope="write")
    other = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert client.delete(f"/api/tokens/{token.id}", headers=other).status_code == 404  # not the viewer's token
    assert client.delete(f"/api/tokens/{token.id}", headers=owner).status_code == 200
    assert client.get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_api_shows_single_records_and_manages_users(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    """The CLI's show commands, risk reopen, and user role, deactivate and memberships, through the API."""
    client, tokens, ws = server
    owner = {"Authorization": f"Bearer {tokens['owner']}"}
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    ws.models.register_version("release", {"model": "lr", "version": "2", "parent": "lr@1"})
    version = client.get("/api/systems/release/models/lr@2", headers=owner).json()
    assert version["version"] == "2" and version["lineage"] == ["2", "1"]
    risk = client.get("/api/systems/release/risks/1", headers=owner).json()
    assert risk["score"] == 4 and risk["status"] == "open"
    client.post("/api/systems/release/risks/1/close", headers=owner, json={"note": "treated"})
    reopened = client.post("/api/systems/release/risks/1/reopen", headers=owner, json={"note": "came back"})
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    incident = client.post("/api/systems/release/incidents", headers=owner, json={"title": "drift", "severity": "low"})
    number = incident.json()["id"]
    client.post(f"/api/systems/release/incidents/{number}/actions", headers=owner, json={"description": "retrain"})
    detail = client.get(f"/api/systems/release/incidents/{number}", headers=owner).json()
    assert detail["title"] == "drift" and [a["description"] for a in detail["actions"]] == ["retrain"]
    actions = client.get(f"/api/systems/release/incidents/{number}/actions?status=open", headers=owner).json()
    assert actions["total"] == 1
    impact = client.post("/api/systems/release/impact-assessments", headers=owner, json={"title": "first"}).json()
    shown = client.get(f"/api/systems/release/impact-assessments/{impact['id']}", headers=owner).json()
    assert shown["title"] == "first"
    approval = client.get("/api/systems/release/approvals/1", headers=owner).json()
    assert approval["ref"] == "lr@1" and approval["stale"] is False
    ws.systems.create({"name": "other"})
    assert client.get("/api/systems/other/approvals/1", headers=admin).status_code == 404  # release's request
    assert client.get("/api/datasets/nope@1", headers=owner).status_code == 404
    assert client.get("/api/users/owner/memberships", headers=admin).json()["memberships"] == {"release": "owner"}
    promoted = client.put("/api/users/viewer/role", headers=admin, json={"role": "auditor"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "auditor"
    assert client.put("/api/users/viewer/role", headers=admin, json={"role": "king"}).status_code == 422
    assert client.post("/api/users/owner/deactivate", headers=admin).json()["active"] is False
    assert client.get("/api/me", headers=owner).status_code == 401  # a deactivated user's tokens stop working


def test_no_password_token_or_session_in_any_log(tmp_path: Any) -> None:
    """`assay serve` as users start it (uvicorn's access log on): log in, make and use tokens, fail a login,
    change the password-bearing routes; no secret shows in the server's output or in the audit ledger."""
    import httpx

    from assay.config import load_settings
    from tests.support.serve import assay_serve

    folder = tmp_path / "ws"
    with Workspace.init(folder, load_settings(actor="admin", workspace=None)) as ws:
        ws.access.add_user("admin", PASSWORD, role="admin")
    log = tmp_path / "server.log"
    secrets: list[str] = [PASSWORD, "another secret pass"]
    with assay_serve(folder, log) as served, httpx.Client(base_url=served.base) as client:
        login = client.post("/api/login", json={"name": "admin", "password": PASSWORD})
        assert login.status_code == 200
        secrets += [login.json()["csrf_token"], *client.cookies.values()]
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        made = client.post("/api/tokens", json={"name": "ci", "scope": "write"}, headers=csrf)
        assert made.status_code == 201
        token = made.json()["token"]
        secrets.append(token)
        with_token = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/me", headers=with_token).status_code == 200
        added = {"name": "bob", "password": secrets[1], "role": "member"}
        assert client.post("/api/users", json=added, headers=with_token).status_code == 201
        assert client.post("/login", data={"name": "bob", "password": "wrong " + PASSWORD}).status_code in (
            302,
            303,
        )
        secrets.append("wrong " + PASSWORD)
        page = client.post("/login", data={"name": "bob", "password": secrets[1]})
        assert page.status_code in (302, 303)
        secrets.append(client.cookies["assay_session"])  # bob's session
        assert secrets[-1] != secrets[3]
    printed = log.read_text()
    assert "POST /api/login" in printed and "GET /api/me" in printed  # the access log was on
    with Workspace.open(folder) as ws:
        ledger = str([event.content() for event in ws.audit.log()])
    assert len(secrets) == 7  # two passwords, a CSRF token, two session cookies, an API token, a wrong password
    leaked = [s for s in secrets if s and (s in printed or s in ledger)]
    assert not leaked, f"secrets in the server's output or the ledger: {len(leaked)}"


def test_every_route_declares_its_response_model(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    """OpenAPI shows each route's real shape: a named model for every success response, never a bare object
    (the compute routes, which become jobs, and the zip files (the audit export, the certification pack) are the
    exceptions)."""
    client, _, _ = server
    schema = client.get("/api/openapi.json").json()
    bare = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "compute" in operation.get("tags", []) or "checks" in operation.get("tags", []):
                continue
            if path in ("/api/audit/export", "/api/aims/pack"):
                continue
            success = next(v for k, v in operation["responses"].items() if k.startswith("2"))
            shape = success.get("content", {}).get("application/json", {}).get("schema", {})
            if "$ref" not in shape:
                bare.append(f"{method.upper()} {path}: {shape}")
    assert not bare, "\n".join(bare)
    components = schema["components"]["schemas"]
    assert "password_hash" not in str(components) and "token_hash" not in str(components)
    assert set(components["Page_System_"]["required"]) == {"items", "total", "limit", "offset"}


def test_pagination_is_cut_and_counted_in_the_database(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    """total counts every match; items are those from offset, at most limit, at the boundaries too."""
    client, tokens, ws = server
    for n in range(6):  # 7 risks in all with the fixture's
        ws.risks.add("release", {"title": f"r{n}", "source": "model", "likelihood": 1, "impact": 1,
                                 "treatment": "accept"})  # fmt: skip
    all_ids = [r.id for r in ws.risks.list("release")]
    assert len(all_ids) == 7
    headers = {"Authorization": f"Bearer {tokens['viewer']}"}
    for limit, offset in [(1, 0), (3, 0), (3, 3), (3, 6), (3, 7), (7, 0), (500, 0), (2, 100)]:
        body = client.get("/api/systems/release/risks", params={"limit": limit, "offset": offset}, headers=headers)
        page = body.json()
        assert page["total"] == 7 and page["limit"] == limit and page["offset"] == offset
        assert [r["id"] for r in page["items"]] == all_ids[offset : offset + limit]
    page = ws.risks.list("release", limit=2, offset=5)
    assert page.total == 7 and [r.id for r in page] == all_ids[5:7]
    for n in range(3):  # evidence: cut in the database too, with its state computed for the page only
        ws.controls.add_evidence("release", "iso42001", "A.6.2.4", kind="url", url=f"https://e.example/{n}")
    evidence = [e.id for e in ws.controls.list_evidence("release")]
    assert len(evidence) >= 4
    for limit, offset in [(1, 0), (2, 1), (2, len(evidence) - 1), (3, 100)]:
        body = client.get("/api/systems/release/evidence", params={"limit": limit, "offset": offset}, headers=headers)
        assert body.json()["total"] == len(evidence), body.text
        assert [e["id"] for e in body.json()["items"]] == evidence[offset : offset + limit]
    cut = ws.controls.list_evidence("release", limit=2, offset=1)
    assert isinstance(cut, Listing) and cut.total == len(evidence) and [e.id for e in cut] == evidence[1:3]
    # filtered in the database before counting: the stranger's list of systems is empty, the viewer's has one
    for name, expected in (("stranger", []), ("viewer", ["release"])):
        body = client.get("/api/systems", params={"limit": 1}, headers={"Authorization": f"Bearer {tokens[name]}"})
        assert [s["name"] for s in body.json()["items"]] == expected and body.json()["total"] == len(expected)


RISK = {"title": "t", "source": "model", "likelihood": 1, "impact": 1, "treatment": "accept"}


def test_invisible_system_is_not_found_in_the_services(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    """The object-level check is in the services: an authenticated user who is not a member of a system gets
    NotFound for it and its records, through reads and writes alike, as if it did not exist."""
    from assay.errors import NotFound

    _, _, ws = server
    stranger = ws.login("stranger", PASSWORD)
    viewer = ws.login("viewer", PASSWORD)
    assert [s.name for s in stranger.systems.list()] == [] and stranger.systems.list().total == 0
    assert [s.name for s in viewer.systems.list()] == ["release"]
    calls = [
        lambda: stranger.systems.get("release"),
        lambda: stranger.risks.get("release", 1),
        lambda: stranger.risks.list("release"),
        lambda: stranger.assessments.get("release", 1),
        lambda: stranger.models.get_version("release", "lr@1"),
        lambda: stranger.approvals.get(1, system="release"),
        lambda: stranger.risks.add("release", RISK),
        lambda: stranger.systems.update("release", {"purpose": "x"}),
    ]
    for call in calls:
        with pytest.raises(NotFound, match="no AI system named 'release'"):
            call()
    assert stranger.approvals.list() == [] and len(viewer.approvals.list()) == 1


def test_the_api_docs_load_nothing_from_outside(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    """``/api/docs`` (Swagger UI) works offline: its page names only Assay's own URLs, and they are served."""
    client, _, _ = server
    page = client.get("/api/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", page.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert "swagger-ui-bundle.js" in page.text


def test_login_returns_to_the_page_asked_for(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, _, _ = server
    asked = client.get("/systems/release/risks?x=1", follow_redirects=False)
    assert asked.status_code == 303 and asked.headers["location"] == "/login?next=%2Fsystems%2Frelease%2Frisks%3Fx%3D1"
    page = client.get(asked.headers["location"]).text
    assert '<input type="hidden" name="next" value="/systems/release/risks?x=1">' in page
    form = {"name": "viewer", "password": PASSWORD, "next": "/systems/release/risks?x=1"}
    wrong = client.post("/login", data={**form, "password": "wrong"}, follow_redirects=False)
    assert wrong.headers["location"] == "/login?error=1&next=%2Fsystems%2Frelease%2Frisks%3Fx%3D1"  # kept on retry
    done = client.post("/login", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/systems/release/risks?x=1"
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        away = client.post("/login", data={**form, "next": elsewhere}, follow_redirects=False)
        assert away.headers["location"] == "/", elsewhere  # never off this server
