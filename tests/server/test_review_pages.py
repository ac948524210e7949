"""The review queue's web pages: the queue (tabs, counts, time to decision, overdue flags, pagination) and one item
(output, masked features, reasons, local explanation, decisions, actions), for each role, with their JSON twins; the
real app over a real workspace (SQLite and PostgreSQL) with real users."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.server import create_app
from assay.server.ui import _explanation
from assay.services.workspace import Workspace
from assay.store.models import ReviewItem
from tests.support.people import PASSWORD, People

CONFIG = """
schema: assay.review/1
sla: 1h
claim_timeout: 30m
personal_columns: [email]
outcomes: [approve, deny]
rules:
  - name: uncertain
    score_between: [0.4, 0.6]
  - name: large loan
    when: ["amount > 10000"]
"""
SECRET = "hidden-person@example.org"
EXPLANATION = {  # the shape the explanation job writes (explain.decision): raw features, SHAP values, factors
    "features": {"amount": 12000, "age": 31, "email": SECRET},
    "shap": {"values": {"amount": 0.21, "age": -0.08, "email": 0.01}, "expected_value": 0.35},
    "factors": [
        {"feature": "amount", "value": 12000, "contribution": 0.21, "sentence": "A loan of 12000 raised the score."},
        {"feature": "email", "value": SECRET, "contribution": 0.01, "sentence": f"The email {SECRET} raised it."},
    ],
    "summary": "The score is 0.52, above the threshold 0.5.",
}


@pytest.fixture
def team(workspace: Workspace, people: People, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """System "credit" with a review configuration and items: 1 overdue, 2 and 3 due in an hour, 4 explained."""
    admin = people.admin
    admin.systems.create({"name": "credit", "eu_ai_act_category": "high", "annex_iii_area": 5})
    admin.models.register_version("credit", {"model": "scorer", "version": "1"})
    owner = people("olga", credit="owner")
    owner.review.configure("credit", text=CONFIG)
    for name, role in (("rita", "reviewer"), ("rob", "reviewer"), ("otto", "overseer"), ("vic", "viewer")):
        people(name, credit=role)
    people("audrey", role="auditor")
    people("stan")  # no role on credit

    def hold(ident: str, score: float, amount: int = 100) -> int:
        features = {"amount": amount, "age": 31, "email": SECRET}
        answer = owner.review.route("credit", "scorer@1", ident, features, {"prediction": "approve", "score": score})
        assert answer["status"] == "review"
        return int(answer["item_id"])

    import assay.services.review as review_service

    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    with monkeypatch.context() as clock:  # held three hours ago: due two hours ago
        clock.setattr(review_service, "utcnow", lambda: past)
        late = hold("inf-late", 0.45)
    ids = [late, hold("inf-2", 0.5), hold("inf-3", 0.55), hold("inf-4", 0.52, amount=12_000)]
    with workspace.store.write("explainer") as tx:  # what the explanation job does (services.decisions)
        item = tx.session.get(ReviewItem, ids[3])
        assert item is not None
        before = item.state()
        item.explanation = EXPLANATION
        tx.record("review_item.explain", item, before=before, payload={})
    with TestClient(create_app(workspace, secure_cookies=False)) as client:
        yield {"client": client, "ids": ids, "people": people}


def login(client: TestClient, name: str) -> TestClient:
    client.cookies.clear()
    response = client.post("/login", data={"name": name, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def test_the_queue_for_a_reviewer(team: dict[str, Any]) -> None:
    client = login(team["client"], "rita")
    page = client.get("/systems/credit/review")
    assert page.status_code == 200
    html = page.text
    assert "Time to decision (service level): <strong>1 h</strong>" in html
    counts = dict(re.findall(r'id="tab-(\w+)".*?<span class="count">(\d+)</span>', html))
    assert counts == {"open": "4", "mine": "0", "escalated": "0", "overdue": "1", "decided": "0"}
    late, second = team["ids"][0], team["ids"][1]
    row = html[html.index(f'id="item-{late}"') :].split("</tr>")[0]
    assert 'class="overdue"' in html and "⚠ overdue" in row and "overdue by 2 h" in row  # flagged in words
    assert "inf-late" in row and "scorer@1" in row and "uncertain" in row and "approve" in row and "0.450" in row
    assert f'data-endpoint="/api/systems/credit/review/items/{late}/claim"' in row
    other = html[html.index(f'id="item-{second}"') :].split("</tr>")[0]
    assert "due in 1 h" in other and "overdue" not in other
    assert SECRET not in html
    twin = client.get("/systems/credit/review.json").json()
    assert twin["page"] == "review" and twin["total"] == 4 and twin["config"]["sla"] == 3600
    assert twin["items"][0]["id"] == late  # the most urgent first
    assert all(i["can_claim"] for i in twin["items"]) and twin["items"][0]["due"] == "overdue by 2 h"
    assert SECRET not in page.text + str(twin)
    overdue = client.get("/systems/credit/review.json?tab=overdue").json()
    assert [i["id"] for i in overdue["items"]] == [late]
    bad = client.get("/systems/credit/review?tab=everything")
    assert bad.status_code == 422 and "tab 'everything' is not one of open, mine" in bad.json()["error"]["message"]


def test_the_queue_by_role(team: dict[str, Any]) -> None:
    client = team["client"]
    for name in ("olga", "otto", "admin"):
        assert 'class="review-claim"' in login(client, name).get("/systems/credit/review").text, name
    auditor = login(client, "audrey").get("/systems/credit/review")
    assert auditor.status_code == 200 and "inf-late" in auditor.text
    assert "review-claim" not in auditor.text and "You can read this queue" in auditor.text
    assert not any(i["can_claim"] for i in client.get("/systems/credit/review.json").json()["items"])
    for path in ("/systems/credit/review", "/systems/credit/review.json", f"/systems/credit/review/{team['ids'][0]}",
                 f"/systems/credit/review/{team['ids'][0]}.json"):  # fmt: skip
        denied = login(client, "vic").get(path)
        assert denied.status_code == 403, path
        assert "vic may not review on system 'credit'" in denied.json()["error"]["message"]
        assert login(client, "stan").get(path).status_code == 404  # a system one cannot see does not exist
    client.cookies.clear()
    assert client.get("/systems/credit/review", follow_redirects=False).headers["location"] == (
        "/login?next=%2Fsystems%2Fcredit%2Freview"  # back to the queue after logging in
    )
    assert 'id="review-link"' in login(client, "rita").get("/systems/credit").text
    assert 'id="review-link"' in login(client, "audrey").get("/systems/credit").text
    assert 'id="review-link"' not in login(client, "vic").get("/systems/credit").text


def test_the_item_page_masks_personal_data_for_a_reviewer(team: dict[str, Any]) -> None:
    explained = team["ids"][3]
    client = login(team["client"], "rita")
    page = client.get(f"/systems/credit/review/{explained}")
    assert page.status_code == 200
    twin = client.get(f"/systems/credit/review/{explained}.json")
    for text in (page.text, twin.text):
        assert SECRET not in text and "hidden-person" not in text
    html = page.text
    email = html[html.index("<td>email</td>") :].split("</tr>")[0]
    assert "hidden for your role" in email
    assert "<td>amount</td><td>12000</td>" in html
    data = twin.json()
    assert data["item"]["masked"] == ["email"] and "explanation" not in data["item"]
    assert {f["name"]: f["value"] for f in data["features"]} == {"amount": 12000, "age": 31, "email": None}
    shown = data["explanation"]
    assert shown["state"] == "ready" and [c["feature"] for c in shown["contributions"]] == ["amount", "age", "email"]
    assert shown["contributions"][2] == {"feature": "email", "value": None, "shap": 0.01, "masked": True}
    assert shown["sentences"] == ["The score is 0.52, above the threshold 0.5.", "A loan of 12000 raised the score."]
    assert shown["hidden_sentences"] == 1 and shown["base_value"] == 0.35
    assert 'id="explanation-chart"' in html and 'id="explanation-data"' in html
    assert '<script src="/static/plotly.min.js" defer></script>' in html
    overseer = login(team["client"], "otto").get(f"/systems/credit/review/{explained}")
    assert SECRET in overseer.text and "hidden for your role" not in overseer.text  # overseers may see it


def test_the_item_page_actions_by_role_and_status(team: dict[str, Any]) -> None:
    client, people = team["client"], team["people"]
    late, second, third = team["ids"][:3]
    html = login(client, "rita").get(f"/systems/credit/review/{late}").text
    assert 'id="claim"' in html and 'id="decide"' in html and 'value="escalate"' in html
    assert "<option value='\"deny\"'>deny</option>" in html and "<option value='\"approve\"'" not in html
    assert "⚠ overdue" in html and "overdue by 2 h" in html
    assert "uncertain" in html and "<strong>approve</strong>" in html and "0.4500" in html
    # the explain-decisions job queued with the items has not run, or it says why it could not explain
    assert "not there yet" in html or "has no training dataset version" in html
    people("rita").review.claim("credit", late)
    html = client.get(f"/systems/credit/review/{late}").text
    assert "You hold this item" in html and "/release" in html and 'id="claim"' not in html
    rob = login(client, "rob").get(f"/systems/credit/review/{late}").text
    assert "Claimed by rita" in rob and 'id="decide"' not in rob and 'id="claim"' not in rob
    people("rita").review.decide("credit", late, "escalate", reason="unsure about the income")
    rita = login(client, "rita").get(f"/systems/credit/review/{late}").text
    assert 'id="decide"' not in rita and "only an overseer or an owner" in rita
    assert "unsure about the income" in rita and "escalate" in rita
    otto = login(client, "otto").get(f"/systems/credit/review/{late}").text
    assert 'id="decide"' in otto and 'value="escalate"' not in otto and "your decision is final" in otto
    assert login(client, "otto").get("/systems/credit/review.json?tab=escalated").json()["items"][0]["can_claim"]
    assert not login(client, "rita").get("/systems/credit/review.json?tab=escalated").json()["items"][0]["can_claim"]
    auditor = login(client, "audrey").get(f"/systems/credit/review/{second}").text
    assert 'id="decide"' not in auditor and 'id="claim"' not in auditor and "You can read this item" in auditor
    people("rob").review.decide("credit", third, "change", outcome="deny", reason="income not verified")
    decided = login(client, "rita").get(f"/systems/credit/review/{third}").text
    assert 'id="actions"' not in decided and "(changed by review)" in decided and "income not verified" in decided
    flash = login(client, "rob").get(f"/systems/credit/review?tab=decided&decided={third}").text
    assert f"Item {third} decided: the outcome is changed to deny (the model said approve)." in flash
    assert "decided in time" in flash
    assert "review-flash" not in login(client, "rita").get(f"/systems/credit/review?decided={third}").text  # not hers


def test_the_queue_pages(team: dict[str, Any]) -> None:
    owner = team["people"]("olga")
    records = [{"inference_id": f"batch-{i}", "prediction": "deny", "amount": i} for i in range(30)]
    assert owner.review.submit("credit", "scorer@1", records, everything=True)["held"] == 30
    client = login(team["client"], "rita")
    first = client.get("/systems/credit/review.json").json()
    assert first["total"] == 34 and len(first["items"]) == 25 and first["offset"] == 0
    html = client.get("/systems/credit/review").text
    assert "Items 1–25 of 34" in html and 'offset=25" rel="next"' in html and 'rel="prev"' not in html
    rest = client.get("/systems/credit/review?offset=25").text
    assert "Items 26–34 of 34" in rest and 'offset=0" rel="prev"' in rest and 'rel="next"' not in rest
    assert len(re.findall(r'<tr id="item-', rest)) == 9


def test_explanations_are_read_defensively() -> None:
    assert _explanation(None, set()) == {"state": "pending"}
    assert _explanation({"error": "the model file cannot be loaded"}, set())["error"] == (
        "the model file cannot be loaded"
    )
    assert _explanation("junk", set())["state"] == "error"
    assert _explanation({"contributions": "junk"}, set())["state"] == "error"
    listed = {
        "contributions": [{"feature": f"f{i}", "value": i, "shap": (-1) ** i * i / 100} for i in range(14)]
        + [{"feature": "nan", "value": 1, "shap": float("nan")}, {"feature": "bad", "shap": "x"}, "junk"],
        "sentences": ["f13 lowered it.", 5],
        "base_value": 0.3,
    }
    shown = _explanation(listed, {"f12"})
    assert [c["feature"] for c in shown["contributions"]] == [f"f{i}" for i in range(13, 3, -1)]
    assert shown["more"] == 4 and shown["contributions"][1] == {"feature": "f12", "value": None, "shap": 0.12,
                                                                 "masked": True}  # fmt: skip
    assert shown["sentences"] == ["f13 lowered it."] and shown["base_value"] == 0.3
