"""Looking up AI systems for the management system's organisational records: a manager (an admin, or a person
holding a manager role for the organisation) names any system of the organisation; anyone else only those they may
see (:mod:`assay.services._lookup`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.errors import NotFound
from assay.governance.aims import MANAGER_ROLES
from assay.services import _lookup
from assay.services.aims._base import holds
from assay.store.models import System, User

__all__ = ["org_system"]


def org_system(session: Session, name: str) -> System:
    """The system named ``name`` (regardless of case for a manager), as its viewer may see it."""
    viewer = session.info.get("viewer")
    if viewer is not None:
        role = session.execute(select(User.role).where(User.name == viewer, User.active.is_(True))).scalar()
        if role is None or (role not in ("admin", "auditor") and not holds(session, viewer, MANAGER_ROLES)):
            return _lookup.system(session, name)
    found = session.execute(select(System).where(System.name_key == name.strip().lower())).scalar()
    if found is None:
        raise NotFound(f"no AI system named {name!r} (see `assay system list`)")
    return found
