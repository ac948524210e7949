"""The management system judged for the organisation, over HTTP: ``GET /api/aims/readiness`` (the
``assay.aims-readiness`` document) and ``GET /api/aims/pack`` (the certification pack as a zip file, for admins and
auditors: it holds the whole ledger export). Thin routes over :mod:`assay.services.aims`."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from assay.server.deps import Auth

__all__ = ["router"]

router = APIRouter(prefix="/api/aims", tags=["management system"])

_AsOf = Annotated[dt.date | None, Query(description="Judge on this day (default today).")]


class ClauseGap(BaseModel):
    detail: str = Field(description="What is missing or late.")
    fix: str = Field(description="The command (or action) that closes it.")


class ClauseVerdict(BaseModel):
    id: str = Field(description="The clause, e.g. 9.2.1.")
    title: str
    asks: str = Field(description="What Assay checks for it.")
    ready: bool
    gaps: list[ClauseGap]
    evidence: list[str] = Field(description="The records that are its evidence, as TABLE:ID (ledger object ids).")


class AimsReadiness(BaseModel):
    """The ``assay.aims-readiness`` document (docs/management-system.md)."""

    model_config = ConfigDict(populate_by_name=True)
    schema_: str = Field(alias="schema")
    schema_version: int
    framework: str
    counted: str
    as_of: str
    generated_at: str
    generated_by: str
    clauses: int
    ready: int
    share: float | None
    ready_clauses: list[str]
    entries: list[ClauseVerdict]


@router.get(
    "/readiness",
    response_model=AimsReadiness,
    response_model_by_alias=True,
    summary="Clauses 4-10 judged for the organisation",
)
def readiness(auth: Auth, as_of: _AsOf = None) -> dict[str, Any]:
    """Each clause ready or not, its gaps (with the command that closes each) and its evidence (``TABLE:ID``)."""
    return auth.ws.aims.readiness(as_of=as_of)


@router.get(
    "/pack",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "The pack's folder, zipped."}},
    summary="The certification pack (zip)",
)
async def pack(auth: Auth, as_of: _AsOf = None) -> FileResponse:
    """The pack ``assay aims pack`` writes (report, records with their ledger events, files, ledger export,
    manifest), zipped; check it offline with ``assay aims verify-pack``."""
    folder = Path(tempfile.mkdtemp(prefix="assay-pack-"))

    def build() -> Path:
        auth.ws.aims.pack.write(folder / "pack", as_of=as_of)
        return Path(shutil.make_archive(str(folder / "aims-pack"), "zip", folder, "pack"))

    try:
        archive = await run_in_threadpool(build)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=f"aims-pack-{dt.date.today().isoformat()}.zip",
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
