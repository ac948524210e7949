"""Frozen results of an explanation and their JSON document (``assay.explanations`` v1)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay.documents import SCHEMAS, Note, head
from assay.explain._data import json_value
from assay.explain.pdp import PartialDependence

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "Contribution",
    "Explanation",
    "FeatureImportance",
    "GroupImportance",
    "LocalExplanation",
    "Note",
]

SCHEMA = "assay.explanations"
SCHEMA_VERSION = SCHEMAS[SCHEMA]


def _num(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True)
class FeatureImportance:
    """Mean |SHAP| (the importance) and mean SHAP (the direction) of one feature over some rows."""

    feature: str
    mean_abs_shap: float
    mean_shap: float

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "mean_abs_shap": _num(self.mean_abs_shap), "mean_shap": _num(self.mean_shap)}


@dataclass(frozen=True)
class GroupImportance:
    """Importance of every feature within one group of a facet (e.g. ``sex = Female``)."""

    facet: str
    value: str
    rows: int
    mean_probability: float
    mean_output: float
    features: tuple[FeatureImportance, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "facet": self.facet,
            "value": self.value,
            "rows": self.rows,
            "mean_probability": _num(self.mean_probability),
            "mean_output": _num(self.mean_output),
            "features": [f.to_dict() for f in self.features],
        }


@dataclass(frozen=True)
class Contribution:
    feature: str
    value: Any
    shap: float

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "value": json_value(self.value), "shap": _num(self.shap)}


@dataclass(frozen=True)
class LocalExplanation:
    """One row: its probability, its output on the SHAP scale, and each feature's contribution (largest first)."""

    row: int
    probability: float
    output: float
    contributions: tuple[Contribution, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "probability": _num(self.probability),
            "output": _num(self.output),
            "contributions": [c.to_dict() for c in self.contributions],
        }


@dataclass(frozen=True)
class Explanation:
    """SHAP explanations of a model on some data: global, per facet group, for chosen rows; partial dependence.

    ``shap_values`` (rows x features, on ``method["output_scale"]``) and ``sample`` (the explained rows'
    features) are kept for further analysis; the document holds the aggregates and a bounded set of points.
    """

    model: dict[str, Any]
    data: dict[str, Any]
    label: dict[str, Any] | None
    method: dict[str, Any]
    expected_value: float
    importance: tuple[FeatureImportance, ...]
    groups: tuple[GroupImportance, ...]
    local: tuple[LocalExplanation, ...]
    points: dict[str, Any]
    partial_dependence: tuple[PartialDependence, ...]
    warnings: tuple[Note, ...]
    assay_version: str
    created_at: str
    shap_values: NDArray[np.float64] = field(repr=False, compare=False)
    sample: pd.DataFrame = field(repr=False, compare=False)

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.sample.columns)

    @property
    def explainer(self) -> str:
        return str(self.method["explainer"])

    @property
    def output_scale(self) -> str:
        return str(self.method["output_scale"])

    def importance_of(self, feature: str) -> FeatureImportance:
        for item in self.importance:
            if item.feature == feature:
                return item
        raise KeyError(feature)

    def to_dict(self) -> dict[str, Any]:
        return {
            **head(SCHEMA, created_at=self.created_at),
            "data": self.data,
            "label": self.label,
            "model": self.model,
            "method": self.method,
            "expected_value": _num(self.expected_value),
            "features": [f.to_dict() for f in self.importance],
            "groups": [g.to_dict() for g in self.groups],
            "local": [r.to_dict() for r in self.local],
            "points": self.points,
            "partial_dependence": [p.to_dict() for p in self.partial_dependence],
            "warnings": [w.to_dict() for w in self.warnings],
        }
