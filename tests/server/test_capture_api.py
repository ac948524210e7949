"""The capture routes: an ingest-only token, batches refused with a reason per record, idempotent batch ids, the
batch limit, and a real `assay serve` killed (SIGKILL) mid-stream while the Python client sends: after a restart,
every record sent is stored exactly once."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.client import CaptureClient
from assay.server import create_app
from assay.server.permissions import PUBLIC, ROUTES
from assay.services.workspace import Workspace
from tests.support.env import ROOT
from tests.support.people import PASSWORD
from tests.support.serve import assay_serve

FIELDS = [
    {"name": "age", "type": "integer", "required": True},
    {"name": "income", "type": "float", "required": True},
    {"name": "segment", "type": "string"},
    {"name": "prediction", "type": "integer", "required": True},
    {"name": "y", "type": "integer"},
]
CAPTURE = "/api/systems/credit/models/scorer@1/capture"
LABELS = "/api/systems/credit/models/scorer@1/labels"


def setup(ws: Workspace) -> tuple[str, str]:
    """System credit with scorer@1 captured; an owner "olga" with an ingest token and a write token."""
    ws.access.add_user("admin", PASSWORD, role="admin")
    admin = ws.login("admin", PASSWORD)
    admin.systems.create({"name": "credit"})
    admin.models.register_version("credit", {"model": "scorer", "version": "1"})
    admin.capture.configure("credit", "scorer@1", fields=FIELDS, label_column="y")
    admin.access.add_user("olga", PASSWORD)
    admin.access.grant("olga", "credit", "owner")
    ingest = admin.access.create_token("olga", "model server", scope="ingest")[0]
    write = admin.access.create_token("olga", "cli", scope="write")[0]
    return ingest, write


def batch(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"inference_id": f"r{i}", "age": 30 + i % 40, "income": i * 0.5, "segment": "a", "prediction": i % 2}
            for i in range(start, start + n)]  # fmt: skip


def stored_ids(ws: Workspace) -> list[str]:
    now = dt.datetime.now(dt.UTC)
    with ws.capture.window("credit", "scorer@1", now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)) as window:
        return [str(v) for v in window.frame.lazy.collect()["inference_id"].to_list()]


def test_ingest_and_labels_over_http(workspace: Workspace) -> None:
    ingest, write = setup(workspace)
    headers = {"Authorization": f"Bearer {ingest}"}
    with TestClient(create_app(workspace, secure_cookies=False)) as client:
        answer = client.post(CAPTURE, json={"batch_id": "b1", "records": batch(50)}, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"batch_id": "b1", "records": 50, "days": [dt.datetime.now(dt.UTC).date().isoformat()]}
        again = client.post(CAPTURE, json={"batch_id": "b1", "records": batch(50)}, headers=headers)
        assert again.status_code == 200 and again.json() == answer.json()
        other = client.post(CAPTURE, json={"batch_id": "b1", "records": batch(50, 1)}, headers=headers)
        assert other.status_code == 409 and "already stored with other records" in other.text
        bad = batch(3)
        bad[2]["age"] = "old"
        del bad[0]["prediction"]
        refused = client.post(CAPTURE, json={"batch_id": "b2", "records": bad}, headers=headers)
        assert refused.status_code == 422
        body = refused.json()
        assert body["error"]["type"] == "invalid_input"
        assert "nothing of the batch was stored" in body["error"]["message"]
        assert body["rejected"] == [
            {"index": 0, "field": "prediction", "value": None, "reason": "is required"},
            {"index": 2, "field": "age", "value": "'old'", "reason": "is not an integer"},
        ]
        too_many = client.post(CAPTURE, json={"batch_id": "b3", "records": batch(10001)}, headers=headers)
        assert too_many.status_code == 422 and "at most 10000 records (ASSAY_CAPTURE_MAX_RECORDS)" in too_many.text
        not_a_batch = client.post(CAPTURE, content=b"[1, 2]", headers=headers)
        assert not_a_batch.status_code == 422 and "batch_id" in not_a_batch.text
        labels = client.post(LABELS, json={"batch_id": "l1", "records": [{"inference_id": "r1", "y": 1}]},
                             headers={"Authorization": f"Bearer {write}"})  # fmt: skip
        assert labels.status_code == 200 and labels.json()["labels"] == 1
        unknown = client.post("/api/systems/credit/models/scorer@2/capture", json={"batch_id": "x", "records": []},
                              headers=headers)  # fmt: skip
        assert unknown.status_code == 404
    assert sorted(stored_ids(workspace)) == sorted(f"r{i}" for i in range(50))


def test_an_ingest_token_may_only_ingest(workspace: Workspace) -> None:
    ingest, _ = setup(workspace)
    headers = {"Authorization": f"Bearer {ingest}"}
    params = {"system": "credit", "ref": "scorer@1", "user": "olga", "dataset": "d", "ref2": "d@1"}
    wrong = []
    with TestClient(create_app(workspace, secure_cookies=False), follow_redirects=False) as client:
        for (method, path), action in sorted(ROUTES.items()):
            if (method, path) in PUBLIC or action == "ingest" or path == "/logout":  # logout ends a cookie only
                continue
            url = path
            for name, value in params.items():
                url = url.replace("{" + name + "}", value)
            url = re.sub(r"\{[^}]+\}", "1", url)  # the other ids: the refusal comes before any lookup
            response = client.request(method, url, headers=headers, json={} if method != "GET" else None)
            if response.status_code != 403:
                wrong.append(f"{method} {path}: {response.status_code} {response.text[:100]}")
        assert client.post(CAPTURE, json={"batch_id": "ok", "records": batch(1)}, headers=headers).status_code == 200
    assert not wrong, "\n".join(wrong)
    stranger = workspace.login("admin", PASSWORD)
    stranger.access.add_user("sam", PASSWORD)  # a member without a role on credit
    token = stranger.access.create_token("sam", "x", scope="ingest")[0]
    with TestClient(create_app(workspace, secure_cookies=False)) as client:
        refused = client.post(CAPTURE, json={"batch_id": "s", "records": batch(1)},
                              headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert refused.status_code == 404  # a system one has no role on does not exist for them


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_a_server_killed_mid_stream_loses_and_duplicates_nothing(workspace: Workspace, tmp_path: Path) -> None:
    ingest, _ = setup(workspace)
    total = 12_000
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "ASSAY_WORKERS": "0"}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    client = CaptureClient("credit", "scorer@1", url=url, token=ingest, batch_size=250, interval=0.05,
                           max_buffered=total, max_backoff=0.5, timeout=10)  # fmt: skip
    sent = threading.Event()

    def produce() -> None:
        for start in range(0, total, 100):
            for record in batch(100, start):
                assert client.record(record)
            time.sleep(0.01)
        sent.set()

    with assay_serve(workspace.root, tmp_path / "first.log", environment, port=port) as served:
        producer = threading.Thread(target=produce)
        producer.start()
        deadline = time.monotonic() + 60
        while client.sent < 2_000 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert client.sent >= 2_000, (tmp_path / "first.log").read_text()
        os.kill(served.process.pid, signal.SIGKILL)  # mid-stream: batches in flight, the buffer still filling
        served.process.wait(timeout=10)
    killed_at = client.sent
    assert killed_at < total
    time.sleep(1.0)  # the client keeps buffering and retrying against a dead server
    with assay_serve(workspace.root, tmp_path / "second.log", environment, port=port):
        producer.join(timeout=120)
        assert sent.is_set()
        assert client.flush(timeout=120), f"{len(client._queue)} records still buffered"
    client.close(timeout=1)
    assert client.rejected == [] and client.failed == [] and client.dropped == 0
    ids = stored_ids(workspace)
    assert len(ids) == total and set(ids) == {f"r{i}" for i in range(total)}  # each record exactly once
