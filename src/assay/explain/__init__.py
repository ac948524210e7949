"""Explanations of a model's predictions: SHAP values (the explainer chosen to fit the model) aggregated
globally, per facet group and for chosen rows, and partial dependence of the top features.

Pure: a model (:mod:`assay.adapters`) and data in, a frozen :class:`Explanation` out; its ``to_dict()`` is the
``assay.explanations`` document that the reports render and the store keeps.
"""

from assay.explain._explain import DEFAULT_SAMPLE, explain_model
from assay.explain._shap import METHODS, ShapOutput, compute_shap
from assay.explain.pdp import PartialDependence, partial_dependence
from assay.explain.results import (
    SCHEMA,
    SCHEMA_VERSION,
    Contribution,
    Explanation,
    FeatureImportance,
    GroupImportance,
    LocalExplanation,
    Note,
)

__all__ = [
    "DEFAULT_SAMPLE",
    "METHODS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Contribution",
    "Explanation",
    "FeatureImportance",
    "GroupImportance",
    "LocalExplanation",
    "Note",
    "PartialDependence",
    "ShapOutput",
    "compute_shap",
    "explain_model",
    "partial_dependence",
]
