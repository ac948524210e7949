"""Data access: the only package that knows concrete dataframe engines.

``open()`` turns a CSV/Parquet path or a pandas, Polars, PyArrow, DuckDB or PySpark frame into a lazy
:class:`Frame`; :mod:`assay.frames.roles` says what each column is for. Names are imported on first use, so that
:mod:`assay.frames.options` loads without the dataframe engines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assay._lazy import attach

if TYPE_CHECKING:
    from assay.frames._open import Frame, Limits, open
    from assay.frames.roles import Facet, Label, Prediction, Score, coerce_values

__all__ = ["Facet", "Frame", "Label", "Limits", "Prediction", "Score", "coerce_values", "open"]

__getattr__, __dir__ = attach(
    __name__,
    {
        "Frame": "assay.frames._open",
        "Limits": "assay.frames._open",
        "open": "assay.frames._open",
        "Facet": "assay.frames.roles",
        "Label": "assay.frames.roles",
        "Prediction": "assay.frames.roles",
        "Score": "assay.frames.roles",
        "coerce_values": "assay.frames.roles",
    },
)
