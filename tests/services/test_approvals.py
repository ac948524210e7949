"""Approvals: frozen state, staleness, no self-approval, authenticated approvers with the approver role, the
policy's number of approvals and its gate at the final approval, what follows when an approved state changes;
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from assay.cli import main
from assay.config import load_settings
from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.people import PASSWORD, People
from tests.support.policies import LENIENT

DOC: dict[str, Any] = {"schema": "assay.assessment", "schema_version": 1, "spec": {"predicted": "p"}, "data": {}}


@pytest.fixture
def ws(workspace: Workspace, people: People) -> Workspace:
    """A minimal-risk system (Assay's default policy: one approval, a recorded assessment) owned by alice, with bob
    and carol approvers and dave a viewer; returns alice's (authenticated) workspace."""
    workspace.systems.create({"name": "release", "eu_ai_act_category": "minimal"})
    workspace.models.register_version("release", {"model": "lr", "version": "1"})
    workspace.assessments.record("release", DOC, model_version="lr@1")
    alice = people("alice", release="owner")
    people("bob", release="approver")
    people("carol", release="approver")
    people("dave", release="viewer")
    return alice  # type: ignore[no-any-return]


def count(ws: Workspace) -> int:
    return len(ws.audit.log())


def test_a_second_person_approves_and_the_version_moves(ws: Workspace, people: People) -> None:
    request = ws.approvals.request("release", "lr@1", "production", comment="bias within policy")
    assert request.status == "pending" and not request.stale and request.requested_by == "alice"
    assert request.required_approvals == 1  # default-minimal asks for one
    decided = people("bob").approvals.decide(request.id, "approve", comment="checked the report")
    assert decided.status == "approved" and decided.decided_at is not None
    assert decided.decisions[0]["approver"] == "bob" and decided.decisions[0]["authenticated"] is True
    assert decided.gate_run_id is not None  # the gate it relied on is recorded
    assert ws.models.get_version("release", "lr@1").stage == "production"
    actions = [e.action for e in ws.audit.log(EventFilter(after_seq=0))][-5:]
    assert actions == [
        "approval.request",
        "approval.decision",
        "gate.evaluate",
        "approval.approve",
        "model_version.stage",
    ]
    stage_event = ws.audit.log(EventFilter(action="model_version.stage"))[0]
    assert stage_event.actor == "bob" and stage_event.payload["approval"] == request.id
    assert stage_event.payload["gate_run"] == decided.gate_run_id and "authenticated" not in stage_event.payload
    assert ws.audit.verify().ok


def test_the_requester_cannot_approve_and_nothing_is_written(ws: Workspace) -> None:
    request = ws.approvals.request("release", "lr@1", "production")
    before = count(ws)
    with pytest.raises(PermissionDenied, match="cannot decide"):
        ws.approvals.decide(request.id, "approve")
    assert count(ws) == before
    assert ws.approvals.get(request.id).status == "pending"
    assert ws.models.get_version("release", "lr@1").stage == "development"


def test_only_authenticated_approvers_with_the_role_decide(ws: Workspace, people: People) -> None:
    """Defect 3: --actor bob approved with no users registered. Now a self-declared name is refused in a
    multi-user workspace, and an authenticated viewer may not approve."""
    request = ws.approvals.request("release", "lr@1", "production")
    before = count(ws)
    with pytest.raises(PermissionDenied, match="needs an authenticated user"):
        people.base.as_actor("bob").approvals.decide(request.id, "approve")
    with pytest.raises(PermissionDenied, match="needs the approver role"):
        people("dave").approvals.decide(request.id, "approve")
    with pytest.raises(PermissionDenied, match="needs an authenticated user"):
        people.base.as_actor("alice").approvals.request("release", "lr@1", "staging")
    with pytest.raises(PermissionDenied, match="wrong user name or password"):
        people.base.login("bob", "not the password at all")
    assert count(ws) == before
    assert ws.models.get_version("release", "lr@1").stage == "development"


def test_a_change_after_the_request_makes_it_stale_and_undecidable(ws: Workspace, people: People) -> None:
    request = ws.approvals.request("release", "lr@1", "production")
    ws.assessments.record("release", {**DOC, "note": "rerun"}, model_version="lr@1")
    assert ws.approvals.get(request.id).stale
    before = count(ws)
    with pytest.raises(Conflict, match="stale"):
        people("bob").approvals.decide(request.id, "approve")
    assert count(ws) == before
    ws.approvals.withdraw(request.id)
    fresh = ws.approvals.request("release", "lr@1", "production")
    assert people("bob").approvals.decide(fresh.id, "approve").status == "approved"


def test_an_approval_goes_stale_when_the_state_changes_after_it(ws: Workspace, people: People) -> None:
    request = ws.approvals.request("release", "lr@1", "staging")
    people("bob").approvals.decide(request.id, "approve")
    assert not ws.approvals.get(request.id).stale  # the stage move itself is not a change of the approved state
    ws.assessments.record("release", {**DOC, "note": "new evidence"}, model_version="lr@1")
    view = ws.approvals.get(request.id)
    assert view.status == "approved" and view.stale and view.held  # no policy guards staging: held, flagged
    assert [v.id for v in ws.approvals.list("release") if v.stale] == [request.id]
    gaps = ws.controls.readiness("release", framework="iso42001")["systems"][0]["gaps"]
    assert any(g["kind"] == "stale_approval" for g in gaps)


def test_more_approvals_may_be_asked_and_rejection(ws: Workspace, people: People) -> None:
    request = ws.approvals.request("release", "lr@1", "production", required_approvals=2)
    assert people("bob").approvals.decide(request.id, "approve").status == "pending"
    with pytest.raises(Conflict, match="already decided"):
        people("bob").approvals.decide(request.id, "approve")
    assert people("carol").approvals.decide(request.id, "approve").status == "approved"
    ws.models.register_version("release", {"model": "lr", "version": "2", "parent": "1"})
    second = ws.approvals.request("release", "lr@2", "production")
    with pytest.raises(InvalidInput, match="needs a comment"):
        people("bob").approvals.decide(second.id, "reject")
    rejected = people("bob").approvals.decide(second.id, "reject", comment="calibration too poor")
    assert rejected.status == "rejected"
    assert ws.models.get_version("release", "lr@2").stage == "development"


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("lr@1", "prod"), {}, InvalidInput, "not one of"),
        (("lr@1", "development"), {}, Conflict, "already in development"),
        (("lr@9", "production"), {}, Exception, "no version"),
        (("lr@1", "production"), {"required_approvals": 0}, InvalidInput, "from 1 to 20"),
        (("lr@1", "production"), {"required_approvals": 10**9}, InvalidInput, "from 1 to 20"),
    ],
)
def test_bad_requests(
    ws: Workspace, args: tuple[str, str], kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    before = count(ws)
    with pytest.raises(error, match=match):
        ws.approvals.request("release", *args, **kwargs)
    assert count(ws) == before


def test_duplicate_pending_request_and_withdraw_rules(ws: Workspace, people: People) -> None:
    request = ws.approvals.request("release", "lr@1", "production")
    with pytest.raises(Conflict, match="already pending"):
        ws.approvals.request("release", "lr@1", "production")
    with pytest.raises(PermissionDenied):
        people("bob").approvals.withdraw(request.id)
    assert ws.approvals.withdraw(request.id).status == "withdrawn"
    with pytest.raises(Conflict, match="not pending"):
        people("bob").approvals.decide(request.id, "approve")


def test_another_systems_request_is_not_found(ws: Workspace, people: People) -> None:
    people.admin.systems.create({"name": "triage", "eu_ai_act_category": "minimal"})
    request = ws.approvals.request("release", "lr@1", "production")
    with pytest.raises(NotFound, match="no AI system named 'triage'"):  # bob cannot see triage: not found
        people("bob").approvals.decide(request.id, "approve", system="triage")
    with pytest.raises(NotFound):
        ws.approvals.get(request.id, system="triage")
    assert ws.approvals.get(request.id, system="release").id == request.id


def test_cli_approval_flow(ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    root = ["--workspace", str(ws.root)]
    monkeypatch.setenv("ASSAY_PASSWORD", PASSWORD)
    assert main([*root, "--actor", "alice", "approval", "request", "release", "lr@1", "--comment", "ok"]) == 2
    assert "needs an authenticated user" in capsys.readouterr().err
    assert main([*root, "--user", "alice", "approval", "request", "release", "lr@1", "--comment", "ok"]) == 0
    assert main([*root, "--user", "alice", "approval", "approve", "1"]) == 2
    assert "cannot decide" in capsys.readouterr().err
    assert main([*root, "--actor", "bob", "approval", "approve", "1", "--comment", "fine"]) == 2  # defect 3
    assert "needs an authenticated user" in capsys.readouterr().err
    monkeypatch.setenv("ASSAY_PASSWORD", "a wrong password!!")
    assert main([*root, "--user", "bob", "approval", "approve", "1"]) == 2
    assert "wrong user name or password" in capsys.readouterr().err
    monkeypatch.setenv("ASSAY_PASSWORD", PASSWORD)
    assert main([*root, "--user", "bob", "approval", "approve", "1", "--comment", "fine"]) == 0
    capsys.readouterr()
    assert main([*root, "approval", "list", "release", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["status"] == "approved" and listed[0]["stale"] is False
    assert main([*root, "model", "stage", "release", "lr@1", "production"]) == 2
    assert "approved request" in capsys.readouterr().err


def test_a_new_or_edited_risk_makes_the_approval_stale(ws: Workspace, people: People) -> None:
    request = ws.approvals.request("release", "lr@1", "production")
    people("bob").approvals.decide(request.id, "approve")
    risk = ws.risks.add(
        "release",
        {"title": "Disparate release", "source": "model", "likelihood": 3, "impact": 4, "treatment": "mitigate"},
    )
    assert ws.approvals.get(request.id).stale
    second = ws.approvals.request("release", "lr@1", "staging")
    ws.risks.update("release", risk.id, {"likelihood": 4})
    with pytest.raises(Conflict, match="stale"):
        people("bob").approvals.decide(second.id, "approve")


def test_the_risks_an_approval_freezes_are_their_recorded_state(ws: Workspace) -> None:
    """The approval digests read the risks as rows (the dashboard digests every system's): each must be exactly the
    state the ledger's digests are computed over (Base.state) but ``updated_at``, or every approval would go stale."""
    from sqlalchemy import select

    from assay.services._approval_state import risk_states
    from assay.store.models import Risk

    dated = {"title": "Dated", "source": "model", "likelihood": 2, "impact": 3, "treatment": "mitigate"}
    ws.risks.add("release", {**dated, "review_date": "2027-01-31", "controls": ["iso42001:A.6.2.4"], "owner": "alice"})
    ws.risks.add("release", {"title": "Bare", "source": "data", "likelihood": 1, "impact": 1, "treatment": "accept"})
    with ws.store.read() as session:
        risks = list(session.execute(select(Risk).order_by(Risk.id)).scalars())
        expected = {r.system_id: [] for r in risks}
        for risk in risks:
            expected[risk.system_id].append({k: v for k, v in risk.state().items() if k != "updated_at"})
        assert risk_states(session, expected) == expected
        assert expected[risks[0].system_id][0]["review_date"] == "2027-01-31"  # dates as the ledger writes them


def test_digests_kept_across_changes_are_the_digests_made_afresh(ws: Workspace, people: People) -> None:
    """The approval digests kept from one head of the ledger to the next (only what the events since touch is
    digested again) must equal digests made from nothing after every kind of change: a risk added or edited, an
    assessment recorded, another system's change, a new model; and a change to one system leaves the other's kept."""
    from assay.services import approvals

    ws.systems.create({"name": "other", "eu_ai_act_category": "minimal"})
    ws.models.register_version("other", {"model": "gb", "version": "1"})
    ws.assessments.record("other", DOC, model_version="gb@1")
    ws.approvals.request("release", "lr@1", "production")
    ws.approvals.request("other", "gb@1", "production")
    risk = {"title": "Drift", "source": "model", "likelihood": 2, "impact": 3, "treatment": "mitigate"}

    def listed() -> dict[str, tuple[str | None, bool]]:
        return {v.system: (v.current_digest, v.stale) for v in ws.approvals.list()}

    def afresh() -> dict[str, tuple[str | None, bool]]:
        approvals._DIGESTS.clear()
        return listed()

    first = afresh()
    assert listed() == first and not any(stale for _, stale in first.values())
    added = ws.risks.add("release", risk)
    kept = listed()
    assert kept["release"][1] and kept["other"] == first["other"]  # only release was digested again
    assert kept == afresh()
    steps = [
        lambda: ws.risks.update("release", added.id, {"likelihood": 4}),
        lambda: ws.assessments.record("other", DOC, model_version="gb@1"),
        lambda: ws.risks.add("other", {**risk, "title": "Other's"}),
        lambda: ws.models.register_version("release", {"model": "new", "version": "1"}),
        lambda: ws.risks.update("release", added.id, {"title": "Renamed"}),
    ]
    for step in steps:
        listed()  # kept at the head before the change
        step()
        assert listed() == afresh()
    assert all(stale for _, stale in listed().values())


# -- a high-risk system: the policy's number of approvals, its gate, waivers, on_change -------------------------


@pytest.fixture
def high(workspace: Workspace, people: People) -> Workspace:
    people.admin.systems.create({"name": "parole", "eu_ai_act_category": "high", "annex_iii_area": 6})
    people.admin.models.register_version("parole", {"model": "lr", "version": "1"})
    people.admin.assessments.record("parole", DOC, model_version="lr@1")
    alice = people("alice", parole="owner")
    people("erin", parole="owner")
    people("bob", parole="approver")
    people("carol", parole="approver")
    return alice  # type: ignore[no-any-return]


def test_high_risk_needs_the_policys_approvals_and_its_gate(high: Workspace, people: People) -> None:
    """Defect 1: one approval moved a high-risk model to production while its gate failed. Now the request asks
    for the default policy's two approvals, and no approval (the first of two neither) is accepted while a rule
    of the gate fails unwaived; the final one records the gate run it relied on."""
    with pytest.raises(InvalidInput, match="asks for 2 approvals"):
        high.approvals.request("parole", "lr@1", "production", required_approvals=1)
    request = high.approvals.request("parole", "lr@1", "production")
    assert request.required_approvals == 2
    before = count(high)
    with pytest.raises(Conflict, match=r"cannot be approved: the gate default-high for production fails \d+ of \d+ "
                       r"rules on lr@1 \(four-fifths, .*team-disciplines\)"):  # fmt: skip
        people("bob").approvals.decide(request.id, "approve")
    assert count(high) == before  # nothing written: no decision, no gate run, no move
    assert high.models.get_version("parole", "lr@1").stage == "development"
    assert high.approvals.get(request.id).approvals == 0
    failing = [r["rule"] for r in high.gates.evaluate("parole", "lr@1")["results"] if r["status"] == "failed"]
    assert "approvals" in failing  # the gate run on its own counts the approvals given (none)

    # waivers by the requester do not count for her own request ...
    until = dt.date.today() + dt.timedelta(days=30)
    rules = [rule for rule in failing if rule != "approvals"]
    for rule in rules:
        high.gates.waive("parole", rule, reason="accepted for a pilot", expires=until)
    with pytest.raises(Conflict, match="cannot be approved"):
        people("bob").approvals.decide(request.id, "approve")
    # ... those of another owner do, and are listed in the decision the approval relied on
    for rule in rules:
        people("erin").gates.waive("parole", rule, reason="accepted for a three-month pilot", expires=until)
    assert people("bob").approvals.decide(request.id, "approve").status == "pending"
    decided = people("carol").approvals.decide(request.id, "approve", comment="with the waivers")
    assert decided.status == "approved" and decided.gate_run_id is not None
    assert high.models.get_version("parole", "lr@1").stage == "production"
    run = next(r for r in high.gates.runs("parole", "lr@1") if r["id"] == decided.gate_run_id)
    assert run["outcome"] == "passed" and run["failed"] == 0 and run["waived"] == len(rules)
    assert high.audit.verify().ok


def _to_production(ws: Workspace, people: People, ref: str) -> int:
    request = ws.approvals.request("parole", ref, "production")
    people("bob").approvals.decide(request.id, "approve")
    decided = people("carol").approvals.decide(request.id, "approve")
    assert decided.status == "approved"
    return request.id


def test_a_changed_production_version_is_demoted_and_the_previous_comes_back(high: Workspace, people: People) -> None:
    """Defect 2: after `model update` the approval went stale but the model stayed in production."""
    high.gates.set_policy("parole", text=LENIENT.format(on_change="demote"))
    _to_production(high, people, "lr@1")
    high.models.register_version("parole", {"model": "lr", "version": "2", "parent": "1"})
    high.assessments.record("parole", DOC, model_version="lr@2")
    high.models.set_stage("parole", "lr@2", "staging")
    _to_production(high, people, "lr@2")
    assert high.models.get_version("parole", "lr@2").stage == "production"

    high.models.update_version("parole", "lr@2", {"framework": "scikit-learn 1.7"})
    assert high.models.get_version("parole", "lr@2").stage == "staging"  # back where it came from
    assert high.models.get_version("parole", "lr@1").stage == "production"  # the previous approved version
    moves = high.audit.log(EventFilter(action="model_version.stage"))[-2:]
    assert all(e.payload["by_policy"] for e in moves)
    assert "demoted" in moves[0].payload["reason"] and "back because lr@2 was demoted" in moves[1].payload["reason"]
    assert high.audit.verify().ok


def test_a_changed_production_version_can_be_held_for_reapproval(high: Workspace, people: People) -> None:
    high.gates.set_policy("parole", text=LENIENT.format(on_change="hold"))
    first = _to_production(high, people, "lr@1")
    high.models.update_version("parole", "lr@1", {"framework": "scikit-learn 1.7"})
    assert high.models.get_version("parole", "lr@1").stage == "production"
    assert high.approvals.get(first).held
    assert high.audit.log(EventFilter(action="model_version.hold"))[-1].payload["approval"] == first
    gaps = high.controls.readiness("parole", framework="iso42001")["systems"][0]["gaps"]
    assert any(g["kind"] == "stale_approval" for g in gaps)
    from fastapi.testclient import TestClient

    from assay.server.app import create_app

    token = people.admin.access.create_token("admin", "dashboard")[0]
    with TestClient(create_app(people.base)) as client:
        dashboard = client.get("/index.json", headers={"Authorization": f"Bearer {token}"}).json()
    assert [a["id"] for a in dashboard["held_versions"]] == [first]  # the dashboard flags it too
    again = _to_production(high, people, "lr@1")  # a held version may be approved again for its stage
    assert not high.approvals.get(again).held


def test_a_stored_policy_is_versioned_and_needs_the_owner(high: Workspace, people: People) -> None:
    with pytest.raises(PermissionDenied, match="needs the owner role"):
        people("bob").gates.set_policy("parole", text=LENIENT.format(on_change="hold"))
    with pytest.raises(InvalidInput, match="on_change"):
        high.gates.set_policy("parole", text=LENIENT.format(on_change="shrug"))
    high.gates.set_policy("parole", text=LENIENT.format(on_change="hold"))
    high.gates.set_policy("parole", text=LENIENT.format(on_change="demote"))
    assert [p["name"] for p in high.gates.policies("parole")] == ["lenient-hold", "lenient-demote"]
    assert high.gates.policy_for("parole")[0].name == "lenient-demote"


def test_a_single_user_workspace_takes_the_actor_on_trust_and_gives_one_approval(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "solo", load_settings(actor="alice", workspace=None), single_user=True) as ws:
        assert ws.mode == "single-user"
        ws.systems.create({"name": "release", "eu_ai_act_category": "minimal"})
        ws.systems.create({"name": "parole", "eu_ai_act_category": "high", "annex_iii_area": 6})
        for system in ("release", "parole"):
            ws.models.register_version(system, {"model": "lr", "version": "1"})
            ws.assessments.record(system, DOC, model_version="lr@1")
        request = ws.approvals.request("release", "lr@1", "production")
        assert ws.as_actor("bob").approvals.decide(request.id, "approve").status == "approved"
        event = ws.audit.log(EventFilter(action="approval.approve"))[0]
        assert event.payload["authenticated"] is False  # the ledger says the name was taken on trust
        with pytest.raises(InvalidInput, match="single-user workspace cannot give"):
            ws.approvals.request("parole", "lr@1", "production")
        ws.set_mode("multi-user")
        ws.access.add_user("root", PASSWORD, role="admin")  # the first admin needs nobody's leave
        with pytest.raises(PermissionDenied):  # going back needs an authenticated admin once there is one
            ws.set_mode("single-user")
        assert ws.mode == "multi-user"
        ws.login("root", PASSWORD).set_mode("single-user")
        assert ws.mode == "single-user"
