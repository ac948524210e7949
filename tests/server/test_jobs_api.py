"""The jobs and schedules API on the real app (workers started by its lifespan), and a real `assay serve` killed
mid-job: its worker process dies with it, and the restarted server shows the job failed with the reason."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from assay.server import create_app
from assay.services import jobs
from assay.services.jobs import LOST_REASON, STOPPED_REASON, JobContext
from assay.services.workspace import Workspace
from tests.support.people import PASSWORD, People
from tests.support.serve import assay_serve


def _steps(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    for step in range(3):
        ctx.progress(step / 3, f"step {step}")
    return {"assessment_id": 3}


def _forever(ctx: JobContext, params: dict[str, Any]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ctx.progress(None, "waiting")
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def handlers() -> Iterator[None]:
    jobs.register_handler("t.steps", _steps)
    jobs.register_handler("t.forever", _forever)
    yield
    jobs.unregister_handler("t.steps")
    jobs.unregister_handler("t.forever")


def _parent(pid: int) -> int | None:
    """The parent of process ``pid`` (Linux's /proc), or None once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    if "\nState:\tZ" in status:  # exited, not yet reaped
        return None
    return int(status.split("\nPPid:\t", 1)[1].split("\n", 1)[0])


def _wait(client: TestClient, job_id: int, headers: dict[str, str], status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        body: dict[str, Any] = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if body["status"] == status:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_jobs_api_shows_cancels_and_hides_by_system(workspace: Workspace, people: People) -> None:
    workspace.systems.create({"name": "credit", "eu_ai_act_category": "limited"})
    workspace.systems.create({"name": "other", "eu_ai_act_category": "minimal"})
    owner, viewer, stranger = people("owner", credit="owner"), people("viewer", credit="viewer"), people("stranger")
    people("outsider", other="owner")
    token = {name: people.admin.access.create_token(name, "t", scope="write")[0]
             for name in ("admin", "owner", "viewer", "stranger", "outsider")}  # fmt: skip
    auth = {name: {"Authorization": f"Bearer {secret}"} for name, secret in token.items()}
    with TestClient(create_app(workspace, secure_cookies=False)) as client:  # its lifespan starts a worker
        done = owner.jobs.submit("t.steps", {}, system="credit")
        body = _wait(client, done.id, auth["viewer"], "succeeded")
        assert body["result"] == {"assessment_id": 3} and body["progress"] == 0.6666666666666666
        assert [entry["stage"] for entry in body["log"]] == ["step 0", "step 1", "step 2"]
        assert body["requested_by"] == "owner" and body["error"] is None and body["worker"].count(":") == 2
        assert client.get(f"/api/jobs/{done.id}", headers=auth["stranger"]).status_code == 404
        assert client.get(f"/api/jobs/{done.id}", headers=auth["outsider"]).status_code == 404
        assert client.get("/api/jobs", headers=auth["outsider"]).json()["total"] == 0
        listed = client.get("/api/jobs", params={"system": "credit", "status": "succeeded"}, headers=auth["admin"])
        assert [j["id"] for j in listed.json()["items"]] == [done.id]
        assert client.get("/api/jobs", params={"status": "done"}, headers=auth["admin"]).status_code == 422

        running = owner.jobs.submit("t.forever", {}, system="credit")
        _wait(client, running.id, auth["owner"], "running")
        refused = client.post(f"/api/jobs/{running.id}/cancel", headers=auth["viewer"])
        assert refused.status_code == 403 and "only who requested it" in refused.json()["error"]["message"]
        assert client.post(f"/api/jobs/{running.id}/cancel", headers=auth["outsider"]).status_code == 404
        asked = client.post(f"/api/jobs/{running.id}/cancel", headers=auth["owner"])
        assert asked.status_code == 200 and asked.json()["cancel_requested"] is True
        cancelled = _wait(client, running.id, auth["owner"], "cancelled")
        assert cancelled["error"] == "cancelled while running"
        again = client.post(f"/api/jobs/{running.id}/cancel", headers=auth["owner"])
        assert again.status_code == 409 and "has already cancelled" in again.json()["error"]["message"]
        del stranger, viewer
    assert workspace.audit.verify().ok


def test_schedules_api(workspace: Workspace, people: People) -> None:
    workspace.systems.create({"name": "credit", "eu_ai_act_category": "limited"})
    people("owner", credit="owner")
    people("viewer", credit="viewer")
    auth = {name: {"Authorization": f"Bearer {people.admin.access.create_token(name, 't', scope='write')[0]}"}
            for name in ("owner", "viewer")}  # fmt: skip
    url = "/api/systems/credit/schedules"
    with TestClient(create_app(workspace, secure_cookies=False)) as client:
        body = {"kind": "t.steps", "cron": "0 3 * * *", "timezone": "Europe/Paris"}
        created = client.post(url, json=body, headers=auth["owner"])
        assert created.status_code == 201, created.text
        schedule = created.json()
        assert schedule["missed"] == "coalesce" and schedule["next_run_at"] is not None
        bad = client.post(url, json={**body, "cron": "0 25 * * *"}, headers=auth["owner"])
        assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("cron '0 25 * * *':")
        zone = client.post(url, json={**body, "timezone": "Nowhere/City"}, headers=auth["owner"])
        assert zone.status_code == 422 and "timezone 'Nowhere/City'" in zone.json()["error"]["message"]
        assert client.post(url, json=body, headers=auth["viewer"]).status_code == 403
        listed = client.get(url, headers=auth["viewer"]).json()
        assert [s["id"] for s in listed["items"]] == [schedule["id"]] and listed["total"] == 1
        paused = client.post(f"{url}/{schedule['id']}/pause", headers=auth["owner"]).json()
        assert paused["paused"] is True and paused["next_run_at"] is None
        assert client.post(f"{url}/{schedule['id']}/resume", headers=auth["owner"]).json()["paused"] is False
        assert client.delete(f"{url}/{schedule['id']}", headers=auth["owner"]).status_code == 200
        assert client.get(url, headers=auth["owner"]).json()["total"] == 0
        assert client.delete(f"{url}/{schedule['id']}", headers=auth["owner"]).status_code == 404
    actions = [e.action for e in workspace.audit.log() if e.object_type == "schedules"]
    assert actions == ["schedule.create", "schedule.pause", "schedule.resume", "schedule.delete"]


def test_a_server_killed_mid_job_shows_the_job_failed_after_restart(workspace: Workspace, tmp_path: Path) -> None:
    """A real `assay serve` runs a job (the test hook kind, ASSAY_TEST_HANDLERS=1), is killed (SIGKILL: no
    shutdown), and started again: the job is failed with the reason, audited, and the ledger verifies."""
    workspace.systems.create({"name": "credit", "eu_ai_act_category": "limited"})
    workspace.access.add_user("admin", PASSWORD, role="admin")
    secret = workspace.login("admin", PASSWORD).access.create_token("admin", "t", scope="write")[0]
    headers = {"Authorization": f"Bearer {secret}"}
    env = {**os.environ, "ASSAY_TEST_HANDLERS": "1", "ASSAY_WORKER_POLL_SECONDS": "0.2"}
    jobs.register_test_handlers()  # to submit the kind from here; the server's worker runs it
    try:
        job = workspace.jobs.submit("test.sleep", {"seconds": 60}, system="credit")
        with assay_serve(workspace.root, tmp_path / "first.log", env) as served:
            deadline = time.monotonic() + 20
            while (body := httpx.get(f"{served.base}/api/jobs/{job.id}", headers=headers).json())[
                "stage"
            ] != "sleeping":
                assert time.monotonic() < deadline, body
                time.sleep(0.1)
            worker = int(body["worker"].split(":")[1])  # the server's child `assay worker` process
            assert body["status"] == "running" and worker != served.process.pid
            assert _parent(worker) == served.process.pid
            served.process.send_signal(signal.SIGKILL)
            served.process.wait(10)
            deadline = time.monotonic() + 10  # the worker sees its server's pipe close and exits at once
            while _parent(worker) is not None:
                assert time.monotonic() < deadline, f"worker process {worker} outlived its server"
                time.sleep(0.05)
        assert workspace.jobs.get(job.id).status == "running"  # nobody said otherwise yet
        with assay_serve(workspace.root, tmp_path / "second.log", env) as served:
            body = httpx.get(f"{served.base}/api/jobs/{job.id}", headers=headers).json()
        assert (body["status"], body["error"]) == ("failed", LOST_REASON)
    finally:
        jobs.unregister_handler("test.sleep")
    assert [e.action for e in workspace.audit.log() if e.object_type == "jobs"] == [
        "job.submit",
        "job.start",
        "job.fail",
    ]
    assert workspace.audit.verify().ok


def test_a_stopped_server_stops_its_worker_process_and_fails_its_job(workspace: Workspace, tmp_path: Path) -> None:
    """`assay serve` stopped as a service manager stops it (SIGTERM) while its worker process runs a job: the worker
    process is stopped with it, and the job is failed with the shutdown reason (never left running)."""
    workspace.systems.create({"name": "credit", "eu_ai_act_category": "limited"})
    env = {**os.environ, "ASSAY_TEST_HANDLERS": "1", "ASSAY_WORKER_SHUTDOWN_GRACE": "0.5"}
    jobs.register_test_handlers()
    try:
        job = workspace.jobs.submit("test.sleep", {"seconds": 60}, system="credit")
        with assay_serve(workspace.root, tmp_path / "serve.log", env) as served:
            deadline = time.monotonic() + 30
            while (view := workspace.jobs.get(job.id)).stage != "sleeping":
                assert time.monotonic() < deadline, view
                time.sleep(0.1)
            assert view.worker is not None
            worker = int(view.worker.split(":")[1])
            assert _parent(worker) == served.process.pid
        assert _parent(worker) is None  # stopped before the server exited (uvicorn re-raises the SIGTERM: -15)
    finally:
        jobs.unregister_handler("test.sleep")
    view = workspace.jobs.get(job.id)
    assert (view.status, view.error) == ("failed", STOPPED_REASON)
    assert workspace.audit.verify().ok
