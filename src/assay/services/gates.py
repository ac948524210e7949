"""Policy gates: evaluate a policy against what the store holds for a model version, record the decision (a
gate run and its audit event), and waive a rule for a while with a reason."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, tuple_

from assay.errors import Conflict, InvalidInput, NotFound
from assay.governance.policy import (
    APPROVALS_RULE,
    GateFacts,
    Policy,
    default_policy,
    evaluate,
    load_policy,
    parse_policy,
    rule_text,
)
from assay.governance.records import MODEL_STAGES
from assay.reports.jsonable import jsonable
from assay.services import _lookup
from assay.services._approval_state import approval_state_digest, request_approvals
from assay.services._base import Listing, Service, listing
from assay.services.access import require_role
from assay.services.controls import evidence_of
from assay.store.models import (
    AimsTeamMember,
    ApprovalRequest,
    Assessment,
    AuditEvent,
    GateRun,
    Membership,
    Model,
    ModelVersion,
    ReviewConfig,
    System,
    SystemPolicy,
    User,
    Waiver,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.database import Transaction

__all__ = [
    "Gates", "blocking", "gate_results", "judge", "oversight_facts", "policy_in_force", "policy_of", "team_facts"
]  # fmt: skip


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _targets(
    session: Session, asked: Sequence[tuple[str, str, str, str | None]]
) -> tuple[dict[str, System], dict[tuple[str, str], ModelVersion], dict[tuple[int, str], SystemPolicy]]:
    """What :meth:`Gates.check_many` judges, read in three statements however many are asked (the approvals inbox
    judges every pending request's gate: one lookup each cost five round trips): the systems the session's viewer
    may see by name, the versions asked as ``MODEL@VERSION`` by (system, ref), and the newest stored policy of each
    (system, stage). What is not found here is left out (the caller looks it up alone, for the error)."""
    scope = [] if (visible := _lookup.visible_systems(session)) is None else [visible]
    names = {system for system, _, _, _ in asked}
    owners = {o.name: o for o in session.execute(select(System).where(System.name.in_(names), *scope)).scalars()}
    wanted = {(system, ref) for system, ref, _, _ in asked if system in owners and "@" in ref}
    versions: dict[tuple[str, str], ModelVersion] = {}
    if wanted:
        by_id = {o.id: o.name for o in owners.values()}
        query = (
            select(ModelVersion, Model.name, Model.system_id)
            .join(Model, Model.id == ModelVersion.model_id)
            .where(Model.system_id.in_({owners[system].id for system, _ in wanted}))
            .where(tuple_(Model.name, ModelVersion.version).in_({tuple(ref.split("@", 1)) for _, ref in wanted}))
        )
        for version, model_name, system_id in session.execute(query).all():
            key = (by_id[system_id], f"{model_name}@{version.version}")
            if key in wanted:
                versions[key] = version
    stored: dict[tuple[int, str], SystemPolicy] = {}
    if owners:
        for row in session.execute(
            select(SystemPolicy)
            .where(SystemPolicy.system_id.in_({o.id for o in owners.values()}))
            .order_by(SystemPolicy.id)
        ).scalars():
            stored[(row.system_id, row.stage)] = row  # the newest last
    return owners, versions, stored


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def policy_in_force(session: Session, owner: System, stage: str) -> tuple[Policy, str] | None:
    """The policy that guards ``stage`` for ``owner`` and its SHA-256: the newest one stored for the system and
    stage (:meth:`Gates.set_policy`), else Assay's default for its EU AI Act category when that guards the stage;
    ``None`` when no policy guards the stage."""
    stored = session.execute(
        select(SystemPolicy)
        .where(SystemPolicy.system_id == owner.id, SystemPolicy.stage == stage)
        .order_by(SystemPolicy.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return policy_of(owner, stage, stored)


def policy_of(owner: System, stage: str, stored: SystemPolicy | None) -> tuple[Policy, str] | None:
    """:func:`policy_in_force` given the newest policy stored for the system and stage (None: none stored)."""
    if stored is not None:
        return parse_policy(stored.text, f"the stored policy {stored.name} of {owner.name}"), stored.sha256
    policy = default_policy(owner.eu_ai_act_category)
    if policy.stage != stage:
        return None
    return policy, _sha256(policy.model_dump_json(by_alias=True))


def _policy_or_default(session: Session, owner: System, stage: str) -> tuple[Policy, str]:
    """The policy in force for ``stage``, else Assay's default for the system's category (judged for ``stage``
    by the caller when it guards another)."""
    found = policy_in_force(session, owner, stage)
    if found is not None:
        return found
    policy = default_policy(owner.eu_ai_act_category)
    return policy, _sha256(policy.model_dump_json(by_alias=True))


def _live_approvals(session: Session, version: ModelVersion, stage: str) -> int:
    """The most approvals that count (see :mod:`._approval_state`) on a live request (pending or approved, not
    stale) to move ``version`` to ``stage``."""
    requests = list(
        session.execute(
            select(ApprovalRequest).where(
                ApprovalRequest.model_version_id == version.id,
                ApprovalRequest.stage == stage,
                ApprovalRequest.status.in_(("pending", "approved")),
            )
        ).scalars()
    )
    if not requests:
        return 0
    current = approval_state_digest(session, version)
    return max(
        (request_approvals(session, r.id) for r in requests if r.state_digest == current),
        default=0,
    )


def _waiver_dict(waiver: Waiver) -> dict[str, Any]:
    return {
        "id": waiver.id,
        "rule": waiver.rule,
        "waived_by": waiver.waived_by,
        "reason": waiver.reason,
        "expires": waiver.expires,
        "model_version_id": waiver.model_version_id,
    }


def oversight_facts(session: Session, owner: System) -> dict[str, Any]:
    """The system's oversight as the gate judges it: its mode (from its record), its review queue (the newest review
    configuration: version and whether it is switched on; ``None`` when there is none) and its named overseers
    (active users with the ``overseer`` role on it)."""
    config = session.execute(
        select(ReviewConfig).where(ReviewConfig.system_id == owner.id).order_by(ReviewConfig.version.desc()).limit(1)
    ).scalar_one_or_none()
    overseers = session.execute(
        select(User.name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.system_id == owner.id, Membership.role == "overseer", User.active.is_(True))
        .order_by(User.name)
    ).scalars()
    return {
        "mode": owner.oversight,
        "queue": None if config is None else {"version": config.version, "active": bool(config.active)},
        "overseers": list(overseers),
    }


def team_facts(session: Session, owner: System) -> dict[str, list[str]]:
    """The system's team as the gate judges it: each active member and the disciplines they bring."""
    members = session.execute(
        select(AimsTeamMember).where(AimsTeamMember.system_id == owner.id, AimsTeamMember.active.is_(True))
    ).scalars()
    return {m.person: list(m.disciplines) for m in members}


