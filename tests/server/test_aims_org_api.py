"""The management system's organisational records over HTTP (/api/aims) and their pages (/aims, /aims/context,
/aims/documents, /aims/roles with .json twins): the service's rules come through as 403/409/422 naming the field."""

from __future__ import annotations

from assay.services.workspace import Workspace
from tests.support.server import serving


def _auth(tokens: dict[str, str], name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[name]}"}


def test_the_organisation_over_http_and_its_pages(workspace: Workspace) -> None:
    with serving(workspace) as (client, tokens, ws):
        admin, owner, approver, viewer = (_auth(tokens, n) for n in ("admin", "owner", "approver", "viewer"))
        for role, person in (("management-system-owner", "owner"), ("top-management", "approver")):
            got = client.post("/api/aims/roles", json={"role": role, "person": person}, headers=admin)
            assert got.status_code == 201, got.text
        refused = client.post("/api/aims/roles", json={"role": "reviewer", "person": "viewer"}, headers=viewer)
        assert refused.status_code == 403 and "viewer may not assign a governance role" in refused.text
        bad = client.post("/api/aims/roles", json={"role": "boss", "person": "viewer"}, headers=admin)
        assert bad.status_code == 422 and "role must be one of" in bad.json()["error"]["message"]

        assert client.post("/api/aims/issues", json={"kind": "external", "title": "EU AI Act"},
                           headers=owner).status_code == 201  # fmt: skip
        party = client.post(
            "/api/aims/parties",
            json={"name": "Regulator", "category": "regulator", "requirements": ["register high-risk systems"]},
            headers=owner,
        )
        assert party.status_code == 201, party.text
        clash = client.post("/api/aims/parties", json={"name": "REGULATOR", "category": "regulator"}, headers=owner)
        assert clash.status_code == 409
        no_reason = client.post("/api/aims/scopes", json={"statement": "s", "exclusions": [{"what": "HR"}]},
                                headers=owner)  # fmt: skip
        assert no_reason.status_code == 422 and "scope.exclusions[0].why" in no_reason.text
        ghost = client.post("/api/aims/scopes", json={"statement": "s", "systems": ["ghost"]}, headers=owner)
        assert ghost.status_code == 422 and "no AI system named 'ghost'" in ghost.text
        scope = client.post("/api/aims/scopes", json={"statement": "Release decisions", "systems": ["release"]},
                            headers=owner)  # fmt: skip
        assert scope.status_code == 201 and scope.json()["version"] == 1
        assert client.get("/api/aims/scope", headers=viewer).json()["scope"]["systems"] == ["release"]

        draft = client.post(
            "/api/aims/documents",
            json={"key": "ai-policy", "kind": "ai-policy", "title": "AI policy", "owner": "approver", "text": "..."},
            headers=owner,
        )
        assert draft.status_code == 201, draft.text
        assert client.post("/api/aims/documents/ai-policy/approve", json={}, headers=owner).status_code == 403
        approved = client.post("/api/aims/documents/ai-policy/approve", json={}, headers=approver)
        assert approved.status_code == 200 and approved.json()["approver_role"] == "top-management"
        assert client.get("/api/aims/policy", headers=viewer).json()["policy"]["version"] == 1
        url = client.post(
            "/api/aims/documents",
            json={"key": "x", "kind": "record", "title": "x", "owner": "owner", "location": "ftp://nope"},
            headers=owner,
        )
        assert url.status_code == 422 and "document.location 'ftp://nope' is neither artifact:SHA256" in url.text

        put = client.put("/api/aims/teams/release/owner", json={"disciplines": ["legal", "domain"]}, headers=owner)
        assert put.status_code == 200, put.text
        unknown = client.put("/api/aims/teams/release/owner", json={"disciplines": ["maths"]}, headers=owner)
        assert unknown.status_code == 422 and "unknown discipline 'maths'" in unknown.text
        cover = client.get("/api/aims/teams/release/coverage", headers=viewer).json()
        assert cover["missing"] == ["data-science", "engineering"] and cover["covered"]["legal"] == ["owner"]

        page = client.get("/aims", headers=viewer)
        assert page.status_code == 200 and "Release decisions" in page.text and "/aims/objectives" in page.text
        twin = client.get("/aims.json", headers=viewer).json()
        assert twin["policy"]["key"] == "ai-policy" and twin["counts"]["parties"] == 1
        for name in ("context", "documents", "roles"):
            assert client.get(f"/aims/{name}", headers=viewer).status_code == 200
        assert client.get("/aims/roles.json", headers=viewer).json()["teams"][0]["coverage"]["complete"] is False
        assert "REGULATOR" not in client.get("/aims/context", headers=viewer).text
        assert ws.audit.verify().ok
