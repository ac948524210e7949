"""Approvals: a request to move a model version to a stage, decided by approvers other than the requester.

The state the approvers decide on is frozen by a digest when the request is made: the model version (all but
its stage), the assessments attached to it, and the system's risks. A decision is refused when that state has
changed since the request (the request is stale: withdraw it and request again).

The policy in force for the stage (:func:`assay.services.gates.policy_in_force`) is bound to the request:

- the request asks for the policy's number of approvals for the system's EU AI Act category (more may be asked,
  never fewer);
- at the final approval the policy's gate is judged on the current state, in the same transaction, and the
  version moves only when it passes (failing rules waived by someone other than the requester count as passed);
  the decision records the gate run it relied on;
- when an approved version's state changes afterwards, the policy's ``on_change`` says what follows, in the
  transaction that changed it (:func:`enforce_approved_states`): ``demote`` moves it back to the stage it came
  from and brings back the previous version approved for the stage; ``hold`` keeps it where it is, flagged
  (readiness gap ``stale_approval``) until it is approved again.

In a multi-user workspace requests and decisions need an authenticated user with the role the server would ask
for (owner to request, approver or admin to decide); approvals taken on trust count as one at most
(:mod:`._approval_state`), so a single-user workspace cannot meet a policy that asks for two.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.governance.records import MODEL_STAGES
from assay.services import _lookup
from assay.services._approval_state import (
    approval_state,
    approval_state_digest,
    counted_approvals,
    frozen,
    request_approvals,
    risk_states,
    state_digest,
)
from assay.services._base import Listing, Service, listing, single_user
from assay.services.access import require_role
from assay.services.gates import blocking, gate_results, judge, policy_in_force
from assay.services.registry import move_stage
from assay.store import audit
from assay.store.models import (
    ApprovalDecision,
    ApprovalRequest,
    Assessment,
    Evidence,
    Model,
    ModelVersion,
    Risk,
    System,
    utcnow,
)

if TYPE_CHECKING:
    from assay.store.database import Transaction

__all__ = [
    "DECISIONS",
    "MAX_APPROVALS",
    "ApprovalView",
    "Approvals",
    "approval_state",
    "approval_state_digest",
    "enforce_approved_states",
]

DECISIONS: Final = ("approve", "reject")
MAX_APPROVALS: Final = 20  # more approvers than this on one request is a typo, not a policy


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
    approvals: int = 0  # approvals that count (authenticated approvers; unauthenticated ones as one at most)
    gate_run_id: int | None = None
    model_stage: str = ""  # where the model version is now

    @property
    def stale(self) -> bool:
        """The model version, its assessments or the system's risks changed since the request was made."""
        return self.status in ("pending", "approved") and self.current_digest != self.state_digest

    @property
    def held(self) -> bool:
        """Approved, and the version is still in the stage, but its state changed since: re-approval needed."""
        return self.status == "approved" and self.stale and self.model_stage == self.stage

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
            "approvals": self.approvals,
            "held": self.held,
            "gate_run_id": self.gate_run_id,
            "state_digest": self.state_digest,
            "current_digest": self.current_digest,
            "created_at": self.created_at.isoformat(),
            "decided_at": None if self.decided_at is None else self.decided_at.isoformat(),
            "decisions": self.decisions,
        }


def _view(session: Session, request: ApprovalRequest) -> ApprovalView:
    return _views(session, [request])[0]


# The current digest of each model version's approval state, per database, at one head of the ledger. Every change of
# what an approval freezes (a model version, its assessments, its system's risks) appends an audit event naming the
# changed row (``object_type`` is its table), so at a newer head only the versions those events touch are digested
# again: the events since the head kept are read (one range of the ledger's primary key), and each names a version,
# an assessment (its version now, and any version it was kept under) or a risk (its system now, and any system it was
# kept under: a deleted or moved row is still caught). Filled by reads only (a write transaction's session may hold
# changes not recorded yet). The dashboard, readiness and approvals list every request; each digest costs the state
# of every risk of its system (40 per system at 2,000 risks), so a change to one system no longer re-digests all.
_DIGESTS: weakref.WeakKeyDictionary[Any, _Kept] = weakref.WeakKeyDictionary()
_DIGESTS_LOCK = threading.Lock()
_FROZEN_TABLES: Final = ("model_versions", "assessments", "risks", "models")


