"""``ws.aims.audits``: the internal audit programme (ISO/IEC 42001 9.2).

An audit belongs to a ``programme`` (e.g. ``2027``) and has a title, a scope (AI systems, clauses of ISO/IEC 42001,
units), criteria (``FRAMEWORK:CONTROL`` ids of the catalogues), an auditor and the area audited, and a planned date.
It moves ``planned -> in_progress -> completed`` (with a conclusion; a completed audit no longer changes) or to
``cancelled``. The auditor holds the governance role ``internal-auditor`` and is independent: they may not audit an
area of a governance role they hold, nor a system they hold a role for, own, or are in the team of (checked when the
audit is planned and again when it starts). Audits are planned, started and cancelled by a manager of the management
system; the auditor (or a manager) records findings while it is in progress and completes it. A major or minor
nonconformity finding opens a nonconformity (source ``audit``, ``finding:ID``) in the same transaction.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from assay.errors import Conflict, InvalidInput, NotFound
from assay.governance.aims import AUDIT_STATUSES, FINDING_KINDS, NONCONFORMING_FINDINGS, one_of, slug
from assay.governance.aims_audit import AUDIT_FRAMEWORK, control_ids, independence_problem, text
from assay.governance.readiness import resolve_control
from assay.services._base import Service, single_user
from assay.services.aims._base import holds, require_manager, require_person
from assay.services.aims._refs import check_ref, independence_of, parse_day, system_named
from assay.services.aims.nonconformities import open_nonconformity
from assay.store.models import AimsAudit, AimsFinding, System, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.database import Transaction

__all__ = ["AUDITOR_ROLE", "Audits"]

AUDITOR_ROLE = "internal-auditor"
_SCOPE_KEYS = ("systems", "clauses", "units")


def _audit(session: Session, audit_id: int) -> AimsAudit:
    found = session.get(AimsAudit, audit_id)
    if found is None:
        raise NotFound(f"no internal audit with id {audit_id}")
    return found


def _scope(session: Session, scope: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    """The scope with systems named as stored, clauses checked against ISO/IEC 42001, units as given."""
    given = dict(scope or {})
    unknown = sorted(set(given) - set(_SCOPE_KEYS))
    if unknown:
        raise InvalidInput(f"scope: unknown key {unknown[0]!r} (keys: {', '.join(_SCOPE_KEYS)})")
    for key, values in given.items():
        if isinstance(values, str) or not all(isinstance(v, str) for v in values):
            raise InvalidInput(f"scope.{key} must be a list of texts")
    systems = [system_named(session, "scope.systems", name).name for name in given.get("systems", ())]
    clauses = []
    for clause in given.get("clauses", ()):
        try:
            clauses.append(resolve_control(AUDIT_FRAMEWORK, clause.strip()).id)
        except InvalidInput as exc:
            raise InvalidInput(f"scope.clauses: {exc}") from None
    units = [text("scope.units", u, limit=200) for u in given.get("units", ())]
    out = {"systems": list(dict.fromkeys(systems)), "clauses": list(dict.fromkeys(clauses)), "units": units}
    if not any(out.values()):
        raise InvalidInput("scope is empty: name at least one system, clause or unit")
    return out


def _check_auditor(session: Session, auditor: str, area: str, systems: Sequence[str]) -> None:
    """The auditor holds ``internal-auditor`` and is independent of the area and systems audited."""
    if not holds(session, auditor, (AUDITOR_ROLE,)):
        raise InvalidInput(
            f"auditor: {auditor} does not hold the governance role {AUDITOR_ROLE} (assign it with "
            f"`assay aims role assign {AUDITOR_ROLE} {auditor}`)"
        )
    problem = independence_problem(auditor, area, systems, independence_of(session, auditor))
    if problem is not None:
        raise Conflict(problem)


def _require_auditor(tx: Transaction, audit: AimsAudit, what: str) -> None:
    """The audit's own auditor (authenticated, or in a single-user workspace), or a manager."""
    if tx.actor == audit.auditor and (tx.authenticated or single_user(tx)):
        return
    require_manager(tx, what)


