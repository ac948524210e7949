"""Uploads: the multipart file of a request, parsed only after authentication, and ``POST /api/artifacts``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from assay.errors import InvalidInput
from assay.server import schemas as out
from assay.server.deps import Auth

__all__ = ["router", "uploaded_file"]

router = APIRouter(prefix="/api")

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@asynccontextmanager
async def uploaded_file(request: Request, field: str = "file") -> AsyncIterator[UploadFile]:
    """The file of a multipart upload, parsed only now: after authentication (the route's dependencies), so an
    unauthenticated request is refused before any byte of its body is read or spooled. The body's size is capped
    before that by the application's body limit (ASSAY_MAX_UPLOAD_MB). The form's files are closed on exit."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise InvalidInput(f"send the file as multipart/form-data with the field {field!r}")
    form = await request.form(max_files=1, max_fields=20)
    try:
        file = form.get(field)
        if not isinstance(file, UploadFile):
            raise InvalidInput(f"the upload has no file in the field {field!r}")
        yield file
    finally:
        await form.close()


@router.post("/artifacts", status_code=201, tags=["artifacts"], openapi_extra=_UPLOAD_BODY)
async def upload_artifact(request: Request, auth: Auth) -> out.Artifact:
    """Store an uploaded file (multipart field ``file``) by its SHA-256 (the name the client sends is kept as a
    label, never as a path)."""
    async with uploaded_file(request) as file:
        stored = await run_in_threadpool(auth.ws.artifacts.put_stream, file.file)  # hashing: off the event loop
        return out.Artifact(sha256=stored.sha256, size=stored.size, name=(file.filename or "")[:300])
