"""``workspace.aims.objectives``: measurable AI objectives (ISO/IEC 42001 6.2), the measures Assay computes for them
from the store, their measurements and trend.

A *measure* is one small function of the store, registered by name with a pydantic model of its parameters
(:data:`MEASURES`, :func:`measure`): an objective names one (``{"name": "assessed-share", "days": 90}``), and
:meth:`Objectives.measure` computes it, judges it against the objective's target and records the measurement
(value, met, details) with its audit event. An objective without a measure is measured by hand
(:meth:`Objectives.record`). The series of measurements is the objective's trend.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from assay.errors import Conflict, InvalidInput, NotFound
from assay.governance.aims_perf import ObjectiveSpec, ObjectiveUpdate, change, finite, met
from assay.governance.records import EU_AI_ACT_CATEGORIES, INCIDENT_SEVERITIES, coerce, updates, validate
from assay.services._base import Service, single_user
from assay.services.aims._base import require_manager, require_person
from assay.store.models import (
    AimsMeasurement,
    AimsObjective,
    Assessment,
    CorrectiveAction,
    Incident,
    ReviewItem,
    System,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.services.workspace import Workspace
    from assay.store.database import Transaction

__all__ = [
    "MEASURES",
    "Measure",
    "MeasureContext",
    "Measured",
    "Objectives",
    "action_ref",
    "measure",
    "measure_spec",
]


@dataclass(frozen=True)
class MeasureContext:
    """What a measure reads: a session on the whole store (every system, whoever measures), the workspace (for
    services such as readiness), today and now."""

    ws: Workspace
    session: Session
    today: dt.date
    now: dt.datetime


@dataclass(frozen=True)
class Measured:
    """A measure's value (None when there is nothing to measure, e.g. no high-risk system) and the details that
    prove it (plain JSON)."""

    value: float | None
    details: dict[str, Any]


class Params(BaseModel):
    """The parameters of a measure (none by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Measure:
    name: str
    title: str
    unit: str
    params: type[Params]
    compute: Callable[[MeasureContext, Any], Measured]

    def describe(self) -> dict[str, Any]:
        schema = self.params.model_json_schema().get("properties", {})
        parameters = {
            name: {k: v for k, v in field.items() if k in ("type", "default", "description", "enum", "minimum")}
            for name, field in schema.items()
        }
        return {"name": self.name, "title": self.title, "unit": self.unit, "parameters": parameters}


MEASURES: dict[str, Measure] = {}


def measure(
    name: str, title: str, unit: str, params: type[Params] = Params
) -> Callable[[Callable[[MeasureContext, Any], Measured]], Callable[[MeasureContext, Any], Measured]]:
    """Register the decorated function as the measure ``name`` (its parameters validated by ``params``)."""

    def register(fn: Callable[[MeasureContext, Any], Measured]) -> Callable[[MeasureContext, Any], Measured]:
        MEASURES[name] = Measure(name, title, unit, params, fn)
        return fn

    return register


def measure_spec(spec: Mapping[str, Any] | str) -> dict[str, Any]:
    """``spec`` (a measure's name, or ``{"name": ..., parameters}``) validated: the name registered, the parameters
    checked by its model; returned whole, defaults filled in."""
    given = {"name": spec} if isinstance(spec, str) else dict(spec)
    name = given.pop("name", None)
    if not isinstance(name, str) or name not in MEASURES:
        raise InvalidInput(f"unknown measure {name!r}: the known measures are {', '.join(sorted(MEASURES))}")
    parameters = validate(MEASURES[name].params, given, f"parameters of measure {name}")
    return {"name": name, **parameters.model_dump(mode="json")}


# -- the measures -------------------------------------------------------------------------------------------------


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


class AssessedShareParams(Params):
    category: Literal["prohibited", "high", "limited", "minimal"] = Field(
        default="high", description=f"The systems' EU AI Act category ({', '.join(EU_AI_ACT_CATEGORIES)})."
    )
    kind: str = Field(
        default="assay.assessment",
        min_length=1,
        max_length=100,
        description="The kind of assessment (its document's schema; assay.assessment is the bias assessment).",
    )
    days: int = Field(default=90, ge=1, le=3650, description="How recent the newest one must be, in days.")


@measure("assessed-share", "share of systems whose newest assessment is recent", "share", AssessedShareParams)
def _assessed_share(ctx: MeasureContext, p: AssessedShareParams) -> Measured:
    systems = list(
        ctx.session.execute(
            select(System.id, System.name).where(System.eu_ai_act_category == p.category).order_by(System.name)
        )
    )
    newest: dict[int, dt.datetime] = {}
    rows = ctx.session.execute(
        select(Assessment.system_id, func.max(Assessment.created_at))
        .where(Assessment.kind == p.kind)
        .group_by(Assessment.system_id)
    )
    for system_id, created in rows:
        if created is not None:
            newest[system_id] = _aware(created)
    cutoff = ctx.now - dt.timedelta(days=p.days)
    lacking = []
    for system_id, name in systems:
        last = newest.get(system_id)
        if last is None or last < cutoff:
            lacking.append(
                {
                    "system": name,
                    "newest": None if last is None else last.isoformat(timespec="seconds"),
                    "age_days": None if last is None else (ctx.now - last).days,
                }
            )
    details: dict[str, Any] = {"systems": len(systems), "assessed": len(systems) - len(lacking), "lacking": lacking}
    if not systems:
        details["note"] = f"no system is in EU AI Act category {p.category}"
        return Measured(None, details)
    return Measured((len(systems) - len(lacking)) / len(systems), details)


@measure("training-coverage", "share of people holding roles with every required training current", "share")
def _training_coverage(ctx: MeasureContext, _p: Params) -> Measured:
    from assay.services.aims.competence import requirements

    people: dict[str, list[str]] = {}
    for row in requirements(ctx.session, ctx.today, 0):
        people.setdefault(row["person"], [])
        if row["state"] in ("missing", "expired"):
            people[row["person"]].append(f"{row['training']} ({row['state']})")
    lacking = [{"person": person, "trainings": missing} for person, missing in sorted(people.items()) if missing]
    details: dict[str, Any] = {"people": len(people), "covered": len(people) - len(lacking), "lacking": lacking}
    if not people:
        details["note"] = "no one holds a role that a training of the catalogue is required for"
        return Measured(None, details)
    return Measured((len(people) - len(lacking)) / len(people), details)


def action_ref(action: CorrectiveAction) -> str:
    """What an action is taken on, the most specific first: an incident's action also belongs to the incident's
    nonconformity, but people know it by the incident."""
    if action.incident_id is not None:
        return f"incident:{action.incident_id}"
    if action.nonconformity_id is not None:
        return f"nonconformity:{action.nonconformity_id}"
    return f"management-review:{action.review_id}"


@measure("overdue-actions", "corrective actions past their due date and not done", "count")
def _overdue_actions(ctx: MeasureContext, _p: Params) -> Measured:
    rows = ctx.session.execute(
        select(CorrectiveAction)
        .where(CorrectiveAction.status != "done", CorrectiveAction.due_date < ctx.today)
        .order_by(CorrectiveAction.due_date, CorrectiveAction.id)
    ).scalars()
    actions = [
        {
            "id": a.id,
            "of": action_ref(a),
            "owner": a.owner,
            "due_date": a.due_date.isoformat() if a.due_date else None,
            "days_overdue": (ctx.today - a.due_date).days if a.due_date else None,
        }
        for a in rows
    ]
    return Measured(float(len(actions)), {"actions": actions})


class OpenIncidentsParams(Params):
    min_severity: Literal["low", "medium", "high", "critical"] = Field(
        default="low", description=f"Count incidents of this severity or worse ({', '.join(INCIDENT_SEVERITIES)})."
    )


@measure("open-incidents", "incidents not yet resolved (open or investigating)", "count", OpenIncidentsParams)
def _open_incidents(ctx: MeasureContext, p: OpenIncidentsParams) -> Measured:
    counted = INCIDENT_SEVERITIES[INCIDENT_SEVERITIES.index(p.min_severity) :]
    rows = ctx.session.execute(
        select(Incident, System.name)
        .join(System, System.id == Incident.system_id)
        .where(Incident.status.in_(("open", "investigating")), Incident.severity.in_(counted))
        .order_by(Incident.id)
    ).all()
    by_severity = Counter(incident.severity for incident, _ in rows)
    return Measured(
        float(len(rows)),
        {
            "by_severity": {severity: by_severity.get(severity, 0) for severity in counted},
            "incidents": [
                {"id": i.id, "system": name, "severity": i.severity, "status": i.status, "title": i.title}
                for i, name in rows
            ],
        },
    )


class EvidenceCurrentParams(Params):
    framework: str = Field(default="iso42001", max_length=40, description="The controls catalogue.")


@measure(
    "evidence-current",
    "share of implemented controls with current evidence, all systems",
    "share",
    EvidenceCurrentParams,
)
def _evidence_current(ctx: MeasureContext, p: EvidenceCurrentParams) -> Measured:
    document = ctx.ws.controls.readiness(None, p.framework, as_of=ctx.today)
    systems = []
    implemented = ready = 0
    for entry in document["systems"]:
        not_implemented = {g["control"] for g in entry["gaps"] if g["kind"] == "not_implemented"}
        lacking = sorted(
            {
                g["control"]
                for g in entry["gaps"]
                if g["kind"].startswith(("no_evidence", "evidence_")) and g["control"] not in not_implemented
            }
        )
        implemented += entry["implemented"]
        ready += entry["ready"]
        systems.append(
            {
                "system": entry["system"]["name"],
                "implemented": entry["implemented"],
                "with_current_evidence": entry["ready"],
                "lacking": lacking,
            }
        )
    details: dict[str, Any] = {"framework": p.framework, "implemented": implemented, "ready": ready, "systems": systems}
    if not implemented:
        details["note"] = "no control is recorded as implemented"
        return Measured(None, details)
    return Measured(ready / implemented, details)


@measure("review-queue-overdue", "review-queue items past their deadline and not decided", "count")
def _review_queue_overdue(ctx: MeasureContext, _p: Params) -> Measured:
    rows = ctx.session.execute(
        select(System.name, func.count(ReviewItem.id))
        .join(System, System.id == ReviewItem.system_id)
        .where(ReviewItem.status.in_(("pending", "claimed", "escalated")), ReviewItem.due_at < ctx.now)
        .group_by(System.name)
        .order_by(System.name)
    ).all()
    by_system = {name: int(count) for name, count in rows}
    return Measured(float(sum(by_system.values())), {"by_system": by_system})


# -- the service --------------------------------------------------------------------------------------------------

_UPDATABLE: Final = ("title", "description", "target", "direction", "unit", "owner", "due_date", "measure", "status")


def _objective(session: Session, key: str, *, lock: bool = False) -> AimsObjective:
    query = select(AimsObjective).where(AimsObjective.key == key)
    found = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if found is None:
        keys = list(session.execute(select(AimsObjective.key).order_by(AimsObjective.key)).scalars())
        known = f"the objectives are {', '.join(keys)}" if keys else "there are no objectives yet"
        raise NotFound(f"no objective {key!r} ({known}; `assay aims objective add`)")
    return found


def _require_keeper(tx: Transaction, objective: AimsObjective, what: str) -> None:
    """The objective's owner may measure it; anyone else must keep the management system's records."""
    if objective.owner == tx.actor and (tx.authenticated or single_user(tx)):
        return
    require_manager(tx, what)


def _latest(session: Session, objective_ids: list[int]) -> dict[int, AimsMeasurement]:
    if not objective_ids:
        return {}
    newest = (
        select(func.max(AimsMeasurement.id))
        .where(AimsMeasurement.objective_id.in_(objective_ids))
        .group_by(AimsMeasurement.objective_id)
    )
    rows = session.execute(select(AimsMeasurement).where(AimsMeasurement.id.in_(newest))).scalars()
    return {m.objective_id: m for m in rows}


class Objectives(Service):
    """Objectives of the AI management system: add, update, retire; measure (computed or by hand), trend, status."""

    # -- the objectives ---------------------------------------------------------------------------------------

    def add(self, spec: ObjectiveSpec | Mapping[str, Any]) -> AimsObjective:
        """Add an objective (a manager's change); its ``measure``, when given, is validated against the registry."""
        valid = coerce(ObjectiveSpec, spec, "objective")
        fields = valid.model_dump()
        if valid.measure is not None:
            fields["measure"] = measure_spec(valid.measure)
        with self._write() as tx:
            require_manager(tx, "add an objective")
            require_person(tx.session, "owner", valid.owner)
            if tx.session.execute(select(AimsObjective.id).where(AimsObjective.key == valid.key)).first():
                raise Conflict(f"objective {valid.key!r} exists: change it with `assay aims objective update`")
            now = utcnow()
            objective = AimsObjective(**fields, status="active", created_by=tx.actor, created_at=now, updated_at=now)
            tx.session.add(objective)
            tx.record("aims.objective.add", objective, before=None, payload={"key": valid.key})
        return objective

    def update(self, key: str, changes: ObjectiveUpdate | Mapping[str, Any]) -> AimsObjective:
        """Change fields of an objective that is not retired (``measure`` None in a mapping removes it)."""
        update, given = updates(ObjectiveUpdate, changes, f"changes to objective {key}")
        if "measure" in given and update.measure is not None:
            given["measure"] = measure_spec(update.measure)
        with self._write() as tx:
            require_manager(tx, "change an objective")
            objective = _objective(tx.session, key, lock=True)
            if objective.status == "retired":
                raise Conflict(f"objective {key!r} is retired: add a new one")
            if "owner" in given:
                if given["owner"] is None:
                    raise InvalidInput("owner: an objective keeps an owner; give a user name")
                require_person(tx.session, "owner", given["owner"])
            for field in ("title", "direction", "status"):
                if field in given and given[field] is None:
                    raise InvalidInput(f"{field} cannot be emptied")
            before = objective.state()
            for field, value in given.items():
                setattr(objective, field, "" if value is None and field in ("description", "unit") else value)
            objective.updated_at = utcnow()
            tx.record("aims.objective.update", objective, before=before, payload={"key": key, "fields": sorted(given)})
        return objective

    def retire(self, key: str, *, reason: str = "") -> AimsObjective:
        """Retire an objective: kept with its measurements, no longer measured or listed as due."""
        with self._write() as tx:
            require_manager(tx, "retire an objective")
            objective = _objective(tx.session, key, lock=True)
            if objective.status == "retired":
                raise Conflict(f"objective {key!r} is already retired")
            before = objective.state()
            objective.status = "retired"
            objective.updated_at = utcnow()
            tx.record("aims.objective.retire", objective, before=before, payload={"key": key, "reason": reason})
        return objective

    def get(self, key: str) -> AimsObjective:
        with self._read() as session:
            return _objective(session, key)

    def list(self, *, include_retired: bool = False) -> list[AimsObjective]:
        with self._read() as session:
            query = select(AimsObjective).order_by(AimsObjective.key)
            if not include_retired:
                query = query.where(AimsObjective.status != "retired")
            return list(session.execute(query).scalars())

    @staticmethod
    def measures() -> builtins.list[dict[str, Any]]:
        """The measures Assay can compute: name, title, unit and parameters (type, default, description)."""
        return [MEASURES[name].describe() for name in sorted(MEASURES)]

    # -- measuring --------------------------------------------------------------------------------------------

    def compute(self, spec: Mapping[str, Any] | str, *, today: dt.date | None = None) -> Measured:
        """Compute a measure without recording it (``spec`` as an objective's ``measure``)."""
        valid = measure_spec(spec)
        return self._compute(valid, today)

    def _compute(self, spec: Mapping[str, Any], today: dt.date | None) -> Measured:
        chosen = MEASURES[spec["name"]]
        params = chosen.params.model_validate({k: v for k, v in spec.items() if k != "name"})
        now = dt.datetime.now(dt.UTC)
        if today is not None:  # as of another day (tests, a look ahead): the same time of that day
            now = dt.datetime.combine(today, now.timetz())
        with self.ws.store.read() as session:  # the whole store: an organisation's measure, whoever measures
            return chosen.compute(MeasureContext(self.ws, session, now.date(), now), params)

    def measure(self, key: str, *, today: dt.date | None = None) -> AimsMeasurement:
        """Compute the objective's measure, judge it against the target and record the measurement."""
        objective = self.get(key)
        if objective.measure is None:
            raise InvalidInput(
                f"objective {key!r} has no measure: record its value with `assay aims objective record {key} VALUE`"
            )
        measured = self._compute(objective.measure, today)
        return self._store({key: measured}, "computed")[0]

    def measure_all(self, *, today: dt.date | None = None) -> builtins.list[AimsMeasurement]:
        """Measure every active objective that has a measure (recorded in one transaction); what cron runs."""
        chosen = [o for o in self.list() if o.status == "active" and o.measure is not None]
        results = {o.key: self._compute(o.measure or {}, today) for o in chosen}
        return self._store(results, "computed") if results else []

    def record(self, key: str, value: float, *, note: str = "") -> AimsMeasurement:
        """Record a measurement entered by hand (objectives without a measure, or a figure from elsewhere)."""
        number = finite("value", value)
        if len(note) > 2000:
            raise InvalidInput("note: at most 2000 characters")
        return self._store({key: Measured(number, {"note": note} if note else {})}, "manual")[0]

    def _store(self, results: Mapping[str, Measured], source: str) -> builtins.list[AimsMeasurement]:
        stored = []
        with self._write() as tx:
            for key, measured in results.items():
                objective = _objective(tx.session, key)
                _require_keeper(tx, objective, f"measure objective {key}")
                if objective.status == "retired":
                    raise Conflict(f"objective {key!r} is retired: it is no longer measured")
                details = dict(measured.details)
                if source == "computed":
                    details = {"measure": objective.measure, **details}
                row = AimsMeasurement(
                    objective_id=objective.id,
                    value=measured.value,
                    met=met(measured.value, objective.target, objective.direction),
                    details=details,
                    source=source,
                    measured_by=tx.actor,
                    measured_at=utcnow(),
                )
                tx.session.add(row)
                tx.record(
                    "aims.measurement.record",
                    row,
                    before=None,
                    payload={"objective": key, "value": row.value, "met": row.met, "source": source},
                )
                stored.append(row)
        return stored

    # -- reading ----------------------------------------------------------------------------------------------

    def measurements(self, key: str, *, limit: int = 100) -> builtins.list[AimsMeasurement]:
        """The objective's last ``limit`` measurements, oldest first."""
        with self._read() as session:
            objective = _objective(session, key)
            rows = session.execute(
                select(AimsMeasurement)
                .where(AimsMeasurement.objective_id == objective.id)
                .order_by(AimsMeasurement.measured_at.desc(), AimsMeasurement.id.desc())
                .limit(limit)
            ).scalars()
            return list(reversed(list(rows)))

    def trend(self, key: str, *, limit: int = 100) -> dict[str, Any]:
        """The series of measurements (oldest first) and how the last one moved from the one before: ``moved`` up,
        down or flat, ``improving`` towards the target's side."""
        objective = self.get(key)
        series = self.measurements(key, limit=limit)
        return {
            "objective": key,
            "target": objective.target,
            "direction": objective.direction,
            "unit": objective.unit,
            "series": [
                {
                    "id": m.id,
                    "measured_at": m.measured_at.isoformat(),
                    "value": m.value,
                    "met": m.met,
                    "source": m.source,
                }
                for m in series
            ],
            **change([m.value for m in series], objective.direction),
        }

    def status(self, *, today: dt.date | None = None) -> builtins.list[dict[str, Any]]:
        """Every objective not retired with its latest value, whether met, and whether due or overdue (past its due
        date, still active and not met)."""
        day = today or dt.date.today()
        objectives = self.list()
        with self._read() as session:
            latest = _latest(session, [o.id for o in objectives])
        rows = []
        for o in objectives:
            last = latest.get(o.id)
            reached = None if last is None else met(last.value, o.target, o.direction)  # against today's target
            days_left = None if o.due_date is None else (o.due_date - day).days
            rows.append(
                {
                    "key": o.key,
                    "title": o.title,
                    "owner": o.owner,
                    "target": o.target,
                    "direction": o.direction,
                    "unit": o.unit,
                    "measure": None if o.measure is None else o.measure["name"],
                    "status": o.status,
                    "due_date": None if o.due_date is None else o.due_date.isoformat(),
                    "days_left": days_left,
                    "value": None if last is None else last.value,
                    "met": reached,
                    "measured_at": None if last is None else last.measured_at.isoformat(timespec="seconds"),
                    "overdue": bool(days_left is not None and days_left < 0 and o.status == "active" and not reached),
                }
            )
        return rows
