"""``workspace.search(q)``: one text searched across the records a person may see, in groups, each bounded.

Groups: systems (name, purpose), risks (title, description), controls (the catalogues' ids and titles), evidence
(description, URL), model versions (model name, version, framework) and dataset versions (dataset name, version),
and, for admins and auditors, audit events (actor, action, object). Matching is case-insensitive substring
(``LIKE`` with the wildcards of ``q`` escaped), done in the database; each group returns at most ``per_group`` items
(newest first where order matters) and its total, so a page can offer "more" where a filtered table exists.
Visibility is the services' rule (:func:`assay.services._lookup.visible_systems`): a member sees the records of
their systems and the datasets owned by or shared with them; admins and auditors everything.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from assay.errors import InvalidInput
from assay.governance.catalogues import list_frameworks, load_catalogue
from assay.services import _lookup
from assay.services._base import Service
from assay.services.access import allowed, viewer_principal
from assay.store.models import (
    AuditEvent,
    Dataset,
    DatasetShare,
    DatasetVersion,
    Evidence,
    Model,
    ModelVersion,
    Risk,
    System,
)

__all__ = ["COUNT_MAX", "GROUPS", "MAX_QUERY", "Search"]

MAX_QUERY: Final = 200
GROUPS: Final = ("systems", "risks", "controls", "evidence", "models", "datasets", "events")


def _like(column: Any, needle: str) -> ColumnElement[bool]:
    return func.lower(column).contains(needle, autoescape=True)


class Search(Service):
    """``ws.search("credit")``: ``{"q", "groups": {name: {"items", "total"}}}`` over what the viewer may see."""

    def __call__(self, q: str, *, per_group: int = 20) -> dict[str, Any]:
        text = (q or "").strip()
        if len(text) > MAX_QUERY:
            raise InvalidInput(f"q: at most {MAX_QUERY} characters, not {len(text)}", fields={"q": "too long"})
        if not 1 <= per_group <= 100:
            raise InvalidInput(f"per_group must be 1 to 100, not {per_group}")
        if not text:
            return {"q": "", "groups": {}}
        needle = text.lower()
        with self._read() as session:
            visible = _lookup.visible_systems(session)
            principal = viewer_principal(session)
            groups = {
                "systems": _systems(session, needle, visible, per_group),
                "risks": _risks(session, needle, visible, per_group),
                "controls": _controls(needle, per_group),
                "evidence": _evidence(session, needle, visible, per_group),
                "models": _models(session, needle, visible, per_group),
                "datasets": _datasets(session, needle, visible, per_group),
            }
            if principal is None or allowed(principal, "audit"):
                groups["events"] = _events(session, needle, per_group)
        return {"q": text, "groups": groups}


COUNT_MAX: Final = 1000  # a group's total is counted up to this (more says "1000 or more", and costs no full scan)


def _cut(session: Session, query: Any, per_group: int) -> tuple[list[Any], int]:
    counted = query.order_by(None).limit(COUNT_MAX + 1).subquery()
    total = session.execute(select(func.count()).select_from(counted)).scalar_one()
    return list(session.execute(query.limit(per_group)).all()), int(total)


def _visible(query: Any, visible: ColumnElement[bool] | None) -> Any:
    return query if visible is None else query.where(visible)


def _systems(session: Session, needle: str, visible: Any, per: int) -> dict[str, Any]:
    query = _visible(
        select(System.name, System.purpose, System.lifecycle_stage)
        .where(or_(_like(System.name, needle), _like(System.purpose, needle)))
        .order_by(System.name),
        visible,
    )
    rows, total = _cut(session, query, per)
    items = [
        {"title": name, "detail": purpose[:200], "system": name, "link": f"/systems/{name}", "stage": stage}
        for name, purpose, stage in rows
    ]
    return {"items": items, "total": total}


def _risks(session: Session, needle: str, visible: Any, per: int) -> dict[str, Any]:
    query = _visible(
        select(Risk.id, Risk.title, Risk.level, Risk.status, System.name)
        .join(System, System.id == Risk.system_id)
        .where(or_(_like(Risk.title, needle), _like(Risk.description, needle)))
        .order_by(Risk.id.desc()),
        visible,
    )
    rows, total = _cut(session, query, per)
    items = [
        {
            "title": f"risk {rid}: {title}",
            "detail": f"{level}, {status}",
            "system": system,
            "link": f"/systems/{system}/risks",
        }
        for rid, title, level, status, system in rows
    ]
    return {"items": items, "total": total}


def _controls(needle: str, per: int) -> dict[str, Any]:
    """The catalogues' entries (package data, the same for everyone): by id or title."""
    found = []
    for framework in list_frameworks():
        for control in load_catalogue(framework.id).controls:
            if needle in control.id.lower() or needle in control.title.lower():
                found.append(
                    {
                        "title": f"{framework.id} {control.id}: {control.title}",
                        "detail": framework.name,
                        "system": None,
                        "link": f"/readiness?framework={framework.id}",
                    }
                )
    return {"items": found[:per], "total": len(found)}


