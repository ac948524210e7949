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

from assay.mitigate._data import Prepared, model_classes, positives, prepare
from assay.mitigate._describe import describe, plain
from assay.mitigate._reductions import CONSTRAINTS, ExponentiatedGradientClassifier
from assay.mitigate._reject import DEFAULT_BOUNDS, RejectOptionClassifier, reject_option_decisions
from assay.mitigate._reweighing import Reweighing, ReweighingClassifier
from assay.mitigate._thresholds import ThresholdOptimizerClassifier

#: The type names of Assay's estimators in a skops file: give them to ``skops.io.load(path, trusted=...)`` (or
#: ``assay.adapters.load_model(path, trusted_types=...)``) after checking the file came from you.
SKOPS_TYPES: tuple[str, ...] = tuple(
    f"assay.mitigate.{cls.__name__}"
    for cls in (
        ExponentiatedGradientClassifier,
        RejectOptionClassifier,
        Reweighing,
        ReweighingClassifier,
        ThresholdOptimizerClassifier,
    )
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
