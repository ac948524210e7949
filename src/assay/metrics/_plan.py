"""The plan of a bias assessment: column roles checked against the schema, as engine expressions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np
from numpy.typing import NDArray

from assay.errors import InvalidInput
from assay.frames import Facet, Frame, coerce_values
from assay.frames.roles import describe_values, is_numeric, require_plain
from assay.metrics._stats import threshold_state
from assay.metrics.spec import BiasSpec


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
    for role, name in (
        ("label", label.column),
        *(("facet", f.column) for f in spec.facets),
        ("predicted label", spec.prediction.column if spec.prediction else None),
        ("group", spec.group),
    ):
        if name is not None:
            require_plain(role, name, schema[name])
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


def _facet_expr(plan: _Plan, fk: _FacetKey) -> nw.Expr:
    f = fk.facet
    if fk.thresholded and f.threshold is not None:
        return threshold_state(f.column, plan.frame.schema[f.column], f.threshold)
    return nw.col(f.column)


def _features(plan: _Plan, exclude: set[str]) -> list[str]:
    spec = plan.spec
    if spec.features is not None:
        return [c for c in spec.features if c not in exclude]
    roles = {spec.label.column, *(f.column for f in spec.facets)}
    if spec.prediction is not None:
        roles.add(spec.prediction.column)
    return [c for c, t in plan.frame.schema.items() if c not in roles and is_numeric(t)]
