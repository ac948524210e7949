"""The alerts API, rollback over HTTP and Prometheus's /metrics (parsed with prometheus_client's own text parser):
the real app over SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from assay.server import create_app
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.monitoring import check, make_monitor, record_run
from tests.support.server import PASSWORD, serving

DOC: dict[str, Any] = {"schema": "assay.assessment", "spec": {}, "data": {}}


@pytest.fixture
def server(workspace: Workspace) -> Iterator[tuple[TestClient, dict[str, str], Workspace]]:
    with serving(workspace) as served:
        yield served


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels (prometheus_client's parser)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def monitored(ws: Workspace) -> Any:
    """A monitor of lr@1 with two runs: the first with metrics and a violation, the second a failed run."""
    monitor = make_monitor(ws, "release", "lr@1", alerting={"severity": "critical", "retraining": True})
    results = [
        check("drift", "fail", [("age", 0.31)], [("psi", "age", 0.31), ("psi", "income", 0.02)]),
        check("model-quality", "pass", metrics=[("accuracy", "", 0.87)]),
    ]
    record_run(ws, monitor, 0, results)
    record_run(ws, monitor, 1, [], status="failed")
    return monitor


def test_alerts_and_retraining_requests(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, tokens, ws = server
    monitored(ws)
    listed = client.get("/api/systems/release/alerts", headers=bearer(tokens["viewer"]))
    assert listed.status_code == 200 and listed.json()["total"] == 1
    alert = listed.json()["items"][0]
    assert (alert["subject"], alert["severity"], alert["status"]) == ("age", "critical", "open")
    url = f"/api/systems/release/alerts/{alert['id']}"
    assert client.get(url, headers=bearer(tokens["viewer"])).json()["key"] == alert["key"]
    assert client.post(f"{url}/acknowledge", headers=bearer(tokens["viewer"]), json={}).status_code == 403
    acked = client.post(f"{url}/acknowledge", headers=bearer(tokens["owner"]), json={"note": "looking"})
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    again = client.post(f"{url}/acknowledge", headers=bearer(tokens["owner"]), json={})
    assert again.status_code == 409 and "acknowledged already" in again.json()["error"]["message"]
    assert client.get("/api/systems/release/alerts?status=gone", headers=bearer(tokens["owner"])).status_code == 422
    assert client.get("/api/systems/release/alerts", headers=bearer(tokens["stranger"])).status_code == 404

    requests = client.get("/api/systems/release/retraining-requests", headers=bearer(tokens["viewer"])).json()
    assert requests["total"] == 1 and requests["items"][0]["alert_id"] == alert["id"]
    close = f"/api/systems/release/retraining-requests/{requests['items'][0]['id']}/close"
    refused = client.post(close, headers=bearer(tokens["owner"]), json={"status": "declined"})
    assert refused.status_code == 422 and "needs a reason" in refused.json()["error"]["message"]
    closed = client.post(close, headers=bearer(tokens["owner"]), json={"status": "declined", "resolution": "noise"})
    assert closed.status_code == 200 and closed.json()["status"] == "declined"
    made = client.post(
        "/api/systems/release/retraining-requests",
        headers=bearer(tokens["owner"]),
        json={"model_version": "lr@1", "reason": "new data"},
    )
    assert made.status_code == 201 and made.json()["created_by"] == "owner"


def test_rollback_over_http(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, tokens, ws = server
    ws.systems.create({"name": "ops", "eu_ai_act_category": "minimal"})  # its default policy: an assessment
    admin = ws.login("admin", PASSWORD)
    admin.access.grant("owner", "ops", "owner")
    admin.access.grant("approver", "ops", "approver")
    owner, approver = ws.login("owner", PASSWORD), ws.login("approver", PASSWORD)
    for version in ("1", "2"):
        owner.models.register_version("ops", {"model": "lr", "version": version})
        owner.assessments.record("ops", DOC, model_version=f"lr@{version}")
        request = owner.approvals.request("ops", f"lr@{version}", "production")
        assert approver.approvals.decide(request.id, "approve").status == "approved"
    body = {"reason": "accuracy fell"}
    refused = client.post("/api/systems/ops/rollback", headers=bearer(tokens["owner"]), json=body)
    assert refused.status_code == 403
    done = client.post("/api/systems/ops/rollback", headers=bearer(tokens["approver"]), json=body)
    assert done.status_code == 200 and done.json()["version"] == "1" and done.json()["stage"] == "production"
    event = ws.audit.log(EventFilter(action="model_version.stage"))[-1]
    assert event.actor == "approver" and "accuracy fell" in event.payload["reason"]
    assert client.post("/api/systems/ops/rollback", headers=bearer(tokens["approver"]), json={}).status_code == 422


def test_metrics_for_prometheus(server: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, tokens, ws = server
    monitored(ws)
    unauthenticated = client.get("/metrics")
    assert unauthenticated.status_code == 401 and "Bearer" in unauthenticated.text  # not a redirect to /login
    read_token, _ = ws.login("viewer", PASSWORD).access.create_token("viewer", "prometheus", scope="read")
    response = client.get("/metrics", headers=bearer(read_token))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=")
    found = samples(response.text)
    labels = (("model_version", "lr@1"), ("monitor", "daily"), ("system", "release"))

    def metric(kind: str, name: str, subject: str) -> float:
        key = tuple(sorted((*labels, ("kind", kind), ("metric", name), ("subject", subject))))
        return found[("assay_monitor_metric", key)]

    # the metrics of the last run with results (day 0), though the last run (day 1) failed
    assert metric("drift", "psi", "age") == 0.31 and metric("drift", "psi", "income") == 0.02
    assert metric("model-quality", "accuracy", "") == 0.87
    status = {dict(k[1])["status"]: v for k, v in found.items() if k[0] == "assay_monitor_last_run_status"}
    assert status == {"ok": 0.0, "violations": 0.0, "no_data": 0.0, "failed": 1.0}
    window_end = found[("assay_monitor_last_window_end_timestamp_seconds", labels)]
    assert window_end == 1767398400.0  # 2026-01-03T00:00Z, the end of day 1's window
    assert found[("assay_monitor_last_run_timestamp_seconds", labels)] > window_end - 10 * 365 * 86400
    open_alerts = (("severity", "critical"), ("status", "open"), ("system", "release"))
    assert found[("assay_alerts_open", open_alerts)] == 1.0
    assert found[("assay_metrics_truncated", ())] == 0.0

    # a member sees the systems they hold a role on only
    stranger = samples(client.get("/metrics", headers=bearer(tokens["stranger"])).text)
    assert not [k for k in stranger if k[0] in ("assay_monitor_metric", "assay_alerts_open")]


def test_metrics_bounded_and_public_when_set(workspace: Workspace) -> None:
    workspace.systems.create({"name": "release", "eu_ai_act_category": "limited"})
    workspace.models.register_version("release", {"model": "lr", "version": "1"})
    monitored(workspace)
    workspace.settings = workspace.settings.model_copy(update={"metrics_public": True, "metrics_max_series": 2})
    with TestClient(create_app(workspace, secure_cookies=False)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    found = samples(response.text)
    assert len([k for k in found if k[0] == "assay_monitor_metric"]) == 2
    assert found[("assay_metrics_truncated", ())] == 1.0
