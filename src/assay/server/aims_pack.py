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
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from assay.server.deps import Auth

__all__ = ["router"]

router = APIRouter(prefix="/api/aims", tags=["management system"])

_AsOf = Annotated[dt.date | None, Query(description="Judge on this day (default today).")]


@router.get("/readiness", summary="Clauses 4-10 judged for the organisation")
def readiness(auth: Auth, as_of: _AsOf = None) -> dict[str, Any]:
    """Each clause ready or not, its gaps (with the command that closes each) and its evidence (``TABLE:ID``)."""
    return auth.ws.aims.readiness(as_of=as_of)


@router.get("/pack", response_class=FileResponse, summary="The certification pack (zip)")
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
