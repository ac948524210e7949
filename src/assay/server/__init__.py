"""The web application and REST API over the services (FastAPI): ``create_app(workspace)``.

``create_app`` is imported on first use, so that the guarding proxy (``assay.server.proxy``, served on its own by
``assay guard proxy``) does not load the application, its services and the database layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assay._lazy import attach

if TYPE_CHECKING:
    from assay.server.app import create_app

__all__ = ["create_app"]

__getattr__, __dir__ = attach("assay.server", {"create_app": "assay.server.app"})
