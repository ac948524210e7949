"""``workspace.aims.readiness``: ISO/IEC 42001 clauses 4-10 judged for the organisation from the management system's
records (the rules: :mod:`assay.governance.aims_readiness`). A fixed number of queries, whatever the number of
records: each table is read once."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.governance.aims_readiness import Snapshot, SystemFacts, judge
from assay.governance.readiness import SOA_FRAMEWORK, share
from assay.services._base import Service
from assay.store.models import (
    AimsAudit,
    AimsDocument,
    AimsFinding,
    AimsIssue,
    AimsMeasurement,
    AimsObjective,
    AimsParty,
    AimsRole,
    AimsScope,
    AimsTeamMember,
    AimsTraining,
    AimsTrainingRecord,
    ControlStatus,
    CorrectiveAction,
    GateRun,
    ImpactAssessment,
    ManagementReview,
    Monitor,
    Nonconformity,
    Risk,
    System,
    SystemPolicy,
)

__all__ = ["READINESS_SCHEMA", "Readiness", "snapshot"]

READINESS_SCHEMA: Final = "assay.aims-readiness"
_SCHEMA_VERSION: Final = 1


def _day(value: dt.datetime | None) -> dt.date | None:
    return None if value is None else value.date()


def _counts(session: Session, column: Any, *where: Any) -> dict[int, int]:
    query = select(column, func.count()).group_by(column)
    for condition in where:
        query = query.where(condition)
    return {key: int(n) for key, n in session.execute(query).all()}


def _systems(session: Session) -> list[SystemFacts]:
    risks: dict[int, list[dict[str, Any]]] = defaultdict(list)
    open_risks = select(
        Risk.system_id, Risk.id, Risk.treatment, Risk.controls, Risk.owner, Risk.review_date, Risk.updated_at
    ).where(Risk.status != "closed")  # rows, not ORM objects: every open risk of every system is read
    for system_id, id_, treatment, controls, owner, review_date, updated_at in session.execute(
        open_risks.order_by(Risk.id)
    ):
        risks[system_id].append(
            {
                "id": id_,
                "treatment": treatment,
                "controls": len(controls or []),
                "owner": owner,
                "review_date": review_date,
                "updated_at": updated_at.date(),
            }
        )
    impacts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for ia in session.execute(select(ImpactAssessment).order_by(ImpactAssessment.id)).scalars():
        impacts[ia.system_id].append({"id": ia.id, "status": ia.status, "updated_at": ia.updated_at.date()})
    teams: dict[int, list[dict[str, Any]]] = defaultdict(list)
    members = select(AimsTeamMember).where(AimsTeamMember.active.is_(True)).order_by(AimsTeamMember.id)
    for member in session.execute(members).scalars():
        teams[member.system_id].append({"id": member.id, "person": member.person, "disciplines": member.disciplines})
    statuses = _counts(session, ControlStatus.system_id, ControlStatus.framework == SOA_FRAMEWORK)
    policies = _counts(session, SystemPolicy.system_id)
    runs = _counts(session, GateRun.system_id)
    monitors = _counts(session, Monitor.system_id, Monitor.deleted_at.is_(None))
    return [
        SystemFacts(
            id=s.id,
            name=s.name,
            category=s.eu_ai_act_category,
            stage=s.lifecycle_stage,
            owner=s.owner,
            risks=risks[s.id],
            impact_assessments=impacts[s.id],
            team=teams[s.id],
            control_statuses=statuses.get(s.id, 0),
            gate_policies=policies.get(s.id, 0),
            gate_runs=runs.get(s.id, 0),
            monitors=monitors.get(s.id, 0),
        )
        for s in session.execute(select(System).order_by(System.name)).scalars()
    ]


def _documents(session: Session) -> list[dict[str, Any]]:
    """Per key: its approved version, or its newest draft when none is approved (superseded and withdrawn ones do
    not count)."""
    chosen: dict[str, AimsDocument] = {}
    for doc in session.execute(select(AimsDocument).order_by(AimsDocument.key, AimsDocument.version)).scalars():
        if doc.status == "approved" or (doc.status == "draft" and chosen.get(doc.key, doc).status != "approved"):
            chosen[doc.key] = doc
    return [
        {
            "id": d.id,
            "key": d.key,
            "version": d.version,
            "kind": d.kind,
            "topic": d.topic,
            "status": d.status,
            "approver_role": d.approver_role,
            "next_review": d.next_review,
            "owner": d.owner,
        }
        for d in chosen.values()
    ]


def snapshot(session: Session, day: dt.date) -> Snapshot:
    """The management system's records on ``day``, read in one transaction."""
    scope = session.execute(select(AimsScope).order_by(AimsScope.version.desc()).limit(1)).scalar_one_or_none()
    latest = (
        select(AimsMeasurement.objective_id, func.max(AimsMeasurement.measured_at))
        .group_by(AimsMeasurement.objective_id)
        .subquery()
    )
    measured = {oid: _day(when) for oid, when in session.execute(select(latest)).all()}
    roles = [
        {"id": r.id, "role": r.role, "person": r.person, "system_id": r.system_id}
        for r in session.execute(select(AimsRole).where(AimsRole.status == "active").order_by(AimsRole.id)).scalars()
        if r.since <= day and (r.until is None or day <= r.until)
    ]
    reviews = [
        {
            "id": v.id,
            "status": v.status,
            "held_on": v.held_on,
            "inputs": sorted(v.inputs or {}),
            "decisions": len(v.decisions or []),
        }
        for v in session.execute(select(ManagementReview).order_by(ManagementReview.id)).scalars()
    ]
    return Snapshot(
        day=day,
        issues=[
            {"id": i.id, "kind": i.kind}
            for i in session.execute(select(AimsIssue).where(AimsIssue.status == "active")).scalars()
        ],
        parties=[
            {"id": p.id, "name": p.name, "requirements": list(p.requirements or [])}
            for p in session.execute(select(AimsParty).where(AimsParty.status == "active")).scalars()
        ],
        scope=None
        if scope is None
        else {"id": scope.id, "version": scope.version, "systems": scope.systems, "exclusions": scope.exclusions},
        documents=_documents(session),
        roles=roles,
        systems=_systems(session),
        objectives=[
            {"id": o.id, "key": o.key, "measured_at": measured.get(o.id)}
            for o in session.execute(select(AimsObjective).where(AimsObjective.status == "active")).scalars()
        ],
        trainings=[
            {"id": t.id, "code": t.code, "required_for": list(t.required_for or [])}
            for t in session.execute(select(AimsTraining).where(AimsTraining.status == "active")).scalars()
        ],
        training_records=[
            {"id": t.id, "training_id": t.training_id, "person": t.person, "expires_on": t.expires_on}
            for t in session.execute(select(AimsTrainingRecord)).scalars()
        ],
        audits=[
            {
                "id": a.id,
                "programme": a.programme,
                "status": a.status,
                "completed_on": _day(a.completed_at),
                "conclusion": a.conclusion,
            }
            for a in session.execute(select(AimsAudit).order_by(AimsAudit.id)).scalars()
        ],
        findings=[
            {"id": f.id, "audit_id": f.audit_id, "kind": f.kind, "nonconformity_id": f.nonconformity_id}
            for f in session.execute(select(AimsFinding).order_by(AimsFinding.id)).scalars()
        ],
        nonconformities=[
            {
                "id": n.id,
                "status": n.status,
                "due_date": n.due_date,
                "effective": n.effective,
                "closed_on": _day(n.closed_at),
            }
            for n in session.execute(select(Nonconformity).order_by(Nonconformity.id)).scalars()
        ],
        reviews=reviews,
        actions=[
            {
                "id": a.id,
                "status": a.status,
                "owner": a.owner,
                "due_date": a.due_date,
                "review_id": a.review_id,
                "nonconformity_id": a.nonconformity_id,
            }
            for a in session.execute(
                select(CorrectiveAction).where(
                    (CorrectiveAction.review_id.is_not(None)) | (CorrectiveAction.nonconformity_id.is_not(None))
                )
            ).scalars()
        ],
    )


