"""Each person's tasks, notifications (derived from the ledger, marked read, e-mailed once through a real SMTP server)
and search (only what they may see), on SQLite and PostgreSQL with real users."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Table, event
from sqlalchemy.orm import Session
from sqlalchemy.sql.util import find_tables

from assay.errors import InvalidInput, PermissionDenied
from assay.services import approvals, tasks
from assay.services.worker import run_until_idle
from assay.services.workspace import Workspace
from assay.store.audit import GOVERNED
from tests.support.aims import add_document, open_nonconformity
from tests.support.people import People
from tests.support.receivers import smtp_server

REVIEW = """
schema: assay.review/1
sla: 1h
claim_timeout: 30m
outcomes: [approve, deny]
rules:
  - name: uncertain
    score_between: [0.4, 0.6]
"""
TODAY = dt.date.today()


@pytest.fixture
def team(workspace: Workspace, people: People) -> dict[str, Any]:
    """System "credit" (olga owns it, april approves, rita reviews) and "other" (stan's); one record per task
    source."""
    admin = people.admin
    admin.systems.create({"name": "credit", "eu_ai_act_category": "limited", "purpose": "scores loan requests"})
    admin.systems.create({"name": "other", "eu_ai_act_category": "minimal", "purpose": "sorts mail"})
    admin.models.register_version("credit", {"model": "scorer", "version": "1"})
    admin.models.register_version("credit", {"model": "scorer", "version": "2"})
    admin.models.register_version("other", {"model": "sorter", "version": "1"})
    olga = people("olga", credit="owner")
    april = people("april", credit="approver")
    rita = people("rita", credit="reviewer")
    stan = people("stan", other="owner")
    audrey = people("audrey", role="auditor")
    olga.approvals.request("credit", "scorer@1", "staging")  # request 1: made stale by the risks below
    olga.risks.add(
        "credit",
        {
            "title": "drifting scores",
            "source": "model",
            "likelihood": 3,
            "impact": 3,
            "treatment": "mitigate",
            "owner": "olga",
            "review_date": (TODAY + dt.timedelta(days=5)).isoformat(),
        },
    )
    olga.risks.add(
        "credit",
        {
            "title": "far review",
            "source": "model",
            "likelihood": 1,
            "impact": 1,
            "treatment": "accept",
            "review_date": (TODAY + dt.timedelta(days=60)).isoformat(),
        },
    )
    olga.controls.add_evidence(
        "credit",
        "iso42001",
        "A.6.2.4",
        kind="url",
        url="https://wiki.example.org/tests",
        description="validation plan",
        valid_until=TODAY + dt.timedelta(days=10),
    )
    olga.controls.add_evidence(
        "credit",
        "iso42001",
        "A.6.2.5",
        kind="url",
        url="https://wiki.example.org/far",
        description="far away",
        valid_until=TODAY + dt.timedelta(days=90),
    )
    incident = olga.incidents.open("credit", {"title": "wrong refusals", "severity": "high"})
    olga.incidents.add_action(
        "credit",
        incident.id,
        {
            "description": "retrain on 2026 data",
            "owner": "rita",
            "due_date": (TODAY + dt.timedelta(days=3)).isoformat(),
        },
    )
    olga.approvals.request("credit", "scorer@2", "staging")  # request 2: april's to decide
    olga.review.configure("credit", text=REVIEW)
    answer = olga.review.route("credit", "scorer@1", "inf-1", {"amount": 10}, {"prediction": "approve", "score": 0.5})
    assert answer["status"] == "review"
    return {"olga": olga, "april": april, "rita": rita, "stan": stan, "audrey": audrey, "admin": admin}


def kinds(ws: Workspace) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for task in ws.tasks():
        found.setdefault(task["kind"], []).append(task["ref"])
    return found


def test_each_task_source_reaches_its_person_and_nobody_else(team: dict[str, Any]) -> None:
    olga, april, rita, stan = team["olga"], team["april"], team["rita"], team["stan"]
    mine = kinds(olga)
    assert mine["risk"] == ["risk:1"]  # the one due in 5 days, not the one in 60
    assert mine["evidence"] == ["evidence:1"]  # expiring in 10 days, not in 90
    assert mine["stale-request"] == ["approval:1"]  # the risks added after the request changed what it froze
    assert "approval" not in mine  # her own request is not hers to decide
    assert [t["ref"] for t in april.tasks()] == ["approval:2"]  # request 1 is stale: olga's task, not april's
    (decide,) = april.tasks()
    assert decide["link"] == "/systems/credit/approvals" and decide["system"] == "credit" and decide["due"] is None
    rita_tasks = kinds(rita)
    assert rita_tasks["review"] == ["review-queue:credit"] and rita_tasks["corrective-action"] == [
        "corrective-action:1"
    ]
    action = next(t for t in rita.tasks() if t["kind"] == "corrective-action")
    assert action["due"] == (TODAY + dt.timedelta(days=3)).isoformat() and action["link"] == "/systems/credit/incidents"
    assert stan.tasks() == [] and stan.tasks.count() == 0
    assert olga.tasks.count() == len(olga.tasks())
    # a claimed item is the claimer's own task; an approval decided is no longer one
    item_id = rita.review.queue("credit")[0]["id"]
    rita.review.claim("credit", item_id)
    assert f"review-item:{item_id}" in kinds(rita)["review"]
    april.approvals.decide(2, "reject", comment="not yet", system="credit")
    assert "approval" not in kinds(april)
    # evidence replaced by newer evidence valid beyond the window is no longer a task
    olga.controls.add_evidence(
        "credit",
        "iso42001",
        "A.6.2.4",
        kind="url",
        url="https://wiki.example.org/tests2",
        valid_until=TODAY + dt.timedelta(days=400),
    )
    assert "evidence" not in kinds(olga)


def test_tasks_kept_across_changes_are_the_tasks_listed_afresh(team: dict[str, Any], people: People) -> None:
    """Each person's list is kept from one head of the ledger to the next (only the sources whose tables the events
    since touched are asked again); after every kind of change it must equal the list made from nothing, for each
    person. Checked to fail when a source's declared tables miss one it reads."""
    olga, april, rita, admin = team["olga"], team["april"], team["rita"], team["admin"]
    everyone = [olga, april, rita, team["stan"], team["audrey"], admin]

    def afresh(ws: Workspace) -> list[dict[str, Any]]:
        tasks.forget()
        approvals._DIGESTS.clear()
        return ws.tasks()

    def soon(days: int) -> str:
        return (TODAY + dt.timedelta(days=days)).isoformat()

    item_id = rita.review.queue("credit")[0]["id"]
    steps: list[Callable[[], object]] = [
        lambda: april.approvals.decide(2, "reject", comment="not yet", system="credit"),
        lambda: olga.risks.update("credit", 2, {"review_date": soon(3)}),  # now within the window
        lambda: olga.risks.add(
            "credit",
            {
                "title": "new",
                "source": "data",
                "likelihood": 2,
                "impact": 2,
                "treatment": "mitigate",
                "review_date": soon(1),
            },
        ),
        lambda: olga.approvals.withdraw(1, comment="stale"),
        lambda: olga.approvals.request("credit", "scorer@1", "staging"),
        lambda: admin.models.register_version("credit", {"model": "scorer", "version": "3"}),  # nobody's task
        lambda: olga.controls.add_evidence(
            "credit",
            "iso42001",
            "A.6.2.6",
            kind="url",
            url="https://example.org/e",
            valid_until=TODAY + dt.timedelta(days=4),
        ),
        lambda: admin.controls.revoke_evidence("credit", 1, reason="replaced"),
        lambda: rita.review.claim("credit", item_id),
        lambda: admin.incidents.complete_action("credit", 1),
        lambda: open_nonconformity(admin, "no record", "olga", TODAY + dt.timedelta(days=2)),
        lambda: admin.aims.competence.add_training(
            {"code": "ai-basics", "title": "AI basics", "required_for": ["owner"]}
        ),
        lambda: admin.aims.competence.record({"person": "olga", "training": "ai-basics", "completed_on": TODAY}),
        lambda: add_document(admin, "ai-policy", "rita", TODAY + dt.timedelta(days=20)),
        lambda: admin.aims.objectives.add(
            {
                "key": "survey",
                "title": "staff survey",
                "owner": "april",
                "target": 4,
                "due_date": TODAY + dt.timedelta(days=5),
            }
        ),
        lambda: people("april", other="owner"),  # a membership: april now owns other's records
        lambda: admin.risks.add(
            "other",
            {
                "title": "mail",
                "source": "data",
                "likelihood": 1,
                "impact": 1,
                "treatment": "accept",
                "review_date": soon(2),
            },
        ),
    ]
    for ws in everyone:
        ws.tasks()
    for number, step in enumerate(steps):
        kept = [ws.tasks() for ws in everyone]  # kept at the head before the change
        step()
        now = [ws.tasks() for ws in everyone]
        assert now == [afresh(ws) for ws in everyone], f"step {number}"
        assert now != kept or number == 5, f"step {number} changed nobody's tasks: it tests nothing"


