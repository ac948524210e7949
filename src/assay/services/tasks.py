"""``workspace.tasks``: what a person has to do, from the store, each with the page that does it and its due date.

=====================  ==============================================================================================
kind                   what, and for whom
=====================  ==============================================================================================
``approval``           a pending approval request on a system the person may approve on, not theirs, not yet decided
                       by them
``review``             the open items of a review queue the person may work on (one task per system: how many, the
                       earliest due), and each open item they have claimed
``risk``               an open risk they own, or on a system they own, whose review date passed or is within 14 days
``evidence``           evidence on a system they own expiring within 30 days or expired (unless newer evidence for the
                       same control is valid beyond that)
``corrective-action``  an open action (of an incident, a nonconformity or a management review) they own
``nonconformity``      an open nonconformity they own
``training``           a training their governance roles require: never done, expired or expiring within 30 days
``document-review``    an approved document they own whose review is due within 30 days
``objective``          an active objective they own, due within 30 days
``stale-request``      their own pending approval request whose frozen state changed (withdraw it and ask again)
=====================  ==============================================================================================

Each source is one or two bounded queries (``LIMIT`` :data:`PER_SOURCE`), never a loop over systems: the header's
count is built from the same list (:meth:`Tasks.count`) and cached by the web shell per ledger head and day.
A system's owners are its owner members and the person named in its ``owner`` field.

Each person's list is also kept from one head of the ledger to the next, by source: every change of what a source
reads appends an audit event naming the changed table, so at a newer head only the sources whose tables the events
since touched are asked again (a risk's review date changed: the risk, approval and stale-request sources; the
other seven are kept). Each source declares the tables it reads (:data:`SOURCE_TABLES`); a test holds the
declarations to the statements the sources run.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, String, cast, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from assay.services._base import Service
from assay.services.access import Principal, allowed, viewer_principal
from assay.services.aims.competence import requirements
from assay.services.approvals import current_digests
from assay.store import audit
from assay.store.models import (
    AimsDocument,
    AimsObjective,
    ApprovalDecision,
    ApprovalRequest,
    CorrectiveAction,
    Evidence,
    Incident,
    Membership,
    Model,
    ModelVersion,
    Nonconformity,
    ReviewItem,
    Risk,
    System,
    User,
)

__all__ = ["PER_SOURCE", "RISK_DAYS", "SOURCE_TABLES", "WITHIN_DAYS", "Tasks", "owned_systems"]

PER_SOURCE: Final = 200  # a bound on each source (a person with more has a backlog the lists page through)
RISK_DAYS: Final = 14
WITHIN_DAYS: Final = 30


def owned_systems(name: str) -> ColumnElement[bool]:
    """The SQL condition on ``System`` of the systems ``name`` owns (an owner membership, or named its owner)."""
    member = (
        select(Membership.system_id)
        .join(User, User.id == Membership.user_id)
        .where(User.name == name, Membership.role == "owner")
    )
    return or_(System.id.in_(member), System.owner == name)


def _systems_with(session: Session, who: Principal, action: Any) -> ColumnElement[bool] | None:
    """The condition on ``System.id`` of the systems ``who`` may ``action`` on (None: every system)."""
    if who.role == "admin":
        return None
    names = [s for s in who.memberships if allowed(who, action, s)]
    ids = select(System.id).where(System.name.in_(names or [""]))
    return System.id.in_(ids)


def _task(
    kind: str,
    what: str,
    link: str,
    today: dt.date,
    *,
    due: dt.date | dt.datetime | None = None,
    system: str | None = None,
    ref: str = "",
) -> dict[str, Any]:
    day = due.date() if isinstance(due, dt.datetime) else due
    return {
        "kind": kind,
        "what": what,
        "system": system,
        "due": None if due is None else due.isoformat(),
        "overdue": day is not None and day < today,
        "link": link,
        "ref": ref,
    }


class Tasks(Service):
    """The acting user's task list: ``ws.tasks()`` (a list of dicts), ``ws.tasks.count()``."""

    def _principal(self, session: Session) -> Principal:
        found = viewer_principal(session)
        if found is not None:
            return found
        name = self.ws.actor  # the workspace's own user: their records by name, and any roles they hold as a user
        user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is None:
            return Principal(name, "member")
        rows = session.execute(
            select(System.name, Membership.role)
            .join(Membership, Membership.system_id == System.id)
            .where(Membership.user_id == user.id)
        )
        return Principal(user.name, user.role, {row[0]: row[1] for row in rows})

    def __call__(self, *, today: dt.date | None = None) -> list[dict[str, Any]]:
        """The acting user's tasks: undated and overdue first, then by due date."""
        day = today or dt.date.today()
        with self._read() as session:
            who = self._principal(session)
            head = audit.head_seq(session)  # read first: what the sources read next is at least this new
            person = (who.name, who.role, who.scope, tuple(sorted(who.memberships.items())), day)
            kept = _kept(session, person)
            if kept is not None and kept.head == head:
                by_source = kept.by_source
            else:
                stale = _stale_sources(session, kept, head)
                by_source = {
                    name: _SOURCES[name](session, who, day) if kept is None or name in stale else kept.by_source[name]
                    for name in _SOURCES
                }
                _keep(session, person, _KeptTasks(head, by_source))
        found = [dict(task) for tasks in by_source.values() for task in tasks]
        found.sort(key=lambda t: (t["due"] is not None and not t["overdue"], t["due"] or "", t["kind"], t["ref"]))
        return found

    def count(self, *, today: dt.date | None = None) -> int:
        return len(self(today=today))


