"""The monitors API: thin routes over :mod:`assay.services.monitors`. A run is a job of kind ``monitor`` (202 and the
job's Location), as the compute routes answer; the run it records is read at ``.../runs/{id}``."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from assay.governance.monitoring import MonitorSpec
from assay.server.deps import Auth, Page
from assay.server.jobs import JobOut, job_out

__all__ = ["router"]

router = APIRouter(prefix="/api/systems/{system}/monitors", tags=["monitors"])


class CheckOut(BaseModel):
    kind: str
    options: dict[str, Any]
    baseline_id: int | None


class MonitorOut(BaseModel):
    """A monitor: the model version it watches, its checks with their options and baselines, its window, source,
    alert settings and schedule."""

    id: int
    name: str
    system: str
    model_version: str
    source: dict[str, Any]
    checks: list[CheckOut]
    window: int = Field(description="Window length in seconds")
    alerting: dict[str, Any]
    schedule: dict[str, Any] | None
    paused: bool
    created_by: str
    created_at: dt.datetime
    deleted: bool
    webhook_secrets: dict[str, str] = Field(
        default_factory=dict, description="Only when created: each webhook's HMAC secret by URL, shown this once."
    )


class MonitorList(BaseModel):
    items: list[MonitorOut]


class CheckResult(BaseModel):
    kind: str
    status: Literal["pass", "fail", "warn", "error"]
    baseline_id: int | None = None
    assessment_id: int | None
    violations: list[dict[str, Any]]
    metrics: list[dict[str, Any]]
    error: str | None = None


class MonitorRunOut(BaseModel):
    """One run of a monitor over the window ``[window_start, window_end)``."""

    id: int
    monitor: str
    system: str
    window_start: dt.datetime
    window_end: dt.datetime
    status: Literal["ok", "violations", "no_data", "failed"]
    rows: int | None
    results: list[CheckResult]
    error: str | None
    created_by: str
    created_at: dt.datetime
    existing: bool


class MonitorRunPage(BaseModel):
    items: list[MonitorRunOut]
    total: int
    limit: int
    offset: int


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    end: dt.datetime | None = Field(
        default=None, description="The end of the window to judge (default: the latest complete window)."
    )


def _out(view: Any) -> MonitorOut:
    return MonitorOut.model_validate(view.as_dict())


def _run_out(view: Any) -> MonitorRunOut:
    return MonitorRunOut.model_validate(view.as_dict())


@router.get("", response_model=MonitorList)
def list_monitors(auth: Auth, system: str) -> MonitorList:
    return MonitorList(items=[_out(v) for v in auth.ws.monitors.list(system)])


@router.post("", response_model=MonitorOut, status_code=201)
async def create_monitor(auth: Auth, system: str, body: MonitorSpec) -> MonitorOut:
    """Create a monitor; every check's kind, options and baseline are validated now (422 naming the field)."""
    return _out(await run_in_threadpool(auth.ws.monitors.create, system, body))


@router.get("/{name}", response_model=MonitorOut)
def get_monitor(auth: Auth, system: str, name: str) -> MonitorOut:
    return _out(auth.ws.monitors.get(system, name))


@router.post("/{name}/pause", response_model=MonitorOut)
def pause_monitor(auth: Auth, system: str, name: str) -> MonitorOut:
    return _out(auth.ws.monitors.pause(system, name))


@router.post("/{name}/resume", response_model=MonitorOut)
def resume_monitor(auth: Auth, system: str, name: str) -> MonitorOut:
    return _out(auth.ws.monitors.resume(system, name))


@router.delete("/{name}", response_model=MonitorOut)
def delete_monitor(auth: Auth, system: str, name: str) -> MonitorOut:
    return _out(auth.ws.monitors.delete(system, name))


@router.post("/{name}/run", status_code=202, response_model=JobOut)
def run_monitor(auth: Auth, system: str, name: str, body: RunBody | None = None) -> Response:
    """Queue a run of the monitor on its latest complete window (or the one ending at ``end``): 202 with the job."""
    auth.ws.monitors.get(system, name)  # 404 now rather than a failed job
    params: dict[str, Any] = {"monitor": name}
    if body is not None and body.end is not None:
        params["end"] = body.end.isoformat()
    view = auth.ws.jobs.submit("monitor", params, system=system, principal=auth.principal)
    content = job_out(view).model_dump_json()
    return Response(content, 202, {"Location": f"/api/jobs/{view.id}"}, media_type="application/json")


@router.get("/{name}/runs", response_model=MonitorRunPage)
def list_runs(auth: Auth, system: str, name: str, paging: Page) -> MonitorRunPage:
    found = auth.ws.monitors.runs(system, name, limit=paging.limit, offset=paging.offset)
    return MonitorRunPage(
        items=[_run_out(v) for v in found], total=found.total, limit=paging.limit, offset=paging.offset
    )


@router.get("/{name}/runs/{run_id}", response_model=MonitorRunOut)
def get_run(auth: Auth, system: str, name: str, run_id: int) -> MonitorRunOut:
    return _run_out(auth.ws.monitors.get_run(system, name, run_id))
