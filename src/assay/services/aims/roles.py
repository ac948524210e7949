"""``workspace.aims.roles``: governance roles and responsibilities (ISO/IEC 42001 5.3, A.3.2) held by people.

A role (:data:`~assay.governance.aims.GOVERNANCE_ROLES`) is assigned to a person (a user of the workspace) for the
organisation or for one AI system, with the ``area`` they are responsible for, their responsibilities and the
period (``since``, ``until``). An assignment is ended, never deleted. These are not access roles: they say who is
accountable; some rules read them (who keeps the management system's records, who approves a policy, who may audit
an area). Assigning and ending are a manager's (an admin assigns the first management-system owner).
"""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Any

from sqlalchemy import or_, select

from assay.errors import Conflict, InvalidInput, NotFound
from assay.governance.aims import GOVERNANCE_ROLES, one_of
from assay.governance.aims_org import text
from assay.services._base import Service
from assay.services.aims._base import require_manager, require_person
from assay.services.aims._org import org_system
from assay.store.models import AimsRole, System, utcnow

__all__ = ["Roles", "role_view"]


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _system_names(session: Any, rows: list[AimsRole]) -> dict[int, str]:
    ids = {r.system_id for r in rows if r.system_id is not None}
    if not ids:
        return {}
    return {row[0]: row[1] for row in session.execute(select(System.id, System.name).where(System.id.in_(ids)))}


def role_view(row: AimsRole, system: str | None) -> dict[str, Any]:
    """An assignment as plain values, with its system's name (None: the organisation)."""
    return {**row.state(), "system": system}


class Roles(Service):
    """Assign, end and list governance roles; who holds a role."""

    def assign(
        self,
        role: str,
        person: str,
        *,
        system: str | None = None,
        area: str = "",
        responsibilities: str = "",
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> AimsRole:
        """Give ``person`` the governance ``role`` for the organisation (``system`` None) or for that AI system."""
        one_of("role", role, GOVERNANCE_ROLES)
        valid_area = text("area", area, limit=200, required=False)
        valid_duties = text("responsibilities", responsibilities, limit=10_000, required=False)
        start = since or _today()
        if until is not None and until < start:
            raise InvalidInput(f"until {until} is before since {start}")
        with self._write() as tx:
            require_manager(tx, "assign a governance role")
            require_person(tx.session, "person", person)
            owner = None if system is None else org_system(tx.session, system)
            clash = tx.session.execute(
                select(AimsRole).where(
                    AimsRole.role == role,
                    AimsRole.person == person,
                    AimsRole.status == "active",
                    AimsRole.system_id.is_(None) if owner is None else AimsRole.system_id == owner.id,
                )
            ).scalar()
            if clash is not None:
                where = "the organisation" if owner is None else owner.name
                raise Conflict(f"{person} already holds {role} for {where} (assignment {clash.id}): end it first")
            row = AimsRole(
                role=role,
                person=person,
                system_id=None if owner is None else owner.id,
                area=valid_area,
                responsibilities=valid_duties,
                since=start,
                until=until,
                status="active",
                assigned_by=tx.actor,
            )
            tx.session.add(row)
            tx.record("aims.role.assign", row, before=None, payload={"system": None if owner is None else owner.name})
        return row

    def end(self, assignment_id: int, *, until: dt.date | None = None, reason: str = "") -> AimsRole:
        """End an assignment (``until`` default today; kept and listed as ``ended``)."""
        with self._write() as tx:
            require_manager(tx, "end a governance role")
            row = tx.session.get(AimsRole, assignment_id)
            if row is None:
                raise NotFound(f"no governance role assignment with id {assignment_id}")
            if row.status != "active":
                raise Conflict(f"assignment {assignment_id} ({row.role} of {row.person}) has already ended")
            day = until or _today()
            if day < row.since:
                raise InvalidInput(f"until {day} is before the assignment's start {row.since}")
            before = row.state()
            row.status = "ended"
            row.until = day
            row.ended_at = utcnow()
            tx.record("aims.role.end", row, before=before, payload={"reason": reason})
        return row

    def list(
        self,
        *,
        person: str | None = None,
        role: str | None = None,
        system: str | None = None,
        active: bool = True,
    ) -> list[dict[str, Any]]:
        """Assignments (active ones by default), each with its system's name; ``system`` selects that system's
        and the organisation's."""
        if role is not None:
            one_of("role", role, GOVERNANCE_ROLES)
        with self._read() as session:
            query = select(AimsRole)
            if person is not None:
                query = query.where(AimsRole.person == person)
            if role is not None:
                query = query.where(AimsRole.role == role)
            if system is not None:
                owner = org_system(session, system)
                query = query.where(or_(AimsRole.system_id.is_(None), AimsRole.system_id == owner.id))
            if active:
                query = query.where(AimsRole.status == "active")
            rows = list(session.execute(query.order_by(AimsRole.role, AimsRole.person, AimsRole.id)).scalars())
            names = _system_names(session, rows)
        today = _today()
        if active:
            rows = [r for r in rows if r.since <= today and (r.until is None or today <= r.until)]
        return [role_view(r, None if r.system_id is None else names.get(r.system_id)) for r in rows]

    def who(self, role: str, system: str | None = None) -> builtins.list[str]:
        """The people holding ``role`` today: for the organisation, or for ``system`` (those holding it for the
        organisation count for every system)."""
        rows = self.list(role=role, system=system)
        return sorted({r["person"] for r in rows if system is not None or r["system_id"] is None})
