"""Leakage: rows shared between two datasets (e.g. training and test), and single features that give the label
away (target leakage).

Shared rows: each row becomes one text key (the compared columns as text, a missing value marked, separated by a
control character) on its own engine; the distinct keys of the smaller dataset are collected and looked up in the
other dataset on its engine, so only the smaller dataset's distinct keys and the matches travel.

Target leakage: for every feature, one grouped pass counts rows by (feature value, label) on the engine; numeric
features with more than ``max_bins`` distinct values are counted in ``max_bins`` equal-width bins. From those counts,
exactly: the ROC AUC of the feature's own order (either direction), and the ROC AUC of the feature target-encoded
leave-one-out (each row scored by the positive rate of the other rows of its value; two rows of the same value
tie), which catches a categorical or non-monotone give-away while an identifier (one row per value) scores 0.5.
A feature whose best ROC AUC is at least ``threshold`` (default 0.99) is flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import narwhals as nw
import numpy as np
from numpy.typing import NDArray

from assay.checks._common import (
    DataInfo,
    as_number,
    check_share,
    clean,
    column_kind,
    data_info,
    envelope,
    json_float,
    now,
    require_columns,
    require_rows,
)
from assay.checks._label import as_label, binary_label
from assay.checks.duplicates import key_columns
from assay.errors import InvalidInput
from assay.frames import Frame, Label
from assay.frames import open as open_frame
from assay.frames.roles import is_nested

__all__ = ["FeatureLeak", "SharedRows", "TargetLeakage", "roc_auc_from_counts", "shared_rows", "target_leakage"]

MAX_EXAMPLES: Final = 10
_KEY = "__assay_key"
_N = "__assay_n"
_Y = "__assay_y"
_X = "__assay_x"
_NULL = "\x00"
_SEP = "\x1f"


@dataclass(frozen=True)
class SharedRows:
    """Rows of ``data`` that also occur in ``reference`` (equal on ``columns``)."""

    data: DataInfo
    reference: DataInfo
    columns: tuple[str, ...]
    data_rows_shared: int
    reference_rows_shared: int
    distinct_rows_shared: int
    positions: tuple[int, ...]
    max_share: float
    created_at: str

    @property
    def share(self) -> float:
        return self.data_rows_shared / self.data.rows if self.data.rows else 0.0

    @property
    def passed(self) -> bool:
        return self.share <= self.max_share

    def to_dict(self) -> dict[str, Any]:
        return envelope(
            "leakage",
            data=self.data,
            reference=self.reference,
            spec={"columns": list(self.columns), "max_share": self.max_share},
            passed=self.passed,
            summary=f"{self.data_rows_shared} rows of the data ({self.share:.2%}) also occur in the reference",
            result={
                "data_rows_shared": self.data_rows_shared,
                "share": json_float(self.share),
                "reference_rows_shared": self.reference_rows_shared,
                "reference_share": json_float(
                    self.reference_rows_shared / self.reference.rows if self.reference.rows else 0.0
                ),
                "distinct_rows_shared": self.distinct_rows_shared,
                "example_positions": list(self.positions),
            },
            created_at=self.created_at,
        )


def _row_key(frame: Frame, columns: Sequence[str], as_float: set[str]) -> nw.Expr:
    parts = []
    for column in columns:
        value = clean(column, frame.schema[column])
        if column in as_float:
            value = value.cast(nw.Float64)
        parts.append(value.cast(nw.String).fill_null(_NULL))
    return nw.concat_str(parts, separator=_SEP) if len(parts) > 1 else parts[0]


def shared_rows(
    data: Any,
    reference: Any,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    max_share: float = 0.0,
) -> SharedRows:
    """Rows of ``data`` that also occur in ``reference``, compared on ``columns`` (default: the columns both have,
    but ``exclude``, e.g. the label). Integer and float columns compare as numbers; a column that is text in one
    dataset and a number in the other compares as text. Passes when the share of shared rows of ``data`` is at
    most ``max_share``."""
    check_share(max_share)
    frame, other = open_frame(data), open_frame(reference)
    if columns is None:
        require_columns(frame, exclude)
        common = [c for c in frame.columns if c in other.schema]
        if not common:
            raise InvalidInput(f"{frame.source} and {other.source} have no column in common")
        keys = key_columns(frame, common, exclude)
    else:
        keys = key_columns(frame, columns, exclude)
        require_columns(other, keys)
    kinds = {c: (column_kind(frame.schema[c]), column_kind(other.schema[c])) for c in keys}
    numeric = {"Integral", "Fractional"}
    as_float = {c for c, (a, b) in kinds.items() if a != b and a in numeric and b in numeric}
    key_a, key_b = _row_key(frame, keys, as_float), _row_key(other, keys, as_float)
    info, ref_info = data_info(frame), data_info(other)
    require_rows(info)
    require_rows(ref_info, "the reference")
    small, big, small_key, big_key = (
        (frame, other, key_a, key_b) if info.rows <= ref_info.rows else (other, frame, key_b, key_a)
    )
    distinct = small.lazy.select(small_key.alias(_KEY)).unique().collect().to_dict(as_series=False)[_KEY]
    matched = (
        big.lazy.select(big_key.alias(_KEY))
        .filter(nw.col(_KEY).is_in(distinct))
        .group_by(_KEY)
        .agg(nw.len().alias(_N))
        .collect()
        .to_dict(as_series=False)
    )
    shared_keys = list(matched[_KEY])
    big_rows = int(sum(matched[_N]))
    flags = np.asarray(
        frame.lazy.select(key_a.is_in(shared_keys).alias(_KEY)).collect().to_dict(as_series=False)[_KEY],
        dtype=bool,
    )
    data_shared = int(flags.sum())
    if small is frame:
        reference_shared = big_rows
    else:
        reference_shared = int(
            other.lazy.select(key_b.is_in(shared_keys).cast(nw.Int64).sum().alias(_N)).collect().item()
        )
    return SharedRows(
        data=info,
        reference=ref_info,
        columns=keys,
        data_rows_shared=data_shared,
        reference_rows_shared=reference_shared,
        distinct_rows_shared=len(shared_keys),
        positions=tuple(int(i) for i in np.flatnonzero(flags)[:MAX_EXAMPLES]),
        max_share=max_share,
        created_at=now(),
    )


@dataclass(frozen=True)
class FeatureLeak:
    """How well one feature alone predicts the label: ROC AUC by its order and target-encoded (leave-one-out)."""

    feature: str
    kind: str
    groups: int
    binned: bool
    rows: int
    auc_order: float | None
    auc_encoded: float
    threshold: float

    @property
    def auc(self) -> float:
        return max(self.auc_encoded, self.auc_order if self.auc_order is not None else 0.0)

    @property
    def leaks(self) -> bool:
        return self.auc >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "inferred_type": self.kind,
            "roc_auc": json_float(self.auc),
            "roc_auc_order": json_float(self.auc_order),
            "roc_auc_target_encoded": json_float(self.auc_encoded),
            "groups": self.groups,
            "binned": self.binned,
            "rows": self.rows,
            "leaks": self.leaks,
        }


@dataclass(frozen=True)
class TargetLeakage:
    data: DataInfo
    label: dict[str, Any]
    features: tuple[FeatureLeak, ...]
    threshold: float
    max_bins: int
    created_at: str

    @property
    def leaking(self) -> tuple[FeatureLeak, ...]:
        return tuple(f for f in self.features if f.leaks)

    def to_dict(self) -> dict[str, Any]:
        leaking = [f.feature for f in self.leaking]
        return envelope(
            "target-leakage",
            data=self.data,
            spec={"label": self.label, "threshold": self.threshold, "max_bins": self.max_bins},
            passed=not leaking,
            summary=(
                f"{len(leaking)} of {len(self.features)} features predict the label alone with ROC AUC >= "
                f"{self.threshold}" + (f": {', '.join(leaking)}" if leaking else "")
            ),
            result={
                "leaking_features": leaking,
                "features": [f.to_dict() for f in sorted(self.features, key=lambda f: -f.auc)],
            },
            created_at=self.created_at,
        )


def roc_auc_from_counts(scores: NDArray[np.float64], positives: NDArray[Any], negatives: NDArray[Any]) -> float | None:
    """ROC AUC of cells (score, positive rows, negative rows): the probability that a random positive scores above
    a random negative, ties counting one half (the Mann-Whitney statistic). None without both classes."""
    pos_total, neg_total = float(np.sum(positives)), float(np.sum(negatives))
    if pos_total == 0 or neg_total == 0:
        return None
    unique, inverse = np.unique(scores, return_inverse=True)
    pos = np.bincount(inverse, weights=positives, minlength=len(unique))
    neg = np.bincount(inverse, weights=negatives, minlength=len(unique))
    below = np.concatenate([[0.0], np.cumsum(neg)[:-1]])
    return float(np.sum(pos * (below + 0.5 * neg)) / (pos_total * neg_total))


def _encoded_auc(pos: NDArray[np.float64], neg: NDArray[np.float64]) -> float:
    """ROC AUC of leave-one-out target encoding from per-group counts (a single-row group scores the prior).

    Leave-one-out scores every positive of a group just below every negative of the same group; such pairs are
    counted as ties (one half), as the feature cannot tell them apart."""
    n = pos + neg
    prior = float(pos.sum() / n.sum())
    many = n > 1
    denominator = np.where(many, n - 1, 1.0)
    score_pos = np.where(many, (pos - 1) / denominator, prior)
    score_neg = np.where(many, pos / denominator, prior)
    scores = np.concatenate([score_pos, score_neg])
    auc = roc_auc_from_counts(
        scores, np.concatenate([pos, np.zeros_like(neg)]), np.concatenate([np.zeros_like(pos), neg])
    )
    assert auc is not None
    return auc + 0.5 * float(np.sum(pos * neg)) / float(pos.sum() * neg.sum())


def target_leakage(
    data: Any,
    label: str | Label,
    *,
    positive: Any = None,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    threshold: float = 0.99,
    max_bins: int = 1000,
) -> TargetLeakage:
    """Flag features of ``data`` that predict ``label`` alone with ROC AUC >= ``threshold``; computed on the
    engine from counts by (feature value or bin, label) for every feature (default: all but the label and
    ``exclude``)."""
    if not 0.5 <= threshold <= 1.0:
        raise InvalidInput(f"threshold must lie in [0.5, 1], not {threshold}")
    if max_bins < 2:
        raise InvalidInput(f"max_bins must be at least 2, not {max_bins}")
    frame = open_frame(data)
    spec_label = as_label(label, positive)
    y, label_spec = binary_label(frame, spec_label)
    require_columns(frame, list(features or []) + list(exclude))
    chosen = [c for c in (features or frame.columns) if c != spec_label.column and c not in set(exclude)]
    if not chosen:
        raise InvalidInput("no features to check: every column is the label or excluded")
    for c in chosen:
        if is_nested(frame.schema[c]):
            raise InvalidInput(
                f"feature {c!r} is {frame.schema[c]}: a nested column cannot be grouped; leave it out (exclude it)"
            )
    numeric = [c for c in chosen if column_kind(frame.schema[c]) in ("Integral", "Fractional")]
    ranges: dict[str, tuple[int, float | None, float | None]] = {}
    if numeric:
        aggregates = []
        for i, c in enumerate(numeric):
            value = clean(c, frame.schema[c])
            aggregates += [value.n_unique().alias(f"u{i}"), value.min().alias(f"l{i}"), value.max().alias(f"h{i}")]
        row = frame.lazy.select(*aggregates).collect().to_dict(as_series=False)
        for i, c in enumerate(numeric):
            ranges[c] = (int(row[f"u{i}"][0]), as_number(row[f"l{i}"][0]), as_number(row[f"h{i}"][0]))
    results = []
    for column in chosen:
        dtype = frame.schema[column]
        value = clean(column, dtype)
        binned = False
        if column in ranges:
            distinct, low, high = ranges[column]
            if distinct > max_bins + 1 and low is not None and high is not None and high > low:
                value = ((value - low) / (high - low) * max_bins).floor().clip(0, max_bins - 1)
                binned = True
        table = (
            frame.lazy.select(value.alias(_X), y.alias(_Y))
            .filter(~nw.col(_Y).is_null())
            .group_by(_X, _Y)
            .agg(nw.len().alias(_N))
            .collect()
            .to_dict(as_series=False)
        )
        results.append(_feature_leak(column, column_kind(dtype), binned, table, threshold))
    return TargetLeakage(
        data=data_info(frame),
        label=label_spec,
        features=tuple(results),
        threshold=threshold,
        max_bins=max_bins,
        created_at=now(),
    )


def _feature_leak(column: str, kind: str, binned: bool, table: dict[str, list[Any]], threshold: float) -> FeatureLeak:
    groups: dict[Any, list[float]] = {}
    for x, label, n in zip(table[_X], table[_Y], table[_N], strict=True):
        key = None if x is None or (isinstance(x, float) and np.isnan(x)) else x
        cell = groups.setdefault(key, [0.0, 0.0])
        cell[0 if int(label) == 1 else 1] += float(n)
    keys = list(groups)
    pos = np.asarray([groups[k][0] for k in keys])
    neg = np.asarray([groups[k][1] for k in keys])
    auc_order = None
    if kind in ("Integral", "Fractional"):
        present = [i for i, k in enumerate(keys) if k is not None]
        if present:
            scores = np.asarray([float(keys[i]) for i in present])
            auc = roc_auc_from_counts(scores, pos[present], neg[present])
            auc_order = None if auc is None else max(auc, 1.0 - auc)
    return FeatureLeak(
        feature=column,
        kind=kind,
        groups=len(keys),
        binned=binned,
        rows=int(pos.sum() + neg.sum()),
        auc_order=auc_order,
        auc_encoded=_encoded_auc(pos, neg),
        threshold=threshold,
    )