def _pending(*where: ColumnElement[bool]) -> Any:
    """Pending requests (id, version, frozen digest, stage, requester) with their system, model and version names,
    as plain rows (one statement: no ORM objects, no decisions)."""
    return (
        select(
            ApprovalRequest.id,
            ApprovalRequest.model_version_id,
            ApprovalRequest.state_digest,
            ApprovalRequest.stage,
            ApprovalRequest.requested_by,
            System.name.label("system"),
            Model.name.label("model"),
            ModelVersion.version,
        )
        .join(ModelVersion, ModelVersion.id == ApprovalRequest.model_version_id)
        .join(Model, Model.id == ModelVersion.model_id)
        .join(System, System.id == Model.system_id)
        .where(ApprovalRequest.status == "pending", *where)
        .order_by(ApprovalRequest.id)
        .limit(PER_SOURCE)
    )


def _fresh(session: Session, rows: list[Any]) -> list[Any]:
    """The pending requests whose frozen state is still the current one (the digests kept per head of the ledger)."""
    current = current_digests(session, {row.model_version_id for row in rows}, read=True)
    return [row for row in rows if current[row.model_version_id] == row.state_digest]


def _approvals(session: Session, who: Principal, today: dt.date) -> list[dict[str, Any]]:
    if who.scope != "write" or not (who.role == "admin" or any(r == "approver" for r in who.memberships.values())):
        return []
    decided = exists().where(ApprovalDecision.request_id == ApprovalRequest.id, ApprovalDecision.approver == who.name)
    query = _pending(ApprovalRequest.requested_by != who.name, ~decided)
    if (where := _systems_with(session, who, "approve")) is not None:
        query = query.where(where)
    fresh = _fresh(session, list(session.execute(query)))  # a stale request cannot be decided: its requester's task
    return [
        _task(
            "approval",
            f"decide the request to move {row.model}@{row.version} of {row.system} to {row.stage} "
            f"(asked by {row.requested_by})",
            f"/systems/{row.system}/approvals",
            today,
            system=row.system,
            ref=f"approval:{row.id}",
        )
        for row in fresh
    ]


