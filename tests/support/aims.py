"""Records of the management system that the audit, nonconformity and review tests need and that other parts'
services keep (governance roles, teams, issues, parties, objectives and their measurements): written here through
the store in one audited transaction each, with the same event names as those services, so the ledger verifies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from assay.services.workspace import Workspace
from assay.store.models import (
    AimsDocument,
    AimsIssue,
    AimsMeasurement,
    AimsObjective,
    AimsParty,
    AimsRole,
    AimsTeamMember,
    Nonconformity,
    System,
    utcnow,
)


def _system_id(tx: Any, name: str | None) -> int | None:
    return None if name is None else tx.session.execute(select(System.id).where(System.name == name)).scalar_one()


def assign_role(ws: Any, role: str, person: str, *, system: str | None = None, area: str = "") -> int:
    """``person`` holds the governance ``role`` (for the organisation, or ``system``) from today."""
    with ws.store.write("admin", authenticated=True) as tx:
        row = AimsRole(role=role, person=person, system_id=_system_id(tx, system), area=area,
                       since=dt.date.today(), status="active", assigned_by="admin")  # fmt: skip
        tx.session.add(row)
        tx.session.flush()
        tx.record("aims.role.assign", row, before=None, payload={"system": system})
        return row.id


def join_team(ws: Any, system: str, person: str, disciplines: tuple[str, ...] = ("engineering",)) -> None:
    with ws.store.write("admin", authenticated=True) as tx:
        row = AimsTeamMember(system_id=_system_id(tx, system), person=person, disciplines=list(disciplines),
                             created_by="admin")  # fmt: skip
        tx.session.add(row)
        tx.record("aims.team.add", row, before=None, payload={"system": system})


def add_issue(ws: Any, title: str, kind: str = "external") -> int:
    with ws.store.write("admin", authenticated=True) as tx:
        row = AimsIssue(kind=kind, title=title, created_by="admin")
        tx.session.add(row)
        tx.session.flush()
        tx.record("aims.issue.add", row, before=None, payload={})
        return row.id


def add_party(ws: Any, name: str) -> int:
    with ws.store.write("admin", authenticated=True) as tx:
        row = AimsParty(name=name, category="regulator", requirements=["report"], created_by="admin")
        tx.session.add(row)
        tx.session.flush()
        tx.record("aims.party.add", row, before=None, payload={})
        return row.id


def add_objective(ws: Any, key: str, *, target: float, measured: float | None = None) -> int:
    """An objective measured by hand (once, when ``measured`` is given)."""
    with ws.store.write("admin", authenticated=True) as tx:
        row = AimsObjective(key=key, title=key, target=target, owner="admin", created_by="admin")
        tx.session.add(row)
        tx.session.flush()
        tx.record("aims.objective.add", row, before=None, payload={})
        if measured is not None:
            measurement = AimsMeasurement(objective_id=row.id, value=measured, met=measured >= target,
                                          source="manual", measured_by="admin")  # fmt: skip
            tx.session.add(measurement)
            tx.record("aims.measurement.add", measurement, before=None, payload={})
        return row.id


class Org:
    """A multi-user workspace shared by a test module (made once per database: users are slow to make): ``admin``
    keeps the management system's records, ``ivy`` is the internal auditor (area "Internal audit"), ``otto`` a
    member who owns the systems :meth:`system` makes for him. Tests make their own records (:meth:`system`,
    :meth:`name`) so they do not depend on each other."""

    def __init__(self, ws: Any) -> None:
        from tests.support.people import People

        self.ws = ws
        self.people = People(ws)
        self.admin = self.people.admin
        self.ivy = self.people("ivy")
        self.otto = self.people("otto")
        self._count = 0
        assign_role(self.admin, "internal-auditor", "ivy", area="Internal audit")

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}-{self._count}"

    def system(self, *, owner: str | None = None) -> str:
        """A new AI system (owned by ``owner``: the access role ``owner``)."""
        name = self.name("sys")
        self.admin.systems.create({"name": name})
        if owner is not None:
            self.admin.access.grant(owner, name, "owner")
        return name


def make_org(request: Any, tmp_path_factory: Any) -> Any:
    """A new :class:`Org` on the database of ``request.param`` (``sqlite`` or ``postgresql``)."""
    from assay.config import load_settings
    from assay.services.workspace import Workspace

    url = None if request.param == "sqlite" else str(request.getfixturevalue("postgres").create_database())
    folder = tmp_path_factory.mktemp("org") / "ws"
    return Org(Workspace.init(folder, load_settings(actor="alice", workspace=None), database_url=url))


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
