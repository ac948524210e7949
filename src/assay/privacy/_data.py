"""What the privacy tests share: a stated random sample of rows (named by position in reading order), the binary
label of a :class:`~assay.frames.Label`, and a numeric design matrix of mixed columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import narwhals as nw
import numpy as np
import pandas as pd

from assay.errors import InvalidInput
from assay.frames import Frame, Label

__all__ = ["MAX_CATEGORIES", "binary", "blocks", "design", "require", "sample"]

SCAN_LIMIT: Final = 1_000_000  # rows read (in reading order) from which a sample is drawn
MAX_CATEGORIES: Final = 50  # one-hot columns per text feature (rarer values pooled)


def require(frame: Frame, columns: Sequence[str | None], role: str = "column") -> None:
    """Raise :class:`InvalidInput` naming the first column ``frame`` lacks, with the columns it has."""
    for name in columns:
        if name is not None and name not in frame.schema:
            near = [c for c in frame.columns if c.casefold() == name.casefold()]
            hint = f"did you mean {near[0]!r}?" if near else "columns present: " + ", ".join(frame.columns[:40])
            raise InvalidInput(f"{role} {name!r} is not in {frame.source}; {hint}")


def sample(frame: Frame, columns: Sequence[str], size: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, int]:
    """``columns`` of at most ``size`` rows drawn at random (``seed``) from the first million read; their positions
    (0-based, reading order) and the number of rows."""
    total = int(frame.lazy.select(nw.len()).collect().item())
    lazy = frame.lazy.select(*dict.fromkeys(columns))
    collected = (lazy.head(SCAN_LIMIT) if total > SCAN_LIMIT else lazy).collect().to_pandas()
    if len(collected) > size:
        positions = np.sort(np.random.default_rng(seed).choice(len(collected), size=size, replace=False))
        collected = collected.iloc[positions]
    else:
        positions = np.arange(len(collected))
    return collected.reset_index(drop=True), positions.astype(np.int64), total


def binary(values: pd.Series, label: Label) -> np.ndarray:
    """The label as 1.0/0.0 (NaN where missing): above the threshold, one of the positive values (compared as text
    when the types differ), or a 0/1 column."""
    missing = values.isna().to_numpy()
    if label.threshold is not None:
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers[~missing].isna().any():
            raise InvalidInput(f"label {label.column!r}: a threshold needs a numeric column")
        out = (numbers > label.threshold).astype(float).to_numpy()
    elif label.values is not None:
        wanted = {str(v) for v in label.values}
        out = values.map(lambda v: float(str(v) in wanted or (isinstance(v, float) and f"{v:g}" in wanted))).to_numpy()
    else:
        found = set(pd.unique(values[~missing]))
        if not found <= {0, 1}:
            shown = ", ".join(repr(v) for v in list(found)[:3])
            raise InvalidInput(
                f"label {label.column!r} is not 0/1 (values include {shown}): give its positive values, "
                f"e.g. {label.column}=VALUE"
            )
        out = values.astype(float).to_numpy()
    out = np.array(out, dtype=np.float64)
    out[missing] = np.nan
    return out


def design(frame: pd.DataFrame, columns: Sequence[str], *, min_count: int = 1) -> np.ndarray:
    """A numeric matrix of ``columns``: numbers standardised (missing imputed by the median, with a missing flag),
    text one-hot (the 50 commonest values held by at least ``min_count`` rows; the rest pooled)."""
    return blocks(frame, columns, min_count=min_count)[0]


def blocks(frame: pd.DataFrame, columns: Sequence[str], *, min_count: int = 1) -> tuple[np.ndarray, dict[str, slice]]:
    """:func:`design`, and the matrix columns of each data column."""
    parts: list[np.ndarray] = []
    spans: dict[str, slice] = {}
    at = 0
    for column in columns:
        before = len(parts)
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            number = np.array(pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64), dtype=np.float64)
            number[~np.isfinite(number)] = np.nan
            if np.isnan(number).all():
                continue
            filled = np.where(np.isnan(number), np.nanmedian(number), number)
            parts.append(((filled - filled.mean()) / (float(filled.std()) or 1.0))[:, None])
            if np.isnan(number).any():
                parts.append(np.isnan(number).astype(np.float64)[:, None])
        else:
            text = values.astype("string").fillna("\x00").to_numpy(dtype=object)
            levels, codes = np.unique(text, return_inverse=True)
            if len(levels) < 2:
                continue
            counts = np.bincount(codes)
            top = np.argsort(-counts, kind="stable")[:MAX_CATEGORIES]
            top = top[counts[top] >= min_count]
            if len(top):
                parts.append((codes[:, None] == top[None, :]).astype(np.float64))
        width = sum(p.shape[1] for p in parts[before:])
        spans[column] = slice(at, at + width)
        at += width
    if not parts:
        raise InvalidInput("no usable feature: every feature is constant, empty or of an unsupported type")
    return np.hstack(parts), spans
