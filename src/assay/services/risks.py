"""Risks of an AI system (ISO/IEC 23894 style) and its impact assessments (ISO/IEC 42005 headings).

A risk's likelihood and impact (1-5 each) give its score and level (:func:`assay.governance.risk.score_risk`);
its residual likelihood and impact, after treatment, give the residual level, which may not be above the
inherent one. Controls are ``framework:control id`` strings checked against the catalogues.

Every create, update and state change is one write transaction with its audit event. Methods return the stored
records (detached SQLAlchemy objects; ``record.state()`` gives them as plain JSON values, and
:func:`risk_record` adds the scores).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import ColumnElement, and_, case, select

from assay.errors import Conflict, InvalidInput
from assay.governance.records import (
    IMPACT_HEADINGS,
    IMPACT_STATUSES,
    RISK_STATUSES,
    TREATMENTS,
    ImpactAssessmentSpec,
    ImpactAssessmentUpdate,
    RiskSpec,
    RiskUpdate,
    choice,
    coerce,
    updates,
    validate,
)
from assay.governance.risk import LEVELS
from assay.services import _lookup
from assay.services._base import Listing, Service, listing
from assay.store.models import ImpactAssessment, Risk, System, utcnow

Cells = dict[str, list[tuple[int, int]]]  # (impact, likelihood) of risks by their system's name

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.database import Transaction

__all__ = ["RISK_SORTS", "ImpactAssessments", "RiskQuery", "Risks", "missing_headings", "risk_record"]

#: what the register across systems sorts by (:meth:`Risks.across`)
RISK_SORTS: Final = ("level", "review_date", "system", "title", "id")
_LEVEL_RANK: Final = {level: rank for rank, level in enumerate(LEVELS, start=1)}


def risk_record(risk: Risk) -> dict[str, Any]:
    """A risk's stored fields with its scores (likelihood × impact), which are not stored."""
    residual = None
    if risk.residual_likelihood is not None and risk.residual_impact is not None:
        residual = risk.residual_likelihood * risk.residual_impact
    record: dict[str, Any] = {}
    for key, value in risk.state().items():
        if key == "level":
            record["score"] = risk.likelihood * risk.impact
        elif key == "residual_level":
            record["residual_score"] = residual
        record[key] = value
    return record


def missing_headings(sections: Mapping[str, str]) -> list[str]:
    """The ISO/IEC 42005 heading ids without text, in the standard's order."""
    return [key for key in IMPACT_HEADINGS if not str(sections.get(key) or "").strip()]


@dataclass(frozen=True)
class RiskQuery:
    """Which risks :meth:`Risks.across` lists and in what order; ``None`` filters nothing. ``overdue``: whether an
    open risk's review date has passed (``today`` by default the UTC date); ``q``: words in the title."""

    system: str | None = None
    level: str | None = None
    status: str | None = None
    treatment: str | None = None
    owner: str | None = None
    likelihood: int | None = None
    impact: int | None = None
    overdue: bool | None = None
    q: str = ""
    sort: str = "level"
    desc: bool = True
    today: dt.date | None = None

    def conditions(self, today: dt.date) -> list[ColumnElement[bool]]:
        choice(self.level, LEVELS, "risk level")
        choice(self.status, RISK_STATUSES, "risk status")
        choice(self.treatment, TREATMENTS, "risk treatment")
        for name, rating in (("likelihood", self.likelihood), ("impact", self.impact)):
            if rating is not None and not 1 <= rating <= 5:
                raise InvalidInput(f"{name} must be a whole number from 1 to 5, not {rating}", fields={name: "1-5"})
        where: list[ColumnElement[bool]] = []
        equal = {Risk.level: self.level, Risk.status: self.status, Risk.treatment: self.treatment,
                 Risk.owner: self.owner, Risk.likelihood: self.likelihood, Risk.impact: self.impact}  # fmt: skip
        where += [column == value for column, value in equal.items() if value is not None]
        if self.system is not None:
            where.append(System.name == self.system)
        late = and_(Risk.status == "open", Risk.review_date.is_not(None), Risk.review_date < today)
        if self.overdue is not None:
            where.append(late if self.overdue else ~late)
        if self.q.strip():
            where.append(Risk.title.ilike(f"%{_like(self.q.strip())}%", escape="\\"))
        return where

    def order(self) -> list[Any]:
        if self.sort not in RISK_SORTS:
            raise InvalidInput(
                f"cannot sort risks by {self.sort!r}: sort by {', '.join(RISK_SORTS)}", fields={"sort": "unknown"}
            )
        rank = case(_LEVEL_RANK, value=Risk.level, else_=0)
        score = Risk.likelihood * Risk.impact
        keys: dict[str, list[Any]] = {
            "level": [rank, score],
            "review_date": [Risk.review_date],
            "system": [System.name, rank],
            "title": [Risk.title],
            "id": [],
        }
        chosen = [key.desc() if self.desc else key.asc() for key in keys[self.sort]]
        if self.sort == "review_date":
            chosen.insert(0, Risk.review_date.is_(None))  # without a review date: last, whichever the direction
        return [*chosen, Risk.id.desc() if self.desc and self.sort == "id" else Risk.id]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _risk(session: Session, system: str, risk_id: int) -> Risk:
    owner = _lookup.system(session, system)
    return _lookup.by_id(session, Risk, risk_id, f"risk of {owner.name!r}", system_id=owner.id)


