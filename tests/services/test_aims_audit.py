"""Internal audit (ISO/IEC 42001 9.2): the programme, the auditor's independence, findings that open nonconformities;
on SQLite and PostgreSQL, audited (the ledger verifies)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from assay.errors import Conflict, InvalidInput, PermissionDenied
from assay.store.audit import EventFilter
from tests.support.aims import Org, assign_role, join_team, make_org


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def org(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    made = make_org(request, tmp_path_factory)
    yield made
    made.ws.close()


def plan(org: Org, system: str, **changes: Any) -> Any:
    given: dict[str, Any] = {
        "auditor": "ivy", "scope": {"systems": [system], "clauses": ["9.2", "10.2"], "units": ["Data science"]},
        "criteria": ["iso42001:A.6.2.4", "nist-ai-rmf:MEASURE 2.11"], "area": "Data science",
        "planned_on": "2027-03-01", "title": "Bias testing",
    }  # fmt: skip
    return org.admin.aims.audits.plan(changes.pop("programme", "2027"), **{**given, **changes})


def test_an_audit_from_plan_to_completion_with_findings(org: Org) -> None:
    triage = org.system()
    programme = org.name("p")
    audit = plan(org, triage, programme=programme)
    assert (audit.status, audit.auditor, audit.criteria) == (
        "planned", "ivy", ["iso42001:A.6.2.4", "nist-ai-rmf:MEASURE 2.11"]
    )  # fmt: skip
    assert audit.scope == {"systems": [triage], "clauses": ["9.2", "10.2"], "units": ["Data science"]}
    with pytest.raises(Conflict, match="start it before recording findings"):
        org.ivy.aims.audits.add_finding(audit.id, "observation", "too early")
    with pytest.raises(PermissionDenied, match="ivy may not start an internal audit"):
        org.ivy.aims.audits.start(audit.id)
    org.admin.aims.audits.start(audit.id)
    risk = org.admin.risks.add(
        triage, {"title": "t", "source": "model", "likelihood": 2, "impact": 2, "treatment": "accept"}
    )
    major = org.ivy.aims.audits.add_finding(
        audit.id, "major", "No bias test before release", description="none since 2026",
        controls=["iso42001:A.6.2.4"], records=[f"system:{triage.upper()}", f"risk:{risk.id}"],
    )  # fmt: skip
    assert major.records == [f"system:{triage}", f"risk:{risk.id}"] and major.nonconformity_id is not None
    nc = org.admin.aims.nonconformities.get(major.nonconformity_id)
    assert (nc.source, nc.source_ref, nc.severity, nc.status) == ("audit", f"finding:{major.id}", "major", "open")
    assert nc.system_id == org.admin.systems.get(triage).id
    observation = org.ivy.aims.audits.add_finding(audit.id, "observation", "Logs are thin")
    opportunity = org.admin.aims.audits.add_finding(audit.id, "opportunity", "Automate the check")
    assert observation.nonconformity_id is None and opportunity.nonconformity_id is None
    with pytest.raises(PermissionDenied, match="otto may not record a finding"):
        org.otto.aims.audits.add_finding(audit.id, "minor", "not the auditor")
    with pytest.raises(InvalidInput, match="conclusion is empty"):
        org.ivy.aims.audits.complete(audit.id, " ")
    done = org.ivy.aims.audits.complete(audit.id, "Testing is not yet in place; one major nonconformity.")
    assert done.status == "completed" and done.completed_at is not None

    before = len(org.ws.audit.log())
    with pytest.raises(Conflict, match="is completed: recording a finding is no longer possible"):
        org.ivy.aims.audits.add_finding(audit.id, "minor", "late")
    with pytest.raises(Conflict, match="is completed: moving it to completed is no longer possible"):
        org.ivy.aims.audits.complete(audit.id, "again")
    with pytest.raises(Conflict, match="is completed: moving it to cancelled"):
        org.admin.aims.audits.cancel(audit.id)
    assert len(org.ws.audit.log()) == before

    other = plan(org, triage, programme=programme, title="Scope review", scope={"clauses": ["4.3"]}, area="")
    org.admin.aims.audits.cancel(other.id, reason="merged into the next one")
    rows = org.ivy.aims.audits.programme(programme)
    assert [(row["id"], row["status"], row["findings_total"]) for row in rows] == [
        (audit.id, "completed", 3), (other.id, "cancelled", 0)
    ]  # fmt: skip
    assert rows[0]["findings"] == {"major": 1, "minor": 0, "observation": 1, "opportunity": 1}
    assert programme in org.admin.aims.audits.programmes()
    assert [f["id"] for f in org.admin.aims.audits.detail(audit.id)["findings"]] == [
        major.id, observation.id, opportunity.id
    ]  # fmt: skip

    log = org.ws.audit.log(EventFilter(after_seq=org.ws.audit.log(EventFilter(action="risk.create"))[-1].seq))
    assert [(e.action, e.actor) for e in log][:3] == [
        ("aims.nonconformity.open", "ivy"), ("aims.finding.create", "ivy"), ("aims.finding.create", "ivy")
    ]  # fmt: skip
    assert dict(log[1].payload)["nonconformity_id"] == nc.id
    assert org.ws.audit.verify().ok


def test_an_auditor_may_not_audit_their_own_area(org: Org) -> None:
    """Each form of self-audit is refused and writes nothing: a role whose area is the audit's (any case and
    spacing), a role for a system in scope, owning it (its owner field, or the access role), being in its team."""
    area = org.name("Data  Science")
    assign_role(org.admin, "risk-owner", "ivy", area=area)
    role_for, owner_field, owner_role, team = (org.system() for _ in range(4))
    assign_role(org.admin, "reviewer", "ivy", system=role_for)
    org.admin.systems.update(owner_field, {"owner": "ivy"})
    org.admin.access.grant("ivy", owner_role, "owner")
    join_team(org.admin, team, "ivy")
    free = org.system()
    cases = [
        (free, {"area": area.lower().replace("  ", " ")}, "holds a governance role for the area 'data science-"),
        (free, {"area": "internal AUDIT"}, "holds a governance role for the area 'internal AUDIT'"),
        (role_for, {}, f"ivy holds the governance role reviewer for '{role_for}'"),
        (owner_field, {}, f"ivy owns '{owner_field}'"),
        (owner_role, {}, f"ivy owns '{owner_role}'"),
        (team, {}, f"ivy is a member of the team of '{team}'"),
    ]
    before = len(org.ws.audit.log())
    for system, changes, message in cases:
        with pytest.raises(Conflict, match=f"{message}.*an auditor may not audit their own area"):
            plan(org, system, **changes)
    assert len(org.ws.audit.log()) == before
    assert plan(org, free).status == "planned"  # an unrelated system and area: independent


def test_independence_is_checked_again_when_the_audit_starts(org: Org) -> None:
    system = org.system()
    audit = plan(org, system)
    join_team(org.admin, system, "ivy")
    with pytest.raises(Conflict, match=f"ivy is a member of the team of '{system}'"):
        org.admin.aims.audits.start(audit.id)
    assert org.admin.aims.audits.get(audit.id).status == "planned"


def test_the_auditor_holds_the_internal_auditor_role_and_is_a_user(org: Org) -> None:
    system = org.system()
    with pytest.raises(InvalidInput, match="auditor: otto does not hold the governance role internal-auditor"):
        plan(org, system, auditor="otto")
    with pytest.raises(InvalidInput, match="auditor: no user named 'nobody'"):
        plan(org, system, auditor="nobody")
    with pytest.raises(PermissionDenied, match="otto may not plan an internal audit"):
        org.otto.aims.audits.plan("2027", "x", auditor="ivy", scope={"clauses": ["9.2"]})


def test_bad_plans_and_findings_name_the_field_and_write_nothing(org: Org) -> None:
    system = org.system()
    plans: list[tuple[dict[str, Any], str]] = [
        ({"criteria": ["A.6.2.4"]}, "criteria: 'A.6.2.4' is not FRAMEWORK:CONTROL"),
        ({"criteria": ["iso42001:Z.9"]}, "criteria: no control 'Z.9' in iso42001"),
        ({"criteria": ["iso9001:1.1"]}, "criteria: unknown framework 'iso9001'"),
        ({"scope": {"systems": ["nope"]}}, "scope.systems: no AI system named 'nope'"),
        ({"scope": {"clauses": ["11.1"]}}, "scope.clauses: no control '11.1'"),
        ({"scope": {"sites": ["Paris"]}}, "scope: unknown key 'sites'"),
        ({"scope": {}}, "scope is empty"),
        ({"programme": "Year 2027"}, "programme must be lower-case"),
        ({"planned_on": "next week"}, "planned_on must be a date YYYY-MM-DD"),
        ({"title": ""}, "title is empty"),
    ]
    findings: list[tuple[dict[str, Any], str]] = [
        ({"kind": "critical"}, "kind must be one of major, minor, observation, opportunity"),
        ({"controls": ["iso42001:A.99"]}, "controls: no control 'A.99'"),
        ({"records": ["ticket:12"]}, "records: unknown record type 'ticket'"),
        ({"records": ["risk:999999"]}, "records: no risk with id 999999"),
        ({"records": ["incident:x"]}, "records: the id in 'incident:x' must be a positive whole number"),
        ({"records": ["assessment:999999"]}, "records: no assessment with id 999999"),
        ({"records": ["model:999999"]}, "records: no model with id 999999"),
        ({"records": ["system:nope"]}, "records: no AI system named 'nope'"),
    ]
    audit = plan(org, system)
    org.admin.aims.audits.start(audit.id)
    before = len(org.ws.audit.log())
    for changes, message in plans:
        with pytest.raises(InvalidInput, match=message):
            plan(org, system, **changes)
    for finding, message in findings:
        given = {"kind": "minor", "title": "A finding", **finding}
        with pytest.raises(InvalidInput, match=message):
            org.ivy.aims.audits.add_finding(audit.id, given.pop("kind"), given.pop("title"), **given)
    assert len(org.ws.audit.log()) == before
    assert org.admin.aims.audits.findings(audit.id) == []
