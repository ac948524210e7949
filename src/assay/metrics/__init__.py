"""Pure measurement: frames and specs in, frozen results out. No database, HTTP, HTML or files."""

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
