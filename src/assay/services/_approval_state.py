"""What an approval freezes, and how many approvals count.

The state approvers decide on is the model version (all but its stage), the assessments attached to it and the
system's risks, frozen as a SHA-256 when the request is made. Approvals count per approver; those of approvers who
proved who they are (a password or a token) count one each, and those taken on trust (``--actor`` in a
single-user workspace, or decisions from before approvals were authenticated) count as one at most together, so
that a workspace where anyone can be anyone never gives more than one approval.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.store.ledger import canonical_json
from assay.store.models import ApprovalDecision, Assessment, Model, ModelVersion, Risk

__all__ = [
    "approval_state",
    "approval_state_digest",
    "counted_approvals",
    "frozen",
    "request_approvals",
    "state_digest",
]

_VOLATILE: Final = {"stage", "updated_at"}


def frozen(version: ModelVersion, assessments: Iterable[tuple[int, str]], risks: Iterable[Risk]) -> dict[str, Any]:
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
    return frozen(version, assessments, risks)


def state_digest(state: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(state)).hexdigest()


def approval_state_digest(session: Session, version: ModelVersion) -> str:
    return state_digest(approval_state(session, version))


def counted_approvals(decisions: Iterable[ApprovalDecision]) -> int:
    """Approvals that count: one per authenticated approver, and one at most for all the unauthenticated ones."""
    approving = [d for d in decisions if d.decision == "approve"]
    trusted = {d.approver for d in approving if d.authenticated}
    on_trust = any(not d.authenticated for d in approving)
    return len(trusted) + int(on_trust)


def request_approvals(session: Session, request_id: int) -> int:
    return counted_approvals(
        session.execute(select(ApprovalDecision).where(ApprovalDecision.request_id == request_id)).scalars()
    )
