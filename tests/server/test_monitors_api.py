"""The monitors API on the real app: create (every check validated: 422 naming the field), list, show, pause,
resume, delete, and a run queued as a job (202 and its Location); roles as the permission table says."""

from __future__ import annotations

from typing import Any

from assay.services.workspace import Workspace
from tests.support.server import serving, wait_for_job


def _auth(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def _body(**more: Any) -> dict[str, Any]:
    return {
        "name": "watch", "model_version": "lr@1", "checks": [{"kind": "duplicates", "options": {}}],
        "source": {"type": "given"}, "window": "1h", **more,
    }  # fmt: skip


def test_monitors_over_the_api(workspace: Workspace) -> None:
    with serving(workspace) as (client, tokens, _):
        owner, viewer, stranger = _auth(tokens, "owner"), _auth(tokens, "viewer"), _auth(tokens, "stranger")
        url = "/api/systems/release/monitors"
        assert client.post(url, json=_body(), headers=viewer).status_code == 403
        assert client.post(url, json=_body(), headers=stranger).status_code == 404
        bad = client.post(url, json=_body(checks=[{"kind": "duplicates", "options": {"nope": 1}}]), headers=owner)
        assert bad.status_code == 422 and "checks[0].options" in bad.text and "nope" in bad.text
        assert client.post(url, json=_body(window="2x"), headers=owner).status_code == 422
        created = client.post(url, json=_body(interval="1h"), headers=owner)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["window"] == 3600 and body["schedule"]["interval_seconds"] == 3600
        assert body["checks"][0]["kind"] == "duplicates" and body["checks"][0]["options"]["examples"] == 5
        assert client.post(url, json=_body(), headers=owner).status_code == 409
        assert [m["name"] for m in client.get(url, headers=viewer).json()["items"]] == ["watch"]
        assert client.get(f"{url}/watch", headers=stranger).status_code == 404
        assert client.post(f"{url}/watch/pause", headers=viewer).status_code == 403
        assert client.post(f"{url}/watch/pause", headers=owner).json()["paused"] is True
        assert client.post(f"{url}/watch/pause", headers=owner).status_code == 409
        assert client.post(f"{url}/watch/resume", headers=owner).json()["paused"] is False
        queued = client.post(f"{url}/watch/run", headers=owner)
        assert queued.headers["Location"].startswith("/api/jobs/")
        job = wait_for_job(client, queued, owner)
        assert job["status"] == "failed" and "--data" in job["error"]  # a monitor of given data has no window
        runs = client.get(f"{url}/watch/runs", headers=viewer).json()
        assert runs["items"] == [] and runs["total"] == 0
        assert client.delete(f"{url}/watch", headers=owner).json()["deleted"] is True
        assert client.get(f"{url}/watch", headers=owner).status_code == 404


def test_the_monitoring_page(workspace: Workspace, tmp_path: Any) -> None:
    import pandas as pd

    with serving(workspace) as (client, tokens, ws):
        owner = _auth(tokens, "owner")
        data = tmp_path / "w.csv"
        pd.DataFrame({"a": [1.0, 2.0, 3.0, 2.0], "b": ["x", "y", "x", "z"]}).to_csv(data, index=False)
        ws.monitors.create("release", _body(checks=[{"kind": "duplicates", "options": {}}]))
        done = ws.monitors.run("release", "watch", data=data)
        page = client.get("/systems/release/monitoring", headers=owner)
        assert page.status_code == 200 and "watch" in page.text and "duplicates</a>: pass" in page.text
        report = f"/systems/release/assessments/{done.results[0]['assessment_id']}/report"
        assert report in page.text
        served = client.get(report, headers=owner)
        assert served.status_code == 200 and "sandbox" in served.headers["Content-Security-Policy"]
        twin = client.get("/systems/release/monitoring.json", headers=owner).json()
        assert twin["monitors"][0]["runs"][0]["status"] == "ok"
        assert client.get("/systems/release/monitoring", headers=_auth(tokens, "stranger")).status_code == 404
