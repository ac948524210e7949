"""Partial dependence: the mean probability of the positive class as one feature moves over a grid.

Computed by scikit-learn's :func:`sklearn.inspection.partial_dependence` (``method="brute"``) for every kind of
model: the model is wrapped in a small scikit-learn classifier whose ``predict_proba`` is the adapter's.
Numeric features use a grid of ``grid_resolution`` points between the 5th and 95th percentiles (or their
distinct values when fewer); other features use their distinct values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay.adapters import Model
from assay.errors import InvalidInput
from assay.explain._data import is_numeric_column, json_value, restore

__all__ = ["PartialDependence", "partial_dependence"]


@dataclass(frozen=True)
class PartialDependence:
    """Partial dependence of the positive-class probability on one feature."""

    feature: str
    kind: str  # "numerical" or "categorical"
    grid: tuple[Any, ...]
    average: tuple[float, ...]
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "grid": [json_value(v) for v in self.grid],
            "average": [float(a) for a in self.average],
            "rows": self.rows,
        }


def _wrapper(model: Model, dtypes: dict[str, Any]) -> Any:
    from sklearn.base import BaseEstimator, ClassifierMixin

    class _Adapter(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
        """The adapter as a fitted binary classifier: class 1 is the positive class."""

        classes_ = np.array([0, 1])

        def fit(self, x: Any, y: Any = None) -> _Adapter:
            return self

        def __sklearn_is_fitted__(self) -> bool:
            return True

        def predict_proba(self, x: pd.DataFrame) -> NDArray[np.float64]:
            frame = x.copy()
            for c, dtype in dtypes.items():  # integer columns were made floats for the grid
                if frame[c].dtype != dtype:
                    frame[c] = restore(frame[c].to_numpy(dtype=np.float64), dtype)
            p = model.predict_proba(frame)
            return np.column_stack([1.0 - p, p])

    return _Adapter()


def partial_dependence(
    model: Model,
    x: pd.DataFrame,
    features: Sequence[str],
    *,
    grid_resolution: int = 15,
) -> tuple[PartialDependence, ...]:
    """Partial dependence on each of ``features`` over the rows of ``x`` (the model's features)."""
    from sklearn.inspection import partial_dependence as sk_partial_dependence

    if grid_resolution < 2:
        raise InvalidInput(f"grid resolution {grid_resolution} must be at least 2")
    if model.output == "label":
        raise InvalidInput(f"model {model.source!r} gives labels, not probabilities: no partial dependence")
    frame = x.copy()
    dtypes = {}
    for c in frame.columns:  # scikit-learn refuses integer columns (a grid between integers would be rounded)
        if pd.api.types.is_integer_dtype(frame[c].dtype):
            dtypes[c] = frame[c].dtype
            frame[c] = frame[c].astype(np.float64)
    categorical = [str(c) for c in frame.columns if not is_numeric_column(frame[c])]
    for c in categorical:
        frame[c] = frame[c].astype(object)
    estimator = _wrapper(model, dtypes)
    out = []
    for feature in features:
        if feature not in frame.columns:
            raise InvalidInput(f"partial dependence: {feature!r} is not a feature of the model")
        column = frame[feature]
        if column.isna().all():
            continue
        # scikit-learn builds the grid from the rows themselves and cannot put a missing value on it
        frame_f = frame.loc[column.notna()] if column.isna().any() else frame
        result = sk_partial_dependence(
            estimator,
            frame_f,
            [feature],
            categorical_features=[c for c in categorical if c == feature] or None,
            grid_resolution=grid_resolution,
            percentiles=(0.05, 0.95),
            kind="average",
            method="brute",
            response_method="predict_proba",
        )
        grid = np.asarray(result["grid_values"][0])
        average = np.asarray(result["average"], dtype=np.float64).reshape(-1)
        if feature in dtypes and np.all(grid == np.rint(grid.astype(np.float64))):
            grid = grid.astype(np.int64)
        out.append(
            PartialDependence(
                feature=feature,
                kind="categorical" if feature in categorical else "numerical",
                grid=tuple(grid.tolist()),
                average=tuple(float(a) for a in average),
                rows=len(frame_f),
            )
        )
    return tuple(out)