@dataclass(frozen=True)
class _Kept:
    """The digests known at ``head`` and what each was made from: the version's system, the ids of the system's
    risks and of the version's assessments."""

    head: int
    digests: dict[int, str]
    systems: dict[int, int]  # version -> system
    risks: dict[int, frozenset[int]]  # system -> its risks' ids
    assessments: dict[int, frozenset[int]]  # version -> its assessments' ids


def _known_digests(session: Session) -> tuple[int, _Kept | None, dict[int, str]]:
    """The ledger's head as this read sees it, what is kept, and the digests still true at the head (a copy)."""
    head = audit.head_seq(session)
    with _DIGESTS_LOCK:
        kept = _DIGESTS.get(session.get_bind())
    if kept is None or kept.head > head:
        return head, None, {}
    if kept.head == head:
        return head, kept, dict(kept.digests)
    touched = audit.touched(session, kept.head, head, _FROZEN_TABLES)
    if touched is None or touched["models"]:  # a model registered or changed (its system): rare, all made anew
        return head, None, {}
    stale = set(touched["model_versions"])
    if touched["assessments"]:
        ids = touched["assessments"]
        stale |= {v for v, held in kept.assessments.items() if held & ids}
        now = session.execute(select(Assessment.model_version_id).where(Assessment.id.in_(ids))).scalars()
        stale |= {v for v in now if v is not None}
    if touched["risks"]:
        ids = touched["risks"]
        systems = {s for s, held in kept.risks.items() if held & ids}
        systems |= set(session.execute(select(Risk.system_id).where(Risk.id.in_(ids))).scalars())
        stale |= {v for v, system in kept.systems.items() if system in systems}
    return head, kept, {v: d for v, d in kept.digests.items() if v not in stale}


def _keep_digests(session: Session, head: int, kept: _Kept | None, digests: dict[int, str],
                  made: dict[str, dict[int, Any]]) -> None:  # fmt: skip
    """Keep ``digests`` (true at ``head``: those carried from ``kept`` and those ``made`` now, with what they were
    made from), merged with what another read kept at the same head."""
    with _DIGESTS_LOCK:
        bind = session.get_bind()
        current = _DIGESTS.get(bind)
        if current is not None and current.head > head:
            return  # a newer head is kept already
        same = current if current is not None and current.head == head else None
        layers = [layer for layer in (kept, same) if layer is not None]
        _DIGESTS[bind] = _Kept(
            head,
            {**(same.digests if same else {}), **digests},
            {k: v for layer in [*(x.systems for x in layers), made["systems"]] for k, v in layer.items()},
            {k: v for layer in [*(x.risks for x in layers), made["risks"]] for k, v in layer.items()},
            {k: v for layer in [*(x.assessments for x in layers), made["assessments"]] for k, v in layer.items()},
        )