def _facts(
    session: Session, owner: System, version: ModelVersion, ref: str, policy: Policy, ignore_waivers_by: str | None
) -> GateFacts:
    today = _today()
    assessments = [
        {"id": a.id, "kind": a.kind, "created_at": a.created_at.date(), "document": a.document}
        for a in session.execute(
            select(Assessment).where(Assessment.model_version_id == version.id).order_by(Assessment.id)
        ).scalars()
    ]
    waivers = [
        _waiver_dict(w)
        for w in session.execute(
            select(Waiver)
            .where(Waiver.system_id == owner.id)
            .where((Waiver.model_version_id == version.id) | (Waiver.model_version_id.is_(None)))
            .order_by(Waiver.id)
        ).scalars()
        if w.waived_by != ignore_waivers_by
    ]
    evidence = []
    for rule in policy.rules:
        if rule.evidence is None:
            continue
        framework, _, control = rule.evidence.partition(":")
        for item in evidence_of(session, owner, framework, control, today):
            evidence.append(
                {
                    "id": item.id,
                    "kind": item.kind if item.via is None else f"{item.kind} via {item.via}",
                    "framework": framework,
                    "control_id": control,
                    "valid_from": item.valid_from,
                    "valid_until": item.valid_until,
                    "revoked": item.revoked,
                }
            )
    return GateFacts(
        system=owner.name,
        category=owner.eu_ai_act_category,
        ref=ref,
        today=today,
        assessments=assessments,
        evidence=evidence,
        approvals=_live_approvals(session, version, policy.stage),
        waivers=waivers,
        oversight=oversight_facts(session, owner),
        team=team_facts(session, owner),
        generative=bool(owner.generative),
    )


