"""Rollback: production goes back to the previous version whose approval still stands; refused without one, refused
for a member without the approver role, audited with the reason; recommended by a monitor's alert, never done by it;
SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from assay.cli import main
from assay.errors import Conflict, InvalidInput, PermissionDenied
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.monitoring import check, make_monitor, record_run
from tests.support.people import PASSWORD, People

DOC: dict[str, Any] = {"schema": "assay.assessment", "schema_version": 1, "spec": {"predicted": "p"}, "data": {}}


def release(alice: Workspace, bob: Workspace, ref: str) -> None:
    """Register ``ref`` (with an assessment, as the default policy asks) and take it to production by approval."""
    model, version = ref.split("@")
    alice.models.register_version("release", {"model": model, "version": version})
    alice.assessments.record("release", DOC, model_version=ref)
    request = alice.approvals.request("release", ref, "production")
    assert bob.approvals.decide(request.id, "approve").status == "approved"


@pytest.fixture
def ws(workspace: Workspace, people: People) -> Workspace:
    """lr@1 then lr@2 taken to production by approval (alice owner, bob approver, dave viewer)."""
    workspace.systems.create({"name": "release", "eu_ai_act_category": "minimal"})
    alice, bob = people("alice", release="owner"), people("bob", release="approver")
    people("dave", release="viewer")
    release(alice, bob, "lr@1")
    return alice  # type: ignore[no-any-return]


def stages(ws: Workspace) -> dict[str, str]:
    return {f"{m.name}@{v.version}": v.stage for m, v in ws.models.list_versions("release")}


def test_rollback_to_the_previous_approved_version(ws: Workspace, people: People) -> None:
    bob = people("bob")
    release(ws, bob, "lr@2")
    assert stages(ws) == {"lr@1": "staging", "lr@2": "production"}
    back = bob.models.rollback("release", reason="accuracy fell to 0.61 on the 2026-01-04 window")
    assert back.version == "1" and stages(ws) == {"lr@1": "production", "lr@2": "staging"}
    moves = ws.audit.log(EventFilter(action="model_version.stage"))[-2:]
    assert [(e.payload["from"], e.payload["to"]) for e in moves] == [
        ("production", "staging"),
        ("staging", "production"),
    ]
    assert all(e.actor == "bob" and e.payload["rollback"] is True for e in moves)
    assert all("accuracy fell to 0.61" in e.payload["reason"] for e in moves)
    assert moves[1].payload["replaces"] == "lr@2" and moves[1].payload["approval"] == 1
    assert ws.audit.verify().ok
    # lr@2's approval still stands: rolling back again returns to it
    assert bob.models.rollback("release", reason="lr@1 was worse").version == "2"


def test_refused_without_a_previous_approved_version(ws: Workspace, people: People) -> None:
    bob = people("bob")
    with pytest.raises(Conflict, match="no version of lr other than lr@1 reached production through an approval"):
        bob.models.rollback("release", reason="why not")
    # lr@2 in production, but lr@1's approved state changed since (a new assessment): its approval no longer stands
    release(ws, bob, "lr@2")
    ws.assessments.record("release", DOC, model_version="lr@1")
    before = len(ws.audit.log())
    with pytest.raises(Conflict, match="nothing to roll back to"):
        bob.models.rollback("release", reason="why not")
    assert len(ws.audit.log()) == before and stages(ws)["lr@2"] == "production"
    # a retired version is never brought back
    ws.models.set_stage("release", "lr@1", "retired", reason="withdrawn")
    with pytest.raises(Conflict, match="nothing to roll back to"):
        bob.models.rollback("release", reason="why not")


def test_refused_without_the_approver_role_or_a_reason(ws: Workspace, people: People) -> None:
    release(ws, people("bob"), "lr@2")
    with pytest.raises(PermissionDenied, match="may not approve on system 'release' \\(needs the approver role\\)"):
        ws.models.rollback("release", reason="the owner may not")
    with pytest.raises(PermissionDenied, match="needs the approver role"):
        people("dave").models.rollback("release", reason="a viewer may not")
    with pytest.raises(PermissionDenied, match="needs an authenticated user"):
        people.base.as_actor("bob").models.rollback("release", reason="on trust")
    with pytest.raises(InvalidInput, match="needs a reason"):
        people("bob").models.rollback("release", reason="  ")
    assert people.admin.models.rollback("release", reason="an admin may").version == "1"
    assert stages(ws)["lr@1"] == "production"


def test_nothing_in_production(workspace: Workspace) -> None:
    workspace.set_mode("single-user")
    workspace.systems.create({"name": "release", "eu_ai_act_category": "minimal"})
    workspace.models.register_version("release", {"model": "lr", "version": "1"})
    with pytest.raises(Conflict, match="release has no version in production: there is nothing to roll back"):
        workspace.models.rollback("release", reason="x")


def test_a_monitor_recommends_rollback_and_never_does_it(ws: Workspace, people: People) -> None:
    release(ws, people("bob"), "lr@2")
    monitor = make_monitor(ws, "release", "lr@2", alerting={"recommend_rollback": True})
    record_run(ws, monitor, 0, [check("model-quality", "fail", [("accuracy", 0.61)])])
    (alert,) = ws.alerts.list("release")
    assert alert.rollback_to == "lr@1"
    assert "Rollback recommended to lr@1" in alert.description and "assay model rollback release" in alert.description
    assert stages(ws) == {"lr@1": "staging", "lr@2": "production"}  # recommended, not done


def test_cli_rollback(ws: Workspace, people: People, capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    release(ws, people("bob"), "lr@2")
    root = ["--workspace", str(ws.root)]
    monkeypatch.setenv("ASSAY_PASSWORD", PASSWORD)
    assert main([*root, "--user", "alice", "model", "rollback", "release", "--reason", "bad"]) == 2
    assert "needs the approver role" in capsys.readouterr().err
    assert main([*root, "--user", "bob", "model", "rollback", "release", "--reason", "accuracy fell"]) == 0
    assert "version 1 is in production again" in capsys.readouterr().out
    assert stages(ws)["lr@1"] == "production"
