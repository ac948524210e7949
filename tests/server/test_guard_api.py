"""The guardrail API: ApplyGuardrail's request and response shape (content blocks with qualifiers), who may apply and
who may add policies, decisions and counts through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assay.server import create_app
from assay.services.workspace import Workspace
from tests.support.guard import WORDS, use_words_check

PASSWORD = "correct horse battery"
Served = tuple[TestClient, dict[str, str], Workspace]


@pytest.fixture
def served(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    use_words_check(monkeypatch)
    workspace.access.add_user("admin", PASSWORD, role="admin")
    admin = workspace.login("admin", PASSWORD)
    for name in ("owner", "bot", "stranger"):
        admin.access.add_user(name, PASSWORD)
    admin.systems.create({"name": "helpdesk", "eu_ai_act_category": "minimal"})
    admin.access.grant("owner", "helpdesk", "owner")
    admin.access.grant("bot", "helpdesk", "viewer")  # the application's service user
    tokens = {name: admin.access.create_token(name, "t", scope="write")[0] for name in ("admin", "owner", "bot",
                                                                                          "stranger")}  # fmt: skip
    tokens["bot-read"] = admin.access.create_token("bot", "r", scope="read")[0]
    with TestClient(create_app(workspace, secure_cookies=False)) as client:
        yield client, tokens, workspace


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _blocks(*texts: tuple[str, list[str]]) -> list[dict[str, object]]:
    return [{"text": {"text": text, "qualifiers": qualifiers}} for text, qualifiers in texts]


def test_apply_guardrail_is_shaped_like_bedrocks(served: Served) -> None:
    client, tokens, _ = served
    added = client.post("/api/guardrails", json={"text": WORDS, "system": "helpdesk"}, headers=_auth(tokens["owner"]))
    assert added.status_code == 201, added.text
    assert (added.json()["version"], added.json()["system"], added.json()["sections"]) == (1, "helpdesk", ["words"])
    body = {"source": "INPUT", "content": _blocks(("What is Project Falcon?", []))}
    response = client.post("/api/guardrails/support-bot/apply", json=body, headers=_auth(tokens["bot"]))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["action"] == "GUARDRAIL_INTERVENED" and result["actionReason"].startswith("blocked by words")
    assert result["outputs"] == [{"text": "Sorry, I cannot help with that request."}]
    [assessment] = result["assessments"]
    assert assessment["wordPolicy"]["customWords"][0]["action"] == "BLOCKED"
    assert assessment["invocationMetrics"]["guardrailCoverage"] == {"textCharacters": {"guarded": 23, "total": 23}}
    assert result["guardrailCoverage"] == {"textCharacters": {"guarded": 23, "total": 23}}
    assert result["latency_ms"] >= 0 and result["policy"] == {"name": "support-bot", "version": 1,
                                                              "sections": ["words"]}  # fmt: skip
    grounded = {"source": "OUTPUT", "conversation": "c-7", "content": _blocks(
        ("The warranty lasts two years.", ["grounding_source"]), ("How long is the warranty?", ["query"]),
        ("Two years.", ["guard_content"]),
    )}  # fmt: skip
    response = client.post("/api/guardrails/support-bot/apply", json=grounded, headers=_auth(tokens["bot"]))
    assert response.status_code == 200 and response.json()["action"] == "NONE", response.text
    assert response.json()["outputs"] == [{"text": "Two years."}]  # only the guarded block comes back
    page = client.get("/api/guardrails/support-bot/decisions", headers=_auth(tokens["owner"])).json()
    assert page["total"] == 2
    assert [(d["outcome"], d["channel"], d["conversation"]) for d in page["items"]] == [
        ("none", "api", "c-7"),
        ("blocked", "api", None),
    ]
    blocked = client.get("/api/guardrails/support-bot/decisions?outcome=blocked", headers=_auth(tokens["bot"]))
    assert blocked.json()["total"] == 1
    stats = client.get("/api/guardrails/support-bot/stats", headers=_auth(tokens["owner"])).json()
    assert (stats["decisions"], stats["blocked"], stats["block_rate"]) == (2, 1, 0.5)
    assert stats["groups"][0]["system"] == "helpdesk"
    listed = client.get("/api/guardrails", headers=_auth(tokens["bot"])).json()
    assert [p["name"] for p in listed["items"]] == ["support-bot"] and listed["total"] == 1
    shown = client.get("/api/guardrails/support-bot?version=1", headers=_auth(tokens["bot"])).json()
    assert "project falcon" in shown["text"]


def test_who_may_apply_and_who_may_add(served: Served) -> None:
    client, tokens, ws = served
    url = "/api/guardrails/support-bot/apply"
    body = {"source": "INPUT", "content": _blocks(("hello", []))}
    response = client.post("/api/guardrails", json={"text": WORDS, "system": "helpdesk"}, headers=_auth(tokens["bot"]))
    assert response.status_code == 403 and "bot may not write on system 'helpdesk'" in response.text
    assert client.post("/api/guardrails", json={"text": WORDS, "system": "helpdesk"},
                       headers=_auth(tokens["owner"])).status_code == 201  # fmt: skip
    organisation = WORDS.replace("support-bot", "org-wide")
    response = client.post("/api/guardrails", json={"text": organisation}, headers=_auth(tokens["owner"]))
    assert response.status_code == 403 and "not an active admin" in response.text
    assert (
        client.post("/api/guardrails", json={"text": organisation}, headers=_auth(tokens["admin"])).status_code == 201
    )
    assert client.post(url, json=body, headers=_auth(tokens["stranger"])).status_code == 404  # not their system
    assert client.post(url, json=body, headers=_auth(tokens["bot-read"])).status_code == 403  # a read token
    assert (
        client.post("/api/guardrails/org-wide/apply", json=body, headers=_auth(tokens["stranger"])).status_code == 200
    )
    assert client.get("/api/guardrails/support-bot/decisions", headers=_auth(tokens["stranger"])).status_code == 404
    org = client.get("/api/guardrails/org-wide/decisions", headers=_auth(tokens["stranger"])).json()
    assert org["total"] == 0  # the organisation's decisions: admins and auditors only
    assert client.get("/api/guardrails/org-wide/decisions", headers=_auth(tokens["admin"])).json()["total"] == 1
    for bad, message in (
        ({"source": "SIDE", "content": body["content"]}, "source"),
        ({"source": "INPUT", "content": []}, "content"),
        ({"source": "INPUT", "content": _blocks(("a source", ["grounding_source"]))}, "no block to guard"),
        ({"source": "INPUT", "content": _blocks(("x", ["query"]), ("y", ["query"]), ("z", []))}, "at most one"),
        ({"source": "INPUT", "content": [{"text": {"text": "x", "qualifiers": ["other"]}}]}, "qualifiers"),
    ):
        response = client.post(url, json=bad, headers=_auth(tokens["bot"]))
        assert response.status_code == 422 and message in response.text, response.text
    response = client.post("/api/guardrails", json={"text": "name: x\n"}, headers=_auth(tokens["admin"]))
    assert response.status_code == 422 and "schema" in response.text
    assert client.get("/api/guardrails/support-bot?version=9", headers=_auth(tokens["bot"])).status_code == 404
    ws.genai.guard.flush()
    assert ws.audit.verify().ok and ws.genai.guard.verify().ok
