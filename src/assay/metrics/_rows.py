"""The passes that need more than counts: scores (AUC, calibration) and the flip test's feature rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import narwhals as nw
import numpy as np
from numpy.typing import NDArray

from assay.errors import InvalidInput
from assay.metrics import _roles
from assay.metrics._plan import _facet_expr, _features, _Plan
from assay.metrics._stats import MISSING, CountTable, grouped_counts
from assay.metrics.flip import flip_test
from assay.metrics.performance import score_metrics

if TYPE_CHECKING:
    import pandas as pd  # only FT collects rows (pandas loads then: the count path does without it)


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


def _states(values: pd.Series, positives: tuple[Any, ...] | None) -> NDArray[np.intp]:
    """0/1/missing states of a collected role column, by the same mapping as the count pass's levels."""
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    # the code -1 (missing) picks the MISSING appended last
    by_code = np.append(_roles.state_map([_python(v) for v in uniques], positives), MISSING)
    return np.asarray(by_code[codes], dtype=np.intp)


def _python(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


FT_SAMPLE_STREAM = 200_000  # the sample's random stream, apart from the bootstrap's (0, 1, ... and 100_000, ...)


@dataclass(frozen=True)
class _FlipRows:
    """Rows with a label and a prediction: facet values, predicted label and candidate features.

    ``total`` is the number of such rows in the data; when it exceeds the spec's ``ft_max_rows``, the rows held are
    a random sample of ``ft_max_rows`` of them (seeded by the spec's seed), in the data's order."""

    facets: pd.DataFrame
    predicted: NDArray[np.bool_]
    features: dict[str, NDArray[np.float64]]
    total: int

    @property
    def sampled(self) -> bool:
        return len(self.predicted) < self.total

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
    """Collect only what FT needs (facet keys, label/prediction, feature columns) for rows to use; with more such
    rows than ``ft_max_rows``, keep a seeded random sample of them (taken before anything is converted, so memory
    follows the sample)."""
    spec = plan.spec
    feats = _features(plan, set())
    exprs: dict[str, nw.Expr] = {fk.key: _facet_expr(plan, fk) for fk in plan.facets}
    exprs["__y"] = plan.label_expr
    assert plan.pred_expr is not None
    exprs["__p"] = plan.pred_expr
    exprs.update({f"x:{c}": nw.col(c).cast(nw.Float64) for c in feats})
    collected = plan.frame.lazy.select(**exprs).collect()
    y = _states(collected.get_column("__y").to_pandas(), positives)
    p = _states(collected.get_column("__p").to_pandas(), None if plan.pred_is_state else positives)
    used = np.flatnonzero((y != MISSING) & (p != MISSING))
    total = len(used)
    if spec.ft_max_rows is not None and total > spec.ft_max_rows:
        rng = np.random.default_rng([spec.seed, FT_SAMPLE_STREAM])
        used = used[np.sort(rng.choice(total, size=spec.ft_max_rows, replace=False))]
    if len(used) < len(y):
        collected = collected[used]
    data = collected.drop("__y", "__p").to_pandas()
    return _FlipRows(
        facets=data[[fk.key for fk in plan.facets]],
        predicted=p[used] == 1,
        features={c: data[f"x:{c}"].to_numpy(dtype=np.float64, na_value=np.nan) for c in feats},
        total=total,
    )


def _ft(
    plan: _Plan, rows: _FlipRows, allowed: Sequence[tuple[int, set[Any]]], exclude: set[str]
) -> tuple[float | None, str | None]:
    columns = []
    for c in _features(plan, exclude):
        values = rows.features[c]
        if np.isnan(values).any():
            return None, f"feature {c!r} has missing values; choose --features without missing values"
        if np.isinf(values).any():
            return None, f"feature {c!r} has infinite values; choose --features with finite values"
        columns.append(values)
    return flip_test(columns, rows.in_d(plan, allowed), rows.predicted)  # the columns: no (row, feature) copy
