"""``ws.aims.reviews``: management reviews (ISO/IEC 42001 9.3).

Opening a review assembles its ``inputs`` from the store at that moment, one section per input of 9.3.2
(:data:`~assay.governance.aims.REVIEW_INPUTS`): the status of actions from earlier reviews, changes in issues and
interested parties, objectives and their latest measurements, nonconformities and corrective actions, monitoring
results, audit results, incidents, risks, opportunities for improvement. "Since the last review" means since the
moment the inputs of the latest closed review were assembled (everything, for the first review). Each section is a
small dict of counts and lists of ``TYPE:ID`` refs; a list keeps at most ``LIST_CAP`` refs and says how many there
were (``{"refs": [...], "total": N}``). The inputs are kept as they were; ``refresh_inputs`` assembles them again
while the review is a draft. A manager records the decisions, the actions (corrective actions with the review's id,
an owner and a due date) and the minutes; ``close`` freezes the review (its actions are then followed up by the next
review's ``previous_actions``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from assay.errors import Conflict, InvalidInput, NotFound
from assay.governance.aims import FINDING_KINDS, NONCONFORMITY_STATUSES
from assay.governance.aims_audit import LIST_CAP, bounded, overdue, text
from assay.governance.records import INCIDENT_SEVERITIES
from assay.governance.risk import LEVELS
from assay.services._base import Service, single_user
from assay.services.aims._base import require_manager, require_person
from assay.services.aims._refs import parse_day
from assay.store.models import (
    AimsAudit,
    AimsFinding,
    AimsIssue,
    AimsMeasurement,
    AimsObjective,
    AimsParty,
    Alert,
    CorrectiveAction,
    Incident,
    ManagementReview,
    Monitor,
    MonitorRun,
    Nonconformity,
    Risk,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.database import Transaction

__all__ = ["Reviews", "assemble_inputs"]

_TOP_RISKS = 10


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _after(column: Any, since: dt.datetime | None) -> list[Any]:
    return [] if since is None else [column > since]


def _refs(kind: str, ids: Sequence[int]) -> dict[str, Any]:
    return bounded([f"{kind}:{i}" for i in ids])


def _ids(session: Session, query: Any) -> list[int]:
    return list(session.execute(query).scalars())


def _actions_status(actions: Sequence[CorrectiveAction], today: dt.date) -> dict[str, Any]:
    late = [a.id for a in actions if overdue(a.due_date, a.status, today)]
    return {
        "open": sum(a.status == "open" for a in actions),
        "done": sum(a.status == "done" for a in actions),
        "overdue": len(late),
        "open_refs": _refs("action", [a.id for a in actions if a.status == "open"]),
        "overdue_refs": _refs("action", late),
    }


def _previous_actions(session: Session, review_id: int | None, today: dt.date) -> dict[str, Any]:
    query = select(CorrectiveAction).where(CorrectiveAction.review_id.is_not(None))
    if review_id is not None:
        query = query.where(CorrectiveAction.review_id != review_id)
    return _actions_status(list(session.execute(query.order_by(CorrectiveAction.id)).scalars()), today)


def _context_changes(session: Session, since: dt.datetime | None) -> dict[str, Any]:
    issues_added = _ids(
        session, select(AimsIssue.id).where(*_after(AimsIssue.created_at, since)).order_by(AimsIssue.id)
    )
    issues_retired = _ids(
        session,
        select(AimsIssue.id)
        .where(AimsIssue.retired_at.is_not(None), *_after(AimsIssue.retired_at, since))
        .order_by(AimsIssue.id),
    )
    parties_added = _ids(
        session, select(AimsParty.id).where(*_after(AimsParty.created_at, since)).order_by(AimsParty.id)
    )
    parties_retired = _ids(
        session,
        select(AimsParty.id)
        .where(AimsParty.status == "retired", *_after(AimsParty.updated_at, since))
        .order_by(AimsParty.id),
    )
    return {
        "issues_added": _refs("issue", issues_added),
        "issues_retired": _refs("issue", issues_retired),
        "parties_added": _refs("party", parties_added),
        "parties_retired": _refs("party", parties_retired),
        "active_issues": session.execute(
            select(func.count()).select_from(AimsIssue).where(AimsIssue.status == "active")
        ).scalar_one(),
        "active_parties": session.execute(
            select(func.count()).select_from(AimsParty).where(AimsParty.status == "active")
        ).scalar_one(),
    }


def _objectives(session: Session) -> dict[str, Any]:
    objectives = list(
        session.execute(
            select(AimsObjective).where(AimsObjective.status != "retired").order_by(AimsObjective.id)
        ).scalars()
    )
    items = []
    met = not_met = unmeasured = 0
    for objective in objectives:
        latest = session.execute(
            select(AimsMeasurement)
            .where(AimsMeasurement.objective_id == objective.id)
            .order_by(AimsMeasurement.measured_at.desc(), AimsMeasurement.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if latest is None:
            unmeasured += 1
        elif latest.met:
            met += 1
        else:
            not_met += 1
        items.append({
            "ref": f"objective:{objective.id}", "key": objective.key, "title": objective.title,
            "target": objective.target, "direction": objective.direction, "unit": objective.unit,
            "status": objective.status, "value": None if latest is None else latest.value,
            "met": None if latest is None else latest.met,
            "measured_at": None if latest is None else _iso(latest.measured_at),
        })  # fmt: skip
    return {
        "total": len(objectives),
        "met": met,
        "not_met": not_met,
        "unmeasured": unmeasured,
        "items": items[:LIST_CAP],
        "items_total": len(items),
    }


def _nonconformities(session: Session, since: dt.datetime | None, today: dt.date) -> dict[str, Any]:
    rows = list(session.execute(select(Nonconformity).order_by(Nonconformity.id)).scalars())
    by_status = Counter(nc.status for nc in rows)
    actions = list(
        session.execute(
            select(CorrectiveAction).where(CorrectiveAction.nonconformity_id.is_not(None)).order_by(CorrectiveAction.id)
        ).scalars()
    )
    return {
        "by_status": {status: by_status[status] for status in NONCONFORMITY_STATUSES},
        "opened_since": sum(since is None or nc.created_at > since for nc in rows),
        "closed_since": sum(nc.closed_at is not None and (since is None or nc.closed_at > since) for nc in rows),
        "not_closed": _refs("nonconformity", [nc.id for nc in rows if nc.status != "closed"]),
        "actions": _actions_status(actions, today),
    }


def _monitoring(session: Session, since: dt.datetime | None) -> dict[str, Any]:
    opened = _ids(session, select(Alert.id).where(*_after(Alert.created_at, since)).order_by(Alert.id))
    resolved = _ids(
        session,
        select(Alert.id).where(Alert.resolved_at.is_not(None), *_after(Alert.resolved_at, since)).order_by(Alert.id),
    )
    still_open = _ids(session, select(Alert.id).where(Alert.status != "resolved").order_by(Alert.id))
    monitors = list(session.execute(select(Monitor).where(Monitor.deleted_at.is_(None)).order_by(Monitor.id)).scalars())
    latest: Counter[str] = Counter()
    failing = []
    for monitor in monitors:
        status = session.execute(
            select(MonitorRun.status)
            .where(MonitorRun.monitor_id == monitor.id)
            .order_by(MonitorRun.window_end.desc(), MonitorRun.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        latest[status or "never_run"] += 1
        if status in ("violations", "failed"):
            failing.append(monitor.id)
    return {
        "alerts_opened": _refs("alert", opened),
        "alerts_resolved": _refs("alert", resolved),
        "alerts_open": _refs("alert", still_open),
        "monitors": len(monitors),
        "monitors_latest_status": dict(sorted(latest.items())),
        "monitors_failing": _refs("monitor", failing),
    }


def _audits(session: Session, since: dt.datetime | None) -> dict[str, Any]:
    completed = _ids(
        session,
        select(AimsAudit.id)
        .where(AimsAudit.status == "completed", *_after(AimsAudit.completed_at, since))
        .order_by(AimsAudit.id),
    )
    kinds: Counter[str] = Counter()
    if completed:
        query = select(AimsFinding.kind).where(AimsFinding.audit_id.in_(completed))
        kinds.update(session.execute(query).scalars())
    planned = session.execute(
        select(func.count()).select_from(AimsAudit).where(AimsAudit.status.in_(("planned", "in_progress")))
    ).scalar_one()
    return {
        "completed": _refs("audit", completed),
        "findings_by_kind": {kind: kinds[kind] for kind in FINDING_KINDS},
        "planned_or_in_progress": planned,
    }


def _incidents(session: Session, since: dt.datetime | None) -> dict[str, Any]:
    new = list(session.execute(select(Incident).where(*_after(Incident.created_at, since))).scalars())
    severities = Counter(i.severity for i in new)
    still_open = _ids(session, select(Incident.id).where(Incident.status != "closed").order_by(Incident.id))
    return {
        "opened_since": len(new),
        "opened_by_severity": {severity: severities[severity] for severity in INCIDENT_SEVERITIES},
        "open": _refs("incident", still_open),
    }


def _risks(session: Session) -> dict[str, Any]:
    rows = list(session.execute(select(Risk).where(Risk.status != "closed").order_by(Risk.id)).scalars())
    levels = Counter(r.level for r in rows)
    top = sorted(rows, key=lambda r: (-(r.likelihood * r.impact), r.id))[:_TOP_RISKS]
    return {
        "open_by_level": {level: levels[level] for level in LEVELS},
        "open": len(rows),
        "top": [
            {"ref": f"risk:{r.id}", "title": r.title, "level": r.level, "score": r.likelihood * r.impact} for r in top
        ],
    }


def _opportunities(session: Session, since: dt.datetime | None) -> dict[str, Any]:
    rows = list(
        session.execute(
            select(AimsFinding)
            .where(AimsFinding.kind == "opportunity", *_after(AimsFinding.created_at, since))
            .order_by(AimsFinding.id)
        ).scalars()
    )
    return {
        "findings": bounded([f"finding:{f.id}" for f in rows]),
        "items": [{"ref": f"finding:{f.id}", "title": f.title} for f in rows[:LIST_CAP]],
    }


def assemble_inputs(
    session: Session, *, since: dt.datetime | None, review_id: int | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The inputs of a management review from the store as ``session`` sees it (9.3.2), keyed by
    :data:`~assay.governance.aims.REVIEW_INPUTS` (in its order), with ``assembled_at``, ``since`` and ``cap``."""
    now = now or utcnow()
    today = now.date()
    sections: dict[str, Any] = {
        "previous_actions": _previous_actions(session, review_id, today),
        "context_changes": _context_changes(session, since),
        "objectives": _objectives(session),
        "nonconformities": _nonconformities(session, since, today),
        "monitoring": _monitoring(session, since),
        "audits": _audits(session, since),
        "incidents": _incidents(session, since),
        "risks": _risks(session),
        "opportunities": _opportunities(session, since),
    }
    return {**sections, "assembled_at": now.isoformat(), "since": _iso(since), "cap": LIST_CAP}


