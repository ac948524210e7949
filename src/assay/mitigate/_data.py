"""Preparing the rows for a mitigation: read the label, facet and feature columns, drop rows without a label or a
facet value, sample, and split (stratified by label and group) into rows to fit on and rows held out."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay.errors import InvalidInput
from assay.frames import Facet, Label, coerce_values
from assay.frames import open as open_frame
from assay.mitigate._common import _same

__all__ = ["Prepared", "model_classes", "positives", "prepare"]

Ints = NDArray[np.int64]


@dataclass(frozen=True)
class Prepared:
    """The rows (label column dropped), 0/1 labels ``y``, facet d ``d``, and the split (row positions)."""

    rows: pd.DataFrame = field(repr=False)
    label: Label
    facet: Facet
    y: Ints = field(repr=False)
    d: NDArray[np.bool_] = field(repr=False)
    train: NDArray[np.intp] = field(repr=False)
    test: NDArray[np.intp] = field(repr=False)
    stratified: bool
    data: dict[str, Any]


def prepare(
    data: Any,
    *,
    label: Label,
    facet: Facet,
    features: Sequence[str],
    test_size: float = 0.3,
    seed: int = 0,
    sample: int | None = None,
) -> Prepared:
    """Read, clean, sample and split ``data`` (a CSV/Parquet path or a frame); label and facet values given as text
    are converted to their columns' types."""
    rows, label, facet, info = _read(data, label, facet, features, sample, seed)
    if label.column in features:
        raise InvalidInput(f"the label {label.column!r} is one of the model's features")
    y = _positives(rows, label)
    d = _facet_d(rows, facet)
    if len(np.unique(y)) < 2:
        raise InvalidInput(f"label {label.column!r}: every row has the same outcome; nothing to learn")
    if d.all() or not d.any():
        raise InvalidInput(f"facet {facet.column!r}: facet d must hold some rows but not all ({int(d.sum())})")
    train, test, stratified = _split(len(rows), y, d, test_size, seed)
    info["rows"].update(used=len(rows), train=len(train), test=len(test))
    kept = rows.drop(columns=[label.column])
    return Prepared(kept, label, facet, y, d, train, test, stratified, info)


def positives(labels: Any, positive_class: Any) -> Ints:
    """1 where a model's predicted label is its positive class, else 0."""
    return np.asarray([_same(v, positive_class) for v in np.asarray(labels)], dtype=np.int64)


def model_classes(estimator: Any, label: Label) -> tuple[Any, Any]:
    """The estimator's classes for the positive and the negative label: the positive one is one of the label's
    values, else 1 (True) for a 0/1 model."""
    classes = list(np.asarray(getattr(estimator, "classes_", [0, 1])))
    if len(classes) != 2:
        raise InvalidInput(f"mitigation needs a binary classifier; the model has classes {classes}")
    hits = [i for i, c in enumerate(classes) if label.values is not None and any(_same(c, v) for v in label.values)]
    if len(hits) == 1:
        return classes[hits[0]], classes[1 - hits[0]]
    if len(hits) == 2:
        raise InvalidInput(f"both classes of the model ({classes}) are positive values of the label")
    if {str(c).lower() for c in classes} <= {"0", "1", "true", "false"}:
        return classes[1], classes[0]
    raise InvalidInput(
        f"cannot tell which class of the model is the positive label: its classes are {classes}, the label's "
        f"positive values {list(label.values or ())}"
    )


def _read(
    data: Any, label: Label, facet: Facet, features: Sequence[str], sample: int | None, seed: int
) -> tuple[pd.DataFrame, Label, Facet, dict[str, Any]]:
    frame = open_frame(data)
    columns = list(dict.fromkeys([label.column, facet.column, *features]))
    frame.require_columns(*columns)
    schema = frame.schema
    if label.values is not None:
        label = Label(label.column, coerce_values(label.values, schema[label.column], label.column))
    if facet.values is not None:
        facet = Facet(facet.column, coerce_values(facet.values, schema[facet.column], facet.column))
    rows = frame.lazy.select(columns).collect().to_pandas().reset_index(drop=True)
    read = len(rows)
    rows = rows[rows[label.column].notna() & rows[facet.column].notna()].reset_index(drop=True)
    missing = read - len(rows)
    if sample is not None:
        if sample < 10:
            raise InvalidInput(f"sample must be at least 10 rows, not {sample}")
        if len(rows) > sample:
            rows = rows.sample(n=sample, random_state=seed).reset_index(drop=True)
    digest = hashlib.sha256(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes()).hexdigest()
    info = {
        "source": frame.source,
        "engine": frame.engine,
        "fingerprint": f"sha256:{digest}",
        "rows": {"read": read, "missing_label_or_facet": missing, "sample": sample},
    }
    return rows, label, facet, info


def _positives(rows: pd.DataFrame, label: Label) -> Ints:
    column = rows[label.column]
    if label.threshold is not None:
        numeric = pd.to_numeric(column, errors="coerce")
        if numeric.isna().any():
            raise InvalidInput(f"label {label.column!r} with a threshold must be numeric")
        return np.asarray(numeric > label.threshold, dtype=np.int64)
    if label.values is None:
        values = set(pd.unique(column).tolist())
        if not values <= {0, 1}:
            shown = ", ".join(str(v) for v in sorted(values, key=str)[:6])
            raise InvalidInput(f"label {label.column!r} is not 0/1 (values: {shown}): give COL=POSITIVE_VALUE")
        return np.asarray(column.astype(int), dtype=np.int64)
    return np.asarray(column.isin(list(label.values)), dtype=np.int64)


def _facet_d(rows: pd.DataFrame, facet: Facet) -> NDArray[np.bool_]:
    column = rows[facet.column]
    if facet.threshold is not None:
        numeric = pd.to_numeric(column, errors="coerce")
        if numeric.isna().any():
            raise InvalidInput(f"facet {facet.column!r} with a threshold must be numeric")
        return np.asarray(numeric > facet.threshold, dtype=np.bool_)
    return np.asarray(column.isin(list(facet.values or ())), dtype=np.bool_)


def _split(
    n: int, y: Ints, d: NDArray[np.bool_], test_size: float, seed: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], bool]:
    from sklearn.model_selection import train_test_split

    if not 0 < test_size < 1:
        raise InvalidInput(f"test size must lie strictly between 0 and 1, not {test_size}")
    index = np.arange(n)
    strata = y * 2 + d.astype(np.int64)
    try:
        train, test = train_test_split(index, test_size=test_size, random_state=seed, stratify=strata)
        stratified = True
    except ValueError:  # a (label, group) cell with fewer than two rows
        try:
            train, test = train_test_split(index, test_size=test_size, random_state=seed)
        except ValueError:  # a part would be empty
            raise InvalidInput(
                f"the data has too few rows ({n}) to split with test size {test_size}: a part would be empty"
            ) from None
        stratified = False
    for name, part in (("training", train), ("test", test)):
        if len(np.unique(y[part])) < 2 or len(np.unique(d[part])) < 2:
            raise InvalidInput(
                f"the {name} split lacks a label value or a facet group: the data has too few rows "
                f"({n}) for test size {test_size}"
            )
    return np.sort(train), np.sort(test), stratified