def _reviews(session: Session, who: Principal, today: dt.date) -> list[dict[str, Any]]:
    where = _systems_with(session, who, "review")
    if where is None and who.role != "admin":
        return []
    tasks = []
    waiting = (
        select(System.name, func.count(ReviewItem.id), func.min(ReviewItem.due_at))
        .join(System, System.id == ReviewItem.system_id)
        .where(ReviewItem.status.in_(("pending", "escalated")))
        .group_by(System.name)
        .order_by(System.name)
        .limit(PER_SOURCE)
    )
    if where is not None:
        waiting = waiting.where(where)
    for system, count, due in session.execute(waiting):
        tasks.append(
            _task(
                "review",
                f"{count} item{'s' if count != 1 else ''} waiting in the review queue of {system}",
                f"/systems/{system}/review",
                today,
                due=due,
                system=system,
                ref=f"review-queue:{system}",
            )
        )
    needle = json.dumps(who.name)[1:-1]
    claimed = (
        select(ReviewItem, System.name)
        .join(System, System.id == ReviewItem.system_id)
        .where(ReviewItem.status != "decided", cast(ReviewItem.claims, String).contains(needle, autoescape=True))
        .order_by(ReviewItem.due_at, ReviewItem.id)
        .limit(PER_SOURCE)
    )
    for item, system in session.execute(claimed):
        if any(c.get("reviewer") == who.name for c in item.claims):  # narrowed in SQL, judged on the claims
            tasks.append(
                _task(
                    "review",
                    f"decide review item {item.id} ({item.inference_id}) you claimed on {system}",
                    f"/systems/{system}/review/{item.id}",
                    today,
                    due=item.due_at,
                    system=system,
                    ref=f"review-item:{item.id}",
                )
            )
    return tasks


def _risks(session: Session, who: Principal, today: dt.date) -> list[dict[str, Any]]:
    horizon = today + dt.timedelta(days=RISK_DAYS)
    query = (
        select(Risk, System.name)
        .join(System, System.id == Risk.system_id)
        .where(
            Risk.status == "open",
            Risk.review_date <= horizon,
            or_(Risk.owner == who.name, owned_systems(who.name)),
        )
        .order_by(Risk.review_date, Risk.id)
        .limit(PER_SOURCE)
    )
    return [
        _task(
            "risk",
            f"review risk {risk.id} of {system}: {risk.title}",
            f"/systems/{system}/risks",
            today,
            due=risk.review_date,
            system=system,
            ref=f"risk:{risk.id}",
        )
        for risk, system in session.execute(query)
    ]


def _evidence(session: Session, who: Principal, today: dt.date) -> list[dict[str, Any]]:
    horizon = today + dt.timedelta(days=WITHIN_DAYS)
    newer = aliased(Evidence)
    replaced = exists().where(
        newer.system_id == Evidence.system_id,
        newer.framework == Evidence.framework,
        newer.control_id == Evidence.control_id,
        newer.revoked_at.is_(None),
        or_(newer.valid_until.is_(None), newer.valid_until > horizon),
    )
    query = (
        select(Evidence, System.name)
        .join(System, System.id == Evidence.system_id)
        .where(
            Evidence.revoked_at.is_(None),
            Evidence.valid_until <= horizon,
            owned_systems(who.name),
            ~replaced,
        )
        .order_by(Evidence.valid_until, Evidence.id)
        .limit(PER_SOURCE)
    )
    tasks = []
    for ev, system in session.execute(query):
        verb = "expired" if ev.valid_until is not None and ev.valid_until < today else "expires"
        tasks.append(
            _task(
                "evidence",
                f"evidence {ev.id} for {ev.framework} {ev.control_id} of {system} {verb}: renew it",
                f"/systems/{system}/controls",
                today,
                due=ev.valid_until,
                system=system,
                ref=f"evidence:{ev.id}",
            )
        )
    return tasks