def _review(session: Session, review_id: int) -> ManagementReview:
    found = session.get(ManagementReview, review_id)
    if found is None:
        raise NotFound(f"no management review with id {review_id}")
    return found


def _draft(review: ManagementReview, doing: str) -> None:
    if review.status != "draft":
        raise Conflict(
            f"management review {review.id} is closed: {doing} is no longer possible (a closed review is frozen)"
        )


def _since(session: Session, review_id: int | None) -> dt.datetime | None:
    """When the inputs of the latest closed review (other than ``review_id``) were assembled."""
    query = select(ManagementReview).where(ManagementReview.status == "closed")
    if review_id is not None:
        query = query.where(ManagementReview.id != review_id)
    previous = session.execute(
        query.order_by(ManagementReview.closed_at.desc(), ManagementReview.id.desc()).limit(1)
    ).scalar_one_or_none()
    if previous is None:
        return None
    assembled = previous.inputs.get("assembled_at")
    return dt.datetime.fromisoformat(assembled) if isinstance(assembled, str) else previous.created_at


def _attendees(session: Session, attendees: Sequence[str]) -> list[str]:
    if isinstance(attendees, str):
        raise InvalidInput("attendees must be a list of user names")
    names = [require_person(session, "attendees", name.strip()) for name in attendees]
    if not names:
        raise InvalidInput("attendees is empty: name the users who attend")
    return list(dict.fromkeys(names))


