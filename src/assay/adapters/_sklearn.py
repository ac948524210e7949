"""scikit-learn estimators and pipelines: in memory, from joblib/pickle files (opt-in), or from skops files."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay.adapters._base import Model, _first_line
from assay.errors import InvalidInput

__all__ = [
    "PICKLE_REFUSED",
    "PICKLE_TRUSTED",
    "SKOPS_TRUSTED",
    "SklearnModel",
    "load_pickle",
    "load_skops",
]

PICKLE_REFUSED = (
    "model file {path!r} is a pickle (joblib): loading it runs any code stored in it. Load it only if you "
    "trust where it came from, with trust=True (CLI: --trust-pickle), or save the model with skops "
    "(skops.io.dump(model, 'model.skops')), which Assay loads without running code"
)

#: Types Assay lets skops load without being told: the fitted-tree containers of scikit-learn and numpy's dtype.
#: skops leaves them out of its own default list; every other type skops does not trust must be named by the user.
SKOPS_TRUSTED: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
)


PICKLE_TRUSTED = (
    "warning: loaded pickle file {path!r}, which can run any code it holds, because you said you trust it "
    "(trust=True / --trust-pickle); prefer the skops format"
)

logger = logging.getLogger("assay.adapters")


class SklearnModel(Model):
    """A fitted scikit-learn estimator or pipeline (or any object with ``predict_proba``/``predict``)."""

    kind = "sklearn"

    def __init__(
        self,
        estimator: Any,
        *,
        source: str | None = None,
        feature_names: Sequence[str] | None = None,
        positive: Any = None,
        kind: str = "sklearn",
    ) -> None:
        name = source or type(estimator).__name__
        if not callable(getattr(estimator, "predict_proba", None)) and not callable(
            getattr(estimator, "predict", None)
        ):
            raise InvalidInput(
                f"{name!r} holds a {type(estimator).__module__}.{type(estimator).__name__}, not a model: "
                "it has neither predict_proba nor predict"
            )
        _check_fitted(estimator, name)
        fitted = getattr(estimator, "feature_names_in_", None)
        self._by_name = fitted is not None
        if fitted is not None:
            own = [str(f) for f in fitted]
            if feature_names is not None and list(feature_names) != own:
                raise InvalidInput(
                    f"model {name!r} was fit on the columns {', '.join(own)}; the feature names given "
                    f"({', '.join(feature_names)}) differ"
                )
            names: Sequence[str] | None = own
        else:
            count = getattr(estimator, "n_features_in_", None)
            if feature_names is not None and isinstance(count, int) and len(feature_names) != count:
                raise InvalidInput(
                    f"model {name!r} takes {count} features; {len(feature_names)} feature names were given"
                )
            names = feature_names
        classes = getattr(estimator, "classes_", None)
        proba = callable(getattr(estimator, "predict_proba", None))
        super().__init__(
            name,
            names,
            classes=None if classes is None else list(np.asarray(classes).tolist()),
            positive=positive,
            output="probability" if proba else "label",
        )
        self.kind = kind
        self.estimator = estimator

    def estimator_input(self, x: pd.DataFrame) -> Any:
        # a model fit on an array warns when given names: give it the array it knows
        return x if self._by_name else x.to_numpy()

    def _probabilities(self, x: pd.DataFrame) -> NDArray[Any]:
        if self.output != "probability":
            raise InvalidInput(
                f"model {self.source!r} ({type(self.estimator).__name__}) has no predict_proba: it gives labels, "
                "not probabilities"
            )
        return np.asarray(self.estimator.predict_proba(self.estimator_input(x)))

    def _labels(self, x: pd.DataFrame) -> NDArray[Any]:
        return np.asarray(self.estimator.predict(self.estimator_input(x)))


def _check_fitted(estimator: Any, name: str) -> None:
    try:
        from sklearn.base import BaseEstimator
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted
    except ImportError:  # pragma: no cover - scikit-learn is a core dependency
        return
    if not isinstance(estimator, BaseEstimator):
        return
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise InvalidInput(f"model {name!r} ({type(estimator).__name__}) is not fitted") from None
    except TypeError:  # not an estimator after all
        return


def load_pickle(
    path: Path, *, trust: bool, feature_names: Sequence[str] | None = None, positive: Any = None
) -> SklearnModel:
    """A joblib or pickle file; refused unless ``trust`` (loading a pickle runs the code it holds)."""
    if not trust:
        raise InvalidInput(PICKLE_REFUSED.format(path=str(path)))
    import joblib  # type: ignore[import-untyped]

    try:
        obj = joblib.load(path)
    except Exception as exc:  # unpickling raises whatever the stored objects raise; none of it is Assay's bug
        raise InvalidInput(f"cannot load {str(path)!r} as a joblib/pickle file: {_first_line(exc)}") from exc
    message = PICKLE_TRUSTED.format(path=str(path))
    logger.warning(message)  # shown on stderr unless the application configures logging
    model = SklearnModel(obj, source=str(path), feature_names=feature_names, positive=positive)
    model.notes.append("loaded from a pickle file the user trusted")
    return model


def load_skops(
    path: Path,
    *,
    trusted_types: Sequence[str] = (),
    feature_names: Sequence[str] | None = None,
    positive: Any = None,
) -> SklearnModel:
    """A skops file: no code runs; types skops does not trust must be in :data:`SKOPS_TRUSTED` or ``trusted_types``."""
    import skops.io as sio  # type: ignore[import-untyped]

    try:
        untrusted = [str(t) for t in sio.get_untrusted_types(file=path)]
    except Exception as exc:  # a corrupt or foreign file surfaces as zip, JSON or key errors
        raise InvalidInput(f"cannot read {str(path)!r} as a skops file: {_first_line(exc)}") from exc
    allowed = set(SKOPS_TRUSTED) | {str(t) for t in trusted_types}
    unknown = sorted(t for t in untrusted if t not in allowed)
    if unknown:
        raise InvalidInput(
            f"skops file {str(path)!r} holds types Assay does not trust: {', '.join(unknown)}. Check them, then "
            "list them with trusted_types=[...] (CLI: --trust-type TYPE, repeatable)"
        )
    try:
        obj = sio.load(path, trusted=untrusted)
    except Exception as exc:  # skops re-raises what the constructors raise
        raise InvalidInput(f"cannot load skops file {str(path)!r}: {_first_line(exc)}") from exc
    model = SklearnModel(obj, source=str(path), feature_names=feature_names, positive=positive, kind="skops")
    if untrusted:
        model.notes.append("skops types trusted: " + ", ".join(sorted(untrusted)))
    return model
