"""Approvals: a request to move a model version to a stage, decided by approvers other than the requester.

The state the approvers decide on is frozen by a digest when the request is made: the model version (all but
its stage), the assessments attached to it, and the system's risks. A decision is refused when that state has
changed since the request (the request is stale: withdraw it and request again), and an approval that was
granted becomes stale as soon as the state changes after it. When enough approvals are in
(``required_approvals``, default 1) and nobody rejected, the model version moves to the requested stage, which
is the only way to reach ``production``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.errors import Conflict, InvalidInput, PermissionDenied
from assay.governance.records import MODEL_STAGES
from assay.services import _lookup
from assay.services._base import Service
from assay.services.registry import move_stage
from assay.store.ledger import canonical_json
from assay.store.models import (
    ApprovalDecision,
    ApprovalRequest,
    Assessment,
    Model,
    ModelVersion,
    Risk,
    System,
    utcnow,
)

if TYPE_CHECKING:
    pass

__all__ = ["DECISIONS", "ApprovalView", "Approvals", "approval_state", "approval_state_digest"]

DECISIONS: Final = ("approve", "reject")
_VOLATILE: Final = {"stage", "updated_at"}


def _frozen(version: ModelVersion, assessments: Iterable[tuple[int, str]], risks: Iterable[Risk]) -> dict[str, Any]:
    return {
        "model_version": {k: v for k, v in version.state().items() if k not in _VOLATILE},
        "assessments": [{"id": id_, "document_sha256": sha} for id_, sha in assessments],
        "risks": [{k: v for k, v in risk.state().items() if k != "updated_at"} for risk in risks],
    }


def approval_state(session: Session, version: ModelVersion) -> dict[str, Any]:
    """What an approval freezes: the model version (not its stage), its assessments, the system's risks."""
    model = session.get(Model, version.model_id)
    assert model is not None
    assessments = session.execute(
        select(Assessment.id, Assessment.document_sha256)
        .where(Assessment.model_version_id == version.id)
        .order_by(Assessment.id)
    )
    risks = session.execute(select(Risk).where(Risk.system_id == model.system_id).order_by(Risk.id)).scalars()
    return _frozen(version, assessments, risks)


def _digest(state: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(state)).hexdigest()


def approval_state_digest(session: Session, version: ModelVersion) -> str:
    return _digest(approval_state(session, version))


@dataclass(frozen=True)
class ApprovalView:
    """A request with its decisions and whether the state it froze still holds."""

    id: int
    system: str
    ref: str
    stage: str
    status: str
    requested_by: str
    comment: str
    required_approvals: int
    state_digest: str
    current_digest: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decisions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        """The model version, its assessments or the system's risks changed since the request was made."""
        return self.status in ("pending", "approved") and self.current_digest != self.state_digest

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "system": self.system,
            "ref": self.ref,
            "stage": self.stage,
            "status": self.status,
            "stale": self.stale,
            "requested_by": self.requested_by,
            "comment": self.comment,
            "required_approvals": self.required_approvals,
            "state_digest": self.state_digest,
            "current_digest": self.current_digest,
            "created_at": self.created_at.isoformat(),
            "decided_at": None if self.decided_at is None else self.decided_at.isoformat(),
            "decisions": self.decisions,
        }


def _view(session: Session, request: ApprovalRequest) -> ApprovalView:
    return _views(session, [request])[0]


def _views(session: Session, requests: Sequence[ApprovalRequest]) -> list[ApprovalView]:
    """The requests with their decisions and current digests, read with a fixed number of statements (not a few
    per request: the dashboard and readiness list every system's requests)."""
    if not requests:
        return []
    version_ids = {r.model_version_id for r in requests}
    versions = {
        v.id: v for v in session.execute(select(ModelVersion).where(ModelVersion.id.in_(version_ids))).scalars()
    }
    model_ids = {v.model_id for v in versions.values()}
    models = {m.id: m for m in session.execute(select(Model).where(Model.id.in_(model_ids))).scalars()}
    system_ids = {m.system_id for m in models.values()}
    systems = {s.id: s for s in session.execute(select(System).where(System.id.in_(system_ids))).scalars()}
    decisions: dict[int, list[ApprovalDecision]] = {}
    for decision in session.execute(
        select(ApprovalDecision)
        .where(ApprovalDecision.request_id.in_([r.id for r in requests]))
        .order_by(ApprovalDecision.id)
    ).scalars():
        decisions.setdefault(decision.request_id, []).append(decision)
    assessments: dict[int, list[tuple[int, str]]] = {}
    for version_id, assessment_id, sha in session.execute(
        select(Assessment.model_version_id, Assessment.id, Assessment.document_sha256)
        .where(Assessment.model_version_id.in_(version_ids))
        .order_by(Assessment.id)
    ):
        assert version_id is not None
        assessments.setdefault(version_id, []).append((assessment_id, sha))
    risks: dict[int, list[Risk]] = {}
    for risk in session.execute(select(Risk).where(Risk.system_id.in_(system_ids)).order_by(Risk.id)).scalars():
        risks.setdefault(risk.system_id, []).append(risk)
    views = []
    for request in requests:
        version = versions[request.model_version_id]
        model = models[version.model_id]
        views.append(
            ApprovalView(
                id=request.id,
                system=systems[model.system_id].name,
                ref=f"{model.name}@{version.version}",
                stage=request.stage,
                status=request.status,
                requested_by=request.requested_by,
                comment=request.comment,
                required_approvals=request.required_approvals,
                state_digest=request.state_digest,
                current_digest=_digest(
                    _frozen(version, assessments.get(version.id, []), risks.get(model.system_id, []))
                ),
                created_at=request.created_at,
                decided_at=request.decided_at,
                decisions=[
                    {
                        "approver": d.approver,
                        "decision": d.decision,
                        "comment": d.comment,
                        "at": d.created_at.isoformat(),
                    }
                    for d in decisions.get(request.id, [])
                ],
            )
        )
    return views


