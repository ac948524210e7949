"""``assay audit verify`` checks every governed record's current state against the last ledger event that touched
it, on SQLite and PostgreSQL: a workspace filled through the services verifies clean (no false alarm); a record
changed, deleted or inserted with SQL, as someone with database access would, is named by table and id."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String, Text, func, insert, inspect, select, text
from sqlalchemy.orm import Session

from assay.cli import main
from assay.config import load_settings
from assay.errors import IntegrityViolation
from assay.governance.records import IMPACT_HEADINGS
from assay.services import jobs, monitors
from assay.services.audit import verify_export
from assay.services.compute import Inputs
from assay.services.worker import run_until_idle
from assay.services.workspace import Workspace
from assay.store import audit as audit_store
from assay.store.audit import GOVERNED, digest
from assay.store.ledger import RecordProblem, next_event, sign_checkpoint
from assay.store.models import AuditCheckpoint, Base
from tests.support.aims import assign_role
from tests.support.ledger import drop_triggers, insert_event, rewrite_from

MIGRATED_FROM = "0006"  # a schema before this Assay's tables for dataset ownership and trusted approvals

DOC = {
    "schema": "assay.assessment",
    "schema_version": 1,
    "spec": {"predicted": "pred"},
    "data": {"fingerprint": "a" * 64},
}
POLICY = (
    "schema: assay.policy/1\nname: test\nstage: staging\nrules:\n  - {id: has-evidence, evidence: 'iso42001:A.6.2.4'}\n"
)


def fill(ws: Workspace, tmp_path: Path) -> None:
    """A demo-like workspace: every kind of governed record, made through the services by several people."""
    data = tmp_path / "data.csv"
    data.write_text("g,y,pred\na,1,1\nb,0,1\na,1,0\nb,1,1\n", encoding="utf-8")
    ws.as_actor("alice").access.add_user("alice", "correct horse battery", role="admin")  # the first admin
    admin = ws.login("alice", "correct horse battery")
    admin.access.add_user("bob", "correct horse battery 2")
    admin.access.add_user("carol", "correct horse battery 3", role="auditor")
    admin.systems.create({"name": "release", "eu_ai_act_category": "limited", "purpose": "ünïcode ✓"})
    admin.systems.update("release", {"owner": "alice", "intended_uses": ["triage", "review"]})
    admin.access.grant("bob", "release", "approver")
    admin.access.grant("carol", "release", "viewer")
    admin.access.revoke("carol", "release")  # a membership deleted through Assay
    admin.access.set_role("carol", "member")
    _, token = admin.access.create_token("bob", "ci", scope="write")
    admin.access.create_token("bob", "old")
    admin.access.revoke_token(token.id)
    secret, _ = admin.access.start_session(admin.access.login("bob", "correct horse battery 2"))
    admin.access.start_session(admin.access.login("alice", "correct horse battery"))
    admin.access.end_session(secret)
    admin.datasets.register_version(
        {"dataset": "arrests", "version": "1", "period_start": "2002-01-01", "period_end": "2012-12-31"},
        system="release",
        file=data,
        copy=True,
    )
    admin.systems.create({"name": "triage", "eu_ai_act_category": "minimal"})
    admin.datasets.share("arrests", "triage")
    admin.gates.set_policy("release", text=POLICY)
    admin.datasets.update_version("arrests@1", {"licence": "public records"})
    admin.models.register_version("release", {"model": "lr", "version": "1", "training_dataset": "arrests@1"})
    admin.models.update_version("release", "lr@1", {"framework": "scikit-learn"})
    assessment = admin.assessments.record("release", DOC, model_version="lr@1", dataset_version="arrests@1")
    risk = admin.risks.add(
        "release",
        {"title": "disparity", "source": "model", "likelihood": 4, "impact": 4, "treatment": "mitigate",
         "review_date": "2027-03-31", "affected": ["group b"]},
    )  # fmt: skip
    admin.risks.update("release", risk.id, {"likelihood": 3})
    other = admin.risks.add(
        "release",
        {"title": "over-reliance", "source": "oversight", "likelihood": 2, "impact": 2, "treatment": "accept"},
    )
    admin.risks.close("release", other.id, reason="accepted")
    sections = {heading: f"text for {heading}" for heading in IMPACT_HEADINGS}
    impact = admin.impact_assessments.create("release", {"title": "IA", "sections": sections})
    admin.impact_assessments.finalise("release", impact.id)
    admin.controls.set_status("release", "iso42001", "A.6.2.4", implementation="implemented", owner="bob")
    admin.controls.add_evidence("release", "iso42001", "A.6.2.4", kind="url", url="https://example.org/x")
    filed = admin.controls.add_evidence("release", "iso42001", "A.7.4", kind="file", file=data)
    admin.controls.add_evidence("release", "iso42001", "A.7.4", kind="assessment", assessment_id=assessment.id)
    admin.controls.revoke_evidence("release", filed.id, reason="attached by mistake")
    admin.gates.waive("release", "has-evidence", reason="tracked", expires=dt.date.today() + dt.timedelta(days=30))
    admin.gates.evaluate("release", "lr@1", policy_text=POLICY)
    request = admin.approvals.request("release", "lr@1", "staging", comment="shadow run")
    ws.login("bob", "correct horse battery 2").approvals.decide(request.id, "approve", comment="ok")
    incident = admin.incidents.open(
        "release",
        {"title": "complaint", "severity": "low", "occurred_at": "2026-11-20T10:00:00+02:00",
         "model_version": "lr@1"},
    )  # fmt: skip
    admin.incidents.update("release", incident.id, {"description": "a complaint by letter"})
    admin.incidents.set_status("release", incident.id, "investigating", note="looking")
    action = admin.incidents.add_action("release", incident.id, {"description": "re-check", "due_date": "2027-01-01"})
    admin.incidents.complete_action("release", action.id, note="done")
    jobs.register_handler("ledger.note", lambda ctx, params: (ctx.progress(0.5, "noting"), {"noted": True})[1])
    try:  # a job run by a worker (its start and end audited) and a schedule, paused
        admin.jobs.submit("ledger.note", {"text": "ünïcode"}, system="release")
        run_until_idle(admin)
        schedule = admin.schedules.add("release", "ledger.note", {}, cron="0 3 * * *", timezone="Europe/Paris")
        admin.schedules.pause("release", schedule.id)
    finally:
        jobs.unregister_handler("ledger.note")
    # monitoring: a capture configuration, a monitor whose window fails its check (an alert, an incident and a
    # retraining request open), then a window that passes (the alert resolves)
    admin.capture.configure("release", "lr@1", add_fields=[{"name": "pred", "type": "integer"}])
    baseline = admin.checks.import_baseline("release", _baseline(data, tmp_path))
    admin.monitors.create(
        "release",
        {"name": "daily", "model_version": "lr@1", "source": {"type": "given"},
         "checks": [{"kind": "validate", "baseline_id": baseline.id}],
         "alerting": {"incident": {"severity": "low"}, "retraining": True}},
    )  # fmt: skip
    bad = tmp_path / "bad.csv"
    bad.write_text("g,y,pred\na,1,1\nb,0,\na,1,\nb,1,\n", encoding="utf-8")
    end = monitors.window_at(dt.datetime.now(dt.UTC), 86400)[1]
    admin.monitors.run("release", "daily", data=bad, end=end - dt.timedelta(days=1))
    admin.monitors.run("release", "daily", data=data, end=end)
    # human oversight: a review configuration, a held prediction claimed and overridden, the kill switch
    admin.review.configure("release", text="sla: 1h\nrules: [{name: audit, sample: 1.0}]\n")
    held = admin.review.route("release", "lr@1", "r-1", {"g": "a"}, {"prediction": 1, "score": 0.7})
    admin.review.claim("release", held["item_id"])
    admin.review.decide("release", held["item_id"], "change", outcome=0, reason="checked by phone")
    admin.review.pause("release", "lr@1", reason="complaints", fallback="decide by hand")
    admin.review.resume("release", "lr@1", reason="explained")
    # end users' feedback: through the API's service (a comment redacted) and an import of past feedback
    admin.feedback.submit(
        "release", {"rating": 0, "scale": 2, "comment": "wrong, mail me at x@example.org", "model_version": "lr@1",
                    "inference_id": "r-1", "category": "wrong", "attributes": {"channel": "web", "n": 2}},
        source="snippet",
    )  # fmt: skip
    past = tmp_path / "feedback.jsonl"
    past.write_text(
        '{"rating": 4, "created_at": "2026-01-02T03:04:05+01:00", "attributes": {"region": "Île-de-France ✓"}}\n',
        "utf-8",
    )
    admin.feedback.import_file("release", past)
    # contested decisions: one explained by the explain-decisions job (lr@1 has no file: the reason is recorded)
    # and decided with its letter, one withdrawn
    case = admin.contests.open("release", "inf-ü1", decision={"prediction": 1}, features={"g": "a"},
                               requester="ref-1", grounds="ünïcode grounds")  # fmt: skip
    run_until_idle(admin)
    admin.contests.decide("release", case.id, outcome="overturned", new_decision=0, rationale="re-checked by hand")
    other_case = admin.contests.open("release", "inf-2", decision=0, features={"g": "b"}, queue=False)
    admin.contests.withdraw("release", other_case.id, reason="resolved")
    # the management system's objectives (a computed measure and one by hand) and competence (a CSV import)
    objectives = admin.aims.objectives
    objectives.add({"key": "bias-fresh", "title": "recent bias assessments ✓", "owner": "bob", "target": 1.0,
                    "measure": {"name": "assessed-share", "category": "limited"}})  # fmt: skip
    objectives.measure("bias-fresh")
    objectives.add({"key": "survey", "title": "staff survey", "owner": "alice", "target": 4})
    objectives.record("survey", 4.5, note="ünïcode survey")
    objectives.update("survey", {"due_date": "2027-06-30"})
    objectives.retire("survey", reason="merged")
    admin.aims.competence.add_training({"code": "ai-basics", "title": "AI basics", "validity_months": 12,
                                        "required_for": ["approver"]})  # fmt: skip
    records = tmp_path / "trainings.csv"
    records.write_text("person,training,completed_on,score\nbob,ai-basics,2026-01-31,90\n", "utf-8")
    admin.aims.competence.import_csv(records)
    # the management system's organisation (aims-org): context, scope, documents and policies, roles, teams
    aims = admin.aims
    issue = aims.context.add_issue("external", "EU AI Act ✓", category="legal")
    aims.context.update_issue(issue.id, description="Art. 6 ünïcode")
    aims.context.retire_issue(issue.id, reason="covered")
    aims.context.add_party("Régulateur", "regulator", requirements=["register"], addressed_by=["iso42001:A.8.2"])
    aims.context.update_party("régulateur", requirements=["register", "report incidents"])
    aims.context.set_scope("Release decisions ✓", systems=["release"], exclusions=[{"what": "HR", "why": "supplier"}])
    role = aims.roles.assign("top-management", "alice", area="board")
    aims.roles.assign("risk-owner", "bob", system="release", area="release")
    aims.documents.add("ai-policy", "ai-policy", "AI policy", "alice", text="v1 ✓")
    aims.roles.assign("top-management", "bob", area="board")
    bob = ws.login("bob", "correct horse battery 2")
    bob.aims.documents.approve("ai-policy")  # four eyes: not its author
    aims.documents.add("ai-policy", "ai-policy", "AI policy", "alice", location="https://example.org/ai-policy")
    bob.aims.documents.approve("ai-policy")  # supersedes version 1
    aims.documents.add("procedure", "procedure", "Incidents", "bob", file=data)
    aims.documents.withdraw("procedure", reason="merged")
    aims.teams.add("release", "bob", ["data-science", "legal"])
    aims.teams.update("release", "bob", disciplines=["legal"])
    aims.teams.add("release", "alice", ["domain"])
    aims.teams.remove("release", "alice", reason="moved")
    aims.roles.end(role.id, reason="handed over")
    # the management system's internal audit (a finding opens a nonconformity, corrected, found effective, closed)
    # and management review (inputs assembled, a decision and an action, closed); the auditor's role is written as
    # the roles service writes it (tests/support/aims.py) until that service is merged
    assign_role(admin, "internal-auditor", "carol", area="internal audit")
    audit = admin.aims.audits.plan(
        "2027", "Monitoring of release", auditor="carol", scope={"systems": ["release"], "clauses": ["9.1"]},
        criteria=["iso42001:A.6.2.6"], planned_on="2027-02-01",
    )  # fmt: skip
    admin.aims.audits.start(audit.id)
    carol = ws.login("carol", "correct horse battery 3")
    finding = carol.aims.audits.add_finding(audit.id, "minor", "Alerts not triaged ✓", records=["system:release"])
    carol.aims.audits.complete(audit.id, "One minor nonconformity.")
    ncs, nc_id = admin.aims.nonconformities, finding.nonconformity_id
    assert nc_id is not None
    ncs.update(nc_id, root_cause="no rota", correction="alerts triaged")
    ncs.complete_action(ncs.add_action(nc_id, "a triage rota", owner="bob", due_date="2027-03-01").id)
    ncs.verify(nc_id)
    ncs.review_effectiveness(nc_id, "triaged within a day", effective=True)
    ncs.close(nc_id)
    review = admin.aims.reviews.open("Q1 review", "2027-03-31", ["alice", "bob"])
    admin.aims.reviews.add_decision(review.id, "keep the rota")
    admin.aims.reviews.add_action(review.id, "check the rota", owner="bob", due_date="2027-06-30")
    admin.aims.reviews.set_minutes(review.id, "All inputs reviewed.")
    admin.aims.reviews.close(review.id)
    # guardrail policies (a system's and the organisation's) and a sealed batch of their decisions
    words = "schema: assay.guardrail/1\nname: {name}\n"
    admin.genai.guard.add_policy(words.format(name="release-guard"), system="release")
    admin.genai.guard.add_policy(words.format(name="org-guard") + "description: the organisation's\n")
    admin.genai.guard.apply("release-guard", "input", "Hello ✓")
    admin.genai.guard.apply("org-guard", "output", "Goodbye", channel="api")
    assert admin.genai.guard.flush() == 2
    # a protected corpus (two versions) and the licence check's risks (issue 16)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"id": "guide", "text": "Write plainly and name who acts ✓"}\n', encoding="utf-8")
    admin.genai.corpora.add("style", corpus, system="release", description="the style guide")
    admin.genai.corpora.add("style", corpus)
    admin.genai.licences.check("release")


def _baseline(data: Path, tmp_path: Path) -> Path:
    """A baseline folder (statistics.json, constraints.json) of ``data``, as Model Monitor's baselining writes."""
    from assay.services.compute import compute, write

    written = write("baseline", compute("baseline", Inputs(data), {}), tmp_path / "baseline")
    return written["statistics.json"].parent


