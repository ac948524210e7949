"""``workspace.genai.licences``: the licence and provenance check of an AI system, its findings kept as risks.

:meth:`Licences.check` reads the system's model versions (all but retired ones), their licences and foundation models,
the dataset versions they were trained on and those versions' lineage, and applies the rules of
:mod:`assay.governance.licences`. Each finding becomes one risk of the system (source ``licence``, its title stable
across runs, owned by the system's owner, linked to the rule's controls): created the first time, updated when its
wording or controls changed (its ratings, treatment and owner are then people's to judge), reopened when a closed one is
found again; an open licence risk whose finding is gone is closed ("resolved"). Running the check twice changes nothing
the second time. All of it is one write transaction with its audit events (``risk.create``, ``risk.update``,
``risk.reopen``, ``risk.close`` and one ``system.licence_check`` with the counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.governance.licences import (
    DatasetFacts,
    LicenceFinding,
    ModelFacts,
    SystemFacts,
    licence_findings,
)
from assay.governance.risk import score_risk
from assay.services import _lookup
from assay.services._base import Service
from assay.store.models import Dataset, DatasetVersion, Model, ModelVersion, Risk, System, utcnow

__all__ = ["RISK_SOURCE", "LicenceCheck", "Licences"]

#: The risk source of the risks this check keeps (it touches no other risk).
RISK_SOURCE = "licence"
#: The most lineage steps followed from a training dataset version (lineage is a DAG; this bounds a bad one).
MAX_LINEAGE = 1_000


@dataclass
class LicenceCheck:
    """What one check found and did: the findings, and the ids of the risks created, updated, reopened, closed and
    left as they were."""

    system: str
    commercial: bool
    findings: list[LicenceFinding]
    risks: dict[str, int] = field(default_factory=dict)  # finding key -> risk id
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "commercial": self.commercial,
            "findings": [
                {
                    "key": f.key,
                    "rule": f.rule,
                    "title": f.title,
                    "subject": f.subject,
                    "description": f.description,
                    "controls": list(f.controls),
                    "risk_id": self.risks.get(f.key),
                }
                for f in self.findings
            ],
            "risks": {
                "created": self.created,
                "updated": self.updated,
                "reopened": self.reopened,
                "closed": self.closed,
                "unchanged": self.unchanged,
            },
        }


def _dataset_facts(session: Session, version_id: int) -> DatasetFacts:
    """A training dataset version with its lineage (every ancestor once, breadth first)."""
    names: dict[int, str] = {}

    def load(ids: list[int]) -> dict[int, DatasetVersion]:
        rows = session.execute(select(DatasetVersion).where(DatasetVersion.id.in_(ids))).scalars().all()
        missing = {r.dataset_id for r in rows} - set(names)
        if missing:
            for d in session.execute(select(Dataset).where(Dataset.id.in_(missing))).scalars():
                names[d.id] = d.name
        return {r.id: r for r in rows}

    def facts(version: DatasetVersion, ancestors: tuple[DatasetFacts, ...] = ()) -> DatasetFacts:
        return DatasetFacts(f"{names.get(version.dataset_id, '?')}@{version.version}", version.licence, ancestors)

    root = load([version_id])[version_id]
    seen, frontier, ancestors = {version_id}, list(root.parent_ids or []), []
    while frontier and len(seen) < MAX_LINEAGE:
        step = [i for i in dict.fromkeys(frontier) if i not in seen]
        seen.update(step)
        rows = load(step) if step else {}
        frontier = []
        for version in rows.values():
            ancestors.append(facts(version))
            frontier.extend(version.parent_ids or [])
    return facts(root, tuple(sorted(ancestors, key=lambda a: a.ref)))


def system_facts(session: Session, system: System) -> SystemFacts:
    """What the rules need of ``system``: its flag and its model versions (retired ones left out)."""
    rows = session.execute(
        select(Model, ModelVersion)
        .join(ModelVersion, ModelVersion.model_id == Model.id)
        .where(Model.system_id == system.id, ModelVersion.stage != "retired")
        .order_by(Model.name, ModelVersion.id)
    ).all()
    models = []
    for model, version in rows:
        training = None
        if version.training_dataset_version_id is not None:
            training = _dataset_facts(session, version.training_dataset_version_id)
        models.append(
            ModelFacts(
                f"{model.name}@{version.version}",
                version.licence,
                version.foundation_model,
                version.provider,
                training,
            )
        )
    return SystemFacts(system.name, bool(system.commercial), tuple(models))


def _fields(finding: LicenceFinding, owner: str) -> dict[str, Any]:
    return {
        "title": finding.title,
        "description": finding.description,
        "likelihood": finding.likelihood,
        "impact": finding.impact,
        "controls": list(finding.controls),
        "owner": owner,
    }


class Licences(Service):
    """Licences and provenance: the check of a system, its findings kept as risks (see the module's docstring)."""

    def findings(self, system: str) -> list[LicenceFinding]:
        """The findings of the check, without touching the risk register."""
        with self._read() as session:
            return licence_findings(system_facts(session, _lookup.system(session, system)))

    def check(self, system: str) -> LicenceCheck:
        """Run the check on ``system`` and keep its findings as risks (created, updated, reopened, closed)."""
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            facts = system_facts(tx.session, owner)
            findings = licence_findings(facts)
            result = LicenceCheck(owner.name, facts.commercial, findings)
            existing = {
                r.title: r
                for r in tx.session.execute(
                    select(Risk).where(Risk.system_id == owner.id, Risk.source == RISK_SOURCE).order_by(Risk.id)
                ).scalars()
            }
            for finding in findings:
                wanted = _fields(finding, owner.owner)
                risk = existing.pop(finding.title, None)
                if risk is None:
                    score = score_risk(finding.likelihood, finding.impact)
                    risk = Risk(
                        system_id=owner.id, source=RISK_SOURCE, treatment="mitigate", status="open", affected=[],
                        level=score.level, **wanted,
                    )  # fmt: skip
                    tx.session.add(risk)
                    tx.record("risk.create", risk, before=None, payload={"system": owner.name, "by": "licence check",
                                                                         "finding": finding.key})  # fmt: skip
                    result.created.append(risk.id)
                else:
                    before = risk.state()
                    reopen = risk.status == "closed"
                    # the ratings, treatment and owner are people's to judge once the risk exists: only the wording
                    # and the rule's controls are kept up to date
                    controls = list(dict.fromkeys([*(risk.controls or []), *finding.controls]))
                    kept = {"description": finding.description, "controls": controls}
                    changed = sorted(k for k, v in kept.items() if before[k] != v)
                    for key in changed:
                        setattr(risk, key, kept[key])
                    if reopen:
                        risk.status = "open"
                    if reopen or changed:
                        risk.updated_at = utcnow()
                        action = "risk.reopen" if reopen else "risk.update"
                        payload: dict[str, Any] = {"by": "licence check", "finding": finding.key, "changed": changed}
                        if reopen:
                            payload |= {"from": "closed", "to": "open", "reason": "the licence check found it again"}
                        tx.record(action, risk, before=before, payload=payload)
                        (result.reopened if reopen else result.updated).append(risk.id)
                    else:
                        result.unchanged.append(risk.id)
                result.risks[finding.key] = risk.id
            for risk in existing.values():  # licence risks whose finding is gone
                if risk.status != "open":
                    continue
                before = risk.state()
                risk.status = "closed"
                risk.updated_at = utcnow()
                reason = "resolved: the licence check no longer finds it"
                tx.record("risk.close", risk, before=before, payload={"from": "open", "to": "closed", "reason": reason,
                                                                      "by": "licence check"})  # fmt: skip
                result.closed.append(risk.id)
            counts = {
                "findings": len(findings), "created": len(result.created), "updated": len(result.updated),
                "reopened": len(result.reopened), "closed": len(result.closed),
            }  # fmt: skip
            tx.record(
                "system.licence_check", owner, before=owner.state(),
                payload={"counts": counts, "findings": [f.key for f in findings]},
            )  # fmt: skip
        return result
