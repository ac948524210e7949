"""Assay: a self-hosted AI management system.

The public Python API::

    import assay
    report = assay.assess("data.csv", label="income", positive=[">50K"], facets={"sex": ["Female"]},
                          predicted="prediction", group="education")
    report.to_json(); report.to_analysis_json()

Names are imported on first use, so ``import assay.governance`` (or the CLI's ``--version``) does not load
the numeric stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from assay._version import __version__
from assay.errors import AssayError, InvalidInput

if TYPE_CHECKING:
    from assay.frames import Facet, Label
    from assay.frames import open as open_data
    from assay.services import BiasReport, Workspace, assess, write_outputs

__all__ = [
    "AssayError",
    "BiasReport",
    "Facet",
    "InvalidInput",
    "Label",
    "Workspace",
    "__version__",
    "assess",
    "open_data",
    "write_outputs",
]

_LAZY = {
    "BiasReport": ("assay.services", "BiasReport"),
    "Facet": ("assay.frames", "Facet"),
    "Label": ("assay.frames", "Label"),
    "assess": ("assay.services", "assess"),
    "open_data": ("assay.frames", "open"),
    "write_outputs": ("assay.services", "write_outputs"),
    "Workspace": ("assay.services", "Workspace"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'assay' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
