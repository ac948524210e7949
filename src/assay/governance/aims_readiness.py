"""Readiness of the organisation's AI management system: ISO/IEC 42001 clauses 4-10 judged from its records.

Annex A is judged per AI system (:mod:`assay.governance.readiness`, statuses and evidence); clauses 4-10 ask about
the organisation, so they are judged once, from the management system's records (:class:`Snapshot`, gathered by
:mod:`assay.services.aims.readiness`), by the rules below. Each clause is *ready* when its rule finds no gap; its
evidence is the list of records (``TABLE:ID``, the ledger's object type and id) that satisfy it, so the
certification pack can name the ledger events that prove each one. The rules are Assay's reading of what an
auditor checks first for each clause, not the standard's text; docs/management-system.md lists them.

A clause with no gap but no record to cite either (e.g. no nonconformity and no procedure for them) is not ready:
nothing to judge is never evidence. Windows: a management review and an internal audit count for :data:`YEAR_DAYS`
days (the usual annual cycle), an objective's measurement for :data:`MEASURE_DAYS`, a risk's review for
:data:`YEAR_DAYS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from assay.governance.aims import REVIEW_INPUTS

__all__ = ["CLAUSES", "MEASURE_DAYS", "YEAR_DAYS", "Clause", "Snapshot", "SystemFacts", "judge"]

YEAR_DAYS: Final = 366
MEASURE_DAYS: Final = 92
OPERATING_STAGES: Final = ("deployment", "operation_and_monitoring")


@dataclass(frozen=True)
class SystemFacts:
    """What the clauses ask about one AI system."""

    id: int
    name: str
    category: str  # EU AI Act category
    stage: str
    owner: str = ""
    risks: Sequence[dict[str, Any]] = ()  # {"id", "treatment", "controls": n, "owner", "review_date", "updated_at"}
    impact_assessments: Sequence[dict[str, Any]] = ()  # {"id", "status", "updated_at"}
    team: Sequence[dict[str, Any]] = ()  # active members {"id", "person", "disciplines"}
    control_statuses: int = 0  # Annex A statuses recorded (the SoA)
    gate_policies: int = 0
    gate_runs: int = 0
    monitors: int = 0


@dataclass(frozen=True)
class Snapshot:
    """The management system's records on ``day`` (current versions, active rows), as plain values."""

    day: dt.date
    issues: Sequence[dict[str, Any]] = ()  # active {"id", "kind"}
    parties: Sequence[dict[str, Any]] = ()  # active {"id", "name", "requirements": [...]}
    scope: dict[str, Any] | None = None  # in force {"id", "version", "systems", "exclusions"}
    documents: Sequence[dict[str, Any]] = ()  # newest version per key {"id", "key", "kind", "topic", "status",
    #                                            "approver_role", "next_review", "owner"}
    roles: Sequence[dict[str, Any]] = ()  # active {"id", "role", "person", "system_id"}
    systems: Sequence[SystemFacts] = ()  # every registered system
    objectives: Sequence[dict[str, Any]] = ()  # active {"id", "key", "measured_at": date | None, "met"}
    trainings: Sequence[dict[str, Any]] = ()  # active {"id", "code", "required_for"}
    training_records: Sequence[dict[str, Any]] = ()  # {"id", "training_id", "person", "expires_on"}
    audits: Sequence[dict[str, Any]] = ()  # {"id", "programme", "status", "completed_on", "conclusion"}
    findings: Sequence[dict[str, Any]] = ()  # {"id", "audit_id", "kind", "nonconformity_id"}
    nonconformities: Sequence[dict[str, Any]] = ()  # {"id", "status", "due_date", "effective", "closed_on"}
    reviews: Sequence[dict[str, Any]] = ()  # {"id", "status", "held_on", "inputs": [keys], "decisions": n}
    actions: Sequence[dict[str, Any]] = ()  # corrective actions {"id", "status", "owner", "due_date", "review_id",
    #                                          "nonconformity_id"}

    def in_scope(self) -> list[SystemFacts]:
        """The systems the scope in force names (none without a scope)."""
        names = set(self.scope["systems"]) if self.scope else set()
        return [s for s in self.systems if s.name in names]

    def holders(self, role: str) -> list[dict[str, Any]]:
        return [r for r in self.roles if r.get("role") == role]

    def approved(self, *kinds: str, topic: str | None = None) -> list[dict[str, Any]]:
        return [
            d
            for d in self.documents
            if d["status"] == "approved" and d["kind"] in kinds and (topic is None or d.get("topic") == topic)
        ]


