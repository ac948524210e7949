"""Assay: a self-hosted AI management system.

The public Python API::

    import assay
    report = assay.assess("data.csv", label="income", positive=[">50K"], facets={"sex": ["Female"]},
                          predicted="prediction", group="education")
    report.to_json(); report.to_analysis_json()

    capture = assay.capture("credit", "scorer@3", url=URL, token=TOKEN)   # inference records, in the background
    capture.record({"inference_id": "r-1", "age": 41, "prediction": 1})

    review = assay.review("credit", "scorer@3", url=URL, token=TOKEN)     # "does this need a person?"
    decision = review.route("r-1", {"age": 41}, {"prediction": 1, "score": 0.52})   # decision.review, .manual

Names are imported on first use, so ``import assay.governance`` (or the CLI's ``--version``) does not load
the numeric stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assay._lazy import attach
from assay._version import __version__
from assay.errors import AssayError, InvalidInput

if TYPE_CHECKING:
    from assay.client import capture, review
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
    "capture",
    "open_data",
    "review",
    "write_outputs",
]

__getattr__, __dir__ = attach(
    __name__,
    {
        "BiasReport": "assay.services",
        "Facet": "assay.frames",
        "Label": "assay.frames",
        "assess": "assay.services",
        "capture": "assay.client",
        "open_data": "assay.frames:open",
        "review": "assay.client",
        "write_outputs": "assay.services",
        "Workspace": "assay.services",
    },
)
