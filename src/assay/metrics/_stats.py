"""Sufficient statistics: one grouped pass on the engine, collected as a small table of counts.

Nothing here loads rows: each function builds narwhals expressions, runs ``group_by(...).agg(len)`` on the
user's engine (DuckDB, Polars, pandas, PyArrow, Spark) and turns the small result into numpy arrays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np
from numpy.typing import NDArray

from assay.frames import Frame

__all__ = ["MISSING", "CountTable", "grouped_counts", "missing_state", "threshold_state"]

MISSING = 2  # state code of a missing value in a 0/1/missing state column
_COUNT = "__assay_n"


def missing_state(column: str, dtype: nw.dtypes.DType) -> nw.Expr:
    """True where the value is missing: null, or NaN in a float column."""
    expr = nw.col(column).is_null()
    if dtype.is_float():
        expr = expr | nw.col(column).is_nan().fill_null(value=True)
    return expr


def threshold_state(column: str, dtype: nw.dtypes.DType, threshold: float) -> nw.Expr:
    """0 (``<= threshold``), 1 (``> threshold``) or :data:`MISSING`, as an integer expression."""
    return (
        nw.when(missing_state(column, dtype))
        .then(nw.lit(MISSING))
        .otherwise(nw.when(nw.col(column) > threshold).then(nw.lit(1)).otherwise(nw.lit(0)))
        .cast(nw.Int8)
    )


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def sort_key(value: Any) -> tuple[int, str, Any]:
    """Order of distinct values: missing last, then by type, then by value."""
    if value is None:
        return (1, "", 0)
    if isinstance(value, bool):
        return (0, "bool", int(value))
    if isinstance(value, int | float):
        return (0, "number", value)
    return (0, type(value).__name__, value)


@dataclass(frozen=True)
class CountTable:
    """Counts by key: ``levels[k]`` are the sorted distinct values of key ``k`` (``None`` = missing),
    ``codes[:, k]`` the level code of each collected combination and ``counts`` its number of rows."""

    keys: tuple[str, ...]
    levels: tuple[tuple[Any, ...], ...]
    codes: NDArray[np.intp]
    counts: NDArray[np.int64]

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def level_counts(self, key: str) -> dict[Any, int]:
        axis = self.keys.index(key)
        sums = np.bincount(self.codes[:, axis], weights=self.counts, minlength=len(self.levels[axis]))
        return {v: int(n) for v, n in zip(self.levels[axis], sums, strict=True)}

    def dense(self, max_cells: int = 50_000_000) -> NDArray[np.int64]:
        """The counts as an array with one axis per key (level codes as indices)."""
        shape = tuple(max(len(lv), 1) for lv in self.levels)
        if math.prod(shape) > max_cells:
            sizes = ", ".join(f"{n}: {len(lv)} values" for n, lv in zip(self.keys, self.levels, strict=True))
            raise MemoryError(f"too many combinations of key values ({sizes})")
        out = np.zeros(shape, dtype=np.int64)
        if len(self.counts):
            np.add.at(out, tuple(self.codes.T), self.counts)
        return out


def grouped_counts(frame: Frame, keys: Mapping[str, nw.Expr]) -> CountTable:
    """Count rows by every combination of the key expressions, in one grouped pass on the engine."""
    names = list(keys)
    result = frame.lazy.select(**keys).group_by(*names).agg(nw.len().alias(_COUNT)).collect().to_dict(as_series=False)
    counts = np.asarray(result[_COUNT], dtype=np.int64)
    levels: list[tuple[Any, ...]] = []
    codes: list[NDArray[np.intp]] = []
    for name in names:
        values = [_normalise(v) for v in result[name]]
        distinct = sorted(set(values), key=sort_key)
        index = {v: i for i, v in enumerate(distinct)}
        levels.append(tuple(distinct))
        codes.append(np.fromiter((index[v] for v in values), dtype=np.intp, count=len(values)))
    code_array = np.stack(codes, axis=1) if codes else np.zeros((len(counts), 0), dtype=np.intp)
    return CountTable(keys=tuple(names), levels=tuple(levels), codes=code_array, counts=counts)


def distinct_summary(levels: Sequence[Any], counts: Mapping[Any, int] | None = None, limit: int = 20) -> str:
    """A short human list of values (with counts when given), for error messages."""
    shown = list(levels)[:limit]
    parts = [("null" if v is None else repr(v)) + (f" ({counts[v]})" if counts is not None else "") for v in shown]
    more = f" and {len(levels) - limit} more" if len(levels) > limit else ""
    return ", ".join(parts) + more
