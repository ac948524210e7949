"""The review queue and kill switch API: thin routes over :mod:`assay.services.review`.

The deployed service's call, ``POST /api/systems/{system}/models/{ref}/review`` ("does this need review?"), is built
for latency: the body is parsed once with the standard library's ``json`` (no pydantic model per request), and a
prediction that proceeds writes nothing. It needs the ``ingest`` action: an owner's ``ingest`` token. Its answer:

- ``{"status": "proceed", "review": false, ...}``: no rule routes it; the outcome takes effect;
- ``{"status": "review", "review": true, "item_id": N, "reasons": [...], "due_at": ...}``: held for a person
  (asking again with the same inference id answers the same item, with ``final`` once it is decided);
- ``{"status": "paused", "review": true, "fallback": "...", ...}``: the model version is paused (the kill switch);
  take the manual path.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Final, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from assay.errors import InvalidInput, NotFound
from assay.server.deps import Auth, Page

__all__ = ["router"]

router = APIRouter(prefix="/api/systems/{system}", tags=["review"])

_ROUTE_BODY: Final = 'the body must be a JSON object {"inference_id": "...", "features": {...}, "output": {...}}'


class ConfigBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=200_000, description="The review configuration (YAML).")


class SwitchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool
    reason: str = Field(min_length=1, max_length=5_000)


class ConfigOut(BaseModel):
    id: int
    system: str
    version: int
    active: bool
    settings: dict[str, Any]
    text: str
    sha256: str
    created_by: str
    created_at: dt.datetime


class ConfigList(BaseModel):
    items: list[ConfigOut]


class RouteOut(BaseModel):
    """The answer to "does this need review?"."""

    status: Literal["proceed", "review", "paused"]
    review: bool
    item_id: int | None = None
    reasons: list[str]
    config_version: int | None = None
    due_at: dt.datetime | None = None
    item_status: str | None = None
    final: dict[str, Any] | None = None
    fallback: str | None = None


class SubmitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[dict[str, Any]] = Field(max_length=10_000, description="Each with inference id, output, features.")
    id_column: str = "inference_id"
    prediction_column: str = "prediction"
    score_column: str | None = None
    everything: bool = Field(default=False, description="Queue every record instead of applying the rules.")


class SubmitOut(BaseModel):
    records: int
    held: int
    proceed: int
    already_held: int
    item_ids: list[int]


class DecisionOut(BaseModel):
    id: int
    reviewer: str
    decision: str
    outcome: dict[str, Any] | None
    reason: str
    seconds: float
    created_at: dt.datetime


class ItemOut(BaseModel):
    """A held prediction; personal columns the caller's role may not see are masked (listed in ``masked``)."""

    id: int
    system: str
    model_version: str
    inference_id: str
    status: Literal["pending", "escalated", "decided"]
    source: str
    reasons: list[str]
    output: dict[str, Any]
    features: dict[str, Any]
    masked: list[str]
    reviews_needed: int
    claimed_by: list[str]
    due_at: dt.datetime
    overdue: bool
    final: dict[str, Any] | None
    overridden: bool | None
    explanation: dict[str, Any] | None
    config_version: int | None
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decisions: list[DecisionOut] | None = None
    label: str | None = Field(default=None, description="Whether the decided outcome was sent to capture as a label.")


class ItemPage(BaseModel):
    items: list[ItemOut]
    total: int
    limit: int
    offset: int


class DecideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["accept", "change", "escalate"]
    outcome: str | int | float | bool | None = Field(default=None, description="The new outcome (change only).")
    reason: str = Field(default="", max_length=5_000)


class LabelOut(BaseModel):
    model_version: str
    inference_id: str
    label: Any
    overridden: bool | None
    decided_at: dt.datetime


class LabelList(BaseModel):
    items: list[LabelOut]


class PauseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=5_000)
    fallback: str = Field(default="", max_length=5_000, description="The manual path clients take while paused.")


class ResumeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=5_000)


class PauseOut(BaseModel):
    id: int
    system: str
    model_version: str
    active: bool
    reason: str
    fallback: str
    paused_by: str
    paused_at: dt.datetime
    resumed_by: str | None
    resumed_at: dt.datetime | None
    resume_reason: str
    notified: list[dict[str, Any]] | None = None


class PauseList(BaseModel):
    items: list[PauseOut]


# -- configuration ------------------------------------------------------------------------------------------------


@router.put("/review/config", response_model=ConfigOut)
def configure(auth: Auth, system: str, body: ConfigBody) -> dict[str, Any]:
    """Store a new version of the system's review configuration (YAML; 422 naming the key)."""
    return auth.ws.review.configure(system, text=body.text)


@router.get("/review/config", response_model=ConfigOut)
def get_config(auth: Auth, system: str) -> dict[str, Any]:
    """The configuration in force (404 when the system has none)."""
    found = auth.ws.review.config(system)
    if found is None:
        raise NotFound(f"{system} has no review configuration: PUT one to /api/systems/{system}/review/config")
    return found


@router.get("/review/configs", response_model=ConfigList)
def list_configs(auth: Auth, system: str) -> ConfigList:
    return ConfigList.model_validate({"items": auth.ws.review.configs(system)})


@router.post("/review/switch", response_model=ConfigOut)
def switch(auth: Auth, system: str, body: SwitchBody) -> dict[str, Any]:
    """Turn the queue off or on (a new version of the configuration)."""
    return auth.ws.review.switch(system, active=body.active, reason=body.reason)


