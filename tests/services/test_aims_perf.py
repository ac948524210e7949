"""Objectives and their measures, competence (catalogue, records, CSV import, gaps) and reminders (list and e-mail)
of the management system, on SQLite and PostgreSQL: each measure judged on records made through the services,
every change audited (the ledger verifies)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.governance.aims_perf import add_months, change, met
from assay.services.workspace import Workspace
from tests.support.aims import add_document, assign_role, open_nonconformity
from tests.support.people import People
from tests.support.receivers import smtp_server

TODAY = dt.date.today()
DOC = {"schema": "assay.assessment", "schema_version": 1, "spec": {}, "data": {}}


def _high(ws: Workspace, name: str) -> None:
    ws.systems.create({"name": name, "eu_ai_act_category": "high", "annex_iii_area": 4})


def _events(ws: Workspace, prefix: str) -> list[str]:
    return [e.action for e in ws.audit.log() if e.action.startswith(prefix)]


def test_rules() -> None:
    assert add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2027, 11, 15), 14) == dt.date(2029, 1, 15)
    assert met(0.9, 1.0, "at_least") is False and met(0, 0, "at_most") is True and met(None, 1, "at_least") is None
    assert change([0.2, None, 0.5], "at_least") == {"delta": pytest.approx(0.3), "moved": "up", "improving": True}
    assert change([3.0, 1.0], "at_most")["improving"] is True and change([1.0], "at_most")["moved"] is None


def test_assessed_share_and_the_other_measures(workspace: Workspace, people: People) -> None:
    admin = people.admin
    objectives = admin.aims.objectives
    _high(admin, "hr")
    _high(admin, "credit")
    admin.systems.create({"name": "chat", "eu_ai_act_category": "minimal"})
    objectives.add({"key": "bias-fresh", "title": "every high-risk system has a recent bias assessment",
                    "owner": "admin", "target": 1.0, "unit": "share", "due_date": TODAY + dt.timedelta(days=10),
                    "measure": {"name": "assessed-share", "days": 90}})  # fmt: skip
    first = objectives.measure("bias-fresh")
    assert first.value == 0.0 and first.met is False
    assert [s["system"] for s in first.details["lacking"]] == ["credit", "hr"]
    admin.assessments.record("hr", DOC)  # a bias assessment raises the share
    admin.assessments.record("credit", {**DOC, "schema": "assay.data-check"})  # another kind does not count
    admin.assessments.record("chat", DOC)  # nor one of a system outside the category
    second = objectives.measure("bias-fresh")
    assert second.value == 0.5 and [s["system"] for s in second.details["lacking"]] == ["credit"]
    assert second.details["measure"] == {"name": "assessed-share", "category": "high", "kind": "assay.assessment",
                                         "days": 90}  # fmt: skip
    later = objectives.compute("assessed-share", today=TODAY + dt.timedelta(days=91))  # the assessment has aged
    assert later.value == 0.0 and later.details["lacking"][1]["age_days"] == 91
    trend = objectives.trend("bias-fresh")
    assert [p["value"] for p in trend["series"]] == [0.0, 0.5] and trend["moved"] == "up" and trend["improving"]
    (row,) = objectives.status()
    assert row["value"] == 0.5 and row["met"] is False and row["days_left"] == 10 and not row["overdue"]
    assert objectives.status(today=TODAY + dt.timedelta(days=11))[0]["overdue"] is True

    # overdue corrective actions and open incidents, from the incidents' records
    incident = admin.incidents.open("hr", {"title": "complaint", "severity": "high"})
    admin.incidents.open("credit", {"title": "typo", "severity": "low"})
    action = admin.incidents.add_action("hr", incident.id, {"description": "re-check", "owner": "admin",
                                                            "due_date": TODAY - dt.timedelta(days=2)})  # fmt: skip
    overdue = objectives.compute("overdue-actions")
    assert overdue.value == 1 and overdue.details["actions"][0]["of"] == f"incident:{incident.id}"
    assert overdue.details["actions"][0]["days_overdue"] == 2
    admin.incidents.complete_action("hr", action.id)
    assert objectives.compute("overdue-actions").value == 0
    assert objectives.compute("open-incidents").value == 2
    serious = objectives.compute({"name": "open-incidents", "min_severity": "high"})
    assert serious.value == 1 and serious.details["by_severity"] == {"high": 1, "critical": 0}

    # evidence of implemented controls (the readiness code): none, then current
    admin.controls.set_status("chat", "iso42001", "A.2.2", implementation="implemented", owner="admin")
    bare = objectives.compute("evidence-current")
    assert bare.value == 0.0 and {"system": "chat", "implemented": 1, "with_current_evidence": 0,
                                  "lacking": ["A.2.2"]} in bare.details["systems"]  # fmt: skip
    admin.controls.add_evidence("chat", "iso42001", "A.2.2", kind="url", url="https://example.org/test")
    assert objectives.compute("evidence-current").value == 1.0

    # the review queue: an item held for review is overdue once its deadline has passed
    admin.models.register_version("hr", {"model": "lr", "version": "1"})
    admin.review.configure("hr", text="sla: 1h\nrules: [{name: audit, sample: 1.0}]\n")
    admin.review.route("hr", "lr@1", "r-1", {"g": "a"}, {"prediction": 1, "score": 0.7})
    assert objectives.compute("review-queue-overdue").value == 0
    tomorrow = objectives.compute("review-queue-overdue", today=TODAY + dt.timedelta(days=1))
    assert tomorrow.value == 1 and tomorrow.details == {"by_system": {"hr": 1}}

    # measure_all records one measurement per active objective with a measure
    objectives.add({"key": "incidents", "title": "no serious incident open", "owner": "admin", "target": 0,
                    "direction": "at_most", "measure": {"name": "open-incidents", "min_severity": "high"}})  # fmt: skip
    objectives.add({"key": "satisfaction", "title": "staff survey", "owner": "admin", "target": 4})
    measured = objectives.measure_all()
    assert [(m.value, m.met) for m in measured] == [(0.5, False), (1.0, False)]
    assert _events(admin, "aims.objective") == ["aims.objective.add"] * 3
    assert len(_events(admin, "aims.measurement.record")) == 4
    assert admin.audit.verify().ok


def test_objective_rules_and_errors(workspace: Workspace, people: People) -> None:
    admin = people.admin
    bob = people("bob")
    objectives = admin.aims.objectives
    with pytest.raises(InvalidInput, match=r"unknown measure 'nope': the known measures are assessed-share, "):
        objectives.add({"key": "x", "title": "t", "owner": "admin", "measure": {"name": "nope"}})
    with pytest.raises(InvalidInput, match=r"parameters of measure assessed-share: days: .*greater than or equal"):
        objectives.add({"key": "x", "title": "t", "owner": "admin", "measure": {"name": "assessed-share", "days": 0}})
    with pytest.raises(InvalidInput, match=r"measure open-incidents: colour: is not a known field"):
        objectives.compute({"name": "open-incidents", "colour": "red"})
    with pytest.raises(InvalidInput, match=r"owner: no user named 'zed'"):
        objectives.add({"key": "x", "title": "t", "owner": "zed"})
    with pytest.raises(InvalidInput, match=r"key: must be lower-case"):
        objectives.add({"key": "Bad Key", "title": "t", "owner": "admin"})
    with pytest.raises(PermissionDenied, match=r"bob may not add an objective: it needs an admin or a person"):
        bob.aims.objectives.add({"key": "x", "title": "t", "owner": "bob"})
    objectives.add({"key": "survey", "title": "staff survey score", "owner": "bob", "target": 4.0})
    with pytest.raises(Conflict, match="objective 'survey' exists"):
        objectives.add({"key": "survey", "title": "t", "owner": "bob"})
    with pytest.raises(InvalidInput, match=r"objective 'survey' has no measure: record its value"):
        objectives.measure("survey")
    bob.aims.objectives.record("survey", 3.5, note="2026 survey")  # its owner records its value by hand
    people("carol")
    with pytest.raises(PermissionDenied, match="carol may not measure objective survey"):
        people("carol").aims.objectives.record("survey", 5)
    with pytest.raises(InvalidInput, match="value must be a finite number"):
        objectives.record("survey", float("nan"))
    row = objectives.record("survey", 4.2)
    assert row.met is True and row.source == "manual" and row.measured_by == "admin"
    assert objectives.trend("survey")["moved"] == "up"
    updated = objectives.update("survey", {"target": 4.5, "measure": {"name": "training-coverage"}})
    assert updated.target == 4.5 and updated.measure == {"name": "training-coverage"}
    with pytest.raises(InvalidInput, match="give at least one field"):
        objectives.update("survey", {})
    objectives.retire("survey", reason="replaced")
    assert objectives.status() == [] and objectives.measure_all() == []
    with pytest.raises(Conflict, match="retired"):
        objectives.record("survey", 1)
    with pytest.raises(NotFound, match=r"no objective 'gone' \(the objectives are survey"):
        objectives.trend("gone")
    assert _events(admin, "aims.objective") == ["aims.objective.add", "aims.objective.update", "aims.objective.retire"]
    assert admin.audit.verify().ok


def test_training_catalogue_records_import_and_gaps(workspace: Workspace, people: People, tmp_path: Path) -> None:
    admin = people.admin
    competence = admin.aims.competence
    admin.systems.create({"name": "release", "eu_ai_act_category": "limited"})
    people("bob", release="approver")  # a system role
    people("carol")
    people("dave")
    assign_role(admin, "internal-auditor", "carol")  # a governance role
    with pytest.raises(InvalidInput, match=r"required_for: unknown role 'pilot' \(governance roles: top-management"):
        competence.add_training({"code": "ai-basics", "title": "AI basics", "required_for": ["pilot"]})
    competence.add_training({"code": "ai-basics", "title": "AI basics", "validity_months": 12,
                             "required_for": ["approver", "internal-auditor"]})  # fmt: skip
    competence.add_training(
        {"code": "audit-42001", "title": "Auditing ISO/IEC 42001", "required_for": ["internal-auditor"]}
    )
    competence.add_training({"code": "old", "title": "Old", "required_for": ["approver"]})
    competence.retire_training("old", reason="replaced by ai-basics")
    assert [t.code for t in competence.trainings()] == ["ai-basics", "audit-42001"]

    gaps = competence.gaps()
    assert [(g["person"], g["training"], g["state"]) for g in gaps] == [
        ("bob", "ai-basics", "missing"), ("carol", "ai-basics", "missing"), ("carol", "audit-42001", "missing"),
    ]  # fmt: skip
    assert gaps[0]["roles"] == ["approver"] and all(g["person"] != "dave" for g in gaps)
    assert admin.aims.objectives.compute("training-coverage").value == 0.0

    # a record's expiry comes from the training's validity; an old one has expired, a recent one expires soon
    done = competence.record({"person": "bob", "training": "ai-basics", "completed_on": TODAY - dt.timedelta(days=400)})
    assert done.expires_on == add_months(TODAY - dt.timedelta(days=400), 12)
    assert competence.gaps(person="bob")[0]["state"] == "expired"
    competence.record({"person": "bob", "training": "ai-basics", "completed_on": add_months(TODAY, -12)
                       + dt.timedelta(days=20), "score": 88})  # fmt: skip
    (soon,) = competence.gaps(person="bob")
    assert soon["state"] == "expiring" and soon["days_left"] == 20
    assert competence.gaps(person="bob", within_days=10) == []
    with pytest.raises(Conflict, match="bob already has ai-basics recorded on"):
        competence.record({"person": "bob", "training": "ai-basics", "completed_on": done.completed_on})
    with pytest.raises(InvalidInput, match="person: no user named 'zed'"):
        competence.record({"person": "zed", "training": "ai-basics", "completed_on": TODAY})
    with pytest.raises(InvalidInput, match=r"expires_on .* is before completed_on"):
        competence.record({"person": "bob", "training": "ai-basics", "completed_on": TODAY,
                           "expires_on": TODAY - dt.timedelta(days=1)})  # fmt: skip
    with pytest.raises(Conflict, match="training 'old' is retired"):
        competence.record({"person": "bob", "training": "old", "completed_on": TODAY})
    with pytest.raises(PermissionDenied, match="dave may not record a training"):
        people("dave").aims.competence.record({"person": "dave", "training": "ai-basics", "completed_on": TODAY})

    # CSV: one bad row refuses the whole file, naming its row and column; a training coordinator may import
    assign_role(admin, "training-coordinator", "dave")
    coordinator = people("dave").aims.competence
    csv = tmp_path / "records.csv"
    rows = ["person,training,completed_on,score,evidence", f"carol,ai-basics,{TODAY},91,https://lms.example.org/1",
            f"carol,audit-42001,{TODAY},,cert 7", "carol,ai-basics,2026-02-30,,"]  # fmt: skip
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"nothing was imported: row 4, column completed_on: '2026-02-30' is not"):
        coordinator.import_csv(csv)
    assert coordinator.records(person="carol") == []
    csv.write_text("\n".join([*rows[:3], "zed,nope,2026-01-01,-1,"]) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as error:
        coordinator.import_csv(csv)
    assert "row 4, column person: no user named 'zed'; row 4, column training: no training 'nope'" in str(error.value)
    assert "row 4, column score: '-1' must be a number from 0" in str(error.value)
    csv.write_text("person,course,completed_on\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"unknown column 'course' \(columns: person, training, completed_on"):
        coordinator.import_csv(csv)
    csv.write_text("\n".join(rows[:3]) + "\n", encoding="utf-8")
    assert coordinator.import_csv(csv) == {"file": str(csv), "rows": 2, "recorded": 2, "skipped": 0}
    assert coordinator.import_csv(csv)["skipped"] == 2  # already recorded: not twice
    carol = competence.records(person="carol")
    assert {(r["training"], r["score"], r["source"]) for r in carol} == {("ai-basics", 91.0, "csv"),
                                                                        ("audit-42001", None, "csv")}  # fmt: skip
    assert [g["person"] for g in competence.gaps()] == ["bob"]  # bob's expires soon; carol is covered
    coverage = admin.aims.objectives.compute("training-coverage")
    assert coverage.value == 1.0 and coverage.details["people"] == 2
    assert _events(admin, "aims.training.record").count("aims.training.record") == 4
    assert admin.audit.verify().ok


def _reminder_world(admin: Workspace, people: People) -> dict[str, Any]:
    admin.systems.create({"name": "release", "eu_ai_act_category": "limited"})
    people("bob", release="owner")
    people("carol", release="approver")
    admin.models.register_version("release", {"model": "lr", "version": "1"})
    admin.aims.competence.add_training({"code": "ai-basics", "title": "AI basics", "required_for": ["owner"]})
    admin.aims.objectives.add({"key": "survey", "title": "staff survey", "owner": "bob", "target": 4,
                               "due_date": TODAY + dt.timedelta(days=5)})  # fmt: skip
    evidence = admin.controls.add_evidence("release", "iso42001", "A.6.2.4", kind="url", url="https://example.org/e",
                                           valid_until=TODAY + dt.timedelta(days=12))  # fmt: skip
    incident = admin.incidents.open("release", {"title": "complaint", "severity": "low"})
    action = admin.incidents.add_action("release", incident.id, {"description": "call back", "owner": "bob",
                                                                 "due_date": TODAY - dt.timedelta(days=3)})  # fmt: skip
    document = add_document(admin, "ai-policy", "bob", TODAY + dt.timedelta(days=20))
    add_document(admin, "far", "bob", TODAY + dt.timedelta(days=200))  # outside the window
    nc = open_nonconformity(admin, "no review record", "bob", TODAY + dt.timedelta(days=1))
    request = people("bob").approvals.request("release", "lr@1", "staging")
    return {"evidence": evidence.id, "action": action.id, "document": document.id, "nc": nc.id, "request": request.id}


def test_reminders(workspace: Workspace, people: People) -> None:
    admin = people.admin
    ids = _reminder_world(admin, people)
    (mine,) = people("bob").aims.reminders()
    assert mine["person"] == "bob" and mine["within_days"] == 30
    assert [(i["kind"], i["ref"], i["days_left"], i["overdue"]) for i in mine["items"]] == [
        ("training", "training:ai-basics", None, False),  # never done: due now
        ("corrective-action", f"corrective-action:{ids['action']}", -3, True),
        ("nonconformity", f"nonconformity:{ids['nc']}", 1, False),
        ("objective", "objective:survey", 5, False),
        ("evidence", f"evidence:{ids['evidence']}", 12, False),
        ("document-review", f"document:{ids['document']}", 20, False),
    ]
    assert "call back (of incident:" in mine["items"][1]["what"]
    assert [i["kind"] for i in people("bob").aims.reminders(within_days=2)[0]["items"]] == [
        "training",
        "corrective-action",
        "nonconformity",
    ]
    (carol,) = people("carol").aims.reminders()
    assert [(i["kind"], i["ref"], i["due"]) for i in carol["items"]] == [
        ("approval", f"approval:{ids['request']}", None)
    ]
    with pytest.raises(PermissionDenied, match="carol may not see bob's reminders"):
        people("carol").aims.reminders("bob")
    assert admin.aims.reminders("bob")[0]["items"] == mine["items"]
    everyone = admin.aims.reminders("*")
    assert [e["person"] for e in everyone] == ["bob", "carol"]
    admin.aims.objectives.record("survey", 4.5)  # met: no longer a reminder
    admin.incidents.complete_action("release", ids["action"])
    kinds = [i["kind"] for i in people("bob").aims.reminders()[0]["items"]]
    assert "objective" not in kinds and "corrective-action" not in kinds
    with pytest.raises(InvalidInput, match="within_days must be from 0 to 3650"):
        admin.aims.reminders(within_days=-1)


def test_reminders_by_email(workspace: Workspace, people: People) -> None:
    admin = people.admin
    _reminder_world(admin, people)
    with pytest.raises(InvalidInput, match="ASSAY_SMTP_HOST is not set"):
        admin.aims.reminders.send(domain="example.org")
    with smtp_server() as box:
        admin.settings = admin.settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": box.port, "smtp_starttls": False, "smtp_from": "a@x.org"}
        )
        with pytest.raises(InvalidInput, match="address of bob: 'bob' is not an e-mail address"):
            admin.aims.reminders.send(addresses={"bob": "bob"})
        results = admin.aims.reminders.send(addresses={"bob": "bob@corp.example.org"})
        assert [r.to_dict() for r in results] == [
            {"person": "bob", "address": "bob@corp.example.org", "items": 6, "sent": True, "error": None},
            {"person": "carol", "address": None, "items": 1, "sent": False,
             "error": "no e-mail address: give --address or --domain"},
        ]  # fmt: skip
        ((sender, recipients, mail),) = box.mail
        assert sender == "a@x.org" and recipients == ["bob@corp.example.org"]
        assert mail["Subject"] == "[Assay] 6 things to do, 1 overdue"
        body = mail.get_payload(decode=True)
        assert isinstance(body, bytes)
        assert b"- [3 days overdue (was due " in body and b"corrective-action: call back" in body
        assert b"- [now] training: complete training ai-basics" in body
        sent = admin.aims.reminders.send(domain="example.org", person="carol")
        assert [(r.address, r.sent) for r in sent] == [("carol@example.org", True)]
        assert box.mail[-1][1] == ["carol@example.org"]
