"""``explain_model``: SHAP values on a sample, aggregated globally, per facet group and for chosen rows."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assay._version import __version__
from assay.adapters import Model
from assay.errors import InvalidInput
from assay.explain._data import collect, is_numeric_column, json_value
from assay.explain._shap import check_additivity, choose_method, compute_shap, import_shap
from assay.explain.pdp import partial_dependence
from assay.explain.results import (
    Contribution,
    Explanation,
    FeatureImportance,
    GroupImportance,
    LocalExplanation,
    Note,
)
from assay.frames import Facet, Label

__all__ = ["DEFAULT_SAMPLE", "MAX_GROUPS", "explain_model"]

#: Rows explained when no sample size is given, by explainer: the exact ones are cheap, the others are not.
DEFAULT_SAMPLE = {"tree": 1000, "linear": 1000, "permutation": 100, "kernel": 100}
MAX_GROUPS = 30
_SMALL_GROUP = 30
_MAX_POINT_FEATURES = 20


def _importance(values: NDArray[np.float64], features: Sequence[str]) -> tuple[FeatureImportance, ...]:
    if len(values) == 0:
        return tuple(FeatureImportance(f, math.nan, math.nan) for f in features)
    mean_abs = np.abs(values).mean(axis=0)
    mean = values.mean(axis=0)
    order = sorted(range(len(features)), key=lambda j: (-mean_abs[j], features[j]))
    return tuple(FeatureImportance(features[j], float(mean_abs[j]), float(mean[j])) for j in order)


def _matches(column: pd.Series, value: Any) -> NDArray[np.bool_]:
    """Rows whose value is ``value``; text from the command line matches numbers (``"1"`` is 1)."""
    if is_numeric_column(column) and not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return np.zeros(len(column), dtype=bool)
        return np.asarray(column.to_numpy(dtype=np.float64, na_value=np.nan) == number)
    as_text = column.astype(object).map(lambda v: None if v is None or v is pd.NA or v != v else str(v))
    return np.asarray(as_text == str(value), dtype=bool)


def _check_facet(facet: Facet, column: pd.Series) -> None:
    """Before any computation: a facet must be usable on the whole data."""
    if facet.threshold is not None and not is_numeric_column(column):
        raise InvalidInput(f"facet {facet.column!r} is not numeric: it cannot have a threshold")
    if facet.threshold is None and not facet.values:
        count = int(column.nunique(dropna=True))
        if count > MAX_GROUPS:
            raise InvalidInput(
                f"facet {facet.column!r} has {count} distinct values; explanations per group take at most "
                f"{MAX_GROUPS}: give values (COL=V,...) or a threshold ('COL>T')"
            )


def _facet_groups(facet: Facet, column: pd.Series) -> list[tuple[str, NDArray[np.bool_]]]:
    missing = np.asarray(column.isna().to_numpy(), dtype=bool)
    groups: list[tuple[str, NDArray[np.bool_]]] = []
    if facet.threshold is not None:
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        t = facet.threshold
        groups = [(f"> {t:g}", ~missing & (values > t)), (f"<= {t:g}", ~missing & (values <= t))]
    elif facet.values:
        taken = np.zeros(len(column), dtype=bool)
        for v in facet.values:
            mask = _matches(column, v)
            groups.append((str(v), mask))
            taken |= mask
        groups.append(("other", ~taken & ~missing))
    else:
        as_object = column.astype(object)
        distinct = pd.unique(as_object[~missing])
        for v in sorted(distinct, key=lambda v: (str(type(v)), v)):
            groups.append((str(v), ~missing & np.asarray(as_object == v, dtype=bool)))
    if missing.any():
        groups.append(("missing", missing))
    return groups


def _points(
    sample: pd.DataFrame,
    values: NDArray[np.float64],
    importance: Sequence[FeatureImportance],
    max_points: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Per-row (feature value, SHAP value) pairs of a bounded subset, for the summary and dependence charts."""
    n = len(sample)
    chosen = np.sort(rng.choice(n, size=max_points, replace=False)) if n > max_points else np.arange(n)
    index = {c: j for j, c in enumerate(sample.columns)}
    features = []
    for item in importance[:_MAX_POINT_FEATURES]:
        j = index[item.feature]
        column = sample.iloc[chosen, j]
        numeric = is_numeric_column(sample[item.feature])
        features.append(
            {
                "feature": item.feature,
                "numeric": numeric,
                "values": [json_value(v) for v in column.tolist()],
                "shap": [float(f"{s:.6g}") for s in values[chosen, j]],
            }
        )
    return {"rows": len(chosen), "features": features}


def _rows(rows: int | Sequence[int], total: int) -> list[int]:
    chosen = list(range(min(rows, total))) if isinstance(rows, int) else [int(r) for r in rows]
    for r in chosen:
        if not 0 <= r < total:
            raise InvalidInput(f"row {r} is out of range: the data has {total} rows (0 to {total - 1})")
    return list(dict.fromkeys(chosen))


