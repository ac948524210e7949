"""In-processing: the exponentiated-gradient reduction (Agarwal et al. 2018), by fairlearn.

fairlearn's ``ExponentiatedGradient`` trains a sequence of weighted classifiers and returns a randomised mixture of
them that satisfies the constraint up to ``eps``. This estimator keeps only what predicting needs (the classifiers
with a positive weight and their weights, as plain lists and arrays), so the fitted model is saved by skops and
predicts without fairlearn.
"""

from __future__ import annotations

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
    check_estimator,
    class_probabilities,
    decide,
    decode_labels,
    encode_labels,
    facet_d,
    input_names,
    quiet_fairlearn,
    require_fairlearn,
    resolve_features,
    weight_parameter,
)

__all__ = ["CONSTRAINTS", "ExponentiatedGradientClassifier"]

Floats = NDArray[np.float64]
Constraint = Literal["demographic_parity", "equalized_odds"]
CONSTRAINTS: tuple[str, ...] = ("demographic_parity", "equalized_odds")


def _moment(constraint: str, bound: float) -> Any:
    from fairlearn.reductions import DemographicParity, EqualizedOdds  # type: ignore[import-untyped]

    if constraint == "demographic_parity":
        return DemographicParity(difference_bound=bound)
    if constraint == "equalized_odds":
        return EqualizedOdds(difference_bound=bound)
    raise InvalidInput(f"constraint {constraint!r} is not one of {', '.join(CONSTRAINTS)}")


class ExponentiatedGradientClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A randomised mixture of classifiers trained under a fairness constraint between facet d and the rest.

    Parameters
    ----------
    estimator : scikit-learn classifier
        Cloned and refitted many times with sample weights (its ``fit`` must take ``sample_weight``).
    facet, facet_values, facet_threshold
        The facet column of X, and the values (or ``value > threshold``) of facet d.
    features : sequence of str, optional
        Columns the estimator reads (default: the names it was fitted on, else every column but the facet).
    pos_label : optional
        The positive value of y; None: y is 0/1 (or boolean) and 1 is positive. The model predicts y's classes.
    constraint : "demographic_parity" or "equalized_odds"
    difference_bound : float
        The constraint: the largest difference allowed between the groups' selection rates (demographic parity) or
        true- and false-positive rates (equalized odds), on the training rows.
    eps : float
        fairlearn's ``eps``: it sets the L1 bound ``1 / eps`` of the Lagrange multipliers (the solution violates the
        constraint by at most ``2 (eps + best_gap_)``).
    max_iter, nu, eta0
        fairlearn's options.
    randomize : bool
        True (default): draw from the mixture as fairlearn's ``predict`` does: the constraint is met by the
        randomised classifier, in expectation. Each row's draw is keyed by a hash of its feature values and
        ``random_state``, so the same row gets the same answer every time, in any batch. False: predict 1 when the
        mixture's probability of 1 is above 0.5; this mostly follows the majority classifier, which the constraint
        does not bind (on held-out adult rows it kept most of the original disparity).
    random_state : int, optional
        Seed of the draws when ``randomize`` is True (None: 0).

    Attributes
    ----------
    estimators_ : list of fitted classifiers with a positive weight
    weights_ : ndarray, their weights (sum 1)
    best_gap_ : float, fairlearn's duality gap of the solution
    features_ : list of str
    feature_names_in_ : ndarray, the columns :meth:`predict` reads (``features_``)
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
        constraint: Constraint = "demographic_parity",
        difference_bound: float = 0.01,
        eps: float = 0.01,
        max_iter: int = 50,
        nu: float | None = None,
        eta0: float = 2.0,
        randomize: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.facet = facet
        self.facet_values = facet_values
        self.facet_threshold = facet_threshold
        self.features = features
        self.pos_label = pos_label
        self.constraint = constraint
        self.difference_bound = difference_bound
        self.eps = eps
        self.max_iter = max_iter
        self.nu = nu
        self.eta0 = eta0
        self.randomize = randomize
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> Self:
        where = "ExponentiatedGradientClassifier"
        require_fairlearn("exponentiated gradient")
        from fairlearn.reductions import ExponentiatedGradient

        check_estimator(self.estimator, where)
        if not (isinstance(self.eps, int | float) and self.eps > 0):
            raise InvalidInput(f"{where}: eps must be a positive number, not {self.eps!r}")
        bound = self.difference_bound
        if not (isinstance(bound, int | float) and 0 < bound <= 1):
            raise InvalidInput(f"{where}: difference_bound must lie in (0, 1], not {bound!r}")
        frame = as_frame(X)
        labels, self.classes_, self.positive_index_ = encode_labels(y, self.pos_label, where=where)
        if len(labels) != len(frame):
            raise InvalidInput(f"{where}: X has {len(frame)} rows, y {len(labels)}")
        d = facet_d(frame, self.facet, self.facet_values, self.facet_threshold, where=where)
        if d.all() or not d.any():
            raise InvalidInput(f"{where}: facet d must hold some rows but not all of them")
        self.features_ = resolve_features(self.estimator, frame, self.features, self.facet)
        reduction = ExponentiatedGradient(
            self.estimator,
            _moment(self.constraint, float(bound)),
            eps=float(self.eps),
            max_iter=self.max_iter,
            nu=self.nu,
            eta0=self.eta0,
            sample_weight_name=weight_parameter(self.estimator),
        )
        with quiet_fairlearn():
            try:
                reduction.fit(frame[self.features_], labels, sensitive_features=np.where(d, "d", "a"))
            except (ValueError, KeyError) as exc:
                raise InvalidInput(f"{where}: fitting failed: {str(exc).splitlines()[0]}") from exc
        weights = np.asarray(reduction.weights_, dtype=np.float64)
        keep = np.flatnonzero(weights > 0)
        self.estimators_ = [reduction.predictors_.iloc[i] for i in keep]
        self.weights_ = weights[keep] / weights[keep].sum()
        self.best_gap_ = float(reduction.best_gap_)
        self.feature_names_in_, self.n_features_in_ = input_names(self.features_)
        return self

    def _positive(self, X: Any) -> Floats:
        check_is_fitted(self)
        inputs = as_frame(X)[self.features_]
        positive = np.zeros(len(inputs))
        for weight, model in zip(self.weights_, self.estimators_, strict=True):
            positive += weight * np.asarray(model.predict(inputs), dtype=np.float64)
        return np.clip(positive, 0.0, 1.0)

    def predict_proba(self, X: Any) -> Floats:
        """Probabilities of ``classes_`` under the mixture (positive: the weight of its classifiers that say so)."""
        return class_probabilities(self._positive(X), self.positive_index_)

    def predict(self, X: Any) -> NDArray[Any]:
        positive = self._positive(X)
        if self.randomize:
            decisions = np.asarray(row_draws(as_frame(X)[self.features_], self.random_state) < positive, dtype=np.int64)
        else:
            decisions = decide(positive, False, None)
        return decode_labels(decisions, self.classes_, self.positive_index_)


def row_draws(rows: Any, random_state: int | None) -> Floats:
    """A number in [0, 1) for each row from a keyed hash of its values (pandas' SipHash, keyed by the seed): the
    same row draws the same number whatever the batch, different rows draw independently."""
    import pandas as pd

    key = f"{(random_state or 0) % 10**16:016d}"
    hashed = pd.util.hash_pandas_object(rows, index=False, hash_key=key).to_numpy(dtype=np.uint64)
    return np.asarray((hashed >> np.uint64(11)).astype(np.float64) / float(2**53), dtype=np.float64)
