"""The pages' shared cache (readiness, the dashboard's overview) is built through the services as the first person
who asks, so it is kept apart for people who see different systems: whoever asks first, everyone gets a page
(not a 500) showing exactly the systems they may see."""

from __future__ import annotations

from fastapi.testclient import TestClient

from assay.services.workspace import Workspace
from tests.support.server import PASSWORD, serving


def _login(client: TestClient, name: str) -> TestClient:
    session = TestClient(client.app)
    assert session.post("/login", data={"name": name, "password": PASSWORD}, follow_redirects=False).status_code == 303
    return session


def _names(session: TestClient, path: str) -> list[str]:
    response = session.get(path)
    assert response.status_code == 200, response.text
    systems = response.json()["systems"]
    return sorted(s["name"] if isinstance(s["name"], str) else s["system"]["name"] for s in systems)


def test_shared_pages_keep_each_persons_systems_whoever_asks_first(workspace: Workspace) -> None:
    with serving(workspace) as (client, _, ws):
        ws.systems.create({"name": "other", "eu_ai_act_category": "minimal"})  # the owner cannot see it
        admin, owner = _login(client, "admin"), _login(client, "owner")
        # the administrator first, then the owner, at the same head of the ledger
        assert _names(admin, "/index.json") == ["other", "release"]
        assert _names(owner, "/index.json") == ["release"]
        assert owner.get("/").status_code == 200
        # a change, then the owner first: the administrator still sees every system
        ws.systems.update("other", {"purpose": "changed"})
        assert owner.get("/readiness.json").json()["systems"] == ["release"]
        frameworks = admin.get("/readiness.json").json()["frameworks"].values()  # built as the owner asked first
        assert {f["generated_by"] for f in frameworks} == {"admin"}
        assert _names(owner, "/index.json") == ["release"]
        assert _names(admin, "/index.json") == ["other", "release"]
        assert admin.get("/readiness.json").json()["systems"] == ["other", "release"]


def test_heat_map_and_stale_requests_follow_each_change(workspace: Workspace) -> None:
    """The heat map counts the open risks of the systems each person sees (one query for all systems), and a
    request's state digest, kept per head of the ledger, follows a change made after a page showed it."""
    with serving(workspace) as (client, _, ws):
        ws.systems.create({"name": "other", "eu_ai_act_category": "minimal"})
        ws.risks.add("other", {"title": "o", "source": "data", "likelihood": 5, "impact": 5, "treatment": "avoid"})
        admin, owner = _login(client, "admin"), _login(client, "owner")
        assert admin.get("/index.json").json()["risk_heat_map"]["counts"][4][4] == 1
        heat = owner.get("/index.json").json()["risk_heat_map"]
        assert heat["open"] == 1 and heat["counts"][1][1] == 1  # release's risk (2, 2) only
        assert [a["stale"] for a in owner.get("/approvals.json").json()["table"]["rows"]] == [False]
        ws.risks.update("release", 1, {"likelihood": 3})  # what the approval froze changes
        assert [a["stale"] for a in owner.get("/approvals.json").json()["table"]["rows"]] == [True]
        assert owner.get("/index.json").json()["risk_heat_map"]["counts"][1][2] == 1


def test_a_read_only_request_reads_the_ledgers_head_once_one_that_may_write_each_time(workspace: Workspace) -> None:
    """The page caches are keyed by the ledger's head: a GET reads it once (a page looks up a dozen cached parts), a
    request that may change something reads it every time, so what it caches after its change has the new head."""
    from assay.server.deps import Authorised
    from assay.services.access import Principal

    who = Principal("admin", "admin", {})
    before = workspace.audit.head_seq()
    reading, writing = Authorised(who, workspace, reads_only=True), Authorised(who, workspace)
    assert reading.head() == writing.head() == before
    workspace.systems.create({"name": "later", "eu_ai_act_category": "minimal"})
    assert reading.head() == before  # as the request first saw it
    assert writing.head() == workspace.audit.head_seq() > before
