"""Pre-processing: reweighing (Kamiran and Calders 2012).

Each row of group g with label y gets the weight ``w(g, y) = P(g) P(y) / P(g, y)``: the ratio of the count the cell
would have if group and label were independent to the count it has. Weighted, every group has the same base rate.
This is aif360's ``Reweighing`` (``n_g n_y / (n n_gy)``, counts weighted by any initial sample weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from assay.errors import InvalidInput
from assay.mitigate._common import (
    MODULE,
    as_frame,
    check_estimator,
    facet_d,
    fit_weighted,
    input_names,
    resolve_features,
)

__all__ = ["Reweighing", "ReweighingClassifier"]

Floats = NDArray[np.float64]


class Reweighing(BaseEstimator):  # type: ignore[misc]
    """Kamiran–Calders weights per (group, label) cell.

    Parameters
    ----------
    facet : str
        The column of X holding the sensitive attribute.
    facet_values : sequence, optional
        Values of facet d; the groups are then d and every other row (a). Without ``facet_values`` and
        ``facet_threshold`` every distinct value of the column is a group of its own (missing values too).
    facet_threshold : float, optional
        Facet d is the rows with ``value > facet_threshold``.

    Attributes
    ----------
    groups_ : ndarray
        The groups (``"a"``, ``"d"`` for a binary facet, else the column's values).
    classes_ : ndarray
        The label values.
    weights_ : ndarray of shape (n_groups, n_classes)
        ``w(g, y)``; NaN for a cell without rows.
    """

    __module__ = MODULE

    def __init__(
        self, facet: str, facet_values: Sequence[Any] | None = None, facet_threshold: float | None = None
    ) -> None:
        self.facet = facet
        self.facet_values = facet_values
        self.facet_threshold = facet_threshold

    def _groups(self, X: pd.DataFrame) -> NDArray[Any]:
        if self.facet_values is None and self.facet_threshold is None:
            if self.facet not in X.columns:
                raise InvalidInput(f"Reweighing: facet column {self.facet!r} is not in X")
            return np.asarray(X[self.facet].to_numpy(dtype=object))
        d = facet_d(X, self.facet, self.facet_values, self.facet_threshold, where="Reweighing")
        return np.where(d, "d", "a").astype(object)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Self:
        """Learn ``weights_`` from the groups of X (its facet column) and the labels y."""
        frame = as_frame(X)
        groups = self._groups(frame)
        labels = np.asarray(y)
        if labels.ndim != 1 or len(labels) != len(frame):
            raise InvalidInput(f"Reweighing: y must be one-dimensional with {len(frame)} values")
        if len(frame) == 0:
            raise InvalidInput("Reweighing: X has no rows")
        base = _initial(sample_weight, len(frame))
        group_index = pd.Index(pd.unique(pd.Series(groups, dtype=object)))
        class_index = pd.Index(np.unique(labels))
        g = group_index.get_indexer(pd.Index(groups))
        c = class_index.get_indexer(pd.Index(labels))
        cells = np.zeros((len(group_index), len(class_index)))
        np.add.at(cells, (g, c), base)
        total = cells.sum()
        if total <= 0:
            raise InvalidInput("Reweighing: the sample weights sum to zero")
        expected = np.outer(cells.sum(axis=1), cells.sum(axis=0)) / total
        with np.errstate(divide="ignore", invalid="ignore"):
            weights = np.where(cells > 0, expected / np.where(cells > 0, cells, 1.0), np.nan)
        self.groups_ = group_index.to_numpy()
        self.classes_ = class_index.to_numpy()
        self.weights_ = weights
        return self

    def compute_sample_weight(self, X: Any, y: Any, sample_weight: Any = None) -> Floats:
        """The weight of each row: ``w(group, label)`` times its initial ``sample_weight`` (default 1)."""
        check_is_fitted(self)
        frame = as_frame(X)
        groups = self._groups(frame)
        labels = np.asarray(y)
        if labels.ndim != 1 or len(labels) != len(frame):
            raise InvalidInput(f"Reweighing: y must be one-dimensional with {len(frame)} values")
        g = pd.Index(self.groups_).get_indexer(pd.Index(groups))
        c = pd.Index(self.classes_).get_indexer(pd.Index(labels))
        shown_groups, shown_labels = pd.Series(groups).tolist(), labels.tolist()
        if (g < 0).any():
            raise InvalidInput(f"Reweighing: group {shown_groups[int(np.argmax(g < 0))]!r} was not seen in fit")
        if (c < 0).any():
            raise InvalidInput(f"Reweighing: label {shown_labels[int(np.argmax(c < 0))]!r} was not seen in fit")
        weights = self.weights_[g, c]
        if np.isnan(weights).any():
            i = int(np.argmax(np.isnan(weights)))
            raise InvalidInput(f"Reweighing: no row of group {shown_groups[i]!r} had label {shown_labels[i]!r} in fit")
        return np.asarray(weights * _initial(sample_weight, len(frame)), dtype=np.float64)


def _initial(sample_weight: Any, n: int) -> Floats:
    if sample_weight is None:
        return np.ones(n)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n,) or not np.isfinite(weights).all() or (weights < 0).any():
        raise InvalidInput(f"sample_weight must hold {n} finite non-negative numbers")
    return weights


class ReweighingClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A classifier retrained with Kamiran–Calders weights (for the labels y as given: any classes); it predicts
    from the features alone.

    Parameters
    ----------
    estimator : scikit-learn classifier
        Cloned and fitted with the weights (a Pipeline gets them at its last step). Its ``fit`` must take
        ``sample_weight``.
    facet, facet_values, facet_threshold
        As for :class:`Reweighing`.
    features : sequence of str, optional
        Columns of X the estimator reads (default: the names ``estimator`` was fitted on, else every column
        except the facet).

    Attributes
    ----------
    estimator_ : the retrained classifier
    reweighing_ : the fitted :class:`Reweighing`
    features_ : list of str
    feature_names_in_ : ndarray, the columns :meth:`predict` reads (``features_``)
    classes_ : ndarray, the label values (the retrained classifier's classes)
    """

    __module__ = MODULE

    def __init__(
        self,
        estimator: Any,
        facet: str,
        facet_values: Sequence[Any] | None = None,
        facet_threshold: float | None = None,
        features: Sequence[str] | None = None,
    ) -> None:
        self.estimator = estimator
        self.facet = facet
        self.facet_values = facet_values
        self.facet_threshold = facet_threshold
        self.features = features

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Self:
        check_estimator(self.estimator, "ReweighingClassifier")
        frame = as_frame(X)
        labels = np.asarray(y)
        if labels.ndim != 1 or len(labels) != len(frame):
            raise InvalidInput(f"ReweighingClassifier: X has {len(frame)} rows, y {len(labels)}")
        reweighing = Reweighing(self.facet, self.facet_values, self.facet_threshold).fit(frame, labels, sample_weight)
        weights = reweighing.compute_sample_weight(frame, labels, sample_weight)
        self.features_ = resolve_features(self.estimator, frame, self.features, self.facet)
        self.estimator_ = fit_weighted(self.estimator, frame[self.features_], labels, weights)
        self.reweighing_ = reweighing
        self.classes_ = np.asarray(self.estimator_.classes_)
        self.feature_names_in_, self.n_features_in_ = input_names(self.features_)
        return self

    def predict_proba(self, X: Any) -> Floats:
        check_is_fitted(self)
        return np.asarray(self.estimator_.predict_proba(as_frame(X)[self.features_]), dtype=np.float64)

    def predict(self, X: Any) -> NDArray[Any]:
        check_is_fitted(self)
        return np.asarray(self.estimator_.predict(as_frame(X)[self.features_]))
