"""The one grouped count pass, and the count tensors every facet entry is cut from."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np
from numpy.typing import NDArray

from assay.errors import InvalidInput
from assay.metrics import _roles
from assay.metrics._plan import _facet_expr, _Plan
from assay.metrics._stats import MISSING, grouped_counts


def _collapse(arr: NDArray[np.int64], axis: int, targets: NDArray[np.intp], size: int) -> NDArray[np.int64]:
    """Sum the slices of ``axis`` into ``size`` target slices (``targets[i]`` receives slice ``i``)."""
    moved = np.moveaxis(arr, axis, 0)
    out = np.zeros((size, *moved.shape[1:]), dtype=np.int64)
    np.add.at(out, targets, moved)
    return np.moveaxis(out, 0, axis)


@dataclass
class _Cells:
    """Counts by (joint facet level, label state, prediction state, group), label-missing rows dropped."""

    cells: NDArray[np.int64]  # (F, 2, 3, G + 1)
    facet_shape: tuple[int, ...]
    groups: tuple[Any, ...]
    has_group: bool
    missing_label: int
    total: int
    label_positives: tuple[Any, ...] | None
    fingerprint: str


def _count(plan: _Plan) -> _Cells:
    spec = plan.spec
    keys: dict[str, nw.Expr] = {fk.key: _facet_expr(plan, fk) for fk in plan.facets}
    keys["y"] = plan.label_expr
    if plan.pred_expr is not None:
        keys["p"] = plan.pred_expr
    if spec.group is not None:
        keys["g"] = nw.col(spec.group)
    table = grouped_counts(plan.frame, keys)
    if table.total == 0:
        raise InvalidInput(f"the data ({plan.frame.source}) has no rows")
    lv = dict(zip(table.keys, table.levels, strict=True))
    for fk in plan.facets:
        if not fk.thresholded:
            _roles.check_single_family(fk.facet.column, lv[fk.key])
            if fk.facet.values is not None:
                _roles.check_values_present(table, fk.key, fk.facet.column, fk.facet.values, "facet")
    label_col = spec.label.column
    positives: tuple[Any, ...] | None = None
    label_kind: str | None = None
    if plan.label_values is not None or spec.label.threshold is None:
        label_kind = _roles.check_single_family(label_col, lv["y"])
        if label_kind is None:
            raise InvalidInput(f"label {label_col!r} has no value in any row (every label is missing)")
        positives = _roles.label_positives(label_col, lv["y"], plan.label_values)
        if plan.label_values is not None:
            _roles.check_values_present(table, "y", label_col, positives, "label")
    y_state = _roles.state_map(lv["y"], positives)
    if not np.any(y_state != MISSING):
        raise InvalidInput(f"label {label_col!r} has no value in any row (every label is missing)")
    if "p" in lv and not plan.pred_is_state and spec.prediction is not None:
        pred_kind = _roles.check_single_family(spec.prediction.column, lv["p"])
        if pred_kind is not None and label_kind is not None and pred_kind != label_kind:
            raise InvalidInput(
                f"predicted label {spec.prediction.column!r} holds {pred_kind} values but label "
                f"{label_col!r} holds {label_kind}; both must use the same values"
            )
    p_state = (
        _roles.state_map(lv["p"], None if plan.pred_is_state else positives)
        if "p" in lv
        else np.zeros(0, dtype=np.intp)
    )
    dense = table.dense()
    nf = len(plan.facets)
    # label axis -> states 0/1/2
    arr = _collapse(dense, nf, y_state, 3)
    # prediction axis -> states (no prediction: one axis of "missing")
    if "p" in lv:
        arr = _collapse(arr, nf + 1, p_state, 3)
    else:
        arr = _collapse(np.expand_dims(arr, nf + 1), nf + 1, np.asarray([MISSING]), 3)
    # group axis, missing group last
    if spec.group is not None:
        groups = tuple(v for v in lv["g"] if v is not None)
        g_target = np.asarray([len(groups) if v is None else groups.index(v) for v in lv["g"]], dtype=np.intp)
        arr = _collapse(arr, nf + 2, g_target, len(groups) + 1)
    else:
        groups = ()
        arr = np.expand_dims(arr, nf + 2)
    missing_label = int(np.take(arr, MISSING, axis=nf).sum())
    arr = np.take(arr, [0, 1], axis=nf)
    facet_shape = tuple(arr.shape[:nf])
    cells = arr.reshape(-1, *arr.shape[nf:])
    for fk, levels in zip(plan.facets, table.levels[:nf], strict=True):
        fk.levels = levels
    canonical = json.dumps(
        {"keys": [str(k) for k in table.levels], "counts": dense.ravel().tolist()}, separators=(",", ":")
    )
    return _Cells(
        cells=cells,
        facet_shape=facet_shape,
        groups=groups,
        has_group=spec.group is not None,
        missing_label=missing_label,
        total=table.total,
        label_positives=positives,
        fingerprint="sha256:" + hashlib.sha256(canonical.encode()).hexdigest(),
    )


def _joint_mask(facet_shape: tuple[int, ...], parts: Sequence[tuple[int, NDArray[np.bool_]]]) -> NDArray[np.bool_]:
    mask = np.ones(facet_shape, dtype=bool)
    for axis, vector in parts:
        shape = [1] * len(facet_shape)
        shape[axis] = len(vector)
        mask = mask & vector.reshape(shape)
    return mask.ravel()


def _side_tensor(cells: NDArray[np.int64], mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """(2 sides a/d, 2 y, 3 p, G + 1) counts of facet d = ``mask`` against the rest."""
    d = cells[mask].sum(axis=0)
    a = cells[~mask].sum(axis=0)
    return np.stack([a, d])
