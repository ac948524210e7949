"""The review API: an ingest token asks "does this need review?", reviewers claim and decide through the API, an
overseer pauses the model version (routing and capture both say so), bad bodies are 422 naming the field; and the
Python client against a real `assay serve`: proceed, review, paused (the manual path), and a server that is gone
(fail safe)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.client import ReviewClient
from assay.server import create_app
from assay.services.workspace import Workspace
from tests.support.env import ROOT
from tests.support.people import PASSWORD
from tests.support.serve import assay_serve

CONFIG = "rules:\n  - name: uncertain\n    score_between: [0.4, 0.6]\n  - name: large\n    when: ['amount > 1000']\n"
ROUTE = "/api/systems/credit/models/scorer@1/review"


def setup(ws: Workspace) -> dict[str, str]:
    """System credit, scorer@1, a review configuration; tokens: the service's ingest token (owner olga), a reviewer's,
    an overseer's and a viewer's."""
    ws.access.add_user("admin", PASSWORD, role="admin")
    admin = ws.login("admin", PASSWORD)
    admin.systems.create({"name": "credit"})
    admin.models.register_version("credit", {"model": "scorer", "version": "1"})
    admin.capture.configure("credit", "scorer@1", fields=[{"name": "amount", "type": "integer"},
                                                           {"name": "prediction", "type": "integer"}])  # fmt: skip
    admin.review.configure("credit", text=CONFIG)
    tokens = {}
    for name, role in (("olga", "owner"), ("rita", "reviewer"), ("otto", "overseer"), ("vic", "viewer")):
        admin.access.add_user(name, PASSWORD)
        admin.access.grant(name, "credit", role)
        tokens[name] = admin.access.create_token(name, "t", scope="write")[0]
    tokens["ingest"] = admin.access.create_token("olga", "service", scope="ingest")[0]
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ask(client: TestClient, token: str, ident: str, score: float, amount: int = 5) -> Any:
    body = {"inference_id": ident, "features": {"amount": amount}, "output": {"prediction": 1, "score": score}}
    return client.post(ROUTE, headers=bearer(token), json=body)


def test_route_claim_decide_and_pause_through_the_api(workspace: Workspace) -> None:
    tokens = setup(workspace)
    with TestClient(create_app(workspace, secure_cookies=False)) as client:
        assert ask(client, tokens["ingest"], "p1", 0.9).json() == {
            "status": "proceed", "review": False, "item_id": None, "reasons": [], "config_version": 1
        }  # fmt: skip
        held = ask(client, tokens["ingest"], "p2", 0.5).json()
        assert held["status"] == "review" and held["reasons"] == ["uncertain"]
        assert ask(client, tokens["rita"], "p3", 0.5).status_code == 403  # only the service (ingest) routes
        bad = client.post(ROUTE, headers=bearer(tokens["ingest"]), json={"inference_id": "x", "output": {}})
        assert bad.status_code == 422 and "prediction" in bad.json()["error"]["message"]
        missing = client.post(
            ROUTE,
            headers=bearer(tokens["ingest"]),
            json={"inference_id": "x", "features": {}, "output": {"prediction": 1, "score": 0.9}},
        )
        assert missing.status_code == 422 and "'amount'" in missing.json()["error"]["message"]  # fmt: skip
        item = f"/api/systems/credit/review/items/{held['item_id']}"
        assert client.get(item, headers=bearer(tokens["vic"])).status_code == 403
        listed = client.get("/api/systems/credit/review/items", headers=bearer(tokens["rita"])).json()
        assert listed["total"] == 1 and listed["items"][0]["inference_id"] == "p2"
        assert client.post(f"{item}/claim", headers=bearer(tokens["rita"])).json()["claimed_by"] == ["rita"]
        assert client.post(f"{item}/claim", headers=bearer(tokens["otto"])).status_code == 409
        no_reason = client.post(f"{item}/decision", headers=bearer(tokens["rita"]),
                                json={"decision": "change", "outcome": 0})  # fmt: skip
        assert no_reason.status_code == 422 and "reason" in no_reason.json()["error"]["message"]
        decided = client.post(f"{item}/decision", headers=bearer(tokens["rita"]),
                              json={"decision": "change", "outcome": 0, "reason": "verified"}).json()  # fmt: skip
        assert decided["status"] == "decided" and decided["overridden"] is True
        assert ask(client, tokens["ingest"], "p2", 0.5).json()["final"] == {"prediction": 0}
        labels = client.get("/api/systems/credit/review/labels", headers=bearer(tokens["olga"])).json()["items"]
        assert [(x["inference_id"], x["label"]) for x in labels] == [("p2", 0)]

        pause = {"reason": "complaints", "fallback": "decide by hand at the branch"}
        assert client.post("/api/systems/credit/models/scorer@1/pause", headers=bearer(tokens["rita"]),
                           json=pause).status_code == 403  # fmt: skip
        paused = client.post("/api/systems/credit/models/scorer@1/pause", headers=bearer(tokens["otto"]), json=pause)
        assert paused.status_code == 200 and paused.json()["active"] is True
        answer = ask(client, tokens["ingest"], "p4", 0.9).json()
        assert answer["status"] == "paused" and answer["fallback"] == "decide by hand at the branch"
        captured = client.post("/api/systems/credit/models/scorer@1/capture", headers=bearer(tokens["ingest"]),
                               json={"batch_id": "b1", "records": [{"inference_id": "p4", "amount": 5,
                                                                    "prediction": 1}]})  # fmt: skip
        assert captured.status_code == 200 and captured.json()["paused"]["reason"] == "complaints"
        client.post("/api/systems/credit/models/scorer@1/resume", headers=bearer(tokens["otto"]),
                    json={"reason": "fixed"})  # fmt: skip
        assert ask(client, tokens["ingest"], "p4", 0.9).json()["status"] == "proceed"
        pauses = client.get("/api/systems/credit/pauses", headers=bearer(tokens["vic"])).json()["items"]
        assert [(p["paused_by"], p["resumed_by"]) for p in pauses] == [("otto", "otto")]


@pytest.mark.slow
def test_the_python_client_against_a_real_server(workspace: Workspace, tmp_path: Path) -> None:
    tokens = setup(workspace)
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "ASSAY_WORKERS": "0"}
    with assay_serve(workspace.root, tmp_path / "serve.log", environment) as served:
        review = ReviewClient("credit", "scorer@1", url=served.base, token=tokens["ingest"], fallback="by hand")
        assert review.route("c1", {"amount": 5}, {"prediction": 1, "score": 0.9}).status == "proceed"
        held = review.route("c2", {"amount": 5000}, {"prediction": 1, "score": 0.9})
        assert held.review and not held.manual and held.reasons == ("large",) and held.item_id is not None
        with pytest.raises(ValueError, match="amount"):
            review.route("c3", {}, {"prediction": 1, "score": 0.9})
        workspace.login("otto", PASSWORD).review.pause("credit", "scorer@1", reason="drift", fallback="call desk")
        paused = review.route("c4", {"amount": 5}, {"prediction": 1, "score": 0.9})
        assert paused.manual and paused.fallback == "call desk"
        port = served.port
        review.close()
    gone = ReviewClient("credit", "scorer@1", url=f"http://127.0.0.1:{port}", token=tokens["ingest"], timeout=1,
                        fallback="by hand")  # fmt: skip
    failed = gone.route("c5", {"amount": 5}, {"prediction": 1, "score": 0.9})
    assert failed.status == "error" and failed.manual and failed.fallback == "by hand"
    gone.close()
    open_ = ReviewClient("credit", "scorer@1", url=f"http://127.0.0.1:{port}", token=tokens["ingest"], timeout=1,
                         on_error="proceed")  # fmt: skip
    assert not open_.route("c6", {"amount": 5}, {"prediction": 1, "score": 0.9}).manual
    open_.close()
