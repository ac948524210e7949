"""The human-oversight report over HTTP: thin routes over :mod:`assay.services.oversight`.

``GET /api/systems/{system}/oversight`` returns the ``assay.oversight-report`` document (override rates by slice,
reviewer and period, the bias signal, kappa per reviewer pair, time to decision, overdue items, contested cases and
feedback); ``POST /api/systems/{system}/oversight/report`` records it as an assessment (evidence). The page
``/systems/{system}/oversight`` (and its ``.json`` twin) draws it with the Plotly this server serves."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from assay.reports.jsonable import jsonable
from assay.server import web
from assay.server.deps import Auth, page_user

__all__ = ["router"]

router = APIRouter()

_Since = Annotated[
    dt.datetime | dt.date | None, Query(description="Items that arrived from this date or time (ISO 8601).")
]
_Until = Annotated[dt.datetime | dt.date | None, Query(description="... and before this date or time (ISO 8601).")]
_Slices = Annotated[
    list[str] | None,
    Query(
        alias="slice",
        description="A feature column (or two joined by '*') to break override rates down by; repeat it. Default: "
        "every feature with at most 20 values.",
    ),
]
_Bucket = Annotated[Literal["day", "week"] | None, Query(description="Rates over time by day or week.")]


class ReportBody(BaseModel):
    """The period and slices of the report to record."""

    model_config = ConfigDict(extra="forbid")
    since: dt.datetime | dt.date | None = Field(default=None, description="Items that arrived from this time.")
    until: dt.datetime | dt.date | None = Field(default=None, description="... and before this time.")
    slices: list[str] | None = Field(default=None, max_length=20, description="Feature columns or 'a*b' pairs.")
    bucket: Literal["day", "week"] | None = Field(default=None, description="Rates over time by day or week.")


class OversightReport(BaseModel):
    """The ``assay.oversight-report`` document (see docs/oversight.md for every field)."""

    model_config = ConfigDict(populate_by_name=True)
    schema_: str = Field(alias="schema")
    schema_version: int
    assay_version: str
    created_at: str
    system: str
    period: dict[str, Any] = Field(description="since, until, first_item, last_item")
    items: dict[str, Any] = Field(description="Counts of review items by status and source")
    overrides: dict[str, Any] = Field(description="Override rates overall, by model version, slice, reviewer, period")
    bias_signal: dict[str, Any] = Field(description="Each slice value's override rate against the rest, and the test")
    agreement: dict[str, Any] = Field(description="Cohen's kappa per reviewer pair on doubly reviewed items")
    time_to_decision: dict[str, Any]
    overdue: dict[str, Any]
    contested: dict[str, Any]
    feedback: dict[str, Any]
    warnings: list[dict[str, str]]


class RecordedReport(BaseModel):
    assessment: int = Field(description="The id of the recorded assessment (evidence).")
    document: OversightReport


def _options(bucket: str | None) -> dict[str, Any]:
    return {} if bucket is None else {"bucket": bucket}


@router.get("/api/systems/{system}/oversight", tags=["oversight"], response_model=OversightReport)
async def oversight_summary(
    auth: Auth, system: str, since: _Since = None, until: _Until = None, slices: _Slices = None, bucket: _Bucket = None
) -> OversightReport:
    """The system's human-oversight report (``assay.oversight-report``) for the period, not recorded."""
    document = await run_in_threadpool(auth.ws.oversight.summary, system, since, until, slices, **_options(bucket))
    return OversightReport.model_validate(document)


@router.post(
    "/api/systems/{system}/oversight/report", tags=["oversight"], status_code=201, response_model=RecordedReport
)
async def record_oversight_report(auth: Auth, system: str, body: ReportBody | None = None) -> RecordedReport:
    """Record the report as an assessment of the system: it becomes evidence for the oversight controls."""
    given = body or ReportBody()
    recorded = await run_in_threadpool(
        auth.ws.oversight.record, system, given.since, given.until, given.slices, **_options(given.bucket)
    )
    return RecordedReport(assessment=recorded.id, document=OversightReport.model_validate(recorded.document))


# -- the page -------------------------------------------------------------------------------------------------------


def _rate_traces(rates_by_name: list[tuple[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """One line per name over the periods, its Wilson interval as asymmetric error bars."""
    traces = []
    for name, rates in rates_by_name:
        points = [r for r in rates if r["rate"] is not None]
        traces.append(
            {
                "name": name,
                "x": [r["key"] for r in points],
                "y": [r["rate"] for r in points],
                "upper": [r["ci"][1] - r["rate"] for r in points],
                "lower": [r["rate"] - r["ci"][0] for r in points],
                "n": [r["n"] for r in points],
            }
        )
    return traces


def _page(
    auth: Auth, system: str, since: Any, until: Any, slices: list[str] | None, bucket: str | None
) -> dict[str, Any]:
    document = auth.ws.oversight.summary(system, since, until, slices, **_options(bucket))
    over = document["overrides"]["over_time"]
    charts = [
        {
            "id": "oversight-overall",
            "title": "override rate, all items",
            "traces": _rate_traces([("all", over["overall"])]),
        }
    ]
    for i, entry in enumerate(over["by_slice"]):
        traces = _rate_traces([(s["value"], s["rates"]) for s in entry["series"]][:8])
        charts.append({"id": f"oversight-slice-{i}", "title": f"override rate by {entry['slice']}", "traces": traces})
    reviewers = document["overrides"]["by_reviewer"]
    bars = {
        "id": "oversight-reviewers",
        "title": "override rate by reviewer",
        "x": [r["key"] for r in reviewers if r["rate"] is not None],
        "y": [r["rate"] for r in reviewers if r["rate"] is not None],
        "upper": [r["ci"][1] - r["rate"] for r in reviewers if r["rate"] is not None],
        "lower": [r["rate"] - r["ci"][0] for r in reviewers if r["rate"] is not None],
    }
    return {
        "page": "oversight",
        "user": page_user(auth.principal),
        "system": system,
        "report": jsonable(document),
        "charts": charts,
        "reviewer_chart": bars,
    }


@router.get("/systems/{system}/oversight.json", include_in_schema=False)
def oversight_json(
    auth: Auth, system: str, since: _Since = None, until: _Until = None, slices: _Slices = None, bucket: _Bucket = None
) -> Response:
    return JSONResponse(_page(auth, system, since, until, slices, bucket))


@router.get("/systems/{system}/oversight", include_in_schema=False)
def oversight_page(
    request: Request,
    auth: Auth,
    system: str,
    since: _Since = None,
    until: _Until = None,
    slices: _Slices = None,
    bucket: _Bucket = None,
) -> Response:
    """A system's human oversight: override rate over time (overall and per slice, with intervals), by reviewer,
    the bias signal, kappa per reviewer pair, time to decision, overdue items, contested cases and feedback."""
    context = _page(auth, system, since, until, slices, bucket)
    return web.render(request, "oversight", context)