def test_each_source_declares_the_tables_it_reads(team: dict[str, Any], workspace: Workspace) -> None:
    """A source whose declared tables miss one its statements read would keep a list that change made wrong: the
    tables each source reads (its statements, with nothing kept) are among its declared ones, all governed (a
    change to them appends an audit event)."""
    read: dict[str, set[str]] = {name: set() for name in tasks.SOURCE_TABLES}
    current: list[str] = []

    def seen(state: Any) -> None:
        if current:
            found = find_tables(state.statement, check_columns=True, include_joins=True)
            read[current[0]].update(t.name for t in found if isinstance(t, Table))

    sources = dict(tasks._SOURCES)
    try:
        for name, source in sources.items():

            def wrapped(*args: Any, _name: str = name, _source: Any = source) -> Any:
                current[:] = [_name]
                try:
                    return _source(*args)
                finally:
                    current.clear()

            tasks._SOURCES[name] = wrapped
        event.listen(Session, "do_orm_execute", seen)
        for ws in (team["olga"], team["april"], team["rita"], team["admin"]):
            approvals._DIGESTS.clear()
            tasks.forget()
            ws.tasks()
    finally:
        event.remove(Session, "do_orm_execute", seen)
        tasks._SOURCES.update(sources)
    assert all(read.values()), read  # every source ran a statement
    for name, tables in read.items():
        assert tables <= tasks.SOURCE_TABLES[name], f"{name} reads {sorted(tables - tasks.SOURCE_TABLES[name])}"
        assert tasks.SOURCE_TABLES[name] <= set(GOVERNED), name


