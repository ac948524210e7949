"""What every data check shares: the result document's envelope, column kinds, clean expressions for missing
values, and drawing a stated sample of rows for the checks that fit a model or scan values."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

import narwhals as nw
import numpy as np

from assay.documents import SCHEMAS, head
from assay.documents import now as now
from assay.errors import InvalidInput
from assay.frames import Frame

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "DataInfo",
    "Kind",
    "Sample",
    "as_number",
    "check_seed",
    "check_share",
    "clean",
    "column_kind",
    "data_info",
    "envelope",
    "is_missing",
    "json_float",
    "require_columns",
    "require_rows",
    "sample_rows",
]

SCHEMA: Final = "assay.data-check"
SCHEMA_VERSION: Final = SCHEMAS[SCHEMA]
SCAN_LIMIT: Final = 200_000  # rows read (in reading order) from which a sample is drawn

Kind = Literal["Integral", "Fractional", "String", "Unknown"]


def column_kind(dtype: nw.dtypes.DType) -> Kind:
    """Model Monitor's ``inferred_type`` of a column: numbers are Integral or Fractional; text, categories,
    booleans and dates are String; nested and binary columns are Unknown."""
    if dtype.is_integer():
        return "Integral"
    if dtype.is_float() or dtype.is_decimal():
        return "Fractional"
    if isinstance(dtype, nw.String | nw.Categorical | nw.Enum | nw.Boolean | nw.Date | nw.Datetime | nw.Time):
        return "String"
    return "Unknown"


def is_missing(column: str, dtype: nw.dtypes.DType) -> nw.Expr:
    """True where the value is missing: null, or NaN/±inf in a float column."""
    expr = nw.col(column).is_null()
    if dtype.is_float():
        expr = expr | ~nw.col(column).is_finite().fill_null(value=False)
    return expr


def clean(column: str, dtype: nw.dtypes.DType) -> nw.Expr:
    """The column with missing values as null (NaN and ±inf in float columns become null); text for String
    columns that are not text already (categories, booleans, dates)."""
    expr = nw.col(column)
    if dtype.is_float():
        return nw.when(expr.is_finite()).then(expr)
    if column_kind(dtype) == "String" and not isinstance(dtype, nw.String):
        return expr.cast(nw.String)
    return expr


def as_number(value: Any) -> float | None:
    """A collected aggregate as a float (DuckDB returns sums of booleans as Decimal); None for null/NaN."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, np.generic):
        value = value.item()
    number = float(value)
    return None if math.isnan(number) else number


def json_float(value: float | None, digits: int = 6) -> float | None:
    """A float for a result document: rounded, null for NaN/inf."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def require_columns(frame: Frame, columns: Sequence[str | None], *, role: str = "column") -> None:
    """Raise :class:`InvalidInput` naming the first unknown column."""
    for name in columns:
        if name is not None:
            frame.explain_renamed(name)
        if name is not None and name not in frame.schema:
            near = [c for c in frame.columns if c.casefold() == name.casefold()]
            if near:
                raise InvalidInput(f"{role} {name!r} is not in {frame.source}; did you mean {near[0]!r}?")
            shown = ", ".join(frame.columns[:40]) + (" ..." if len(frame.columns) > 40 else "")
            raise InvalidInput(f"{role} {name!r} is not in {frame.source}; columns present: {shown}")


def check_share(max_share: float) -> None:
    """A pass threshold on a share of rows lies in [0, 1]."""
    if not 0.0 <= max_share <= 1.0:
        raise InvalidInput(f"max_share must lie in [0, 1] (a share of rows), not {max_share}")


MAX_SEED: Final = 2**32 - 1  # scikit-learn's random_state and numpy's legacy seeding take no more


def check_seed(seed: int) -> None:
    """A seed of the samples and folds: an integer in [0, 2**32 - 1]."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidInput(f"seed must be an integer from 0 to {MAX_SEED}, not {seed!r}")


def require_rows(info: DataInfo, what: str = "the data") -> None:
    """Refuse data without rows: a check on no rows passes vacuously, which is no evidence."""
    if info.rows == 0:
        raise InvalidInput(f"{what} ({info.source}) has no rows: a check on no rows shows nothing")


@dataclass(frozen=True)
class DataInfo:
    """Where the checked data came from: its source, engine, number of rows and (for files) fingerprint."""

    source: str
    engine: str
    rows: int
    columns: int
    fingerprint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "engine": self.engine,
            "rows": self.rows,
            "columns": self.columns,
            "fingerprint": self.fingerprint,
        }


def row_count(frame: Frame) -> int:
    return int(frame.lazy.select(nw.len()).collect().item())


def data_info(frame: Frame, rows: int | None = None) -> DataInfo:
    return DataInfo(
        source=frame.source,
        engine=frame.engine,
        rows=row_count(frame) if rows is None else rows,
        columns=len(frame.columns),
    )


def envelope(
    check: str,
    *,
    data: DataInfo,
    spec: Mapping[str, Any],
    passed: bool,
    summary: str,
    result: Mapping[str, Any],
    created_at: str,
    reference: DataInfo | None = None,
    sample: Sample | None = None,
) -> dict[str, Any]:
    """The ``assay.data-check`` document (v1) every check writes; ``status`` is ``pass`` when nothing was found."""
    document: dict[str, Any] = {**head(SCHEMA, created_at=created_at), "check": check, "data": data.to_dict()}
    if reference is not None:
        document["reference"] = reference.to_dict()
    document["spec"] = dict(spec)
    if sample is not None:
        document["sample"] = sample.to_dict()
    document |= {"status": "pass" if passed else "fail", "summary": summary, "result": dict(result)}
    return document


@dataclass(frozen=True)
class Sample:
    """A stated sample: ``rows`` rows drawn at random (``seed``) from the first ``scanned`` rows in reading order."""

    rows: int
    scanned: int
    total: int
    seed: int

    @property
    def complete(self) -> bool:
        return self.rows == self.total

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "scanned": self.scanned,
            "total": self.total,
            "seed": self.seed,
            "method": "all rows"
            if self.complete
            else f"{self.rows} rows drawn at random without replacement from the first {self.scanned} rows read",
        }


def sample_rows(
    frame: Frame,
    columns: Sequence[str],
    *,
    size: int,
    seed: int,
    total: int | None = None,
    scan_limit: int = SCAN_LIMIT,
) -> tuple[dict[str, list[Any]], np.ndarray[Any, np.dtype[np.intp]], Sample]:
    """Collect ``columns`` of a random sample of at most ``size`` rows.

    Only the first ``scan_limit`` rows (in the engine's reading order) are read; the sample is drawn from them
    with numpy (``seed``). Returns the values by column, the positions of the sampled rows in reading order,
    and the :class:`Sample` that says so."""
    if size < 1:
        raise InvalidInput(f"the sample size must be at least 1, not {size}")
    total = row_count(frame) if total is None else total
    scanned = min(total, scan_limit)
    lazy = frame.lazy.select(*columns)
    if scanned < total:
        lazy = lazy.head(scanned)
    collected = lazy.collect()
    scanned = len(collected)
    if scanned > size:
        positions = np.sort(np.random.default_rng(seed).choice(scanned, size=size, replace=False))
        collected = collected[positions.tolist()]
    else:
        positions = np.arange(scanned, dtype=np.intp)
    values = collected.to_dict(as_series=False)
    return values, positions.astype(np.intp), Sample(rows=len(positions), scanned=scanned, total=total, seed=seed)