def explain_model(
    model: Model,
    data: Any,
    *,
    label: Label | None = None,
    facets: Sequence[Facet] = (),
    rows: int | Sequence[int] = 5,
    sample: int | None = None,
    background: int = 100,
    method: str = "auto",
    pdp: int = 5,
    grid_resolution: int = 15,
    max_points: int = 500,
    max_evals: int | None = None,
    nsamples: int | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Explanation:
    """Explain ``model`` (an :class:`~assay.adapters.Model`) on ``data`` (a path or any frame Assay opens).

    ``sample`` rows (default by explainer: :data:`DEFAULT_SAMPLE`) are drawn at random (``seed``) and explained
    with SHAP (``method``: ``auto``, ``tree``, ``linear``, ``permutation`` or ``kernel``); ``background`` rows
    are the masker's background for the linear, permutation and kernel explainers. ``rows`` are the rows
    (positions in the data; an int N means the first N) given local explanations. ``facets`` split the sample
    into groups for importance per group. ``pdp`` top features get partial dependence.
    """
    say = progress or (lambda _stage: None)
    if label is not None:
        model = model.with_positive(label.values)
    if sample is not None and sample < 1:
        raise InvalidInput(f"sample {sample} must be at least 1 row")
    if background < 1:
        raise InvalidInput(f"background {background} must be at least 1 row")
    if max_points < 1 or pdp < 0:
        raise InvalidInput("max_points must be at least 1 and pdp not negative")
    features = list(model.feature_names)
    facet_columns = [f.column for f in facets]
    say("reading the data")
    collected = collect(data, features + facet_columns, require=[label.column] if label is not None else [])
    table = collected.frame
    total = len(table)
    for facet in facets:
        _check_facet(facet, table[facet.column])
    x_all = table.loc[:, features]
    rng = np.random.default_rng(seed)
    chosen = choose_method(model, x_all.head(1), method)
    size = min(total, sample if sample is not None else DEFAULT_SAMPLE[chosen])
    picked = np.sort(rng.choice(total, size=size, replace=False)) if size < total else np.arange(total)
    bg_size = min(total, background)
    bg_rows = np.sort(rng.choice(total, size=bg_size, replace=False)) if bg_size < total else np.arange(total)
    local_rows = _rows(rows, total)
    x = x_all.iloc[picked].reset_index(drop=True)
    explain_x = pd.concat([x, x_all.iloc[local_rows]], ignore_index=True) if local_rows else x
    shap_out = compute_shap(
        model,
        explain_x,
        x_all.iloc[bg_rows].reset_index(drop=True),
        method=method,
        seed=seed,
        max_evals=max_evals,
        nsamples=nsamples,
        progress=say,
    )
    values = shap_out.values[:size]
    output = shap_out.output[:size]
    say("aggregating")
    probability = model.predict_proba(explain_x)
    importance = _importance(values, features)

    notes: list[Note] = [Note("explainer", n) for n in shap_out.notes]
    failed = check_additivity(shap_out)
    if failed:
        notes.append(Note("additivity", failed))
    if label is not None and label.column in features:
        notes.append(Note("label_is_feature", f"the label column {label.column!r} is one of the model's features"))

    groups = []
    facet_sample = table.iloc[picked].reset_index(drop=True)
    for facet in facets:
        for value, mask in _facet_groups(facet, facet_sample[facet.column]):
            count = int(mask.sum())
            if count == 0:
                continue
            groups.append(
                GroupImportance(
                    facet=facet.column,
                    value=value,
                    rows=count,
                    mean_probability=float(probability[:size][mask].mean()),
                    mean_output=float(output[mask].mean()),
                    features=_importance(values[mask], features),
                )
            )
            if count < _SMALL_GROUP:
                notes.append(Note("small_group", f"{facet.column} = {value}: only {count} explained rows"))

    local = []
    for k, row in enumerate(local_rows):
        i = size + k
        contributions = sorted(
            (Contribution(f, x_all.iat[row, j], float(shap_out.values[i, j])) for j, f in enumerate(features)),
            key=lambda c: -abs(c.shap),
        )
        local.append(
            LocalExplanation(
                row=row,
                probability=float(probability[i]),
                output=float(shap_out.output[i]),
                contributions=tuple(contributions),
            )
        )

    top = [f.feature for f in importance if x[f.feature].notna().any()][:pdp]
    say(f"partial dependence of {len(top)} features")
    dependence = partial_dependence(model, x, top, grid_resolution=grid_resolution) if top else ()

    method_block = {
        "explainer": shap_out.explainer,
        "shap_explainer": shap_out.shap_class,
        "shap_version": str(import_shap().__version__),
        "output_scale": shap_out.output_scale,
        "background": {"rows": shap_out.background_rows, "method": shap_out.background_method},
        "sample": {"rows": size, "of": total, "seed": seed},
        "options": shap_out.options,
        "additivity_max_error": shap_out.additivity_error,
        "partial_dependence": {"features": len(dependence), "grid_resolution": grid_resolution},
    }
    return Explanation(
        model=model.describe(),
        data={
            "source": collected.source,
            "engine": collected.engine,
            "fingerprint": collected.fingerprint,
            "rows": total,
            "columns_read": features + [c for c in facet_columns if c not in features],
        },
        label=None
        if label is None
        else {
            "column": label.column,
            "values": None if label.values is None else [json_value(v) for v in label.values],
            "threshold": label.threshold,
        },
        method=method_block,
        expected_value=shap_out.expected_value,
        importance=importance,
        groups=tuple(groups),
        local=tuple(local),
        points=_points(x, values, importance, max_points, rng),
        partial_dependence=dependence,
        warnings=tuple(notes),
        assay_version=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        shap_values=values,
        sample=x,
    )
