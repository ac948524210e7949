"""The binary label of the checks that need one: 1 (positive), 0 or null (missing), as an engine expression."""

from __future__ import annotations

from typing import Any

import narwhals as nw

from assay.checks._common import is_missing, require_columns
from assay.errors import InvalidInput
from assay.frames import Frame, Label, coerce_values
from assay.frames.roles import require_plain

__all__ = ["as_label", "binary_label"]

_N = "__assay_n"
_Y = "__assay_y"


def as_label(label: str | Label, positive: Any = None) -> Label:
    if isinstance(label, Label):
        return label
    if positive is None:
        return Label(label)
    values = positive if isinstance(positive, list | tuple | set | frozenset) else [positive]
    return Label(label, tuple(values))


def binary_label(frame: Frame, label: Label) -> tuple[nw.Expr, dict[str, Any]]:
    """The label as 1/0 with missing values null, and its description for the result document.

    Without positive values or a threshold the column must hold 0/1 (or booleans); a label with one class
    only is an error."""
    require_columns(frame, [label.column], role="label column")
    dtype = frame.schema[label.column]
    require_plain("label", label.column, dtype)
    column = nw.col(label.column)
    if label.threshold is not None:
        if not dtype.is_numeric():
            raise InvalidInput(f"label {label.column!r}: a threshold needs a numeric column, not {dtype}")
        positive = column > label.threshold
        spec: dict[str, Any] = {"column": label.column, "threshold": label.threshold}
    elif label.values is not None:
        values = coerce_values(label.values, dtype, label.column)
        positive = column.is_in(list(values))
        spec = {"column": label.column, "positive": [str(v) for v in values]}
    else:
        found = (
            frame.lazy.select(column.alias(_Y))
            .filter(~nw.col(_Y).is_null())
            .group_by(_Y)
            .agg(nw.len().alias(_N))
            .head(3)
            .collect()
            .to_dict(as_series=False)[_Y]
        )
        if not set(found) <= {0, 1}:
            shown = ", ".join(repr(v) for v in found[:3])
            raise InvalidInput(
                f"label {label.column!r} is not 0/1 (values include {shown}): give its positive values, "
                f"e.g. {label.column}=VALUE"
            )
        positive = column == 1 if not isinstance(dtype, nw.Boolean) else column
        spec = {"column": label.column, "positive": ["1"]}
    state = nw.when(~is_missing(label.column, dtype)).then(positive.cast(nw.Int8))
    counts = (
        frame.lazy.select(state.alias(_Y))
        .filter(~nw.col(_Y).is_null())
        .group_by(_Y)
        .agg(nw.len().alias(_N))
        .collect()
        .to_dict(as_series=False)
    )
    by_class = {int(y): int(n) for y, n in zip(counts[_Y], counts[_N], strict=True)}
    if by_class.get(1, 0) == 0 or by_class.get(0, 0) == 0:
        raise InvalidInput(
            f"label {label.column!r} has {by_class.get(1, 0)} positive and {by_class.get(0, 0)} negative rows: "
            "both classes are needed"
        )
    spec |= {"positives": by_class[1], "negatives": by_class[0]}
    return state.cast(nw.Int8), spec
