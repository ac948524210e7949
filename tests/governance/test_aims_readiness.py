"""The rules that judge ISO/IEC 42001 clauses 4-10 for the organisation (pure: snapshots built by hand)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from assay.governance.aims import REVIEW_INPUTS
from assay.governance.aims_readiness import CLAUSES, Snapshot, SystemFacts, judge
from assay.governance.readiness import assessed_entries

DAY = dt.date(2027, 3, 1)
RECENT = DAY - dt.timedelta(days=30)


def complete() -> Snapshot:
    """A management system every clause finds ready."""
    credit = SystemFacts(
        id=1,
        name="credit",
        category="high",
        stage="operation_and_monitoring",
        owner="olga",
        risks=[{"id": 7, "treatment": "mitigate", "controls": 2, "review_date": DAY, "updated_at": RECENT}],
        impact_assessments=[{"id": 3, "status": "approved", "updated_at": RECENT}],
        team=[{"id": 4, "person": "dan", "disciplines": ["data-science", "legal"]}],
        control_statuses=38,
        gate_policies=1,
        gate_runs=2,
        monitors=1,
    )
    doc = {"status": "approved", "approver_role": "top-management", "next_review": DAY + dt.timedelta(days=300)}
    return Snapshot(
        day=DAY,
        issues=[{"id": 1, "kind": "internal"}, {"id": 2, "kind": "external"}],
        parties=[{"id": 1, "name": "Regulator", "requirements": ["EU AI Act"]}],
        scope={"id": 1, "version": 2, "systems": ["credit"], "exclusions": [{"what": "chatbot", "why": "pilot"}]},
        documents=[
            {"id": 10, "key": "ai-policy", "kind": "ai-policy", "topic": "", **doc},
            {"id": 11, "key": "changes", "kind": "procedure", "topic": "change-management", **doc},
            {"id": 12, "key": "comms", "kind": "plan", "topic": "communication", **doc},
        ],
        roles=[
            {"id": 1, "role": "top-management", "person": "tara", "system_id": None},
            {"id": 2, "role": "management-system-owner", "person": "mona", "system_id": None},
            {"id": 3, "role": "internal-auditor", "person": "ian", "system_id": None},
            {"id": 4, "role": "risk-owner", "person": "rita", "system_id": None},
        ],
        systems=[credit, dataclasses.replace(credit, id=2, name="chatbot", category="minimal")],
        objectives=[{"id": 1, "key": "assessed", "measured_at": RECENT}],
        trainings=[
            {
                "id": 1,
                "code": "ai-basics",
                "required_for": ["top-management", "management-system-owner", "internal-auditor", "risk-owner"],
            }
        ],
        training_records=[
            {"id": n, "training_id": 1, "person": p, "expires_on": None}
            for n, p in enumerate(("tara", "mona", "ian", "rita"), 1)
        ],
        audits=[{"id": 1, "programme": "2027", "status": "completed", "completed_on": RECENT, "conclusion": "ok"}],
        findings=[{"id": 1, "audit_id": 1, "kind": "opportunity", "nonconformity_id": None}],
        nonconformities=[{"id": 1, "status": "closed", "due_date": RECENT, "effective": True, "closed_on": RECENT}],
        reviews=[{"id": 1, "status": "closed", "held_on": RECENT, "inputs": list(REVIEW_INPUTS), "decisions": 2}],
        actions=[
            {"id": 1, "status": "open", "owner": "mona", "due_date": DAY, "review_id": 1, "nonconformity_id": None}
        ],
    )


def verdicts(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in judge(snapshot)}


def test_the_rules_judge_exactly_the_catalogues_clauses() -> None:
    clauses = [c.id for c in assessed_entries("iso42001") if not c.id.startswith("A.")]
    assert [c.id for c in CLAUSES] == clauses and len(clauses) == 32


def test_a_complete_management_system_is_ready_with_evidence_for_every_clause() -> None:
    judged = verdicts(complete())
    assert {k: v["gaps"] for k, v in judged.items() if not v["ready"]} == {}
    assert all(v["evidence"] for v in judged.values())
    assert "aims_documents:10" in judged["5.2"]["evidence"] and "management_reviews:1" in judged["9.3.1"]["evidence"]


def test_nothing_recorded_is_never_ready() -> None:
    judged = verdicts(Snapshot(day=DAY))
    assert [k for k, v in judged.items() if v["ready"]] == []
    assert judged["10.2"]["gaps"][0]["detail"] == "no record shows it yet"  # no nonconformity: no evidence either


def change(snapshot: Snapshot, **changes: Any) -> Snapshot:
    return dataclasses.replace(snapshot, **changes)


@pytest.mark.parametrize(
    ("changes", "clause", "detail"),
    [
        ({"roles": []}, "5.1", "nobody holds the role top-management"),
        ({"issues": [{"id": 1, "kind": "internal"}]}, "4.1", "no external issue"),
        ({"scope": {"id": 1, "version": 1, "systems": ["credit"], "exclusions": []}}, "4.3", "'chatbot' is neither"),
        ({"parties": [{"id": 1, "name": "Bank", "requirements": []}]}, "4.2", "'Bank' has no requirements"),
        ({"documents": []}, "5.2", "no approved AI policy"),
        ({"objectives": [{"id": 1, "key": "k", "measured_at": DAY - dt.timedelta(days=200)}]}, "6.2", "not measured"),
        ({"training_records": []}, "7.2", "tara (top-management) lacks a current ai-basics"),
        ({"audits": []}, "9.2.1", "no internal audit completed"),
        ({"reviews": [{"id": 1, "status": "closed", "held_on": RECENT, "inputs": ["audits"], "decisions": 1}]}, "9.3.2",
         "lacks the inputs previous_actions"),
        ({"reviews": [{"id": 1, "status": "draft", "held_on": RECENT, "inputs": [], "decisions": 0}]}, "9.3.1",
         "no management review closed"),
        ({"nonconformities": [{"id": 2, "status": "open", "due_date": RECENT, "effective": None, "closed_on": None}]},
         "10.2", "nonconformity 2 is past its due date"),
    ],
)  # fmt: skip
def test_each_missing_or_late_record_is_a_named_gap(changes: dict[str, Any], clause: str, detail: str) -> None:
    judged = verdicts(change(complete(), **changes))
    assert not judged[clause]["ready"]
    assert any(detail in g["detail"] for g in judged[clause]["gaps"]), judged[clause]["gaps"]
    assert all(g["fix"] for g in judged[clause]["gaps"])


def test_an_overdue_policy_and_a_draft_policy_are_gaps() -> None:
    base = complete()
    overdue = [{**base.documents[0], "next_review": DAY - dt.timedelta(days=1)}, *base.documents[1:]]
    assert "due for review" in verdicts(change(base, documents=overdue))["5.2"]["gaps"][0]["detail"]
    draft = [{**base.documents[0], "status": "draft"}, *base.documents[1:]]
    judged = verdicts(change(base, documents=draft))
    assert not judged["5.2"]["ready"] and not judged["7.5.2"]["ready"]


def test_a_policy_approved_by_someone_else_than_top_management_fails_leadership() -> None:
    base = complete()
    documents = [{**base.documents[0], "approver_role": "management-system-owner"}, *base.documents[1:]]
    judged = verdicts(change(base, documents=documents))
    assert judged["5.2"]["ready"] and not judged["5.1"]["ready"]


def test_risks_are_owned_by_an_organisation_role_a_system_role_or_each_risks_owner() -> None:
    base = complete()
    no_owner = [r for r in base.roles if r["role"] != "risk-owner"]
    gaps = verdicts(change(base, roles=no_owner))["6.1.2"]["gaps"]
    assert [g["detail"] for g in gaps] == ["nobody owns the risks of 'credit'"]
    for_system = [*no_owner, {"id": 9, "role": "risk-owner", "person": "rita", "system_id": 1}]
    assert verdicts(change(base, roles=for_system))["6.1.2"]["ready"]
    owned = [dataclasses.replace(base.systems[0], risks=[{**base.systems[0].risks[0], "owner": "olga"}])]
    assert verdicts(change(base, roles=no_owner, systems=[*owned, base.systems[1]]))["6.1.2"]["ready"]


def test_a_deployed_system_without_a_monitor_fails_monitoring() -> None:
    base = complete()
    systems = [dataclasses.replace(base.systems[0], monitors=0), base.systems[1]]
    assert "has no monitor" in verdicts(change(base, systems=systems))["9.1"]["gaps"][0]["detail"]


def test_expired_training_and_late_reviews_count_on_the_day() -> None:
    base = complete()
    records = [{**r, "expires_on": DAY - dt.timedelta(days=1)} for r in base.training_records]
    assert not verdicts(change(base, training_records=records))["7.3"]["ready"]
    old = [{**base.reviews[0], "held_on": DAY - dt.timedelta(days=400)}]
    assert not verdicts(change(base, reviews=old))["9.3.1"]["ready"]
