"""``ws.aims.nonconformities``: nonconformities and corrective action (ISO/IEC 42001 10.2).

A nonconformity comes from a source (:data:`~assay.governance.aims.NONCONFORMITY_SOURCES`: an audit finding, an
incident, a gate failure, a monitoring alert, a complaint, a management review, other) named by ``source_ref``
(``incident:ID``, ``gate:ID``, ``alert:ID`` and ``finding:ID`` must exist). It moves
``open -> verification -> closed``: the correction and root cause are recorded, corrective actions (rows of
``corrective_actions``, each with an owner and a due date) are added and completed; when every action is done it goes
to ``verification``, where an effectiveness review (by someone other than the actions' owners, in a multi-user
workspace) finds it effective, and only then it closes; an ineffective review reopens it and a new action is needed.

Incidents' corrective actions are actions of the incident's nonconformity (source ``incident``, opened with the first
action: :func:`incident_nonconformity`), so there is one action system. Who may change one: a manager of the
management system, the nonconformity's owner, or the owner of its AI system (who may also open one for it).
"""

from __future__ import annotations

import builtins
import datetime as dt
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import func, select

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.governance.aims import NONCONFORMITY_SOURCES, NONCONFORMITY_STATUSES, one_of
from assay.governance.aims_audit import RECORD_TYPES, overdue, text
from assay.services._base import Listing, Service, listing, single_user
from assay.services.aims._base import require_manager, require_person
from assay.services.aims._refs import check_ref, parse_day, system_named, system_owners
from assay.store.models import (
    AimsFinding,
    Alert,
    CorrectiveAction,
    GateRun,
    Incident,
    Nonconformity,
    System,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.database import Transaction

__all__ = [
    "SEVERITIES",
    "Nonconformities",
    "add_action",
    "incident_nonconformity",
    "open_nonconformity",
    "require_keeper",
]

SEVERITIES: Final = ("major", "minor")
# sources whose reference must name an existing record, and the record type it names
_REFERENCED: Final[dict[str, str]] = {"incident": "incident", "gate": "gate", "alert": "alert", "audit": "finding"}
_MODELS: Final[dict[str, type[Any]]] = {"incident": Incident, "gate": GateRun, "alert": Alert, "finding": AimsFinding}


def _source_ref(session: Session, source: str, ref: str) -> tuple[str, int | None]:
    """The canonical reference of a nonconformity's source and the AI system it implies (an incident's, a gate
    run's or an alert's system)."""
    ref = text("source_ref", ref, limit=200)
    kind = _REFERENCED.get(source)
    if kind is not None:
        ident = ref.partition(":")[2] if ":" in ref else ref
        prefix = ref.partition(":")[0].strip().lower() if ":" in ref else kind
        if prefix != kind:
            raise InvalidInput(f"source_ref of a nonconformity from {source!r} must be {kind}:ID, not {ref!r}")
        if not ident.strip().isdigit():
            raise InvalidInput(f"source_ref: the {kind} id in {ref!r} must be a whole number")
        found = session.get(_MODELS[kind], int(ident))
        if found is None:
            raise InvalidInput(f"source_ref: no {kind} with id {int(ident)} ({ref!r})")
        return f"{kind}:{int(ident)}", getattr(found, "system_id", None)
    prefix = ref.partition(":")[0].strip().lower()
    if ":" in ref and prefix in RECORD_TYPES:  # names a record of Assay: it must exist
        canonical, found = check_ref(session, "source_ref", ref)
        return canonical, (found.id if isinstance(found, System) else getattr(found, "system_id", None))
    return ref, None  # a reference outside Assay (a complaint's ticket, ...)


def require_keeper(tx: Transaction, nc: Nonconformity, what: str) -> None:
    """Refuse ``what`` unless the actor is the nonconformity's owner, an owner of its AI system, or a manager."""
    _require_keeper(tx, nc.owner, nc.system_id, what)


def _require_keeper(tx: Transaction, owner: str, system_id: int | None, what: str) -> None:
    if tx.authenticated or single_user(tx):
        if owner and tx.actor == owner:
            return
        system = None if system_id is None else tx.session.get(System, system_id)
        if system is not None and tx.actor in system_owners(tx.session, system):
            return
    require_manager(tx, what)


def open_nonconformity(
    tx: Transaction,
    *,
    source: str,
    source_ref: str,
    title: str,
    description: str = "",
    severity: str = "minor",
    system_id: int | None = None,
    owner: str = "",
    due_date: dt.date | None = None,
    **payload: Any,
) -> Nonconformity:
    """Record a new open nonconformity in ``tx`` (the caller checked who may): the audit service (a finding), the
    incidents service (the first corrective action) and :meth:`Nonconformities.open` call this."""
    one_of("source", source, NONCONFORMITY_SOURCES)
    one_of("severity", severity, SEVERITIES)
    ref, implied = _source_ref(tx.session, source, source_ref)
    if implied is not None and system_id is not None and implied != system_id:
        raise InvalidInput(f"system: {source_ref!r} belongs to another AI system than the one given")
    nc = Nonconformity(
        source=source,
        source_ref=ref,
        system_id=system_id if system_id is not None else implied,
        title=text("title", title, limit=300),
        description=text("description", description, limit=20_000, required=False),
        severity=severity,
        status="open",
        owner=owner,
        due_date=due_date,
        created_by=tx.actor,
    )
    tx.session.add(nc)
    tx.session.flush()
    tx.record("aims.nonconformity.open", nc, before=None, payload={"source": source, "source_ref": ref, **payload})
    return nc


def add_action(
    tx: Transaction,
    nc: Nonconformity,
    description: str,
    *,
    owner: str = "",
    due_date: dt.date | None = None,
    incident_id: int | None = None,
    review_id: int | None = None,
    **payload: Any,
) -> CorrectiveAction:
    """Add an open corrective action to ``nc`` in ``tx`` (the caller checked who may and that ``nc`` takes one)."""
    action = CorrectiveAction(
        nonconformity_id=nc.id,
        incident_id=incident_id,
        review_id=review_id,
        description=text("description", description, limit=20_000),
        owner=owner,
        due_date=due_date,
        status="open",
    )
    tx.session.add(action)
    tx.session.flush()
    tx.record("corrective_action.create", action, before=None, payload={"nonconformity_id": nc.id, **payload})
    return action


def _reopen(tx: Transaction, nc: Nonconformity, why: str) -> None:
    before = nc.state()
    nc.status = "open"
    nc.updated_at = utcnow()
    tx.record("aims.nonconformity.reopen", nc, before=before, payload={"why": why})


def incident_nonconformity(tx: Transaction, incident: Incident) -> Nonconformity:
    """The nonconformity an incident's corrective actions belong to: the incident's latest one that is not closed,
    back to ``open`` if it was in verification (a new action is being added), or a new one (source ``incident``)."""
    ref = f"incident:{incident.id}"
    current = tx.session.execute(
        select(Nonconformity)
        .where(Nonconformity.source == "incident", Nonconformity.source_ref == ref, Nonconformity.status != "closed")
        .order_by(Nonconformity.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if current is None:
        return open_nonconformity(
            tx,
            source="incident",
            source_ref=ref,
            title=f"Incident {incident.id}: {incident.title}"[:300],
            description=incident.description,
            severity="major" if incident.severity in ("high", "critical") else "minor",
            system_id=incident.system_id,
        )
    if current.status == "verification":
        _reopen(tx, current, f"a corrective action was added to incident {incident.id}")
    return current


def _nc(session: Session, nc_id: int) -> Nonconformity:
    found = session.get(Nonconformity, nc_id)
    if found is None:
        raise NotFound(f"no nonconformity with id {nc_id}")
    return found


def _actions(session: Session, nc_id: int) -> list[CorrectiveAction]:
    query = select(CorrectiveAction).where(CorrectiveAction.nonconformity_id == nc_id).order_by(CorrectiveAction.id)
    return list(session.execute(query).scalars())


def _system_name(session: Session, system_id: int | None) -> str | None:
    return None if system_id is None else session.execute(select(System.name).where(System.id == system_id)).scalar()


def _person(session: Session, field: str, name: str | None) -> str:
    return "" if not name else require_person(session, field, name)


class Nonconformities(Service):
    """Nonconformities: open, list, show, record correction and root cause, corrective actions, verification,
    the effectiveness review, close."""

    def open(
        self,
        source: str,
        source_ref: str,
        title: str,
        *,
        description: str = "",
        severity: str = "minor",
        system: str | None = None,
        owner: str | None = None,
        due_date: str | dt.date | None = None,
    ) -> Nonconformity:
        """Open a nonconformity. One of an AI system (given, or implied by an incident, gate run or alert) may be
        opened by the system's owner; any other needs a manager."""
        due = parse_day("due_date", due_date)
        with self._write() as tx:
            target = None if system is None else system_named(tx.session, "system", system)
            owner_name = _person(tx.session, "owner", owner)
            one_of("source", source, NONCONFORMITY_SOURCES)
            _, implied = _source_ref(tx.session, source, source_ref)
            _require_keeper(tx, "", target.id if target is not None else implied, "open a nonconformity")
            return open_nonconformity(
                tx, source=source, source_ref=source_ref, title=title, description=description, severity=severity,
                system_id=target.id if target is not None else None, owner=owner_name, due_date=due,
            )  # fmt: skip

    def get(self, nc_id: int) -> Nonconformity:
        with self._read() as session:
            return _nc(session, nc_id)

    def detail(self, nc_id: int) -> dict[str, Any]:
        """The nonconformity with its system's name, its corrective actions (each with ``overdue``) and the audit
        findings that opened it."""
        today = dt.date.today()
        with self._read() as session:
            nc = _nc(session, nc_id)
            findings = session.execute(select(AimsFinding).where(AimsFinding.nonconformity_id == nc.id)).scalars()
            return {
                **nc.state(),
                "system": _system_name(session, nc.system_id),
                "actions": [
                    {**a.state(), "overdue": overdue(a.due_date, a.status, today)} for a in _actions(session, nc.id)
                ],
                "findings": [f"finding:{f.id}" for f in findings],
            }

    def list(
        self,
        *,
        status: str | None = None,
        source: str | None = None,
        system: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Listing[Nonconformity]:
        """Nonconformities, oldest first; optionally of one status, source or AI system."""
        query = select(Nonconformity)
        if status is not None:
            query = query.where(Nonconformity.status == one_of("status", status, NONCONFORMITY_STATUSES))
        if source is not None:
            query = query.where(Nonconformity.source == one_of("source", source, NONCONFORMITY_SOURCES))
        with self._read() as session:
            if system is not None:
                query = query.where(Nonconformity.system_id == system_named(session, "system", system).id)
            return listing(session, query.order_by(Nonconformity.id), limit, offset)

    def summary(self) -> builtins.list[dict[str, Any]]:
        """Every nonconformity as a row with its system's name and its actions' counts (open, done, overdue)."""
        today = dt.date.today()
        with self._read() as session:
            names = {row[0]: row[1] for row in session.execute(select(System.id, System.name))}
            actions: dict[int, list[CorrectiveAction]] = {}
            query = select(CorrectiveAction).where(CorrectiveAction.nonconformity_id.is_not(None))
            for a in session.execute(query).scalars():
                actions.setdefault(a.nonconformity_id or 0, []).append(a)
            rows = []
            for nc in session.execute(select(Nonconformity).order_by(Nonconformity.id)).scalars():
                mine = actions.get(nc.id, [])
                rows.append({
                    **nc.state(),
                    "system": names.get(nc.system_id) if nc.system_id is not None else None,
                    "actions": {
                        "open": sum(a.status == "open" for a in mine),
                        "done": sum(a.status == "done" for a in mine),
                        "overdue": sum(overdue(a.due_date, a.status, today) for a in mine),
                    },
                })  # fmt: skip
            return rows

    def update(
        self,
        nc_id: int,
        *,
        correction: str | None = None,
        root_cause: str | None = None,
        description: str | None = None,
        severity: str | None = None,
        owner: str | None = None,
        due_date: str | dt.date | None = None,
    ) -> Nonconformity:
        """Record the correction (what was done at once), the root cause, or change the description, severity, owner
        or due date of an open nonconformity."""
        due = parse_day("due_date", due_date)
        with self._write() as tx:
            nc = _nc(tx.session, nc_id)
            require_keeper(tx, nc, "change a nonconformity")
            if nc.status != "open":
                raise Conflict(f"nonconformity {nc_id} is {nc.status}: only an open one changes")
            before = nc.state()
            if correction is not None:
                nc.correction = text("correction", correction, limit=20_000)
            if root_cause is not None:
                nc.root_cause = text("root_cause", root_cause, limit=20_000)
            if description is not None:
                nc.description = text("description", description, limit=20_000, required=False)
            if severity is not None:
                nc.severity = one_of("severity", severity, SEVERITIES)
            if owner is not None:
                nc.owner = _person(tx.session, "owner", owner)
            if due is not None:
                nc.due_date = due
            changed = sorted(k for k, v in before.items() if nc.state()[k] != v)
            if not changed:
                raise InvalidInput(
                    "nothing to change: give a correction, root cause, description, severity, owner or due date"
                )
            nc.updated_at = utcnow()
            tx.record("aims.nonconformity.update", nc, before=before, payload={"changed": changed})
        return nc

    def add_action(
        self, nc_id: int, description: str, *, owner: str | None = None, due_date: str | dt.date | None = None
    ) -> CorrectiveAction:
        """Add a corrective action (an owner who is a user, a due date) to an open nonconformity."""
        due = parse_day("due_date", due_date)
        with self._write() as tx:
            nc = _nc(tx.session, nc_id)
            require_keeper(tx, nc, "add a corrective action")
            if nc.status != "open":
                raise Conflict(
                    f"nonconformity {nc_id} is {nc.status}: actions are added while it is open (an ineffective "
                    "effectiveness review reopens it)"
                )
            return add_action(tx, nc, description, owner=_person(tx.session, "owner", owner), due_date=due)

    def complete_action(self, action_id: int, *, note: str = "", nonconformity: int | None = None) -> CorrectiveAction:
        """Mark a corrective action of an open nonconformity (of ``nonconformity``, when given) done: by its owner, or
        whoever keeps the nonconformity."""
        with self._write() as tx:
            action = tx.session.get(CorrectiveAction, action_id)
            if (
                action is None
                or action.nonconformity_id is None
                or nonconformity not in (None, action.nonconformity_id)
            ):
                where = "a nonconformity" if nonconformity is None else f"nonconformity {nonconformity}"
                raise NotFound(f"no corrective action of {where} with id {action_id}")
            nc = _nc(tx.session, action.nonconformity_id)
            if not (action.owner and action.owner == tx.actor and (tx.authenticated or single_user(tx))):
                require_keeper(tx, nc, "complete a corrective action")
            if action.status == "done":
                raise Conflict(f"corrective action {action_id} is already done")
            if nc.status != "open":
                raise Conflict(f"nonconformity {nc.id} is {nc.status}: its actions no longer change")
            before = action.state()
            action.status = "done"
            action.completed_at = utcnow()
            tx.record(
                "corrective_action.complete", action, before=before,
                payload={"nonconformity_id": nc.id, "incident_id": action.incident_id, "note": note},
            )  # fmt: skip
        return action

    def verify(self, nc_id: int, *, note: str = "") -> Nonconformity:
        """Move an open nonconformity to ``verification``: its root cause is recorded, it has corrective actions and
        every one is done (after an ineffective review, a new action too)."""
        with self._write() as tx:
            nc = _nc(tx.session, nc_id)
            require_keeper(tx, nc, "move a nonconformity to verification")
            if nc.status != "open":
                raise Conflict(f"nonconformity {nc_id} is {nc.status}: only an open one moves to verification")
            if not nc.root_cause:
                raise Conflict(f"nonconformity {nc_id} has no root cause: record it first (`assay aims nc update`)")
            actions = _actions(tx.session, nc.id)
            if not actions:
                raise Conflict(f"nonconformity {nc_id} has no corrective action: add one first")
            still_open = [a for a in actions if a.status != "done"]
            if still_open:
                listed = "; ".join(f"#{a.id} {a.description}"[:80] for a in still_open)
                raise Conflict(f"nonconformity {nc_id} has corrective actions not done: {listed}")
            if nc.effective is False and nc.reviewed_at is not None:
                reviewed_at = nc.reviewed_at
                if not any(a.created_at > reviewed_at for a in actions):
                    raise Conflict(
                        f"nonconformity {nc_id} was found not effective: add a new corrective action before verifying"
                    )
            before = nc.state()
            nc.status = "verification"
            nc.effective = None
            nc.updated_at = utcnow()
            tx.record("aims.nonconformity.verification", nc, before=before, payload={"note": note})
        return nc

    def review_effectiveness(self, nc_id: int, effectiveness: str, *, effective: bool) -> Nonconformity:
        """Record the effectiveness review of a nonconformity in verification: ``effective`` True lets it close;
        False reopens it (a new corrective action is needed). In a multi-user workspace the reviewer is not one of
        its actions' owners."""
        with self._write() as tx:
            nc = _nc(tx.session, nc_id)
            require_keeper(tx, nc, "review the effectiveness of corrective actions")
            if nc.status != "verification":
                raise Conflict(
                    f"nonconformity {nc_id} is {nc.status}: its effectiveness is reviewed in verification, once "
                    "every corrective action is done"
                )
            owners = sorted({a.owner for a in _actions(tx.session, nc.id) if a.owner})
            if tx.actor in owners and not single_user(tx):
                raise PermissionDenied(
                    f"{tx.actor} owns a corrective action of nonconformity {nc_id}: its effectiveness is reviewed by "
                    f"someone else (action owners: {', '.join(owners)})"
                )
            before = nc.state()
            now = utcnow()
            nc.effectiveness = text("effectiveness", effectiveness, limit=20_000)
            nc.effective = effective
            nc.reviewed_by = tx.actor
            nc.reviewed_at = now
            nc.updated_at = now
            if not effective:
                nc.status = "open"
            tx.record(
                "aims.nonconformity.effectiveness", nc, before=before,
                payload={"effective": effective, "status": nc.status},
            )  # fmt: skip
        return nc

    def close(self, nc_id: int, *, note: str = "") -> Nonconformity:
        """Close a nonconformity whose effectiveness review found its corrective actions effective."""
        with self._write() as tx:
            nc = _nc(tx.session, nc_id)
            require_keeper(tx, nc, "close a nonconformity")
            if nc.status == "closed":
                raise Conflict(f"nonconformity {nc_id} is already closed")
            if nc.status != "verification" or nc.effective is not True:
                raise Conflict(
                    f"nonconformity {nc_id} cannot close without an effectiveness review that found its corrective "
                    "actions effective (`assay aims nc effectiveness ... --effective`)"
                )
            before = nc.state()
            now = utcnow()
            nc.status = "closed"
            nc.closed_at = now
            nc.updated_at = now
            tx.record("aims.nonconformity.close", nc, before=before, payload={"note": note})
        return nc

    def counts(self) -> dict[str, int]:
        """How many nonconformities are in each status."""
        with self._read() as session:
            rows = session.execute(select(Nonconformity.status, func.count()).group_by(Nonconformity.status)).all()
            found = {row[0]: row[1] for row in rows}
            return {status: found.get(status, 0) for status in NONCONFORMITY_STATUSES}
