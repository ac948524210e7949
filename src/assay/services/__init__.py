"""Use cases: what the CLI, the server and the Python API call. One service per job.

Names are imported on first use, so the governance commands do not load the numeric stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assay.services.assessments import BiasReport, assess, write_outputs
    from assay.services.workspace import Workspace

__all__ = ["BiasReport", "Workspace", "assess", "write_outputs"]

_LAZY = {
    "BiasReport": "assay.services.assessments",
    "assess": "assay.services.assessments",
    "write_outputs": "assay.services.assessments",
    "Workspace": "assay.services.workspace",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'assay.services' has no attribute {name!r}")
