"""Data access: the only package that knows concrete dataframe engines.

``open()`` turns a CSV/Parquet path or a pandas, Polars, PyArrow, DuckDB or PySpark frame into a lazy
:class:`Frame`; :mod:`assay.frames.roles` says what each column is for.
"""

from assay.frames._open import Frame, Limits, open
from assay.frames.roles import Facet, Label, Prediction, Score, coerce_values

__all__ = ["Facet", "Frame", "Label", "Limits", "Prediction", "Score", "coerce_values", "open"]
