"""The bias assessment: one grouped pass on the engine, then numpy on the small count table.

Flow: validate the spec against the schema -> (with a score: one pass over (facets, label, score) for the
score metrics and the score range) -> one pass over (facets, label, prediction, group) counts -> facet
entries (one-vs-all, given values, thresholds, intersections) -> Clarify metrics with bootstrap intervals
-> per-group performance -> the flip test on the feature rows (only when FT is asked for).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import product
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay._version import __version__
from assay.errors import InvalidInput
from assay.frames import Facet, Frame, coerce_values
from assay.frames.roles import describe_values, is_numeric
from assay.metrics import _roles
from assay.metrics._stats import MISSING, CountTable, grouped_counts, threshold_state
from assay.metrics.bias import METRICS, Counts
from assay.metrics.bootstrap import interval, resample
from assay.metrics.flip import flip_test
from assay.metrics.performance import rates, score_metrics
from assay.metrics.results import Assessment, FacetEntry, GroupPerformance, MetricResult, Warning
from assay.metrics.spec import BiasSpec

__all__ = ["Progress", "assess_bias"]

Progress = Callable[[str], None]
_RATE_CI = ("base_rate", "selection_rate", "accuracy", "precision", "recall", "fpr", "fnr", "f1")


@dataclass
class _FacetKey:
    facet: Facet
    key: str
    thresholded: bool
    levels: tuple[Any, ...] = ()

    def level_name(self, value: Any) -> str:
        if self.thresholded:
            return {0: f"<= {self.facet.threshold:g}", 1: f"> {self.facet.threshold:g}"}.get(value, "null")
        return "null" if value is None else str(value)

    def d_sets(self) -> list[tuple[str, NDArray[np.bool_]]]:
        """The facet-d level sets of this facet: given values, the threshold, or each level (one-vs-all)."""
        lv = self.levels
        if self.thresholded:
            return [(f"> {self.facet.threshold:g}", np.asarray([v == 1 for v in lv]))]
        if self.facet.values is not None:
            wanted = set(self.facet.values)
            mask = np.asarray([v is not None and v in wanted for v in lv])
            return [(describe_values(self.facet.values), mask)]
        return [(self.level_name(v), np.asarray([w == v for w in lv], dtype=bool)) for v in lv]


@dataclass
class _Plan:
    frame: Frame
    spec: BiasSpec
    facets: list[_FacetKey]
    label_expr: nw.Expr
    label_values: tuple[Any, ...] | None  # None: the label key is already a 0/1/missing state
    pred_expr: nw.Expr | None
    pred_is_state: bool


def _plan(frame: Frame, spec: BiasSpec) -> _Plan:
    label = spec.label
    frame.require_columns(
        label.column,
        *(f.column for f in spec.facets),
        spec.prediction.column if spec.prediction else None,
        spec.score.column if spec.score else None,
        spec.group,
        *(spec.features or ()),
    )
    schema = frame.schema
    if label.threshold is not None:
        if not is_numeric(schema[label.column]):
            raise InvalidInput(f"label {label.column!r} is {schema[label.column]}; a threshold needs numbers")
        label_expr = threshold_state(label.column, schema[label.column], label.threshold)
        label_values = None
    else:
        label_expr = nw.col(label.column)
        label_values = None if label.values is None else coerce_values(label.values, schema[label.column], label.column)
    facets = []
    for i, f in enumerate(spec.facets):
        dtype = schema[f.column]
        if f.threshold is not None:
            if not is_numeric(dtype):
                raise InvalidInput(f"facet {f.column!r} is {dtype}; a threshold needs a numeric column")
            facets.append(_FacetKey(f, f"f{i}", True))
        else:
            values = None if f.values is None else coerce_values(f.values, dtype, f.column)
            facets.append(_FacetKey(Facet(f.column, values), f"f{i}", False))
    pred_expr: nw.Expr | None = None
    pred_is_state = False
    if spec.score is not None:
        dtype = schema[spec.score.column]
        if not is_numeric(dtype):
            raise InvalidInput(f"score {spec.score.column!r} is {dtype}; a score must be a probability")
        pred_expr, pred_is_state = threshold_state(spec.score.column, dtype, spec.score.threshold), True
    elif spec.prediction is not None:
        col = spec.prediction.column
        if label.threshold is not None:
            if not is_numeric(schema[col]):
                raise InvalidInput(f"predicted label {col!r} is {schema[col]}; the label's threshold needs numbers")
            pred_expr, pred_is_state = threshold_state(col, schema[col], label.threshold), True
        else:
            pred_expr = nw.col(col)
    for name in spec.features or ():
        if not is_numeric(schema[name]):
            raise InvalidInput(f"feature {name!r} is {schema[name]}; the flip test needs numeric features")
    _check_cardinality(
        frame, spec, [fk.facet.column for fk in facets if fk.facet.values is None and not fk.thresholded]
    )
    return _Plan(frame, spec, facets, label_expr, label_values, pred_expr, pred_is_state)


MAX_GROUPS = 10_000


def _check_cardinality(frame: Frame, spec: BiasSpec, one_vs_all: list[str]) -> None:
    """Refuse, before counting, a one-vs-all facet or a group column with too many distinct values."""
    limits = dict.fromkeys(one_vs_all, spec.max_facet_values)
    if spec.group is not None:
        limits[spec.group] = MAX_GROUPS
    if not limits:
        return
    counts = frame.lazy.select(**{f"n{i}": nw.col(c).n_unique() for i, c in enumerate(limits)}).collect()
    for i, (column, limit) in enumerate(limits.items()):
        n = int(counts[f"n{i}"][0] or 0)
        if n > limit and column == spec.group:
            raise InvalidInput(
                f"group {column!r} has {n} distinct values (more than {limit}); give a categorical group"
            )
        if n > limit:
            raise InvalidInput(
                f"facet {column!r} has {n} distinct values; give its sensitive values "
                f"(--facet {column}=V) or a threshold (--facet '{column}>T')"
            )


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
    keys: dict[str, nw.Expr] = {}
    for fk in plan.facets:
        f = fk.facet
        keys[fk.key] = (
            threshold_state(f.column, plan.frame.schema[f.column], f.threshold)
            if fk.thresholded and f.threshold is not None
            else nw.col(f.column)
        )
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
    if plan.label_values is not None or spec.label.threshold is None:
        kind = _roles.check_single_family(label_col, lv["y"])
        if kind is None:
            raise InvalidInput(f"label {label_col!r} has no value in any row (every label is missing)")
        positives = _roles.label_positives(label_col, lv["y"], plan.label_values)
        if plan.label_values is not None:
            _roles.check_values_present(table, "y", label_col, positives, "label")
    y_state = _roles.state_map(lv["y"], positives)
    if not np.any(y_state != MISSING):
        raise InvalidInput(f"label {label_col!r} has no value in any row (every label is missing)")
    if "p" in lv and not plan.pred_is_state and spec.prediction is not None:
        pred_kind = _roles.check_single_family(spec.prediction.column, lv["p"])
        label_kind = _roles.check_single_family(label_col, lv["y"])
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


def _counts(batch: NDArray[np.int64], has_group: bool, divergence: Any) -> Counts:
    """From (b, side, y, p, g) to the metric tensors pre[b, g, f, y] and post[b, g, f, y, p]."""
    pre = batch.sum(axis=3).transpose(0, 3, 1, 2)
    post = batch[:, :, :, :2, :].transpose(0, 4, 1, 2, 3)
    return Counts(pre=np.ascontiguousarray(pre), post=np.ascontiguousarray(post), has_group=has_group,
                  divergence=divergence)  # fmt: skip


def _entry_metrics(
    spec: BiasSpec, side: NDArray[np.int64], has_group: bool, stream: int, names: list[str]
) -> list[MetricResult]:
    point = _counts(side[None], has_group, spec.divergence)
    replicates = resample(side, spec.bootstrap, [spec.seed, stream]) if spec.bootstrap else None
    boot = None if replicates is None else _counts(replicates, has_group, spec.divergence)
    out = []
    for name in names:
        m = METRICS[name]
        if m.compute is None:
            continue
        res = m.compute(point)
        reason = res.reason(0)
        if reason is not None:
            out.append(MetricResult(name, m.description, m.stage, None, None, reason))
            continue
        ci = None
        if boot is not None:
            b = m.compute(boot)
            ci = interval(b.value, b.invalid(), spec.confidence)
        out.append(MetricResult(name, m.description, m.stage, float(res.value[0]), ci, None))
    return out


def _group_performance(
    spec: BiasSpec, target: _Target, d_side: NDArray[np.int64], total: int, stream: int
) -> GroupPerformance:
    """Performance of the rows in ``d_side`` (2 y, 3 p, G + 1)."""
    yp = d_side.sum(axis=2)  # (y, p)
    pre_y = yp.sum(axis=1)[None]
    post = yp[None, :, :2] if spec.predicts else np.zeros((1, 0, 0), dtype=np.int64)
    point = rates(pre_y, post, np.asarray([total]))
    metrics: dict[str, float | None] = {k: (None if math.isnan(v[0]) else float(v[0])) for k, v in point.items()}
    metrics["count"] = int(pre_y.sum())
    intervals: dict[str, tuple[float, float]] = {}
    if spec.bootstrap and pre_y.sum() > 0:
        reps = resample(yp, spec.bootstrap, [spec.seed, stream])
        boot_post = reps[:, :, :2] if spec.predicts else np.zeros((len(reps), 0, 0), dtype=np.int64)
        boot = rates(reps.sum(axis=2), boot_post, np.full(len(reps), total))
        for k in _RATE_CI:
            if k in boot and metrics.get(k) is not None:
                ci = interval(boot[k], np.isnan(boot[k]), spec.confidence)
                if ci is not None:
                    intervals[k] = ci
    return GroupPerformance(target.facet, target.columns, target.label, metrics, intervals)


def _score_table(plan: _Plan) -> CountTable | None:
    spec = plan.spec
    if spec.score is None:
        return None
    keys: dict[str, nw.Expr] = {fk.key: _facet_expr(plan, fk) for fk in plan.facets}
    keys["y"] = plan.label_expr
    keys["s"] = nw.col(spec.score.column)
    table = grouped_counts(plan.frame, keys)
    scores = [v for v in table.levels[-1] if v is not None]
    if scores and (min(scores) < 0 or max(scores) > 1):
        raise InvalidInput(
            f"score {spec.score.column!r} has values outside [0, 1] (min {min(scores)!r}, max {max(scores)!r}); "
            "a score must be a probability of the positive class"
        )
    return table


def _facet_expr(plan: _Plan, fk: _FacetKey) -> nw.Expr:
    f = fk.facet
    if fk.thresholded and f.threshold is not None:
        return threshold_state(f.column, plan.frame.schema[f.column], f.threshold)
    return nw.col(f.column)


def _score_for(
    plan: _Plan, table: CountTable, positives: tuple[Any, ...] | None, parts: Sequence[tuple[int, Any]]
) -> Any:
    """Score metrics for rows whose facet levels (by value) are in ``parts``: (facet index, set of values)."""
    nf = len(plan.facets)
    keep = np.ones(len(table.counts), dtype=bool)
    for axis, allowed in parts:
        lv = table.levels[axis]
        ok = np.asarray([v in allowed for v in lv], dtype=bool)
        keep &= ok[table.codes[:, axis]]
    y_state = _roles.state_map(table.levels[nf], positives)[table.codes[:, nf]]
    s_levels = np.asarray([np.nan if v is None else float(v) for v in table.levels[nf + 1]])
    s = s_levels[table.codes[:, nf + 1]]
    keep &= (y_state != MISSING) & ~np.isnan(s)
    return score_metrics(y_state[keep].astype(np.int8), s[keep], table.counts[keep], plan.spec.calibration_bins)


def _features(plan: _Plan, exclude: set[str]) -> list[str]:
    spec = plan.spec
    if spec.features is not None:
        return [c for c in spec.features if c not in exclude]
    roles = {spec.label.column, *(f.column for f in spec.facets)}
    if spec.prediction is not None:
        roles.add(spec.prediction.column)
    return [c for c, t in plan.frame.schema.items() if c not in roles and is_numeric(t)]


def _states(values: pd.Series, positives: tuple[Any, ...] | None) -> NDArray[np.intp]:
    """0/1/missing states of a collected role column (``positives=None``: it already holds states)."""
    missing = values.isna().to_numpy()
    if positives is None:
        state = values.fillna(MISSING).to_numpy(dtype=np.intp)
    else:
        state = values.isin(list(positives)).to_numpy(dtype=np.intp)
    return np.where(missing, MISSING, state)


@dataclass(frozen=True)
class _FlipRows:
    """Rows with a label and a prediction: facet values, predicted label and candidate features."""

    facets: pd.DataFrame
    predicted: NDArray[np.bool_]
    features: dict[str, NDArray[np.float64]]

    def in_d(self, plan: _Plan, allowed: Sequence[tuple[int, set[Any]]]) -> NDArray[np.bool_]:
        mask = np.ones(len(self.predicted), dtype=bool)
        for axis, values in allowed:
            column = self.facets[plan.facets[axis].key]
            hit = column.isin([v for v in values if v is not None]).to_numpy(dtype=bool, copy=True)
            if None in values:
                hit = hit | column.isna().to_numpy(dtype=bool)
            mask &= hit
        return mask


def _flip_rows(plan: _Plan, positives: tuple[Any, ...] | None) -> _FlipRows:
    """Collect only what FT needs (facet keys, label/prediction, feature columns) for rows to use."""
    feats = _features(plan, set())
    exprs: dict[str, nw.Expr] = {fk.key: _facet_expr(plan, fk) for fk in plan.facets}
    exprs["__y"] = plan.label_expr
    assert plan.pred_expr is not None
    exprs["__p"] = plan.pred_expr
    exprs.update({f"x:{c}": nw.col(c).cast(nw.Float64) for c in feats})
    data = plan.frame.lazy.select(**exprs).collect().to_pandas()
    y = _states(data["__y"], positives)
    p = _states(data["__p"], None if plan.pred_is_state else positives)
    keep = (y != MISSING) & (p != MISSING)
    data = data.loc[keep]
    return _FlipRows(
        facets=data[[fk.key for fk in plan.facets]].reset_index(drop=True),
        predicted=p[keep] == 1,
        features={c: data[f"x:{c}"].to_numpy(dtype=np.float64, na_value=np.nan) for c in feats},
    )


def _ft(
    plan: _Plan, rows: _FlipRows, allowed: Sequence[tuple[int, set[Any]]], exclude: set[str]
) -> tuple[float | None, str | None]:
    columns = []
    for c in _features(plan, exclude):
        values = rows.features[c]
        if np.isnan(values).any():
            return None, f"feature {c!r} has missing values; choose --features without missing values"
        columns.append(values)
    x = np.column_stack(columns) if columns else np.zeros((len(rows.predicted), 0))
    return flip_test(x, rows.in_d(plan, allowed), rows.predicted)


@dataclass(frozen=True)
class _Target:
    """A set of rows named by facet levels: ``parts`` = (facet index, boolean vector over its levels)."""

    facet: str
    columns: tuple[str, ...]
    label: str
    parts: tuple[tuple[int, NDArray[np.bool_]], ...]

    def allowed(self, facets: Sequence[_FacetKey]) -> list[tuple[int, set[Any]]]:
        return [(i, {v for v, on in zip(facets[i].levels, vec, strict=True) if on}) for i, vec in self.parts]


def _combinations(
    plan: _Plan, cells: _Cells, per_facet: Sequence[Sequence[tuple[str, NDArray[np.bool_]]]]
) -> list[_Target]:
    """With ``intersect``, every non-empty combination of one named level set per facet (e.g. race × sex)."""
    if not plan.spec.intersect or len(plan.facets) < 2:
        return []
    name, cols = "×".join(fk.facet.column for fk in plan.facets), tuple(fk.facet.column for fk in plan.facets)
    out = []
    for combo in product(*per_facet):
        parts = tuple((i, vec) for i, (_, vec) in enumerate(combo))
        if cells.cells[_joint_mask(cells.facet_shape, parts)].sum():
            out.append(_Target(name, cols, " × ".join(label for label, _ in combo), parts))
    return out


def _bias_targets(plan: _Plan, cells: _Cells) -> list[_Target]:
    """Each facet's facet-d sets, then (with intersect) every non-empty combination of them."""
    per_facet = [fk.d_sets() for fk in plan.facets]
    targets = [
        _Target(fk.facet.column, (fk.facet.column,), label, ((i, vec),))
        for i, (fk, dsets) in enumerate(zip(plan.facets, per_facet, strict=True))
        for label, vec in dsets
    ]
    return targets + _combinations(plan, cells, per_facet)


