"""``workspace.aims.teams``: the team of each AI system and the disciplines it covers (ISO/IEC 42001 A.3.2; the
issue's "diverse, multidisciplinary team").

A member is a person (a user of the workspace) with the disciplines they bring
(:data:`~assay.governance.aims.DISCIPLINES`) and, optionally, their role in the team. :meth:`Teams.coverage` says
which disciplines the team covers and which are missing against a required set: the one the system's gate policy
asks for (its ``team`` rule, which the gate judges the same way), else
:data:`~assay.governance.aims_org.REQUIRED_DISCIPLINES`. A member is removed (kept, inactive), never deleted.

A team is kept by a manager, or by the system's owner (the access role ``owner`` on it, or the governance role
``system-owner`` for it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.governance import aims_org as rules
from assay.services import _lookup
from assay.services._base import Service, single_user
from assay.services.aims._base import holds, require_manager, require_person
from assay.services.aims._org import org_system
from assay.services.gates import policy_in_force, team_facts
from assay.store.models import AimsTeamMember, Membership, System, User, utcnow

__all__ = ["Teams"]


def _require_keeper(tx: Any, owner: System, what: str) -> None:
    """A manager, or the system's owner (access role ``owner``, or governance role ``system-owner`` for it)."""
    if single_user(tx):
        return
    try:
        require_manager(tx, what)
        return
    except PermissionDenied:
        if not tx.authenticated:
            raise
    owns = tx.session.execute(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(User.name == tx.actor, User.active.is_(True), Membership.system_id == owner.id)
        .where(Membership.role == "owner")
    ).first()
    if owns is None and not holds(tx.session, tx.actor, ("system-owner",), system_id=owner.id):
        raise PermissionDenied(
            f"{tx.actor} may not {what}: it needs a manager of the management system or the owner of {owner.name!r}"
        )


def _member(session: Any, owner: System, person: str) -> AimsTeamMember:
    row = session.execute(
        select(AimsTeamMember).where(AimsTeamMember.system_id == owner.id, AimsTeamMember.person == person)
    ).scalar()
    if row is None or not row.active:
        raise NotFound(f"{person} is not a member of the team of {owner.name!r} (see `assay aims team list`)")
    return row  # type: ignore[no-any-return]


def required_of(session: Any, owner: System) -> list[str]:
    """The disciplines the system's production gate policy requires (its first ``team`` rule), else the default."""
    found = policy_in_force(session, owner, "production")
    if found is not None:
        for rule in found[0].rules:
            if rule.team is not None:
                return list(rule.team.disciplines)
    return list(rules.REQUIRED_DISCIPLINES)


def _coverage(owner: System, members: dict[str, list[str]], need: Sequence[str]) -> dict[str, Any]:
    """The coverage document of ``owner``'s team (:meth:`Teams.coverage`)."""
    result = rules.coverage(members, need)
    return {"system": owner.name, "category": owner.eu_ai_act_category, "members": len(members), **result,
            "complete": not result["missing"]}  # fmt: skip