def gate_results(
    session: Session, owner: System, version: ModelVersion, policy: Policy, *, ignore_waivers_by: str | None = None
) -> list[dict[str, Any]]:
    """Every rule of ``policy`` judged for ``version`` on the session's snapshot, nothing recorded (a page that
    shows the gate, the check before an approval); :func:`judge` records the same as a gate run."""
    model = session.get(Model, version.model_id)
    assert model is not None
    ref = f"{model.name}@{version.version}"
    return [r.to_dict() for r in evaluate(policy, _facts(session, owner, version, ref, policy, ignore_waivers_by))]


def blocking(results: list[dict[str, Any]]) -> list[str]:
    """The failing rules an approval cannot pass over: every failed rule but the approvals rule (which the approvals
    themselves meet)."""
    return [str(r["rule"]) for r in results if r["status"] == "failed" and r["rule"] != APPROVALS_RULE]


def judge(
    tx: Transaction,
    owner: System,
    version: ModelVersion,
    policy: Policy,
    digest: str,
    *,
    ignore_waivers_by: str | None = None,
    reason: str = "",
) -> GateRun:
    """Judge ``policy`` for ``version`` on the transaction's snapshot and record the decision (a gate run and its
    audit event) in the same transaction. ``ignore_waivers_by``: waivers by this person do not count (an approval
    is not judged on waivers its requester gave)."""
    results = gate_results(tx.session, owner, version, policy, ignore_waivers_by=ignore_waivers_by)
    model = tx.session.get(Model, version.model_id)
    assert model is not None
    ref = f"{model.name}@{version.version}"
    counts = {s: sum(r["status"] == s for r in results) for s in ("passed", "failed", "waived")}
    run = GateRun(
        system_id=owner.id,
        model_version_id=version.id,
        policy_name=policy.name,
        policy_sha256=digest,
        stage=policy.stage,
        outcome="passed" if counts["failed"] == 0 else "failed",
        passed=counts["passed"],
        failed=counts["failed"],
        waived=counts["waived"],
        results=jsonable(results),
        created_by=tx.actor,
    )
    tx.session.add(run)
    payload = {"system": owner.name, "ref": ref, "policy": policy.name, "outcome": run.outcome, **counts}
    tx.record("gate.evaluate", run, before=None, payload={**payload, "reason": reason} if reason else payload)
    return run


def decision(run: GateRun, system: str, ref: str, policy: Policy, digest: str) -> dict[str, Any]:
    """The ``assay.gate`` decision document of a recorded gate run."""
    return {
        "schema": "assay.gate",
        "schema_version": 1,
        "id": run.id,
        "system": system,
        "ref": ref,
        "stage": run.stage,
        "policy": {"name": policy.name, "sha256": digest, "judge": policy.judge, "on_change": policy.on_change},
        "passed": run.outcome == "passed",
        "counts": {"passed": run.passed, "failed": run.failed, "waived": run.waived},
        "results": run.results,
        "created_by": run.created_by,
        "created_at": run.created_at.isoformat(timespec="seconds"),
    }