class Approvals(Service):
    def request(
        self, system: str, ref: str, stage: str, *, comment: str = "", required_approvals: int = 1
    ) -> ApprovalView:
        """Ask to move model version ``ref`` of ``system`` to ``stage``."""
        if stage not in MODEL_STAGES:
            raise InvalidInput(f"stage {stage!r} is not one of {', '.join(MODEL_STAGES)}")
        if isinstance(required_approvals, bool) or not isinstance(required_approvals, int) or required_approvals < 1:
            raise InvalidInput(f"required_approvals must be a whole number of at least 1, not {required_approvals!r}")
        with self.ws.store.write(self.ws.actor) as tx:
            version = _lookup.model_version(tx.session, _lookup.system(tx.session, system), ref)
            if version.stage == stage:
                raise Conflict(f"{ref} is already in {stage}")
            pending = tx.session.execute(
                select(ApprovalRequest.id).where(
                    ApprovalRequest.model_version_id == version.id,
                    ApprovalRequest.stage == stage,
                    ApprovalRequest.status == "pending",
                )
            ).scalar_one_or_none()
            if pending is not None:
                raise Conflict(f"request {pending} to move {ref} to {stage} is already pending")
            request = ApprovalRequest(
                model_version_id=version.id,
                stage=stage,
                requested_by=tx.actor,
                comment=comment,
                required_approvals=required_approvals,
                state_digest=approval_state_digest(tx.session, version),
            )
            tx.session.add(request)
            tx.record("approval.request", request, before=None, payload={"system": system, "ref": ref, "stage": stage})
            return _view(tx.session, request)

    def decide(self, request_id: int, decision: str, *, comment: str = "") -> ApprovalView:
        """Approve or reject a pending request (not your own; not when its state changed since the request)."""
        if decision not in DECISIONS:
            raise InvalidInput(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
        if decision == "reject" and not comment.strip():
            raise InvalidInput("a rejection needs a comment saying why")
        with self.ws.store.write(self.ws.actor) as tx:
            request = _lookup.by_id(tx.session, ApprovalRequest, request_id, "approval request")
            if request.status != "pending":
                raise Conflict(f"approval request {request_id} is {request.status}, not pending")
            if request.requested_by == tx.actor:
                raise PermissionDenied(f"{tx.actor} requested approval {request_id} and cannot decide on it")
            already = tx.session.execute(
                select(ApprovalDecision.decision).where(
                    ApprovalDecision.request_id == request.id, ApprovalDecision.approver == tx.actor
                )
            ).scalar_one_or_none()
            if already is not None:
                raise Conflict(f"{tx.actor} already decided on approval request {request_id} ({already})")
            version = tx.session.get(ModelVersion, request.model_version_id)
            assert version is not None
            current = approval_state_digest(tx.session, version)
            if current != request.state_digest:
                raise Conflict(
                    f"approval request {request_id} is stale: the model version, its assessments or the system's "
                    "risks changed since it was made; withdraw it and request again"
                )
            decided = ApprovalDecision(
                request_id=request.id, approver=tx.actor, decision=decision, comment=comment, state_digest=current
            )
            tx.session.add(decided)
            tx.record("approval.decision", decided, before=None, payload={"request": request.id, "decision": decision})
            before = request.state()
            approvals = len(
                tx.session.execute(
                    select(ApprovalDecision.id).where(
                        ApprovalDecision.request_id == request.id, ApprovalDecision.decision == "approve"
                    )
                ).all()
            )
            if decision == "reject":
                request.status, request.decided_at = "rejected", utcnow()
            elif approvals >= request.required_approvals:
                request.status, request.decided_at = "approved", utcnow()
            tx.record(
                f"approval.{decision}",
                request,
                before=before,
                payload={"comment": comment, "status": request.status, "state_digest": current},
            )
            if request.status == "approved":
                move_stage(tx, version, request.stage, reason=f"approval request {request.id}", approval=request.id)
            return _view(tx.session, request)

    def withdraw(self, request_id: int, *, comment: str = "") -> ApprovalView:
        with self.ws.store.write(self.ws.actor) as tx:
            request = _lookup.by_id(tx.session, ApprovalRequest, request_id, "approval request")
            if request.status != "pending":
                raise Conflict(f"approval request {request_id} is {request.status}, not pending")
            if request.requested_by != tx.actor:
                raise PermissionDenied(f"only {request.requested_by}, who made request {request_id}, can withdraw it")
            before = request.state()
            request.status, request.decided_at = "withdrawn", utcnow()
            tx.record("approval.withdraw", request, before=before, payload={"comment": comment})
            return _view(tx.session, request)

    def get(self, request_id: int) -> ApprovalView:
        with self.ws.store.read() as session:
            return _view(session, _lookup.by_id(session, ApprovalRequest, request_id, "approval request"))

    def list(self, system: str | None = None, *, status: str | None = None) -> list[ApprovalView]:
        """Requests, oldest first (of one system, and of one status, when given)."""
        with self.ws.store.read() as session:
            query = select(ApprovalRequest).order_by(ApprovalRequest.id)
            if system is not None:
                owner = _lookup.system(session, system)
                query = (
                    query.join(ModelVersion, ModelVersion.id == ApprovalRequest.model_version_id)
                    .join(Model, Model.id == ModelVersion.model_id)
                    .where(Model.system_id == owner.id)
                )
            if status is not None:
                query = query.where(ApprovalRequest.status == status)
            return _views(session, list(session.execute(query).scalars()))
