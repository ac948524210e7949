"""The one interface every model adapter gives: probabilities of the positive class, labels, feature names."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay.errors import InvalidInput

__all__ = ["Model", "Output"]

Output = Literal["auto", "probability", "label"]
_OUTPUTS = ("auto", "probability", "label")
_TOLERANCE = 1e-6  # probabilities a float32 model rounds just outside [0, 1] are still probabilities


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _show(value: Any) -> str:
    """A value as the user wrote it: numpy scalars without their ``np.float64(...)`` wrapping."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _same(a: Any, b: Any) -> bool:
    """A class value and a user value are the same when equal, or equal as text (``"1"`` is the class 1,
    ``"true"`` or ``"1"`` the class True)."""
    if isinstance(a, bool | np.bool_) and isinstance(b, str):
        return b.strip().lower() in (("1", "true", "t", "yes", "y") if a else ("0", "false", "f", "no", "n"))
    try:
        if a == b:
            return True
    except (TypeError, ValueError):
        pass
    return str(a) == str(b)


class Model(ABC):
    """A model Assay can call: ``predict_proba(data)`` gives the probability of the positive class (1-D).

    ``data`` is a pandas frame, an :class:`assay.frames.Frame`, anything :func:`assay.frames.open` accepts,
    or a 2-D array whose columns are ``feature_names`` in order. Only the model's feature columns are passed
    to it, in the model's order (:meth:`features`).

    Attributes: ``kind`` (``sklearn``, ``skops``, ``onnx``, ``callable``, ``http``), ``source`` (the file,
    URL or object it came from), ``feature_names``, ``classes`` (when the model names them), ``positive``
    (the positive class or classes; default the last of two classes), ``output`` (``probability`` or
    ``label``; ``auto`` until the first call of a callable or endpoint tells), ``estimator`` (the
    scikit-learn object, when there is one).
    """

    kind: str = "model"

    def __init__(
        self,
        source: str,
        feature_names: Sequence[str] | None,
        *,
        classes: Sequence[Any] | None = None,
        positive: Any = None,
        output: Output = "auto",
    ) -> None:
        if output not in _OUTPUTS:
            raise InvalidInput(f"output {output!r} must be one of {', '.join(_OUTPUTS)}")
        self.source = source
        self._feature_names = None if feature_names is None else self._check_names(source, feature_names)
        self.classes: tuple[Any, ...] | None = None if classes is None else tuple(classes)
        self.positive: tuple[Any, ...] | None = None
        self.output: Output = output
        self.estimator: Any = None
        self.notes: list[str] = []
        if positive is not None:
            self.positive = tuple(positive) if isinstance(positive, list | tuple) else (positive,)
            self._match_positive()  # a positive class the model does not have fails now, not at the first call

    # -- what the model needs ---------------------------------------------------------------------------------

    @property
    def feature_names(self) -> tuple[str, ...]:
        if self._feature_names is None:
            raise InvalidInput(
                f"model {self.source!r} ({self.kind}) does not name its features; give them with "
                "feature_names=[...] (CLI: --features A,B,...)"
            )
        return self._feature_names

    @property
    def has_feature_names(self) -> bool:
        return self._feature_names is not None

    def with_positive(self, positive: Sequence[Any] | None) -> Model:
        """A copy whose positive class is ``positive`` (the label's positive values), when the model has classes
        and no positive class was chosen yet; otherwise the model itself."""
        if positive is None or self.positive is not None or self.classes is None:
            return self
        clone = copy.copy(self)
        clone.positive = tuple(positive)
        clone._match_positive()
        return clone

    def with_features(self, names: Sequence[str] | None) -> Model:
        """A copy that sends the columns ``names`` (in that order), when the model does not name its features (an
        endpoint or a callable loaded without them); otherwise the model itself."""
        if names is None or self._feature_names is not None:
            return self
        clone = copy.copy(self)
        clone._feature_names = type(self)._check_names(self.source, names)
        return clone

    @staticmethod
    def _check_names(source: str, feature_names: Sequence[str]) -> tuple[str, ...]:
        names = tuple(str(f) for f in feature_names)
        if not names:
            raise InvalidInput(f"model {source!r}: the list of feature names is empty")
        duplicated = sorted({f for f in names if names.count(f) > 1})
        if duplicated:
            raise InvalidInput(f"model {source!r}: feature names repeat: {', '.join(duplicated)}")
        return names

    def _match_positive(self) -> None:
        """Check the positive classes and keep them as the model's own values (``"1"`` typed -> the class 1)."""
        index = self.positive_columns()
        if self.classes is not None and index is not None:
            self.positive = tuple(self.classes[i] for i in index)

    def features(self, data: Any) -> pd.DataFrame:
        """The model's feature columns of ``data`` as a pandas frame, in the model's order."""
        names = list(self.feature_names)
        if isinstance(data, np.ndarray):
            if data.ndim != 2 or data.shape[1] != len(names):
                raise InvalidInput(
                    f"an array of shape {data.shape} does not fit model {self.source!r}: it needs "
                    f"{len(names)} columns ({', '.join(names)})"
                )
            return pd.DataFrame(data, columns=names)
        if not isinstance(data, pd.DataFrame):
            from assay.frames import open as open_frame

            frame = open_frame(data)
            self._require(list(frame.columns), names)
            collected = frame.lazy.select(names).collect().to_pandas()
            return collected.reset_index(drop=True)
        self._require([str(c) for c in data.columns], names)
        return data.loc[:, names].reset_index(drop=True)

    def _require(self, present: list[str], names: list[str]) -> None:
        missing = [n for n in names if n not in present]
        if missing:
            shown = ", ".join(present[:40]) + (" ..." if len(present) > 40 else "")
            raise InvalidInput(
                f"model feature {missing[0]!r} is not in the data"
                + (f" (nor {len(missing) - 1} more: {', '.join(missing[1:6])})" if len(missing) > 1 else "")
                + f"; model {self.source!r} needs the columns {', '.join(names)}; columns present: {shown}"
            )

    # -- calling it ---------------------------------------------------------------------------------------------

    def predict_proba(self, data: Any) -> NDArray[np.float64]:
        """Probability of the positive class for each row of ``data`` (a 1-D float array)."""
        x = self.features(data)
        if len(x) == 0:
            return np.zeros(0, dtype=np.float64)
        raw = self._guard(self._probabilities, x)
        return self._positive_probability(raw, len(x))

    def predict(self, data: Any) -> NDArray[Any]:
        """Predicted labels: the model's own labels when it gives them, else 1 where the probability > 0.5."""
        x = self.features(data)
        if len(x) == 0:
            return np.zeros(0, dtype=np.int64)
        labels = np.asarray(self._guard(self._labels, x))
        if labels.ndim != 1 or len(labels) != len(x):
            raise InvalidInput(f"model {self.source!r} returned {labels.shape} labels for {len(x)} rows")
        return labels

    def answer(self, data: Any) -> tuple[Literal["probability", "label"], NDArray[Any]]:
        """What the model answers for each row of ``data``, in one call: the probability of the positive class when
        it gives probabilities, else its labels (``("probability", p)`` or ``("label", labels)``)."""
        if self.output == "label":
            return "label", self.predict(data)
        return "probability", self.predict_proba(data)

    def describe(self) -> dict[str, Any]:
        """What a result document says about the model."""
        return {
            "kind": self.kind,
            "source": self.source,
            "estimator": None if self.estimator is None else type(self.estimator).__name__,
            "feature_names": None if self._feature_names is None else list(self._feature_names),
            "classes": None if self.classes is None else [_plain(c) for c in self.classes],
            "positive": None if self.positive is None else [_plain(c) for c in self.positive],
            "output": self.output,
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} {self.source!r} output={self.output}>"

    # -- what each adapter supplies -----------------------------------------------------------------------------

    @abstractmethod
    def _probabilities(self, x: pd.DataFrame) -> NDArray[Any]:
        """Class probabilities (n, k), or the positive-class probability (n,)."""

    def _labels(self, x: pd.DataFrame) -> NDArray[Any]:
        p = self.predict_proba(x)
        return (p > 0.5).astype(np.int64)

    # -- helpers ------------------------------------------------------------------------------------------------

    def _guard(self, call: Any, x: pd.DataFrame) -> NDArray[Any]:
        try:
            return np.asarray(call(x))
        except InvalidInput:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise InvalidInput(f"model {self.source!r} ({self.kind}) failed on the data: {_first_line(exc)}") from exc

    def positive_columns(self) -> tuple[int, ...] | None:
        """Column indices of the positive classes in a class-probability matrix (``None``: the last column)."""
        if self.classes is None:
            if self.positive is None:
                return None
            out = []
            for v in self.positive:
                if isinstance(v, int | np.integer) and not isinstance(v, bool) and int(v) >= 0:
                    out.append(int(v))
                else:
                    raise InvalidInput(
                        f"model {self.source!r} does not name its classes: give the positive class as a column "
                        f"index of its probabilities (0, 1, ...), not {v!r}"
                    )
            return tuple(out)
        if self.positive is None:
            if len(self.classes) == 2:
                return (1,)
            shown = ", ".join(str(c) for c in self.classes)
            raise InvalidInput(
                f"model {self.source!r} has {len(self.classes)} classes ({shown}): say which is positive "
                "(positive=... or the label's positive values, e.g. --label COL=VALUE)"
            )
        out = []
        for v in self.positive:
            hits = [i for i, c in enumerate(self.classes) if _same(c, v)]
            if not hits:
                shown = ", ".join(str(c) for c in self.classes)
                raise InvalidInput(
                    f"positive class {v!r} is not a class of model {self.source!r}; its classes: {shown}"
                )
            out.append(hits[0])
        return tuple(sorted(set(out)))

    def _positive_probability(self, raw: NDArray[Any], n: int) -> NDArray[np.float64]:
        try:
            values = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            sample = np.asarray(raw).ravel()[:1]
            raise InvalidInput(
                f"model {self.source!r} returned {_show(sample[0])}, not a probability; if it returns labels, "
                "load it with output='label'"
            ) from None
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim == 2:
            index = self.positive_columns()
            if index is None:
                index = (values.shape[1] - 1,)
            if max(index) >= values.shape[1]:
                raise InvalidInput(
                    f"model {self.source!r} returned {values.shape[1]} probabilities per row; "
                    f"positive column {max(index)} does not exist"
                )
            values = values[:, list(index)].sum(axis=1)
        if values.ndim != 1 or len(values) != n:
            raise InvalidInput(f"model {self.source!r} returned output of shape {values.shape} for {n} rows")
        bad = ~np.isfinite(values) | (values < -_TOLERANCE) | (values > 1 + _TOLERANCE)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidInput(
                f"model {self.source!r} returned {_show(values[i])} for row {i}: not a probability in [0, 1]; "
                "if it returns labels or raw scores, load it with output='label'"
            )
        return np.clip(values, 0.0, 1.0)


def _plain(value: Any) -> Any:
    """A class value as JSON: numpy scalars become Python numbers."""
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)