@dataclass
class _Result:
    gaps: list[dict[str, str]] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)

    def gap(self, detail: str, fix: str) -> None:
        self.gaps.append({"detail": detail, "fix": fix})

    def cite(self, table: str, *ids: Any) -> None:
        self.evidence.extend(f"{table}:{i}" for i in ids)


@dataclass(frozen=True)
class Clause:
    id: str
    asks: str  # what Assay checks, in a sentence
    rule: Callable[[Snapshot, _Result], None]


def _within(day: dt.date, when: dt.date | None, days: int) -> bool:
    return when is not None and (day - when).days <= days


def _policy(s: Snapshot, r: _Result) -> list[dict[str, Any]]:
    policies = s.approved("ai-policy")
    if not policies:
        r.gap("no approved AI policy", "assay aims document add --kind ai-policy ..., then approve it (top management)")
    for p in policies:
        r.cite("aims_documents", p["id"])
        if p.get("next_review") is not None and p["next_review"] < s.day:
            r.gap(f"the AI policy was due for review on {p['next_review']}", "approve a reviewed version")
    return policies


def _role(s: Snapshot, r: _Result, role: str) -> None:
    holders = [h for h in s.holders(role) if h.get("system_id") is None]
    if not holders:
        r.gap(f"nobody holds the role {role} for the organisation", f"assay aims role assign {role} PERSON")
    r.cite("aims_roles", *(h["id"] for h in holders))


def _scope_systems(s: Snapshot, r: _Result) -> list[SystemFacts]:
    if s.scope is None:
        r.gap("no scope of the management system", "assay aims scope set ...")
        return []
    return s.in_scope()


def _recent_review(s: Snapshot, r: _Result) -> list[dict[str, Any]]:
    closed = [v for v in s.reviews if v["status"] == "closed" and _within(s.day, v["held_on"], YEAR_DAYS)]
    if not closed:
        r.gap(f"no management review closed in the last {YEAR_DAYS} days", "assay aims review open ..., then close")
    r.cite("management_reviews", *(v["id"] for v in closed))
    return closed


def _c4_1(s: Snapshot, r: _Result) -> None:
    for kind in ("internal", "external"):
        found = [i for i in s.issues if i["kind"] == kind]
        if not found:
            r.gap(f"no {kind} issue recorded", f"assay aims context issue add --kind {kind} ...")
        r.cite("aims_issues", *(i["id"] for i in found))


def _c4_2(s: Snapshot, r: _Result) -> None:
    if not s.parties:
        r.gap("no interested party recorded", "assay aims context party add ...")
    for p in s.parties:
        r.cite("aims_parties", p["id"])
        if not p.get("requirements"):
            r.gap(f"interested party {p['name']!r} has no requirements recorded", "assay aims context party update")


def _c4_3(s: Snapshot, r: _Result) -> None:
    _scope_systems(s, r)
    if s.scope is None:
        return
    r.cite("aims_scopes", s.scope["id"])
    if not s.scope["systems"]:
        r.gap("the scope names no AI system", "assay aims scope set --system NAME ...")
    named = set(s.scope["systems"]) | {e.get("what", "") for e in s.scope.get("exclusions", [])}
    for system in s.systems:
        if system.name not in named:
            r.gap(
                f"AI system {system.name!r} is neither in the scope nor excluded with a reason", "a new scope version"
            )


