"""Finding stored records by the names users type, with errors that list what exists.

References: a system by its name; a model version as ``MODEL@VERSION`` within a system (or ``VERSION`` when the
system has one model); a dataset version as ``DATASET@VERSION``. A system's records use only the datasets it
owns or that are shared with it: looked up for a system, any other dataset does not exist.

Object-level authorisation: a session whose ``info["viewer"]`` names a user (the services set it from the
workspace's authenticated user) finds only the systems that user may see (every system for an admin or auditor,
else those they hold a role on), and only the datasets owned by or shared with those. Anything else is not found
(:class:`~assay.errors.NotFound`, HTTP 404), exactly as if it did not exist, and the error lists only visible names.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from assay.errors import InvalidInput, NotFound
from assay.store.models import (
    Base,
    Dataset,
    DatasetShare,
    DatasetVersion,
    Membership,
    Model,
    ModelVersion,
    System,
    User,
)

__all__ = [
    "by_id",
    "can_see",
    "dataset",
    "dataset_version",
    "model_version",
    "split_ref",
    "system",
    "usable_by",
    "visible_systems",
]

_T = TypeVar("_T", bound=Base)
_SHOWN = 20


def _known(values: list[str]) -> str:
    if not values:
        return "there are none yet"
    more = f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else ""
    return "known: " + ", ".join(values[:_SHOWN]) + more


def split_ref(ref: str, what: str) -> tuple[str, str]:
    name, sep, version = ref.partition("@")
    if not sep or not name or not version:
        raise InvalidInput(f"{what} {ref!r}: write NAME@VERSION")
    return name, version


_EVERYTHING = ("admin", "auditor")


def visible_systems(session: Session) -> ColumnElement[bool] | None:
    """The SQL condition on ``System`` selecting the systems the session's viewer may see (None: all of them).
    Deny by default: an unknown or inactive viewer sees none."""
    viewer = session.info.get("viewer")
    if viewer is None:
        return None
    if "visible" not in session.info:
        role = session.execute(select(User.role).where(User.name == viewer, User.active.is_(True))).scalar()
        member_of = select(Membership.system_id).join(User, User.id == Membership.user_id).where(User.name == viewer)
        session.info["visible"] = None if role in _EVERYTHING else System.id.in_(member_of) if role else false()
    condition: ColumnElement[bool] | None = session.info["visible"]
    return condition


def can_see(session: Session, owner: System) -> bool:
    """Whether the session's viewer may see ``owner`` (for records found by id, not through their system)."""
    visible = visible_systems(session)
    return (
        visible is None or session.execute(select(System.id).where(System.id == owner.id, visible)).first() is not None
    )


def system(session: Session, name: str) -> System:
    scope = [] if (visible := visible_systems(session)) is None else [visible]
    found = session.execute(select(System).where(System.name == name, *scope)).scalar_one_or_none()
    if found is None:
        names = list(session.execute(select(System.name).where(*scope).order_by(System.name)).scalars())
        raise NotFound(f"no AI system named {name!r} ({_known(names)})")
    return found


def model_version(session: Session, owner: System, ref: str) -> ModelVersion:
    """``MODEL@VERSION`` (or ``VERSION`` when the system has exactly one model) of ``owner``."""
    models = list(session.execute(select(Model).where(Model.system_id == owner.id).order_by(Model.name)).scalars())
    if "@" in ref:
        model_name, version = split_ref(ref, "model version")
    elif len(models) == 1:
        model_name, version = models[0].name, ref
    else:
        names = ", ".join(m.name for m in models) or "none yet"
        raise InvalidInput(f"model version {ref!r}: write MODEL@VERSION (models of {owner.name}: {names})")
    model = next((m for m in models if m.name == model_name), None)
    if model is None:
        raise NotFound(f"system {owner.name!r} has no model {model_name!r} ({_known([m.name for m in models])})")
    found = session.execute(
        select(ModelVersion).where(ModelVersion.model_id == model.id, ModelVersion.version == version)
    ).scalar_one_or_none()
    if found is None:
        versions = list(
            session.execute(
                select(ModelVersion.version).where(ModelVersion.model_id == model.id).order_by(ModelVersion.id)
            ).scalars()
        )
        raise NotFound(f"model {model_name!r} has no version {version!r} ({_known(versions)})")
    return found


def usable_by(system_ids: ColumnElement[int] | list[int]) -> ColumnElement[bool]:
    """The datasets owned by, or shared with, one of ``system_ids`` (a list or a subquery of system ids)."""
    shared = select(DatasetShare.dataset_id).where(DatasetShare.system_id.in_(system_ids))
    return or_(Dataset.system_id.in_(system_ids), Dataset.id.in_(shared))


def dataset(
    session: Session, name: str, *, system: System | None = None, where: ColumnElement[bool] | None = None
) -> Dataset:
    """The dataset ``name``; with ``system``, only among the datasets it owns or that are shared with it; with
    ``where``, only among the datasets it selects (what a person may see). Any other dataset is not found, and the
    error lists only the names that could have been found."""
    scope = [] if system is None else [usable_by([system.id])]
    scope += [] if where is None else [where]
    if (visible := visible_systems(session)) is not None:
        scope.append(usable_by(select(System.id).where(visible).scalar_subquery()))
    found = session.execute(select(Dataset).where(Dataset.name == name, *scope)).scalar_one_or_none()
    if found is None:
        names = list(session.execute(select(Dataset.name).where(*scope).order_by(Dataset.name)).scalars())
        within = "" if system is None else f" owned by or shared with system {system.name!r}"
        raise NotFound(f"no dataset named {name!r}{within} ({_known(names)})")
    return found


def dataset_version(
    session: Session, ref: str, *, system: System | None = None, where: ColumnElement[bool] | None = None
) -> DatasetVersion:
    """``DATASET@VERSION`` of :func:`dataset` (``system`` and ``where`` as there)."""
    name, version = split_ref(ref, "dataset version")
    found_dataset = dataset(session, name, system=system, where=where)
    found = session.execute(
        select(DatasetVersion).where(DatasetVersion.dataset_id == found_dataset.id, DatasetVersion.version == version)
    ).scalar_one_or_none()
    if found is None:
        versions = list(
            session.execute(
                select(DatasetVersion.version)
                .where(DatasetVersion.dataset_id == found_dataset.id)
                .order_by(DatasetVersion.id)
            ).scalars()
        )
        raise NotFound(f"dataset {name!r} has no version {version!r} ({_known(versions)})")
    return found


def by_id(session: Session, model: type[_T], ident: Any, what: str, **where: Any) -> _T:
    """A record by primary key, optionally required to match ``where`` (e.g. ``system_id=...``)."""
    found = session.get(model, ident)
    if found is None or any(getattr(found, key) != value for key, value in where.items()):
        raise NotFound(f"no {what} with id {ident}")
    return found
