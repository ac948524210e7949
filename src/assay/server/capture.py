"""The capture routes: batches of inference records and of ground-truth labels for a model version.

``POST /api/systems/{system}/models/{ref}/capture`` and ``.../labels`` take ``{"batch_id": "...", "records":
[{...}, ...]}``. Built for throughput: the body is read as bytes and parsed once with the standard library's
``json`` (no per-record pydantic model), the records are validated column by column with pyarrow in the service
(:mod:`assay.services.capture`), and the blocking work runs in the thread pool. Answers:

- ``200`` with ``{"batch_id", "records" | "labels", "days"}`` once the batch is durable (the same answer for a
  repeated batch id);
- ``422`` when a record does not fit, with ``rejected``: one ``{"index", "field", "value", "reason"}`` per problem
  (nothing of the batch was stored), or when the batch has more records than ``ASSAY_CAPTURE_MAX_RECORDS``;
- ``413`` when the body is over ``ASSAY_MAX_BODY_MB``; ``409`` when the batch id was stored with another body (a
  retry must resend the same bytes, as the Python client does).

An API token of scope ``ingest`` (``assay user token create NAME --scope ingest``) may call these two routes and no
other; a ``write`` token of an owner of the system may call them too.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from assay.errors import InvalidInput
from assay.server.deps import Auth
from assay.services.capture import RejectedRecords

__all__ = ["router"]

router = APIRouter(prefix="/api")


class Accepted(BaseModel):
    """A batch stored durably (or stored before under the same batch id)."""

    batch_id: str
    records: int | None = Field(default=None, description="Records stored (capture).")
    labels: int | None = Field(default=None, description="Labels stored (labels).")
    days: list[str] = Field(description="The day partitions written, YYYY-MM-DD.")
    paused: dict[str, Any] | None = Field(
        default=None, description="The model version is paused (the kill switch): reason, fallback, by whom, since."
    )


def _body(what: str) -> dict[str, Any]:
    """The request body's schema for the OpenAPI document (the route reads the body itself, for speed)."""
    record = {"type": "object", "additionalProperties": True}
    schema = {
        "type": "object",
        "required": ["batch_id", "records"],
        "properties": {
            "batch_id": {"type": "string", "minLength": 1, "maxLength": 200,
                         "description": "Idempotency key: the same batch id is stored once."},
            "records": {"type": "array", "items": record,
                        "description": "Inference records" if what == "records" else "Labels: {id, label}"},
        },
    }  # fmt: skip
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_NOT_A_BATCH: Final = 'the body must be a JSON object {"batch_id": "...", "records": [{...}, ...]}'


def _parse(body: bytes) -> tuple[str, list[Any]]:
    try:
        parsed = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON ({exc}); {_NOT_A_BATCH}") from None
    if not isinstance(parsed, dict):
        raise InvalidInput(_NOT_A_BATCH)
    unknown = set(parsed) - {"batch_id", "records"}
    if unknown:
        raise InvalidInput(f"unknown body fields {', '.join(sorted(unknown))}; {_NOT_A_BATCH}")
    batch_id, records = parsed.get("batch_id"), parsed.get("records")
    if not isinstance(batch_id, str) or not isinstance(records, list):
        raise InvalidInput(_NOT_A_BATCH)
    return batch_id, records


async def _receive(what: str, system: str, ref: str, request: Request, auth: Auth) -> JSONResponse:
    body = await request.body()
    batch_id, records = _parse(body)
    method = auth.ws.capture.ingest if what == "records" else auth.ws.capture.labels
    digest = hashlib.sha256(body).hexdigest()  # a retry sends the same bytes; cheaper than re-encoding the records
    try:
        answer = await run_in_threadpool(method, system, ref, records, batch_id, digest=digest)
    except RejectedRecords as exc:
        return JSONResponse(
            {"error": {"type": "invalid_input", "message": str(exc)}, "rejected": exc.rejected}, status_code=422
        )
    return JSONResponse(answer)


@router.post(
    "/systems/{system}/models/{ref}/capture",
    response_model=Accepted,
    response_model_exclude_none=True,
    openapi_extra=_body("records"),
    summary="Send a batch of inference records",
)
async def capture_records(system: str, ref: str, request: Request, auth: Auth) -> JSONResponse:
    """Store a batch of inference records of model version ``ref`` (MODEL@VERSION), all or nothing, once per
    batch id; answered when durable."""
    return await _receive("records", system, ref, request, auth)


@router.post(
    "/systems/{system}/models/{ref}/labels",
    response_model=Accepted,
    response_model_exclude_none=True,
    openapi_extra=_body("labels"),
    summary="Send a batch of ground-truth labels",
)
async def capture_labels(system: str, ref: str, request: Request, auth: Auth) -> JSONResponse:
    """Store a batch of ground-truth labels (``{inference id column, label column[, labelled_at]}``), joined to the
    captured records on the inference id; the latest label of an id wins."""
    return await _receive("labels", system, ref, request, auth)
