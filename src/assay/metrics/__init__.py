"""Pure measurement: frames and specs in, frozen results out. No database, HTTP, HTML or files.

Names are imported on first use, so that ``assay.metrics.options`` (the bias options, which the command line reads
for its help) loads without the numeric stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assay._lazy import attach

if TYPE_CHECKING:
    from assay.metrics.assess import assess_bias
    from assay.metrics.bias import ALL_METRICS, METRICS, POST_TRAINING, PRE_TRAINING
    from assay.metrics.results import BiasResult, FacetEntry, GroupPerformance, MetricResult
    from assay.metrics.spec import BiasSpec

__all__ = [
    "ALL_METRICS",
    "METRICS",
    "POST_TRAINING",
    "PRE_TRAINING",
    "BiasResult",
    "BiasSpec",
    "FacetEntry",
    "GroupPerformance",
    "MetricResult",
    "assess_bias",
]

__getattr__, __dir__ = attach(
    __name__,
    {
        "assess_bias": "assay.metrics.assess",
        "ALL_METRICS": "assay.metrics.bias",
        "METRICS": "assay.metrics.bias",
        "POST_TRAINING": "assay.metrics.bias",
        "PRE_TRAINING": "assay.metrics.bias",
        "BiasResult": "assay.metrics.results",
        "FacetEntry": "assay.metrics.results",
        "GroupPerformance": "assay.metrics.results",
        "MetricResult": "assay.metrics.results",
        "BiasSpec": "assay.metrics.spec",
    },
)