def _evidence(session: Session, needle: str, visible: Any, per: int) -> dict[str, Any]:
    query = _visible(
        select(Evidence.id, Evidence.framework, Evidence.control_id, Evidence.description, Evidence.url, System.name)
        .join(System, System.id == Evidence.system_id)
        .where(or_(_like(Evidence.description, needle), _like(func.coalesce(Evidence.url, ""), needle)))
        .order_by(Evidence.id.desc()),
        visible,
    )
    rows, total = _cut(session, query, per)
    items = [
        {
            "title": f"evidence {eid} for {framework} {control}",
            "detail": (description or url or "")[:200],
            "system": system,
            "link": f"/systems/{system}/controls",
        }
        for eid, framework, control, description, url, system in rows
    ]
    return {"items": items, "total": total}


def _models(session: Session, needle: str, visible: Any, per: int) -> dict[str, Any]:
    query = _visible(
        select(Model.name, ModelVersion.version, ModelVersion.stage, System.name)
        .join(Model, Model.id == ModelVersion.model_id)
        .join(System, System.id == Model.system_id)
        .where(
            or_(
                _like(Model.name, needle),
                _like(ModelVersion.version, needle),
                _like(ModelVersion.framework, needle),
                _like(Model.name + "@" + ModelVersion.version, needle),
            )
        )
        .order_by(ModelVersion.id.desc()),
        visible,
    )
    rows, total = _cut(session, query, per)
    items = [
        {"title": f"{model}@{version}", "detail": stage, "system": system, "link": f"/systems/{system}/models"}
        for model, version, stage, system in rows
    ]
    return {"items": items, "total": total}


def _datasets(session: Session, needle: str, visible: Any, per: int) -> dict[str, Any]:
    query = (
        select(Dataset.name, DatasetVersion.version, DatasetVersion.row_count, System.name)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .join(System, System.id == Dataset.system_id)
        .where(
            or_(
                _like(Dataset.name, needle),
                _like(DatasetVersion.version, needle),
                _like(Dataset.name + "@" + DatasetVersion.version, needle),
            )
        )
        .order_by(DatasetVersion.id.desc())
    )
    if visible is not None:  # owned by a visible system, or shared with one
        shared = select(DatasetShare.dataset_id).join(System, System.id == DatasetShare.system_id).where(visible)
        query = query.where(or_(System.id.in_(select(System.id).where(visible)), Dataset.id.in_(shared)))
    rows, total = _cut(session, query, per)
    items = [
        {
            "title": f"{dataset}@{version}",
            "detail": "" if rows_ is None else f"{rows_:,} rows",
            "system": system,
            "link": f"/systems/{system}/models",
        }
        for dataset, version, rows_, system in rows
    ]
    return {"items": items, "total": total}


def _events(session: Session, needle: str, per: int) -> dict[str, Any]:
    query = (
        select(
            AuditEvent.seq,
            AuditEvent.time,
            AuditEvent.actor,
            AuditEvent.action,
            AuditEvent.object_type,
            AuditEvent.object_id,
        )
        .where(
            or_(
                _like(AuditEvent.actor, needle),
                _like(AuditEvent.action, needle),
                _like(AuditEvent.object_type + " " + AuditEvent.object_id, needle),
            )
        )
        .order_by(AuditEvent.seq.desc())
    )
    rows, total = _cut(session, query, per)
    items = [
        {
            "title": f"{action} {object_type} {object_id}",
            "detail": f"by {actor} at {time}",
            "system": None,
            "link": "/audit?" + urlencode({"actor": actor}),
            "seq": seq,
            "time": time,
        }
        for seq, time, actor, action, object_type, object_id in rows
    ]
    return {"items": items, "total": total}