def _performance_targets(plan: _Plan, cells: _Cells) -> list[_Target]:
    """All rows, every level of each facet, and (with intersect) every non-empty combination of levels."""
    targets = [_Target("all", (), "all", ())]
    per_facet = []
    for i, fk in enumerate(plan.facets):
        levels = [(fk.level_name(v), np.asarray([w == v for w in fk.levels], dtype=bool)) for v in fk.levels]
        per_facet.append(levels)
        targets += [_Target(fk.facet.column, (fk.facet.column,), name, ((i, vec),)) for name, vec in levels]
    return targets + _combinations(plan, cells, per_facet)


def _row_warnings(spec: BiasSpec, cells: _Cells) -> tuple[dict[str, int], list[Warning]]:
    side_all = cells.cells.sum(axis=0)  # (y, p, g)
    rows = {"total": cells.total, "used": cells.total - cells.missing_label, "missing_label": cells.missing_label}
    warnings: list[Warning] = []
    if cells.missing_label:
        warnings.append(Warning("missing_label", f"{cells.missing_label} rows without a label were excluded"))
    if spec.predicts:
        missing = int(side_all[:, MISSING].sum())
        rows["missing_prediction"] = missing
        if missing:
            warnings.append(
                Warning("missing_prediction", f"{missing} rows without a prediction were excluded from "
                        "post-training metrics")
            )  # fmt: skip
    if cells.has_group:
        missing = int(side_all[..., -1].sum())
        rows["missing_group"] = missing
        if missing:
            warnings.append(
                Warning("missing_group", f"{missing} rows without a group value are left out of CDDL and CDDPL")
            )
    return rows, warnings


