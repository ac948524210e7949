"""Records of the management system's other parts (governance roles, documents, nonconformities) for the tests of
objectives, competence and reminders: written through the store with their audit events, as the parts' services
write them (``ws.aims.roles``, ``ws.aims.documents``, ``ws.aims.nonconformities`` are built on other branches)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from assay.services.workspace import Workspace
from assay.store.models import AimsDocument, AimsRole, Nonconformity, utcnow


def assign_role(ws: Workspace, person: str, role: str, *, system_id: int | None = None) -> AimsRole:
    with ws.store.write(ws.actor) as tx:
        row = AimsRole(role=role, person=person, system_id=system_id, since=dt.date.today() - dt.timedelta(days=1),
                       status="active", assigned_by=tx.actor, created_at=utcnow())  # fmt: skip
        tx.session.add(row)
        tx.record("aims.role.assign", row, before=None)
    return row


def add_document(ws: Workspace, key: str, owner: str, next_review: dt.date) -> AimsDocument:
    with ws.store.write(ws.actor) as tx:
        now = utcnow()
        row = AimsDocument(key=key, version=1, kind="ai-policy", title=f"{key} policy", owner=owner, status="approved",
                           next_review=next_review, review_months=12, created_by=tx.actor, created_at=now,
                           updated_at=now)  # fmt: skip
        tx.session.add(row)
        tx.record("aims.document.add", row, before=None)
    return row


def open_nonconformity(ws: Workspace, title: str, owner: str, due: dt.date, **fields: Any) -> Nonconformity:
    with ws.store.write(ws.actor) as tx:
        now = utcnow()
        row = Nonconformity(source="audit", title=title, owner=owner, due_date=due, status="open",
                            created_by=tx.actor, created_at=now, updated_at=now, **fields)  # fmt: skip
        tx.session.add(row)
        tx.record("aims.nonconformity.open", row, before=None)
    return row
