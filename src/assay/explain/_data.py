"""Rows for explaining: the model's features (and the facets) collected once, sampled, and encoded as numbers
for SHAP's maskers, which only work on numeric arrays."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay.errors import InvalidInput
from assay.frames import Frame
from assay.frames import open as open_frame

__all__ = ["Collected", "Encoder", "collect", "is_numeric_column", "json_value"]


def is_numeric_column(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series.dtype)) and not pd.api.types.is_bool_dtype(series.dtype)


def json_value(value: Any) -> Any:
    """A cell as JSON: numpy scalars as Python values, NaN and missing as null, other objects as text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if value != value or value in (float("inf"), float("-inf")) else value
    if isinstance(value, str | int | bool):
        return value
    return str(value)


@dataclass(frozen=True)
class Collected:
    """The collected columns of the data (all rows), where they came from, and their fingerprint."""

    frame: pd.DataFrame
    source: str
    engine: str
    fingerprint: str


def collect(data: Any, columns: Sequence[str], *, require: Sequence[str] = ()) -> Collected:
    """Collect ``columns`` of ``data`` (anything :func:`assay.frames.open` accepts) into pandas, in row order;
    ``require`` are further columns that must exist (not read)."""
    frame: Frame = open_frame(data)
    frame.require_columns(*require, *columns)
    unique = list(dict.fromkeys(columns))
    collected = frame.lazy.select(unique).collect().to_pandas().reset_index(drop=True)
    if len(collected) == 0:
        raise InvalidInput(f"the data {frame.source!r} has no rows to explain")
    hashed = pd.util.hash_pandas_object(collected, index=False).to_numpy()
    digest = hashlib.sha256(np.ascontiguousarray(hashed).tobytes())
    digest.update("\x1f".join(unique).encode())
    return Collected(collected, frame.source, frame.engine, "sha256:" + digest.hexdigest())


class Encoder:
    """Features as float columns: numbers as they are, anything else as codes of its distinct values.

    :meth:`decode` turns such an array back into a frame of the original types (integers back to integers
    when the values are whole), which is what the model is called with.
    """

    def __init__(self, frames: Sequence[pd.DataFrame]) -> None:
        first = frames[0]
        self.columns = [str(c) for c in first.columns]
        self.dtypes = {c: first[c].dtype for c in self.columns}
        self.numeric = {c: is_numeric_column(first[c]) for c in self.columns}
        self.categories: dict[str, list[Any]] = {}
        for c in self.columns:
            if not self.numeric[c]:
                values = pd.concat([f[c] for f in frames], ignore_index=True).astype(object)
                _, uniques = pd.factorize(values, use_na_sentinel=False)
                self.categories[c] = list(uniques)

    def encode(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        out = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        for j, c in enumerate(self.columns):
            if self.numeric[c]:
                out[:, j] = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                index = pd.Index(self.categories[c], dtype=object)
                out[:, j] = index.get_indexer(frame[c].astype(object)).astype(np.float64)
        return out

    def decode(self, array: NDArray[Any]) -> pd.DataFrame:
        columns: dict[str, Any] = {}
        for j, c in enumerate(self.columns):
            values = np.asarray(array[:, j], dtype=np.float64)
            if self.numeric[c]:
                columns[c] = restore(values, self.dtypes[c])
            else:
                codes = np.clip(np.rint(values).astype(np.int64), 0, len(self.categories[c]) - 1)
                column = pd.Series(np.asarray(self.categories[c], dtype=object)[codes], dtype=object)
                try:
                    columns[c] = column.astype(self.dtypes[c])
                except (TypeError, ValueError):
                    columns[c] = column
        return pd.DataFrame(columns)


def restore(values: NDArray[np.float64], dtype: Any) -> Any:
    """Float values back in an integer column's type when they are whole numbers (else left as floats)."""
    if pd.api.types.is_integer_dtype(dtype) and np.all(np.isfinite(values)) and np.all(values == np.rint(values)):
        return pd.array(values, dtype=dtype)  # positional, so it can go into a frame with any index
    return values