def _missing_facet_warnings(plan: _Plan, cells: _Cells) -> list[Warning]:
    """Rows without a facet value, when given values or a threshold put them in facet a."""
    out = []
    per_facet = cells.cells.sum(axis=(1, 2, 3)).reshape(cells.facet_shape)
    for i, fk in enumerate(plan.facets):
        if fk.facet.values is None and not fk.thresholded:
            continue  # one-vs-all: missing is its own entry
        missing_level = MISSING if fk.thresholded else None
        if missing_level not in fk.levels:
            continue
        axis_sums = per_facet.sum(axis=tuple(j for j in range(per_facet.ndim) if j != i))
        n = int(axis_sums[fk.levels.index(missing_level)])
        if n:
            out.append(
                Warning("missing_facet", f"{n} rows have no value in facet {fk.facet.column!r}; they count in "
                        "facet a (all other rows)")
            )  # fmt: skip
    return out


def assess_bias(frame: Frame, spec: BiasSpec, *, progress: Progress | None = None) -> Assessment:
    """Run a bias assessment of ``frame`` as ``spec`` says. See the module docstring for the flow."""
    say = progress or (lambda _stage: None)
    say("checking columns")
    plan = _plan(frame, spec)
    names = spec.selected()
    score_table = None
    if spec.score is not None:
        say("reading scores")
        score_table = _score_table(plan)
    say("counting")
    cells = _count(plan)
    rows, warnings = _row_warnings(spec, cells)
    warnings += _missing_facet_warnings(plan, cells)

    say("computing metrics")
    flip_rows = None
    if "FT" in names:
        say("flip test")
        flip_rows = _flip_rows(plan, cells.label_positives)
    order = {n: i for i, n in enumerate(names)}
    entries = []
    for stream, target in enumerate(_bias_targets(plan, cells)):
        side = _side_tensor(cells.cells, _joint_mask(cells.facet_shape, target.parts))
        results = _entry_metrics(spec, side, cells.has_group, stream, names)
        if flip_rows is not None:
            value, why = _ft(plan, flip_rows, target.allowed(plan.facets), set(target.columns))
            ft = METRICS["FT"]
            results.append(MetricResult("FT", ft.description, ft.stage, value, None, why))
            results.sort(key=lambda m: order[m.name])
        n_d, n_a = int(side[1].sum()), int(side[0].sum())
        entries.append(FacetEntry(target.facet, target.columns, target.label, n_d, n_a, tuple(results)))
        for who, n in (("d", n_d), ("a", n_a)):
            if 0 < n < spec.min_group_size:
                warnings.append(
                    Warning("small_group", f"facet {target.facet} = {target.label}: facet {who} has only {n} "
                            f"rows (< {spec.min_group_size}); its metrics are uncertain")
                )  # fmt: skip

    say("group performance")
    perf: list[GroupPerformance] = []
    for stream, target in enumerate(_performance_targets(plan, cells), start=100_000):
        d_side = cells.cells[_joint_mask(cells.facet_shape, target.parts)].sum(axis=0)
        gp = _group_performance(spec, target, d_side, rows["used"], stream)
        if score_table is not None:
            scores = _score_for(plan, score_table, cells.label_positives, target.allowed(plan.facets))
            gp = GroupPerformance(gp.facet, gp.columns, gp.value, gp.metrics, gp.intervals, scores)
        perf.append(gp)
        n = int(d_side.sum())
        if target.facet != "all" and 0 < n < spec.min_group_size:
            warnings.append(
                Warning("small_group", f"group {target.facet} = {target.label} has only {n} rows "
                        f"(< {spec.min_group_size})")
            )  # fmt: skip

    label_vot = (
        f"> {spec.label.threshold:g}"
        if spec.label.threshold is not None
        else describe_values(cells.label_positives or ())
    )
    return Assessment(
        spec=spec.to_dict(),
        data={
            "source": frame.source,
            "engine": frame.engine,
            "fingerprint": cells.fingerprint,
            "columns": {c: str(t) for c, t in frame.schema.items()},
        },
        rows=rows,
        label=spec.label.column,
        label_value_or_threshold=label_vot,
        entries=tuple(entries),
        performance=tuple(perf),
        warnings=tuple(dict.fromkeys(warnings)),
        assay_version=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
