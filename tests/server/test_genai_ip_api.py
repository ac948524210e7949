"""The licence and protected-corpus routes: the fields in the API bodies, the check as risks, corpora added from the
body, listed by who may see them, matched with quotes of a few words only; errors name the field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.services.workspace import Workspace
from tests.support.server import serving

TEXT = (
    "The warranty covers defects in materials and workmanship for two years from the date of delivery, provided "
    "the product was used as the manual describes and was not opened by anyone other than an authorised engineer."
)


@pytest.fixture
def api(workspace: Workspace) -> Iterator[tuple[TestClient, dict[str, str], Workspace]]:
    with serving(workspace) as served:
        yield served


def auth(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def test_licences_and_corpora_through_the_api(api: tuple[TestClient, dict[str, str], Workspace]) -> None:
    client, tokens, _ = api  # one app for both parts (setting up the users is most of the time)
    licences(client, tokens)
    corpora(client, tokens)


def licences(client: TestClient, tokens: dict[str, str]) -> None:
    owner = auth(tokens, "owner")
    response = client.patch("/api/systems/release", json={"commercial": True}, headers=owner)
    assert response.status_code == 200 and response.json()["commercial"] is True
    body: dict[str, Any] = {"dataset": "web", "version": "1", "system": "release", "licence": "CC-BY-NC-4.0"}
    response = client.post("/api/datasets", json={**body, "terms": "research"}, headers=owner)
    assert response.status_code == 201 and response.json()["terms"] == "research"
    model = {"model": "gen", "version": "1", "training_dataset": "web@1", "foundation_model": "x", "provider": "y"}
    response = client.post("/api/systems/release/models", json={**model, "licence": "apache-2.0"}, headers=owner)
    assert response.status_code == 201
    assert (response.json()["licence"], response.json()["provider"]) == ("Apache-2.0", "y")
    response = client.patch("/api/systems/release/models/gen@1", json={"terms": "t"}, headers=owner)
    assert response.status_code == 200 and response.json()["terms"] == "t"
    response = client.patch("/api/systems/release/models/gen@1", json={"licence": 3}, headers=owner)
    assert response.status_code == 422 and "licence" in response.text

    findings = client.get("/api/systems/release/licences", headers=auth(tokens, "viewer")).json()["findings"]
    assert [f["key"] for f in findings] == ["non-commercial:data web@1"]
    assert client.post("/api/systems/release/licences/check", headers=auth(tokens, "viewer")).status_code == 403
    checked = client.post("/api/systems/release/licences/check", headers=owner).json()
    assert len(checked["risks"]["created"]) == 1 and checked["findings"][0]["risk_id"] == checked["risks"]["created"][0]
    assert any(row["id"] == "OpenRAIL-M" for row in client.get("/api/licences", headers=owner).json()["items"])


def corpora(client: TestClient, tokens: dict[str, str]) -> None:
    owner, stranger = auth(tokens, "owner"), auth(tokens, "stranger")
    body = {"name": "warranty", "system": "release", "documents": [{"name": "terms.md", "text": TEXT}, {"text": "x"}]}
    response = client.post("/api/guardrails/corpora", json=body, headers=owner)
    assert response.status_code == 201 and (response.json()["version"], response.json()["documents"]) == (1, 2)
    assert client.post("/api/guardrails/corpora", json=body, headers=stranger).status_code == 404  # not their system
    open_body = {"name": "public", "documents": [{"text": TEXT}]}
    assert client.post("/api/guardrails/corpora", json=open_body, headers=stranger).status_code == 201

    listed = client.get("/api/guardrails/corpora", headers=owner).json()
    assert [c["name"] for c in listed["items"]] == ["public", "warranty"] and listed["total"] == 2
    assert [c["name"] for c in client.get("/api/guardrails/corpora", headers=stranger).json()["items"]] == ["public"]
    assert client.get("/api/guardrails/corpora/warranty", headers=stranger).status_code == 404
    versions = client.get("/api/guardrails/corpora/warranty", headers=owner).json()["items"]
    assert [c["version"] for c in versions] == [1]

    copied = "In short: " + " ".join(TEXT.split()[4:30])
    match = client.post("/api/guardrails/corpora/warranty/match", json={"text": copied}, headers=owner).json()
    assert match["longest_words"] == 26 and match["spans"][0]["document"] == "terms.md"
    assert match["spans"][0]["quote"] == "in materials and workmanship for…"
    assert "two years" not in str(match)  # never more than the first few words of the protected text
    bad = client.post("/api/guardrails/corpora", json={"name": "../x", "documents": [{"text": "a"}]}, headers=owner)
    assert bad.status_code == 422 and "corpus name" in bad.json()["error"]["message"]
    empty = client.post("/api/guardrails/corpora", json={"name": "e", "documents": []}, headers=owner)
    assert empty.status_code == 422 and "documents" in empty.text
