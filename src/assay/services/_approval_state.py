"""What an approval freezes, and how many approvals count.

The state approvers decide on is the model version (all but its stage), the assessments attached to it and the
system's risks, frozen as a SHA-256 when the request is made. Approvals count per approver; those of approvers who
proved who they are (a password or a token) count one each, and those taken on trust (``--actor`` in a
single-user workspace, or decisions from before approvals were authenticated) count as one at most together, so
that a workspace where anyone can be anyone never gives more than one approval.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import Date, DateTime, select
from sqlalchemy.orm import Session

from assay.store.ledger import canonical_json
from assay.store.models import ApprovalDecision, Assessment, Model, ModelVersion, Risk, UTCDateTime, _json_value

__all__ = [
    "approval_state",
    "approval_state_digest",
    "counted_approvals",
    "frozen",
    "request_approvals",
    "risk_states",
    "state_digest",
]

_VOLATILE: Final = {"stage", "updated_at"}


def frozen(
    version: ModelVersion, assessments: Iterable[tuple[int, str]], risks: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """The state an approval freezes, from the version, its assessments (id, document digest) and the system's
    risks (:func:`risk_states`)."""
    return {
        "model_version": {k: v for k, v in version.state().items() if k not in _VOLATILE},
        "assessments": [{"id": id_, "document_sha256": sha} for id_, sha in assessments],
        "risks": list(risks),
    }


def risk_states(session: Session, system_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The risks of these systems as an approval freezes them, by system, oldest first: each risk's
    :meth:`~assay.store.models.Base.state` but ``updated_at``. Read as plain rows in one statement (no ORM objects:
    the dashboard and readiness digest every system's risks when the ledger has moved)."""
    keys, dated = _risk_keys()
    query = select(*(getattr(Risk, key) for key in keys)).where(Risk.system_id.in_(set(system_ids))).order_by(Risk.id)
    states: dict[int, list[dict[str, Any]]] = {}
    system = keys.index("system_id")
    for row in session.execute(query):
        state = dict(zip(keys, row, strict=True))
        for key in dated:  # what Base.state does to every value, done where a value can be a date or a time
            state[key] = _json_value(state[key])
        states.setdefault(row[system], []).append(state)
    return states


@functools.cache
def _risk_keys() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The risk's columns an approval freezes (all but ``updated_at``), and those holding dates or times."""
    columns = [c for c in Risk.__mapper__.column_attrs if c.key != "updated_at"]
    dated = [c.key for c in columns if isinstance(c.columns[0].type, Date | DateTime | UTCDateTime)]
    return tuple(c.key for c in columns), tuple(dated)


def approval_state(session: Session, version: ModelVersion) -> dict[str, Any]:
    """What an approval freezes: the model version (not its stage), its assessments, the system's risks."""
    model = session.get(Model, version.model_id)
    assert model is not None
    assessments = session.execute(
        select(Assessment.id, Assessment.document_sha256)
        .where(Assessment.model_version_id == version.id)
        .order_by(Assessment.id)
    )
    return frozen(version, assessments, risk_states(session, [model.system_id]).get(model.system_id, []))


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
