"""What the mitigators share: rows as pandas, facet groups, the base model's inputs and positive scores, weighted
fitting, the numbers a search needs, and fairlearn's import.

Groups are binary as in Clarify: facet *d* is the rows whose facet value is one of ``facet_values`` (or
``> facet_threshold``), facet *a* every other row (a missing facet value counts as *a*).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay.errors import InvalidInput

__all__ = [
    "MODULE",
    "as_frame",
    "base_inputs",
    "binary_labels",
    "check_estimator",
    "class_probabilities",
    "decide",
    "decode_labels",
    "encode_labels",
    "facet_d",
    "fit_weighted",
    "fitted_base",
    "group_rates",
    "input_names",
    "positive_scores",
    "quiet_fairlearn",
    "require_fairlearn",
    "resolve_features",
    "weight_parameter",
]

MODULE = "assay.mitigate"  # the stable module name saved in model files (skops, joblib) for Assay's estimators

Bools = NDArray[np.bool_]
Floats = NDArray[np.float64]


def as_frame(X: Any) -> pd.DataFrame:
    """``X`` as a pandas DataFrame (pandas as is; Polars, PyArrow and other narwhals-supported frames converted)."""
    if isinstance(X, pd.DataFrame):
        return X
    import narwhals as nw

    try:
        frame = nw.from_native(X, eager_only=True)
    except TypeError:
        raise InvalidInput(
            f"X must be a data frame with named columns (pandas, Polars, PyArrow), not {type(X).__name__}: "
            "the facet column is read from it by name"
        ) from None
    if isinstance(frame, nw.Series):
        raise InvalidInput("X is a single series; give a frame with named columns")
    converted: pd.DataFrame = frame.to_pandas()
    return converted


def facet_d(X: pd.DataFrame, facet: str, values: Sequence[Any] | None, threshold: float | None, *, where: str) -> Bools:
    """Rows of facet d: the facet value is one of ``values``, or ``> threshold``."""
    if facet not in X.columns:
        shown = ", ".join(str(c) for c in list(X.columns)[:30])
        raise InvalidInput(f"{where}: facet column {facet!r} is not in X; columns present: {shown}")
    if (values is None) == (threshold is None):
        raise InvalidInput(f"{where}: give facet_values or facet_threshold (one of them) to define facet d")
    column = X[facet]
    if threshold is not None:
        numeric = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return np.asarray(numeric > float(threshold), dtype=np.bool_)
    assert values is not None
    wanted = list(values) if isinstance(values, list | tuple | np.ndarray | pd.Index) else [values]
    return np.asarray(column.isin(wanted).to_numpy(dtype=np.bool_, na_value=False), dtype=np.bool_)


def binary_labels(y: Any, *, where: str) -> NDArray[np.int64]:
    """``y`` as 0/1 integers; the mitigators learn the binary question "is the label positive?"."""
    array = np.asarray(y)
    if array.ndim != 1:
        raise InvalidInput(f"{where}: y must be one-dimensional, not of shape {array.shape}")
    if array.dtype == np.bool_:
        return array.astype(np.int64)
    try:
        numeric = array.astype(np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{where}: y must hold 0/1 (1 = positive label), not values such as {array[:3]!r}") from None
    if np.isnan(numeric).any() or not np.isin(numeric, (0.0, 1.0)).all():
        shown = sorted({str(v) for v in np.unique(array[~np.isin(numeric, (0.0, 1.0))])})[:5]
        raise InvalidInput(f"{where}: y must hold 0/1 (1 = positive label); found {', '.join(shown)}")
    return numeric.astype(np.int64)


def _same(a: Any, b: Any) -> bool:
    """A class value and a user value are the same when equal, or equal as text (``"1"`` is the class 1)."""
    try:
        if bool(a == b):
            return True
    except (TypeError, ValueError):
        pass
    return str(a) == str(b)


def encode_labels(y: Any, pos_label: Any, *, where: str) -> tuple[NDArray[np.int64], NDArray[Any], int]:
    """``(y as 0/1, classes_, index of the positive class in classes_)``.

    Without ``pos_label`` y must be 0/1 (or boolean) and 1 is positive; with it, y holds two classes (as the
    estimator's own labels, e.g. ``"no"``/``"yes"``) and ``pos_label`` is the positive one. The mitigators predict
    these classes, so a mitigated model answers in the labels of the model it replaces."""
    array = np.asarray(y)
    if array.ndim != 1:
        raise InvalidInput(f"{where}: y must be one-dimensional, not of shape {array.shape}")
    if pos_label is None:
        encoded = binary_labels(array, where=where)
        classes = np.array([False, True]) if array.dtype == np.bool_ else np.array([0, 1])
        return encoded, classes, 1
    try:
        classes = np.unique(array)
    except TypeError:
        raise InvalidInput(f"{where}: y mixes values of different types") from None
    shown = ", ".join(str(c) for c in classes[:5])
    hits = [i for i, c in enumerate(classes) if _same(c, pos_label)]
    if not hits:
        raise InvalidInput(f"{where}: pos_label {pos_label!r} is not a value of y ({shown})")
    if len(classes) != 2:
        raise InvalidInput(f"{where}: y must hold two classes, {pos_label!r} and one other; it holds {shown}")
    index = hits[0]
    return np.asarray(array == classes[index], dtype=np.int64), classes, index


def decode_labels(encoded: NDArray[np.int64], classes: NDArray[Any], index: int) -> NDArray[Any]:
    """0/1 decisions as the classes they stand for."""
    return np.asarray(classes[np.where(encoded == 1, index, 1 - index)])


def class_probabilities(positive: NDArray[np.float64], index: int) -> NDArray[np.float64]:
    """The probability of the positive class as scikit-learn's ``predict_proba`` columns (in ``classes_`` order)."""
    columns = [1.0 - positive, positive] if index == 1 else [positive, 1.0 - positive]
    return np.column_stack(columns)


def decide(positive: NDArray[np.float64], randomize: bool, random_state: int | None) -> NDArray[np.int64]:
    """0/1 from the probability of the positive class: above 0.5, or drawn (``randomize``, seeded)."""
    if randomize:
        draws = np.random.default_rng(random_state).random(len(positive))
        return np.asarray(draws < positive, dtype=np.int64)
    return np.asarray(positive > 0.5, dtype=np.int64)


def check_estimator(estimator: Any, where: str) -> None:
    if estimator is None or not hasattr(estimator, "fit") or isinstance(estimator, type):
        raise InvalidInput(f"{where}: estimator must be a scikit-learn estimator instance, not {estimator!r}")


def resolve_features(estimator: Any, X: pd.DataFrame, features: Sequence[str] | None, facet: str) -> list[str]:
    """The columns the base estimator reads: ``features``, else the names it was fitted on, else every column of X
    except the facet."""
    if features is not None:
        chosen = [str(f) for f in features]
    elif getattr(estimator, "feature_names_in_", None) is not None:
        chosen = [str(f) for f in estimator.feature_names_in_]
    else:
        chosen = [str(c) for c in X.columns if c != facet]
    missing = [c for c in chosen if c not in X.columns]
    if missing:
        raise InvalidInput(f"feature column {missing[0]!r} is not in X")
    if not chosen:
        raise InvalidInput("no feature columns: X holds only the facet")
    return chosen


def input_names(columns: Sequence[str], facet: str | None = None) -> tuple[NDArray[np.object_], int]:
    """``feature_names_in_`` and ``n_features_in_`` of a mitigator: the columns it reads when predicting (the
    base model's features, and the facet when the rule differs by group)."""
    names = list(dict.fromkeys([*columns, *([facet] if facet is not None else [])]))
    return np.asarray(names, dtype=object), len(names)


def base_inputs(estimator: Any, X: pd.DataFrame, features: Sequence[str]) -> Any:
    """The rows as the base estimator expects them: a frame of its columns, or an array when it was fitted on one."""
    frame = X[list(features)]
    fitted_on_array = hasattr(estimator, "n_features_in_") and getattr(estimator, "feature_names_in_", None) is None
    return frame.to_numpy() if fitted_on_array else frame


def positive_scores(estimator: Any, inputs: Any, pos_label: Any) -> Floats:
    """Probability of the positive class from ``predict_proba`` (``pos_label``: the base estimator's positive class;
    ``None`` means its second class, 1 or True for a 0/1 model)."""
    if not hasattr(estimator, "predict_proba"):
        raise InvalidInput(f"{type(estimator).__name__} has no predict_proba: this method needs probabilities")
    classes = list(getattr(estimator, "classes_", [0, 1]))
    if len(classes) != 2:
        raise InvalidInput(f"the estimator must be a binary classifier; it has classes {classes}")
    if pos_label is None:
        column = 1
    else:
        matches = [i for i, c in enumerate(classes) if _same(c, pos_label)]
        if not matches:
            raise InvalidInput(f"pos_label {pos_label!r} is not one of the estimator's classes {classes}")
        column = matches[0]
    try:
        proba = np.asarray(estimator.predict_proba(inputs), dtype=np.float64)
    except (ValueError, KeyError) as exc:
        raise InvalidInput(f"the estimator cannot score the rows: {str(exc).splitlines()[0]}") from exc
    return np.asarray(proba[:, column], dtype=np.float64)


def weight_parameter(estimator: Any) -> str:
    """The fit keyword that takes sample weights: ``sample_weight``, or ``STEP__sample_weight`` in a Pipeline."""
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import has_fit_parameter

    prefix = ""
    final = estimator
    while isinstance(final, Pipeline):
        name, final = final.steps[-1]
        prefix += f"{name}__"
    if final is None or final == "passthrough" or not has_fit_parameter(final, "sample_weight"):
        raise InvalidInput(
            f"{type(final).__name__}.fit takes no sample_weight: reweighing and exponentiated gradient "
            "need an estimator that accepts sample weights"
        )
    return f"{prefix}sample_weight"


def fit_weighted(estimator: Any, inputs: Any, y: NDArray[Any], weights: Floats | None) -> Any:
    """A fresh clone of ``estimator`` fitted on ``inputs`` and ``y`` with ``weights`` (routed into a Pipeline)."""
    from sklearn.base import clone

    try:
        model = clone(estimator)
    except (TypeError, RuntimeError) as exc:
        raise InvalidInput(f"cannot clone {type(estimator).__name__} to retrain it: {exc}") from exc
    keywords = {} if weights is None else {weight_parameter(estimator): weights}
    try:
        model.fit(inputs, y, **keywords)
    except (ValueError, KeyError) as exc:
        raise InvalidInput(f"retraining {type(estimator).__name__} failed: {str(exc).splitlines()[0]}") from exc
    return model


def fitted_base(estimator: Any, frame: pd.DataFrame, features: list[str], y: NDArray[Any]) -> Any:
    """Post-processing's base model: the estimator itself when fitted, else a clone fitted on the rows."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return fit_weighted(estimator, frame[features], y, None)
    return estimator


def group_rates(y: NDArray[np.int64], predicted: NDArray[np.int64], d: Bools) -> dict[str, float]:
    """Accuracy, DPPL (q_a - q_d) and DI (q_d / q_a) of 0/1 predictions, as Clarify defines them."""
    q_d = float(predicted[d].mean()) if d.any() else float("nan")
    q_a = float(predicted[~d].mean()) if (~d).any() else float("nan")
    if q_a > 0:
        di = q_d / q_a
    elif q_a == 0:
        di = float("nan") if q_d == 0 else float("inf")
    else:
        di = float("nan")
    return {"accuracy": float((predicted == y).mean()), "DPPL": q_a - q_d, "DI": di, "q_d": q_d, "q_a": q_a}


def require_fairlearn(method: str) -> Any:
    try:
        import fairlearn  # type: ignore[import-untyped]
    except ImportError:
        raise InvalidInput(f"{method} needs fairlearn: pip install 'fairlearn>=0.11'") from None
    return fairlearn


@contextmanager
def quiet_fairlearn() -> Iterator[None]:
    """Hide pandas 4 deprecation warnings raised inside a fairlearn call (fairlearn 0.15 still sets Series cells by
    new keys and of another dtype, which pandas 3 deprecates); every other warning stays."""
    category = getattr(pd.errors, "Pandas4Warning", None)  # pandas >= 3
    with warnings.catch_warnings():
        if category is not None:
            warnings.filterwarnings("ignore", category=category)
        yield
