"""Data access: the only package that knows concrete dataframe engines.

``open()`` turns a CSV/Parquet path or a pandas, Polars, PyArrow, DuckDB or PySpark frame into a lazy
:class:`Frame`; :mod:`assay.frames.roles` says what each column is for. Names are imported on first use, so that
:mod:`assay.frames.options` loads without the dataframe engines.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assay.frames._open import Frame, Limits, open
    from assay.frames.roles import Facet, Label, Prediction, Score, coerce_values

__all__ = ["Facet", "Frame", "Label", "Limits", "Prediction", "Score", "coerce_values", "open"]

_LAZY = {
    "Frame": "assay.frames._open",
    "Limits": "assay.frames._open",
    "open": "assay.frames._open",
    "Facet": "assay.frames.roles",
    "Label": "assay.frames.roles",
    "Prediction": "assay.frames.roles",
    "Score": "assay.frames.roles",
    "coerce_values": "assay.frames.roles",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'assay.frames' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
