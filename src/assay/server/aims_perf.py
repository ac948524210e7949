"""Objectives, competence and reminders of the AI management system over HTTP: thin routes over
:mod:`assay.services.aims.objectives`, :mod:`~assay.services.aims.competence` and
:mod:`~assay.services.aims.reminders`.

Reading needs any account (``read``); a change needs ``contribute``, and the service then applies the management
system's rule (a manager, the objective's owner for its measurements, a training coordinator for training records).
``GET /api/aims/reminders`` answers the caller's own list; ``?person=NAME`` (or ``*``, everyone's) needs an admin,
an auditor or a manager. The pages ``/aims/objectives`` (each objective with its trend drawn by the Plotly this
server serves) and ``/aims/training`` (the catalogue and the gap list) have ``.json`` twins.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from assay.governance.aims_perf import (
    ObjectiveSpec,
    ObjectiveUpdate,
    TrainingRecordSpec,
    TrainingSpec,
    TrainingUpdate,
)
from assay.reports.jsonable import jsonable
from assay.server import web
from assay.server.deps import Auth, page_user

__all__ = ["router"]

router = APIRouter()
_TAGS: list[str | Any] = ["management system"]
_Within = Annotated[int, Query(ge=0, le=3650, description="What is due within this many days (or overdue).")]


class Objective(BaseModel):
    id: int
    key: str
    title: str
    description: str
    measure: dict[str, Any] | None = Field(description="The measure computed for it ({name, parameters}), or null.")
    target: float | None
    direction: Literal["at_least", "at_most"]
    unit: str
    owner: str
    due_date: dt.date | None
    status: Literal["active", "achieved", "retired"]
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ObjectiveStatus(BaseModel):
    key: str
    title: str
    owner: str
    target: float | None
    direction: str
    unit: str
    measure: str | None
    status: str
    due_date: dt.date | None
    days_left: int | None
    value: float | None = Field(description="The latest measurement's value.")
    met: bool | None
    measured_at: dt.datetime | None
    overdue: bool = Field(description="Past its due date, still active and its latest value does not meet the target.")


class ObjectiveList(BaseModel):
    items: list[ObjectiveStatus]


class Measurement(BaseModel):
    id: int
    objective_id: int
    value: float | None
    met: bool | None
    details: dict[str, Any] = Field(description="What proves the value (e.g. the systems lacking an assessment).")
    source: Literal["computed", "manual"]
    measured_by: str
    measured_at: dt.datetime


class MeasurementList(BaseModel):
    items: list[Measurement]


class MeasurementBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: float = Field(allow_inf_nan=False)
    note: str = Field(default="", max_length=2000)


class TrendPoint(BaseModel):
    id: int
    measured_at: dt.datetime
    value: float | None
    met: bool | None
    source: str


class Trend(BaseModel):
    objective: str
    target: float | None
    direction: str
    unit: str
    series: list[TrendPoint]
    delta: float | None = Field(description="The last value minus the one before.")
    moved: Literal["up", "down", "flat"] | None
    improving: bool | None = Field(description="Whether it moved towards the target's side.")


class MeasureInfo(BaseModel):
    name: str
    title: str
    unit: str
    parameters: dict[str, dict[str, Any]]


class MeasureList(BaseModel):
    items: list[MeasureInfo]


class Training(BaseModel):
    id: int
    code: str
    title: str
    description: str
    validity_months: int | None
    required_for: list[str]
    status: Literal["active", "retired"]
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class TrainingList(BaseModel):
    items: list[Training]


class TrainingRecord(BaseModel):
    id: int
    training_id: int
    training: str
    person: str
    completed_on: dt.date
    score: float | None
    expires_on: dt.date | None
    evidence: str
    source: str
    recorded_by: str
    created_at: dt.datetime


class TrainingRecordList(BaseModel):
    items: list[TrainingRecord]


class Gap(BaseModel):
    person: str
    training: str
    title: str
    roles: list[str] = Field(description="The roles the person holds that require it.")
    state: Literal["missing", "expired", "expiring"]
    completed_on: dt.date | None
    expires_on: dt.date | None
    days_left: int | None
    record_id: int | None


class GapList(BaseModel):
    items: list[Gap]


class RetireBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=2000)


class ReminderItem(BaseModel):
    kind: str
    what: str
    due: dt.date | None = Field(description="Null: to do now (a missing training, an approval waiting).")
    days_left: int | None
    overdue: bool
    ref: str = Field(description="TYPE:ID of the record concerned.")


class PersonReminders(BaseModel):
    person: str
    within_days: int
    items: list[ReminderItem]


class Reminders(BaseModel):
    people: list[PersonReminders]


# -- objectives ---------------------------------------------------------------------------------------------------


@router.get("/api/aims/objectives", tags=_TAGS, response_model=ObjectiveList)
def list_objectives(auth: Auth) -> ObjectiveList:
    """Every objective not retired, with its latest value, whether met, and whether due or overdue."""
    return ObjectiveList.model_validate({"items": auth.ws.aims.objectives.status()})


@router.post("/api/aims/objectives", tags=_TAGS, status_code=201, response_model=Objective)
def add_objective(auth: Auth, body: ObjectiveSpec) -> Objective:
    """Add an objective (a manager's change)."""
    return Objective.model_validate(auth.ws.aims.objectives.add(body).state())


@router.get("/api/aims/measures", tags=_TAGS, response_model=MeasureList)
def list_measures(auth: Auth) -> MeasureList:
    """The measures Assay computes from the store, with their parameters."""
    return MeasureList.model_validate({"items": auth.ws.aims.objectives.measures()})


@router.post("/api/aims/objectives/measure", tags=_TAGS, response_model=MeasurementList)
def measure_all(auth: Auth) -> MeasurementList:
    """Measure every active objective that has a measure."""
    return MeasurementList.model_validate({"items": [m.state() for m in auth.ws.aims.objectives.measure_all()]})


@router.get("/api/aims/objectives/{objective}", tags=_TAGS, response_model=Objective)
def get_objective(auth: Auth, objective: str) -> Objective:
    return Objective.model_validate(auth.ws.aims.objectives.get(objective).state())


@router.patch("/api/aims/objectives/{objective}", tags=_TAGS, response_model=Objective)
def update_objective(auth: Auth, objective: str, body: ObjectiveUpdate) -> Objective:
    """Change the fields given (a manager's change)."""
    return Objective.model_validate(auth.ws.aims.objectives.update(objective, body).state())


@router.post("/api/aims/objectives/{objective}/retire", tags=_TAGS, response_model=Objective)
def retire_objective(auth: Auth, objective: str, body: RetireBody | None = None) -> Objective:
    reason = body.reason if body else ""
    return Objective.model_validate(auth.ws.aims.objectives.retire(objective, reason=reason).state())


@router.post("/api/aims/objectives/{objective}/measure", tags=_TAGS, status_code=201, response_model=Measurement)
def measure_objective(auth: Auth, objective: str) -> Measurement:
    """Compute the objective's measure and record the measurement."""
    return Measurement.model_validate(auth.ws.aims.objectives.measure(objective).state())


@router.post("/api/aims/objectives/{objective}/measurements", tags=_TAGS, status_code=201, response_model=Measurement)
def record_measurement(auth: Auth, objective: str, body: MeasurementBody) -> Measurement:
    """Record a measurement entered by hand."""
    return Measurement.model_validate(auth.ws.aims.objectives.record(objective, body.value, note=body.note).state())


@router.get("/api/aims/objectives/{objective}/trend", tags=_TAGS, response_model=Trend)
def objective_trend(auth: Auth, objective: str, limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> Trend:
    """The objective's last measurements (oldest first) and which way the last one moved."""
    return Trend.model_validate(auth.ws.aims.objectives.trend(objective, limit=limit))


# -- competence ---------------------------------------------------------------------------------------------------


@router.get("/api/aims/trainings", tags=_TAGS, response_model=TrainingList)
def list_trainings(auth: Auth, retired: bool = False) -> TrainingList:
    rows = auth.ws.aims.competence.trainings(include_retired=retired)
    return TrainingList.model_validate({"items": [t.state() for t in rows]})


@router.post("/api/aims/trainings", tags=_TAGS, status_code=201, response_model=Training)
def add_training(auth: Auth, body: TrainingSpec) -> Training:
    return Training.model_validate(auth.ws.aims.competence.add_training(body).state())


@router.patch("/api/aims/trainings/{training}", tags=_TAGS, response_model=Training)
def update_training(auth: Auth, training: str, body: TrainingUpdate) -> Training:
    return Training.model_validate(auth.ws.aims.competence.update_training(training, body).state())


@router.post("/api/aims/trainings/{training}/retire", tags=_TAGS, response_model=Training)
def retire_training(auth: Auth, training: str, body: RetireBody | None = None) -> Training:
    reason = body.reason if body else ""
    return Training.model_validate(auth.ws.aims.competence.retire_training(training, reason=reason).state())


@router.get("/api/aims/training-records", tags=_TAGS, response_model=TrainingRecordList)
def list_training_records(
    auth: Auth, person: Annotated[str | None, Query(max_length=200)] = None,
    training: Annotated[str | None, Query(max_length=100)] = None,
) -> TrainingRecordList:  # fmt: skip
    rows = auth.ws.aims.competence.records(person=person, training=training)
    return TrainingRecordList.model_validate({"items": rows})


@router.post("/api/aims/training-records", tags=_TAGS, status_code=201, response_model=TrainingRecord)
def record_training(auth: Auth, body: TrainingRecordSpec) -> TrainingRecord:
    """Record that a person completed a training (a manager or a training coordinator)."""
    record = auth.ws.aims.competence.record(body, source="api")
    return TrainingRecord.model_validate({**record.state(), "training": body.training})


@router.get("/api/aims/training-gaps", tags=_TAGS, response_model=GapList)
def training_gaps(
    auth: Auth, within_days: _Within = 30, person: Annotated[str | None, Query(max_length=200)] = None
) -> GapList:
    """Who lacks which required training (missing, expired) and what expires within ``within_days``."""
    return GapList.model_validate({"items": auth.ws.aims.competence.gaps(within_days=within_days, person=person)})


# -- reminders ----------------------------------------------------------------------------------------------------


@router.get("/api/aims/reminders", tags=_TAGS, response_model=Reminders)
def reminders(
    auth: Auth,
    within_days: _Within = 30,
    person: Annotated[
        str | None, Query(max_length=200, description="Whose list (default: yours; '*': everyone's).")
    ] = None,
) -> Reminders:
    """What is due soon or overdue: the caller's own list, or (admins, auditors, managers) anyone's."""
    return Reminders.model_validate({"people": auth.ws.aims.reminders(person, within_days)})


# -- pages --------------------------------------------------------------------------------------------------------


def _objectives_page(auth: Auth) -> dict[str, Any]:
    objectives = auth.ws.aims.objectives
    rows = objectives.status()
    charts = []
    for i, row in enumerate(rows):
        series = objectives.trend(row["key"], limit=60)["series"]
        points = [p for p in series if p["value"] is not None]
        row["chart"] = None
        if len(points) >= 2:
            row["chart"] = {
                "id": f"objective-{i}",
                "title": row["key"],
                "threshold": row["target"],
                "traces": [{"name": row["key"], "x": [p["measured_at"] for p in points],
                            "y": [p["value"] for p in points]}],
            }  # fmt: skip
            charts.append(row["chart"])
    return {"page": "aims-objectives", "user": page_user(auth.principal), "objectives": jsonable(rows)}


def _training_page(auth: Auth, within_days: int) -> dict[str, Any]:
    competence = auth.ws.aims.competence
    return {
        "page": "aims-training",
        "user": page_user(auth.principal),
        "within_days": within_days,
        "trainings": jsonable([t.state() for t in competence.trainings()]),
        "gaps": jsonable(competence.gaps(within_days=within_days)),
    }


def _html(request: Request, name: str, context: dict[str, Any]) -> Response:
    return web.render(request, name, context)


@router.get("/aims/objectives.json", include_in_schema=False)
def objectives_json(auth: Auth) -> Response:
    return JSONResponse(_objectives_page(auth))


@router.get("/aims/objectives", include_in_schema=False)
def objectives_page(request: Request, auth: Auth) -> Response:
    """The objectives with their latest value, due date and trend."""
    return _html(request, "aims_objectives", _objectives_page(auth))


@router.get("/aims/training.json", include_in_schema=False)
def training_json(auth: Auth, within_days: _Within = 30) -> Response:
    return JSONResponse(_training_page(auth, within_days))


@router.get("/aims/training", include_in_schema=False)
def training_page(request: Request, auth: Auth, within_days: _Within = 30) -> Response:
    """The training catalogue and the gap list."""
    return _html(request, "aims_training", _training_page(auth, within_days))