def test_notifications_are_derived_from_the_ledger_and_marked_read(team: dict[str, Any]) -> None:
    olga, april, rita, stan = team["olga"], team["april"], team["rita"], team["stan"]
    shown = april.notifications.list()
    assert [(n["action"], n["object_id"]) for n in shown] == [("approval.request", "2"), ("approval.request", "1")]
    assert shown[0]["unread"] and shown[0]["actor"] == "olga" and shown[0]["link"] == "/systems/credit/approvals"
    assert "olga asks for approval to move scorer@2 of credit to staging" in shown[0]["text"]
    assert april.notifications.unread() == 2
    assert [n["action"] for n in rita.notifications.list()] == ["corrective_action.create"]
    assert stan.notifications.list() == [] and stan.notifications.unread() == 0
    assert olga.notifications.list() == []  # her own doings are not news to her
    april.approvals.decide(2, "reject", comment="not yet", system="credit")
    (decision,) = olga.notifications.list()
    assert decision["action"] == "approval.reject" and "april rejected your approval request 2" in decision["text"]
    # someone else revokes olga's evidence and changes her risk: both reach her (newest first)
    team["admin"].controls.revoke_evidence("credit", 1, reason="the plan was replaced")
    team["admin"].risks.update("credit", 1, {"likelihood": 4})
    assert [n["action"] for n in olga.notifications.list()] == ["risk.update", "evidence.revoke", "approval.reject"]
    assert olga.notifications.unread() == 3
    olga.notifications.mark_read()
    assert olga.notifications.unread() == 0
    assert [n["unread"] for n in olga.notifications.list()] == [False, False, False]
    page = olga.notifications.list(limit=1, offset=1)
    assert page.total == 3 and [n["action"] for n in page] == ["evidence.revoke"]
    team["admin"].risks.update("credit", 1, {"impact": 4})
    assert olga.notifications.unread() == 1 and olga.notifications.list(unread_only=True).total == 1
    with pytest.raises(InvalidInput, match="limit must be 1 to 500"):
        olga.notifications.list(limit=0)


