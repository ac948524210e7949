"""Nonconformity and corrective action (ISO/IEC 42001 10.2): sources, who may open and keep one, the effectiveness
review before closing, incidents' corrective actions as actions of a nonconformity; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assay.errors import Conflict, InvalidInput, PermissionDenied
from assay.store.audit import EventFilter
from tests.support.aims import Org, make_org


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def org(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    made = make_org(request, tmp_path_factory)
    yield made
    made.ws.close()


def test_a_nonconformity_closes_only_after_an_effective_review(org: Org) -> None:
    system = org.system(owner="otto")
    ncs = org.otto.aims.nonconformities  # the system's owner keeps its nonconformities
    nc = ncs.open("complaint", "TICKET-812", "Letters sent without the explanation", system=system, owner="otto")
    assert (nc.status, nc.source_ref, nc.created_by, nc.owner) == ("open", "TICKET-812", "otto", "otto")
    ncs.update(nc.id, correction="Letters re-sent with the explanation")
    with pytest.raises(Conflict, match="has no root cause"):
        ncs.verify(nc.id)
    ncs.update(nc.id, root_cause="The template lost its explanation block in release 3")
    with pytest.raises(Conflict, match="has no corrective action"):
        ncs.verify(nc.id)
    fix = ncs.add_action(nc.id, "Test the template in CI", owner="otto", due_date="2027-01-31")
    check = ncs.add_action(nc.id, "Review the letters monthly", owner="ivy")
    assert (fix.nonconformity_id, fix.incident_id, fix.status) == (nc.id, None, "open")
    with pytest.raises(Conflict, match=f"actions not done: #{fix.id} Test the template"):
        ncs.verify(nc.id)
    ncs.complete_action(fix.id, note="CI job added")
    org.ivy.aims.nonconformities.complete_action(check.id)  # an action's owner completes it
    with pytest.raises(Conflict, match="already done"):
        ncs.complete_action(fix.id)
    with pytest.raises(Conflict, match="cannot close without an effectiveness review"):
        ncs.close(nc.id)
    assert ncs.verify(nc.id).status == "verification"
    with pytest.raises(Conflict, match="actions are added while it is open"):
        ncs.add_action(nc.id, "late")
    with pytest.raises(Conflict, match="cannot close without an effectiveness review"):
        ncs.close(nc.id)
    # the effectiveness review is by someone who owns none of its actions
    with pytest.raises(PermissionDenied, match=r"otto owns a corrective action .* reviewed by someone else"):
        ncs.review_effectiveness(nc.id, "fine", effective=True)
    reviewed = org.admin.aims.nonconformities.review_effectiveness(nc.id, "Two letters still wrong", effective=False)
    assert (reviewed.status, reviewed.effective, reviewed.reviewed_by) == ("open", False, "admin")
    with pytest.raises(Conflict, match="cannot close without an effectiveness review"):
        ncs.close(nc.id)
    with pytest.raises(Conflict, match="found not effective: add a new corrective action"):
        ncs.verify(nc.id)
    again = ncs.add_action(nc.id, "Lock the template", owner="otto")
    ncs.complete_action(again.id)
    ncs.verify(nc.id)
    org.admin.aims.nonconformities.review_effectiveness(nc.id, "No wrong letter in March", effective=True)
    closed = ncs.close(nc.id, note="done")
    assert closed.status == "closed" and closed.closed_at is not None and closed.effective is True
    with pytest.raises(Conflict, match="is closed: only an open one changes"):
        ncs.update(nc.id, correction="more")
    with pytest.raises(Conflict, match="already closed"):
        ncs.close(nc.id)

    detail = ncs.detail(nc.id)
    assert detail["system"] == system and [a["id"] for a in detail["actions"]] == [fix.id, check.id, again.id]
    assert [row["actions"] for row in ncs.summary() if row["id"] == nc.id] == [{"open": 0, "done": 3, "overdue": 0}]
    log = org.ws.audit.log(
        EventFilter(after_seq=org.ws.audit.log(EventFilter(action="aims.nonconformity.open"))[-1].seq - 1)
    )
    actions = [e.action for e in log if e.action.startswith("aims.nonconformity")]
    assert actions == [
        "aims.nonconformity.open", "aims.nonconformity.update", "aims.nonconformity.update",
        "aims.nonconformity.verification", "aims.nonconformity.effectiveness", "aims.nonconformity.verification",
        "aims.nonconformity.effectiveness", "aims.nonconformity.close",
    ]  # fmt: skip
    assert org.ws.audit.verify().ok


def test_who_may_open_and_keep_a_nonconformity(org: Org) -> None:
    mine, other = org.system(owner="otto"), org.system()
    with pytest.raises(PermissionDenied, match="otto may not open a nonconformity"):
        org.otto.aims.nonconformities.open("complaint", "T-1", "not his system", system=other)
    with pytest.raises(PermissionDenied, match="otto may not open a nonconformity"):
        org.otto.aims.nonconformities.open("other", "walkthrough", "no system: a manager's")
    theirs = org.admin.aims.nonconformities.open("other", "walkthrough", "organisation-wide")
    with pytest.raises(PermissionDenied, match="otto may not change a nonconformity"):
        org.otto.aims.nonconformities.update(theirs.id, root_cause="x")
    assert org.otto.aims.nonconformities.open("complaint", "T-2", "his system", system=mine).system_id is not None
    # the nonconformity's owner keeps it too
    owned = org.admin.aims.nonconformities.open("other", "walkthrough", "given to ivy", owner="ivy")
    assert org.ivy.aims.nonconformities.update(owned.id, root_cause="no checklist").root_cause == "no checklist"


def test_sources_that_name_records_must_exist(org: Org) -> None:
    system = org.system()
    incident = org.admin.incidents.open(system, {"title": "Wrong outcome", "severity": "low"})
    ncs, elsewhere = org.admin.aims.nonconformities, org.system()
    from_incident = ncs.open("incident", str(incident.id), "From the incident")
    assert (from_incident.source_ref, from_incident.system_id) == (f"incident:{incident.id}", incident.system_id)
    before = len(org.ws.audit.log())
    for source, ref, message in [
        ("incident", "999999", "source_ref: no incident with id 999999"),
        ("incident", "gate:1", "must be incident:ID"),
        ("gate", "gate:999999", "source_ref: no gate with id 999999"),
        ("alert", "999999", "source_ref: no alert with id 999999"),
        ("audit", "finding:999999", "source_ref: no finding with id 999999"),
        ("complaint", "risk:999999", "source_ref: no risk with id 999999"),
        ("complaint", "", "source_ref is empty"),
        ("rumour", "x", "source must be one of audit, incident, gate, alert, complaint, review, other"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            ncs.open(source, ref, "A nonconformity")
    with pytest.raises(InvalidInput, match="belongs to another AI system"):
        ncs.open("incident", f"incident:{incident.id}", "wrong system", system=elsewhere)
    with pytest.raises(InvalidInput, match="owner: no user named 'nobody'"):
        ncs.open("other", "x", "t", owner="nobody")
    with pytest.raises(InvalidInput, match="due_date must be a date"):
        ncs.open("other", "x", "t", due_date="soon")
    assert len(org.ws.audit.log()) == before


def test_an_incident_corrective_action_goes_through_a_nonconformity(org: Org) -> None:
    system = org.system()
    incident = org.admin.incidents.open(system, {"title": "Flagged person released", "severity": "high"})
    first = org.admin.incidents.add_action(system, incident.id, {"description": "Retrain", "owner": "otto"})
    second = org.admin.incidents.add_action(system, incident.id, {"description": "Add a check"})
    assert first.nonconformity_id is not None and first.nonconformity_id == second.nonconformity_id
    assert (first.incident_id, second.incident_id) == (incident.id, incident.id)
    nc = org.admin.aims.nonconformities.get(first.nonconformity_id)
    assert (nc.source, nc.source_ref, nc.severity, nc.system_id) == (
        "incident", f"incident:{incident.id}", "major", incident.system_id
    )  # fmt: skip
    assert [n.id for n in org.admin.aims.nonconformities.list(source="incident", system=system)] == [nc.id]
    # one action system: the incident's actions are the nonconformity's, completed from either side
    org.admin.incidents.complete_action(system, first.id)
    org.admin.aims.nonconformities.complete_action(second.id)
    assert [a.status for a in org.admin.incidents.list_actions(system, incident.id)] == ["done", "done"]
    org.admin.aims.nonconformities.update(nc.id, root_cause="A leaky feature")
    org.admin.aims.nonconformities.verify(nc.id)
    # a new action on the incident puts its nonconformity back to open
    third = org.admin.incidents.add_action(system, incident.id, {"description": "Monitor the feature"})
    assert third.nonconformity_id == nc.id and org.admin.aims.nonconformities.get(nc.id).status == "open"
    org.admin.incidents.complete_action(system, third.id)
    org.admin.aims.nonconformities.verify(nc.id)

    org.admin.aims.nonconformities.review_effectiveness(nc.id, "No repeat in a month", effective=True)
    org.admin.aims.nonconformities.close(nc.id)
    # once closed, the incident's next action opens a new nonconformity
    fourth = org.admin.incidents.add_action(system, incident.id, {"description": "Audit the fix"})
    assert fourth.nonconformity_id not in (None, nc.id)
    assert org.ws.audit.verify().ok
