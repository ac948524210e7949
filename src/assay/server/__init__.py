"""The web application and REST API over the services (FastAPI): ``create_app(workspace)``."""

from __future__ import annotations

from assay.server.app import create_app

__all__ = ["create_app"]