class Gates(Service):
    # -- policies ---------------------------------------------------------------------------------------------

    def policy_for(
        self, system: str, path: Path | None = None, text: str | None = None, *, stage: str = "production"
    ) -> tuple[Policy, str]:
        """The policy in ``path`` (or given as YAML ``text``), else the one in force for the system and stage
        (stored, else Assay's default for its EU AI Act category); and its SHA-256."""
        if path is not None and text is not None:
            raise InvalidInput("give a policy file or a policy text, not both")
        if text is not None:
            return parse_policy(text, "the policy"), _sha256(text)
        if path is not None:
            policy = load_policy(path)
            return policy, hashlib.sha256(path.read_bytes()).hexdigest()
        with self._read() as session:
            return _policy_or_default(session, _lookup.system(session, system), stage)

    def set_policy(self, system: str, *, path: Path | None = None, text: str | None = None) -> dict[str, Any]:
        """Store a policy for ``system``: from now on it guards its stage (approvals to that stage are judged by
        it, and ask for its number of approvals). Versioned: older versions are kept. Needs an authenticated
        user in a multi-user workspace (a policy decides what reaches production)."""
        if (path is None) == (text is None):
            raise InvalidInput("give a policy file or a policy text")
        if path is not None:
            if not path.is_file():
                raise InvalidInput(f"policy file {path} does not exist")
            text = path.read_text(encoding="utf-8")
        assert text is not None
        policy = parse_policy(text, str(path) if path is not None else "the policy")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            require_role(tx, "write", owner.name, f"setting the policy of {owner.name}")
            stored = SystemPolicy(
                system_id=owner.id,
                stage=policy.stage,
                name=policy.name,
                text=text,
                sha256=_sha256(text),
                created_by=tx.actor,
            )
            tx.session.add(stored)
            tx.record(
                "policy.set",
                stored,
                before=None,
                payload={"system": owner.name, "policy": policy.name, "stage": policy.stage, "sha256": stored.sha256},
            )
        return self._policy_dict(stored, owner.name)

    @staticmethod
    def _policy_dict(stored: SystemPolicy, system: str) -> dict[str, Any]:
        return {
            "id": stored.id,
            "system": system,
            "stage": stored.stage,
            "name": stored.name,
            "sha256": stored.sha256,
            "created_by": stored.created_by,
            "created_at": stored.created_at.isoformat(timespec="seconds"),
            "text": stored.text,
        }

    def policies(self, system: str, *, limit: int | None = None, offset: int = 0) -> Listing[dict[str, Any]]:
        """Every stored policy version of ``system``, oldest first (the newest per stage is in force)."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = select(SystemPolicy).where(SystemPolicy.system_id == owner.id).order_by(SystemPolicy.id)
            rows = listing(session, query, limit, offset)
            return Listing([self._policy_dict(row, owner.name) for row in rows], rows.total)

    # -- evaluation -------------------------------------------------------------------------------------------

    def evaluate(
        self,
        system: str,
        ref: str,
        *,
        policy_file: Path | None = None,
        policy_text: str | None = None,
        stage: str | None = None,
    ) -> dict[str, Any]:
        """Judge the policy for model version ``ref`` and record the decision; returns the decision document.
        Facts and decision are one snapshot: both happen in one transaction."""
        if stage is not None and stage not in MODEL_STAGES:
            raise InvalidInput(f"stage {stage!r} is not one of {', '.join(MODEL_STAGES)}")
        given = None
        if policy_file is not None or policy_text is not None:
            given = self.policy_for(system, policy_file, policy_text)
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            # the policy in force is read on the same snapshot as the facts it judges
            policy, digest = given or _policy_or_default(tx.session, owner, stage or "production")
            if stage is not None and stage != policy.stage:
                policy = policy.model_copy(update={"stage": stage})
            version = _lookup.model_version(tx.session, owner, ref)
            model = tx.session.get(Model, version.model_id)
            assert model is not None
            run = judge(tx, owner, version, policy, digest)
            return decision(run, owner.name, f"{model.name}@{version.version}", policy, digest)

    def runs(self, system: str, ref: str) -> list[dict[str, Any]]:
        """The recorded gate runs of a model version, oldest first (summaries)."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            version = _lookup.model_version(session, owner, ref)
            rows = session.execute(
                select(GateRun).where(GateRun.model_version_id == version.id).order_by(GateRun.id)
            ).scalars()
            return [
                {
                    "id": r.id,
                    "policy": r.policy_name,
                    "stage": r.stage,
                    "outcome": r.outcome,
                    "passed": r.passed,
                    "failed": r.failed,
                    "waived": r.waived,
                    "created_by": r.created_by,
                    "created_at": r.created_at.isoformat(timespec="seconds"),
                }
                for r in rows
            ]

    # -- waivers ----------------------------------------------------------------------------------------------

    def waive(
        self, system: str, rule: str, *, reason: str, expires: dt.date, model_version: str | None = None
    ) -> Waiver:
        """Waive a rule (by id) for a system, or one of its model versions, until ``expires``."""
        if not reason.strip():
            raise InvalidInput("a waiver needs a reason", fields={"reason": "say why the rule may fail"})
        if not rule.strip():
            raise InvalidInput("a waiver names the rule id it waives", fields={"rule": "choose the rule"})
        if expires <= _today():
            raise InvalidInput(
                f"the waiver's expiry {expires} must be after today ({_today()})", fields={"expires": "after today"}
            )
        if (expires - _today()).days > 366:
            raise InvalidInput(
                f"a waiver lasts at most a year: {expires} is too far", fields={"expires": "within a year"}
            )
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            require_role(tx, "write", owner.name, f"waiving rule {rule.strip()} of {owner.name}")
            version = None if model_version is None else _lookup.model_version(tx.session, owner, model_version)
            waiver = Waiver(
                system_id=owner.id,
                model_version_id=None if version is None else version.id,
                rule=rule.strip(),
                reason=reason.strip(),
                expires=expires,
                waived_by=tx.actor,
            )
            tx.session.add(waiver)
            tx.record("waiver.create", waiver, before=None, payload={"system": owner.name, "rule": waiver.rule})
        return waiver

    def waivers(self, system: str, *, limit: int | None = None, offset: int = 0) -> Listing[dict[str, Any]]:
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = select(Waiver).where(Waiver.system_id == owner.id).order_by(Waiver.id)
            rows = listing(session, query, limit, offset)
            today = _today()
            revoked = _revocations(session, [w.id for w in rows])
            listed = [
                {
                    **_waiver_dict(w),
                    "active": w.expires >= today,
                    "state": "revoked" if w.id in revoked else ("active" if w.expires >= today else "expired"),
                    "revoked": revoked.get(w.id),
                    "created_at": w.created_at,
                }
                for w in rows
            ]
            return Listing(listed, rows.total)

    def revoke_waiver(self, system: str, waiver_id: int, *, reason: str) -> dict[str, Any]:
        """End an active waiver now, with a reason (the rule counts as failing again from today). The waiver's
        record stays (its expiry becomes yesterday); the ``waiver.revoke`` event says who ended it, when and why."""
        if not reason.strip():
            raise InvalidInput("revoking a waiver needs a reason", fields={"reason": "say why"})
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            require_role(tx, "write", owner.name, f"revoking waiver {waiver_id} of {owner.name}")
            waiver = tx.session.get(Waiver, waiver_id)
            if waiver is None or waiver.system_id != owner.id:
                raise NotFound(f"system {owner.name!r} has no waiver {waiver_id}")
            today = _today()
            if waiver_id in _revocations(tx.session, [waiver_id]):
                raise Conflict(f"waiver {waiver_id} is already revoked")
            if waiver.expires < today:
                raise Conflict(f"waiver {waiver_id} expired on {waiver.expires}: there is nothing to revoke")
            before = waiver.state()
            waiver.expires = today - dt.timedelta(days=1)
            tx.record(
                "waiver.revoke",
                waiver,
                before=before,
                payload={
                    "system": owner.name,
                    "rule": waiver.rule,
                    "reason": reason.strip(),
                    "was_until": str(before["expires"]),
                },
            )
            return {**_waiver_dict(waiver), "active": False, "state": "revoked", "created_at": waiver.created_at}

    # -- read-only views for the pages ------------------------------------------------------------------------

    def check(
        self, system: str, ref: str, stage: str, *, ignore_waivers_by: str | None = None
    ) -> dict[str, Any] | None:
        """The gate of the policy in force for ``stage`` judged for ``ref`` now, nothing recorded (``None`` when no
        policy guards the stage): each rule's result, the counts, and the failing rules an approval cannot pass
        over (``blocking``). ``ignore_waivers_by``: waivers this person gave do not count (a requester's own)."""
        return self.check_many([(system, ref, stage, ignore_waivers_by)])[0]

    def check_many(self, asked: Sequence[tuple[str, str, str, str | None]]) -> list[dict[str, Any] | None]:
        """:meth:`check` for each ``(system, ref, stage, ignore_waivers_by)``, in one read (the approvals inbox
        judges the gate of every pending request)."""
        for _, _, stage, _ in asked:
            if stage not in MODEL_STAGES:
                raise InvalidInput(
                    f"stage {stage!r} is not one of {', '.join(MODEL_STAGES)}", fields={"stage": "unknown"}
                )
        with self._read() as session:
            owners, versions, stored = _targets(session, asked)
            policies: dict[tuple[int, str], tuple[Policy, str] | None] = {}  # each parsed once, however many ask
            out = []
            for system, ref, stage, by in asked:
                owner = owners.get(system)
                version = versions.get((system, ref))
                if owner is None or version is None:  # not found as asked: the single lookup names what is wrong
                    out.append(self._check(session, system, ref, stage, by))
                    continue
                key = (owner.id, stage)
                if key not in policies:
                    policies[key] = policy_of(owner, stage, stored.get(key))
                found = policies[key]
                out.append(None if found is None else self._judge(session, owner, version, stage, by, found))
            return out

    @classmethod
    def _check(
        cls, session: Session, system: str, ref: str, stage: str, ignore_waivers_by: str | None
    ) -> dict[str, Any] | None:
        owner = _lookup.system(session, system)
        version = _lookup.model_version(session, owner, ref)
        found = policy_in_force(session, owner, stage)
        if found is None:
            return None
        return cls._judge(session, owner, version, stage, ignore_waivers_by, found)

    @staticmethod
    def _judge(
        session: Session,
        owner: System,
        version: ModelVersion,
        stage: str,
        ignore_waivers_by: str | None,
        found: tuple[Policy, str],
    ) -> dict[str, Any]:
        policy, digest = found
        results = jsonable(gate_results(session, owner, version, policy, ignore_waivers_by=ignore_waivers_by))
        for result in results:
            rule = next((r for r in policy.rules if r.id == result["rule"]), None)
            result["requires"] = "" if rule is None else rule_text(rule, policy)
        counts = {s: sum(r["status"] == s for r in results) for s in ("passed", "failed", "waived")}
        return {
            "stage": stage,
            "policy": {"name": policy.name, "sha256": digest, "judge": policy.judge, "on_change": policy.on_change},
            "passed": counts["failed"] == 0,
            "counts": {**counts, "rules": len(results)},
            "results": results,
            "blocking": blocking(results),
        }

    def in_force(self, system: str) -> list[dict[str, Any]]:
        """The policy guarding each stage of ``system`` (stored, else Assay's default for its category), its rules
        in words; stages no policy guards are left out."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            stored = {
                p.stage
                for p in session.execute(select(SystemPolicy).where(SystemPolicy.system_id == owner.id)).scalars()
            }
            policies = []
            for stage in MODEL_STAGES:
                found = policy_in_force(session, owner, stage)
                if found is None:
                    continue
                policy, digest = found
                policies.append(
                    {
                        "stage": stage,
                        "name": policy.name,
                        "description": policy.description,
                        "sha256": digest,
                        "source": "stored" if stage in stored else "default",
                        "judge": policy.judge,
                        "on_change": policy.on_change,
                        "approvals": policy.approvals.get(owner.eu_ai_act_category, 0),  # type: ignore[call-overload]
                        "max_evidence_age_days": policy.max_evidence_age_days,
                        "rules": [
                            {"id": r.id, "kind": r.kind, "requires": rule_text(r, policy), "description": r.description}
                            for r in policy.rules
                        ],
                    }
                )
            return policies

    def system_runs(self, system: str) -> list[dict[str, Any]]:
        """Every recorded gate run of ``system``'s model versions, newest first (summaries with the version)."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            rows = session.execute(
                select(GateRun, ModelVersion.version, Model.name)
                .join(ModelVersion, ModelVersion.id == GateRun.model_version_id)
                .join(Model, Model.id == ModelVersion.model_id)
                .where(GateRun.system_id == owner.id)
                .order_by(GateRun.id.desc())
            ).all()
            return [
                {
                    "id": r.id,
                    "ref": f"{name}@{version}",
                    "policy": r.policy_name,
                    "stage": r.stage,
                    "outcome": r.outcome,
                    "passed": r.passed,
                    "failed": r.failed,
                    "waived": r.waived,
                    "created_by": r.created_by,
                    "created_at": r.created_at.isoformat(timespec="seconds"),
                }
                for r, version, name in rows
            ]


def _revocations(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The waivers among ``ids`` that were revoked: who revoked each, when and why (from the ledger)."""
    if not ids:
        return {}
    found: dict[int, dict[str, Any]] = {}
    for actor, time, object_id, payload in session.execute(
        select(AuditEvent.actor, AuditEvent.time, AuditEvent.object_id, AuditEvent.payload).where(
            AuditEvent.object_type == "waivers",
            AuditEvent.action == "waiver.revoke",
            AuditEvent.object_id.in_([str(i) for i in ids]),
        )
    ):
        found[int(object_id)] = {"by": actor, "at": time, "reason": json.loads(payload).get("reason", "")}
    return found