# -- the deployed service's calls ---------------------------------------------------------------------------------


def _route_body(body: bytes) -> tuple[Any, Any, Any]:
    try:
        parsed = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON ({exc}); {_ROUTE_BODY}") from None
    if not isinstance(parsed, dict):
        raise InvalidInput(_ROUTE_BODY)
    unknown = set(parsed) - {"inference_id", "features", "output"}
    if unknown:
        raise InvalidInput(f"unknown body fields {', '.join(sorted(unknown))}; {_ROUTE_BODY}")
    if "inference_id" not in parsed or "output" not in parsed:
        raise InvalidInput(_ROUTE_BODY)
    return parsed["inference_id"], parsed.get("features", {}), parsed["output"]


@router.post(
    "/models/{ref}/review",
    response_model=RouteOut,
    response_model_exclude_none=True,
    summary="Does this prediction need review?",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["inference_id", "output"],
                        "properties": {
                            "inference_id": {"type": "string"},
                            "features": {"type": "object", "additionalProperties": True},
                            "output": {
                                "type": "object",
                                "properties": {"prediction": {}, "score": {"type": "number"}},
                                "required": ["prediction"],
                            },
                        },
                    }
                }
            },
        }
    },
)
async def route(auth: Auth, system: str, ref: str, request: Request) -> JSONResponse:
    """Route one prediction of model version ``ref``: proceed, review (held as an item) or paused (see the
    module)."""
    inference_id, features, output = _route_body(await request.body())
    answer = await run_in_threadpool(auth.ws.review.route, system, ref, inference_id, features, output)
    return JSONResponse(answer)


@router.post("/models/{ref}/review/batch", response_model=SubmitOut)
def submit(auth: Auth, system: str, ref: str, body: SubmitBody) -> dict[str, Any]:
    """Route many predictions at once (or queue them all with ``everything``), in one transaction."""
    return auth.ws.review.submit(
        system,
        ref,
        body.records,
        id_column=body.id_column,
        prediction_column=body.prediction_column,
        score_column=body.score_column,
        everything=body.everything,
        source="api",
    )


# -- the queue ----------------------------------------------------------------------------------------------------


@router.get("/review/items", response_model=ItemPage)
def list_items(
    auth: Auth,
    system: str,
    paging: Page,
    status: Literal["open", "pending", "escalated", "decided", "all"] = "open",
    overdue: bool | None = None,
    mine: bool = False,
    model_version: str | None = None,
) -> ItemPage:
    """The queue, the most urgent first (``status=open``: pending and escalated)."""
    found = auth.ws.review.queue(
        system,
        status=None if status == "all" else status,
        overdue=overdue,
        mine=mine,
        model_version=model_version,
        limit=paging.limit,
        offset=paging.offset,
    )
    return ItemPage.model_validate({"items": found, "total": found.total, "limit": paging.limit,
                                    "offset": paging.offset})  # fmt: skip


@router.get("/review/items/{item_id}", response_model=ItemOut)
def get_item(auth: Auth, system: str, item_id: int) -> dict[str, Any]:
    return auth.ws.review.item(system, item_id)


@router.post("/review/items/{item_id}/claim", response_model=ItemOut)
def claim(auth: Auth, system: str, item_id: int) -> dict[str, Any]:
    """Take the item (409 when another reviewer holds it)."""
    return auth.ws.review.claim(system, item_id)


@router.post("/review/items/{item_id}/release", response_model=ItemOut)
def release(auth: Auth, system: str, item_id: int) -> dict[str, Any]:
    return auth.ws.review.release(system, item_id)


@router.post("/review/items/{item_id}/decision", response_model=ItemOut)
def decide(auth: Auth, system: str, item_id: int, body: DecideBody) -> dict[str, Any]:
    """Accept, change (with ``outcome``) or escalate; a reason is required for change and escalate."""
    return auth.ws.review.decide(system, item_id, body.decision, outcome=body.outcome, reason=body.reason)


@router.get("/review/labels", response_model=LabelList)
def labels(
    auth: Auth,
    system: str,
    model_version: str | None = None,
    since: dt.datetime | None = Query(default=None, description="Decided at or after (ISO 8601)."),  # noqa: B008
) -> LabelList:
    """The decided items as ground-truth labels."""
    return LabelList.model_validate({"items": auth.ws.review.labels(system, model_version=model_version, since=since)})


# -- the kill switch ----------------------------------------------------------------------------------------------


@router.post("/models/{ref}/pause", response_model=PauseOut)
def pause(auth: Auth, system: str, ref: str, body: PauseBody) -> dict[str, Any]:
    """Pause a model version (an overseer): routing answers ``paused`` with the fallback until resumed."""
    return auth.ws.review.pause(system, ref, reason=body.reason, fallback=body.fallback)


@router.post("/models/{ref}/resume", response_model=PauseOut)
def resume(auth: Auth, system: str, ref: str, body: ResumeBody) -> dict[str, Any]:
    return auth.ws.review.resume(system, ref, reason=body.reason)


@router.get("/pauses", response_model=PauseList)
def list_pauses(auth: Auth, system: str, active: bool | None = None) -> PauseList:
    return PauseList.model_validate({"items": auth.ws.review.pauses(system, active=active)})