def current_digests(
    session: Session,
    version_ids: Iterable[int],
    *,
    read: bool = False,
    loaded: Mapping[int, tuple[ModelVersion, int]] | None = None,
) -> dict[int, str]:
    """The current digest of each model version's approval state (what a request on it froze, now), in a fixed
    number of statements. ``read``: a read-only session, whose digests may be kept for the ledger's head it sees
    (see ``_DIGESTS``): only the versions the events since touched are digested again. ``loaded``: versions already
    read, with their system's id (not read again)."""
    wanted = set(version_ids)
    if not wanted:
        return {}
    head, kept, known = _known_digests(session) if read else (0, None, {})
    unknown = wanted - set(known)  # the versions whose state is read and digested now
    owners = {v: loaded[v] for v in unknown if v in loaded} if loaded else {}
    if missing := unknown - set(owners):
        query = select(ModelVersion, Model.system_id).join(Model, Model.id == ModelVersion.model_id)
        for version, system_id in session.execute(query.where(ModelVersion.id.in_(missing))).all():
            owners[version.id] = (version, system_id)
    assessments: dict[int, list[tuple[int, str]]] = {}
    for version_id, assessment_id, sha in session.execute(
        select(Assessment.model_version_id, Assessment.id, Assessment.document_sha256)
        .where(Assessment.model_version_id.in_(unknown))
        .order_by(Assessment.id)
    ) if unknown else ():  # fmt: skip
        assert version_id is not None
        assessments.setdefault(version_id, []).append((assessment_id, sha))
    systems = {system_id for _, system_id in owners.values()}
    risks = risk_states(session, systems) if systems else {}
    for version_id, (version, system_id) in owners.items():
        known[version_id] = state_digest(frozen(version, assessments.get(version_id, []), risks.get(system_id, [])))
    if read and (unknown or (kept is not None and kept.head != head)):  # kept at this head: no events read again
        made: dict[str, dict[int, Any]] = {
            "systems": {v: system_id for v, (_, system_id) in owners.items()},
            "risks": {system: frozenset(r["id"] for r in risks.get(system, [])) for system in systems},
            "assessments": {v: frozenset(a for a, _ in assessments.get(v, [])) for v in owners},
        }
        _keep_digests(session, head, kept, known, made)
    return {v: known[v] for v in wanted}


def _views(session: Session, requests: Sequence[ApprovalRequest], *, read: bool = False) -> list[ApprovalView]:
    """The requests with their decisions and current digests, read with a fixed number of statements (not a few
    per request: the dashboard and readiness list every system's requests). ``read``: a read-only session, whose
    digests may be kept for the ledger's head it sees (see ``_DIGESTS``)."""
    if not requests:
        return []
    version_ids = {r.model_version_id for r in requests}
    versions: dict[int, ModelVersion] = {}
    models: dict[int, Model] = {}
    systems: dict[int, System] = {}
    owned = (
        select(ModelVersion, Model, System)
        .join(Model, Model.id == ModelVersion.model_id)
        .join(System, System.id == Model.system_id)
        .where(ModelVersion.id.in_(version_ids))
    )  # one statement for the versions, their models and systems (each a round trip on PostgreSQL)
    for version, model, owner in session.execute(owned).all():
        versions[version.id], models[model.id], systems[owner.id] = version, model, owner
    decisions: dict[int, list[ApprovalDecision]] = {}
    for decision in session.execute(
        select(ApprovalDecision)
        .where(ApprovalDecision.request_id.in_([r.id for r in requests]))
        .order_by(ApprovalDecision.id)
    ).scalars():
        decisions.setdefault(decision.request_id, []).append(decision)
    loaded = {v: (version, models[version.model_id].system_id) for v, version in versions.items()}
    known = current_digests(session, version_ids, read=read, loaded=loaded)
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
                current_digest=known[version.id],
                created_at=request.created_at,
                decided_at=request.decided_at,
                decisions=[
                    {
                        "approver": d.approver,
                        "decision": d.decision,
                        "comment": d.comment,
                        "authenticated": d.authenticated,
                        "at": d.created_at.isoformat(),
                    }
                    for d in decisions.get(request.id, [])
                ],
                approvals=counted_approvals(decisions.get(request.id, [])),
                gate_run_id=request.gate_run_id,
                model_stage=version.stage,
            )
        )
    return views


def _owner(session: Session, version: ModelVersion) -> tuple[Model, System]:
    model = session.get(Model, version.model_id)
    assert model is not None
    owner = session.get(System, model.system_id)
    assert owner is not None
    return model, owner