class Reviews(Service):
    """Management reviews: open (inputs assembled), refresh, decisions, actions, minutes, close."""

    def open(self, title: str, held_on: str | dt.date, attendees: Sequence[str]) -> ManagementReview:
        """Open a draft review held on ``held_on`` with its attendees (users); its inputs are assembled now."""
        day = parse_day("held_on", held_on)
        if day is None:
            raise InvalidInput("held_on is missing: give the date YYYY-MM-DD")
        with self._write() as tx:
            require_manager(tx, "open a management review")
            review = ManagementReview(
                title=text("title", title, limit=300),
                held_on=day,
                attendees=_attendees(tx.session, attendees),
                inputs=assemble_inputs(tx.session, since=_since(tx.session, None)),
                decisions=[],
                minutes="",
                status="draft",
                created_by=tx.actor,
            )
            tx.session.add(review)
            tx.session.flush()
            tx.record("aims.review.open", review, before=None, payload={"since": review.inputs["since"]})
        return review

    def _change(self, review_id: int, doing: str, verb: str, change: Any, **payload: Any) -> ManagementReview:
        with self._write() as tx:
            review = _review(tx.session, review_id)
            require_manager(tx, f"{doing} of a management review")
            _draft(review, doing)
            before = review.state()
            change(tx, review)
            review.updated_at = utcnow()
            tx.record(f"aims.review.{verb}", review, before=before, payload=payload)
        return review

    def refresh_inputs(self, review_id: int) -> ManagementReview:
        """Assemble a draft review's inputs again from the store as it is now."""

        def refresh(tx: Transaction, review: ManagementReview) -> None:
            review.inputs = assemble_inputs(tx.session, since=_since(tx.session, review.id), review_id=review.id)

        return self._change(review_id, "refreshing the inputs", "refresh", refresh)

    def add_decision(self, review_id: int, decision: str) -> ManagementReview:
        """Record a decision (on improvement, changes to the management system, resources) in a draft review."""
        valid = text("decision", decision, limit=5000)

        def add(tx: Transaction, review: ManagementReview) -> None:
            review.decisions = [*review.decisions, valid]

        return self._change(review_id, "recording a decision", "decide", add, decision=len(valid))

    def set_minutes(self, review_id: int, minutes: str) -> ManagementReview:
        """Record (replace) the minutes of a draft review."""
        valid = text("minutes", minutes, limit=100_000)

        def write(tx: Transaction, review: ManagementReview) -> None:
            review.minutes = valid

        return self._change(review_id, "writing the minutes", "minutes", write)

    def set_attendees(self, review_id: int, attendees: Sequence[str]) -> ManagementReview:
        """Replace the attendees of a draft review."""

        def write(tx: Transaction, review: ManagementReview) -> None:
            review.attendees = _attendees(tx.session, attendees)

        return self._change(review_id, "changing the attendees", "attendees", write)

    def add_action(
        self, review_id: int, description: str, *, owner: str, due_date: str | dt.date | None = None
    ) -> CorrectiveAction:
        """Record an action decided by a draft review (a corrective action with the review's id), with its owner
        (a user) and due date."""
        due = parse_day("due_date", due_date)
        with self._write() as tx:
            review = _review(tx.session, review_id)
            require_manager(tx, "record an action of a management review")
            _draft(review, "adding an action")
            action = CorrectiveAction(
                review_id=review.id,
                description=text("description", description, limit=20_000),
                owner=require_person(tx.session, "owner", owner),
                due_date=due,
                status="open",
            )
            tx.session.add(action)
            tx.session.flush()
            tx.record("corrective_action.create", action, before=None, payload={"review_id": review.id})
        return action

    def complete_action(self, action_id: int, *, note: str = "", review: int | None = None) -> CorrectiveAction:
        """Mark an action of a review (of ``review``, when given) done: its owner or a manager; also once the review is
        closed (the next review reports it among ``previous_actions``)."""
        with self._write() as tx:
            action = tx.session.get(CorrectiveAction, action_id)
            if action is None or action.review_id is None or review not in (None, action.review_id):
                where = "a management review" if review is None else f"management review {review}"
                raise NotFound(f"no action of {where} with id {action_id}")
            if not (action.owner == tx.actor and (tx.authenticated or single_user(tx))):
                require_manager(tx, "complete an action of a management review")
            if action.status == "done":
                raise Conflict(f"action {action_id} is already done")
            before = action.state()
            action.status = "done"
            action.completed_at = utcnow()
            tx.record(
                "corrective_action.complete",
                action,
                before=before,
                payload={"review_id": action.review_id, "note": note},
            )
        return action

    def close(self, review_id: int) -> ManagementReview:
        """Close a draft review that has its minutes: it is frozen from then on."""
        with self._write() as tx:
            review = _review(tx.session, review_id)
            require_manager(tx, "close a management review")
            _draft(review, "closing it")
            if not review.minutes:
                raise Conflict(f"management review {review_id} has no minutes: write them before closing it")
            before = review.state()
            now = utcnow()
            review.status = "closed"
            review.closed_at = now
            review.updated_at = now
            tx.record("aims.review.close", review, before=before, payload={})
        return review

    def get(self, review_id: int) -> ManagementReview:
        with self._read() as session:
            return _review(session, review_id)

    def detail(self, review_id: int) -> dict[str, Any]:
        """The review with its actions (each with ``overdue``)."""
        today = dt.date.today()
        with self._read() as session:
            review = _review(session, review_id)
            query = (
                select(CorrectiveAction).where(CorrectiveAction.review_id == review.id).order_by(CorrectiveAction.id)
            )
            actions = [
                {**a.state(), "overdue": overdue(a.due_date, a.status, today)} for a in session.execute(query).scalars()
            ]
            return {**review.state(), "actions": actions}

    def list(self, *, status: str | None = None) -> list[ManagementReview]:
        """Reviews, newest held first."""
        query = select(ManagementReview)
        if status is not None:
            if status not in ("draft", "closed"):
                raise InvalidInput(f"status must be one of draft, closed, not {status!r}")
            query = query.where(ManagementReview.status == status)
        with self._read() as session:
            query = query.order_by(ManagementReview.held_on.desc(), ManagementReview.id.desc())
            return list(session.execute(query).scalars())