def test_new_notifications_are_e_mailed_once_through_a_real_smtp_server(
    workspace: Workspace, team: dict[str, Any]
) -> None:
    olga, april = team["olga"], team["april"]
    with pytest.raises(InvalidInput, match="ASSAY_SMTP_HOST is not set"):
        workspace.notifications.send_email()
    with pytest.raises(InvalidInput, match="not an e-mail address"):
        olga.notifications.set_address("olga-at-example")
    olga.notifications.set_address("olga@example.org")  # her own; april's comes from the mail domain
    with smtp_server() as box:
        workspace.settings = workspace.settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": box.port,
                "smtp_starttls": False,
                "smtp_from": "assay@example.org",
                "notify_domain": "example.org",
                "public_url": "https://assay.example.org/",
            }
        )
        for ws in (olga, april):
            ws.settings = workspace.settings
        assert workspace.notifications.send_email() == []  # april first seen: from now on; olga: nothing new
        assert april.notifications.address() == {"email": "april@example.org", "own": False, "enabled": True}
        with pytest.raises(PermissionDenied, match="may not e-mail everyone"):
            april.notifications.send_email()
        april.approvals.decide(2, "reject", comment="not yet", system="credit")  # olga's news
        olga.approvals.withdraw(1, comment="stale", system="credit")
        olga.approvals.request("credit", "scorer@1", "staging")  # request 3: april's news
        results = workspace.notifications.send_email()
        assert sorted((r.person, r.address, r.items, r.sent) for r in results) == [
            ("april", "april@example.org", 1, True),
            ("olga", "olga@example.org", 1, True),
        ]
        assert workspace.notifications.send_email() == []  # once, not twice
        by_recipient = {recipients[0]: mail for _, recipients, mail in box.mail}
        assert sorted(by_recipient) == ["april@example.org", "olga@example.org"] and len(box.mail) == 2
        body = by_recipient["olga@example.org"].get_payload(decode=True)
        assert isinstance(body, bytes) and b"april rejected your approval request 2" in body
        assert b"https://assay.example.org/systems/credit/approvals" in body
        assert by_recipient["april@example.org"]["Subject"] == "[Assay] 1 new notification"
        # read in the app before the next run: not e-mailed
        olga.approvals.withdraw(3, comment="wrong stage", system="credit")
        team["admin"].risks.update("credit", 1, {"likelihood": 5})
        olga.notifications.mark_read()
        assert workspace.notifications.send_email() == [] and len(box.mail) == 2
        # a worker sends them by itself (`assay worker --once` here; the pool's thread every ASSAY_NOTIFY_EMAIL_SECONDS)
        team["admin"].risks.update("credit", 1, {"treatment": "avoid"})
        run_until_idle(workspace)
        assert len(box.mail) == 3 and box.mail[2][1] == ["olga@example.org"]
        run_until_idle(workspace)
        assert len(box.mail) == 3
    # a server that refuses: the mark goes back, tried again next time
    workspace.settings = workspace.settings.model_copy(update={"smtp_port": 1, "alert_attempts": 1})
    team["admin"].risks.update("credit", 1, {"impact": 5})
    (failed,) = workspace.notifications.send_email()
    assert failed.person == "olga" and not failed.sent and failed.error
    (again,) = workspace.notifications.send_email()
    assert again.items == 1 and not again.sent


def test_search_finds_only_what_the_person_may_see(team: dict[str, Any]) -> None:
    olga, stan, audrey = team["olga"], team["stan"], team["audrey"]
    found = olga.search("scor")
    groups = found["groups"]
    assert [i["title"] for i in groups["systems"]["items"]] == ["credit"]  # "scores loan requests"
    assert [i["title"] for i in groups["models"]["items"]] == ["scorer@2", "scorer@1"]
    assert "events" not in groups  # a member sees no audit events
    assert [i["title"] for i in olga.search("drifting")["groups"]["risks"]["items"]] == ["risk 1: drifting scores"]
    assert olga.search("wiki.example.org/tests")["groups"]["evidence"]["total"] == 1
    assert olga.search("A.6.2.4")["groups"]["controls"]["items"][0]["link"] == "/readiness?framework=iso42001"
    # stan sees his own system only
    assert (
        stan.search("scor")["groups"]["systems"]["total"] == 0
        and stan.search("drifting")["groups"]["risks"]["total"] == 0
    )
    assert [i["title"] for i in stan.search("mail")["groups"]["systems"]["items"]] == ["other"]
    # an auditor sees everything, audit events included; wildcards are plain text
    events = audrey.search("olga")["groups"]["events"]
    assert events["total"] > 0 and events["items"][0]["link"] == "/audit?actor=olga"
    assert audrey.search("%")["groups"]["systems"]["total"] == 0
    assert olga.search("   ") == {"q": "", "groups": {}}
    with pytest.raises(InvalidInput, match="at most 200 characters"):
        olga.search("x" * 201)