class Readiness(Service):
    """Readiness of the management system (clauses 4-10) for the organisation."""

    def __call__(self, *, as_of: dt.date | None = None) -> dict[str, Any]:
        """The ``assay.aims-readiness`` document: each clause ready or not, with its gaps (what is missing and the
        command that fixes it) and its evidence (``TABLE:ID`` records)."""
        from assay.governance.readiness import assessed_entries

        day = as_of or dt.date.today()
        titles = {c.id: c.title for c in assessed_entries(SOA_FRAMEWORK) if not c.id.startswith("A.")}
        with self._read() as session:
            clauses = judge(snapshot(session, day))
        for clause in clauses:
            clause["title"] = titles.get(clause["id"], "")
        ready = [c["id"] for c in clauses if c["ready"]]
        return {
            "schema": READINESS_SCHEMA,
            "schema_version": _SCHEMA_VERSION,
            "framework": SOA_FRAMEWORK,
            "counted": "ISO/IEC 42001 clauses 4-10 (the 32 most specific), judged for the organisation",
            "as_of": day.isoformat(),
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "generated_by": self.ws.actor,
            "clauses": len(clauses),
            "ready": len(ready),
            "share": share(len(ready), len(clauses)),
            "ready_clauses": ready,
            "entries": clauses,
        }
