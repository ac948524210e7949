"""Assay: a self-hosted AI management system.

The public Python API::

    import assay
    report = assay.assess("data.csv", label="income", positive=[">50K"], facets={"sex": ["Female"]},
                          predicted="prediction", group="education")
    report.to_json(); report.to_analysis_json()
"""

from assay._version import __version__
from assay.errors import AssayError, InvalidInput
from assay.frames import Facet, Label
from assay.frames import open as open_data
from assay.services import AssessmentReport, assess, write_outputs

__all__ = [
    "AssayError",
    "AssessmentReport",
    "Facet",
    "InvalidInput",
    "Label",
    "__version__",
    "assess",
    "open_data",
    "write_outputs",
]
