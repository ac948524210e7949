"""The oversight report over HTTP: the summary (GET), recording it (POST, write), bad input as 422 naming the field,
the page with its charts' data and its JSON twin; who may do what."""

from __future__ import annotations

import datetime as dt

from assay.services.workspace import Workspace
from tests.support.oversight import T0, add_contested, add_item
from tests.support.server import serving


def _auth(tokens: dict[str, str], name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[name]}"}


def _items(ws: Workspace) -> None:
    for i in range(40):
        sex = "F" if i % 2 else "M"
        change = sex == "F" and i % 4 == 1
        add_item(ws, "release", "lr@1", f"i{i}", features={"sex": sex},
                 decisions=[("ann", "change" if change else "accept", 0), ("ben", "accept", None)],
                 final=0 if change else 1, created_at=T0 + dt.timedelta(days=i % 3))  # fmt: skip
    add_contested(ws, "release", "lr@1", "i1", outcome="upheld")


def test_the_summary_and_recording_it(workspace: Workspace) -> None:
    with serving(workspace) as (client, tokens, ws):
        _items(ws)
        owner, viewer = _auth(tokens, "owner"), _auth(tokens, "viewer")
        got = client.get("/api/systems/release/oversight", params={"slice": "sex"}, headers=viewer)
        assert got.status_code == 200, got.text
        doc = got.json()
        assert doc["schema"] == "assay.oversight-report" and doc["items"]["total"] == 40
        assert doc["overrides"]["overall"]["overridden"] == 10 and doc["contested"]["upheld"] == 1
        assert doc["agreement"]["pairs"][0]["reviewers"] == ["ann", "ben"]
        since = client.get(
            "/api/systems/release/oversight", params={"since": "2026-03-03", "bucket": "week"}, headers=viewer
        ).json()
        assert since["items"]["total"] == 26 and since["overrides"]["over_time"]["bucket"] == "week"
        bad = client.get("/api/systems/release/oversight", params={"slice": "region"}, headers=viewer)
        assert bad.status_code == 422 and "slice column 'region'" in bad.json()["error"]["message"]
        assert client.get("/api/systems/release/oversight", params={"since": "soon"}, headers=viewer).status_code == 422
        assert client.post("/api/systems/release/oversight/report", json={}, headers=viewer).status_code == 403
        assert client.get("/api/systems/release/oversight", headers=_auth(tokens, "stranger")).status_code == 404
        made = client.post("/api/systems/release/oversight/report", json={"slices": ["sex"]}, headers=owner)
        assert made.status_code == 201, made.text
        recorded = made.json()
        assessment = client.get(f"/api/systems/release/assessments/{recorded['assessment']}", headers=owner).json()
        assert assessment["kind"] == "assay.oversight-report"
        extra = client.post("/api/systems/release/oversight/report", json={"window": 7}, headers=owner)
        assert extra.status_code == 422


def test_the_oversight_page(workspace: Workspace) -> None:
    with serving(workspace) as (client, tokens, ws):
        owner = _auth(tokens, "owner")
        empty = client.get("/systems/release/oversight", headers=owner)
        assert empty.status_code == 200 and "no review items arrived" in empty.text
        _items(ws)
        page = client.get("/systems/release/oversight", headers=owner)
        assert page.status_code == 200
        assert 'class="oversight-chart-data"' in page.text and "/static/plotly.min.js" in page.text
        assert "ann · ben" in page.text and "override rate by sex" in page.text
        twin = client.get("/systems/release/oversight.json", headers=owner).json()
        assert twin["page"] == "oversight" and twin["report"]["items"]["decided"] == 40
        female = next(t for t in twin["charts"] if t["title"] == "override rate by sex")["traces"][0]
        assert female["name"] == "F" and len(female["x"]) == 3 and all(lo >= 0 for lo in female["lower"])
        assert twin["reviewer_chart"]["x"] == ["ann", "ben"]
        assert client.get("/systems/release/oversight", headers=_auth(tokens, "stranger")).status_code == 404
        assert "/systems/release/oversight" in client.get("/systems/release", headers=owner).text
