"""What the management system's services share: who may keep its records, and the people its records name."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from assay.errors import InvalidInput, PermissionDenied
from assay.governance.aims import MANAGER_ROLES
from assay.services._base import single_user
from assay.store.models import AimsRole, User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.database import Transaction

__all__ = ["active_roles", "holds", "require_manager", "require_person"]


def active_roles(session: Session, person: str, *, day: dt.date | None = None) -> list[AimsRole]:
    """The governance roles ``person`` holds on ``day`` (default today): active, begun, not ended."""
    day = day or dt.date.today()
    rows = session.execute(select(AimsRole).where(AimsRole.person == person, AimsRole.status == "active")).scalars()
    return [r for r in rows if r.since <= day and (r.until is None or day <= r.until)]


def holds(session: Session, person: str, roles: tuple[str, ...], *, system_id: int | None = None) -> bool:
    """Whether ``person`` holds one of ``roles`` for the organisation (``system_id`` None) or for that system (a
    role held for the organisation counts for every system)."""
    return any(
        r.role in roles and (r.system_id is None or r.system_id == system_id) for r in active_roles(session, person)
    )


def require_manager(tx: Transaction, what: str) -> None:
    """Refuse ``what`` unless the actor keeps the management system's records: an admin, or a person holding a
    manager role (:data:`~assay.governance.aims.MANAGER_ROLES`) for the organisation; in a single-user workspace the
    actor's word is taken."""
    if single_user(tx):
        return
    user = tx.session.execute(select(User).where(User.name == tx.actor)).scalar_one_or_none()
    if user is not None and user.role == "admin" and tx.authenticated:
        return
    if tx.authenticated and holds(tx.session, tx.actor, MANAGER_ROLES):
        return
    if not tx.authenticated:
        raise PermissionDenied(
            f"{what} needs an authenticated user in a multi-user workspace (`assay --user NAME ...` or the server)"
        )
    raise PermissionDenied(
        f"{tx.actor} may not {what}: it needs an admin or a person holding {' or '.join(MANAGER_ROLES)} "
        "(`assay aims role assign`)"
    )


def require_person(session: Session, field: str, name: str) -> str:
    """``name`` when it is a user of the workspace; else :class:`InvalidInput` naming the field."""
    if not name.strip():
        raise InvalidInput(f"{field} is empty: give a user name")
    if session.execute(select(User.id).where(User.name == name)).first() is None:
        raise InvalidInput(f"{field}: no user named {name!r} (add them with `assay user add`)")
    return name
