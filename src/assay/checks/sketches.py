"""Mergeable summaries of a dataset's columns, the drift check's baseline.

Numeric columns are summarised by a KLL quantile sketch from Apache DataSketches (``datasketches``: the sketch
Model Monitor's and Deequ's baselines use, maintained by the Apache Software Foundation, with a documented rank
error and a stable binary form) plus exact count, mean, sum of squared deviations, minimum and maximum; text,
categorical and boolean columns by exact counts per value (at most ``max_levels`` values, the rest counted as
*other*). Every summary merges (:meth:`Summary.merge`): a baseline over 100M rows is built in pieces (row chunks
read from DuckDB, one piece per partition on Spark) and the pieces merged, equal to one pass within the sketch's
rank error. A summary serialises into a JSON document (:meth:`Summary.to_dict`, the sketch as base64 of its
binary form) kept in the baseline's ``statistics.json`` beside Model Monitor's fields.

Small sides may keep their values (``keep_values``): the drift check then runs the exact tests on them.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

import narwhals as nw
import numpy as np
from numpy.typing import NDArray

from assay.checks._common import clean, column_kind
from assay.errors import InvalidInput
from assay.frames import Frame
from assay.frames import open as open_frame

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "BLOCK",
    "CHUNK_ROWS",
    "SKETCH_K",
    "CategoricalSummary",
    "NumericSummary",
    "Summary",
    "rank_error",
    "summarise",
    "summarise_batch",
]

BLOCK: Final = "assay_drift"  # the key of the drift baseline in statistics.json (beside Model Monitor's fields)
SKETCH_K: Final = 1000  # KLL's k: normalized rank error 0.28% (99% confidence), about 24 KB per column
MAX_LEVELS: Final = 1000
CHUNK_ROWS: Final = 1_000_000
_VERSION: Final = 1


def _kll(k: int) -> Any:
    from datasketches import kll_doubles_sketch

    return kll_doubles_sketch(k)


def rank_error(k: int) -> float:
    """The KLL sketch's normalized rank error for ``k`` (single-sided, 99% confidence; DataSketches' a-priori bound)."""
    from datasketches import kll_doubles_sketch

    return float(kll_doubles_sketch.get_normalized_rank_error(k, False))


@dataclass
class NumericSummary:
    """A numeric column: present and missing counts, mean and sum of squared deviations (merged by Chan's formula),
    minimum, maximum, the KLL sketch of the present values, and (``values``) the values themselves when kept."""

    k: int
    n: int = 0
    missing: int = 0
    mean: float = 0.0
    m2: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    sketch: Any = None
    values: NDArray[np.float64] | None = None
    exact: bool = True  # the values are complete (every piece kept them)

    def __post_init__(self) -> None:
        if self.sketch is None:
            self.sketch = _kll(self.k)

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / self.n) if self.n else 0.0

    def add(self, values: NDArray[np.float64], missing: int, keep: bool) -> None:
        self.missing += missing
        if not len(values):
            if not keep:
                self.exact = False
            return
        n = len(values)
        mean = float(values.mean())
        m2 = float(((values - mean) ** 2).sum())
        self._combine(n, mean, m2, float(values.min()), float(values.max()))
        self.sketch.update(values)
        if keep and self.exact:
            self.values = values.copy() if self.values is None else np.concatenate([self.values, values])
        else:
            self.exact, self.values = False, None

    def _combine(self, n: int, mean: float, m2: float, low: float, high: float) -> None:
        total = self.n + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.n * n / total
        self.mean += delta * n / total
        self.n = total
        self.low, self.high = min(self.low, low), max(self.high, high)

    def merge(self, other: NumericSummary) -> None:
        if other.k != self.k:
            raise InvalidInput(f"cannot merge KLL sketches of k={self.k} and k={other.k}; build both with one k")
        self.missing += other.missing
        if other.n:
            self._combine(other.n, other.mean, other.m2, other.low, other.high)
            self.sketch.merge(other.sketch)
        if self.exact and other.exact and (other.values is not None or not other.n):
            if other.values is not None:
                self.values = other.values if self.values is None else np.concatenate([self.values, other.values])
        else:
            self.exact, self.values = False, None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "numeric",
            "n": self.n,
            "missing": self.missing,
            "mean": self.mean if self.n else None,
            "m2": self.m2,
            "min": self.low if self.n else None,
            "max": self.high if self.n else None,
            "kll": {"k": self.k, "sketch": base64.b64encode(self.sketch.serialize()).decode("ascii")},
        }

    @classmethod
    def from_dict(cls, block: Mapping[str, Any], where: str) -> NumericSummary:
        from datasketches import kll_doubles_sketch

        try:
            kll = block["kll"]
            sketch = kll_doubles_sketch.deserialize(base64.b64decode(kll["sketch"], validate=True))
            n = int(block["n"])
            out = cls(
                k=int(kll["k"]),
                n=n,
                missing=int(block["missing"]),
                mean=float(block["mean"]) if n else 0.0,
                m2=float(block["m2"]),
                low=float(block["min"]) if n else math.inf,
                high=float(block["max"]) if n else -math.inf,
                sketch=sketch,
                exact=False,
            )
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise InvalidInput(f"{where}: not a readable numeric summary ({type(exc).__name__}: {exc})") from None
        if sketch.n != n:
            raise InvalidInput(f"{where}: the sketch holds {sketch.n} values but the summary says {n}")
        return out

    def weighted(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The distribution as sorted items and their weights: the values themselves when kept, else the sketch's
        retained items (each weighing the number of values it stands for)."""
        if self.values is not None:
            items, counts = np.unique(self.values, return_counts=True)
            return items.astype(np.float64), counts.astype(np.float64)
        if not self.n:
            return np.zeros(0), np.zeros(0)
        pairs = np.asarray(list(self.sketch), dtype=np.float64)
        order = np.argsort(pairs[:, 0], kind="stable")
        return pairs[order, 0], pairs[order, 1]

    @property
    def rank_error(self) -> float:
        """The bound on the error of a rank read from this summary (0 when the values are kept)."""
        if self.values is not None or not self.sketch.is_estimation_mode():
            return 0.0
        return rank_error(self.k)


@dataclass
class CategoricalSummary:
    """A text/categorical column: counts by value (at most ``max_levels`` values, the rest in ``other``)."""

    max_levels: int
    counts: dict[str, int] = field(default_factory=dict)
    other: int = 0
    missing: int = 0

    @property
    def n(self) -> int:
        return sum(self.counts.values()) + self.other

    def add(self, counts: Mapping[str, int], missing: int) -> None:
        self.missing += missing
        for value, count in counts.items():
            self.counts[value] = self.counts.get(value, 0) + int(count)
        self._bound()

    def merge(self, other: CategoricalSummary) -> None:
        self.missing += other.missing
        self.other += other.other
        self.add(other.counts, 0)

    def _bound(self) -> None:
        if len(self.counts) > self.max_levels:
            kept = sorted(self.counts.items(), key=lambda p: (-p[1], p[0]))
            self.other += sum(n for _, n in kept[self.max_levels :])
            self.counts = dict(kept[: self.max_levels])

    def to_dict(self) -> dict[str, Any]:
        ordered = sorted(self.counts.items(), key=lambda p: (-p[1], p[0]))
        return {
            "type": "categorical",
            "n": self.n,
            "missing": self.missing,
            "max_levels": self.max_levels,
            "counts": [{"value": v, "count": n} for v, n in ordered],
            "other": self.other,
        }

    @classmethod
    def from_dict(cls, block: Mapping[str, Any], where: str) -> CategoricalSummary:
        try:
            counts = {str(b["value"]): int(b["count"]) for b in block["counts"]}
            return cls(
                max_levels=int(block["max_levels"]),
                counts=counts,
                other=int(block["other"]),
                missing=int(block["missing"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"{where}: not a readable categorical summary ({type(exc).__name__}: {exc})") from None


ColumnSummary = NumericSummary | CategoricalSummary


@dataclass
class Summary:
    """Mergeable summaries of a dataset's columns (see the module's text)."""

    rows: int
    columns: dict[str, ColumnSummary]
    k: int = SKETCH_K
    max_levels: int = MAX_LEVELS
    source: str = ""

    def merge(self, other: Summary) -> Summary:
        """This summary and ``other`` (the same columns of other rows) as one; neither is changed."""
        if list(other.columns) != list(self.columns):
            raise InvalidInput("cannot merge summaries of different columns: " + _differ(self.columns, other.columns))
        merged = replace(self, rows=self.rows + other.rows, columns={})
        for name, mine in self.columns.items():
            theirs = other.columns[name]
            if type(mine) is not type(theirs):
                raise InvalidInput(f"cannot merge summaries: column {name!r} is numeric in one and text in the other")
            copy = _copy(mine)
            copy.merge(theirs)  # type: ignore[arg-type]
            merged.columns[name] = copy
        return merged

    def to_dict(self) -> dict[str, Any]:
        """The JSON block kept in ``statistics.json`` under :data:`BLOCK` (values never included)."""
        from importlib.metadata import version

        return {
            "version": _VERSION,
            "library": f"datasketches {version('datasketches')}",
            "rows": self.rows,
            "kll_k": self.k,
            "rank_error": rank_error(self.k),
            "max_levels": self.max_levels,
            "columns": {name: summary.to_dict() for name, summary in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, block: Mapping[str, Any], where: str = "statistics.json " + BLOCK) -> Summary:
        if not isinstance(block, Mapping) or not isinstance(block.get("columns"), Mapping):
            raise InvalidInput(f"{where}: expected an object with 'columns'")
        if block.get("version") != _VERSION:
            raise InvalidInput(f"{where}: version {block.get('version')!r} is not {_VERSION}; rebuild the baseline")
        columns: dict[str, ColumnSummary] = {}
        for name, column in block["columns"].items():
            at = f"{where} column {name!r}"
            kind = column.get("type") if isinstance(column, Mapping) else None
            if kind == "numeric":
                columns[str(name)] = NumericSummary.from_dict(column, at)
            elif kind == "categorical":
                columns[str(name)] = CategoricalSummary.from_dict(column, at)
            else:
                raise InvalidInput(f"{at}: type must be numeric or categorical, not {kind!r}")
        return cls(
            rows=int(block.get("rows", 0)),
            columns=columns,
            k=int(block.get("kll_k", SKETCH_K)),
            max_levels=int(block.get("max_levels", MAX_LEVELS)),
        )


def _copy(summary: ColumnSummary) -> ColumnSummary:
    if isinstance(summary, NumericSummary):
        sketch = _kll(summary.k)
        sketch.merge(summary.sketch)
        values = None if summary.values is None else summary.values.copy()
        return replace(summary, sketch=sketch, values=values)
    return replace(summary, counts=dict(summary.counts))


def _differ(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    return f"only in the first: {only_a or 'none'}; only in the second: {only_b or 'none'} (or a different order)"


def empty(kinds: Mapping[str, str], *, k: int = SKETCH_K, max_levels: int = MAX_LEVELS) -> Summary:
    """A summary of no rows of columns of the given kinds (``numeric`` or ``categorical``)."""
    columns: dict[str, ColumnSummary] = {
        name: NumericSummary(k=k) if kind == "numeric" else CategoricalSummary(max_levels=max_levels)
        for name, kind in kinds.items()
    }
    return Summary(rows=0, columns=columns, k=k, max_levels=max_levels)


def summarise_batch(
    batch: pa.RecordBatch | pa.Table,
    kinds: Mapping[str, str],
    *,
    k: int = SKETCH_K,
    max_levels: int = MAX_LEVELS,
    keep_values: bool = False,
) -> Summary:
    """The summary of one piece of rows (an Arrow batch whose numeric columns are numbers with missing values as
    null, and whose other columns are text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    summary = empty(kinds, k=k, max_levels=max_levels)
    summary.rows = batch.num_rows
    for name, column in summary.columns.items():
        array = batch.column(name)
        nulls = array.null_count
        present = pc.drop_null(array)
        if isinstance(column, NumericSummary):
            values = np.array(present.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
            finite = np.isfinite(values)
            if not finite.all():
                nulls += int((~finite).sum())
                values = values[finite]
            column.add(values, nulls, keep_values)
        else:
            counted = pc.value_counts(present.cast(pa.string()))
            values = counted.field("values").to_pylist()
            counts = counted.field("counts").to_pylist()
            column.add(dict(zip(values, counts, strict=True)), nulls)
    return summary


def column_kinds(frame: Frame, columns: Sequence[str] | None = None) -> dict[str, str]:
    """``numeric`` for number columns, ``categorical`` for text, categories, booleans and dates; other columns
    (nested, binary) are refused when named and left out otherwise."""
    chosen = list(frame.columns) if columns is None else list(columns)
    frame.require_columns(*chosen)
    kinds = {}
    for name in chosen:
        kind = column_kind(frame.schema[name])
        if kind in ("Integral", "Fractional"):
            kinds[name] = "numeric"
        elif kind == "String":
            kinds[name] = "categorical"
        elif columns is not None:
            raise InvalidInput(f"column {name!r} is of type {frame.schema[name]}: the drift check compares numbers "
                               "and text only; leave it out")  # fmt: skip
    return kinds


def _cleaned(frame: Frame, kinds: Mapping[str, str]) -> nw.LazyFrame[Any]:
    exprs = []
    for name, kind in kinds.items():
        value = clean(name, frame.schema[name])
        exprs.append((value.cast(nw.Float64) if kind == "numeric" else value.cast(nw.String)).alias(name))
    return frame.lazy.select(*exprs)


def batches(frame: Frame, kinds: Mapping[str, str], chunk_rows: int = CHUNK_ROWS) -> Iterator[pa.RecordBatch]:
    """The cleaned columns as Arrow batches of at most ``chunk_rows`` rows, read from the engine piece by piece
    (DuckDB streams them; other in-memory engines are collected, then cut)."""
    lazy = _cleaned(frame, kinds)
    native = lazy.to_native()
    if frame.engine == "duckdb":
        reader = native.to_arrow_reader(chunk_rows)
        yield from reader
        return
    table = lazy.collect().to_arrow()
    yield from table.to_batches(max_chunksize=chunk_rows)


def summarise(
    data: Any,
    columns: Sequence[str] | None = None,
    *,
    k: int = SKETCH_K,
    max_levels: int = MAX_LEVELS,
    keep_values: int = 0,
    chunk_rows: int = CHUNK_ROWS,
) -> Summary:
    """Summarise ``data`` (a path or a frame) on its engine: row chunks of ``chunk_rows`` from DuckDB, one piece per
    partition on Spark (built on the executors, merged on the driver), each piece summarised and the pieces merged.
    The values are kept (for the exact tests) when the data has at most ``keep_values`` rows."""
    if not 8 <= k <= 65_535:
        raise InvalidInput(f"the KLL sketch's k must lie in [8, 65535], not {k}")
    if max_levels < 1:
        raise InvalidInput(f"max_levels must be at least 1, not {max_levels}")
    frame = open_frame(data)
    kinds = column_kinds(frame, columns)
    if frame.engine == "pyspark":
        summary = _summarise_spark(frame, kinds, k=k, max_levels=max_levels)
    else:
        total = int(frame.lazy.select(nw.len()).collect().item()) if keep_values else 0
        keep = bool(keep_values) and total <= keep_values
        pieces: Iterable[Summary] = (
            summarise_batch(b, kinds, k=k, max_levels=max_levels, keep_values=keep)
            for b in batches(frame, kinds, chunk_rows)
        )
        summary = empty(kinds, k=k, max_levels=max_levels)
        for piece in pieces:
            summary = summary.merge(piece)
    summary.source = frame.source
    return summary


def _summarise_spark(frame: Frame, kinds: Mapping[str, str], *, k: int, max_levels: int) -> Summary:
    """One summary per Spark partition, built on the executor (``mapInArrow``) and sent to the driver serialised;
    merged there."""
    import json
    import warnings

    native = _cleaned(frame, kinds).to_native()
    wanted = dict(kinds)

    def per_partition(chunks: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        piece = empty(wanted, k=k, max_levels=max_levels)
        for chunk in chunks:
            piece = piece.merge(summarise_batch(chunk, wanted, k=k, max_levels=max_levels))
        yield pa.RecordBatch.from_pydict({"piece": [json.dumps(piece.to_dict())]})

    with warnings.catch_warnings():
        # mapInArrow checks the pandas version although it passes Arrow batches only (no pandas involved)
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
        rows = native.mapInArrow(per_partition, "piece string").collect()
    summary = empty(kinds, k=k, max_levels=max_levels)
    for row in rows:
        summary = summary.merge(Summary.from_dict(json.loads(row["piece"]), "a Spark partition's summary"))
    return summary
