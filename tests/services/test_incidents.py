"""Incidents and corrective actions on SQLite and PostgreSQL, through the services and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from assay.cli import main
from assay.errors import Conflict, InvalidInput, NotFound
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter

INCIDENT: dict[str, Any] = {
    "title": "Release recommended for a flagged person",
    "description": "A person on a watch list was recommended for release.",
    "severity": "high",
    "occurred_at": "2025-03-01T10:30:00+01:00",
    "model_version": "lr@1",
}


def events(ws: Workspace, **where: Any) -> list[Any]:
    return ws.audit.log(EventFilter(**where))


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.systems.create({"name": "release"})
    workspace.models.register_version("release", {"model": "lr", "version": "1"})
    workspace.models.register_version("release", {"model": "lr", "version": "2", "parent": "1"})
    return workspace


def run(ws: Workspace, *args: str, actor: str = "carol") -> int:
    return main(["--workspace", str(ws.root), "--actor", actor, *args])


def test_incident_lifecycle_with_corrective_actions_and_audit(ws: Workspace) -> None:
    bob = ws.as_actor("bob")
    incident = bob.incidents.open("release", INCIDENT)
    assert (incident.status, incident.reported_by, incident.severity) == ("open", "bob", "high")
    assert incident.occurred_at == dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
    assert incident.model_version_id == ws.models.get_version("release", "lr@1").id
    assert incident.closed_at is None

    ws.incidents.set_status("release", incident.id, "investigating", note="triage")
    retrain = ws.incidents.add_action(
        "release",
        incident.id,
        {"description": "Retrain without the leaky feature", "owner": "dan", "due_date": "2025-04-01"},
    )
    monitor = ws.incidents.add_action("release", incident.id, {"description": "Add a watch-list check"})
    assert (retrain.status, retrain.due_date, retrain.completed_at) == ("open", dt.date(2025, 4, 1), None)
    ws.incidents.set_status("release", incident.id, "resolved")

    before = len(events(ws))
    with pytest.raises(Conflict, match=rf"corrective actions are open: #{retrain.id} Retrain .*; #{monitor.id} Add a"):
        ws.incidents.set_status("release", incident.id, "closed")
    assert len(events(ws)) == before

    done = bob.incidents.complete_action("release", retrain.id, note="v2 trained")
    assert done.status == "done" and done.completed_at is not None
    with pytest.raises(Conflict, match=f"#{monitor.id} Add a watch-list check"):
        ws.incidents.set_status("release", incident.id, "closed")
    with pytest.raises(Conflict, match="already done"):
        ws.incidents.complete_action("release", retrain.id)
    bob.incidents.complete_action("release", monitor.id)
    assert [a.status for a in ws.incidents.list_actions("release", incident.id)] == ["done", "done"]

    closed = bob.incidents.set_status("release", incident.id, "closed", note="fixed in lr@2")
    assert closed.status == "closed" and closed.closed_at is not None

    detail = ws.incidents.detail("release", incident.id)
    assert detail.model_version == "lr@1"
    assert [a.id for a in detail.actions] == [retrain.id, monitor.id]
    assert detail.to_dict()["actions"][0]["description"] == "Retrain without the leaky feature"

    log = events(ws, after_seq=events(ws, action="model_version.create")[-1].seq)
    assert [(e.action, e.actor) for e in log] == [
        ("incident.create", "bob"),
        ("incident.status", "alice"),
        ("aims.nonconformity.open", "alice"),  # the first action opens the incident's nonconformity (10.2)
        ("corrective_action.create", "alice"),
        ("corrective_action.create", "alice"),
        ("incident.status", "alice"),
        ("corrective_action.complete", "bob"),
        ("corrective_action.complete", "bob"),
        ("incident.status", "bob"),
    ]
    unauthenticated = {"authenticated": False}  # alice and bob acted under names taken on trust: the ledger says so
    assert dict(log[1].payload) == {"from": "open", "to": "investigating", "note": "triage", **unauthenticated}
    assert dict(log[-1].payload) == {"from": "resolved", "to": "closed", "note": "fixed in lr@2", **unauthenticated}
    assert retrain.nonconformity_id == monitor.nonconformity_id == ws.aims.nonconformities.list()[0].id
    assert log[0].before is None and log[0].after == log[1].before != log[1].after
    assert ws.audit.verify().ok


def test_a_closed_incident_is_final(ws: Workspace) -> None:
    incident = ws.incidents.open("release", INCIDENT)
    for status in ("investigating", "resolved", "closed"):
        ws.incidents.set_status("release", incident.id, status)
    before = len(events(ws))
    with pytest.raises(Conflict, match="is closed and cannot move to investigating: a closed incident is final"):
        ws.incidents.set_status("release", incident.id, "investigating")
    with pytest.raises(Conflict, match="is closed: changing it is no longer possible"):
        ws.incidents.update("release", incident.id, {"severity": "low"})
    with pytest.raises(Conflict, match="is closed: adding a corrective action is no longer possible"):
        ws.incidents.add_action("release", incident.id, {"description": "too late"})
    assert len(events(ws)) == before


@pytest.mark.parametrize(
    ("path", "target", "error", "message"),
    [
        ([], "resolved", Conflict, "is open and cannot move to resolved: it can move to investigating"),
        ([], "closed", Conflict, "is open and cannot move to closed"),
        ([], "open", Conflict, "is already open"),
        (["investigating"], "open", Conflict, "is investigating and cannot move to open: it can move to resolved"),
        (["investigating"], "closed", Conflict, "cannot move to closed"),
        ([], "done", InvalidInput, "incident status 'done' is not one of open, investigating, resolved, closed"),
    ],
)
def test_invalid_transitions_are_refused_and_write_nothing(
    ws: Workspace, path: list[str], target: str, error: type[Exception], message: str
) -> None:
    incident = ws.incidents.open("release", INCIDENT)
    for status in path:
        ws.incidents.set_status("release", incident.id, status)
    before = len(events(ws))
    with pytest.raises(error, match=message):
        ws.incidents.set_status("release", incident.id, target)
    assert ws.incidents.get("release", incident.id).status == (path or ["open"])[-1]
    assert len(events(ws)) == before


def test_a_resolved_incident_can_be_investigated_again(ws: Workspace) -> None:
    incident = ws.incidents.open("release", INCIDENT)
    ws.incidents.set_status("release", incident.id, "investigating")
    ws.incidents.set_status("release", incident.id, "resolved")
    again = ws.incidents.set_status("release", incident.id, "investigating", note="fix did not hold")
    assert again.status == "investigating" and again.closed_at is None


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"severity": "urgent"}, InvalidInput, "severity: Input should be 'low', 'medium', 'high' or 'critical'"),
        ({"title": ""}, InvalidInput, "title: String should have at least 1 character"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, InvalidInput, "occurred_at: 2999-01-01T00:00:00\\+00:00 is in the"),
        ({"occurred_at": "yesterday"}, InvalidInput, "occurred_at"),
        ({"model_version": "lr@9"}, NotFound, r"model 'lr' has no version '9' \(known: 1, 2\)"),
        ({"model_version": "gbm@1"}, NotFound, "system 'release' has no model 'gbm'"),
        ({"status": "closed"}, InvalidInput, "status: is not a known field"),
    ],
)
def test_bad_incidents_write_nothing(
    ws: Workspace, changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    before = len(events(ws))
    with pytest.raises(error, match=message):
        ws.incidents.open("release", {**INCIDENT, **changes})
    assert ws.incidents.list("release") == []
    assert len(events(ws)) == before


def test_incident_update_and_filters(ws: Workspace) -> None:
    ws.systems.create({"name": "other"})
    first = ws.incidents.open("release", INCIDENT)
    second = ws.incidents.open("release", {"title": "Slow responses", "severity": "low"})
    foreign = ws.incidents.open("other", {"title": "x", "severity": "medium"})
    assert second.model_version_id is None and second.occurred_at is None

    updated = ws.as_actor("bob").incidents.update(
        "release", first.id, {"severity": "critical", "model_version": "lr@2"}
    )
    assert updated.severity == "critical" and updated.title == INCIDENT["title"]
    assert ws.incidents.detail("release", first.id).model_version == "lr@2"
    cleared = ws.incidents.update("release", first.id, {"model_version": None})
    assert cleared.model_version_id is None
    log = events(ws, object_type="incidents", action="incident.update")
    assert [(e.actor, dict(e.payload)) for e in log] == [
        ("bob", {"changed": ["model_version", "severity"], "authenticated": False}),  # names taken on trust
        ("alice", {"changed": ["model_version"], "authenticated": False}),
    ]

    before = len(events(ws))
    with pytest.raises(InvalidInput, match="severity"):
        ws.incidents.update("release", first.id, {"severity": "urgent"})
    with pytest.raises(NotFound, match="no version '7'"):
        ws.incidents.update("release", first.id, {"model_version": "lr@7"})
    with pytest.raises(InvalidInput, match="at least one field"):
        ws.incidents.update("release", first.id, {})
    assert len(events(ws)) == before
    assert ws.incidents.get("release", first.id).severity == "critical"

    assert [i.id for i in ws.incidents.list("release")] == [first.id, second.id]
    assert [i.id for i in ws.incidents.list("release", severity="low")] == [second.id]
    assert ws.incidents.list("release", status="closed") == []
    with pytest.raises(InvalidInput, match="incident severity 'urgent'"):
        ws.incidents.list("release", severity="urgent")
    with pytest.raises(NotFound, match=f"no incident of 'release' with id {foreign.id}"):
        ws.incidents.get("release", foreign.id)


def test_corrective_actions_belong_to_their_system(ws: Workspace) -> None:
    ws.systems.create({"name": "other"})
    incident = ws.incidents.open("release", INCIDENT)
    foreign = ws.incidents.open("other", {"title": "x", "severity": "medium"})
    action = ws.incidents.add_action("other", foreign.id, {"description": "fix other"})
    mine = ws.incidents.add_action("release", incident.id, {"description": "fix mine"})
    before = len(events(ws))
    with pytest.raises(NotFound, match=f"no corrective action of 'release' with id {action.id}"):
        ws.incidents.complete_action("release", action.id)
    with pytest.raises(NotFound, match=f"no incident of 'release' with id {foreign.id}"):
        ws.incidents.add_action("release", foreign.id, {"description": "wrong system"})
    with pytest.raises(InvalidInput, match="description: String should have at least 1 character"):
        ws.incidents.add_action("release", incident.id, {"description": "  "})
    with pytest.raises(InvalidInput, match="due_date"):
        ws.incidents.add_action("release", incident.id, {"description": "x", "due_date": "soon"})
    assert len(events(ws)) == before
    assert [a.id for a in ws.incidents.list_actions("release")] == [mine.id]
    assert [a.id for a in ws.incidents.list_actions("other", status="open")] == [action.id]
    assert ws.incidents.list_actions("release", status="done") == []


def test_incident_cli(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["incident", "open", "release", "--title", "Wrong release", "--severity", "critical"]
    assert run(ws, *args, "--model-version", "lr@2", "--occurred-at", "2025-05-02T08:00", "--json") == 0
    opened = json.loads(capsys.readouterr().out)
    assert opened["reported_by"] == "carol" and opened["occurred_at"].startswith("2025-05-02T08:00:00")
    ident = str(opened["id"])

    assert (
        run(
            ws,
            "incident",
            "action",
            "add",
            "release",
            ident,
            "--description",
            "Review",
            "--due",
            "2025-06-01",
            "--json",
        )
        == 0
    )
    action = json.loads(capsys.readouterr().out)
    assert action["due_date"] == "2025-06-01" and action["status"] == "open"
    for status in ("investigating", "resolved"):
        assert run(ws, "incident", "status", "release", ident, status) == 0
        assert f"is now {status}" in capsys.readouterr().out
    assert run(ws, "incident", "status", "release", ident, "closed") == 2
    err = capsys.readouterr().err
    assert f"#{action['id']} Review" in err and len(err.strip().splitlines()) == 1
    assert run(ws, "incident", "action", "done", "release", str(action["id"]), "--note", "reviewed") == 0
    assert "is done" in capsys.readouterr().out
    assert run(ws, "incident", "status", "release", ident, "closed", "--note", "all done") == 0
    capsys.readouterr()

    assert run(ws, "incident", "show", "release", ident, "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "closed" and shown["model_version"] == "lr@2"
    assert [a["status"] for a in shown["actions"]] == ["done"]
    assert run(ws, "incident", "show", "release", ident) == 0
    out = capsys.readouterr().out
    assert "Wrong release" in out and "Corrective actions" in out
    assert run(ws, "incident", "list", "release", "--status", "closed", "--json") == 0
    assert [i["id"] for i in json.loads(capsys.readouterr().out)] == [opened["id"]]
    assert run(ws, "incident", "action", "list", "release") == 0
    assert "Review" in capsys.readouterr().out

    assert run(ws, "incident", "update", "release", ident, "--severity", "low") == 2
    assert "is closed" in capsys.readouterr().err
    actors = {e.actor for e in events(ws, object_type="incidents")} | {
        e.actor for e in events(ws, object_type="corrective_actions")
    }
    assert actors == {"carol"}
    assert ws.audit.verify().ok


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["open", "release", "--title", "t", "--severity", "urgent"], "severity: Input should be"),
        (["open", "release", "--title", "t", "--severity", "low", "--model-version", "lr@5"], "no version '5'"),
        (["open", "release", "--title", "t", "--severity", "low", "--occurred-at", "2999-01-01"], "in the future"),
        (["status", "release", "1", "closed"], "is open and cannot move to closed"),
        (["status", "release", "99", "investigating"], "no incident of 'release' with id 99"),
        (["action", "add", "release", "1", "--description", "x", "--due", "June"], "--due 'June'"),
        (["action", "done", "release", "42"], "no corrective action of 'release' with id 42"),
    ],
)
def test_incident_cli_bad_input_exits_2_with_one_line(
    ws: Workspace, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    first = ws.incidents.open("release", INCIDENT)
    assert first.id == 1
    before = len(events(ws))
    assert run(ws, "incident", *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert len(events(ws)) == before
