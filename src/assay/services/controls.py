"""Per-system control status, evidence, the Statement of Applicability and readiness.

* :meth:`Controls.set_status` keeps, for one system and one catalogue entry, whether the entry applies (an
  exclusion needs a justification), how far its implementation is and who owns it.
* :meth:`Controls.add_evidence` attaches an assessment, a file (copied into the artifact store) or a URL to an
  entry, valid for a period; evidence for an entry the system excluded is refused.
* :meth:`Controls.revoke_evidence` withdraws a piece of evidence (attached by hand or linked by an evidence rule)
  with a reason: it stays listed, as ``revoked``, and no longer counts anywhere (readiness, the SoA, gates, the
  technical documentation).
* :meth:`Controls.soa` and :meth:`Controls.readiness` build plain documents (``assay.soa``, ``assay.readiness``)
  that :mod:`assay.reports.soa` renders. What counts as ready, and which evidence counts for which entry through
  the crosswalk, is decided in :mod:`assay.governance.readiness`.

Every change is one write transaction with its audit event (``control.status``, ``evidence.add``,
``evidence.revoke``).
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from assay.errors import Conflict, InvalidInput
from assay.governance.catalogues import Control
from assay.governance.readiness import (
    SOA_FRAMEWORK,
    assessed_entries,
    catalogue_of,
    covering,
    evaluate,
    evidence_state,
    framework_applies,
    resolve_control,
    share,
    soa_controls,
)
from assay.governance.records import ControlStatusSpec, EvidenceSpec, validate
from assay.services import _lookup
from assay.services._base import Listing, Service, listing
from assay.services.access import require_role
from assay.services.registry import store_artifact
from assay.store import audit
from assay.store.models import Assessment, ControlStatus, Evidence, System, utcnow

if TYPE_CHECKING:
    pass

__all__ = ["READINESS_SCHEMA", "SOA_SCHEMA", "Controls", "EvidenceView", "counted_entries", "evidence_of"]

SOA_SCHEMA: Final = "assay.soa"
READINESS_SCHEMA: Final = "assay.readiness"
_SCHEMA_VERSION: Final = 1
_STATUS_FIELDS: Final = ("applicable", "justification", "implementation", "owner")
_DEFAULT_STATUS: Final[dict[str, Any]] = {
    "applicable": True,
    "justification": "",
    "implementation": "not_started",
    "owner": "",
}
REVOKE_REASON_MAX: Final = 2_000
_COUNTED: Final = {
    "iso42001": "the 38 Annex A controls (clauses 4-10 are judged once for the organisation, from the management "
    "system's records: `assay aims readiness`)",
    "nist-ai-rmf": "the 72 subcategories",
    "eu-ai-act": "the 32 obligations of Articles 9-15 and the 9 Annex IV headings",
    "nist-ai-600-1": "the 12 risks of generative AI, for generative systems only (every system: the generative ones)",
}


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True)
class EvidenceView:
    """A piece of evidence as of a day: ``state`` is ``current``, ``expired``, ``not_yet_valid`` or ``revoked``
    (withdrawn, on every day; ``revoked_at``, ``revoked_by`` and ``revoke_reason`` say when, by whom and why).
    ``via`` is ``None`` for evidence attached to the entry asked about, else the chain of links through which it
    counts."""

    id: int
    system: str
    framework: str
    control_id: str
    kind: str
    assessment_id: int | None
    artifact_sha256: str | None
    url: str | None
    description: str
    rule: str | None
    valid_from: dt.date
    valid_until: dt.date | None
    created_by: str
    created_at: dt.datetime
    state: str
    via: str | None = None
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None

    @property
    def current(self) -> bool:
        return self.state == "current"

    @property
    def revoked(self) -> bool:
        return self.state == "revoked"

    @property
    def ref(self) -> str:
        return f"{self.framework}:{self.control_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "system": self.system,
            "framework": self.framework,
            "control_id": self.control_id,
            "kind": self.kind,
            "assessment_id": self.assessment_id,
            "artifact_sha256": self.artifact_sha256,
            "url": self.url,
            "description": self.description,
            "rule": self.rule,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": None if self.valid_until is None else self.valid_until.isoformat(),
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "state": self.state,
            "current": self.current,
            "via": self.via,
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
            "revoked_by": self.revoked_by,
            "revoke_reason": self.revoke_reason,
        }


def _view(evidence: Evidence, system: str, day: dt.date, via: str | None = None) -> EvidenceView:
    return EvidenceView(
        id=evidence.id,
        system=system,
        framework=evidence.framework,
        control_id=evidence.control_id,
        kind=evidence.kind,
        assessment_id=evidence.assessment_id,
        artifact_sha256=evidence.artifact_sha256,
        url=evidence.url,
        description=evidence.description,
        rule=evidence.rule,
        valid_from=evidence.valid_from,
        valid_until=evidence.valid_until,
        created_by=evidence.created_by,
        created_at=evidence.created_at,
        state=_state(evidence, day),
        via=via,
        revoked_at=evidence.revoked_at,
        revoked_by=evidence.revoked_by,
        revoke_reason=evidence.revoke_reason,
    )


def _state(evidence: Evidence, day: dt.date) -> str:
    return evidence_state(evidence.valid_from, evidence.valid_until, day, revoked=evidence.revoked_at is not None)


def _assessed(framework: str, control_id: str) -> Control:
    """An entry a status is kept for (a leaf); a group is refused with the entries under it."""
    control = resolve_control(framework, control_id)
    if control not in assessed_entries(control.framework):
        members = [c.id for c in assessed_entries(control.framework) if _under(c, control)]
        shown = ", ".join(members[:12]) + (f" and {len(members) - 12} more" if len(members) > 12 else "")
        raise InvalidInput(
            f"{control.ref} is a group ({control.kind}): set the status of the entries under it ({shown})"
        )
    return control


def _under(entry: Control, group: Control) -> bool:
    catalogue = catalogue_of(entry.framework)
    parent = entry.parent
    while parent is not None:
        if parent == group.id:
            return True
        parent = catalogue.control(parent).parent
    return False


def _status_row(session: Session, system_id: int, control: Control) -> ControlStatus | None:
    return session.execute(
        select(ControlStatus).where(
            ControlStatus.system_id == system_id,
            ControlStatus.framework == control.framework,
            ControlStatus.control_id == control.id,
        )
    ).scalar_one_or_none()


def _evidence_of(session: Session, system_id: int, control: Control) -> list[Evidence]:
    return list(
        session.execute(
            select(Evidence)
            .where(
                Evidence.system_id == system_id,
                Evidence.framework == control.framework,
                Evidence.control_id == control.id,
            )
            .order_by(Evidence.id)
        ).scalars()
    )


def _refuse_excluded(session: Session, owner: System, control: Control) -> None:
    row = _status_row(session, owner.id, control)
    if row is not None and not row.applicable:
        raise Conflict(
            f"{control.ref} is excluded for {owner.name} ({row.justification}): evidence is not kept for an excluded "
            f"control; include it first (`assay control set {owner.name} {control.framework} '{control.id}' "
            "--applicable`)"
        )


def _system_block(owner: System) -> dict[str, Any]:
    return {
        "name": owner.name,
        "purpose": owner.purpose,
        "owner": owner.owner,
        "lifecycle_stage": owner.lifecycle_stage,
        "eu_ai_act_category": owner.eu_ai_act_category,
        "annex_iii_area": owner.annex_iii_area,
    }


def _framework_block(framework: str) -> dict[str, Any]:
    info = catalogue_of(framework).framework
    return {"id": info.id, "name": info.name, "version": info.version}


class Controls(Service):
    """Control status and evidence of each AI system, the Statement of Applicability and readiness."""

    # -- status ----------------------------------------------------------------------------------------------

    def set_status(
        self,
        system: str,
        framework: str,
        control_id: str,
        *,
        applicable: bool | None = None,
        justification: str | None = None,
        implementation: str | None = None,
        owner: str | None = None,
    ) -> ControlStatus:
        """Create or change the status of one entry for ``system``; fields left ``None`` keep their value.

        Excluding (``applicable=False``) needs a justification. When ``applicable`` changes and no new
        justification is given, the old one is cleared (it justified the other decision). Excluding an entry
        that has current evidence is allowed; the audit event lists that evidence. A change that changes nothing
        writes nothing.
        """
        control = _assessed(framework, control_id)
        given = {
            key: value
            for key, value in {
                "applicable": applicable,
                "justification": justification,
                "implementation": implementation,
                "owner": owner,
            }.items()
            if value is not None
        }
        if not given:
            raise InvalidInput(f"status of {control.ref}: give at least one of {', '.join(_STATUS_FIELDS)}")
        change: ControlStatusSpec = validate(ControlStatusSpec, given, f"status of {control.ref}")
        with self._write() as tx:
            owner_row = _lookup.system(tx.session, system)
            row = _status_row(tx.session, owner_row.id, control)
            before = None if row is None else row.state()
            old = dict(_DEFAULT_STATUS) if row is None else {key: getattr(row, key) for key in _STATUS_FIELDS}
            new = {**old, **change.model_dump(exclude_none=True)}
            if new["applicable"] != old["applicable"] and change.justification is None:
                new["justification"] = ""
            if not new["applicable"] and not new["justification"]:
                raise InvalidInput(
                    f"excluding {control.ref} for {owner_row.name} needs a justification (ISO/IEC 42001 6.1.3): "
                    "give one (--justification)"
                )
            changed = [key for key in _STATUS_FIELDS if new[key] != old[key]]
            if row is not None and not changed:
                return row
            if row is None:
                row = ControlStatus(system_id=owner_row.id, framework=control.framework, control_id=control.id)
                tx.session.add(row)
            for key in _STATUS_FIELDS:
                setattr(row, key, new[key])
            row.updated_at = utcnow()
            payload: dict[str, Any] = {
                "system": owner_row.name,
                "control": control.ref,
                "changed": changed,
                "before": None if before is None else old,
                "after": new,
            }
            if not new["applicable"] and old["applicable"]:
                day = _today()
                current = [e.id for e in _evidence_of(tx.session, owner_row.id, control) if _state(e, day) == "current"]
                payload["excluded_with_current_evidence"] = current
            tx.record("control.status", row, before=before, payload=payload)
        return row

    def statuses(self, system: str, framework: str | None = None) -> list[ControlStatus]:
        """The recorded statuses of ``system`` (of one framework when given), by framework in catalogue order.
        An entry without a recorded status is applicable and not started."""
        if framework is not None:
            framework = catalogue_of(framework).framework.id
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = select(ControlStatus).where(ControlStatus.system_id == owner.id)
            if framework is not None:
                query = query.where(ControlStatus.framework == framework)
            rows = list(session.execute(query).scalars())
        order = {
            (c.framework, c.id): n for fw in {r.framework for r in rows} for n, c in enumerate(assessed_entries(fw))
        }
        return sorted(rows, key=lambda r: (r.framework, order.get((r.framework, r.control_id), len(order))))

    # -- evidence --------------------------------------------------------------------------------------------

    def add_evidence(
        self,
        system: str,
        framework: str,
        control_id: str,
        *,
        kind: str,
        assessment_id: int | None = None,
        file: Path | None = None,
        url: str | None = None,
        description: str = "",
        valid_from: dt.date | None = None,
        valid_until: dt.date | None = None,
    ) -> EvidenceView:
        """Attach evidence to an entry (or a group: its evidence counts for every entry under it).

        ``kind`` is ``assessment`` (``assessment_id``: an assessment recorded for this system), ``file`` (copied
        into the artifact store) or ``url`` (http or https). ``valid_from`` defaults to today, ``valid_until`` to
        ``valid_from`` plus the workspace's ``evidence_valid_days``. Evidence for an entry the system excluded is
        refused (:class:`Conflict`) and nothing is written.
        """
        control = resolve_control(framework, control_id)
        if (kind == "file") != (file is not None):
            raise InvalidInput(f"evidence for {control.ref}: a file is given with kind 'file', and only then")
        start = valid_from or _today()
        fields: dict[str, Any] = {
            "kind": kind,
            "description": description,
            "valid_from": start,
            "valid_until": valid_until or start + dt.timedelta(days=self.ws.settings.evidence_valid_days),
        }
        if assessment_id is not None:
            fields["assessment_id"] = assessment_id
        if url is not None:
            fields["url"] = url
        spec: EvidenceSpec = validate(EvidenceSpec, fields, f"evidence for {control.ref}")
        with self._read() as session:  # refuse before a file is copied
            _refuse_excluded(session, _lookup.system(session, system), control)
        stored = None if file is None else self.ws.artifacts.put_file(file)
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            _refuse_excluded(tx.session, owner, control)
            if spec.assessment_id is not None:
                _lookup.by_id(tx.session, Assessment, spec.assessment_id, "assessment", system_id=owner.id)
            sha = None
            if stored is not None and file is not None:
                media = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                sha = store_artifact(tx, stored, file.name, media).sha256
            evidence = Evidence(
                system_id=owner.id,
                framework=control.framework,
                control_id=control.id,
                kind=spec.kind,
                assessment_id=spec.assessment_id,
                artifact_sha256=sha,
                url=spec.url,
                description=spec.description,
                rule=None,
                valid_from=spec.valid_from,
                valid_until=spec.valid_until,
                created_by=tx.actor,
            )
            tx.session.add(evidence)
            tx.record(
                "evidence.add",
                evidence,
                before=None,
                payload={
                    "system": owner.name,
                    "control": control.ref,
                    "kind": spec.kind,
                    "assessment_id": spec.assessment_id,
                    "artifact_sha256": sha,
                    "url": spec.url,
                },
            )
        return _view(evidence, owner.name, _today())

    def revoke_evidence(self, system: str, evidence_id: int, *, reason: str) -> EvidenceView:
        """Withdraw a piece of evidence of ``system`` (attached by hand or linked by an evidence rule): it is kept
        and listed with its state ``revoked``, and no longer counts for any control, on any day.

        ``reason`` is required (:class:`InvalidInput` when blank, and nothing is written). Evidence of another
        system is :class:`NotFound`; revoking it again is a :class:`Conflict`. The ``evidence.revoke`` audit event
        (in the same transaction) names the reason and the state the evidence had before.
        """
        what = f"revoking evidence {evidence_id} of {system}"
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInput(f"{what}: reason is required: say why the evidence is withdrawn (--reason)")
        reason = reason.strip()
        if len(reason) > REVOKE_REASON_MAX:
            raise InvalidInput(f"{what}: reason is longer than {REVOKE_REASON_MAX} characters")
        if "\x00" in reason:
            raise InvalidInput(f"{what}: reason contains a NUL character")
        day = _today()
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            require_role(tx, "write", owner.name, what)
            evidence = _lookup.by_id(
                tx.session, Evidence, evidence_id, f"evidence of {owner.name!r}", system_id=owner.id
            )
            ref = f"{evidence.framework}:{evidence.control_id}"
            if evidence.revoked_at is not None:
                raise Conflict(
                    f"evidence {evidence.id} of {owner.name} ({ref}) was already revoked by {evidence.revoked_by} on "
                    f"{evidence.revoked_at.date().isoformat()}: {evidence.revoke_reason}"
                )
            before = evidence.state()
            was = _state(evidence, day)
            evidence.revoked_at = utcnow()
            evidence.revoked_by = tx.actor
            evidence.revoke_reason = reason
            tx.record(
                "evidence.revoke",
                evidence,
                before=before,
                payload={
                    "system": owner.name,
                    "control": ref,
                    "kind": evidence.kind,
                    "rule": evidence.rule,
                    "reason": reason,
                    "before": {"state": was, "revoked_at": None, "revoked_by": None, "revoke_reason": None},
                    "after": {
                        "state": "revoked",
                        "revoked_at": evidence.revoked_at.isoformat(),
                        "revoked_by": tx.actor,
                        "revoke_reason": reason,
                    },
                },
            )
        return _view(evidence, owner.name, day)

    def list_evidence(
        self,
        system: str,
        framework: str | None = None,
        control_id: str | None = None,
        *,
        as_of: dt.date | None = None,
        include_revoked: bool = True,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[EvidenceView]:
        """Evidence of ``system`` (of one framework, or of one entry), each with its state on ``as_of`` (default
        today). For one entry, the evidence that counts for it through the crosswalk or from its group follows its
        own, with ``via`` saying why. Revoked evidence is listed (state ``revoked``, with who revoked it, when and
        why) unless ``include_revoked`` is false. ``limit`` and ``offset`` cut the list of a system or framework in
        the database (a :class:`Listing` with the total); one entry's list, gathered through the crosswalk, is
        whole."""
        with self._read() as session:
            owner = _lookup.system(session, system)
            day = as_of or _today()
            if control_id is None and (limit is not None or offset):
                query = _evidence_query(owner, framework, include_revoked)
                rows = listing(session, query, limit, offset)
                return Listing([_view(e, owner.name, day) for e in rows], rows.total)
            return evidence_of(session, owner, framework, control_id, day, include_revoked=include_revoked)

    # -- documents -------------------------------------------------------------------------------------------

    def soa(self, system: str, *, as_of: dt.date | None = None) -> dict[str, Any]:
        """The Statement of Applicability (ISO/IEC 42001 6.1.3) of ``system``: one row per Annex A control, as the
        plain ``assay.soa`` document (render it with :mod:`assay.reports.soa`)."""
        day = as_of or _today()
        catalogue = catalogue_of(SOA_FRAMEWORK)
        with self._read() as session:
            owner = _lookup.system(session, system)
            entries = self._entries(owner, soa_controls(), day, self._recorded(session, owner))
        rows = []
        for control, entry in zip(soa_controls(), entries, strict=True):
            objective = None if control.parent is None else catalogue.control(control.parent)
            rows.append(
                {
                    "id": control.id,
                    "title": control.title,
                    "objective": None if objective is None else {"id": objective.id, "title": objective.title},
                    "applicable": entry["applicable"],
                    "justification": entry["justification"],
                    "implementation": entry["implementation"],
                    "owner": entry["owner"],
                    "status_recorded": entry["status_recorded"],
                    "evidence": entry["evidence"],
                    "current_evidence": entry["current_evidence"],
                    "implemented_with_current_evidence": entry["ready"],
                }
            )
        applicable = [r for r in rows if r["applicable"]]
        return {
            "schema": SOA_SCHEMA,
            "schema_version": _SCHEMA_VERSION,
            "title": f"Statement of Applicability: {owner.name}",
            "framework": _framework_block(SOA_FRAMEWORK),
            "clause": "ISO/IEC 42001:2023 6.1.3 d), Annex A",
            "system": _system_block(owner),
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "generated_by": self.ws.actor,
            "as_of": day.isoformat(),
            "summary": {
                "controls": len(rows),
                "applicable": len(applicable),
                "excluded": len(rows) - len(applicable),
                "implemented": sum(1 for r in applicable if r["implementation"] == "implemented"),
                "implemented_with_current_evidence": sum(1 for r in rows if r["implemented_with_current_evidence"]),
                "without_recorded_status": sum(1 for r in rows if not r["status_recorded"]),
            },
            "notes": [
                "A control without a recorded status is shown as applicable and not started (status_recorded false).",
                "Evidence is current when valid on the as_of day and not revoked; revoked evidence is listed but "
                "never counts. Evidence with 'via' is attached to another entry "
                "and counts for this control through Assay's crosswalk (equal or subset links, never intersect) or "
                "because it is attached to the control's objective.",
                "Control ids and titles only: ISO/IEC 42001 text is not reproduced. The crosswalk is Assay's own "
                "mapping, not an official one.",
            ],
            "controls": rows,
        }

    def readiness(
        self, system: str | None = None, framework: str = SOA_FRAMEWORK, *, as_of: dt.date | None = None
    ) -> dict[str, Any]:
        """Readiness of one system (every system when ``None``) against ``framework``: the share of applicable
        entries that are implemented with current evidence, and the gaps (the plain ``assay.readiness``
        document). A framework for generative systems only (NIST AI 600-1) counts the generative systems when every
        system is asked, and excludes every entry of a system that is not generative, saying why."""
        return self.readiness_of(system, (framework,), as_of=as_of)[framework]

    def readiness_of(
        self, system: str | None, frameworks: Sequence[str], *, as_of: dt.date | None = None
    ) -> dict[str, dict[str, Any]]:
        """:meth:`readiness` against each of ``frameworks`` (by the name asked), from one read of the statuses,
        evidence and approval requests (the readiness page and the dashboard show several frameworks)."""
        day = as_of or _today()
        ids = {name: catalogue_of(name).framework.id for name in frameworks}
        with self._read() as session:
            everyone = (
                [_lookup.system(session, system)]
                if system is not None
                else list(session.execute(select(System).order_by(System.name)).scalars())
            )
            # every system's entries: those kept from an earlier head that no event since touched, the rest read
            head, kept = _kept_entries(session, day) if system is None else (0, {})
            owners_of = {
                name: [o for o in everyone if framework_applies(framework_id, o.name, generative=o.generative) is None]
                if system is None
                else everyone
                for name, framework_id in ids.items()
            }
            wanted = {(o.id, ids[name]) for name, owners in owners_of.items() for o in owners}
            missing = {sid for sid, fid in wanted if (sid, fid) not in kept}
            recorded = self._recorded(session, None if system is None else everyone[0], only=missing)
            judged: dict[str, list[tuple[System, list[dict[str, Any]]]]] = {}
            made: dict[tuple[int, str], list[dict[str, Any]]] = {}
            for name, framework_id in ids.items():
                controls = counted_entries(framework_id)
                judged[name] = []
                for owner in owners_of[name]:
                    entries = kept.get((owner.id, framework_id))
                    if entries is None:
                        excluded = framework_applies(framework_id, owner.name, generative=owner.generative)
                        entries = self._entries(owner, controls, day, recorded, excluded=excluded)
                        made[(owner.id, framework_id)] = entries
                    judged[name].append((owner, entries))
            if system is None:
                _keep_entries(session, head, day, {**kept, **made})
        approvals: dict[str, list[Any]] = {}
        for approval in self.ws.approvals.list(system):  # one pass for every system, not one per system
            approvals.setdefault(approval.system, []).append(approval)
        return {name: self._readiness_document(ids[name], judged[name], approvals, day) for name in frameworks}

    def _readiness_document(
        self,
        framework_id: str,
        per_system: list[tuple[System, list[dict[str, Any]]]],
        approvals: Mapping[str, list[Any]],
        day: dt.date,
    ) -> dict[str, Any]:
        results = []
        for owner, entries in per_system:
            applicable = [e for e in entries if e["applicable"]]
            ready = [e for e in applicable if e["ready"]]
            gaps = [
                {"kind": kind, "control": e["id"], "title": e["title"], "detail": _gap_detail(kind, e)}
                for e in entries
                for kind in e["gaps"]
            ]
            for approval in approvals.get(owner.name, []):
                if approval.stale:
                    gaps.append(
                        {
                            "kind": "stale_approval",
                            "control": None,
                            "title": f"approval request {approval.id}: {approval.ref} to {approval.stage}",
                            "detail": (
                                f"{approval.ref} is in {approval.stage} on this approval, but the model version, its "
                                "assessments or the system's risks changed since: held until it is approved again"
                                if approval.held
                                else f"{approval.status}, but the model version, its assessments or the system's "
                                "risks changed since the request: request again"
                            ),
                        }
                    )
            results.append(
                {
                    "system": _system_block(owner),
                    "not_applicable": framework_applies(framework_id, owner.name, generative=owner.generative),
                    "entries": len(entries),
                    "applicable": len(applicable),
                    "excluded": len(entries) - len(applicable),
                    "implemented": sum(1 for e in applicable if e["implementation"] == "implemented"),
                    "with_current_evidence": sum(1 for e in applicable if e["current_evidence"]),
                    "ready": len(ready),
                    "share": share(len(ready), len(applicable)),
                    "ready_controls": [e["id"] for e in ready],
                    "gaps": gaps,
                }
            )
        return {
            "schema": READINESS_SCHEMA,
            "schema_version": _SCHEMA_VERSION,
            "framework": _framework_block(framework_id),
            "counted": _COUNTED.get(framework_id, "the catalogue's leaf entries"),
            "formula": "share = ready / applicable; ready = applicable, implementation 'implemented' and at least "
            "one current piece of evidence (own, or counted through the crosswalk or from its group; revoked "
            "evidence never counts)",
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "generated_by": self.ws.actor,
            "as_of": day.isoformat(),
            "systems": results,
        }

    def entries(self, system: str, framework: str = SOA_FRAMEWORK, *, as_of: dt.date | None = None) -> dict[str, Any]:
        """Each entry readiness counts for ``system`` against ``framework`` (:func:`counted_entries`: for ISO/IEC
        42001 the 38 Annex A controls, the SoA's rows) with its status, every piece of evidence that counts for it
        (own first, then through the crosswalk or from its group, ``via`` saying why; revoked evidence listed) and its
        verdict and gaps, as readiness and the SoA judge them (the same :meth:`_entries`). For the controls page."""
        day = as_of or _today()
        framework_id = catalogue_of(framework).framework.id
        controls = counted_entries(framework_id)
        with self._read() as session:
            owner = _lookup.system(session, system)
            excluded = framework_applies(framework_id, owner.name, generative=owner.generative)
            recorded = self._recorded(session, owner)
            entries = self._entries(owner, controls, day, recorded, excluded=excluded)
            evidence = recorded[1].get(owner.id, {})
            for control, entry in zip(controls, entries, strict=True):
                entry["evidence"] = [view.to_dict() for view in _counted(evidence, control, owner.name, day)]
                entry["gaps"] = [{"kind": kind, "detail": _gap_detail(kind, entry)} for kind in entry["gaps"]]
        return {
            "framework": _framework_block(framework_id),
            "system": _system_block(owner),
            "not_applicable": excluded,
            "as_of": day.isoformat(),
            "entries": entries,
        }

    @staticmethod
    def _recorded(
        session: Session, owner: System | None, *, only: Iterable[int] | None = None
    ) -> tuple[dict[int, dict[tuple[str, str], ControlStatus]], dict[int, dict[tuple[str, str], list[Evidence]]]]:
        """The recorded statuses and evidence of ``owner`` (every system when ``None``, or those whose ids are
        ``only``), by system id and entry: two statements, however many systems."""
        status_query = select(ControlStatus)
        evidence_query = select(Evidence).order_by(Evidence.id)
        if owner is not None:
            status_query = status_query.where(ControlStatus.system_id == owner.id)
            evidence_query = evidence_query.where(Evidence.system_id == owner.id)
        elif only is not None:
            chosen = set(only)
            if not chosen:  # every system's entries kept: nothing to read (two round trips saved on PostgreSQL)
                return {}, {}
            status_query = status_query.where(ControlStatus.system_id.in_(chosen))
            evidence_query = evidence_query.where(Evidence.system_id.in_(chosen))
        statuses: dict[int, dict[tuple[str, str], ControlStatus]] = {}
        for row in session.execute(status_query).scalars():
            statuses.setdefault(row.system_id, {})[(row.framework, row.control_id)] = row
        evidence: dict[int, dict[tuple[str, str], list[Evidence]]] = {}
        for item in session.execute(evidence_query).scalars():
            evidence.setdefault(item.system_id, {}).setdefault((item.framework, item.control_id), []).append(item)
        return statuses, evidence

    @staticmethod
    def _entries(
        owner: System,
        controls: Sequence[Control],
        day: dt.date,
        recorded: tuple[
            Mapping[int, Mapping[tuple[str, str], ControlStatus]],
            Mapping[int, Mapping[tuple[str, str], list[Evidence]]],
        ],
        *,
        excluded: str | None = None,
    ) -> list[dict[str, Any]]:
        """Status, evidence (own and counted) and the verdict of each entry of ``controls`` for ``owner``, from the
        ``recorded`` statuses and evidence (:meth:`_recorded`). ``excluded``: the framework does not apply to the
        system, for this reason (every entry is reported excluded with it, whatever status was recorded)."""
        statuses = recorded[0].get(owner.id, {})
        evidence = recorded[1].get(owner.id, {})
        entries = []
        for control in controls:
            row = statuses.get((control.framework, control.id))
            status = dict(_DEFAULT_STATUS) if row is None else {key: getattr(row, key) for key in _STATUS_FIELDS}
            if excluded is not None:
                status.update(applicable=False, justification=excluded)
            items = [_evidence_item(view) for view in _counted(evidence, control, owner.name, day)]
            ready, gaps = evaluate(
                applicable=status["applicable"], implementation=status["implementation"], evidence=items
            )
            entries.append(
                {
                    "id": control.id,
                    "title": control.title,
                    **status,
                    "status_recorded": row is not None,
                    "evidence": items,
                    "current_evidence": any(item["current"] for item in items),
                    "ready": ready,
                    "gaps": gaps,
                }
            )
        return entries


# Each system's readiness entries per framework (status, evidence and verdict of every counted control), per
# database, at one head of the ledger and one day. They are made from the system's row (whether it is generative),
# its control statuses and its evidence; every change of those appends an audit event naming the row (its table and
# id), so at a newer head of the same day only the systems those events touch are judged again (a risk's review
# date changed: none). Statuses and evidence are never deleted nor moved to another system; an event naming a row
# that cannot be found drops everything, as does a long gap (:func:`assay.store.audit.touched`). Kept by reads of
# every system only; callers must not change the entries.
_ENTRIES: weakref.WeakKeyDictionary[Any, tuple[int, dt.date, dict[tuple[int, str], list[dict[str, Any]]]]] = (
    weakref.WeakKeyDictionary()
)
_ENTRIES_LOCK = threading.Lock()
_JUDGED_TABLES: Final = ("systems", "control_statuses", "evidence")


def _kept_entries(session: Session, day: dt.date) -> tuple[int, dict[tuple[int, str], list[dict[str, Any]]]]:
    """The head this read sees and the entries kept that are still true at it (a copy of the mapping)."""
    head = audit.head_seq(session)
    with _ENTRIES_LOCK:
        kept = _ENTRIES.get(session.get_bind())
    if kept is None or kept[1] != day or kept[0] > head:
        return head, {}
    if kept[0] == head:
        return head, dict(kept[2])
    touched = audit.touched(session, kept[0], head, _JUDGED_TABLES)
    if touched is None:
        return head, {}
    systems = set(touched["systems"])
    for ids, query in (
        (touched["control_statuses"], select(ControlStatus.id, ControlStatus.system_id)),
        (touched["evidence"], select(Evidence.id, Evidence.system_id)),
    ):
        if ids:
            rows = session.execute(query.where(query.selected_columns[0].in_(ids))).all()
            if len(rows) < len(ids):
                return head, {}  # a row gone: whose it was is not known
            systems |= {system_id for _, system_id in rows}
    return head, {key: entries for key, entries in kept[2].items() if key[0] not in systems}


def _keep_entries(
    session: Session, head: int, day: dt.date, entries: dict[tuple[int, str], list[dict[str, Any]]]
) -> None:
    """Keep ``entries``, true at ``head`` on ``day`` (those kept still true, and those made now)."""
    with _ENTRIES_LOCK:
        bind = session.get_bind()
        current = _ENTRIES.get(bind)
        if current is not None and (current[1], current[0]) > (day, head):
            return  # a newer head (or day) is kept already
        _ENTRIES[bind] = (head, day, entries)


def counted_entries(framework: str) -> tuple[Control, ...]:
    """The entries of ``framework`` a system's readiness counts (and the controls page lists): its leaves, and for
    ISO/IEC 42001 only the 38 Annex A controls, the rows of the SoA (clauses 4-10 are judged once for the
    organisation, ``ws.aims.readiness``)."""
    framework_id = catalogue_of(framework).framework.id
    if framework_id == SOA_FRAMEWORK:
        return soa_controls()
    return assessed_entries(framework_id)


def evidence_of(
    session: Session,
    owner: System,
    framework: str | None,
    control_id: str | None,
    day: dt.date,
    *,
    include_revoked: bool = True,
) -> list[EvidenceView]:
    """:meth:`Controls.list_evidence` inside a caller's session (the gate judges on the snapshot it records in)."""
    if control_id is not None and framework is None:
        raise InvalidInput(f"control {control_id!r}: give its framework too")
    control = None if control_id is None or framework is None else resolve_control(framework, control_id)
    query = _evidence_query(owner, None if control is not None else framework, include_revoked)
    rows = list(session.execute(query).scalars())
    if control is None:
        return [_view(e, owner.name, day) for e in rows]
    return _counted(_by_entry(rows), control, owner.name, day)


def _evidence_query(owner: System, framework: str | None, include_revoked: bool) -> Select[Any]:
    """A system's evidence (of one framework), oldest first; revoked evidence left out unless ``include_revoked``."""
    query = select(Evidence).where(Evidence.system_id == owner.id).order_by(Evidence.id)
    if framework is not None:
        query = query.where(Evidence.framework == catalogue_of(framework).framework.id)
    if not include_revoked:
        query = query.where(Evidence.revoked_at.is_(None))
    return query


def _by_entry(rows: Iterable[Evidence]) -> dict[tuple[str, str], list[Evidence]]:
    grouped: dict[tuple[str, str], list[Evidence]] = {}
    for row in rows:
        grouped.setdefault((row.framework, row.control_id), []).append(row)
    return grouped


def _counted(
    evidence: Mapping[tuple[str, str], list[Evidence]], control: Control, system: str, day: dt.date
) -> list[EvidenceView]:
    if not evidence:
        return []
    views = [_view(e, system, day) for e in evidence.get((control.framework, control.id), [])]
    for cover in covering(control.framework, control.id):
        found = evidence.get((cover.framework, cover.control_id))
        if found:  # most entries a control is linked to hold no evidence of this system
            via = "; ".join(cover.path)
            views.extend(_view(e, system, day, via) for e in found)
    return views


_ITEM_FIELDS: Final = ("kind", "description", "assessment_id", "artifact_sha256", "url", "valid_from", "valid_until",
                       "state", "current", "via", "revoked_at", "revoked_by", "revoke_reason")  # fmt: skip


def _evidence_item(view: EvidenceView) -> dict[str, Any]:
    """A piece of evidence as the SoA and readiness documents list it: :meth:`EvidenceView.to_dict`'s fields, with
    the entry as one ``control`` reference."""
    full = view.to_dict()
    return {"id": view.id, "control": view.ref, **{name: full[name] for name in _ITEM_FIELDS}}


def _gap_detail(kind: str, entry: Mapping[str, Any]) -> str:
    if kind == "not_implemented":
        recorded = "" if entry["status_recorded"] else " (no status recorded)"
        return f"implementation is {entry['implementation']}{recorded}"
    if kind == "no_evidence":
        return "no evidence, own or counted through the crosswalk"
    if kind == "evidence_revoked":
        ids = ", ".join(str(e["id"]) for e in entry["evidence"])
        return f"all its evidence was revoked ({ids}): attach new evidence"
    ends = [e["valid_until"] for e in entry["evidence"] if e["state"] == "expired"]
    if kind == "evidence_expired":
        return f"all evidence has expired (the latest on {max(ends)})"
    starts = [e["valid_from"] for e in entry["evidence"] if e["state"] == "not_yet_valid"]
    return f"evidence is valid only from {min(starts)}"