def _actions(session: Session, who: Principal, today: dt.date) -> list[dict[str, Any]]:
    query = (
        select(CorrectiveAction, System.name)
        .outerjoin(Incident, Incident.id == CorrectiveAction.incident_id)
        .outerjoin(System, System.id == Incident.system_id)
        .where(CorrectiveAction.owner == who.name, CorrectiveAction.status != "done")
        .order_by(CorrectiveAction.due_date, CorrectiveAction.id)
        .limit(PER_SOURCE)
    )
    tasks = []
    for action, system in session.execute(query):
        if action.incident_id is not None and system is not None:
            of, link = f"incident {action.incident_id} of {system}", f"/systems/{system}/incidents"
        elif action.nonconformity_id is not None:
            of, link = f"nonconformity {action.nonconformity_id}", "/aims/nonconformities"
        else:
            of, link = f"management review {action.review_id}", f"/aims/reviews/{action.review_id}"
        tasks.append(
            _task(
                "corrective-action",
                f"{action.description} (action {action.id} of {of})",
                link,
                today,
                due=action.due_date,
                system=system,
                ref=f"corrective-action:{action.id}",
            )
        )
    return tasks


def _nonconformities(session: Session, who: Principal, today: dt.date) -> list[dict[str, Any]]:
    query = (
        select(Nonconformity)
        .where(Nonconformity.owner == who.name, Nonconformity.status != "closed")
        .order_by(Nonconformity.due_date, Nonconformity.id)
        .limit(PER_SOURCE)
    )
    return [
        _task(
            "nonconformity",
            f"nonconformity {nc.id} ({nc.status}): {nc.title}",
            "/aims/nonconformities",
            today,
            due=nc.due_date,
            ref=f"nonconformity:{nc.id}",
        )
        for nc in session.execute(query).scalars()
    ]


def _trainings(session: Session, who: Principal, today: dt.date) -> list[dict[str, Any]]:
    tasks = []
    for need in requirements(session, today, WITHIN_DAYS, person=who.name)[:PER_SOURCE]:
        if need["state"] == "current":
            continue
        verb = {"missing": "complete", "expired": "renew (expired)", "expiring": "renew"}[need["state"]]
        due = dt.date.fromisoformat(need["expires_on"]) if need["expires_on"] else None
        tasks.append(
            _task(
                "training",
                f"{verb} training {need['training']}: {need['title']}",
                "/aims/training",
                today,
                due=due,
                ref=f"training:{need['training']}",
            )
        )
    return tasks


def _documents(session: Session, who: Principal, today: dt.date) -> list[dict[str, Any]]:
    horizon = today + dt.timedelta(days=WITHIN_DAYS)
    query = (
        select(AimsDocument)
        .where(AimsDocument.owner == who.name, AimsDocument.status == "approved", AimsDocument.next_review <= horizon)
        .order_by(AimsDocument.next_review, AimsDocument.id)
        .limit(PER_SOURCE)
    )
    return [
        _task(
            "document-review",
            f"review {doc.key} v{doc.version}: {doc.title}",
            "/aims/documents",
            today,
            due=doc.next_review,
            ref=f"document:{doc.id}",
        )
        for doc in session.execute(query).scalars()
    ]


def _objectives(session: Session, who: Principal, today: dt.date) -> list[dict[str, Any]]:
    horizon = today + dt.timedelta(days=WITHIN_DAYS)
    query = (
        select(AimsObjective)
        .where(AimsObjective.owner == who.name, AimsObjective.status == "active", AimsObjective.due_date <= horizon)
        .order_by(AimsObjective.due_date, AimsObjective.id)
        .limit(PER_SOURCE)
    )
    return [
        _task(
            "objective",
            f"reach objective {o.key}: {o.title}",
            "/aims/objectives",
            today,
            due=o.due_date,
            ref=f"objective:{o.key}",
        )
        for o in session.execute(query).scalars()
    ]


