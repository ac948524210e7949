"""The real app over a workspace that holds one of each record and a user and write token for each role; the
server tests, and the tests of other layers that check their routes, share it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from assay.server import create_app
from assay.services.workspace import Workspace

#: what ``serving`` yields: the client, the tokens by person, the workspace
Served = tuple[TestClient, dict[str, str], Workspace]
#: the Accept header of a browser asking for a page
HTML = {"Accept": "text/html"}

PASSWORD = "correct horse battery"
ROLES = ("admin", "auditor", "owner", "approver", "overseer", "reviewer", "viewer", "stranger")

# The ids of the records serving() makes; a route's {name} is replaced by PARAMS[name].
PARAMS = {
    "system": "release",
    "assessment_id": "1",
    "risk_id": "1",
    "framework": "iso42001",
    "control_id": "A.6.2.4",
    "request_id": "1",
    "ref": "lr@1",
    "user": "viewer",
    "incident_id": "1",
    "action_id": "1",
    "evidence_id": "1",  # linked by the evidence rules when serving() records its assessment
    "token_id": "0",  # set by serving()
    "job_id": "1",  # none exists: 404 to whoever may ask
    "schedule_id": "1",
    "name": "watch",  # a monitor: none exists, 404 to whoever may ask
    "run_id": "1",
    "alert_id": "1",  # none exists: 404 to whoever may ask
    "item_id": "1",  # a review item: none exists, 404 to whoever may ask
    "case_id": "1",  # a contested case: none exists, 404 to whoever may ask
    "objective": "none",  # a management-system objective: none exists, 404 to whoever may ask
    "training": "none",  # a training of the catalogue: none exists, 404 to whoever may ask
    "issue_id": "1",  # management-system records: none exist, 404 to whoever may ask
    "party": "regulator",
    "key": "ai-policy",
    "assignment_id": "1",
    "person": "owner",
    "audit_id": "1",  # the management system's records: none exists, 404 to whoever may ask
    "nc_id": "1",
    "review_id": "1",
    "guardrail": "none",  # a guardrail policy: none exists, 404 to whoever may ask
    "corpus": "none",  # a protected corpus: none exists, 404 to whoever may ask
    "waiver_id": "1",  # a waiver: none exists, 404 to whoever may ask
}


@contextmanager
def serving(ws: Workspace, **app_options: Any) -> Iterator[tuple[TestClient, dict[str, str], Workspace]]:
    """The app over ``ws`` holding one of each record on system "release", each role's user and write token."""
    ws.systems.create({"name": "release", "eu_ai_act_category": "limited"})
    ws.models.register_version("release", {"model": "lr", "version": "1"})
    ws.assessments.record("release", {"schema": "assay.assessment", "spec": {}, "data": {}}, model_version="lr@1")
    assert ws.controls.list_evidence("release")[0].id == 1  # the assessment is linked as evidence 1, 2, ...
    ws.risks.add("release", {"title": "t", "source": "model", "likelihood": 2, "impact": 2, "treatment": "accept"})
    roles = {"admin": "admin", "auditor": "auditor"}
    ws.access.add_user("admin", PASSWORD, role="admin")  # the first admin needs nobody's leave
    admin = ws.login("admin", PASSWORD)  # the others, roles and tokens need an authenticated admin
    tokens = {}
    for name in ROLES:
        if name != "admin":
            admin.access.add_user(name, PASSWORD, role=roles.get(name, "member"))
        tokens[name] = admin.access.create_token(name, "test", scope="write")[0]
    for name in ("owner", "approver", "overseer", "reviewer", "viewer"):
        admin.access.grant(name, "release", name)
    ws.login("owner", PASSWORD).approvals.request("release", "lr@1", "staging")  # request 1, by its owner
    admin.access.add_user("spare", PASSWORD)  # the one POST /api/users/{user}/deactivate deactivates
    _, spare = admin.access.create_token("viewer", "spare", scope="read")  # the one DELETE /api/tokens/{id} revokes
    PARAMS["token_id"] = str(spare.id)
    with TestClient(create_app(ws, secure_cookies=False, **app_options)) as client:
        yield client, tokens, ws


def wait_for_job(client: TestClient, response: Any, headers: dict[str, str], timeout: float = 120.0) -> dict[str, Any]:
    """The job a compute route queued (202), once the app's workers ended it; its view through the API."""
    import time

    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if job["status"] not in ("queued", "running"):
            return dict(job)
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']} after {timeout} s"
        time.sleep(0.05)
