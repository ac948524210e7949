"""Turning the collected key levels of each role into states (positive / negative / missing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from assay.errors import InvalidInput
from assay.metrics._stats import MISSING, CountTable, distinct_summary

__all__ = ["check_values_present", "family", "label_positives", "state_map"]


def family(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def check_single_family(column: str, levels: Sequence[Any]) -> str | None:
    """Raise when a column mixes kinds of values (text and numbers); return the kind."""
    kinds = {family(v) for v in levels if v is not None}
    if len(kinds) > 1:
        raise InvalidInput(
            f"column {column!r} mixes {' and '.join(sorted(kinds))} values ({distinct_summary(levels)}); "
            "clean it so that every value has one type"
        )
    return next(iter(kinds), None)


def check_values_present(table: CountTable, key: str, column: str, wanted: Sequence[Any], role: str) -> None:
    """Every wanted value must match at least one row; the error lists the values present."""
    counts = table.level_counts(key)
    missing = [v for v in wanted if counts.get(v, 0) == 0]
    if missing:
        present = [v for v in table.levels[table.keys.index(key)] if counts.get(v, 0) > 0]
        raise InvalidInput(
            f"{role} value {missing[0]!r} matches no row of column {column!r}; values present: "
            f"{distinct_summary(present, counts)}"
        )


def label_positives(column: str, levels: Sequence[Any], values: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """The positive label values: the given ones, or 1/true for a label whose values are exactly 0/1."""
    if values is not None:
        return values
    present = {v for v in levels if v is not None}
    if present and present <= {0, 1} and all(isinstance(v, bool | int | float) for v in present):
        return (True,) if all(isinstance(v, bool) for v in present) else (1,)
    raise InvalidInput(
        f"label {column!r} is not binary 0/1 (values: {distinct_summary(sorted(present, key=str))}); "
        f"say which values are positive, e.g. --label {column}=VALUE, or give a threshold"
    )


def state_map(levels: Sequence[Any], positives: tuple[Any, ...] | None) -> NDArray[np.intp]:
    """State of each level: 1 positive, 0 negative, 2 missing. ``positives=None``: levels are states."""
    if positives is None:
        return np.asarray([MISSING if v is None else int(v) for v in levels], dtype=np.intp)
    pos = set(positives)
    return np.asarray([MISSING if v is None else int(v in pos) for v in levels], dtype=np.intp)
