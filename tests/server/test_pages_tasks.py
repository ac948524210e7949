"""The person's own pages: the task list, notifications and search, with their JSON twins (and the task list's CSV),
the header's counts on every page, for each role; the real app over a real workspace (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.services.workspace import Workspace
from tests.support.server import PASSWORD, serving


@pytest.fixture
def served(workspace: Workspace) -> Iterator[tuple[TestClient, Workspace]]:
    """serving()'s workspace: system "release", each role's user, approval request 1 by the owner (the approver's to
    decide)."""
    with serving(workspace) as (client, _, ws):
        yield client, ws


def login(client: TestClient, name: str) -> TestClient:
    client.cookies.clear()
    response = client.post("/login", data={"name": name, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def header(html: str) -> dict[str, str | None]:
    """The header's counts: open tasks and unread notifications (None: not shown)."""
    tasks = re.search(r'href="/tasks"[^>]*>Tasks(?: <span class="count" aria-label="(\d+) open">)?', html)
    unread = re.search(r'aria-label="Notifications(?:: (\d+) unread)?"', html)
    assert tasks and unread, "no header on the page"
    return {"tasks": tasks.group(1), "unread": unread.group(1)}


def test_the_task_list_its_twins_and_the_header_counts(served: tuple[TestClient, Workspace]) -> None:
    client, _ = served
    login(client, "approver")
    page = client.get("/tasks")
    assert page.status_code == 200
    assert "decide the request to move lr@1 of release to staging (asked by owner)" in page.text
    assert '<a href="/systems/release/approvals">decide the request' in page.text
    assert header(page.text) == {"tasks": "1", "unread": "1"}  # the request is also a notification
    assert header(client.get("/systems/release").text) == {"tasks": "1", "unread": "1"}  # on every page
    twin = client.get("/tasks.json").json()
    assert twin["total"] == 1 and twin["tasks"][0]["kind"] == "approval" and twin["tasks"][0]["ref"] == "approval:1"
    assert twin["user"]["name"] == "approver"
    exported = client.get("/tasks.csv?kind=approval")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["kind"], r["link"]) for r in rows] == [("approval", "/systems/release/approvals")]
    assert list(csv.DictReader(io.StringIO(client.get("/tasks.csv?kind=risk").text))) == []
    # others: nothing to do, no count in the header
    for name in ("viewer", "stranger", "auditor"):
        login(client, name)
        page = client.get("/tasks")
        assert page.status_code == 200 and "Nothing to do" in page.text, name
        assert header(page.text)["tasks"] is None
    # a bad page number is an error page in the layout
    assert client.get("/tasks?page=x", headers={"accept": "text/html"}).status_code == 422
    client.cookies.clear()
    away = client.get("/tasks", headers={"accept": "text/html"}, follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"] == "/login?next=%2Ftasks"  # log in, then come back


def test_notifications_marked_read_and_the_email_form(served: tuple[TestClient, Workspace]) -> None:
    client, ws = served
    login(client, "approver")
    page = client.get("/notifications")
    assert page.status_code == 200
    assert (
        '<span class="badge badge-unread">new</span> <a href="/systems/release/approvals">owner asks for approval'
        in (page.text)
    )
    twin = client.get("/notifications.json").json()
    assert twin["unread"] == 1 and twin["total"] == 1 and twin["notifications"][0]["action"] == "approval.request"
    assert client.get("/notifications.json?unread=1").json()["total"] == 1
    # without the form's CSRF field: refused
    assert client.post("/notifications/read", data={}, follow_redirects=False).status_code == 403
    done = client.post("/notifications/read", data={"csrf": csrf(page.text), "up_to": twin["newest"]},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/notifications"
    after = client.get("/notifications")
    assert "All notifications marked read." in after.text and "badge-unread" not in after.text
    assert header(after.text) == {"tasks": "1", "unread": None}  # the cached count was forgotten
    assert client.get("/notifications.json?unread=1").json()["total"] == 0
    # someone else changes the approver's world: unread again
    ws.login("owner", PASSWORD).approvals.withdraw(1, comment="wrong stage", system="release")
    ws.login("owner", PASSWORD).approvals.request("release", "lr@1", "staging")
    assert header(client.get("/notifications").text) == {"tasks": "1", "unread": "1"}
    # the e-mail address: refused with the value kept and the error by the field; then kept
    token = csrf(after.text)
    bad = client.post("/notifications/email", data={"csrf": token, "email": "not-an-address"})
    assert bad.status_code == 422
    assert 'value="not-an-address"' in bad.text and 'class="field-error" id="e-email"' in bad.text
    good = client.post("/notifications/email", data={"csrf": token, "email": "ann@example.org"}, follow_redirects=False)
    assert good.status_code == 303
    shown = client.get("/notifications").text
    assert "Notifications will be e-mailed to ann@example.org. (E-mail is not configured" in shown
    assert client.get("/notifications.json").json()["email"] == {"email": "ann@example.org", "own": True,
                                                                 "enabled": False}  # fmt: skip
    # nobody else's notifications are shown
    login(client, "viewer")
    assert client.get("/notifications.json").json()["total"] == 0


def test_search_shows_only_what_each_person_may_see(served: tuple[TestClient, Workspace]) -> None:
    client, _ = served
    login(client, "viewer")
    page = client.get("/search?q=release")
    assert page.status_code == 200 and 'id="group-systems"' in page.text and '<a href="/systems/release">' in page.text
    assert 'id="group-events"' not in page.text
    twin = client.get("/search.json?q=lr@").json()
    assert [(g["name"], g["total"]) for g in twin["groups"] if g["total"]] == [("models", 1)]
    login(client, "stranger")
    twin = client.get("/search.json?q=release").json()
    assert twin["found"] == 0 and "events" not in [g["name"] for g in twin["groups"]]
    assert "Nothing found for" in client.get("/search?q=release").text
    login(client, "auditor")
    found: Any = client.get("/search.json?q=owner").json()
    events = next(g for g in found["groups"] if g["name"] == "events")
    assert events["total"] > 0 and events["items"][0]["link"] == "/audit?actor=owner"
    assert client.get("/search?q=" + "x" * 201, headers={"accept": "text/html"}).status_code == 422
    assert client.get("/search").status_code == 200  # the empty form