@pytest.fixture
def filled(workspace: Workspace, tmp_path: Path) -> Workspace:
    fill(workspace, tmp_path)
    return workspace


def sql(ws: Workspace, statement: str, **params: Any) -> None:
    with ws.store.engine.begin() as connection:
        connection.execute(text(statement), params)


def count_rows(ws: Workspace, table: str) -> int:
    with ws.store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(GOVERNED[table].__table__)).scalar_one())


def verify_cli(ws: Workspace, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["--workspace", str(ws.root), "audit", "verify", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_workspace_filled_through_the_services_verifies_clean(
    filled: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = [table for table in GOVERNED if count_rows(filled, table) == 0]
    assert empty == []  # every governed table holds records: none is left unchecked by this test
    result = filled.audit.verify()
    assert result.record_problems == ()
    assert result.ok and result.records == sum(count_rows(filled, t) for t in GOVERNED)
    code, out, _ = verify_cli(filled, capsys)
    assert code == 0 and out.endswith(f"; {result.records} governed records match their last event\n")


def test_the_governed_tables_are_every_table_but_the_ledger(workspace: Workspace) -> None:
    tables = set(inspect(workspace.store.engine).get_table_names())
    # the ledger's own tables, the operational ones (a running job's progress and heartbeat: docs/jobs.md; what each
    # person has read of their notifications: docs/web.md), and the guardrail decisions, covered batch by batch by
    # their guard_batches row's seal event (docs/guardrails.md)
    ledger = {"audit_events", "audit_checkpoints", "alembic_version"}
    assert set(GOVERNED) == tables - ledger - {"job_progress", "notification_marks", "guard_decisions"}


def _text_column(table: str) -> str | None:
    """A text column of ``table`` that no key or constraint involves and that has room for one more character (a
    SHA-256 digest fills its 64): one an attacker edits freely (None: the table has none, e.g. dataset_shares or
    guard_batches: its time is edited instead)."""
    model = GOVERNED[table].__table__
    unique = {c.name for constraint in model.constraints for c in getattr(constraint, "columns", [])}
    for column in model.columns:
        roomy = isinstance(column.type, String | Text) and (column.type.length is None or column.type.length > 64)
        if roomy and not column.foreign_keys and column.name not in unique:
            return column.name
    return None


def test_a_record_edited_with_sql_in_every_governed_table_is_named_by_table_and_id(filled: Workspace) -> None:
    edited = set()
    for table in GOVERNED:
        model = GOVERNED[table].__table__
        key = next(iter(model.primary_key.columns)).name
        name = _text_column(table)
        with filled.store.engine.begin() as connection:
            first = connection.execute(select(model.c[key]).order_by(model.c[key]).limit(1)).scalar_one()
            if name is None:
                change = {model.c.created_at: dt.datetime(2000, 1, 1, tzinfo=dt.UTC)}
            else:
                change = {model.c[name]: func.coalesce(model.c[name], "") + "x"}
            connection.execute(model.update().where(model.c[key] == first).values(change))
        edited.add((table, str(first)))
    result = filled.audit.verify()
    assert not result.ok and result.first_bad_seq is None
    assert {(p.table, p.id) for p in result.record_problems} == edited
    assert len(result.record_problems) == len(GOVERNED)
    assert all(p.problem.startswith("changed outside Assay: it is not the state event") for p in result.record_problems)


def test_the_auditors_case_a_risk_rescored_with_sql(filled: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """Defect 4 of issue 13: `update risks set likelihood=1, impact=1 where id=1` verified."""
    sql(filled, "UPDATE risks SET likelihood = 1, impact = 1 WHERE id = 1")
    result = filled.audit.verify()
    assert not result.ok
    last = [e.seq for e in filled.audit.log() if (e.object_type, e.object_id) == ("risks", "1")][-1]
    assert result.record_problems == (
        RecordProblem("risks", "1", f"changed outside Assay: it is not the state event {last} recorded", last),
    )
    assert result.problem == f"1 governed record differs from the ledger (first: {result.record_problems[0]})"
    code, out, err = verify_cli(filled, capsys)
    assert code == 1
    assert out == f"  risks 1: changed outside Assay: it is not the state event {last} recorded\n"
    assert err.startswith("error: the audit ledger does NOT verify: 1 of ")
    code, out, _ = verify_cli(filled, capsys, "--json")
    reported = json.loads(out)
    assert code == 1 and reported["ok"] is False and reported["first_bad_seq"] is None
    assert reported["record_problems"] == [{"table": "risks", "id": "1", "problem": result.record_problems[0].problem,
                                            "seq": last}]  # fmt: skip


def test_records_deleted_or_inserted_with_sql_are_named(filled: Workspace) -> None:
    revoked = [e for e in filled.audit.log() if e.action == "evidence.revoke"][-1]
    sql(filled, "DELETE FROM evidence WHERE id = :id", id=int(revoked.object_id))
    sql(filled, "DELETE FROM waivers")
    sql(
        filled,
        "INSERT INTO systems (name, name_key, purpose, intended_uses, out_of_scope_uses, affected_people,"
        " deployment_context, lifecycle_stage, owner, eu_ai_act_category, generative, oversight, created_at,"
        " updated_at) VALUES ('ghost', 'ghost', '', '[]', '[]', '[]', '', 'inception', '', 'minimal', false,"
        " 'human_in_the_loop', :t, :t)",
        t=dt.datetime(2026, 1, 1),
    )
    ghost = next(s.id for s in filled.systems.list() if s.name == "ghost")
    # a membership deleted through Assay, put back with SQL
    revoke = [e for e in filled.audit.log() if e.action == "membership.revoke"][-1]
    sql(
        filled,
        "INSERT INTO memberships (id, user_id, system_id, role, created_at) VALUES (:id, 3, 1, 'owner', :t)",
        id=int(revoke.object_id),
        t=dt.datetime(2026, 1, 1),
    )
    waiver = [e for e in filled.audit.log() if e.action == "waiver.create"][-1]
    problems = {(p.table, p.id): (p.problem, p.seq) for p in filled.audit.verify().record_problems}
    assert problems == {
        ("evidence", revoked.object_id): (f"deleted outside Assay: event {revoked.seq} recorded it", revoked.seq),
        ("memberships", revoke.object_id): (
            f"event {revoke.seq} deleted it, yet it exists: inserted outside Assay",
            revoke.seq,
        ),
        ("systems", str(ghost)): ("no audit event records it: inserted outside Assay", None),
        ("waivers", waiver.object_id): (f"deleted outside Assay: event {waiver.seq} recorded it", waiver.seq),
    }


def test_a_broken_chain_is_reported_first_and_the_records_are_still_checked(filled: Workspace) -> None:
    drop_triggers(filled)
    sql(filled, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    sql(filled, "UPDATE risks SET impact = 1")
    result = filled.audit.verify()
    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert result.problem == "its content does not match its hash: the event was edited"
    assert {p.table for p in result.record_problems} == {"risks"}


def test_a_workspace_on_postgresql_and_sqlite_agree_on_datetimes_with_an_offset(workspace: Workspace) -> None:
    """A time given with another zone is stored as UTC: the recorded state is the stored one (no false alarm)."""
    workspace.systems.create({"name": "s"})
    workspace.incidents.open("s", {"title": "t", "severity": "low", "occurred_at": "2026-11-20T23:30:00-05:00"})
    assert workspace.audit.verify().ok


def test_many_records_are_listed_and_the_cli_shows_the_first_fifty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(actor="alice", workspace=None)
    with Workspace.init(tmp_path / "ws", settings) as ws:
        for i in range(60):
            ws.systems.create({"name": f"s{i}"})
        sql(ws, "UPDATE systems SET purpose = 'forged'")
        result = ws.audit.verify()
        assert [p.id for p in result.record_problems] == [str(i) for i in range(1, 61)]
        code, out, _ = verify_cli(ws, capsys)
    lines = out.splitlines()
    assert code == 1 and len(lines) == 51 and lines[0].startswith("  systems 1: changed outside Assay")
    assert lines[-1] == "  ... and 10 more (--json lists them all)"


def test_a_change_recorded_by_a_forged_event_is_not_detected(workspace: Workspace) -> None:
    """A documented limit: whoever can insert rows can change a record and append a well-formed event for it."""
    workspace.systems.create({"name": "release"})
    sql(workspace, "UPDATE systems SET purpose = 'forged' WHERE id = 1")
    assert not workspace.audit.verify().ok
    head = workspace.audit.log()[-1]
    system = workspace.systems.get("release")
    forged = next_event(
        head.seq, head.hash, time=head.time, actor="mallory", action="system.update", object_type="systems",
        object_id="1", before=head.after, after=digest(system.state()), payload={"changed": ["purpose"]},
    )  # fmt: skip
    insert_event(workspace, forged)
    assert workspace.audit.verify().ok  # the forged event is there for anyone to read, with its actor


def test_a_stolen_signing_key_forges_the_database_but_not_an_earlier_export(
    workspace: Workspace, tmp_path: Path
) -> None:
    """A documented limit: with the private key, a rewritten chain can be re-signed; an earlier export tells."""
    for name in ("release", "triage"):
        workspace.systems.create({"name": name})
    workspace.audit.export(tmp_path / "first")  # the auditor keeps it
    drop_triggers(workspace)
    stolen = workspace.store.signer
    assert stolen is not None
    chain = rewrite_from(workspace, 1, actor="mallory")
    with workspace.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_checkpoints"))
        connection.execute(insert(AuditCheckpoint), [asdict(sign_checkpoint(chain[-1], chain[-1].time, stolen))])
    assert workspace.audit.verify().ok  # the database alone cannot tell
    second = tmp_path / "second"
    workspace.audit.export(second)
    with (second / "checkpoints.jsonl").open("a", encoding="utf-8") as handle:
        handle.write((tmp_path / "first" / "checkpoints.jsonl").read_text(encoding="utf-8"))
    result = verify_export(second, workspace.public_key_path)
    assert (result.ok, result.problem) == (False, "the event differs from the one the checkpoint signed")


def _tampering_cases(tree: ast.Module) -> set[str]:
    """The keys of the module's ``TAMPERING`` table, which the tampering test is parametrised over."""
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "TAMPERING" for t in targets):
                return {key.value for key in node.value.keys if isinstance(key, ast.Constant)}
    return set()


def test_every_line_of_the_detection_tables_names_a_test() -> None:
    """docs/audit-ledger.md names a test for every line of what is detected and what is not: they all exist."""
    page = (Path(__file__).parents[2] / "docs" / "audit-ledger.md").read_text(encoding="utf-8")
    named = re.findall(r"`(test_\w+\.py)::(test_\w+)(?:\[([^\]]+)\])?`", page)
    assert len(named) >= 20
    for module_name, test, case in named:  # read, not imported: a test module never imports another
        tree = ast.parse((Path(__file__).with_name(module_name)).read_text(encoding="utf-8"))
        tests = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert test in tests, f"{module_name}::{test} does not exist"
        if case:
            assert case in _tampering_cases(tree), f"{module_name}::{test}[{case}] is not a case"
    detected = page.split("## Verification", 1)[1].split("### What is not detected", 1)
    for section in (detected[0], detected[1].split("## Export", 1)[0]):
        rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| tampering")]
        bullets = [line for line in section.splitlines() if line.startswith("- **")]
        for line in rows:
            assert "`test_" in line, f"no test named for: {line[:80]}"
        for bullet in bullets:
            following = section.split(bullet, 1)[1].split("\n- ", 1)[0]
            assert "Test: `test_" in " ".join((bullet + following).split()), f"no test for: {bullet[:80]}"


def test_a_write_committed_while_verification_runs_is_not_half_seen(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The events and the records are read in one snapshot: a change committed between the two is not mistaken
    for a record changed outside Assay."""
    workspace.systems.create({"name": "release"})
    check = audit_store.check_records

    def someone_writes_meanwhile(*args: Any) -> Any:
        workspace.as_actor("bob").systems.update("release", {"purpose": "changed meanwhile"})
        workspace.as_actor("bob").systems.create({"name": "new"})
        return check(*args)

    monkeypatch.setattr(audit_store, "check_records", someone_writes_meanwhile)
    result = workspace.audit.verify()
    assert (result.ok, result.events, result.records) == (True, 2, 2), result.record_problems  # and the mode
    monkeypatch.undo()
    assert workspace.audit.verify().ok


def test_the_rest_route_and_the_web_page_list_records_changed_outside_assay(workspace: Workspace) -> None:
    from tests.support.server import PASSWORD, serving

    with serving(workspace) as (client, tokens, ws):
        headers = {"Authorization": f"Bearer {tokens['auditor']}"}
        clean = client.post("/api/audit/verify", headers=headers).json()
        assert clean["ok"] is True and clean["records"] > 10 and clean["record_problems"] == []
        sql(ws, "UPDATE risks SET likelihood = 1, impact = 1 WHERE id = 1")
        reported = client.post("/api/audit/verify", headers=headers).json()
        assert (reported["ok"], reported["first_bad_seq"]) == (False, None)
        assert [(p["table"], p["id"]) for p in reported["record_problems"]] == [("risks", "1")]
        client.post("/login", data={"name": "auditor", "password": PASSWORD}, follow_redirects=False)
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/audit").text)
        assert token is not None
        page = client.post("/audit/verify", data={"csrf": token.group(1)}).text
        assert "The ledger does NOT verify: 1 of" in page
        assert "<td>risks</td><td>1</td><td>changed outside Assay: it is not the state event" in page


def test_the_records_state_read_by_verification_is_the_orm_objects_state(filled: Workspace) -> None:
    """Verification reads rows without building objects: the state it digests is exactly ``Base.state()`` of the
    object the ORM loads (every governed table, both databases), and no model defines its own ``state``."""
    assert all(model.state is Base.state for model in GOVERNED.values())
    with filled.store.engine.connect() as connection, Session(bind=connection) as session:
        for model in GOVERNED.values():
            read = list(audit_store._states(connection, model))
            loaded = [(audit_store.identity(obj), obj.state()) for obj in session.scalars(select(model))]
            assert sorted(read, key=lambda r: r[0]) == sorted(loaded, key=lambda r: r[0]), model.__tablename__


# -- schema migrations keep the ledger covering every record ----------------------------------------------------


def test_a_migration_keeps_every_record_covered(filled: Workspace) -> None:
    """A migration adds columns and rows (0007 gives datasets an owner, 0008 adds tables): it verifies the ledger at
    the old schema first, then records each record it changed, so the ledger verifies after it, both ways."""
    store = filled.store
    assert store.verify().ok
    down = store.downgrade("alice", MIGRATED_FROM)
    assert down > 0  # the columns and tables it dropped changed or removed records: each is an event
    assert store.verify(records=False).ok
    up = store.upgrade("alice")
    assert up > 0
    migrated = filled.audit.log(audit_store.EventFilter(action="record.migrate"))
    assert len(migrated) == down + up
    assert {e.payload["to_revision"] for e in migrated} == {MIGRATED_FROM, store_head()}
    verification = store.verify()
    assert verification.ok, verification.problem


def test_a_migration_refuses_a_ledger_that_does_not_verify(filled: Workspace) -> None:
    """Changes made outside Assay before a migration are not laundered as the migration's: nothing migrates."""
    filled.store.downgrade("alice", MIGRATED_FROM)
    sql(filled, "UPDATE risks SET likelihood = 1, impact = 1 WHERE id = 1")
    events = len(filled.audit.log())
    with pytest.raises(IntegrityViolation, match=r"does not verify at schema revision 0006: .*risks"):
        filled.store.upgrade("alice")
    from assay.store.migrate import current_revision

    assert current_revision(filled.store.engine) == MIGRATED_FROM
    assert len(filled.audit.log()) == events


def store_head() -> str:
    from assay.store.migrate import head_revision

    return head_revision()


def test_touched_names_the_rows_the_events_between_two_heads_changed(workspace: Workspace) -> None:
    """What kept work must redo (the approval digests, the readiness entries): the rows of the tables asked for that
    the events after one head up to another changed; None past the limit, where redoing costs less."""
    from assay.store import audit

    workspace.systems.create({"name": "one"})
    with workspace.store.read() as session:
        before = audit.head_seq(session)
    risk = workspace.risks.add("one", {"title": "Drift", "source": "model", "likelihood": 2, "impact": 3,
                                       "treatment": "mitigate"})  # fmt: skip
    workspace.risks.update("one", risk.id, {"likelihood": 4})
    workspace.systems.create({"name": "two"})
    with workspace.store.read() as session:
        after = audit.head_seq(session)
        found = audit.touched(session, before, after, ("risks", "evidence"))
        assert found == {"risks": {risk.id}, "evidence": set()}
        assert audit.touched(session, after, after, ("risks",)) == {"risks": set()}
        assert audit.touched(session, 0, audit.TOUCHED_LIMIT + 1, ("risks",)) is None
