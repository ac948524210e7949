"""The feedback API: submit (201, redacted; 422 naming the field), list and summary, the feedback token scope,
CORS for the configured origins only, the rate limits, and the snippet served from /static."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.config import load_settings
from assay.server import create_app
from assay.services.workspace import Workspace

PASSWORD = "correct horse battery"
SHOP = "https://shop.example.org"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Workspace]]:
    settings = load_settings(
        actor="setup", workspace=None, feedback_origins={"credit": [SHOP]}, feedback_rate_per_client=8,
        feedback_rate_per_token=5,
    )  # fmt: skip
    ws = Workspace.init(tmp_path / "ws", settings)
    ws.access.add_user("admin", PASSWORD, role="admin")
    admin = ws.login("admin", PASSWORD)
    for name in ("owner", "bot", "stranger"):
        admin.access.add_user(name, PASSWORD)
    admin.systems.create({"name": "credit", "eu_ai_act_category": "limited"})
    admin.systems.create({"name": "other", "eu_ai_act_category": "minimal"})
    admin.models.register_version("credit", {"model": "gbm", "version": "3"})
    admin.access.grant("owner", "credit", "owner")
    admin.access.grant("bot", "credit", "viewer")  # the service user whose feedback token a page embeds
    admin.access.grant("bot", "other", "viewer")
    tokens = {
        "owner": admin.access.create_token("owner", "t", scope="write")[0],
        "feedback": admin.access.create_token("bot", "page", scope="feedback")[0],
        "stranger": admin.access.create_token("stranger", "page", scope="feedback")[0],
    }
    with TestClient(create_app(ws, secure_cookies=False)) as client:
        yield client, tokens, ws
    ws.close()


def _auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def test_submit_list_and_summary(served: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, tokens, _ = served
    body = {"rating": 1, "scale": 2, "comment": "wrong; reach me at zoe@example.com", "model_version": "gbm@3",
            "inference_id": "i-9", "attributes": {"channel": "web"}, "source": "snippet"}  # fmt: skip
    response = client.post("/api/systems/credit/feedback", json=body, headers=_auth(tokens["feedback"]))
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["comment"] == "wrong; reach me at <EMAIL_ADDRESS>" and stored["created_by"] == "bot"
    assert stored["source"] == "snippet" and stored["model_version"] == "gbm@3"
    listed = client.get("/api/systems/credit/feedback", headers=_auth(tokens["owner"])).json()
    assert listed["total"] == 1 and listed["items"][0]["redactions"] == {"EMAIL_ADDRESS": 1}
    summary = client.get(
        "/api/systems/credit/feedback/summary", params={"by": "channel", "every": "day"},
        headers=_auth(tokens["owner"]),
    ).json()  # fmt: skip
    assert summary["feedback"] == 1 and summary["slices"][0]["value"] == "web" and len(summary["periods"]) == 1
    assert summary["model_versions"][0]["scales"][0]["positive"]["method"] == "wilson"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"rating": 9}, "rating"), ({"rating": 1, "scale": 4}, "scale"), ({"category": "meh"}, "category"),
     ({"rating": 5, "extra": 1}, "extra"), ({"rating": 5, "comment": "x" * 2001}, "comment"),
     ({"rating": 5, "created_at": "2026-01-01T00:00:00Z"}, "created_at")],
)  # fmt: skip
def test_a_bad_body_is_422_naming_the_field(
    served: tuple[TestClient, dict[str, str], Workspace], body: dict[str, object], field: str
) -> None:
    client, tokens, _ = served
    response = client.post("/api/systems/credit/feedback", json=body, headers=_auth(tokens["owner"]))
    assert response.status_code == 422 and f"{field}:" in response.json()["error"]["message"], response.text


def test_a_feedback_token_submits_feedback_and_nothing_else(
    served: tuple[TestClient, dict[str, str], Workspace],
) -> None:
    client, tokens, _ = served
    page = _auth(tokens["feedback"])
    assert client.post("/api/systems/other/feedback", json={"rating": 5}, headers=page).status_code == 201
    for method, path in (("GET", "/api/systems/credit/feedback"), ("GET", "/api/systems/credit"),
                         ("GET", "/api/systems/credit/feedback/summary"), ("POST", "/api/tokens")):  # fmt: skip
        assert client.request(method, path, headers=page, json={}).status_code == 403, path
    # a token whose user holds no role on the system: the system does not exist for it
    response = client.post("/api/systems/credit/feedback", json={"rating": 5}, headers=_auth(tokens["stranger"]))
    assert response.status_code == 404


def test_cors_for_the_configured_origins_only(served: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, tokens, ws = served
    preflight = {"Origin": SHOP, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}  # fmt: skip
    answer = client.options("/api/systems/credit/feedback", headers=preflight)
    assert answer.status_code == 204 and answer.headers["access-control-allow-origin"] == SHOP
    assert "Authorization" in answer.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in answer.headers
    posted = client.post("/api/systems/credit/feedback", json={"rating": 4}, headers=_auth(tokens["feedback"],
                                                                                          Origin=SHOP))  # fmt: skip
    assert posted.status_code == 201 and posted.headers["access-control-allow-origin"] == SHOP
    failed = client.post("/api/systems/credit/feedback", json={"rating": 9}, headers=_auth(tokens["feedback"],
                                                                                          Origin=SHOP))  # fmt: skip
    assert failed.status_code == 422 and failed.headers["access-control-allow-origin"] == SHOP  # the page reads it
    for system, origin in (("credit", "https://evil.example.net"), ("other", SHOP)):
        refused = client.options(f"/api/systems/{system}/feedback", headers={**preflight, "Origin": origin})
        assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
        before = ws.feedback.list(system).total
        post = client.post(f"/api/systems/{system}/feedback", json={"rating": 4},
                           headers=_auth(tokens["feedback"], Origin=origin))  # fmt: skip
        assert post.status_code == 403 and "may not submit feedback" in post.text
        assert ws.feedback.list(system).total == before
    # other routes answer no CORS at all
    assert "access-control-allow-origin" not in client.get("/api/health", headers={"Origin": SHOP}).headers


def test_submissions_are_rate_limited_per_token_and_per_client(
    served: tuple[TestClient, dict[str, str], Workspace],
) -> None:
    client, tokens, _ = served
    codes = [client.post("/api/systems/credit/feedback", json={"rating": 5}, headers=_auth(tokens["feedback"]))
             .status_code for _ in range(6)]  # fmt: skip
    assert codes == [201] * 5 + [429]  # 5 per token and minute
    limited = client.post("/api/systems/credit/feedback", json={"rating": 5}, headers=_auth(tokens["feedback"]))
    assert limited.json()["error"]["type"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
    owner = [client.post("/api/systems/credit/feedback", json={"rating": 5}, headers=_auth(tokens["owner"]))
             .status_code for _ in range(3)]  # fmt: skip
    assert owner == [201, 429, 429]  # 8 per client address and minute, whatever the token (6 + 1 + 1 used)
    assert client.get("/api/systems/credit/feedback", headers=_auth(tokens["owner"])).status_code == 200  # reads: no


def test_the_snippet_is_served(served: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, _, _ = served
    response = client.get("/static/feedback.js")
    assert response.status_code == 200 and "javascript" in response.headers["content-type"]
    code = response.text.split("*/", 1)[1]  # after the header comment: nothing fetched but the server's own route
    assert "data-assay-feedback" in code and "http" not in code and "import" not in code
