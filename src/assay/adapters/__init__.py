"""Model adapters: one interface (:class:`Model`) over scikit-learn estimators and pipelines (in memory, skops
files, or joblib/pickle files when trusted), ONNX models, Python callables and HTTP endpoints.

``load_model(source, ...)`` loads or wraps a model; ``model.predict_proba(data)`` gives the probability of
the positive class for each row, ``model.predict(data)`` the labels. Only the model's own feature columns
(``model.feature_names``) are passed to it.

Loading a pickle runs the code it holds: :func:`load_model` refuses joblib/pickle files unless ``trust=True``
and then logs a warning (logger ``assay.adapters``, shown on stderr by default). skops files load without
running code; types skops does not trust must be listed (``trusted_types``).
"""

from assay.adapters._base import Model, Output
from assay.adapters._callable import CallableModel, import_callable
from assay.adapters._http import RETRY_STATUSES, HttpModel
from assay.adapters._load import KINDS, file_kind, load_model
from assay.adapters._onnx import OnnxModel
from assay.adapters._sklearn import PICKLE_REFUSED, PICKLE_TRUSTED, SKOPS_TRUSTED, SklearnModel

__all__ = [
    "KINDS",
    "PICKLE_REFUSED",
    "PICKLE_TRUSTED",
    "RETRY_STATUSES",
    "SKOPS_TRUSTED",
    "CallableModel",
    "HttpModel",
    "Model",
    "OnnxModel",
    "Output",
    "SklearnModel",
    "file_kind",
    "import_callable",
    "load_model",
]
