"""Column roles: what each column of the data is for, stated by the user, never guessed.

A role names a column and how its values map to the binary question asked of it:

* :class:`Label` - the true outcome; positive when the value is one of ``values`` or ``> threshold``.
* :class:`Prediction` - the model's predicted label, read with the label's positive values.
* :class:`Score` - the model's probability; predicted positive when ``score > threshold`` (default 0.5).
* :class:`Facet` - a sensitive attribute; facet *d* is the rows whose value is one of ``values`` or
  ``> threshold``; with neither, every distinct value is assessed against all other rows (one-vs-all).

Values typed as text (on the command line) are converted to the column's type by :func:`coerce_values`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw

from assay.errors import InvalidInput

__all__ = ["Facet", "Label", "Prediction", "Score", "coerce_values", "is_nested", "is_numeric", "require_plain"]

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _as_tuple(values: Any) -> tuple[Any, ...] | None:
    if values is None:
        return None
    if isinstance(values, str | bytes | int | float | bool):
        return (values,)
    return tuple(values)


def _check_threshold(owner: str, column: str, values: Any, threshold: float | None) -> None:
    if values is not None and threshold is not None:
        raise InvalidInput(f"{owner} {column!r}: give positive values or a threshold, not both")
    if threshold is not None and (not isinstance(threshold, int | float) or not math.isfinite(threshold)):
        raise InvalidInput(f"{owner} {column!r}: threshold {threshold!r} must be a finite number")


@dataclass(frozen=True)
class Label:
    """The label column and which of its values are positive (or a threshold: ``value > threshold``)."""

    column: str
    values: tuple[Any, ...] | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _as_tuple(self.values))
        _check_threshold("label", self.column, self.values, self.threshold)
        if self.values is not None and len(self.values) == 0:
            raise InvalidInput(f"label {self.column!r}: the list of positive values is empty")


@dataclass(frozen=True)
class Facet:
    """A sensitive column; facet d = rows with one of ``values`` (or ``> threshold``); neither = one-vs-all."""

    column: str
    values: tuple[Any, ...] | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _as_tuple(self.values))
        _check_threshold("facet", self.column, self.values, self.threshold)
        if self.values is not None and len(self.values) == 0:
            object.__setattr__(self, "values", None)


@dataclass(frozen=True)
class Prediction:
    """The predicted-label column; it uses the label's positive values (or threshold)."""

    column: str


@dataclass(frozen=True)
class Score:
    """A probability column; predicted positive when ``score > threshold``."""

    column: str
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if not isinstance(self.threshold, int | float) or not 0.0 <= self.threshold <= 1.0:
            raise InvalidInput(f"score {self.column!r}: threshold {self.threshold!r} must lie in [0, 1]")


def is_numeric(dtype: nw.dtypes.DType) -> bool:
    return bool(dtype.is_numeric()) and not isinstance(dtype, nw.Boolean)


def is_nested(dtype: nw.dtypes.DType) -> bool:
    """A struct, list or array column: its values are records or sequences, not one value each."""
    return isinstance(dtype, nw.Struct | nw.List | nw.Array)


def require_plain(role: str, column: str, dtype: nw.dtypes.DType) -> None:
    """Refuse a nested column (struct, list, array) in a role that groups or compares its values."""
    if is_nested(dtype):
        raise InvalidInput(
            f"{role} {column!r} is {dtype}: a nested column cannot be a {role}; put the field or element you "
            "mean in a column of its own (text, numbers, booleans or dates)"
        )


def _coerce_one(value: Any, dtype: nw.dtypes.DType, column: str) -> Any:
    kind = "integer" if dtype.is_integer() else "number" if dtype.is_float() else str(dtype)
    if isinstance(dtype, nw.Boolean):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidInput(f"value {value!r} for column {column!r} is not a boolean (use true or false)")
    if dtype.is_integer():
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        try:
            number = float(str(value).strip())
        except ValueError:
            raise InvalidInput(f"value {value!r} for column {column!r} is not an {kind}") from None
        if not number.is_integer():
            raise InvalidInput(f"value {value!r} for column {column!r} is not an {kind}")
        return int(number)
    if dtype.is_float():
        try:
            number = float(str(value).strip()) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"value {value!r} for column {column!r} is not a {kind}") from None
        if math.isnan(number):
            raise InvalidInput(
                f"value {value!r} for column {column!r}: NaN is not a value; missing rows are "
                "reported as their own group"
            )
        return number
    if isinstance(dtype, nw.String | nw.Categorical | nw.Enum):
        return value if isinstance(value, str) else str(value)
    return value


def coerce_values(values: Iterable[Any], dtype: nw.dtypes.DType, column: str) -> tuple[Any, ...]:
    """Convert user values to the column's type, so that ``"2"`` matches the integer 2."""
    return tuple(_coerce_one(v, dtype, column) for v in values)


def describe_values(values: Sequence[Any]) -> str:
    return ",".join("null" if v is None else str(v) for v in values)
