"""Post-processing: reject-option classification (Kamiran, Karim and Zhang 2012).

Rows whose probability of the positive class lies in the critical region ``|p - threshold| <= margin`` are the ones
the model is least sure of. There the favoured group (the one with the lower rate of positive predictions, or
the group named) gets the positive label and the other group the negative label; outside it the model's decision
``p > threshold`` stands. The margin is given, or chosen on the data passed to :meth:`fit` (validation data, not
the model's training data): the most accurate margin whose DPPL or DI lies within bounds, else the margin that
comes closest to them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, Self

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from assay.errors import InvalidInput
from assay.mitigate._common import (
    MODULE,
    as_frame,
    base_inputs,
    check_estimator,
    class_probabilities,
    decode_labels,
    encode_labels,
    facet_d,
    fitted_base,
    group_rates,
    input_names,
    positive_scores,
    resolve_features,
)

__all__ = ["DEFAULT_BOUNDS", "RejectOptionClassifier", "reject_option_decisions"]

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]
DEFAULT_BOUNDS: dict[str, tuple[float, float]] = {"DPPL": (-0.05, 0.05), "DI": (0.8, 1.25)}


def reject_option_decisions(scores: Floats, favoured: Bools, threshold: float, margin: float) -> NDArray[np.int64]:
    """0/1 decisions: ``scores > threshold``, except in ``|scores - threshold| <= margin``, where the favoured rows
    get 1 and the others 0."""
    decisions = scores > threshold
    critical = np.abs(scores - threshold) <= margin
    decisions = np.where(critical, favoured, decisions)
    return np.asarray(decisions, dtype=np.int64)


def _violation(value: float, bounds: tuple[float, float]) -> float:
    if math.isnan(value):
        return math.inf
    low, high = bounds
    return max(low - value, value - high, 0.0)


class RejectOptionClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Reject-option classification around a fitted classifier's probability of the positive class.

    Parameters
    ----------
    estimator : scikit-learn classifier with ``predict_proba``
        Used as is when fitted; otherwise a clone is fitted on the data given to :meth:`fit` first.
    facet, facet_values, facet_threshold
        The facet column of X, and the values (or ``value > threshold``) of facet d.
    features : sequence of str, optional
        Columns the estimator reads (default: the names it was fitted on, else every column but the facet).
    pos_label : optional
        The positive value of y, and the estimator's class for it; None: y is 0/1 (or boolean) and 1 is positive.
        The model predicts y's classes.
    threshold : float
        The decision threshold: ``p > threshold`` is positive outside the critical region.
    margin : float, optional
        Half-width of the critical region; None (default) searches it on the data given to :meth:`fit`.
    metric : "DPPL" or "DI"
        What the search keeps within ``bounds``.
    bounds : (low, high), optional
        Default: DPPL within (-0.05, 0.05), DI within (0.8, 1.25).
    n_margins : int
        Margins tried, evenly spaced from 0 to ``max(threshold, 1 - threshold)``.
    favour : "auto", "d" or "a"
        The group given the positive label in the critical region; "auto" is the group with the lower rate of
        positive predictions on the fit data.

    Attributes
    ----------
    estimator_ : the base classifier
    margin_ : float, the margin used
    favoured_ : "d" or "a"
    search_ : dict of lists (margin, accuracy, DPPL, DI, within) on the fit data, or None for a given margin
    features_ : list of str
    feature_names_in_ : ndarray, the columns :meth:`predict` reads (``features_`` and the facet)
    classes_ : ndarray, the two values of y
    positive_index_ : int, the position of the positive class in ``classes_``
    """

    __module__ = MODULE

    def __init__(
        self,
        estimator: Any,
        facet: str,
        facet_values: Sequence[Any] | None = None,
        facet_threshold: float | None = None,
        features: Sequence[str] | None = None,
        pos_label: Any = None,
        threshold: float = 0.5,
        margin: float | None = None,
        metric: Literal["DPPL", "DI"] = "DPPL",
        bounds: tuple[float, float] | None = None,
        n_margins: int = 51,
        favour: Literal["auto", "d", "a"] = "auto",
    ) -> None:
        self.estimator = estimator
        self.facet = facet
        self.facet_values = facet_values
        self.facet_threshold = facet_threshold
        self.features = features
        self.pos_label = pos_label
        self.threshold = threshold
        self.margin = margin
        self.metric = metric
        self.bounds = bounds
        self.n_margins = n_margins
        self.favour = favour

    def _check(self) -> tuple[float, tuple[float, float]]:
        where = type(self).__name__
        if not (isinstance(self.threshold, int | float) and 0 < self.threshold < 1):
            raise InvalidInput(f"{where}: threshold must lie strictly between 0 and 1, not {self.threshold!r}")
        widest = max(float(self.threshold), 1.0 - float(self.threshold))
        if self.margin is not None and not (isinstance(self.margin, int | float) and 0 <= self.margin <= widest):
            raise InvalidInput(f"{where}: margin must lie in [0, {widest:g}], not {self.margin!r}")
        if self.metric not in DEFAULT_BOUNDS:
            raise InvalidInput(f"{where}: metric must be DPPL or DI, not {self.metric!r}")
        bounds = DEFAULT_BOUNDS[self.metric] if self.bounds is None else tuple(self.bounds)
        if len(bounds) != 2 or not bounds[0] < bounds[1]:
            raise InvalidInput(f"{where}: bounds must be (low, high) with low < high, not {self.bounds!r}")
        if self.favour not in ("auto", "d", "a"):
            raise InvalidInput(f"{where}: favour must be 'auto', 'd' or 'a', not {self.favour!r}")
        if not (isinstance(self.n_margins, int) and self.n_margins >= 2):
            raise InvalidInput(f"{where}: n_margins must be an integer >= 2, not {self.n_margins!r}")
        return widest, (float(bounds[0]), float(bounds[1]))

    def fit(self, X: Any, y: Any) -> Self:
        where = type(self).__name__
        widest, bounds = self._check()
        check_estimator(self.estimator, where)
        frame = as_frame(X)
        labels, self.classes_, self.positive_index_ = encode_labels(y, self.pos_label, where=where)
        if len(labels) != len(frame):
            raise InvalidInput(f"{where}: X has {len(frame)} rows, y {len(labels)}")
        d = facet_d(frame, self.facet, self.facet_values, self.facet_threshold, where=where)
        if d.all() or not d.any():
            raise InvalidInput(f"{where}: facet d must hold some rows but not all of them")
        self.features_ = resolve_features(self.estimator, frame, self.features, self.facet)
        self.estimator_ = fitted_base(self.estimator, frame, self.features_, np.asarray(y))
        scores = positive_scores(self.estimator_, base_inputs(self.estimator_, frame, self.features_), self.pos_label)
        threshold = float(self.threshold)
        if self.favour == "auto":
            before = group_rates(labels, (scores > threshold).astype(np.int64), d)
            self.favoured_ = "d" if before["q_d"] <= before["q_a"] else "a"
        else:
            self.favoured_ = self.favour
        favoured = d if self.favoured_ == "d" else ~d
        if self.margin is not None:
            self.margin_ = float(self.margin)
            self.search_: dict[str, list[Any]] | None = None
        else:
            self.margin_, self.search_ = _search(scores, labels, d, favoured, threshold, widest, bounds, self)
        self.feature_names_in_, self.n_features_in_ = input_names(self.features_, self.facet)
        return self

    def predict_proba(self, X: Any) -> Floats:
        """The decisions as probabilities (0 or 1): reject-option classification changes decisions, not scores."""
        positive = self.predict_margins(X, [self.margin_])[1][0].astype(np.float64)
        return class_probabilities(positive, self.positive_index_)

    def predict(self, X: Any) -> NDArray[Any]:
        return decode_labels(self.predict_margins(X, [self.margin_])[1][0], self.classes_, self.positive_index_)

    def predict_margins(self, X: Any, margins: Sequence[float] | None = None) -> tuple[Floats, NDArray[np.int64]]:
        """The 0/1 decisions (1 = positive) for each margin from one scoring of X: ``(margins, decisions)`` with one
        row of decisions per margin (default margins: the grid the search tries)."""
        check_is_fitted(self)
        widest, _bounds = self._check()
        grid = np.linspace(0.0, widest, self.n_margins) if margins is None else np.asarray(margins, dtype=np.float64)
        frame = as_frame(X)
        d = facet_d(frame, self.facet, self.facet_values, self.facet_threshold, where=type(self).__name__)
        scores = positive_scores(self.estimator_, base_inputs(self.estimator_, frame, self.features_), self.pos_label)
        favoured = d if self.favoured_ == "d" else ~d
        rows = [reject_option_decisions(scores, favoured, float(self.threshold), float(m)) for m in grid]
        return grid, np.asarray(rows, dtype=np.int64).reshape(len(grid), len(frame))


def _search(
    scores: Floats,
    labels: NDArray[np.int64],
    d: Bools,
    favoured: Bools,
    threshold: float,
    widest: float,
    bounds: tuple[float, float],
    owner: RejectOptionClassifier,
) -> tuple[float, dict[str, list[Any]]]:
    """The most accurate margin within bounds, else the one with the smallest violation (then the most accurate)."""
    table: dict[str, list[Any]] = {"margin": [], "accuracy": [], "DPPL": [], "DI": [], "within": []}
    best: tuple[float, float, float] | None = None  # (violation, -accuracy, margin)
    for margin in np.linspace(0.0, widest, owner.n_margins):
        rates = group_rates(labels, reject_option_decisions(scores, favoured, threshold, float(margin)), d)
        violation = _violation(rates[owner.metric], bounds)
        table["margin"].append(round(float(margin), 10))
        table["accuracy"].append(rates["accuracy"])
        table["DPPL"].append(rates["DPPL"])
        table["DI"].append(rates["DI"] if math.isfinite(rates["DI"]) else None)
        table["within"].append(violation == 0.0)
        key = (violation, -rates["accuracy"], float(margin))
        if best is None or key < best:
            best = key
    assert best is not None
    return best[2], table
