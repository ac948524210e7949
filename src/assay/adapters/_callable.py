"""Any Python callable as a model: it takes a pandas frame of the features and returns probabilities or labels."""

from __future__ import annotations

import importlib
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay.adapters._base import Model, Output, _first_line, _show
from assay.errors import InvalidInput

__all__ = ["CallableModel", "import_callable"]


class _RawModel(Model):
    """A model whose output type (probabilities or labels) may be learnt from its first answer."""

    @abstractmethod
    def _raw(self, x: pd.DataFrame) -> NDArray[Any]:
        """What the model returns for the rows of ``x``, as an array."""

    def _decide(self, raw: NDArray[Any]) -> None:
        if self.output != "auto":
            return
        if (raw.ndim == 2 and raw.shape[1] > 1) or raw.dtype.kind == "f":
            self.output = "probability"
        else:
            self.output = "label"
        self.notes.append(f"output taken as {self.output}s from the first answer ({raw.dtype.kind} values)")

    def _probabilities(self, x: pd.DataFrame) -> NDArray[Any]:
        raw = self._raw(x)
        self._decide(raw)
        if self.output == "label":
            sample = raw.ravel()[:1]
            raise InvalidInput(
                f"model {self.source!r} ({self.kind}) returns labels (e.g. {_show(sample[0])}), not probabilities; "
                "explanations and scores need the probability of the positive class"
            )
        return raw

    def answer(self, data: Any) -> tuple[Literal["probability", "label"], NDArray[Any]]:
        """One call of the model (its first call decides its output type): probabilities or labels."""
        x = self.features(data)
        if len(x) == 0:
            return ("label" if self.output == "label" else "probability"), np.zeros(0, dtype=np.float64)
        raw = self._guard(self._raw, x)
        self._decide(raw)
        if self.output == "label":
            labels = raw.ravel() if raw.ndim == 2 and raw.shape[1] == 1 else raw
            if labels.ndim != 1 or len(labels) != len(x):
                raise InvalidInput(f"model {self.source!r} returned {labels.shape} labels for {len(x)} rows")
            return "label", labels
        return "probability", self._positive_probability(raw, len(x))

    def _labels(self, x: pd.DataFrame) -> NDArray[Any]:
        raw = self._raw(x)
        self._decide(raw)
        if self.output == "label":
            return raw.ravel() if raw.ndim == 2 and raw.shape[1] == 1 else raw
        return (self._positive_probability(raw, len(x)) > 0.5).astype(np.int64)


class CallableModel(_RawModel):
    """``function(frame) -> array``: ``frame`` is a pandas frame of ``feature_names`` (in that order); the
    result is one probability of the positive class per row, an ``(n, k)`` array of class probabilities, or
    one label per row. ``output="auto"`` decides from the first answer: floats or several columns are
    probabilities, anything else labels."""

    kind = "callable"

    def __init__(
        self,
        function: Callable[[pd.DataFrame], Any],
        feature_names: Sequence[str] | None,
        *,
        source: str | None = None,
        output: Output = "auto",
        classes: Sequence[Any] | None = None,
        positive: Any = None,
    ) -> None:
        if not callable(function):
            raise InvalidInput(f"{function!r} is not callable")
        name = source or getattr(function, "__qualname__", None) or type(function).__name__
        super().__init__(str(name), feature_names, classes=classes, positive=positive, output=output)
        self._function = function

    def _raw(self, x: pd.DataFrame) -> NDArray[Any]:
        result = self._function(x)
        if isinstance(result, pd.DataFrame | pd.Series):
            result = result.to_numpy()
        return np.asarray(result)


def import_callable(spec: str) -> Callable[..., Any]:
    """``package.module:function`` (or ``:object.attribute``) -> the object; importing the module runs its code."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidInput(f"callable {spec!r}: write it as package.module:function")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInput(f"callable {spec!r}: cannot import {module_name!r}: {_first_line(exc)}") from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise InvalidInput(f"callable {spec!r}: {module_name!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not callable(target):
        raise InvalidInput(f"callable {spec!r} is a {type(target).__name__}, not a function")
    return target  # type: ignore[no-any-return]
