"""The jobs and schedules API: thin routes over :mod:`assay.services.jobs` and :mod:`assay.services.schedules`.

A job is visible to whoever may read its system (and to who requested it); one on a system the user cannot see is
404. Cancelling needs the role that may run the job's kind on its system, or being its requester."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from assay.server.deps import Auth, Page

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["jobs"])

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class StageEntry(BaseModel):
    at: str
    stage: str


class JobOut(BaseModel):
    """A job: its status, progress, the log of its stages, its result or its one-line error."""

    id: int
    kind: str
    system: str | None
    params: dict[str, Any]
    status: Status
    progress: float | None = Field(description="0..1, null when unknown or not started")
    stage: str
    log: list[StageEntry]
    result: dict[str, Any] | None
    error: str | None
    requested_by: str
    schedule_id: int | None
    worker: str | None = Field(description="host:pid:thread of the worker that ran it")
    attempts: int
    cancel_requested: bool
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    heartbeat_at: dt.datetime | None


class JobPage(BaseModel):
    items: list[JobOut]
    total: int
    limit: int
    offset: int


class ScheduleOut(BaseModel):
    id: int
    system: str
    kind: str
    params: dict[str, Any]
    cron: str | None
    interval_seconds: int | None
    timezone: str
    missed: Literal["coalesce", "skip"]
    paused: bool
    next_run_at: dt.datetime | None
    last_run_at: dt.datetime | None
    last_job_id: int | None
    created_by: str
    created_at: dt.datetime


class SchedulePage(BaseModel):
    items: list[ScheduleOut]
    total: int
    limit: int
    offset: int


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(max_length=100, description="The job kind to run (a registered handler).")
    params: dict[str, Any] = Field(default_factory=dict, description="The job's params.")
    cron: str | None = Field(default=None, max_length=200, description="5-field crontab expression.")
    interval_seconds: int | None = Field(default=None, description="Or: run every this many seconds (at least 60).")
    timezone: str = Field(max_length=64, description="IANA time zone name the cron expression is read in, e.g. UTC.")
    missed: Literal["coalesce", "skip"] = Field(
        default="coalesce",
        description="Fire times missed while no worker ran: coalesce (run once now) or skip (run none of them).",
    )


def job_out(view: Any) -> JobOut:
    """The response model of a job (also what the compute routes answer with 202)."""
    return JobOut.model_validate(view.as_dict())


def _schedule(view: Any) -> ScheduleOut:
    return ScheduleOut.model_validate(view.as_dict())


@router.get("/jobs", response_model=JobPage)
def list_jobs(
    auth: Auth,
    paging: Page,
    system: Annotated[str | None, Query(max_length=100, description="Only this system's jobs.")] = None,
    status: Annotated[Status | None, Query(description="Only jobs in this status.")] = None,
) -> JobPage:
    """Jobs the user may see, newest first."""
    views, total = auth.ws.jobs.list(
        system=system, status=status, limit=paging.limit, offset=paging.offset, principal=auth.principal
    )
    return JobPage(items=[job_out(v) for v in views], total=total, limit=paging.limit, offset=paging.offset)


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(auth: Auth, job_id: int) -> JobOut:
    return job_out(auth.ws.jobs.get(job_id, principal=auth.principal))


@router.post("/jobs/{job_id}/cancel", response_model=JobOut)
def cancel_job(auth: Auth, job_id: int) -> JobOut:
    """Cancel a queued job, or ask a running one to stop (it ends ``cancelled`` at its next progress report)."""
    return job_out(auth.ws.jobs.cancel(job_id, principal=auth.principal))


@router.get("/systems/{system}/schedules", response_model=SchedulePage)
def list_schedules(auth: Auth, system: str, paging: Page) -> SchedulePage:
    views, total = auth.ws.schedules.list(system, limit=paging.limit, offset=paging.offset, principal=auth.principal)
    return SchedulePage(items=[_schedule(v) for v in views], total=total, limit=paging.limit, offset=paging.offset)


@router.post("/systems/{system}/schedules", response_model=ScheduleOut, status_code=201)
async def add_schedule(auth: Auth, system: str, body: ScheduleBody) -> ScheduleOut:
    view = await run_in_threadpool(
        auth.ws.schedules.add,
        system,
        body.kind,
        body.params,
        cron=body.cron,
        interval_seconds=body.interval_seconds,
        timezone=body.timezone,
        missed=body.missed,
        principal=auth.principal,
    )
    return _schedule(view)


@router.post("/systems/{system}/schedules/{schedule_id}/pause", response_model=ScheduleOut)
def pause_schedule(auth: Auth, system: str, schedule_id: int) -> ScheduleOut:
    return _schedule(auth.ws.schedules.pause(system, schedule_id, principal=auth.principal))


@router.post("/systems/{system}/schedules/{schedule_id}/resume", response_model=ScheduleOut)
def resume_schedule(auth: Auth, system: str, schedule_id: int) -> ScheduleOut:
    return _schedule(auth.ws.schedules.resume(system, schedule_id, principal=auth.principal))


@router.delete("/systems/{system}/schedules/{schedule_id}", response_model=ScheduleOut)
def delete_schedule(auth: Auth, system: str, schedule_id: int) -> ScheduleOut:
    return _schedule(auth.ws.schedules.delete(system, schedule_id, principal=auth.principal))
