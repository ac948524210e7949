"""A profile of a dataset in SageMaker Model Monitor's ``statistics.json`` format, computed on the engine.

One aggregation pass gives, for every column, the numbers of present and missing values, and the sum, mean,
standard deviation (population), minimum and maximum of numeric columns and the distinct count of the others.
Then one grouped pass per column: numeric columns are counted in 1,000 equal-width bins between their minimum and
maximum (with each bin's largest value), text columns by value (the most frequent ``max_categories`` values).
Only those small tables are collected.

From the bins come Model Monitor's 10 KLL buckets (exact sums of 100 fine bins each) and the KLL ``sketch``:
every row is represented by the largest value of its bin, and each bin's count is written in binary over the
sketch's levels (an item on level ``h`` weighs ``2**h``), so the sketch's weighted items are exactly that
1,000-bin summary and any reader of KLL sketches (including Assay's drift check) rebuilds its distribution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import narwhals as nw
import numpy as np
from numpy.typing import NDArray

from assay.checks._common import (
    DataInfo,
    Kind,
    as_number,
    clean,
    column_kind,
    data_info,
    envelope,
    json_float,
    now,
)
from assay.errors import InvalidInput
from assay.frames import Frame
from assay.frames import open as open_frame

__all__ = ["FINE_BINS", "KLL_PARAMETERS", "Profile", "Sketch", "profile", "sketch_of"]

FINE_BINS: Final = 1000
BUCKETS: Final = 10  # "By default, we materialize the distribution in 10 buckets" (Model Monitor)
KLL_PARAMETERS: Final = {"c": 0.64, "k": 2048}  # Deequ's KLL defaults (shrinking factor, sketch size)
MAX_CATEGORIES: Final = 1000
_N = "__assay_n"
_V = "__assay_v"
_BIN = "__assay_bin"
_TOP = "__assay_top"
_COLUMN = "__assay_column"


@dataclass(frozen=True)
class Profile:
    """A dataset's profile: ``statistics`` is the ``statistics.json`` document (Model Monitor, version 0)."""

    data: DataInfo
    statistics: dict[str, Any]
    max_categories: int
    created_at: str

    @property
    def features(self) -> list[dict[str, Any]]:
        return list(self.statistics["features"])

    def to_dict(self) -> dict[str, Any]:
        """The ``assay.data-check`` document: a summary of every feature (type, completeness, range or
        distinct count); the full profile is ``statistics``."""
        rows = []
        for feature in self.features:
            stats = feature.get("numerical_statistics") or feature.get("string_statistics") or {}
            common = stats.get("common", {})
            present, missing = int(common.get("num_present", 0)), int(common.get("num_missing", 0))
            row: dict[str, Any] = {
                "name": feature["name"],
                "inferred_type": feature["inferred_type"],
                "num_present": present,
                "num_missing": missing,
                "completeness": json_float(present / (present + missing)) if present + missing else None,
            }
            if "numerical_statistics" in feature:
                row |= {key: stats.get(key) for key in ("mean", "std_dev", "min", "max")}
            else:
                row["distinct_count"] = stats.get("distinct_count")
            rows.append(row)
        return envelope(
            "baseline",
            data=self.data,
            spec={"max_categories": self.max_categories, "fine_bins": FINE_BINS},
            passed=True,
            summary=f"{len(rows)} features profiled over {self.data.rows} rows",
            result={"item_count": self.data.rows, "features": rows},
            created_at=self.created_at,
        )


def _integral(value: float | None, kind: Kind) -> float | int | None:
    if value is None:
        return None
    return int(value) if kind == "Integral" and float(value).is_integer() else float(value)


