"""Objectives, competence and reminders over HTTP: a manager adds and measures, a member may not (403 naming the
rule), a body naming an unknown measure is 422, reminders are the caller's own unless a manager asks, and the pages
/aims/objectives (with its trend chart's data) and /aims/training render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.config import load_settings
from assay.server import create_app
from assay.services.workspace import Workspace

PASSWORD = "correct horse battery"
TODAY = dt.date.today()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], Workspace]]:
    ws = Workspace.init(tmp_path / "ws", load_settings(actor="setup", workspace=None))
    ws.access.add_user("admin", PASSWORD, role="admin")
    admin = ws.login("admin", PASSWORD)
    admin.access.add_user("bob", PASSWORD)
    admin.systems.create({"name": "hr", "eu_ai_act_category": "high", "annex_iii_area": 4})
    admin.access.grant("bob", "hr", "approver")
    headers = {
        name: {"Authorization": f"Bearer {admin.access.create_token(name, 't', scope='write')[0]}"}
        for name in ("admin", "bob")
    }
    with TestClient(create_app(ws, secure_cookies=False)) as client:
        yield client, headers, ws
    ws.close()


def test_objectives_training_and_reminders_api(served: tuple[TestClient, dict[str, dict[str, str]], Workspace]) -> None:
    client, headers, ws = served
    admin, bob = headers["admin"], headers["bob"]
    due = str(TODAY + dt.timedelta(days=3))
    body = {"key": "bias-fresh", "title": "recent bias assessments", "owner": "bob", "target": 1.0, "due_date": due,
            "measure": {"name": "assessed-share", "days": 30}}  # fmt: skip
    response = client.post("/api/aims/objectives", json=body, headers=bob)
    assert response.status_code == 403 and "bob may not add an objective" in response.json()["error"]["message"]
    bad = client.post("/api/aims/objectives", json={**body, "measure": {"name": "nope"}}, headers=admin)
    assert bad.status_code == 422 and "unknown measure 'nope'" in bad.text
    assert client.post("/api/aims/objectives", json=body, headers=admin).status_code == 201
    first = client.post("/api/aims/objectives/bias-fresh/measure", headers=bob)  # its owner may measure it
    assert first.status_code == 201 and first.json()["value"] == 0.0
    ws.assessments.record("hr", {"schema": "assay.assessment", "spec": {}, "data": {}})
    assert client.post("/api/aims/objectives/measure", headers=admin).json()["items"][0]["value"] == 1.0
    trend = client.get("/api/aims/objectives/bias-fresh/trend", headers=bob).json()
    assert [p["value"] for p in trend["series"]] == [0.0, 1.0] and trend["improving"] is True
    (row,) = client.get("/api/aims/objectives", headers=bob).json()["items"]
    assert row["met"] is True and row["days_left"] == 3
    assert client.get("/api/aims/objectives/gone", headers=bob).status_code == 404
    assert "training-coverage" in str(client.get("/api/aims/measures", headers=bob).json())

    training = {"code": "ai-basics", "title": "AI basics", "validity_months": 12, "required_for": ["approver"]}
    assert client.post("/api/aims/trainings", json=training, headers=admin).status_code == 201
    (gap,) = client.get("/api/aims/training-gaps", headers=bob).json()["items"]
    assert (gap["person"], gap["state"], gap["roles"]) == ("bob", "missing", ["approver"])
    record = {"person": "bob", "training": "ai-basics", "completed_on": str(TODAY), "score": 90}
    done = client.post("/api/aims/training-records", json=record, headers=admin)
    assert done.status_code == 201 and done.json()["source"] == "api" and done.json()["training"] == "ai-basics"
    assert client.get("/api/aims/training-gaps", headers=bob).json()["items"] == []
    assert client.get("/api/aims/training-records?person=bob", headers=bob).json()["items"][0]["score"] == 90

    client.patch("/api/aims/objectives/bias-fresh", json={"target": 2.0}, headers=admin).raise_for_status()
    people = client.get("/api/aims/reminders", headers=bob).json()["people"]
    assert [(p["person"], [i["ref"] for i in p["items"]]) for p in people] == [("bob", ["objective:bias-fresh"])]
    assert client.get("/api/aims/reminders?person=admin", headers=bob).status_code == 403
    assert client.get("/api/aims/reminders?person=bob", headers=admin).json()["people"][0]["items"]

    page = client.get("/aims/objectives.json", headers=bob).json()
    chart = page["objectives"][0]["chart"]
    assert chart["threshold"] == 2.0 and chart["traces"][0]["y"] == [0.0, 1.0]
    html = client.get("/aims/objectives", headers=bob)
    assert html.status_code == 200 and "bias-fresh" in html.text and "monitor-chart-data" in html.text
    training_page = client.get("/aims/training", headers=bob)
    assert training_page.status_code == 200 and "AI basics" in training_page.text and "No gaps" in training_page.text
