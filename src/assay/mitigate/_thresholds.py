"""Post-processing: group-specific thresholds on the model's score (Hardt et al. 2016), by fairlearn.

fairlearn's ``ThresholdOptimizer`` finds, for each group, a randomised mixture of two thresholds on the score that
maximises accuracy under the constraint. This estimator runs it on the base model's probability of the positive
class and keeps the rule as a small array (per group: probability of ignoring the score and the constant then
predicted, and the two weighted threshold operations), so the fitted model is saved by skops and predicts without
fairlearn. It reads the facet column at prediction time: the thresholds differ by group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
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
    decide,
    decode_labels,
    encode_labels,
    facet_d,
    fitted_base,
    input_names,
    positive_scores,
    quiet_fairlearn,
    require_fairlearn,
    resolve_features,
)

__all__ = ["ThresholdOptimizerClassifier"]

Floats = NDArray[np.float64]
_GROUPS = ("a", "d")
_OBJECTIVES = ("accuracy_score", "balanced_accuracy_score")


class _Score(BaseEstimator):  # type: ignore[misc]
    """The score column itself, as a fitted estimator for fairlearn (never saved)."""

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def fit(self, X: Any, y: Any = None) -> _Score:
        return self

    def predict(self, X: Any) -> Floats:
        return np.asarray(X, dtype=np.float64)[:, 0]


def _rule(interpolation: Any) -> list[float]:
    """[p_ignore, constant, p0, sign0, t0, p1, sign1, t1]; sign +1 is ``score > t``, -1 is ``score < t``."""
    out = [float(interpolation.get("p_ignore", 0.0)), float(interpolation.get("prediction_constant", 0.0))]
    for p, operation in ((interpolation.p0, interpolation.operation0), (interpolation.p1, interpolation.operation1)):
        out += [float(p), 1.0 if operation.operator == ">" else -1.0, float(operation.threshold)]
    return out


def _apply(rule: Floats, scores: Floats) -> Floats:
    p_ignore, constant, p0, s0, t0, p1, s1, t1 = (float(v) for v in rule)
    op0 = scores > t0 if s0 > 0 else scores < t0
    op1 = scores > t1 if s1 > 0 else scores < t1
    mixed = p0 * op0 + p1 * op1
    return np.asarray(p_ignore * constant + (1.0 - p_ignore) * mixed, dtype=np.float64)


class ThresholdOptimizerClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Thresholds per group (facet d and the rest) on a fitted classifier's probability of the positive class.

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
    constraint : "demographic_parity" or "equalized_odds"
    objective : "accuracy_score" or "balanced_accuracy_score"
    tolerance : float, optional
        Demographic parity only: allow this difference of selection rates between the groups (fairlearn's ``tol``);
        None or 0 asks for equal rates.
    grid_size : int
        Points of fairlearn's search grid.
    randomize, random_state
        As for :class:`ExponentiatedGradientClassifier`: deterministic by default (1 when the rule's probability
        of 1 is above 0.5).

    Attributes
    ----------
    estimator_ : the base classifier
    groups_ : ndarray ``["a", "d"]``
    rules_ : ndarray of shape (2, 8), the rule of each group (see ``_rule``)
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
        constraint: Literal["demographic_parity", "equalized_odds"] = "demographic_parity",
        objective: Literal["accuracy_score", "balanced_accuracy_score"] = "accuracy_score",
        tolerance: float | None = None,
        grid_size: int = 1000,
        randomize: bool = False,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.facet = facet
        self.facet_values = facet_values
        self.facet_threshold = facet_threshold
        self.features = features
        self.pos_label = pos_label
        self.constraint = constraint
        self.objective = objective
        self.tolerance = tolerance
        self.grid_size = grid_size
        self.randomize = randomize
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> Self:
        where = "ThresholdOptimizerClassifier"
        require_fairlearn("threshold optimisation")
        from fairlearn.postprocessing import ThresholdOptimizer  # type: ignore[import-untyped]

        if self.constraint not in ("demographic_parity", "equalized_odds"):
            raise InvalidInput(f"{where}: constraint {self.constraint!r} is not demographic_parity or equalized_odds")
        if self.objective not in _OBJECTIVES:
            raise InvalidInput(f"{where}: objective {self.objective!r} is not one of {', '.join(_OBJECTIVES)}")
        tolerance = self.tolerance or None
        if tolerance is not None:
            if self.constraint != "demographic_parity":
                raise InvalidInput(f"{where}: a tolerance applies to demographic_parity only")
            if not 0 < tolerance <= 1:
                raise InvalidInput(f"{where}: tolerance must lie in (0, 1], not {tolerance!r}")
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
        optimiser = ThresholdOptimizer(
            estimator=_Score(),
            constraints=self.constraint,
            objective=self.objective,
            grid_size=self.grid_size,
            prefit=True,
            predict_method="predict",
            tol=tolerance,
        )
        with quiet_fairlearn():
            try:
                optimiser.fit(pd.DataFrame({"score": scores}), labels, sensitive_features=np.where(d, "d", "a"))
            except (ValueError, KeyError) as exc:
                raise InvalidInput(f"{where}: fitting failed: {str(exc).splitlines()[0]}") from exc
        interpolation = optimiser.interpolated_thresholder_.interpolation_dict
        self.groups_ = np.array(_GROUPS)
        self.rules_ = np.array([_rule(interpolation[g]) for g in _GROUPS], dtype=np.float64)
        self.feature_names_in_, self.n_features_in_ = input_names(self.features_, self.facet)
        return self

    def _positive(self, X: Any) -> Floats:
        check_is_fitted(self)
        frame = as_frame(X)
        d = facet_d(frame, self.facet, self.facet_values, self.facet_threshold, where=type(self).__name__)
        scores = positive_scores(self.estimator_, base_inputs(self.estimator_, frame, self.features_), self.pos_label)
        return np.asarray(np.where(d, _apply(self.rules_[1], scores), _apply(self.rules_[0], scores)), dtype=np.float64)

    def predict_proba(self, X: Any) -> Floats:
        """Probabilities of ``classes_`` under the group's rule."""
        return class_probabilities(self._positive(X), self.positive_index_)

    def predict(self, X: Any) -> NDArray[Any]:
        decisions = decide(self._positive(X), self.randomize, self.random_state)
        return decode_labels(decisions, self.classes_, self.positive_index_)