def _c4_4(s: Snapshot, r: _Result) -> None:
    _scope_systems(s, r)
    if s.scope is not None:
        r.cite("aims_scopes", s.scope["id"])
    _policy(s, r)
    _role(s, r, "management-system-owner")


def _c5_1(s: Snapshot, r: _Result) -> None:
    _role(s, r, "top-management")
    for p in _policy(s, r):
        if p.get("approver_role") != "top-management":
            r.gap("the AI policy was not approved by top management", "approve it as a top-management role holder")
    _recent_review(s, r)


def _c5_2(s: Snapshot, r: _Result) -> None:
    _policy(s, r)


def _c5_3(s: Snapshot, r: _Result) -> None:
    _role(s, r, "management-system-owner")
    _role(s, r, "internal-auditor")
    for system in _scope_systems(s, r):
        owners = [h for h in s.holders("system-owner") if h.get("system_id") in (None, system.id)]
        if not owners and not system.owner:
            r.gap(f"AI system {system.name!r} has no owner", "assay aims role assign system-owner PERSON --system")
        r.cite("aims_roles", *(h["id"] for h in owners))


def _risks(s: Snapshot, r: _Result, *, treated: bool = False, reviewed: bool = False) -> None:
    for system in _scope_systems(s, r):
        if not system.risks:
            r.gap(f"AI system {system.name!r} has no risk assessed", f"assay risk add {system.name} ...")
        for risk in system.risks:
            r.cite("risks", risk["id"])
            if treated and risk["treatment"] == "mitigate" and not risk["controls"]:
                r.gap(
                    f"risk {risk['id']} of {system.name!r} is to be mitigated but names no control", "assay risk update"
                )
            if reviewed:
                when = risk.get("review_date") or risk["updated_at"]
                if risk.get("review_date") is not None and risk["review_date"] < s.day:
                    r.gap(f"risk {risk['id']} of {system.name!r} was due for review on {when}", "review the risk")
                elif not _within(s.day, risk["updated_at"], YEAR_DAYS) and risk.get("review_date") is None:
                    r.gap(f"risk {risk['id']} of {system.name!r} not reviewed for a year", "review the risk")


def _c6_1_1(s: Snapshot, r: _Result) -> None:
    _risks(s, r)


def _c6_1_2(s: Snapshot, r: _Result) -> None:
    """A risk owner for the organisation, or for each system in scope (a role for it, or an owner on every risk)."""
    owners = s.holders("risk-owner")
    r.cite("aims_roles", *(h["id"] for h in owners))
    if not any(h.get("system_id") is None for h in owners):
        for system in s.in_scope():
            owned = any(h.get("system_id") == system.id for h in owners)
            if not owned and not (system.risks and all(risk.get("owner") for risk in system.risks)):
                r.gap(
                    f"nobody owns the risks of {system.name!r}",
                    f"assay aims role assign risk-owner PERSON (--system {system.name}), or give each risk an owner",
                )
    _risks(s, r)


def _c6_1_3(s: Snapshot, r: _Result) -> None:
    _risks(s, r, treated=True)
    for system in s.in_scope():
        if not system.control_statuses:
            r.gap(f"AI system {system.name!r} has no Statement of Applicability", f"assay control set {system.name}")
        else:
            r.cite("systems", system.id)


def _impact(s: Snapshot, r: _Result, *, recent: bool) -> None:
    for system in _scope_systems(s, r):
        if system.category != "high":
            continue
        found = system.impact_assessments
        if not found:
            r.gap(f"high-risk AI system {system.name!r} has no impact assessment", f"assay impact add {system.name}")
        r.cite("impact_assessments", *(a["id"] for a in found))
        if recent and found and not any(_within(s.day, a["updated_at"], YEAR_DAYS) for a in found):
            r.gap(f"the impact assessment of {system.name!r} was not updated for a year", "update it")


def _c6_1_4(s: Snapshot, r: _Result) -> None:
    _impact(s, r, recent=False)


