"""Use cases: what the CLI, the server and the Python API call. One service per job.

Names are imported on first use, so the governance commands do not load the numeric stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assay._lazy import attach

if TYPE_CHECKING:
    from assay.services.assessments import BiasReport, assess, write_outputs
    from assay.services.workspace import Workspace

__all__ = ["BiasReport", "Workspace", "assess", "write_outputs"]

__getattr__, __dir__ = attach(
    __name__,
    {
        "BiasReport": "assay.services.assessments",
        "assess": "assay.services.assessments",
        "write_outputs": "assay.services.assessments",
        "Workspace": "assay.services.workspace",
    },
)