def profile(data: Any, *, max_categories: int = MAX_CATEGORIES) -> Profile:
    """Profile ``data`` (a path or a frame) on its engine into Model Monitor's ``statistics.json``."""
    if max_categories < 1:
        raise InvalidInput(f"max_categories must be at least 1, not {max_categories}")
    frame = open_frame(data)
    kinds = {name: column_kind(dtype) for name, dtype in frame.schema.items()}
    aggregates: list[nw.Expr] = [nw.len().alias(_N)]
    for i, (name, dtype) in enumerate(frame.schema.items()):
        value = clean(name, dtype)
        aggregates.append(value.count().alias(f"p{i}"))
        if kinds[name] in ("Integral", "Fractional"):
            aggregates += [
                value.sum().alias(f"sum{i}"),
                value.mean().alias(f"mean{i}"),
                value.std(ddof=0).alias(f"std{i}"),
                value.min().alias(f"min{i}"),
                value.max().alias(f"max{i}"),
            ]
        elif kinds[name] == "String":
            aggregates.append(value.n_unique().alias(f"nu{i}"))
    row = frame.lazy.select(*aggregates).collect().to_dict(as_series=False)
    total = int(row[_N][0])
    if total == 0:
        raise InvalidInput(f"the data ({frame.source}) has no rows: there is nothing to profile")
    ranges: dict[str, tuple[float | None, float | None]] = {}
    for i, (name, _dtype) in enumerate(frame.schema.items()):
        if kinds[name] in ("Integral", "Fractional") and int(row[f"p{i}"][0]):
            ranges[name] = (as_number(row[f"min{i}"][0]), as_number(row[f"max{i}"][0]))
    text = [name for name in frame.columns if kinds[name] == "String" and int(row[f"p{frame.columns.index(name)}"][0])]
    bins = _fine_bins(frame, ranges)
    tops = _top_values(frame, text, max_categories)
    features = []
    for i, (name, _dtype) in enumerate(frame.schema.items()):
        kind = kinds[name]
        present = int(row[f"p{i}"][0])
        common = {"num_present": present, "num_missing": total - present}
        feature: dict[str, Any] = {"name": name, "inferred_type": kind}
        if kind in ("Integral", "Fractional"):
            low, high = as_number(row[f"min{i}"][0]), as_number(row[f"max{i}"][0])
            feature["numerical_statistics"] = {
                "common": common,
                "mean": json_float(as_number(row[f"mean{i}"][0]), 12),
                "sum": _integral(as_number(row[f"sum{i}"][0]), kind),
                "std_dev": json_float(as_number(row[f"std{i}"][0]), 12),
                "min": _integral(low, kind),
                "max": _integral(high, kind),
                "distribution": {"kll": _kll(bins.get(name), low, high, kind)},
            }
        else:
            distinct = int(row[f"nu{i}"][0]) - (1 if present < total else 0) if kind == "String" else 0
            feature["string_statistics"] = {
                "common": common,
                "distinct_count": distinct,
                "distribution": {"categorical": {"buckets": tops.get(name, [])}},
            }
        features.append(feature)
    statistics = {"version": 0, "dataset": {"item_count": total}, "features": features}
    return Profile(
        data=data_info(frame, rows=total), statistics=statistics, max_categories=max_categories, created_at=now()
    )


def _fine_bins(
    frame: Frame, ranges: Mapping[str, tuple[float | None, float | None]]
) -> dict[str, tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]]:
    """For every numeric column, counts of its present values in ``FINE_BINS`` equal-width bins of [min, max], with
    each bin's largest value: (bin index, count, largest value). One grouped query per column, sent to the engine
    as one union."""
    parts = []
    v = nw.col(_V)
    for i, (name, (low, high)) in enumerate(ranges.items()):
        if low is None or high is None:
            continue
        if high > low:
            index = ((v - low) / (high - low) * FINE_BINS).floor().clip(0, FINE_BINS - 1).cast(nw.Int64)
        else:
            index = nw.lit(0, nw.Int64)
        parts.append(
            frame.lazy.select(clean(name, frame.schema[name]).cast(nw.Float64).alias(_V))
            .filter(~v.is_null())
            .select(v, index.alias(_BIN))
            .group_by(_BIN)
            .agg(nw.len().alias(_N), v.max().alias(_TOP))
            .select(nw.lit(i, nw.Int64).alias(_COLUMN), nw.col(_BIN), nw.col(_N).cast(nw.Int64), nw.col(_TOP))
        )
    if not parts:
        return {}
    table = nw.concat(parts).collect().to_dict(as_series=False)
    names = list(ranges)
    out = {}
    which = np.asarray(table[_COLUMN], dtype=np.int64)
    index_all = np.asarray(table[_BIN], dtype=np.int64)
    counts_all = np.asarray(table[_N], dtype=np.int64)
    tops_all = np.asarray([as_number(t) for t in table[_TOP]], dtype=np.float64)
    for i, name in enumerate(names):
        rows = np.flatnonzero(which == i)
        order = rows[np.argsort(index_all[rows], kind="stable")]
        out[name] = (index_all[order], counts_all[order], tops_all[order])
    return out