def _c6_2(s: Snapshot, r: _Result) -> None:
    if not s.objectives:
        r.gap("no AI objective recorded", "assay aims objective add ...")
    for o in s.objectives:
        r.cite("aims_objectives", o["id"])
        if not _within(s.day, o.get("measured_at"), MEASURE_DAYS):
            r.gap(
                f"objective {o['key']!r} not measured in the last {MEASURE_DAYS} days", "assay aims objective measure"
            )


def _c6_3(s: Snapshot, r: _Result) -> None:
    found = s.approved("procedure", "plan", "topic-policy", topic="change-management")
    if not found:
        r.gap("no approved procedure or plan on the topic change-management", "add and approve one")
    r.cite("aims_documents", *(d["id"] for d in found))


def _c7_1(s: Snapshot, r: _Result) -> None:
    for system in _scope_systems(s, r):
        if not system.team:
            r.gap(f"AI system {system.name!r} has no team recorded", f"assay aims team add {system.name} PERSON ...")
        r.cite("aims_team_members", *(m["id"] for m in system.team))


def _current_training(s: Snapshot, person: str, training_id: int) -> dict[str, Any] | None:
    for record in s.training_records:
        expires = record.get("expires_on")
        if (
            record["person"] == person
            and record["training_id"] == training_id
            and (expires is None or expires >= s.day)
        ):
            return record
    return None


def _people(s: Snapshot, r: _Result) -> None:
    if not s.roles:
        r.gap("nobody holds a governance role yet", "assay aims role assign ROLE PERSON")


def _c7_2(s: Snapshot, r: _Result) -> None:
    _people(s, r)
    if not s.trainings:
        r.gap("the training catalogue is empty", "assay aims training add ...")
    for training in s.trainings:
        r.cite("aims_trainings", training["id"])
        for holder in s.roles:
            if holder["role"] not in training.get("required_for", []):
                continue
            record = _current_training(s, holder["person"], training["id"])
            if record is None:
                r.gap(
                    f"{holder['person']} ({holder['role']}) lacks a current {training['code']}", "record the training"
                )
            else:
                r.cite("aims_training_records", record["id"])


def _c7_3(s: Snapshot, r: _Result) -> None:
    _policy(s, r)
    _people(s, r)
    for person in sorted({h["person"] for h in s.roles}):
        done = [t for t in s.trainings if _current_training(s, person, t["id"]) is not None]
        if not done:
            r.gap(f"{person} holds a governance role but has no current training", "record the training")


def _c7_4(s: Snapshot, r: _Result) -> None:
    found = s.approved("procedure", "plan", "topic-policy", topic="communication")
    if not found:
        r.gap("no approved procedure or plan on the topic communication", "add and approve one")
    r.cite("aims_documents", *(d["id"] for d in found))


def _c7_5_1(s: Snapshot, r: _Result) -> None:
    approved = [d for d in s.documents if d["status"] == "approved"]
    if not approved:
        r.gap("the register of documented information holds no approved document", "assay aims document add")
    r.cite("aims_documents", *(d["id"] for d in approved))


def _c7_5_2(s: Snapshot, r: _Result) -> None:
    for d in s.documents:
        if d["status"] == "draft" and d["kind"] in ("ai-policy", "topic-policy"):
            r.gap(f"policy {d['key']!r} is a draft not yet approved", "approve it (top management)")
        elif d["status"] == "approved":
            r.cite("aims_documents", d["id"])
    if not any(d["status"] == "approved" for d in s.documents):
        r.gap("no approved document", "assay aims document add, then approve")


def _c7_5_3(s: Snapshot, r: _Result) -> None:
    for d in s.documents:
        if d["status"] != "approved":
            continue
        r.cite("aims_documents", d["id"])
        if d.get("next_review") is not None and d["next_review"] < s.day:
            r.gap(f"document {d['key']!r} was due for review on {d['next_review']}", "approve a reviewed version")
    if not any(d["status"] == "approved" for d in s.documents):
        r.gap("no approved document under control", "assay aims document add, then approve")


