"""The administration pages (users, roles, memberships, API tokens), a person's account and the audit ledger's
page, through the real app on SQLite and PostgreSQL: each form's success (stored, audited as the admin) and
refusal (the page again with the values kept and the error by the field), the refusals of other roles, the token
shown once and usable, and the ledger's filters, paging and CSV computed in the database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

from fastapi.testclient import TestClient

from assay.server.pages_admin import action_words, type_words
from assay.services.workspace import Workspace
from assay.store import audit as audit_store
from assay.store.audit import EventFilter
from tests.support.server import HTML, PASSWORD, Served


def _login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    client.cookies.clear()
    response = client.post("/login", data={"name": name, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return _csrf(client.get("/").text)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _last(ws: Workspace, action: str) -> tuple[str, dict[str, object]]:
    event = ws.audit.log(EventFilter(action=action))[-1]
    return event.actor, dict(event.payload)


def _error_of(page: str, field: str) -> str:
    pattern = r'<small class="field-error">([^<]*)</small>' if field == "confirm" else rf'id="e-{field}">([^<]*)<'
    found = re.search(pattern, page)
    assert found is not None, f"no error next to {field}"
    return found.group(1)


def test_admin_pages_render_for_admins_and_are_refused_to_others(served: Served) -> None:
    client, tokens, _ = served
    _login(client, "admin")
    for path in ("/admin", "/admin/users", "/admin/users/viewer", "/admin/tokens", "/account", "/audit"):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
    hub = client.get("/admin.json").json()["counts"]
    assert hub["users"] == 9 and hub["admins"] == 1 and hub["active_tokens"] == 9
    users = {u["name"]: u for u in client.get("/admin/users.json").json()["users"]}
    assert users["auditor"]["role"] == "auditor" and users["admin"]["last_login"] is not None
    assert users["viewer"]["last_login"] is None  # never logged in to the web application
    assert "auditor (reads everything)" in client.get("/admin/users").text  # the global role in words
    exported = list(csv.DictReader(io.StringIO(client.get("/admin/users.csv", params={"role": "member"}).text)))
    assert {row["name"] for row in exported} == {"owner", "approver", "overseer", "reviewer", "viewer", "stranger",
                                                 "spare"}  # fmt: skip
    person = client.get("/admin/users/viewer.json").json()
    assert person["memberships"] == [{"system": "release", "role": "viewer"}]
    assert {t["name"] for t in person["tokens"]} == {"test", "spare"} and "secret" not in str(person)
    listed = client.get("/admin/tokens.json").json()["tokens"]
    assert len(listed) == 9 and all("token_sha256" not in t for t in listed)
    assert {r["owner"] for r in csv.DictReader(io.StringIO(client.get("/admin/tokens.csv?scope=read").text))} == {
        "viewer"
    }
    for role in ("auditor", "owner", "viewer"):
        _login(client, role)
        refused = client.get("/admin/users", headers=HTML)
        assert refused.status_code == 403 and 'id="error"' in refused.text and "may not admin" in refused.text
        assert client.get("/admin/users.json").status_code == 403
        csrf = _csrf(client.get("/account").text)
        posted = client.post("/admin/users", data={"csrf": csrf, "name": "mallory", "password": "x" * 20})
        assert posted.status_code == 403
    api = client.get("/admin/tokens.json", headers={"Authorization": f"Bearer {tokens['owner']}"})
    assert api.status_code == 403 and api.json()["error"]["type"] == "forbidden"
    _login(client, "owner")
    assert client.get("/audit", headers=HTML).status_code == 403  # only admins and auditors read the ledger


def test_users_are_created_changed_and_deactivated_with_errors_by_field(served: Served) -> None:
    client, _, ws = served
    csrf = _login(client, "admin")
    short = client.post("/admin/users", data={"csrf": csrf, "name": "dana", "password": "short", "role": "auditor"})
    assert short.status_code == 422
    assert _error_of(short.text, "password") == "at least 12 characters"
    assert 'value="dana"' in short.text and "short" not in short.text.split("<main")[1]  # the password not echoed
    assert re.search(r'<option value="auditor"\s+selected', short.text)  # the role kept
    bad = client.post("/admin/users", data={"csrf": csrf, "name": "", "password": "x" * 12})
    assert bad.status_code == 422 and _error_of(bad.text, "name") == "required"
    taken = client.post("/admin/users", data={"csrf": csrf, "name": "viewer", "password": "x" * 12})
    assert taken.status_code == 409 and "already exists" in _error_of(taken.text, "name")
    made = client.post(
        "/admin/users", data={"csrf": csrf, "name": "dana", "password": "a long password", "role": "auditor"},
        follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303 and made.headers["location"] == "/admin/users/dana"
    assert "User dana created" in client.get("/admin/users/dana").text
    assert _last(ws, "user.create") == ("admin", {"name": "dana", "role": "auditor"})
    assert ws.access.login("dana", "a long password").role == "auditor"  # stored, with its password

    role = client.post("/admin/users/dana/role", data={"csrf": csrf, "role": "member"}, follow_redirects=False)
    assert role.status_code == 303 and _last(ws, "user.role") == ("admin", {"name": "dana", "role": "member"})
    wrong = client.post("/admin/users/dana/role", data={"csrf": csrf, "role": "king"})
    assert wrong.status_code == 422 and _error_of(wrong.text, "role") == "choose a role"
    last = client.post("/admin/users/admin/role", data={"csrf": csrf, "role": "member"})
    assert last.status_code == 409 and "last active admin" in last.text  # the service's refusal, on the page
    assert ws.access.users()[0].role == "admin"

    unconfirmed = client.post("/admin/users/dana/deactivate", data={"csrf": csrf})
    assert unconfirmed.status_code == 422 and _error_of(unconfirmed.text, "confirm") == "tick to confirm"
    assert next(u for u in ws.access.users() if u.name == "dana").active
    gone = client.post("/admin/users/dana/deactivate", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False)
    assert gone.status_code == 303 and _last(ws, "user.deactivate") == ("admin", {"name": "dana"})
    assert not next(u for u in ws.access.users() if u.name == "dana").active
    itself = client.post("/admin/users/admin/deactivate", data={"csrf": csrf, "confirm": "yes"})
    assert itself.status_code == 409 and "last active admin" in itself.text


def test_memberships_and_tokens_of_a_user(served: Served) -> None:
    client, _, ws = served
    csrf = _login(client, "admin")
    page = client.get("/admin/users/spare").text
    assert '<option value="release"' in page and '<option value="approver"' in page  # selects, not free text
    granted = client.post(
        "/admin/users/spare/memberships", data={"csrf": csrf, "system": "release", "role": "approver"},
        follow_redirects=False,
    )  # fmt: skip
    assert granted.status_code == 303 and ws.access.memberships("spare") == {"release": "approver"}
    assert _last(ws, "membership.grant") == ("admin", {"user": "spare", "system": "release", "role": "approver"})
    bad = client.post("/admin/users/spare/memberships", data={"csrf": csrf, "system": "release", "role": "boss"})
    assert bad.status_code == 422 and _error_of(bad.text, "role") == "choose a role"
    assert re.search(r'<option value="release"\s+selected', bad.text)
    unconfirmed = client.post("/admin/users/spare/memberships/release/revoke", data={"csrf": csrf})
    assert unconfirmed.status_code == 422 and "tick to confirm" in unconfirmed.text
    revoked = client.post(
        "/admin/users/spare/memberships/release/revoke", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert revoked.status_code == 303 and ws.access.memberships("spare") == {}
    assert _last(ws, "membership.revoke")[0] == "admin"

    refused = client.post("/admin/users/spare/tokens", data={"csrf": csrf, "name": "ci", "scope": "read", "days": "0"})
    assert refused.status_code == 422 and _error_of(refused.text, "days") == "1 to 366 days"
    assert 'value="ci"' in refused.text
    created = client.post("/admin/users/spare/tokens", data={"csrf": csrf, "name": "ci", "scope": "read", "days": "30"})
    assert created.status_code == 201 and "shown only this once" in created.text
    secret = re.search(r'id="token-secret" type="text" readonly value="([^"]+)"', created.text)
    assert secret is not None and secret.group(1).startswith("assay_")
    bearer = {"Authorization": f"Bearer {secret.group(1)}"}
    assert client.get("/api/me", headers=bearer).json()["name"] == "spare"  # usable
    assert secret.group(1) not in client.get("/admin/users/spare").text  # never shown again
    assert secret.group(1) not in client.get("/admin/tokens.json").text
    assert _last(ws, "token.create") == ("admin", {"user": "spare", "name": "ci", "scope": "read"})
    token_id = max(t.id for t in ws.access.tokens("spare"))
    data = {"csrf": csrf, "owner": "spare"}
    assert client.post(f"/admin/tokens/{token_id}/revoke", data=data).status_code == 422
    done = client.post(f"/admin/tokens/{token_id}/revoke", data={**data, "confirm": "yes"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/admin/users/spare"
    assert client.get("/api/me", headers=bearer).status_code == 401
    assert _last(ws, "token.revoke")[0] == "admin"


def test_a_person_manages_their_own_tokens_and_password(served: Served) -> None:
    client, _, ws = served
    csrf = _login(client, "approver")
    page = client.get("/account")
    assert page.status_code == 200 and "approver (approver)" in page.text.replace("<small>", "").replace("</small>", "")
    created = client.post("/account/tokens", data={"csrf": csrf, "name": "laptop", "scope": "write", "days": "7"})
    assert created.status_code == 201
    secret = re.search(r'readonly value="([^"]+)"', created.text)
    assert secret is not None
    assert client.get("/api/me", headers={"Authorization": f"Bearer {secret.group(1)}"}).json()["name"] == "approver"
    assert _last(ws, "token.create")[0] == "approver"
    mine = max(t.id for t in ws.access.tokens("approver"))
    others = max(t.id for t in ws.access.tokens("viewer"))
    foreign = client.post(f"/account/tokens/{others}/revoke", data={"csrf": csrf, "confirm": "yes"})
    assert foreign.status_code == 404 and "approver has no API token" in foreign.text
    assert client.post(f"/account/tokens/{mine}/revoke", data={"csrf": csrf}).status_code == 422
    revoked = client.post(f"/account/tokens/{mine}/revoke", data={"csrf": csrf, "confirm": "yes"})
    assert revoked.status_code == 200 and "is revoked" in revoked.text
    assert _last(ws, "token.revoke")[0] == "approver"

    wrong = client.post("/account/password", data={"csrf": csrf, "current": "nope", "password": "x" * 12,
                                                    "again": "x" * 12})  # fmt: skip
    assert wrong.status_code == 422 and _error_of(wrong.text, "current") == "wrong password"
    differ = client.post("/account/password", data={"csrf": csrf, "current": PASSWORD, "password": "x" * 12,
                                                     "again": "y" * 12})  # fmt: skip
    assert differ.status_code == 422 and "not the same" in _error_of(differ.text, "again")
    short = client.post("/account/password", data={"csrf": csrf, "current": PASSWORD, "password": "short",
                                                    "again": "short"})  # fmt: skip
    assert short.status_code == 422 and _error_of(short.text, "password") == "at least 12 characters"
    changed = client.post("/account/password", data={"csrf": csrf, "current": PASSWORD, "password": "new password 1",
                                                      "again": "new password 1"}, follow_redirects=False)  # fmt: skip
    assert changed.status_code == 303 and _last(ws, "user.password") == ("approver", {"name": "approver"})
    _login(client, "approver", "new password 1")
    assert client.get("/account.json").json()["memberships"] == [{"system": "release", "role": "approver"}]


def test_the_audit_ledger_filters_pages_and_exports_in_the_database(served: Served) -> None:
    client, _, ws = served
    admin = ws.login("admin", PASSWORD)
    for n in range(60):  # enough for a second page
        admin.systems.create({"name": f"s{n:02d}", "eu_ai_act_category": "minimal"})
    csrf = _login(client, "auditor")
    assert _last(ws, "session.start") == ("auditor", {"user": "auditor"})  # the person, not the server's OS user
    page = client.get("/audit")
    assert page.status_code == 200 and 'class="table-wrap"' in page.text
    shown = client.get("/audit.json").json()
    assert shown["total"] == ws.audit.head_seq() - len(ws.audit.log(EventFilter(action="session.start")))
    assert all(e["action"] not in ("session.start", "session.end") for e in shown["events"])  # hidden by default
    assert [e["seq"] for e in shown["events"]] == sorted((e["seq"] for e in shown["events"]), reverse=True)
    assert len(shown["events"]) == 50 and shown["pages"] >= 2
    second = client.get("/audit.json", params={"page": "2"}).json()["events"]
    assert second[0]["seq"] < shown["events"][-1]["seq"]

    sign_ins = client.get("/audit.json", params={"signins": "show"}).json()
    assert sign_ins["total"] == ws.audit.head_seq()
    signed = client.get("/audit", params={"action": "session.start"}).text
    assert "signed in" in signed and "web_sessions" not in signed.split('id="events"')[1].split("title=")[0]

    created = client.get("/audit.json", params={"actor": "admin", "action": "system.create"}).json()
    assert created["total"] == 60 and {e["object"] for e in created["events"]} >= {"system s59", "system s10"}
    grants = client.get("/audit", params={"action": "membership.grant"}).text.split('id="events"')[1]
    assert "viewer role of viewer on release" in grants  # a membership named by its payload
    assert '<span class="key">role:</span> viewer' in grants  # the payload as key: value
    one = ws.systems.get("s07")
    by_object = client.get("/audit.json", params={"object_type": "systems", "object_id": str(one.id)}).json()
    assert [e["action"] for e in by_object["events"]] == ["system.create"]
    html = client.get("/audit", params={"object_type": "systems", "object_id": str(one.id)}).text
    assert '<a href="/systems/s07">system s07</a>' in html  # named, not "systems 7"
    chosen = client.get("/audit", params={"action": "system.create"}).text
    assert re.search(r'<option value="system.create"\s+selected>system created</option>', chosen)

    today = dt.datetime.now(dt.UTC).date()
    later = client.get("/audit.json", params={"from": str(today + dt.timedelta(days=1))}).json()
    assert later["total"] == 0
    earlier = client.get("/audit.json", params={"to": str(today - dt.timedelta(days=1))}).json()
    assert earlier["total"] == 0
    within = client.get("/audit.json", params={"from": str(today), "to": str(today)}).json()
    assert within["total"] == shown["total"]
    bad = client.get("/audit", params={"from": "yesterday"})
    assert bad.status_code == 422 and _error_of(bad.text, "from") == "a date" and 'value="yesterday"' in bad.text

    exported = client.get("/audit.csv", params={"actor": "admin", "action": "system.create"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 60 and {r["action"] for r in rows} == {"system.create"} and rows[0]["object"] == "system s59"
    grant = next(csv.DictReader(io.StringIO(client.get("/audit.csv?action=membership.grant").text)))
    assert json.loads(grant["payload"]) == {"user": "viewer", "system": "release", "role": "viewer"}  # in full
    everything = list(csv.DictReader(io.StringIO(client.get("/audit.csv").text)))
    assert len(everything) == shown["total"]

    with ws.store.engine.connect() as connection:  # a count over many events stops where the page asks it to
        assert audit_store.count_events(connection, EventFilter(), at_most=7) == 7
        assert audit_store.count_events(connection, EventFilter(actor="admin", action="system.create")) == 60

    verified = client.post("/audit/verify", data={"csrf": csrf})
    assert verified.status_code == 200 and "The ledger verifies" in verified.text
    assert 'href="/api/audit/export"' in verified.text


def test_actions_and_object_types_in_words() -> None:
    assert action_words("session.start") == "signed in" and action_words("session.end") == "signed out"
    assert action_words("risk.create") == "risk created"
    assert action_words("dataset_version.update") == "dataset version updated"
    assert action_words("user.role") == "user role changed"
    assert action_words("approval.approve") == "approval approved"
    assert type_words("systems") == "system" and type_words("model_versions") == "model version"
    assert type_words("api_tokens") == "API token" and type_words("aims_parties") == "management system party"
