"""Incidents of an AI system and their corrective actions (ISO/IEC 42001 clause 10.2, nonconformity and
corrective action).

An incident moves ``open -> investigating -> resolved -> closed`` (a resolved incident may go back to
``investigating`` when the fix did not hold; a closed one is final). It can be closed only when every corrective
action is done. Its corrective actions are those of its nonconformity (``ws.aims.nonconformities``, source
``incident``, opened with the first action), so every source of a nonconformity shares one action system. The
reporter is the acting user. Every change is one write transaction with its audit event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from assay.errors import Conflict, NotFound
from assay.governance.records import (
    ACTION_STATUSES,
    INCIDENT_SEVERITIES,
    INCIDENT_STATUSES,
    CorrectiveActionSpec,
    IncidentSpec,
    IncidentUpdate,
    choice,
    coerce,
    updates,
    validate,
)
from assay.services import _lookup
from assay.services._base import Listing, Service, listing
from assay.services.aims.nonconformities import add_action as add_nonconformity_action
from assay.services.aims.nonconformities import incident_nonconformity
from assay.store.models import CorrectiveAction, Incident, Model, ModelVersion, System, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.database import Transaction


__all__ = ["TRANSITIONS", "IncidentDetail", "Incidents", "open_incident"]

# The states an incident may move to from each state.
TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    "open": ("investigating",),
    "investigating": ("resolved",),
    "resolved": ("closed", "investigating"),
    "closed": (),
}


@dataclass(frozen=True)
class IncidentDetail:
    """An incident with the model version it names (``MODEL@VERSION``) and its corrective actions."""

    incident: Incident
    model_version: str | None
    actions: list[CorrectiveAction] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.incident.state(),
            "model_version": self.model_version,
            "actions": [action.state() for action in self.actions],
        }


def _incident(session: Session, owner: System, incident_id: int) -> Incident:
    return _lookup.by_id(session, Incident, incident_id, f"incident of {owner.name!r}", system_id=owner.id)


def _actions(
    session: Session, incident_ids: list[int], status: str | None = None, limit: int | None = None, offset: int = 0
) -> Listing[CorrectiveAction]:
    query = select(CorrectiveAction).where(CorrectiveAction.incident_id.in_(incident_ids))
    if status is not None:
        query = query.where(CorrectiveAction.status == status)
    return listing(session, query.order_by(CorrectiveAction.id), limit, offset)


def _not_closed(incident: Incident, doing: str) -> None:
    if incident.status == "closed":
        raise Conflict(f"incident {incident.id} is closed: {doing} is no longer possible (open a new incident)")


def _model_version_ref(session: Session, version_id: int | None) -> str | None:
    if version_id is None:
        return None
    row = session.execute(
        select(Model.name, ModelVersion.version)
        .join(ModelVersion, ModelVersion.model_id == Model.id)
        .where(ModelVersion.id == version_id)
    ).first()
    return None if row is None else f"{row[0]}@{row[1]}"


def open_incident(
    tx: Transaction, owner: System, spec: IncidentSpec, model_version_id: int | None, **payload: Any
) -> Incident:
    """Record a new incident of ``owner`` reported by the transaction's actor (the model version already resolved
    to ``model_version_id``): :meth:`Incidents.open`, and any service whose change opens an incident in its own
    transaction (an alert: ``payload`` adds e.g. its id to the audit event), call this."""
    incident = Incident(
        system_id=owner.id,
        model_version_id=model_version_id,
        title=spec.title,
        description=spec.description,
        severity=spec.severity,
        status="open",
        occurred_at=spec.occurred_at,
        reported_by=tx.actor,
    )
    tx.session.add(incident)
    tx.record(
        "incident.create",
        incident,
        before=None,
        payload={"system": owner.name, "model_version": spec.model_version, "severity": spec.severity, **payload},
    )
    return incident


class Incidents(Service):
    """Incidents of each AI system: open, list, show, update, move through their states; corrective actions."""

    # -- incidents --------------------------------------------------------------------------------------------

    def open(self, system: str, spec: IncidentSpec | Mapping[str, Any]) -> Incident:
        """Record a new incident, reported by the acting user; ``model_version`` names ``MODEL@VERSION``."""
        valid: IncidentSpec = coerce(IncidentSpec, spec, "incident")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            version = None
            if valid.model_version is not None:
                version = _lookup.model_version(tx.session, owner, valid.model_version)
            return open_incident(tx, owner, valid, None if version is None else version.id)

    def list(
        self,
        system: str,
        *,
        status: str | None = None,
        severity: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Listing[Incident]:
        choice(status, INCIDENT_STATUSES, "incident status")
        choice(severity, INCIDENT_SEVERITIES, "incident severity")
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = select(Incident).where(Incident.system_id == owner.id)
            if status is not None:
                query = query.where(Incident.status == status)
            if severity is not None:
                query = query.where(Incident.severity == severity)
            return listing(session, query.order_by(Incident.id), limit, offset)

    def get(self, system: str, incident_id: int) -> Incident:
        with self._read() as session:
            return _incident(session, _lookup.system(session, system), incident_id)

    def detail(self, system: str, incident_id: int) -> IncidentDetail:
        """The incident, the model version it names and its corrective actions, read together."""
        with self._read() as session:
            incident = _incident(session, _lookup.system(session, system), incident_id)
            return IncidentDetail(
                incident=incident,
                model_version=_model_version_ref(session, incident.model_version_id),
                actions=_actions(session, [incident.id]),
            )

    def update(self, system: str, incident_id: int, changes: IncidentUpdate | Mapping[str, Any]) -> Incident:
        """Change fields of an incident that is not closed (its status changes with :meth:`set_status`)."""
        _update, given = updates(IncidentUpdate, changes, f"update of incident {incident_id}")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            incident = _incident(tx.session, owner, incident_id)
            _not_closed(incident, "changing it")
            before = incident.state()
            current = {key: before[key] for key in IncidentSpec.model_fields if key != "model_version"}
            fields = {key: value for key, value in given.items() if key != "model_version"}
            merged: IncidentSpec = validate(IncidentSpec, {**current, **fields}, f"incident {incident_id}")
            incident.title = merged.title
            incident.description = merged.description
            incident.severity = merged.severity
            incident.occurred_at = merged.occurred_at
            if "model_version" in given:
                ref = given["model_version"]
                incident.model_version_id = None if ref is None else _lookup.model_version(tx.session, owner, ref).id
            incident.updated_at = utcnow()
            tx.record("incident.update", incident, before=before, payload={"changed": sorted(given)})
        return incident

    def set_status(self, system: str, incident_id: int, status: str, *, note: str = "") -> Incident:
        """Move an incident to ``status`` (see :data:`TRANSITIONS`); closing needs every corrective action done."""
        choice(status, INCIDENT_STATUSES, "incident status")
        with self._write() as tx:
            incident = _incident(tx.session, _lookup.system(tx.session, system), incident_id)
            current = incident.status
            if status == current:
                raise Conflict(f"incident {incident_id} is already {status}")
            allowed = TRANSITIONS[current]
            if status not in allowed:
                then = f"it can move to {' or '.join(allowed)}" if allowed else "a closed incident is final"
                raise Conflict(f"incident {incident_id} is {current} and cannot move to {status}: {then}")
            if status == "closed":
                still_open = _actions(tx.session, [incident.id], status="open")
                if still_open:
                    listed = "; ".join(f"#{a.id} {a.description}" for a in still_open)
                    raise Conflict(
                        f"incident {incident_id} cannot be closed while corrective actions are open: {listed}"
                    )
            before = incident.state()
            now = utcnow()
            incident.status = status
            incident.updated_at = now
            incident.closed_at = now if status == "closed" else None
            tx.record("incident.status", incident, before=before, payload={"from": current, "to": status, "note": note})
        return incident

    # -- corrective actions -----------------------------------------------------------------------------------

    def add_action(
        self, system: str, incident_id: int, spec: CorrectiveActionSpec | Mapping[str, Any]
    ) -> CorrectiveAction:
        """Add an open corrective action to an incident that is not closed. It is an action of the incident's
        nonconformity (ISO/IEC 42001 10.2; opened with the first action, source ``incident``): one action system for
        every source, whose effectiveness is reviewed before the nonconformity closes (``ws.aims.nonconformities``)."""
        valid: CorrectiveActionSpec = coerce(CorrectiveActionSpec, spec, "corrective action")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            incident = _incident(tx.session, owner, incident_id)
            _not_closed(incident, "adding a corrective action")
            nc = incident_nonconformity(tx, incident)
            return add_nonconformity_action(
                tx, nc, valid.description, owner=valid.owner, due_date=valid.due_date, incident_id=incident.id,
                system=owner.name,
            )  # fmt: skip

    def complete_action(self, system: str, action_id: int, *, note: str = "") -> CorrectiveAction:
        """Mark a corrective action done (its ``completed_at`` is now)."""
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            action = tx.session.get(CorrectiveAction, action_id)
            incident = None if action is None else tx.session.get(Incident, action.incident_id)
            if action is None or incident is None or incident.system_id != owner.id:
                raise NotFound(f"no corrective action of {owner.name!r} with id {action_id}")
            if action.status == "done":
                raise Conflict(f"corrective action {action_id} is already done")
            _not_closed(incident, "completing a corrective action")
            before = action.state()
            action.status = "done"
            action.completed_at = utcnow()
            tx.record(
                "corrective_action.complete",
                action,
                before=before,
                payload={"incident_id": incident.id, "note": note},
            )
        return action

    def list_actions(
        self,
        system: str,
        incident_id: int | None = None,
        *,
        status: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Listing[CorrectiveAction]:
        """Corrective actions of one incident, or of every incident of the system; optionally open or done only."""
        choice(status, ACTION_STATUSES, "corrective action status")
        with self._read() as session:
            owner = _lookup.system(session, system)
            if incident_id is not None:
                ids = [_incident(session, owner, incident_id).id]
            else:
                ids = list(session.execute(select(Incident.id).where(Incident.system_id == owner.id)).scalars())
            return _actions(session, ids, status, limit, offset)