def _c8_1(s: Snapshot, r: _Result) -> None:
    for system in _scope_systems(s, r):
        if not (system.gate_policies or system.gate_runs):
            r.gap(f"AI system {system.name!r} has no gate policy or gate run", f"assay gate ... {system.name}")
        else:
            r.cite("systems", system.id)


def _c8_2(s: Snapshot, r: _Result) -> None:
    _risks(s, r, reviewed=True)


def _c8_3(s: Snapshot, r: _Result) -> None:
    _risks(s, r, treated=True)


def _c8_4(s: Snapshot, r: _Result) -> None:
    _impact(s, r, recent=True)


def _c9_1(s: Snapshot, r: _Result) -> None:
    for system in _scope_systems(s, r):
        if system.stage in OPERATING_STAGES and not system.monitors:
            r.gap(f"deployed AI system {system.name!r} has no monitor", f"assay monitor create {system.name} ...")
        elif system.monitors:
            r.cite("systems", system.id)
    _c6_2(s, r)


def _c9_2_1(s: Snapshot, r: _Result) -> None:
    done = [a for a in s.audits if a["status"] == "completed" and _within(s.day, a.get("completed_on"), YEAR_DAYS)]
    if not done:
        r.gap(f"no internal audit completed in the last {YEAR_DAYS} days", "assay aims audit plan/start/complete")
    r.cite("aims_audits", *(a["id"] for a in done))


def _c9_2_2(s: Snapshot, r: _Result) -> None:
    _role(s, r, "internal-auditor")
    if not s.audits:
        r.gap("no audit programme (no audit planned)", "assay aims audit plan --programme YEAR ...")
    for a in s.audits:
        r.cite("aims_audits", a["id"])
        if a["status"] == "completed" and not a.get("conclusion"):
            r.gap(f"completed audit {a['id']} has no conclusion", "record it")


def _c9_3_1(s: Snapshot, r: _Result) -> None:
    _recent_review(s, r)


def _c9_3_2(s: Snapshot, r: _Result) -> None:
    for review in _recent_review(s, r):
        missing = [k for k in REVIEW_INPUTS if k not in review.get("inputs", [])]
        if missing:
            r.gap(f"management review {review['id']} lacks the inputs {', '.join(missing)}", "refresh its inputs")


def _c9_3_3(s: Snapshot, r: _Result) -> None:
    for review in _recent_review(s, r):
        if not review.get("decisions"):
            r.gap(f"management review {review['id']} recorded no decision", "record its decisions")
        actions = [a for a in s.actions if a.get("review_id") == review["id"]]
        r.cite("corrective_actions", *(a["id"] for a in actions))
        for a in actions:
            if not a.get("owner"):
                r.gap(f"action {a['id']} of management review {review['id']} has no owner", "give it an owner")


def _c10_1(s: Snapshot, r: _Result) -> None:
    improved = [n for n in s.nonconformities if n["status"] == "closed" and n.get("effective")]
    opportunities = [f for f in s.findings if f["kind"] == "opportunity"]
    decisions = [v for v in s.reviews if v["status"] == "closed" and v.get("decisions")]
    if not (improved or opportunities or decisions):
        r.gap(
            "no sign of improvement: no nonconformity closed as effective, no opportunity found, no review decision",
            "act on audit findings and management reviews",
        )
    r.cite("nonconformities", *(n["id"] for n in improved))
    r.cite("aims_findings", *(f["id"] for f in opportunities))


def _c10_2(s: Snapshot, r: _Result) -> None:
    procedures = s.approved("procedure", "plan", "topic-policy", topic="nonconformity")
    r.cite("aims_documents", *(d["id"] for d in procedures))
    for n in s.nonconformities:
        r.cite("nonconformities", n["id"])
        if n["status"] != "closed" and n.get("due_date") is not None and n["due_date"] < s.day:
            r.gap(f"nonconformity {n['id']} is past its due date {n['due_date']}", "act on it or re-plan it")
    for a in s.actions:
        if a.get("nonconformity_id") and a["status"] != "done" and a.get("due_date") and a["due_date"] < s.day:
            r.gap(f"corrective action {a['id']} is past its due date {a['due_date']}", "complete it or re-plan it")


