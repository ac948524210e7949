"""What the audit, nonconformity and review services share: records named as ``TYPE:ID`` (checked to exist), AI
systems named in management-system records (the organisation's records name any system, whoever keeps them), and
who is responsible for a system (for the auditor's independence and for who may open a system's nonconformity)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from assay.errors import InvalidInput
from assay.governance.aims_audit import Independence, parse_ref
from assay.services.aims._base import active_roles
from assay.store.models import (
    AimsAudit,
    AimsDocument,
    AimsFinding,
    AimsObjective,
    AimsTeamMember,
    Alert,
    Assessment,
    CorrectiveAction,
    Dataset,
    Evidence,
    GateRun,
    ImpactAssessment,
    Incident,
    ManagementReview,
    Membership,
    Model,
    ModelVersion,
    Monitor,
    Nonconformity,
    Risk,
    System,
    User,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["MODELS", "check_ref", "independence_of", "parse_day", "system_named", "system_owners"]

# the table of each record type a ``TYPE:ID`` reference may name (``system`` is named, not numbered)
MODELS: Final[dict[str, type[Any]]] = {
    "model": Model,
    "model_version": ModelVersion,
    "dataset": Dataset,
    "assessment": Assessment,
    "risk": Risk,
    "incident": Incident,
    "impact_assessment": ImpactAssessment,
    "evidence": Evidence,
    "gate": GateRun,
    "alert": Alert,
    "monitor": Monitor,
    "audit": AimsAudit,
    "finding": AimsFinding,
    "nonconformity": Nonconformity,
    "action": CorrectiveAction,
    "review": ManagementReview,
    "document": AimsDocument,
    "objective": AimsObjective,
}


def system_named(session: Session, field: str, name: str) -> System:
    """The AI system called ``name`` (any case); :class:`InvalidInput` naming the field and the systems known."""
    found = session.execute(select(System).where(System.name_key == name.strip().lower())).scalar_one_or_none()
    if found is None:
        names = list(session.execute(select(System.name).order_by(System.name).limit(20)).scalars())
        raise InvalidInput(f"{field}: no AI system named {name!r} (known: {', '.join(names) or 'none yet'})")
    return found


def check_ref(session: Session, field: str, ref: str, types: tuple[str, ...] | None = None) -> tuple[str, Any]:
    """The canonical ``TYPE:ID`` of ``ref`` and the record it names; :class:`InvalidInput` when the type is unknown
    or no such record exists."""
    kind, ident = parse_ref(field, ref) if types is None else parse_ref(field, ref, types)
    if kind == "system":
        found_system = system_named(session, field, ident)
        return f"system:{found_system.name}", found_system
    found = session.get(MODELS[kind], int(ident))
    if found is None:
        raise InvalidInput(f"{field}: no {kind.replace('_', ' ')} with id {ident} ({ref!r})")
    return f"{kind}:{int(ident)}", found


def system_owners(session: Session, system: System) -> set[str]:
    """Who owns ``system``: its ``owner`` field and the users holding the access role ``owner`` on it."""
    owners = {system.owner} if system.owner else set()
    rows = session.execute(
        select(User.name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.system_id == system.id, Membership.role == "owner")
    ).scalars()
    return owners | set(rows)


def independence_of(session: Session, person: str) -> Independence:
    """The areas of the governance roles ``person`` holds today, and the AI systems they hold a role for, own or
    are an active member of the team of (by lower-case name, with why)."""
    roles = active_roles(session, person)
    systems: dict[str, str] = {}
    ids = {r.system_id: r.role for r in roles if r.system_id is not None}
    if ids:
        for row in session.execute(select(System).where(System.id.in_(ids))).scalars():
            systems[row.name.lower()] = f"holds the governance role {ids[row.id]} for"
    owned = session.execute(
        select(System.name)
        .where(System.owner == person)
        .union(
            select(System.name)
            .join(Membership, Membership.system_id == System.id)
            .join(User, User.id == Membership.user_id)
            .where(User.name == person, Membership.role == "owner")
        )
    ).scalars()
    for name in owned:
        systems.setdefault(name.lower(), "owns")
    teams = session.execute(
        select(System.name)
        .join(AimsTeamMember, AimsTeamMember.system_id == System.id)
        .where(AimsTeamMember.person == person, AimsTeamMember.active.is_(True))
    ).scalars()
    for name in teams:
        systems.setdefault(name.lower(), "is a member of the team of")
    return Independence(areas=frozenset(r.area for r in roles if r.area), systems=systems)


def parse_day(field: str, value: str | dt.date | None) -> dt.date | None:
    """A date given as ``YYYY-MM-DD`` (or a date); :class:`InvalidInput` naming the field."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field} must be a date YYYY-MM-DD, not {value!r}") from None
