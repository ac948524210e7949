"""Bias mitigation as scikit-learn estimators, each one deployable as it is fitted. Pure: no files written, no
database (see ``docs/mitigation.md``).

==========================================  ===============  ================================================
estimator                                   stage            reads the facet when predicting
==========================================  ===============  ================================================
:class:`ReweighingClassifier`               pre-processing   no (retrained with Kamiran–Calders weights)
:class:`ExponentiatedGradientClassifier`    in-processing    no (mixture of retrained classifiers, fairlearn)
:class:`ThresholdOptimizerClassifier`       post-processing  yes (thresholds per group, fairlearn)
:class:`RejectOptionClassifier`             post-processing  yes (decisions flipped near the threshold)
==========================================  ===============  ================================================

Every estimator takes a frame X with named columns (the features and the facet column) and the labels y (0/1, or
two classes with ``pos_label``), predicts y's classes, and has ``fit``, ``predict`` and ``predict_proba``.
:class:`Reweighing` alone gives the weights. The fitted objects hold only scikit-learn estimators, numpy arrays and
plain values, so skops saves them; their type names in a file are ``assay.mitigate.<Class>`` (:data:`SKOPS_TYPES`).

:func:`prepare` reads and splits the rows for a mitigation, :func:`model_classes` finds a model's positive class,
:func:`describe` gives a fitted mitigator's parameters and what it learnt as JSON values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from assay._lazy import attach

if TYPE_CHECKING:
    from assay.mitigate._data import Prepared, model_classes, positives, prepare
    from assay.mitigate._describe import describe, plain
    from assay.mitigate._reductions import CONSTRAINTS, ExponentiatedGradientClassifier
    from assay.mitigate._reject import DEFAULT_BOUNDS, RejectOptionClassifier, reject_option_decisions
    from assay.mitigate._reweighing import Reweighing, ReweighingClassifier
    from assay.mitigate._thresholds import ThresholdOptimizerClassifier

#: The type names of Assay's estimators in a skops file: give them to ``skops.io.load(path, trusted=...)`` (or
#: ``assay.adapters.load_model(path, trusted_types=...)``) after checking the file came from you. Written out so that
#: reading them loads no estimator; tests/mitigate checks they name the classes.
SKOPS_TYPES: Final[tuple[str, ...]] = (
    "assay.mitigate.ExponentiatedGradientClassifier",
    "assay.mitigate.RejectOptionClassifier",
    "assay.mitigate.Reweighing",
    "assay.mitigate.ReweighingClassifier",
    "assay.mitigate.ThresholdOptimizerClassifier",
)

__all__ = [
    "CONSTRAINTS",
    "DEFAULT_BOUNDS",
    "SKOPS_TYPES",
    "ExponentiatedGradientClassifier",
    "Prepared",
    "RejectOptionClassifier",
    "Reweighing",
    "ReweighingClassifier",
    "ThresholdOptimizerClassifier",
    "describe",
    "model_classes",
    "plain",
    "positives",
    "prepare",
    "reject_option_decisions",
]

__getattr__, __dir__ = attach(
    __name__,
    {
        "Prepared": "assay.mitigate._data",
        "model_classes": "assay.mitigate._data",
        "positives": "assay.mitigate._data",
        "prepare": "assay.mitigate._data",
        "describe": "assay.mitigate._describe",
        "plain": "assay.mitigate._describe",
        "CONSTRAINTS": "assay.mitigate._reductions",
        "ExponentiatedGradientClassifier": "assay.mitigate._reductions",
        "DEFAULT_BOUNDS": "assay.mitigate._reject",
        "RejectOptionClassifier": "assay.mitigate._reject",
        "reject_option_decisions": "assay.mitigate._reject",
        "Reweighing": "assay.mitigate._reweighing",
        "ReweighingClassifier": "assay.mitigate._reweighing",
        "ThresholdOptimizerClassifier": "assay.mitigate._thresholds",
    },
)
