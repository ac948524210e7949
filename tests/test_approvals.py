"""Approvals: frozen state, staleness, no self-approval, the only way to production; SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from assay.cli import main
from assay.errors import Conflict, InvalidInput, PermissionDenied
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter

DOC: dict[str, Any] = {"schema": "assay.assessment", "schema_version": 1, "spec": {"predicted": "p"}, "data": {}}


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.systems.create({"name": "release", "eu_ai_act_category": "high", "annex_iii_area": 6})
    workspace.models.register_version("release", {"model": "lr", "version": "1"})
    workspace.assessments.record("release", DOC, model_version="lr@1")
    return workspace


def count(ws: Workspace) -> int:
    return len(ws.audit.log())


def test_a_second_person_approves_and_the_version_moves(ws: Workspace) -> None:
    request = ws.approvals.request("release", "lr@1", "production", comment="bias within policy")
    assert request.status == "pending" and not request.stale and request.requested_by == "alice"
    decided = ws.as_actor("bob").approvals.decide(request.id, "approve", comment="checked the report")
    assert decided.status == "approved" and decided.decided_at is not None
    assert decided.decisions[0]["approver"] == "bob"
    assert ws.models.get_version("release", "lr@1").stage == "production"
    actions = [e.action for e in ws.audit.log(EventFilter(after_seq=0))][-4:]
    assert actions == ["approval.request", "approval.decision", "approval.approve", "model_version.stage"]
    stage_event = ws.audit.log(EventFilter(action="model_version.stage"))[0]
    assert stage_event.actor == "bob" and stage_event.payload["approval"] == request.id
    assert ws.audit.verify().ok


def test_the_requester_cannot_approve_and_nothing_is_written(ws: Workspace) -> None:
    request = ws.approvals.request("release", "lr@1", "production")
    before = count(ws)
    with pytest.raises(PermissionDenied, match="cannot decide"):
        ws.approvals.decide(request.id, "approve")
    assert count(ws) == before
    assert ws.approvals.get(request.id).status == "pending"
    assert ws.models.get_version("release", "lr@1").stage == "development"


def test_a_change_after_the_request_makes_it_stale_and_undecidable(ws: Workspace) -> None:
    request = ws.approvals.request("release", "lr@1", "production")
    ws.assessments.record("release", {**DOC, "note": "rerun"}, model_version="lr@1")
    assert ws.approvals.get(request.id).stale
    before = count(ws)
    with pytest.raises(Conflict, match="stale"):
        ws.as_actor("bob").approvals.decide(request.id, "approve")
    assert count(ws) == before
    ws.approvals.withdraw(request.id)
    fresh = ws.approvals.request("release", "lr@1", "production")
    assert ws.as_actor("bob").approvals.decide(fresh.id, "approve").status == "approved"


def test_an_approval_goes_stale_when_the_state_changes_after_it(ws: Workspace) -> None:
    request = ws.approvals.request("release", "lr@1", "staging")
    ws.as_actor("bob").approvals.decide(request.id, "approve")
    assert not ws.approvals.get(request.id).stale  # the stage move itself is not a change of the approved state
    ws.assessments.record("release", {**DOC, "note": "new evidence"}, model_version="lr@1")
    view = ws.approvals.get(request.id)
    assert view.status == "approved" and view.stale
    assert [v.id for v in ws.approvals.list("release") if v.stale] == [request.id]


def test_two_approvals_needed_and_rejection(ws: Workspace) -> None:
    request = ws.approvals.request("release", "lr@1", "production", required_approvals=2)
    assert ws.as_actor("bob").approvals.decide(request.id, "approve").status == "pending"
    with pytest.raises(Conflict, match="already decided"):
        ws.as_actor("bob").approvals.decide(request.id, "approve")
    assert ws.as_actor("carol").approvals.decide(request.id, "approve").status == "approved"
    ws.models.register_version("release", {"model": "lr", "version": "2", "parent": "1"})
    second = ws.approvals.request("release", "lr@2", "production")
    with pytest.raises(InvalidInput, match="needs a comment"):
        ws.as_actor("bob").approvals.decide(second.id, "reject")
    rejected = ws.as_actor("bob").approvals.decide(second.id, "reject", comment="calibration too poor")
    assert rejected.status == "rejected"
    assert ws.models.get_version("release", "lr@2").stage == "development"


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("lr@1", "prod"), InvalidInput, "not one of"),
        (("lr@1", "development"), Conflict, "already in development"),
        (("lr@9", "production"), Exception, "no version"),
    ],
)
def test_bad_requests(ws: Workspace, args: tuple[str, str], error: type[Exception], match: str) -> None:
    before = count(ws)
    with pytest.raises(error, match=match):
        ws.approvals.request("release", *args)
    assert count(ws) == before


def test_duplicate_pending_request_and_withdraw_rules(ws: Workspace) -> None:
    request = ws.approvals.request("release", "lr@1", "production")
    with pytest.raises(Conflict, match="already pending"):
        ws.approvals.request("release", "lr@1", "production")
    with pytest.raises(PermissionDenied, match="can withdraw"):
        ws.as_actor("bob").approvals.withdraw(request.id)
    assert ws.approvals.withdraw(request.id).status == "withdrawn"
    with pytest.raises(Conflict, match="not pending"):
        ws.as_actor("bob").approvals.decide(request.id, "approve")


def test_cli_approval_flow(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    root = ["--workspace", str(ws.root)]
    assert main([*root, "--actor", "alice", "approval", "request", "release", "lr@1", "--comment", "ok"]) == 0
    assert main([*root, "--actor", "alice", "approval", "approve", "1"]) == 2
    assert "cannot decide" in capsys.readouterr().err
    assert main([*root, "--actor", "bob", "approval", "approve", "1", "--comment", "fine"]) == 0
    capsys.readouterr()
    assert main([*root, "approval", "list", "release", "--json"]) == 0
    listed = __import__("json").loads(capsys.readouterr().out)
    assert listed[0]["status"] == "approved" and listed[0]["stale"] is False
    assert main([*root, "model", "stage", "release", "lr@1", "production"]) == 2
    assert "approved request" in capsys.readouterr().err


def test_a_new_or_edited_risk_makes_the_approval_stale(ws: Workspace) -> None:
    request = ws.approvals.request("release", "lr@1", "production")
    ws.as_actor("bob").approvals.decide(request.id, "approve")
    risk = ws.risks.add(
        "release",
        {"title": "Disparate release", "source": "model", "likelihood": 3, "impact": 4, "treatment": "mitigate"},
    )
    assert ws.approvals.get(request.id).stale
    second = ws.approvals.request("release", "lr@1", "staging")
    ws.risks.update("release", risk.id, {"likelihood": 4})
    with pytest.raises(Conflict, match="stale"):
        ws.as_actor("bob").approvals.decide(second.id, "approve")
