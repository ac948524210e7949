"""Management review (ISO/IEC 42001 9.3): inputs assembled from the store as it was when the review was opened,
"since the last review", bounded lists; decisions, actions, minutes; a closed review is frozen. SQLite and PostgreSQL.
One workspace per database for the module: the first test's review is the second's "last review"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assay.errors import Conflict, InvalidInput, PermissionDenied
from assay.governance.aims import REVIEW_INPUTS
from assay.governance.aims_audit import LIST_CAP
from tests.support.aims import Org, add_issue, add_objective, add_party, make_org


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def org(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    made = make_org(request, tmp_path_factory)
    yield made
    made.ws.close()


def test_review_inputs_reflect_the_records_made_before_it(org: Org) -> None:
    admin = org.admin
    system = org.system()
    issue = add_issue(admin, "New AI regulation in force")
    party = add_party(admin, "Data protection authority")
    met = add_objective(admin, "bias-fresh", target=0.9, measured=0.95)
    unmeasured = add_objective(admin, "trained", target=1.0)
    risk = admin.risks.add(system, {"title": "Disparity", "source": "model", "likelihood": 4, "impact": 4,
                                    "treatment": "mitigate"})  # fmt: skip
    incident = admin.incidents.open(system, {"title": "Complaint", "severity": "high"})
    action = admin.incidents.add_action(system, incident.id, {"description": "Fix", "due_date": "2020-01-01"})
    audit = admin.aims.audits.plan("2027", "Context", auditor="ivy", scope={"clauses": ["4.1"]})
    admin.aims.audits.start(audit.id)
    idea = org.ivy.aims.audits.add_finding(audit.id, "opportunity", "Share the risk register")
    org.ivy.aims.audits.add_finding(audit.id, "minor", "Issues not reviewed")
    org.ivy.aims.audits.complete(audit.id, "Context is kept; one minor nonconformity.")

    with pytest.raises(PermissionDenied, match="otto may not open a management review"):
        org.otto.aims.reviews.open("Q1", "2027-03-31", ["admin"])
    review = admin.aims.reviews.open("Management review Q1 2027", "2027-03-31", ["admin", "ivy", "admin"])
    assert (review.status, review.attendees) == ("draft", ["admin", "ivy"])
    inputs = review.inputs
    assert [key for key in inputs if key in REVIEW_INPUTS] == list(REVIEW_INPUTS)
    assert inputs["since"] is None and inputs["cap"] == LIST_CAP
    assert f"issue:{issue}" in inputs["context_changes"]["issues_added"]["refs"]
    assert f"party:{party}" in inputs["context_changes"]["parties_added"]["refs"]
    objectives = {item["ref"]: item for item in inputs["objectives"]["items"]}
    assert (objectives[f"objective:{met}"]["value"], objectives[f"objective:{met}"]["met"]) == (0.95, True)
    assert objectives[f"objective:{unmeasured}"]["measured_at"] is None
    assert (inputs["objectives"]["met"], inputs["objectives"]["unmeasured"]) >= (1, 1)
    assert f"action:{action.id}" in inputs["nonconformities"]["actions"]["overdue_refs"]["refs"]
    assert inputs["nonconformities"]["by_status"]["open"] >= 2  # the incident's and the audit finding's
    assert f"audit:{audit.id}" in inputs["audits"]["completed"]["refs"]
    assert inputs["audits"]["findings_by_kind"]["opportunity"] >= 1
    assert f"finding:{idea.id}" in inputs["opportunities"]["findings"]["refs"]
    assert inputs["incidents"]["opened_by_severity"]["high"] >= 1
    assert f"incident:{incident.id}" in inputs["incidents"]["open"]["refs"]
    assert inputs["risks"]["top"][0] == {"ref": f"risk:{risk.id}", "title": "Disparity", "level": "high", "score": 16}

    # what happens after the review was opened is not in its inputs until they are refreshed (draft only)
    later = add_issue(admin, "A supplier changed its model")
    assert f"issue:{later}" not in admin.aims.reviews.get(review.id).inputs["context_changes"]["issues_added"]["refs"]
    refreshed = admin.aims.reviews.refresh_inputs(review.id)
    assert f"issue:{later}" in refreshed.inputs["context_changes"]["issues_added"]["refs"]

    admin.aims.reviews.add_decision(review.id, "Fund a fairness engineer")
    follow_up = admin.aims.reviews.add_action(review.id, "Hire", owner="otto", due_date="2027-06-30")
    with pytest.raises(InvalidInput, match="owner: no user named 'nobody'"):
        admin.aims.reviews.add_action(review.id, "Hire", owner="nobody")
    with pytest.raises(Conflict, match="has no minutes"):
        admin.aims.reviews.close(review.id)
    admin.aims.reviews.set_minutes(review.id, "Reviewed all inputs; decisions above.")
    closed = admin.aims.reviews.close(review.id)
    assert closed.status == "closed" and closed.closed_at is not None
    detail = admin.aims.reviews.detail(review.id)
    assert detail["decisions"] == ["Fund a fairness engineer"] and [a["id"] for a in detail["actions"]] == [
        follow_up.id
    ]

    # a closed review is frozen
    before = len(org.ws.audit.log())
    for change in (
        lambda: admin.aims.reviews.add_decision(review.id, "more"),
        lambda: admin.aims.reviews.add_action(review.id, "more", owner="otto"),
        lambda: admin.aims.reviews.set_minutes(review.id, "rewritten"),
        lambda: admin.aims.reviews.set_attendees(review.id, ["admin"]),
        lambda: admin.aims.reviews.refresh_inputs(review.id),
        lambda: admin.aims.reviews.close(review.id),
    ):
        with pytest.raises(Conflict, match=r"is closed: .* is no longer possible \(a closed review is frozen\)"):
            change()
    assert len(org.ws.audit.log()) == before
    assert admin.aims.reviews.get(review.id).state() == closed.state()
    # its action is followed up: its owner completes it
    assert org.otto.aims.reviews.complete_action(follow_up.id).status == "done"
    assert org.ws.audit.verify().ok


def test_the_next_review_reports_changes_since_the_last_one(org: Org) -> None:
    admin = org.admin
    last = admin.aims.reviews.list(status="closed")
    assert last, "runs after the first review test (same module workspace)"
    pending = admin.aims.reviews.open("Q1 bis", "2027-04-01", ["admin"])  # closed below: the last review
    admin.aims.reviews.set_minutes(pending.id, "short")
    admin.aims.reviews.close(pending.id)
    fresh = add_issue(admin, "A new standard")
    system = org.system()
    for n in range(LIST_CAP + 1):
        admin.incidents.open(system, {"title": f"incident {n}", "severity": "low"})
    review = admin.aims.reviews.open("Q2", "2027-06-30", ["admin"])
    inputs = review.inputs
    assert inputs["since"] == admin.aims.reviews.get(pending.id).inputs["assembled_at"]
    assert inputs["context_changes"]["issues_added"] == {"refs": [f"issue:{fresh}"], "total": 1}
    assert inputs["incidents"]["opened_since"] == LIST_CAP + 1
    assert len(inputs["incidents"]["open"]["refs"]) == LIST_CAP < inputs["incidents"]["open"]["total"]
    assert inputs["audits"]["completed"]["total"] == 0  # the audit was completed before the last review
    previous = inputs["previous_actions"]
    assert previous["done"] >= 1 and previous["open"] == 0
    with pytest.raises(InvalidInput, match="held_on must be a date"):
        admin.aims.reviews.open("Q3", "soon", ["admin"])
    with pytest.raises(InvalidInput, match="attendees is empty"):
        admin.aims.reviews.open("Q3", "2027-09-30", [])