class Teams(Service):
    """Members of an AI system's team, their disciplines, and the team's coverage."""

    def add(self, system: str, person: str, disciplines: Iterable[str], *, role: str = "") -> AimsTeamMember:
        """Add ``person`` to the team of ``system`` with the disciplines they bring (a removed member comes back)."""
        valid = rules.disciplines("disciplines", disciplines)
        valid_role = rules.text("role", role, limit=200, required=False)
        with self._write() as tx:
            owner = org_system(tx.session, system)
            _require_keeper(tx, owner, f"change the team of {owner.name!r}")
            require_person(tx.session, "person", person)
            row = tx.session.execute(
                select(AimsTeamMember).where(AimsTeamMember.system_id == owner.id, AimsTeamMember.person == person)
            ).scalar()
            if row is not None and row.active:
                raise Conflict(f"{person} is already in the team of {owner.name!r}: update their disciplines instead")
            before = None if row is None else row.state()
            if row is None:
                row = AimsTeamMember(system_id=owner.id, person=person, created_by=tx.actor)
                tx.session.add(row)
            row.disciplines = valid
            row.role = valid_role
            row.active = True
            row.updated_at = utcnow()
            tx.record("aims.team.add", row, before=before, payload={"system": owner.name})
        return row

    def update(
        self, system: str, person: str, *, disciplines: Iterable[str] | None = None, role: str | None = None
    ) -> AimsTeamMember:
        """Change a member's disciplines (replaced) or role in the team."""
        if disciplines is None and role is None:
            raise InvalidInput(f"update of {person} in the team of {system}: give disciplines or a role")
        valid = None if disciplines is None else rules.disciplines("disciplines", disciplines)
        valid_role = None if role is None else rules.text("role", role, limit=200, required=False)
        with self._write() as tx:
            owner = org_system(tx.session, system)
            _require_keeper(tx, owner, f"change the team of {owner.name!r}")
            row = _member(tx.session, owner, person)
            before = row.state()
            if valid is not None:
                row.disciplines = valid
            if valid_role is not None:
                row.role = valid_role
            row.updated_at = utcnow()
            tx.record("aims.team.update", row, before=before, payload={"system": owner.name})
        return row

    def remove(self, system: str, person: str, *, reason: str = "") -> AimsTeamMember:
        """Take ``person`` off the team (kept as an inactive member)."""
        with self._write() as tx:
            owner = org_system(tx.session, system)
            _require_keeper(tx, owner, f"change the team of {owner.name!r}")
            row = _member(tx.session, owner, person)
            before = row.state()
            row.active = False
            row.updated_at = utcnow()
            tx.record("aims.team.remove", row, before=before, payload={"system": owner.name, "reason": reason})
        return row

    def list(self, system: str, *, active: bool = True) -> list[AimsTeamMember]:
        """The members of the team of ``system`` (active ones by default), by name."""
        with self._read() as session:
            owner = org_system(session, system)
            query = select(AimsTeamMember).where(AimsTeamMember.system_id == owner.id)
            if active:
                query = query.where(AimsTeamMember.active.is_(True))
            return list(session.execute(query.order_by(AimsTeamMember.person)).scalars())

    def overview(self) -> Sequence[dict[str, Any]]:
        """Every system the viewer may see (as ``ws.systems.list()``), by name, with its active members
        (:meth:`list`) and coverage (:meth:`coverage` at its default), in one read: the roles page shows every
        system's team (two reads per system had cost 0.4-0.6 s for 50 systems on PostgreSQL)."""
        out = []
        with self._read() as session:
            query = select(System).order_by(System.name)
            if (visible := _lookup.visible_systems(session)) is not None:
                query = query.where(visible)
            owners = list(session.execute(query).scalars())
            members: dict[int, list[AimsTeamMember]] = {owner.id: [] for owner in owners}
            active = select(AimsTeamMember).where(
                AimsTeamMember.system_id.in_(list(members)), AimsTeamMember.active.is_(True)
            )
            for member in session.execute(active.order_by(AimsTeamMember.person)).scalars():
                members[member.system_id].append(member)
            for owner in owners:
                team = members[owner.id]
                coverage = _coverage(owner, {m.person: list(m.disciplines) for m in team}, required_of(session, owner))
                out.append({"system": owner.name, "members": [m.state() for m in team], "coverage": coverage})
        return out

    def coverage(self, system: str, required: Sequence[str] | None = None) -> dict[str, Any]:
        """The disciplines the team of ``system`` covers (and by whom) and those missing against ``required``
        (default: what the system's production gate policy requires, else the default set): ``{"system",
        "category", "members", "required", "covered", "missing", "other", "complete"}``."""
        wanted = None if required is None else rules.disciplines("required", required)
        with self._read() as session:
            owner = org_system(session, system)
            need = wanted if wanted is not None else required_of(session, owner)
            return _coverage(owner, team_facts(session, owner), need)
