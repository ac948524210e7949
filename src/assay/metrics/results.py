"""Frozen result objects of a bias assessment, and their JSON document (``assay.assessment`` v1)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from assay.documents import SCHEMAS, Note, head
from assay.metrics.performance import ReliabilityBin, ScoreMetrics

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "BiasResult",
    "FacetEntry",
    "GroupPerformance",
    "MetricResult",
    "Note",
    "json_number",
]

SCHEMA = "assay.assessment"
SCHEMA_VERSION = SCHEMAS[SCHEMA]


def json_number(value: float | None) -> float | str | None:
    """A float as Clarify writes it: ±inf as ``"Infinity"``/``"-Infinity"``, NaN as null."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float(value)


def _interval(ci: tuple[float, float] | None) -> list[float | str | None] | None:
    return None if ci is None else [json_number(ci[0]), json_number(ci[1])]


@dataclass(frozen=True)
class MetricResult:
    """One metric for one facet entry: a value (maybe ±inf) with an interval, or an error with the reason."""

    name: str
    description: str
    stage: str
    value: float | None
    ci: tuple[float, float] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "stage": self.stage,
            "value": json_number(self.value),
            "ci": _interval(self.ci),
            "status": "ok" if self.error is None else "error",
            "error": self.error,
        }


@dataclass(frozen=True)
class FacetEntry:
    """Facet d (``value_or_threshold`` of ``facet``) against every other row."""

    facet: str
    columns: tuple[str, ...]
    value_or_threshold: str
    n_d: int
    n_a: int
    metrics: tuple[MetricResult, ...]
    # labelled rows of each side by label and, with a prediction, the confusion cells (read by the bias drift check)
    counts: Mapping[str, Mapping[str, int]] | None = None

    def metric(self, name: str) -> MetricResult:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "facet": self.facet,
            "columns": list(self.columns),
            "value_or_threshold": self.value_or_threshold,
            "n_d": self.n_d,
            "n_a": self.n_a,
            "metrics": [m.to_dict() for m in self.metrics],
            **({"counts": {k: dict(v) for k, v in self.counts.items()}} if self.counts is not None else {}),
        }


def _bin_dict(b: ReliabilityBin) -> dict[str, Any]:
    return {
        "lower": json_number(b.lower),
        "upper": json_number(b.upper),
        "count": b.count,
        "mean_score": json_number(b.mean_score),
        "observed_rate": json_number(b.observed_rate),
    }


@dataclass(frozen=True)
class GroupPerformance:
    """Performance of the rows of one facet value (or combination of values)."""

    facet: str
    columns: tuple[str, ...]
    value: str
    metrics: dict[str, float | None]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    score: ScoreMetrics | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "facet": self.facet,
            "columns": list(self.columns),
            "value": self.value,
            "metrics": {k: json_number(v) for k, v in self.metrics.items()},
            "ci": {k: _interval(v) for k, v in self.intervals.items()},
        }
        if self.score is not None:
            s = self.score
            out["score"] = {
                "roc_auc": json_number(s.roc_auc),
                "brier": json_number(s.brier),
                "ece": json_number(s.ece),
                "ece_equal_mass": json_number(s.ece_equal_mass),
                "reliability": [_bin_dict(b) for b in s.reliability],
                "reliability_equal_mass": [_bin_dict(b) for b in s.reliability_equal_mass],
                "notes": list(s.notes),
            }
        return out


@dataclass(frozen=True)
class BiasResult:
    """The whole result of a bias assessment; :meth:`to_dict` is the ``assessment.json`` document."""

    spec: dict[str, Any]
    data: dict[str, Any]
    rows: dict[str, int]
    label: str
    label_value_or_threshold: str
    entries: tuple[FacetEntry, ...]
    performance: tuple[GroupPerformance, ...]
    warnings: tuple[Note, ...]
    assay_version: str
    created_at: str

    def entry(self, facet: str, value_or_threshold: str) -> FacetEntry:
        for e in self.entries:
            if e.facet == facet and e.value_or_threshold == value_or_threshold:
                return e
        raise KeyError((facet, value_or_threshold))

    def to_dict(self) -> dict[str, Any]:
        return {
            **head(SCHEMA, created_at=self.created_at),
            "spec": self.spec,
            "data": self.data,
            "rows": self.rows,
            "label": self.label,
            "label_value_or_threshold": self.label_value_or_threshold,
            "facets": [e.to_dict() for e in self.entries],
            "performance": [p.to_dict() for p in self.performance],
            "warnings": [w.to_dict() for w in self.warnings],
        }
