"""The alerts API: thin routes over :mod:`assay.services.alerts` (alerts of the monitors, retraining requests) and
the rollback of production (:meth:`assay.services.registry.Models.rollback`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from assay.server import schemas as out
from assay.server.deps import Auth, Page, page

__all__ = ["router"]

router = APIRouter(prefix="/api")


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=20_000, description="Why (kept in the audit log).")


class RetrainingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_version: str = Field(max_length=201, description="MODEL@VERSION to retrain.")
    reason: str = Field(min_length=1, max_length=20_000)


class CloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["done", "declined"]
    resolution: str = Field(default="", max_length=20_000, description="Why (required to decline).")
    version: str | None = Field(default=None, max_length=201, description="MODEL@VERSION that replaces it (done).")


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=20_000, description="Why (kept in the audit log).")
    model: str | None = Field(default=None, max_length=100, description="The model, when several are in production.")


AlertStatus = Literal["open", "acknowledged", "resolved"]


@router.get("/systems/{system}/alerts", tags=["alerts"])
def list_alerts(
    auth: Auth,
    system: str,
    paging: Page,
    status: Annotated[AlertStatus | None, Query(description="Only alerts in this status.")] = None,
    monitor: Annotated[str | None, Query(max_length=100, description="Only this monitor's alerts.")] = None,
) -> out.Page[out.Alert]:
    """The system's alerts, newest first."""
    rows = auth.ws.alerts.list(system, status=status, monitor=monitor, limit=paging.limit, offset=paging.offset)
    return page(out.Alert, rows, paging)


@router.get("/systems/{system}/alerts/{alert_id}", tags=["alerts"])
def get_alert(auth: Auth, system: str, alert_id: int) -> out.Alert:
    return out.Alert.of(auth.ws.alerts.get(system, alert_id))


@router.post("/systems/{system}/alerts/{alert_id}/acknowledge", tags=["alerts"])
def acknowledge_alert(auth: Auth, system: str, alert_id: int, body: NoteBody) -> out.Alert:
    """Someone has it in hand: no more reminders (its resolution is still announced)."""
    return out.Alert.of(auth.ws.alerts.acknowledge(system, alert_id, note=body.note))


@router.post("/systems/{system}/alerts/{alert_id}/resolve", tags=["alerts"])
def resolve_alert(auth: Auth, system: str, alert_id: int, body: NoteBody) -> out.Alert:
    return out.Alert.of(auth.ws.alerts.resolve(system, alert_id, note=body.note))


@router.get("/systems/{system}/retraining-requests", tags=["alerts"])
def list_retraining(
    auth: Auth,
    system: str,
    paging: Page,
    status: Annotated[Literal["open", "done", "declined"] | None, Query(description="Only this status.")] = None,
) -> out.Page[out.RetrainingRequest]:
    rows = auth.ws.alerts.retraining(system, status=status, limit=paging.limit, offset=paging.offset)
    return page(out.RetrainingRequest, rows, paging)


@router.post("/systems/{system}/retraining-requests", status_code=201, tags=["alerts"])
def request_retraining(auth: Auth, system: str, body: RetrainingBody) -> out.RetrainingRequest:
    return out.RetrainingRequest.of(auth.ws.alerts.request_retraining(system, body.model_version, reason=body.reason))


@router.post("/systems/{system}/retraining-requests/{request_id}/close", tags=["alerts"])
def close_retraining(auth: Auth, system: str, request_id: int, body: CloseBody) -> out.RetrainingRequest:
    """Done by the version that replaces the retrained one, or declined with a reason."""
    closed = auth.ws.alerts.close_retraining(
        system, request_id, status=body.status, resolution=body.resolution, version=body.version
    )
    return out.RetrainingRequest.of(closed)


@router.post("/systems/{system}/rollback", tags=["models"])
def rollback(auth: Auth, system: str, body: RollbackBody) -> out.ModelVersion:
    """Move production back to the previous approved version (approver or admin); the current one goes to staging."""
    return out.ModelVersion.of(auth.ws.models.rollback(system, reason=body.reason, model=body.model))