def _kll(
    bins: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]] | None,
    low: float | None,
    high: float | None,
    kind: Kind,
) -> dict[str, Any]:
    if bins is None or low is None or high is None:
        return {"buckets": [], "sketch": {"parameters": dict(KLL_PARAMETERS), "data": []}}
    index, counts, tops = bins
    coarse = np.bincount(np.minimum(index * BUCKETS // FINE_BINS, BUCKETS - 1), weights=counts, minlength=BUCKETS)
    width = (high - low) / BUCKETS
    buckets = [
        {
            "lower_bound": json_float(low + j * width, 12),
            "upper_bound": json_float(high if j == BUCKETS - 1 else low + (j + 1) * width, 12),
            "count": int(coarse[j]),
        }
        for j in range(BUCKETS)
    ]
    levels: list[list[float | int]] = []
    for count, top in zip(counts.tolist(), tops.tolist(), strict=True):
        item = _integral(top, kind)
        assert item is not None
        h = 0
        while count:
            if count & 1:
                while len(levels) <= h:
                    levels.append([])
                levels[h].append(item)
            count >>= 1
            h += 1
    return {"buckets": buckets, "sketch": {"parameters": dict(KLL_PARAMETERS), "data": levels}}


def _top_values(frame: Frame, columns: Sequence[str], limit: int) -> dict[str, list[dict[str, Any]]]:
    """The ``limit`` most frequent values of every text column with their counts (ties by value), one grouped query
    per column, sent to the engine as one union."""
    parts = [
        frame.lazy.select(clean(name, frame.schema[name]).alias(_V))
        .filter(~nw.col(_V).is_null())
        .group_by(_V)
        .agg(nw.len().alias(_N))
        .sort([_N, _V], descending=[True, False])
        .head(limit)
        .select(nw.lit(i, nw.Int64).alias(_COLUMN), nw.col(_V).cast(nw.String), nw.col(_N).cast(nw.Int64))
        for i, name in enumerate(columns)
    ]
    if not parts:
        return {}
    table = nw.concat(parts).collect().to_dict(as_series=False)
    out: dict[str, list[tuple[int, str]]] = {name: [] for name in columns}
    for i, value, n in zip(table[_COLUMN], table[_V], table[_N], strict=True):
        out[columns[int(i)]].append((int(n), str(value)))
    return {
        name: [{"value": v, "count": n} for n, v in sorted(pairs, key=lambda p: (-p[0], p[1]))]
        for name, pairs in out.items()
    }


@dataclass(frozen=True)
class Sketch:
    """A weighted sample of a numeric distribution (a KLL sketch's items with weights ``2**level``)."""

    items: NDArray[np.float64]  # sorted
    cumulative: NDArray[np.float64]  # cumulative weight up to and including each item

    @property
    def weight(self) -> float:
        return float(self.cumulative[-1]) if len(self.cumulative) else 0.0

    def cdf(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        """Share of the weight at or below each point."""
        if not len(self.items):
            return np.zeros(len(points))
        at = np.searchsorted(self.items, points, side="right")
        below = np.concatenate([[0.0], self.cumulative])[at]
        return np.asarray(below / self.weight, dtype=np.float64)

    def cdf_ceiling(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        """The largest share of the weight that can be at or below each point: an item stands for the rows between
        the item before it (excluded) and itself (a fine bin's rows up to its largest value, a KLL item's share of
        the ranks), so a point between two items may have every row of the next item below it. At an item it is
        :meth:`cdf`: the true CDF lies between :meth:`cdf` and this."""
        if not len(self.items):
            return np.zeros(len(points))
        at = np.searchsorted(self.items, points, side="left")  # the first item at or above the point
        beyond = at == len(self.items)
        following = self.items[np.minimum(at, len(self.items) - 1)]
        return np.where(beyond, 1.0, self.cdf(following))  # an item may repeat (one copy per level)


def sketch_of(numerical: Mapping[str, Any], where: str) -> Sketch | None:
    """The distribution of a ``numerical_statistics`` block: its KLL sketch, else its buckets (each bucket's
    count at its upper bound); None when it has neither."""
    kll = (numerical.get("distribution") or {}).get("kll") or {}
    data = (kll.get("sketch") or {}).get("data")
    items: list[float] = []
    weights: list[float] = []
    if isinstance(data, Sequence) and any(isinstance(level, Sequence) and level for level in data):
        for h, level in enumerate(data):
            if not isinstance(level, Sequence) or isinstance(level, str):
                raise InvalidInput(f"{where}: kll sketch data must be a list of lists of numbers")
            items += [_number(v, where) for v in level]
            weights += [2.0**h] * len(level)
    else:
        for bucket in kll.get("buckets") or []:
            if not isinstance(bucket, Mapping) or "upper_bound" not in bucket or "count" not in bucket:
                raise InvalidInput(f"{where}: each kll bucket needs upper_bound and count")
            items.append(_number(bucket["upper_bound"], where))
            weights.append(_number(bucket["count"], where))
    if not items or sum(weights) <= 0:
        return None
    order = np.argsort(np.asarray(items, dtype=np.float64), kind="stable")
    sorted_items = np.asarray(items, dtype=np.float64)[order]
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64)[order])
    return Sketch(items=sorted_items, cumulative=cumulative)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{where}: expected a number, found {value!r}")
    return float(value)