def _apply(risk: Risk, valid: RiskSpec) -> None:
    for key, value in valid.model_dump().items():
        setattr(risk, key, value)
    risk.level = valid.inherent_score.level
    residual = valid.residual_score
    risk.residual_level = None if residual is None else residual.level


class Risks(Service):
    """The risk register of each AI system: add, list, show, update, close, reopen."""

    def add(self, system: str, spec: RiskSpec | Mapping[str, Any]) -> Risk:
        """Add an open risk; its level (and residual level) are computed from the ratings."""
        valid: RiskSpec = coerce(RiskSpec, spec, "risk")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            risk = Risk(system_id=owner.id, status="open")
            _apply(risk, valid)
            tx.session.add(risk)
            tx.record("risk.create", risk, before=None, payload={"system": owner.name})
        return risk

    def list(
        self,
        system: str,
        *,
        status: str | None = None,
        level: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Listing[Risk]:
        """Risks of a system, optionally only those with this status (open, closed) or inherent level."""
        choice(status, RISK_STATUSES, "risk status")
        choice(level, LEVELS, "risk level")
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = select(Risk).where(Risk.system_id == owner.id)
            if status is not None:
                query = query.where(Risk.status == status)
            if level is not None:
                query = query.where(Risk.level == level)
            return listing(session, query.order_by(Risk.id), limit, offset)

    def get(self, system: str, risk_id: int) -> Risk:
        with self._read() as session:
            return _risk(session, system, risk_id)

    def across(
        self, query: RiskQuery | None = None, *, limit: int | None = None, offset: int = 0
    ) -> Listing[dict[str, Any]]:
        """The risks of every system the viewer may see, filtered, sorted and cut into a page in the database:
        each as :func:`risk_record` with its ``system`` and whether its review is ``overdue``."""
        query = query or RiskQuery()
        today = query.today or dt.datetime.now(dt.UTC).date()
        with self._read() as session:
            select_ = select(Risk).join(System, System.id == Risk.system_id)
            if (visible := _lookup.visible_systems(session)) is not None:
                select_ = select_.where(visible)
            select_ = select_.where(*query.conditions(today)).order_by(*query.order())
            risks = listing(session, select_, limit, offset)
            ids = {risk.system_id for risk in risks}
            names = {
                row[0]: row[1] for row in session.execute(select(System.id, System.name).where(System.id.in_(ids)))
            }
        rows = [
            {**risk_record(risk), "system": names[risk.system_id], "overdue": _overdue(risk, today)} for risk in risks
        ]
        return Listing(rows, risks.total)

    def owners(self) -> tuple[str, ...]:
        """The people named as owners of risks the viewer may see (for a filter's choices)."""
        with self._read() as session:
            select_ = select(Risk.owner).join(System, System.id == Risk.system_id).where(Risk.owner != "")
            if (visible := _lookup.visible_systems(session)) is not None:
                select_ = select_.where(visible)
            return tuple(session.execute(select_.distinct().order_by(Risk.owner)).scalars())

    def cells(self, *, status: str = "open") -> Cells:
        """(impact, likelihood) of every risk with ``status``, by the name of its system, for every system the
        viewer may see, in one query (the dashboard's heat map: not one listing per system)."""
        choice(status, RISK_STATUSES, "risk status")
        with self._read() as session:
            query = (
                select(System.name, Risk.impact, Risk.likelihood)
                .join(System, System.id == Risk.system_id)
                .where(Risk.status == status)
                .order_by(Risk.id)
            )
            if (visible := _lookup.visible_systems(session)) is not None:
                query = query.where(visible)
            found: Cells = {}
            for name, impact, likelihood in session.execute(query):
                found.setdefault(name, []).append((impact, likelihood))
            return found

    def update(self, system: str, risk_id: int, changes: RiskUpdate | Mapping[str, Any]) -> Risk:
        """Change fields of an open risk; the merged risk is validated again and its levels recomputed."""
        _update, given = updates(RiskUpdate, changes, f"update of risk {risk_id}")
        with self._write() as tx:
            risk = _risk(tx.session, system, risk_id)
            if risk.status == "closed":
                raise Conflict(f"risk {risk_id} is closed: reopen it before changing it")
            before = risk.state()
            current = {key: before[key] for key in RiskSpec.model_fields}
            merged: RiskSpec = validate(RiskSpec, {**current, **given}, f"risk {risk_id}")
            _apply(risk, merged)
            risk.updated_at = utcnow()
            tx.record("risk.update", risk, before=before, payload={"changed": sorted(given)})
        return risk

    def close(self, system: str, risk_id: int, *, reason: str = "") -> Risk:
        """Close a risk (it stays in the register, with its history)."""
        with self._write() as tx:
            risk = _risk(tx.session, system, risk_id)
            if risk.status == "closed":
                raise Conflict(f"risk {risk_id} is already closed")
            _set_status(tx, risk, "closed", "risk.close", reason)
        return risk

    def reopen(self, system: str, risk_id: int, *, reason: str = "") -> Risk:
        """Open a closed risk again."""
        with self._write() as tx:
            risk = _risk(tx.session, system, risk_id)
            if risk.status == "open":
                raise Conflict(f"risk {risk_id} is already open")
            _set_status(tx, risk, "open", "risk.reopen", reason)
        return risk


def _overdue(risk: Risk, today: dt.date) -> bool:
    return risk.status == "open" and risk.review_date is not None and risk.review_date < today


def _set_status(tx: Transaction, risk: Risk, status: str, action: str, reason: str) -> None:
    before = risk.state()
    risk.status = status
    risk.updated_at = utcnow()
    tx.record(action, risk, before=before, payload={"from": before["status"], "to": status, "reason": reason})


def _assessment(session: Session, system: str, assessment_id: int) -> ImpactAssessment:
    owner = _lookup.system(session, system)
    return _lookup.by_id(
        session, ImpactAssessment, assessment_id, f"impact assessment of {owner.name!r}", system_id=owner.id
    )


class ImpactAssessments(Service):
    """AI system impact assessments (ISO/IEC 42005): create, list, show, update a draft, finalise."""

    def create(self, system: str, spec: ImpactAssessmentSpec | Mapping[str, Any]) -> ImpactAssessment:
        """A draft assessment; the assessor defaults to the acting user."""
        valid: ImpactAssessmentSpec = coerce(ImpactAssessmentSpec, spec, "impact assessment")
        with self._write() as tx:
            owner = _lookup.system(tx.session, system)
            assessment = ImpactAssessment(
                system_id=owner.id,
                title=valid.title,
                sections=dict(valid.sections),
                status="draft",
                assessor=valid.assessor or tx.actor,
            )
            tx.session.add(assessment)
            tx.record("impact_assessment.create", assessment, before=None, payload={"system": owner.name})
        return assessment

    def list(
        self, system: str, *, status: str | None = None, limit: int | None = None, offset: int = 0
    ) -> Listing[ImpactAssessment]:
        choice(status, IMPACT_STATUSES, "impact assessment status")
        with self._read() as session:
            owner = _lookup.system(session, system)
            query = select(ImpactAssessment).where(ImpactAssessment.system_id == owner.id)
            if status is not None:
                query = query.where(ImpactAssessment.status == status)
            return listing(session, query.order_by(ImpactAssessment.id), limit, offset)

    def get(self, system: str, assessment_id: int) -> ImpactAssessment:
        with self._read() as session:
            return _assessment(session, system, assessment_id)

    def update(
        self, system: str, assessment_id: int, changes: ImpactAssessmentUpdate | Mapping[str, Any]
    ) -> ImpactAssessment:
        """Change a draft: ``sections`` are merged heading by heading (an empty text clears a heading)."""
        _update, given = updates(ImpactAssessmentUpdate, changes, f"update of impact assessment {assessment_id}")
        with self._write() as tx:
            assessment = _assessment(tx.session, system, assessment_id)
            if assessment.status == "final":
                raise Conflict(
                    f"impact assessment {assessment_id} is final and cannot change: create a new one "
                    f"(`assay impact create {system} ...`)"
                )
            before = assessment.state()
            current = {key: before[key] for key in ImpactAssessmentSpec.model_fields}
            merged_fields = {**current, **given}
            if given.get("sections") is not None:
                merged_fields["sections"] = {**before["sections"], **given["sections"]}
            merged: ImpactAssessmentSpec = validate(
                ImpactAssessmentSpec, merged_fields, f"impact assessment {assessment_id}"
            )
            assessment.title = merged.title
            assessment.sections = dict(merged.sections)
            assessment.assessor = merged.assessor
            assessment.updated_at = utcnow()
            changed = sorted(given)
            if given.get("sections") is not None:
                changed = sorted(set(changed) - {"sections"} | {f"sections.{key}" for key in given["sections"]})
            tx.record("impact_assessment.update", assessment, before=before, payload={"changed": changed})
        return assessment

    def finalise(self, system: str, assessment_id: int) -> ImpactAssessment:
        """Make a draft final; refused while any ISO/IEC 42005 heading has no text."""
        with self._write() as tx:
            assessment = _assessment(tx.session, system, assessment_id)
            if assessment.status == "final":
                raise Conflict(f"impact assessment {assessment_id} is already final")
            missing = missing_headings(assessment.sections)
            if missing:
                raise Conflict(
                    f"impact assessment {assessment_id} cannot be finalised: these headings have no text: "
                    + ", ".join(missing)
                )
            before = assessment.state()
            assessment.status = "final"
            assessment.updated_at = utcnow()
            tx.record("impact_assessment.finalise", assessment, before=before, payload={"from": "draft", "to": "final"})
        return assessment
