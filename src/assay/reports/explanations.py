"""Explanations document (``assay.explanations`` as a plain dict) -> Clarify's ``analysis.json`` section and an
offline HTML report with Plotly charts (importance bar, summary, dependence, per-group importance, local
explanations, partial dependence).

Like :mod:`assay.reports.html`, the page embeds Plotly's JavaScript once and escapes every string from the
document (Jinja2's autoescape in the page, :func:`_plain` inside figures).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from assay.reports._figures import _AXIS, _TEMPLATE, _figure_html, _title
from assay.reports._format import _BAR, _BAR_FLAGGED, _PALETTE, _fmt, _fmt_count, _num, _plain
from assay.reports._jinja import template

__all__ = ["CLARIFY_KEYS", "explanations_analysis_json", "render_explanations_html"]

#: The analysis.json key of each explainer. Clarify itself only runs Kernel SHAP ("kernel_shap").
CLARIFY_KEYS = {
    "kernel": "kernel_shap",
    "permutation": "permutation_shap",
    "tree": "tree_shap",
    "linear": "linear_shap",
}
_LABEL_KEY = "label0"  # Clarify's name for the model's (single) output when no label headers are given
_TOP = 20
_DEPENDENCE = 4
_GROUP_FEATURES = 10
_LOCAL_FEATURES = 10
_NEG = "#4C72B0"
_POS = "#C44E52"


def explanations_analysis_json(document: Mapping[str, Any]) -> dict[str, Any]:
    """The ``explanations`` section of Clarify's analysis.json from an ``assay.explanations`` document.

    ``{"explanations": {"<method>_shap": {"label0": {"global_shap_values": {feature: mean |SHAP|},
    "expected_value": e}}, "pdp": [{"feature_name", "data_type", "feature_values", "model_predictions",
    "label_headers"}]}}``.
    """
    method = document.get("method") or {}
    key = CLARIFY_KEYS.get(str(method.get("explainer")), f"{method.get('explainer')}_shap")
    section: dict[str, Any] = {
        key: {
            _LABEL_KEY: {
                "global_shap_values": {str(f["feature"]): f["mean_abs_shap"] for f in document.get("features") or []},
                "expected_value": document.get("expected_value"),
            }
        }
    }
    pdp = [
        {
            "feature_name": p["feature"],
            "data_type": p["kind"],
            "feature_values": list(p["grid"]),
            "model_predictions": [list(p["average"])],
            "label_headers": [_LABEL_KEY],
        }
        for p in document.get("partial_dependence") or []
    ]
    if pdp:
        section["pdp"] = pdp
    return {"explanations": section}


# ---- figures ----------------------------------------------------------------------------------------------

Fig = dict[str, Any]


def _layout(title: str, height: int, **extra: Any) -> Fig:
    return {
        "template": _TEMPLATE,
        "height": height,
        "margin": {"l": 10, "r": 20, "t": 50, "b": 40},
        "title": _title(title),
        **extra,
    }


def _importance_figure(features: Sequence[Mapping[str, Any]], scale: str) -> Markup | None:
    top = [f for f in features[:_TOP] if _num(f.get("mean_abs_shap")) is not None]
    if not top:
        return None
    names = [_plain(f["feature"]) for f in top]
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": [_num(f["mean_abs_shap"]) for f in top],
        "y": names,
        "marker": {"color": _BAR},
        "customdata": [_fmt(f.get("mean_shap")) for f in top],
        "hovertemplate": "<b>%{y}</b><br>mean |SHAP| = %{x:.4g}<br>mean SHAP = %{customdata}<extra></extra>",
    }
    height = 24 * len(top) + 110
    layout = _layout(
        f"Global importance: mean |SHAP value| ({scale})",
        height,
        xaxis={**_AXIS, "title": {"text": f"mean |SHAP| ({scale})"}},
        yaxis={**_AXIS, "autorange": "reversed", "type": "category"},
        bargap=0.25,
    )
    return _figure_html({"data": [trace], "layout": layout}, "assay-x-importance", height)


def _normalised(values: Sequence[Any]) -> list[float | None]:
    numbers = [
        v if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else None for v in values
    ]
    finite = [v for v in numbers if v is not None]
    if not finite:
        return [None] * len(values)
    lo, hi = min(finite), max(finite)
    return [None if v is None else (0.5 if hi == lo else (v - lo) / (hi - lo)) for v in numbers]


def _jitter(n: int, k: int) -> list[float]:
    """Deterministic vertical spread of ``n`` points around row ``k`` (golden-ratio sequence)."""
    return [k + 0.32 * (((i * 0.6180339887) % 1.0) * 2 - 1) for i in range(n)]


def _summary_figure(points: Mapping[str, Any], scale: str) -> Markup | None:
    features = list(points.get("features") or [])
    if not features:
        return None
    xs: list[float] = []
    ys: list[float] = []
    colors: list[float] = []
    hover: list[str] = []
    grey_x: list[float] = []
    grey_y: list[float] = []
    grey_hover: list[str] = []
    for k, f in enumerate(features):
        shap = f.get("shap") or []
        values = f.get("values") or []
        norm = _normalised(values) if f.get("numeric") else [None] * len(values)
        for s, v, c, y in zip(shap, values, norm, _jitter(len(shap), k), strict=False):
            tip = f"<b>{_plain(f['feature'])}</b> = {_plain(v)}<br>SHAP = {_fmt(s)}"
            if c is None:
                grey_x.append(s)
                grey_y.append(y)
                grey_hover.append(tip)
            else:
                xs.append(s)
                ys.append(y)
                colors.append(c)
                hover.append(tip)
    traces: list[Fig] = [
        {
            "type": "scattergl" if len(xs) > 5000 else "scatter",
            "mode": "markers",
            "x": xs,
            "y": ys,
            "marker": {
                "size": 5,
                "opacity": 0.75,
                "color": colors,
                "colorscale": [[0.0, _NEG], [0.5, "#b7a5c9"], [1.0, _POS]],
                "cmin": 0,
                "cmax": 1,
                "colorbar": {
                    "title": {"text": "feature value"},
                    "tickvals": [0, 1],
                    "ticktext": ["low", "high"],
                    "thickness": 12,
                    "len": 0.6,
                },
            },
            "hovertext": hover,
            "hovertemplate": "%{hovertext}<extra></extra>",
            "showlegend": False,
        }
    ]
    if grey_x:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": grey_x,
                "y": grey_y,
                "marker": {"size": 5, "opacity": 0.6, "color": "#9a9a9a"},
                "hovertext": grey_hover,
                "hovertemplate": "%{hovertext}<extra></extra>",
                "name": "categorical or missing",
                "showlegend": True,
            }
        )
    height = 34 * len(features) + 120
    layout = _layout(
        f"Summary: SHAP value of each explained row ({scale})",
        height,
        xaxis={**_AXIS, "title": {"text": f"SHAP value ({scale})"}, "zeroline": True, "zerolinecolor": "#888"},
        yaxis={
            **_AXIS,
            "tickmode": "array",
            "tickvals": list(range(len(features))),
            "ticktext": [_plain(f["feature"]) for f in features],
            "autorange": "reversed",
            "showgrid": False,
        },
        legend={"orientation": "h", "x": 1.0, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
    )
    return _figure_html({"data": traces, "layout": layout}, "assay-x-summary", height)


def _dependence_figure(feature: Mapping[str, Any], k: int, scale: str) -> Markup | None:
    pairs = [
        (v, s) for v, s in zip(feature.get("values") or [], feature.get("shap") or [], strict=False) if v is not None
    ]
    if not pairs:
        return None
    numeric = bool(feature.get("numeric"))
    name = _plain(feature["feature"])
    trace = {
        "type": "scatter",
        "mode": "markers",
        "x": [v if numeric else _plain(v) for v, _ in pairs],
        "y": [s for _, s in pairs],
        "marker": {"size": 5, "opacity": 0.6, "color": _PALETTE[k % len(_PALETTE)]},
        "hovertemplate": f"{name} = %{{x}}<br>SHAP = %{{y:.4g}}<extra></extra>",
        "showlegend": False,
    }
    height = 320
    layout = _layout(
        f"Dependence: {name}",
        height,
        xaxis={
            **_AXIS,
            "title": {"text": name},
            "type": "linear" if numeric else "category",
            **({} if numeric else {"categoryorder": "category ascending"}),
        },
        yaxis={**_AXIS, "title": {"text": f"SHAP ({scale})"}, "zeroline": True, "zerolinecolor": "#888"},
    )
    return _figure_html({"data": [trace], "layout": layout}, f"assay-x-dep{k}", height)


def _group_figure(facet: str, groups: Sequence[Mapping[str, Any]], order: Sequence[str], i: int) -> Markup | None:
    features = list(order[:_GROUP_FEATURES])
    if not groups or not features:
        return None
    traces = []
    for j, g in enumerate(groups):
        by_name = {str(f["feature"]): f for f in g.get("features") or []}
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": f"{_plain(g.get('value'))} (n={_fmt_count(g.get('rows'))})",
                "x": [_num((by_name.get(f) or {}).get("mean_abs_shap")) for f in features],
                "y": [_plain(f) for f in features],
                "marker": {"color": _PALETTE[j % len(_PALETTE)]},
                "hovertemplate": "%{y}: %{x:.4g}<extra>%{fullData.name}</extra>",
            }
        )
    height = max(260, 16 * len(features) * max(1, len(groups)) // 2 + 140)
    layout = _layout(
        f"Importance per group of {_plain(facet)}: mean |SHAP|",
        height,
        barmode="group",
        margin={"l": 10, "r": 20, "t": 80, "b": 40},
        xaxis={**_AXIS, "title": {"text": "mean |SHAP|"}},
        yaxis={**_AXIS, "autorange": "reversed", "type": "category"},
        legend={"orientation": "h", "x": 1.0, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
    )
    return _figure_html({"data": traces, "layout": layout}, f"assay-x-group{i}", height)


def _local_figure(row: Mapping[str, Any], expected: Any, scale: str, i: int) -> Markup | None:
    contributions = list(row.get("contributions") or [])[:_LOCAL_FEATURES]
    if not contributions:
        return None
    labels = [f"{_plain(c['feature'])} = {_plain(c.get('value'))}" for c in contributions]
    shap = [_num(c.get("shap")) for c in contributions]
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": shap,
        "y": labels,
        "marker": {"color": [_POS if (s or 0) > 0 else _NEG for s in shap]},
        "hovertemplate": "%{y}<br>SHAP = %{x:.4g}<extra></extra>",
        "showlegend": False,
    }
    height = 24 * len(contributions) + 110
    layout = _layout(
        f"Row {row.get('row')}: output {_fmt(row.get('output'))} = expected {_fmt(expected)} + contributions ({scale})",
        height,
        xaxis={**_AXIS, "title": {"text": f"SHAP ({scale})"}, "zeroline": True, "zerolinecolor": "#888"},
        yaxis={**_AXIS, "autorange": "reversed", "type": "category"},
    )
    return _figure_html({"data": [trace], "layout": layout}, f"assay-x-local{i}", height)


def _pdp_figure(p: Mapping[str, Any], i: int) -> Markup | None:
    grid = list(p.get("grid") or [])
    average = [_num(a) for a in p.get("average") or []]
    if not grid:
        return None
    name = _plain(p["feature"])
    numeric = p.get("kind") == "numerical"
    trace: Fig = {
        "type": "scatter" if numeric else "bar",
        "x": grid if numeric else [_plain(g) for g in grid],
        "y": average,
        "marker": {"color": _BAR_FLAGGED if numeric else _BAR},
        "hovertemplate": f"{name} = %{{x}}<br>mean probability = %{{y:.4g}}<extra></extra>",
        "showlegend": False,
    }
    if numeric:
        trace["mode"] = "lines+markers"
    height = 300
    layout = _layout(
        f"Partial dependence: {name}",
        height,
        xaxis={**_AXIS, "title": {"text": name}, "type": "linear" if numeric else "category"},
        yaxis={**_AXIS, "title": {"text": "mean P(positive)"}},
    )
    return _figure_html({"data": [trace], "layout": layout}, f"assay-x-pdp{i}", height)


# ---- page -------------------------------------------------------------------------------------------------


def _summary(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    model = document.get("model") or {}
    method = document.get("method") or {}
    data = document.get("data") or {}
    label = document.get("label") or {}
    background = method.get("background") or {}
    sample = method.get("sample") or {}
    positive = model.get("positive")
    if positive is None and label.get("values"):
        positive = label.get("values")
    options = method.get("options") or {}
    model_items = [
        ("Kind", str(model.get("kind", "—"))),
        ("Source", str(model.get("source", "—"))),
        ("Estimator", str(model.get("estimator") or "—")),
        ("Positive class", ", ".join(str(p) for p in positive) if positive else "the second of two classes"),
        ("Output", str(model.get("output", "—"))),
        ("Features", f"{len(model.get('feature_names') or [])}: " + ", ".join(model.get("feature_names") or [])),
    ]
    method_items = [
        ("Explainer", f"shap.{method.get('shap_explainer', '?')} (shap {method.get('shap_version', '?')})"),
        ("Scale", str(method.get("output_scale", "—"))),
        ("Expected value", _fmt(document.get("expected_value"))),
        (
            "Background",
            f"{_fmt_count(background.get('rows'))} rows: {background.get('method')}"
            if background.get("rows") is not None
            else str(background.get("method", "—")),
        ),
        (
            "Explained rows",
            f"{_fmt_count(sample.get('rows'))} of {_fmt_count(sample.get('of'))} (seed {sample.get('seed')})",
        ),
        ("Additivity", f"largest gap {_fmt(method.get('additivity_max_error'))}"),
    ] + [(str(k).replace("_", " ").capitalize(), str(v)) for k, v in options.items()]
    data_items = [
        ("Source", str(data.get("source", "—"))),
        ("Engine", str(data.get("engine", "—"))),
        ("Rows", _fmt_count(data.get("rows"))),
        ("Fingerprint", str(data.get("fingerprint", "—"))),
        (
            "Label",
            str(label.get("column", "—"))
            + (f" = {', '.join(str(v) for v in label['values'])}" if label.get("values") else ""),
        ),
        ("Assay version", str(document.get("assay_version", "—"))),
        ("Created", str(document.get("created_at", "—"))),
    ]
    return [
        {"title": "Model", "items": model_items},
        {"title": "Explainer", "items": method_items},
        {"title": "Data and run", "items": data_items},
    ]


def render_explanations_html(document: Mapping[str, Any]) -> str:
    """The explanations report as one self-contained, offline HTML page (Plotly's JavaScript inline)."""
    from assay.reports.html import _plotly_js

    method = document.get("method") or {}
    scale = str(method.get("output_scale", ""))
    features = list(document.get("features") or [])
    order = [str(f["feature"]) for f in features]
    points = document.get("points") or {}
    dependence = [
        fig
        for k, f in enumerate((points.get("features") or [])[:_DEPENDENCE])
        if (fig := _dependence_figure(f, k, scale)) is not None
    ]
    facets: dict[str, list[Mapping[str, Any]]] = {}
    for g in document.get("groups") or []:
        facets.setdefault(str(g.get("facet")), []).append(g)
    group_sections = []
    for i, (facet, groups) in enumerate(facets.items()):
        rows = []
        for f in order[:_GROUP_FEATURES]:
            cells = []
            for g in groups:
                by_name = {str(x["feature"]): x for x in g.get("features") or []}
                item = by_name.get(f) or {}
                cells.append({"abs": _fmt(item.get("mean_abs_shap")), "mean": _fmt(item.get("mean_shap"))})
            rows.append({"feature": f, "cells": cells})
        group_sections.append(
            {
                "facet": facet,
                "figure": _group_figure(facet, groups, order, i),
                "groups": [
                    {
                        "value": str(g.get("value")),
                        "rows": _fmt_count(g.get("rows")),
                        "probability": _fmt(g.get("mean_probability")),
                        "output": _fmt(g.get("mean_output")),
                    }
                    for g in groups
                ],
                "rows": rows,
            }
        )
    local = [
        {
            "row": r.get("row"),
            "probability": _fmt(r.get("probability")),
            "output": _fmt(r.get("output")),
            "figure": _local_figure(r, document.get("expected_value"), scale, i),
            "contributions": [
                {
                    "feature": str(c["feature"]),
                    "value": "—" if c.get("value") is None else str(c["value"]),
                    "shap": _fmt(c.get("shap")),
                }
                for c in r.get("contributions") or []
            ],
        }
        for i, r in enumerate(document.get("local") or [])
    ]
    pdp = [
        {"feature": str(p["feature"]), "kind": str(p.get("kind")), "rows": _fmt_count(p.get("rows")), "figure": fig}
        for i, p in enumerate(document.get("partial_dependence") or [])
        if (fig := _pdp_figure(p, i)) is not None
    ]
    page = template("explanations.html.j2")
    return page.render(
        doc=document,
        title=str((document.get("model") or {}).get("source", "model")),
        source=str((document.get("data") or {}).get("source", "")),
        scale=scale,
        explainer=str(method.get("shap_explainer", "")),
        summary=_summary(document),
        warnings=[
            {"code": str(w.get("code", "")), "message": str(w.get("message", ""))}
            for w in document.get("warnings") or []
            if isinstance(w, Mapping)
        ],
        importance_figure=_importance_figure(features, scale),
        importance=[
            {
                "rank": k + 1,
                "feature": str(f["feature"]),
                "abs": _fmt(f.get("mean_abs_shap")),
                "mean": _fmt(f.get("mean_shap")),
            }
            for k, f in enumerate(features)
        ],
        summary_figure=_summary_figure(points, scale),
        points_rows=_fmt_count(points.get("rows")),
        dependence=dependence,
        group_sections=group_sections,
        local=local,
        pdp=pdp,
        plotly_js=_plotly_js(),
    )