def _stale_requests(session: Session, who: Principal, today: dt.date) -> list[dict[str, Any]]:
    rows = list(session.execute(_pending(ApprovalRequest.requested_by == who.name)))
    fresh = {row.id for row in _fresh(session, rows)}
    return [
        _task(
            "stale-request",
            f"your request to move {row.model}@{row.version} of {row.system} to {row.stage} is stale (what it "
            "froze changed): withdraw it and ask again",
            f"/systems/{row.system}/approvals",
            today,
            system=row.system,
            ref=f"approval:{row.id}",
        )
        for row in rows
        if row.id not in fresh
    ]


_Source = Callable[[Session, Principal, dt.date], list[dict[str, Any]]]
_SOURCES: Final[dict[str, _Source]] = {
    "approvals": _approvals,
    "reviews": _reviews,
    "risks": _risks,
    "evidence": _evidence,
    "actions": _actions,
    "nonconformities": _nonconformities,
    "trainings": _trainings,
    "documents": _documents,
    "objectives": _objectives,
    "stale_requests": _stale_requests,
}
_FROZEN: Final = frozenset({"model_versions", "models", "assessments", "risks"})  # what an approval's digest reads
_OWNERS: Final = frozenset({"systems", "memberships", "users"})  # owned_systems and a principal's memberships
SOURCE_TABLES: Final[dict[str, frozenset[str]]] = {
    "approvals": _FROZEN | _OWNERS | {"approval_requests", "approval_decisions"},
    "reviews": _OWNERS | {"review_items"},
    "risks": _OWNERS | {"risks"},
    "evidence": _OWNERS | {"evidence"},
    "actions": frozenset({"corrective_actions", "incidents", "systems"}),
    "nonconformities": frozenset({"nonconformities"}),
    "trainings": frozenset({"aims_trainings", "aims_training_records", "aims_roles", "memberships", "users"}),
    "documents": frozenset({"aims_documents"}),
    "objectives": frozenset({"aims_objectives"}),
    "stale_requests": _FROZEN | {"systems", "approval_requests", "approval_decisions"},
}
"""The governed tables each source reads: a change to one of them (an audit event naming it) asks the source again."""
_ALL_TABLES: Final = tuple(sorted(set().union(*SOURCE_TABLES.values())))


@dataclass(frozen=True)
class _KeptTasks:
    head: int
    by_source: dict[str, list[dict[str, Any]]]


# Each person's tasks by source at one head of the ledger, per database (its engine), for the most recent people
# (user, role, scope, memberships, day): a newer head asks only the sources whose tables changed since.
_KEPT: weakref.WeakKeyDictionary[Any, OrderedDict[tuple[Any, ...], _KeptTasks]] = weakref.WeakKeyDictionary()
_KEPT_LOCK = threading.Lock()
_KEPT_PEOPLE: Final = 1024


def _kept(session: Session, person: tuple[Any, ...]) -> _KeptTasks | None:
    with _KEPT_LOCK:
        return _KEPT.get(session.get_bind(), OrderedDict()).get(person)


def _keep(session: Session, person: tuple[Any, ...], tasks: _KeptTasks) -> None:
    with _KEPT_LOCK:
        people = _KEPT.setdefault(session.get_bind(), OrderedDict())
        current = people.get(person)
        if current is not None and current.head > tasks.head:
            return  # a newer head is kept already
        people[person] = tasks
        people.move_to_end(person)
        while len(people) > _KEPT_PEOPLE:
            people.popitem(last=False)


def _stale_sources(session: Session, kept: _KeptTasks | None, head: int) -> set[str]:
    """The sources to ask again at ``head``: every one when nothing is kept, the kept head is newer (the ledger was
    rebuilt) or the events since cannot be read cheaply; else those whose tables the events since touched."""
    if kept is None or kept.head > head:
        return set(_SOURCES)
    touched = audit.touched(session, kept.head, head, _ALL_TABLES)
    if touched is None:
        return set(_SOURCES)
    changed = {table for table, ids in touched.items() if ids}
    return {name for name, tables in SOURCE_TABLES.items() if tables & changed}


def forget() -> None:
    """Drop every kept task list (as a server start does)."""
    with _KEPT_LOCK:
        _KEPT.clear()
