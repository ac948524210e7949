"""Explanations of a model's predictions: SHAP values (the explainer chosen to fit the model) aggregated
globally, per facet group and for chosen rows, and partial dependence of the top features.

Pure: a model (:mod:`assay.adapters`) and data in, a frozen :class:`Explanation` out; its ``to_dict()`` is the
``assay.explanations`` document that the reports render and the store keeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assay._lazy import attach

if TYPE_CHECKING:
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

__getattr__, __dir__ = attach(
    __name__,
    {
        "DEFAULT_SAMPLE": "assay.explain._explain",
        "explain_model": "assay.explain._explain",
        "METHODS": "assay.explain._shap",
        "ShapOutput": "assay.explain._shap",
        "compute_shap": "assay.explain._shap",
        "PartialDependence": "assay.explain.pdp",
        "partial_dependence": "assay.explain.pdp",
        "SCHEMA": "assay.explain.results",
        "SCHEMA_VERSION": "assay.explain.results",
        "Contribution": "assay.explain.results",
        "Explanation": "assay.explain.results",
        "FeatureImportance": "assay.explain.results",
        "GroupImportance": "assay.explain.results",
        "LocalExplanation": "assay.explain.results",
        "Note": "assay.explain.results",
    },
)