def _not_final(audit: AimsAudit, doing: str) -> None:
    if audit.status in ("completed", "cancelled"):
        raise Conflict(f"internal audit {audit.id} is {audit.status}: {doing} is no longer possible")


def _findings(session: Session, audit_ids: Sequence[int]) -> list[AimsFinding]:
    if not audit_ids:
        return []
    query = select(AimsFinding).where(AimsFinding.audit_id.in_(audit_ids)).order_by(AimsFinding.id)
    return list(session.execute(query).scalars())


class Audits(Service):
    """The internal audit programme: plan, start, complete, cancel audits; record their findings."""

    def plan(
        self,
        programme: str,
        title: str,
        *,
        auditor: str,
        scope: Mapping[str, Sequence[str]],
        criteria: Sequence[str] = (),
        area: str = "",
        planned_on: str | dt.date | None = None,
    ) -> AimsAudit:
        """Plan an audit of ``programme`` (a manager's decision); the auditor must be independent of ``area`` and
        of the systems in ``scope``."""
        day = parse_day("planned_on", planned_on)
        with self._write() as tx:
            require_manager(tx, "plan an internal audit")
            session = tx.session
            valid_scope = _scope(session, scope)
            require_person(session, "auditor", auditor)
            area = text("area", area, limit=200, required=False)
            _check_auditor(session, auditor, area, valid_scope["systems"])
            audit = AimsAudit(
                programme=slug("programme", programme),
                title=text("title", title, limit=300),
                scope=valid_scope,
                criteria=control_ids("criteria", criteria),
                auditor=auditor,
                area=area,
                planned_on=day,
                status="planned",
                conclusion="",
                created_by=tx.actor,
            )
            session.add(audit)
            session.flush()
            tx.record("aims.audit.plan", audit, before=None, payload={"programme": audit.programme})
        return audit

    def _move(self, audit_id: int, status: str, verb: str, conclusion: str = "", reason: str = "") -> AimsAudit:
        with self._write() as tx:
            audit = _audit(tx.session, audit_id)
            allowed = {
                "in_progress": ("planned",),
                "completed": ("in_progress",),
                "cancelled": ("planned", "in_progress"),
            }
            if audit.status not in allowed[status]:
                _not_final(audit, f"moving it to {status}")
                raise Conflict(f"internal audit {audit_id} is {audit.status} and cannot move to {status}")
            if status == "completed":
                _require_auditor(tx, audit, "complete an internal audit")
                conclusion = text("conclusion", conclusion, limit=20_000)
            else:
                require_manager(tx, f"{verb} an internal audit")
            if status == "in_progress":  # roles may have changed since it was planned
                _check_auditor(tx.session, audit.auditor, audit.area, audit.scope.get("systems", []))
            before = audit.state()
            now = utcnow()
            audit.status = status
            audit.updated_at = now
            if status == "completed":
                audit.conclusion = conclusion
                audit.completed_at = now
            payload = {"from": before["status"], "to": status}
            if reason:
                payload["reason"] = text("reason", reason, limit=2000)
            tx.record(f"aims.audit.{verb}", audit, before=before, payload=payload)
        return audit

    def start(self, audit_id: int) -> AimsAudit:
        """Start a planned audit (the auditor's independence is checked again)."""
        return self._move(audit_id, "in_progress", "start")

    def complete(self, audit_id: int, conclusion: str) -> AimsAudit:
        """Complete an audit in progress with its conclusion; it no longer changes."""
        return self._move(audit_id, "completed", "complete", conclusion=conclusion)

    def cancel(self, audit_id: int, *, reason: str = "") -> AimsAudit:
        """Cancel a planned or running audit."""
        return self._move(audit_id, "cancelled", "cancel", reason=reason)

    def get(self, audit_id: int) -> AimsAudit:
        with self._read() as session:
            return _audit(session, audit_id)

    def detail(self, audit_id: int) -> dict[str, Any]:
        """The audit with its findings."""
        with self._read() as session:
            audit = _audit(session, audit_id)
            return {**audit.state(), "findings": [f.state() for f in _findings(session, [audit.id])]}

    def list(self, *, programme: str | None = None, status: str | None = None) -> list[AimsAudit]:
        """Audits, by planned date then id; optionally of one programme or status."""
        query = select(AimsAudit)
        if programme is not None:
            query = query.where(AimsAudit.programme == programme)
        if status is not None:
            query = query.where(AimsAudit.status == one_of("status", status, AUDIT_STATUSES))
        with self._read() as session:
            rows = list(session.execute(query.order_by(AimsAudit.id)).scalars())
        return sorted(rows, key=lambda a: (a.planned_on or dt.date.max, a.id))

    def programme(self, name: str | None = None) -> builtins.list[dict[str, Any]]:
        """The audits of a programme (all programmes without ``name``), each with its status and its findings
        counted by kind."""
        audits = self.list(programme=name)
        with self._read() as session:
            counts: dict[int, Counter[str]] = {}
            for finding in _findings(session, [a.id for a in audits]):
                counts.setdefault(finding.audit_id, Counter())[finding.kind] += 1
        return [
            {
                **a.state(),
                "findings": {kind: counts.get(a.id, Counter())[kind] for kind in FINDING_KINDS},
                "findings_total": sum(counts.get(a.id, Counter()).values()),
            }
            for a in audits
        ]

    def programmes(self) -> builtins.list[str]:
        with self._read() as session:
            query = select(AimsAudit.programme).distinct().order_by(AimsAudit.programme)
            return list(session.execute(query).scalars())

    # -- findings -------------------------------------------------------------------------------------------------

    def add_finding(
        self,
        audit_id: int,
        kind: str,
        title: str,
        *,
        description: str = "",
        controls: Sequence[str] = (),
        records: Sequence[str] = (),
    ) -> AimsFinding:
        """Record a finding of an audit in progress (its auditor or a manager): a major or minor nonconformity (which
        opens a nonconformity), an observation or an opportunity for improvement, linked to the controls
        (``FRAMEWORK:CONTROL``) and records (``TYPE:ID``) concerned."""
        with self._write() as tx:
            audit = _audit(tx.session, audit_id)
            _require_auditor(tx, audit, "record a finding")
            if audit.status != "in_progress":
                _not_final(audit, "recording a finding")
                raise Conflict(f"internal audit {audit_id} is {audit.status}: start it before recording findings")
            refs = []
            systems: list[int] = []
            for ref in records:
                canonical, found = check_ref(tx.session, "records", ref)
                if canonical not in refs:
                    refs.append(canonical)
                if isinstance(found, System):
                    systems.append(found.id)
            finding = AimsFinding(
                audit_id=audit.id,
                kind=one_of("kind", kind, FINDING_KINDS),
                title=text("title", title, limit=300),
                description=text("description", description, limit=20_000, required=False),
                controls=control_ids("controls", controls),
                records=refs,
                created_by=tx.actor,
            )
            tx.session.add(finding)
            tx.session.flush()
            if kind in NONCONFORMING_FINDINGS:
                in_scope = [system_named(tx.session, "scope", n).id for n in audit.scope.get("systems", [])]
                candidates = list(dict.fromkeys(systems)) or in_scope
                nc = open_nonconformity(
                    tx,
                    source="audit",
                    source_ref=f"finding:{finding.id}",
                    title=finding.title,
                    description=finding.description,
                    severity=kind,
                    system_id=candidates[0] if len(candidates) == 1 else None,
                    audit_id=audit.id,
                )
                finding.nonconformity_id = nc.id
            tx.record(
                "aims.finding.create", finding, before=None,
                payload={"audit_id": audit.id, "kind": kind, "nonconformity_id": finding.nonconformity_id},
            )  # fmt: skip
        return finding

    def findings(self, audit_id: int | None = None, *, kind: str | None = None) -> builtins.list[AimsFinding]:
        """Findings of one audit (of every audit without ``audit_id``); optionally of one kind."""
        with self._read() as session:
            query = select(AimsFinding)
            if audit_id is not None:
                query = query.where(AimsFinding.audit_id == _audit(session, audit_id).id)
            if kind is not None:
                query = query.where(AimsFinding.kind == one_of("kind", kind, FINDING_KINDS))
            return list(session.execute(query.order_by(AimsFinding.id)).scalars())
