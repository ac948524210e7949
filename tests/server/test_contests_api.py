"""The contested-decisions routes and pages over a real app (its worker threads run the explain-decisions job on a
real skops model trained on adult): 404 naming an unknown inference id, a reviewer refused (403) where an overseer
decides, the letter, the list and case pages with the factors' chart data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.server import create_app
from assay.services.workspace import Workspace
from tests.support.contests import SETTINGS, configure_explanations, credit_system, negatives, row
from tests.support.people import PASSWORD

pytestmark = pytest.mark.realdata
BASE = "/api/systems/credit/contests"


def _tokens(ws: Workspace, shared_data: Path, tmp: Path) -> dict[str, dict[str, str]]:
    ws.access.add_user("admin", PASSWORD, role="admin")
    admin = ws.login("admin", PASSWORD)
    credit_system(admin, shared_data, tmp)
    configure_explanations(admin, "credit", SETTINGS)
    out = {}
    for name, role in (("olga", "owner"), ("rita", "reviewer"), ("otto", "overseer")):
        admin.access.add_user(name, PASSWORD)
        admin.access.grant(name, "credit", role)
        out[name] = {"Authorization": f"Bearer {admin.access.create_token(name, 'api', scope='write')[0]}"}
    return out


def _explained(client: TestClient, case_id: int, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        case = client.get(f"{BASE}/{case_id}", headers=headers).json()
        if case["explanation"] is not None:
            return dict(case)
        time.sleep(0.2)
    raise AssertionError("the explain-decisions job did not explain the case in 120 s")


def test_open_explain_decide_and_read_the_letter_over_http(
    workspace: Workspace, shared_data: Path, tmp_path: Path
) -> None:
    tokens = _tokens(workspace, shared_data, tmp_path / "files")
    features = row(negatives(shared_data, 1), 0)
    with TestClient(create_app(workspace, secure_cookies=False)) as client:
        missing = client.post(BASE, json={"inference_id": "inf-404"}, headers=tokens["olga"])
        assert missing.status_code == 404 and "'inf-404'" in missing.json()["error"]["message"]
        refused = client.post(BASE, json={"inference_id": "x", "decision": 0, "features": features},
                              headers=tokens["rita"])  # fmt: skip
        assert refused.status_code == 403
        opened = client.post(BASE, json={"inference_id": "inf-1", "decision": 0, "features": features,
                                         "grounds": "I now work 50 hours"}, headers=tokens["olga"])  # fmt: skip
        assert opened.status_code == 201, opened.text
        case = _explained(client, opened.json()["id"], tokens["rita"])
        assert case["model_version"] == "gbm@1" and case["counterfactual"]["found"]
        assert case["explanation"]["factors"][0]["sentence"].endswith("the chance of approval the most.")

        body = {"outcome": "upheld", "rationale": "The rules were applied correctly."}
        assert client.post(f"{BASE}/{case['id']}/decide", json=body, headers=tokens["rita"]).status_code == 403
        assert client.get(f"{BASE}/{case['id']}/letter", headers=tokens["otto"]).status_code == 409
        decided = client.post(f"{BASE}/{case['id']}/decide", json=body, headers=tokens["otto"])
        assert decided.status_code == 200 and decided.json()["reviewer"] == "otto"
        letter = client.get(f"{BASE}/{case['id']}/letter", headers=tokens["rita"])
        assert letter.status_code == 200
        text = letter.json()["letter"]
        assert case["explanation"]["factors"][0]["sentence"] in text
        assert case["counterfactual"]["sentence"] in text and "it stands" in text
        listed = client.get(BASE, params={"status": "decided"}, headers=tokens["rita"]).json()
        assert listed["total"] == 1 and listed["items"][0]["outcome"] == "upheld"

        page = client.get("/systems/credit/contests", headers=tokens["rita"])
        assert page.status_code == 200 and f'href="/systems/credit/contests/{case["id"]}"' in page.text
        one = client.get(f"/systems/credit/contests/{case['id']}", headers=tokens["rita"])
        assert 'id="contest-chart-data"' in one.text and "GDPR Art. 77" in one.text
        twin = client.get(f"/systems/credit/contests/{case['id']}.json", headers=tokens["rita"]).json()
        assert len(twin["chart"]["features"]) == 10 and twin["can_decide"] is False
        assert client.get("/systems/credit/contests/99", headers=tokens["rita"]).status_code == 404