def _approved_for(session: Session, version: ModelVersion, stage: str) -> ApprovalRequest | None:
    """The newest approved request that moved ``version`` to ``stage``."""
    return session.execute(
        select(ApprovalRequest)
        .where(
            ApprovalRequest.model_version_id == version.id,
            ApprovalRequest.stage == stage,
            ApprovalRequest.status == "approved",
        )
        .order_by(ApprovalRequest.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _required(tx: Transaction, owner: System, stage: str, asked: int | None) -> int:
    """The approvals a request needs: the policy's number for the system's category (at least one); more may be
    asked, never fewer; and never more than one in a single-user workspace, where nobody's identity is proved."""
    found = policy_in_force(tx.session, owner, stage)
    needed = 1 if found is None else max(1, found[0].approvals.get(owner.eu_ai_act_category, 1))  # type: ignore[call-overload]
    if asked is not None and asked < needed:
        raise InvalidInput(
            f"the policy {found[0].name if found else ''} asks for {needed} approvals for {stage} of a "
            f"{owner.eu_ai_act_category}-risk system: ask for {needed} or more, never fewer"
        )
    required = needed if asked is None else asked
    if required > 1 and single_user(tx):
        raise InvalidInput(
            f"{stage} of {owner.name} needs {required} approvals, which a single-user workspace cannot give (anyone "
            "can be anyone): switch it to multi-user (`assay workspace mode multi-user`) and add the approvers as "
            "users (`assay user add`)"
        )
    return required


class Approvals(Service):
    def request(
        self, system: str, ref: str, stage: str, *, comment: str = "", required_approvals: int | None = None
    ) -> ApprovalView:
        """Ask to move model version ``ref`` of ``system`` to ``stage``; it needs the number of approvals the
        policy in force for the stage asks for (``required_approvals`` may ask for more)."""
        if stage not in MODEL_STAGES:
            raise InvalidInput(f"stage {stage!r} is not one of {', '.join(MODEL_STAGES)}")
        if required_approvals is not None and (
            isinstance(required_approvals, bool)
            or not isinstance(required_approvals, int)
            or not 1 <= required_approvals <= MAX_APPROVALS
        ):
            raise InvalidInput(
                f"required_approvals must be a whole number from 1 to {MAX_APPROVALS}, not {required_approvals!r}"
            )
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            require_role(tx, "write", owner.name, f"requesting approval for {ref} of {owner.name}")
            version = _lookup.model_version(tx.session, owner, ref)
            if version.stage == stage:
                approved = _approved_for(tx.session, version, stage)
                if approved is None or approved.state_digest == approval_state_digest(tx.session, version):
                    raise Conflict(f"{ref} is already in {stage}")
                # held: in the stage on an approval whose state changed since; a new request re-approves it
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
                required_approvals=_required(tx, owner, stage, required_approvals),
                state_digest=approval_state_digest(tx.session, version),
            )
            tx.session.add(request)
            tx.record(
                "approval.request",
                request,
                before=None,
                payload={"system": owner.name, "ref": ref, "stage": stage, "required": request.required_approvals},
            )
            return _view(tx.session, request)

    def decide(self, request_id: int, decision: str, *, comment: str = "", system: str | None = None) -> ApprovalView:
        """Approve or reject a pending request (not your own; not when its state changed since the request). The
        final approval takes effect only when the gate of the policy in force passes now; otherwise nothing is
        written and :class:`Conflict` names the failing rules. ``system``: the request must be one of its (else
        :class:`NotFound`, as for a request that does not exist)."""
        if decision not in DECISIONS:
            raise InvalidInput(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
        if decision == "reject" and not comment.strip():
            raise InvalidInput("a rejection needs a comment saying why")
        with self._write() as tx:
            request, version, model, owner = self._request(tx.session, request_id, system)
            if request.status != "pending":
                raise Conflict(f"approval request {request_id} is {request.status}, not pending")
            if request.requested_by == tx.actor:
                raise PermissionDenied(f"{tx.actor} requested approval {request_id} and cannot decide on it")
            require_role(tx, "approve", owner.name, f"deciding on approval request {request_id}")
            already = tx.session.execute(
                select(ApprovalDecision.decision).where(
                    ApprovalDecision.request_id == request.id, ApprovalDecision.approver == tx.actor
                )
            ).scalar_one_or_none()
            if already is not None:
                raise Conflict(f"{tx.actor} already decided on approval request {request_id} ({already})")
            current = approval_state_digest(tx.session, version)
            if current != request.state_digest:
                raise Conflict(
                    f"approval request {request_id} is stale: the model version, its assessments or the system's "
                    "risks changed since it was made; withdraw it and request again"
                )
            if decision == "approve":
                self._gate_allows(tx, request, version, model, owner)
            decided = ApprovalDecision(
                request_id=request.id,
                approver=tx.actor,
                decision=decision,
                comment=comment,
                state_digest=current,
                authenticated=tx.authenticated,
            )
            tx.session.add(decided)
            tx.record("approval.decision", decided, before=None, payload={"request": request.id, "decision": decision})
            before = request.state()
            if decision == "reject":
                request.status, request.decided_at = "rejected", utcnow()
            elif request_approvals(tx.session, request.id) >= request.required_approvals:
                run = self._gate(tx, request, version, model, owner)
                request.status, request.decided_at = "approved", utcnow()
                request.from_stage = version.stage
                request.gate_run_id = None if run is None else run.id
            tx.record(
                f"approval.{decision}",
                request,
                before=before,
                payload={
                    "comment": comment,
                    "status": request.status,
                    "state_digest": current,
                    "gate_run": request.gate_run_id,
                },
            )
            if request.status == "approved":
                if request.stage == "production":  # one production version per model: the one it replaces steps back
                    for other in tx.session.execute(
                        select(ModelVersion).where(
                            ModelVersion.model_id == version.model_id,
                            ModelVersion.id != version.id,
                            ModelVersion.stage == "production",
                        )
                    ).scalars():
                        move_stage(
                            tx,
                            other,
                            "staging",
                            reason=f"replaced in production by {model.name}@{version.version} (request {request.id})",
                            approval=request.id,
                        )
                move_stage(
                    tx,
                    version,
                    request.stage,
                    reason=f"approval request {request.id}",
                    approval=request.id,
                    gate_run=request.gate_run_id,
                )
            return _view(tx.session, request)

    @staticmethod
    def _request(
        session: Session, request_id: int, system: str | None
    ) -> tuple[ApprovalRequest, ModelVersion, Model, System]:
        if system is not None:
            _lookup.system(session, system)  # a system the viewer cannot see is not found
        request = _lookup.by_id(session, ApprovalRequest, request_id, "approval request")
        version = session.get(ModelVersion, request.model_version_id)
        assert version is not None
        model, owner = _owner(session, version)
        if system is not None and owner.name != system:
            raise NotFound(f"system {system!r} has no approval request {request_id}")
        if not _lookup.can_see(session, owner):
            raise NotFound(f"no approval request with id {request_id}")
        return request, version, model, owner

    @staticmethod
    def _gate_allows(
        tx: Transaction, request: ApprovalRequest, version: ModelVersion, model: Model, owner: System
    ) -> None:
        """Refuse any approval (the first of two as well as the final one) while a rule of the policy in force
        for the request's stage fails and is not waived by someone other than the requester; the approvals rule
        alone does not count (the approvals meet it). Nothing is recorded: the refusal writes nothing."""
        found = policy_in_force(tx.session, owner, request.stage)
        if found is None:
            return
        policy, _ = found
        results = gate_results(tx.session, owner, version, policy, ignore_waivers_by=request.requested_by)
        failing = blocking(results)
        if failing:
            raise Conflict(
                f"approval request {request.id} cannot be approved: the gate {policy.name} for {request.stage} fails "
                f"{len(failing)} of {len(results)} rules on {model.name}@{version.version} ({', '.join(failing)}); "
                f"fix them (mitigate, add evidence) or have someone other than {request.requested_by} waive them, "
                "then approve"
            )

    @staticmethod
    def _gate(tx: Transaction, request: ApprovalRequest, version: ModelVersion, model: Model, owner: System) -> Any:
        """Judge the policy in force for the request's stage now; refuse the final approval when it fails."""
        found = policy_in_force(tx.session, owner, request.stage)
        if found is None:
            return None
        policy, digest = found
        run = judge(
            tx,
            owner,
            version,
            policy,
            digest,
            ignore_waivers_by=request.requested_by,
            reason=f"final approval of request {request.id}",
        )
        if run.outcome != "passed":
            failing = [str(r["rule"]) for r in run.results if r["status"] == "failed"]
            raise Conflict(
                f"approval request {request.id} cannot take effect: the gate {policy.name} for {request.stage} fails "
                f"on {model.name}@{version.version} now ({', '.join(failing)}); see `assay gate {owner.name} "
                f"{model.name}@{version.version}`, then mitigate, or have someone other than {request.requested_by} "
                "waive a rule, and approve again"
            )
        return run

    def withdraw(self, request_id: int, *, comment: str = "", system: str | None = None) -> ApprovalView:
        with self._write() as tx:
            request, _version, _model, owner = self._request(tx.session, request_id, system)
            require_role(tx, "write", owner.name, f"withdrawing approval request {request_id}")
            if request.status != "pending":
                raise Conflict(f"approval request {request_id} is {request.status}, not pending")
            if request.requested_by != tx.actor:
                raise PermissionDenied(f"only {request.requested_by}, who made request {request_id}, can withdraw it")
            before = request.state()
            request.status, request.decided_at = "withdrawn", utcnow()
            tx.record("approval.withdraw", request, before=before, payload={"comment": comment})
            return _view(tx.session, request)

    def changes(self, request_id: int, *, system: str | None = None, limit: int = 50) -> dict[str, Any]:
        """What changed in the request's system since its last approval (the newest approved request of another
        version or stage, by decision time), from the stored records: the model version and its parent, the
        version last approved, and the assessments recorded, evidence added or revoked and risks opened or closed
        since (``limit`` of each, newest first, with their totals). Without an earlier approval, everything is."""
        with self._read() as session:
            request, version, model, owner = self._request(session, request_id, system)
            previous = session.execute(
                select(ApprovalRequest, ModelVersion.version, Model.name)
                .join(ModelVersion, ModelVersion.id == ApprovalRequest.model_version_id)
                .join(Model, Model.id == ModelVersion.model_id)
                .where(
                    Model.system_id == owner.id,
                    ApprovalRequest.status == "approved",
                    ApprovalRequest.id != request.id,
                    ApprovalRequest.decided_at.is_not(None),
                )
                .order_by(ApprovalRequest.decided_at.desc(), ApprovalRequest.id.desc())
                .limit(1)
            ).first()
            since = None if previous is None else previous[0].decided_at
            parent = None if version.parent_id is None else session.get(ModelVersion, version.parent_id)
            parent_model = None if parent is None else session.get(Model, parent.model_id)

            def cut(query: Any, column: Any) -> tuple[list[Any], int]:
                if since is not None:
                    query = query.where(column > since)
                found = list(session.execute(query.order_by(column.desc()).limit(limit + 1)).all())
                total = (
                    len(found)
                    if len(found) <= limit
                    else session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
                )
                return found[:limit], total

            assessments, n_assessments = cut(
                select(Assessment.id, Assessment.kind, Assessment.model_version_id, Assessment.created_by,
                       Assessment.created_at).where(Assessment.system_id == owner.id),
                Assessment.created_at,
            )  # fmt: skip
            added, n_added = cut(
                select(Evidence.id, Evidence.framework, Evidence.control_id, Evidence.kind, Evidence.created_by,
                       Evidence.created_at).where(Evidence.system_id == owner.id),
                Evidence.created_at,
            )  # fmt: skip
            revoked, n_revoked = cut(
                select(Evidence.id, Evidence.framework, Evidence.control_id, Evidence.revoked_by,
                       Evidence.revoke_reason, Evidence.revoked_at)
                .where(Evidence.system_id == owner.id, Evidence.revoked_at.is_not(None)),
                Evidence.revoked_at,
            )  # fmt: skip
            opened, n_opened = cut(
                select(Risk.id, Risk.title, Risk.level, Risk.status, Risk.created_at).where(Risk.system_id == owner.id),
                Risk.created_at,
            )
            closed, n_closed = cut(
                select(Risk.id, Risk.title, Risk.level, Risk.updated_at).where(
                    Risk.system_id == owner.id, Risk.status == "closed"
                ),
                Risk.updated_at,
            )
            refs = {
                vid: f"{name}@{ver}"
                for vid, ver, name in session.execute(
                    select(ModelVersion.id, ModelVersion.version, Model.name)
                    .join(Model, Model.id == ModelVersion.model_id)
                    .where(Model.system_id == owner.id)
                )
            }
            return {
                "since": None if since is None else since.isoformat(),
                "last_approval": None
                if previous is None
                else {
                    "id": previous[0].id,
                    "ref": f"{previous[2]}@{previous[1]}",
                    "stage": previous[0].stage,
                    "decided_at": since.isoformat() if since else None,
                },
                "model_version": {
                    "ref": f"{model.name}@{version.version}",
                    "stage": version.stage,
                    "created_at": version.created_at.isoformat(),
                    "artifact_sha256": version.artifact_sha256,
                    "parent": None
                    if parent is None or parent_model is None
                    else f"{parent_model.name}@{parent.version}",
                },
                "assessments": {
                    "total": n_assessments,
                    "items": [
                        {
                            "id": i,
                            "kind": k,
                            "model_version": refs.get(mv) if mv else None,
                            "by": by,
                            "at": at.isoformat(),
                        }
                        for i, k, mv, by, at in assessments
                    ],
                },
                "evidence_added": {
                    "total": n_added,
                    "items": [
                        {"id": i, "control": f"{fw}:{c}", "kind": k, "by": by, "at": at.isoformat()}
                        for i, fw, c, k, by, at in added
                    ],
                },
                "evidence_revoked": {
                    "total": n_revoked,
                    "items": [
                        {"id": i, "control": f"{fw}:{c}", "by": by, "reason": why, "at": at.isoformat()}
                        for i, fw, c, by, why, at in revoked
                    ],
                },
                "risks_opened": {
                    "total": n_opened,
                    "items": [
                        {"id": i, "title": t, "level": lv, "status": st, "at": at.isoformat()}
                        for i, t, lv, st, at in opened
                    ],
                },
                "risks_closed": {
                    "total": n_closed,
                    "items": [{"id": i, "title": t, "level": lv, "at": at.isoformat()} for i, t, lv, at in closed],
                },
            }

    def get(self, request_id: int, *, system: str | None = None) -> ApprovalView:
        with self._read() as session:
            return _view(session, self._request(session, request_id, system)[0])

    def list(
        self, system: str | None = None, *, status: str | None = None, limit: int | None = None, offset: int = 0
    ) -> Listing[ApprovalView]:
        """Requests, oldest first (of one system, and of one status, when given; of the systems the viewer may
        see), ``limit`` of them from ``offset`` (counted and cut in the database)."""
        with self._read() as session:
            query = (
                select(ApprovalRequest)
                .join(ModelVersion, ModelVersion.id == ApprovalRequest.model_version_id)
                .join(Model, Model.id == ModelVersion.model_id)
                .order_by(ApprovalRequest.id)
            )
            if system is not None:
                query = query.where(Model.system_id == _lookup.system(session, system).id)
            elif (visible := _lookup.visible_systems(session)) is not None:
                query = query.where(Model.system_id.in_(select(System.id).where(visible)))
            if status is not None:
                query = query.where(ApprovalRequest.status == status)
            requests = listing(session, query, limit, offset)
            return Listing(_views(session, requests, read=True), requests.total)


# -- what follows when an approved state changes ---------------------------------------------------------------

_WATCHED: Final = ("model_versions", "assessments", "risks")  # what an approval freezes (see _approval_state)


def _touched_systems(tx: Transaction) -> set[int]:
    systems: set[int] = set()
    for event in tx.events:
        if event.object_type not in _WATCHED or event.payload.get("by_policy") or event.action == "record.migrate":
            continue  # the rule's own moves, and a schema migration's new columns, are not changes of substance
        if event.object_type == "risks":
            risk = tx.session.get(Risk, int(event.object_id))
            systems.update([] if risk is None else [risk.system_id])
        elif event.object_type == "assessments":
            assessment = tx.session.get(Assessment, int(event.object_id))
            systems.update([] if assessment is None else [assessment.system_id])
        else:
            version = tx.session.get(ModelVersion, int(event.object_id))
            systems.update([] if version is None else [_owner(tx.session, version)[1].id])
    return systems


def enforce_approved_states(tx: Transaction) -> None:
    """Run last in every write transaction (``Store.before_commit``): when the transaction changed what an approval
    froze (a model version, its assessments, the system's risks) of a version that is in the stage it was approved
    for, apply the policy's ``on_change``: ``demote`` it (and bring back the previous version approved for the
    stage whose approval still holds), or ``hold`` it (it stays, flagged, until approved again). Both are audit
    events in the same transaction, so the change and its consequence are committed together or not at all."""
    systems = _touched_systems(tx)
    if not systems:
        return
    rows = tx.session.execute(
        select(ApprovalRequest, ModelVersion)
        .join(ModelVersion, ModelVersion.id == ApprovalRequest.model_version_id)
        .join(Model, Model.id == ModelVersion.model_id)
        .where(
            Model.system_id.in_(systems),
            ApprovalRequest.status == "approved",
            ApprovalRequest.stage == ModelVersion.stage,
        )
        .order_by(ApprovalRequest.id.desc())
    ).all()
    seen: set[int] = set()
    for request, version in rows:
        if version.id in seen:
            continue  # the newest approval for the stage the version is in decides
        seen.add(version.id)
        if approval_state_digest(tx.session, version) == request.state_digest:
            continue
        _apply_on_change(tx, request, version)


def _apply_on_change(tx: Transaction, request: ApprovalRequest, version: ModelVersion) -> None:
    model, owner = _owner(tx.session, version)
    found = policy_in_force(tx.session, owner, request.stage)
    action = "hold" if found is None else found[0].on_change
    policy = "no policy" if found is None else f"policy {found[0].name}"
    ref = f"{model.name}@{version.version}"
    why = f"the state approved by request {request.id} changed"
    if action == "hold":
        tx.record(
            "model_version.hold",
            version,
            before=version.state(),
            payload={
                "ref": ref,
                "stage": version.stage,
                "approval": request.id,
                "reason": f"{why}: held for re-approval ({policy}, on_change: hold)",
                "by_policy": True,
            },
        )
        return
    stage = request.stage
    back = request.from_stage if request.from_stage not in (None, stage) else "staging"
    move_stage(
        tx,
        version,
        str(back),
        reason=f"{why}: demoted ({policy}, on_change: demote)",
        approval=request.id,
        by_policy=True,
    )
    for other in tx.session.execute(
        select(ModelVersion)
        .where(ModelVersion.model_id == version.model_id, ModelVersion.id != version.id, ModelVersion.stage != stage)
        .order_by(ModelVersion.id.desc())
    ).scalars():
        approved = _approved_for(tx.session, other, stage)
        if approved is not None and approved.state_digest == approval_state_digest(tx.session, other):
            move_stage(
                tx,
                other,
                stage,
                reason=f"the previous version approved for {stage} (request {approved.id}), "
                f"back because {ref} was demoted",
                approval=approved.id,
                by_policy=True,
            )
            return
