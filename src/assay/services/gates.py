"""Policy gates: evaluate a policy against what the store holds for a model version, record the decision (a
gate run and its audit event), and waive a rule for a while with a reason."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from assay.errors import InvalidInput
from assay.governance.policy import GateFacts, Policy, default_policy, evaluate, load_policy, parse_policy
from assay.governance.records import MODEL_STAGES
from assay.reports.jsonable import jsonable
from assay.services import _lookup
from assay.services._base import Service
from assay.store.models import ApprovalDecision, ApprovalRequest, Assessment, GateRun, Model, Waiver

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.models import ModelVersion, System

__all__ = ["Gates"]


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _approvals(session: Session, version: ModelVersion, stage: str, stale: set[int]) -> int:
    """The most approvals any live request (pending or approved, not stale) for ``stage`` holds."""
    requests = session.execute(
        select(ApprovalRequest.id).where(
            ApprovalRequest.model_version_id == version.id,
            ApprovalRequest.stage == stage,
            ApprovalRequest.status.in_(("pending", "approved")),
        )
    ).scalars()
    best = 0
    for request_id in requests:
        if request_id in stale:
            continue
        count = len(
            session.execute(
                select(ApprovalDecision.id).where(
                    ApprovalDecision.request_id == request_id, ApprovalDecision.decision == "approve"
                )
            ).all()
        )
        best = max(best, count)
    return best


def _waiver_dict(waiver: Waiver) -> dict[str, Any]:
    return {
        "id": waiver.id,
        "rule": waiver.rule,
        "waived_by": waiver.waived_by,
        "reason": waiver.reason,
        "expires": waiver.expires,
        "model_version_id": waiver.model_version_id,
    }


class Gates(Service):
    # -- policies ---------------------------------------------------------------------------------------------

    def policy_for(self, system: str, path: Path | None = None, text: str | None = None) -> tuple[Policy, str]:
        """The policy in ``path`` (or given as YAML ``text``), else Assay's default for the system's EU AI Act
        category; and its SHA-256."""
        if path is not None and text is not None:
            raise InvalidInput("give a policy file or a policy text, not both")
        if text is not None:
            return parse_policy(text, "the policy"), hashlib.sha256(text.encode()).hexdigest()
        if path is not None:
            return load_policy(path), hashlib.sha256(path.read_bytes()).hexdigest()
        policy = default_policy(self.ws.systems.get(system).eu_ai_act_category)
        return policy, hashlib.sha256(policy.model_dump_json(by_alias=True).encode()).hexdigest()

    # -- facts ------------------------------------------------------------------------------------------------

    def _facts(self, session: Session, owner: System, version: ModelVersion, ref: str, policy: Policy) -> GateFacts:
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
        ]
        stale = {a.id for a in self.ws.approvals.list(owner.name) if a.stale}
        evidence = []
        for rule in policy.rules:
            if rule.evidence is None:
                continue
            framework, _, control = rule.evidence.partition(":")
            for item in self.ws.controls.list_evidence(owner.name, framework, control):
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
            today=_today(),
            assessments=assessments,
            evidence=evidence,
            approvals=_approvals(session, version, policy.stage, stale),
            waivers=waivers,
        )

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
        """Judge the policy for model version ``ref`` and record the decision; returns the decision document."""
        policy, digest = self.policy_for(system, policy_file, policy_text)
        if stage is not None and stage != policy.stage:
            if stage not in MODEL_STAGES:
                raise InvalidInput(f"stage {stage!r} is not one of {', '.join(MODEL_STAGES)}")
            policy = policy.model_copy(update={"stage": stage})
        with self.ws.store.read() as session:
            owner = _lookup.system(session, system)
            version = _lookup.model_version(session, owner, ref)
            model = session.get(Model, version.model_id)
            assert model is not None
            full_ref = f"{model.name}@{version.version}"
            facts = self._facts(session, owner, version, full_ref, policy)
        results = [r.to_dict() for r in evaluate(policy, facts)]
        passed = all(r["status"] != "failed" for r in results)
        counts = {s: sum(r["status"] == s for r in results) for s in ("passed", "failed", "waived")}
        with self.ws.store.write(self.ws.actor) as tx:
            run = GateRun(
                system_id=owner.id,
                model_version_id=version.id,
                policy_name=policy.name,
                policy_sha256=digest,
                stage=policy.stage,
                outcome="passed" if passed else "failed",
                passed=counts["passed"],
                failed=counts["failed"],
                waived=counts["waived"],
                results=jsonable(results),
                created_by=tx.actor,
            )
            tx.session.add(run)
            tx.record(
                "gate.evaluate",
                run,
                before=None,
                payload={
                    "system": owner.name,
                    "ref": full_ref,
                    "policy": policy.name,
                    "outcome": run.outcome,
                    **counts,
                },
            )
        return self._decision(run, owner.name, full_ref, policy, digest)

    def _decision(self, run: GateRun, system: str, ref: str, policy: Policy, digest: str) -> dict[str, Any]:
        return {
            "schema": "assay.gate",
            "schema_version": 1,
            "id": run.id,
            "system": system,
            "ref": ref,
            "stage": run.stage,
            "policy": {"name": policy.name, "sha256": digest, "judge": policy.judge},
            "passed": run.outcome == "passed",
            "counts": {"passed": run.passed, "failed": run.failed, "waived": run.waived},
            "results": run.results,
            "created_by": run.created_by,
            "created_at": run.created_at.isoformat(timespec="seconds"),
        }

    def runs(self, system: str, ref: str) -> list[dict[str, Any]]:
        """The recorded gate runs of a model version, oldest first (summaries)."""
        with self.ws.store.read() as session:
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
            raise InvalidInput("a waiver needs a reason")
        if not rule.strip():
            raise InvalidInput("a waiver names the rule id it waives")
        if expires <= _today():
            raise InvalidInput(f"the waiver's expiry {expires} must be after today ({_today()})")
        if (expires - _today()).days > 366:
            raise InvalidInput(f"a waiver lasts at most a year: {expires} is too far")
        with self.ws.store.write(self.ws.actor) as tx:
            owner = _lookup.system(tx.session, system)
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

    def waivers(self, system: str) -> list[dict[str, Any]]:
        with self.ws.store.read() as session:
            owner = _lookup.system(session, system)
            rows = session.execute(select(Waiver).where(Waiver.system_id == owner.id).order_by(Waiver.id)).scalars()
            today = _today()
            return [{**_waiver_dict(w), "active": w.expires >= today, "created_at": w.created_at} for w in rows]
