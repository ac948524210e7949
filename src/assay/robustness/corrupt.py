"""Realistic corruptions of a table's columns, seeded and deterministic (pure numpy and pandas).

Each corruption fits some column types and takes a *severity* in (0, 1]:

* ``noise`` (numeric): Gaussian noise whose standard deviation is ``severity`` times the column's spread (its
  interquartile range / 1.349, the standard deviation of a normal with that IQR; the standard deviation when the IQR
  is 0), on every row; integer columns stay integers (rounded);
* ``unit`` (numeric): a share ``severity`` of the rows multiplied by 10 or by 0.1 (a unit error; integers rounded);
* ``missing`` (any column): a share ``severity`` of the rows set missing (NaN, or None for text);
* ``swap`` (categorical: text with at most :data:`MAX_CATEGORIES` distinct values): a share ``severity`` of the rows
  given another observed category, drawn by the categories' frequencies (a plausible wrong value);
* ``typo`` (text): a share ``severity`` of the rows given one typo (two neighbouring characters swapped, or one
  character deleted).

Every column draws its rows independently of the others, from a random stream seeded by ``(seed, corruption,
severity, column)``: the same call gives the same table.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

__all__ = ["MAX_CATEGORIES", "corrupt", "fits", "kind_of", "spread"]

MAX_CATEGORIES: Final = 100


def kind_of(values: pd.Series) -> str:
    """``numeric``, ``categorical`` or ``text`` (``boolean`` columns are categorical)."""
    if pd.api.types.is_bool_dtype(values):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    distinct = values.dropna().nunique()
    return "categorical" if distinct <= MAX_CATEGORIES else "text"


def fits(corruption: str, column_kind: str) -> bool:
    """Whether ``corruption`` applies to a column of ``column_kind``."""
    return {
        "noise": column_kind == "numeric",
        "unit": column_kind == "numeric",
        "missing": True,
        "swap": column_kind == "categorical",
        "typo": column_kind in ("categorical", "text"),
    }[corruption]


def _rng(seed: int, corruption: str, severity: float, column: str) -> np.random.Generator:
    key = zlib.crc32(f"{corruption}\x00{severity!r}\x00{column}".encode())
    return np.random.default_rng([seed, key])


def _chosen(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """The positions of ``round(share * n)`` rows drawn without replacement."""
    return np.sort(rng.choice(n, size=round(share * n), replace=False))


def _spread(number: np.ndarray) -> float:
    finite = number[np.isfinite(number)]
    if len(finite) < 2:
        return 0.0
    q1, q3 = np.quantile(finite, [0.25, 0.75])
    return float((q3 - q1) / 1.349) or float(np.std(finite))


def spread(values: pd.Series) -> float:
    """The spread the ``noise`` corruption scales to: IQR / 1.349 (the standard deviation when the IQR is 0; 0 with
    fewer than two finite values)."""
    return _spread(values.to_numpy(dtype=np.float64, na_value=np.nan))


def _numeric(values: pd.Series, changed: np.ndarray) -> pd.Series:
    """``changed`` (floats) back in the column's type: integers rounded (a float column when missing values)."""
    if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values):
        rounded = np.round(changed)
        if np.isfinite(rounded).all():
            kind = values.dtype if isinstance(values.dtype, np.dtype) else np.dtype(np.int64)
            return pd.Series(rounded.astype(kind), index=values.index)
        return pd.Series(rounded, index=values.index)
    return pd.Series(changed, index=values.index, dtype=np.float64)


def _typo(text: str, rng: np.random.Generator) -> str:
    if len(text) < 2:
        return text + text if text else text
    at = int(rng.integers(0, len(text) - 1))
    if rng.random() < 0.5:
        return text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    return text[:at] + text[at + 1 :]


def _column(values: pd.Series, corruption: str, severity: float, rng: np.random.Generator) -> pd.Series:
    n = len(values)
    if corruption == "noise":
        number = values.to_numpy(dtype=np.float64, na_value=np.nan)
        noise = rng.normal(0.0, severity * _spread(number), size=n)
        return _numeric(values, number + noise)
    if corruption == "unit":
        number = values.to_numpy(dtype=np.float64, na_value=np.nan).copy()
        at = _chosen(n, severity, rng)
        number[at] *= np.where(rng.random(len(at)) < 0.5, 10.0, 0.1)
        return _numeric(values, number)
    if corruption == "missing":
        at = _chosen(n, severity, rng)
        out = values.copy()
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out = out.astype(np.float64)
            out.iloc[at] = np.nan
        else:
            out = out.astype(object)
            out.iloc[at] = None
        return out
    if corruption == "swap":
        present = values.dropna()
        levels, counts = np.unique(present.astype(str).to_numpy(), return_counts=True)
        out = values.astype(object).copy()
        if len(levels) < 2:
            return out
        originals = {str(v): v for v in present.unique()}
        at = _chosen(n, severity, rng)
        current = values.iloc[at].astype(str).to_numpy()
        frequency = counts / counts.sum()
        drawn = []
        for value in current:
            p = np.where(levels == value, 0.0, frequency)
            drawn.append(originals[str(levels[rng.choice(len(levels), p=p / p.sum())])])
        out.iloc[at] = drawn
        return out
    if corruption == "typo":
        at = _chosen(n, severity, rng)
        out = values.astype(object).copy()
        out.iloc[at] = [v if v is None or (isinstance(v, float) and np.isnan(v)) else _typo(str(v), rng)
                        for v in values.iloc[at].tolist()]  # fmt: skip
        return out
    raise ValueError(f"unknown corruption {corruption!r}")


def corrupt(
    frame: pd.DataFrame, corruption: str, severity: float, columns: Sequence[str], *, seed: int = 0
) -> tuple[pd.DataFrame, list[str]]:
    """A copy of ``frame`` with ``corruption`` at ``severity`` applied to each of ``columns`` it fits, and those
    columns."""
    out = frame.copy()
    touched = []
    for column in columns:
        if fits(corruption, kind_of(frame[column])):
            out[column] = _column(frame[column], corruption, severity, _rng(seed, corruption, severity, column))
            touched.append(column)
    return out, touched