CLAUSES: Final[tuple[Clause, ...]] = (
    Clause("4.1", "an active internal and an active external issue", _c4_1),
    Clause("4.2", "interested parties, each with its requirements", _c4_2),
    Clause("4.3", "a scope in force naming AI systems; every registered system in it or excluded", _c4_3),
    Clause("4.4", "a scope, an approved AI policy and a management-system owner", _c4_4),
    Clause("5.1", "top management named, the AI policy approved by it, a management review in the last year", _c5_1),
    Clause("5.2", "an approved AI policy, not overdue for review", _c5_2),
    Clause("5.3", "a management-system owner, an internal auditor, an owner for every system in scope", _c5_3),
    Clause("6.1.1", "risks recorded for every system in scope", _c6_1_1),
    Clause("6.1.2", "risks assessed and owned (a risk owner for the organisation or each system) in scope", _c6_1_2),
    Clause("6.1.3", "risks to mitigate name their controls; every system in scope has its SoA", _c6_1_3),
    Clause("6.1.4", "an impact assessment for every high-risk system in scope", _c6_1_4),
    Clause("6.2", "AI objectives, each measured in the last 92 days", _c6_2),
    Clause("6.3", "an approved procedure or plan on change-management", _c6_3),
    Clause("7.1", "a team recorded for every system in scope", _c7_1),
    Clause("7.2", "a training catalogue; every role holder has the trainings their role requires, current", _c7_2),
    Clause("7.3", "an approved AI policy; every role holder has a current training", _c7_3),
    Clause("7.4", "an approved procedure or plan on communication", _c7_4),
    Clause("7.5.1", "approved documents in the register", _c7_5_1),
    Clause("7.5.2", "no policy left in draft; documents approved", _c7_5_2),
    Clause("7.5.3", "no approved document overdue for review", _c7_5_3),
    Clause("8.1", "a gate policy or gate run for every system in scope", _c8_1),
    Clause("8.2", "risks of systems in scope reviewed on time", _c8_2),
    Clause("8.3", "risks to mitigate name their controls", _c8_3),
    Clause("8.4", "impact assessments of high-risk systems in scope updated in the last year", _c8_4),
    Clause("9.1", "monitors on deployed systems in scope; objectives measured", _c9_1),
    Clause("9.2.1", "an internal audit completed in the last year", _c9_2_1),
    Clause("9.2.2", "an internal auditor and an audit programme; completed audits concluded", _c9_2_2),
    Clause("9.3.1", "a management review closed in the last year", _c9_3_1),
    Clause("9.3.2", "the review considered every input of 9.3.2", _c9_3_2),
    Clause("9.3.3", "the review recorded decisions, its actions have owners", _c9_3_3),
    Clause("10.1", "improvement shown: effective corrective action, opportunities or review decisions", _c10_1),
    Clause(
        "10.2",
        "nonconformities handled (or a procedure for them); none, nor any corrective action, past its due date",
        _c10_2,
    ),
)


def judge(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Each clause of :data:`CLAUSES` judged on ``snapshot``: ``{"id", "asks", "ready", "gaps", "evidence"}`` (gaps
    ``{"detail", "fix"}``; evidence ``TABLE:ID`` references, each once, in order)."""
    judged = []
    for clause in CLAUSES:
        result = _Result()
        clause.rule(snapshot, result)
        gaps = list({g["detail"]: g for g in result.gaps}.values())
        if not gaps and not result.evidence:  # nothing to judge is not evidence: never ready by default
            gaps = [{"detail": "no record shows it yet", "fix": f"record what {clause.asks}"}]
        judged.append(
            {
                "id": clause.id,
                "asks": clause.asks,
                "ready": not gaps,
                "gaps": gaps,
                "evidence": list(dict.fromkeys(result.evidence)),
            }
        )
    return judged
