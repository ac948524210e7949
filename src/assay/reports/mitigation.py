"""Mitigation document (``mitigation.json`` as a plain dict) -> one offline HTML page.

The page shows the before/after comparison (accuracy, DPPL, DI, RD, SD, AD with their intervals), the trade-off
chart (accuracy against DPPL and against DI: the original, retrained and mitigated models as points, and the
curve over the method's parameter when there is one), what the mitigator learnt, and how to deploy the model.
Plotly's JavaScript is embedded once; every string from the document is escaped (by Jinja2 in the page, by
:func:`html.escape` in the figure's labels).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from assay.reports._figures import _TEMPLATE, Fig, _figure_html, _grid
from assay.reports._format import _finite, _fmt, _fmt_ci, _interval
from assay.reports._jinja import template

__all__ = ["render_mitigation_html", "trade_off_figure"]

_ROWS = {"original": "#8C8C8C", "retrained": "#4C72B0", "mitigated": "#DD8452"}
_SYMBOLS = {"original": "circle", "retrained": "square", "mitigated": "star"}
_AXES = (("DPPL", 0.0, "DPPL (q_a − q_d; 0 is parity)"), ("DI", 1.0, "DI (q_d / q_a; 1 is parity)"))
_COLUMNS = ("accuracy", "DPPL", "DI", "RD", "SD", "AD")


def _error(value: float | None, ci: Any) -> tuple[float | None, float | None]:
    bounds = _interval(ci) or (None, None)
    lo, hi = _finite(bounds[0]), _finite(bounds[1])
    if value is None:
        return None, None
    return (None if hi is None else max(0.0, hi - value)), (None if lo is None else max(0.0, value - lo))


def trade_off_figure(document: Mapping[str, Any]) -> Fig:
    """The trade-off chart as a Plotly JSON dict: accuracy (y) against DPPL and against DI (x)."""
    layout, refs = _grid(2, 2, hgap=0.09, vgap=0.1, titles=[label for _, _, label in _AXES])
    traces: list[Fig] = []
    curve = document.get("curve") or None
    rows = [r for r in document.get("comparison") or [] if isinstance(r, Mapping)]
    for k, (metric, parity, _label) in enumerate(_AXES):
        xkey, xref, ykey, yref = refs[k]
        layout[xkey]["title"] = {"text": metric}
        layout[ykey]["title"] = {"text": "accuracy"} if k == 0 else {}
        layout.setdefault("shapes", []).append(
            {
                "type": "line",
                "xref": xref,
                "yref": f"{yref} domain",
                "x0": parity,
                "x1": parity,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#2d6a3e", "width": 1, "dash": "dot"},
            }
        )
        if metric == "DI":
            layout["shapes"].append(
                {
                    "type": "rect",
                    "xref": xref,
                    "yref": f"{yref} domain",
                    "x0": 0.8,
                    "x1": 1.25,
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": "#2d6a3e",
                    "opacity": 0.07,
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
        if curve:
            points = [p for p in curve.get("points") or [] if isinstance(p, Mapping)]
            name = html.escape(str(curve.get("parameter", "parameter")))
            xs = [_finite(p.get(metric)) for p in points]
            ys = [_finite(p.get("accuracy")) for p in points]
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "x": xs,
                    "y": ys,
                    "xaxis": xref,
                    "yaxis": yref,
                    "name": f"curve over {name}",
                    "legendgroup": "curve",
                    "showlegend": k == 0,
                    "line": {"color": "#55A868", "width": 1.5},
                    "marker": {"size": 5, "color": "#55A868"},
                    "hovertext": [
                        f"{name} = {_fmt(p.get('value'))}<br>accuracy = {_fmt(p.get('accuracy'))}"
                        f"<br>{metric} = {_fmt(p.get(metric))}"
                        for p in points
                    ],
                    "hovertemplate": "%{hovertext}<extra></extra>",
                }
            )
        for row in rows:
            key = str(row.get("name", ""))
            x, y = _finite(row.get(metric)), _finite(row.get("accuracy"))
            if x is None or y is None:
                continue
            x_plus, x_minus = _error(x, row.get(f"{metric}_ci"))
            y_plus, y_minus = _error(y, row.get("accuracy_ci"))
            bar = {"type": "data", "symmetric": False, "color": "#555", "thickness": 1, "width": 3}
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": [x],
                    "y": [y],
                    "xaxis": xref,
                    "yaxis": yref,
                    "name": html.escape(key),
                    "legendgroup": key,
                    "showlegend": k == 0,
                    "marker": {
                        "size": 14 if key == "mitigated" else 10,
                        "color": _ROWS.get(key, "#8172B3"),
                        "symbol": _SYMBOLS.get(key, "diamond"),
                        "line": {"color": "white", "width": 1},
                    },
                    "error_x": {**bar, "array": [x_plus], "arrayminus": [x_minus]},
                    "error_y": {**bar, "array": [y_plus], "arrayminus": [y_minus]},
                    "hovertext": [
                        f"<b>{html.escape(key)}</b><br>accuracy = {_fmt(y)} {_fmt_ci(row.get('accuracy_ci'))}"
                        f"<br>{metric} = {_fmt(x)} {_fmt_ci(row.get(f'{metric}_ci'))}"
                    ],
                    "hovertemplate": "%{hovertext}<extra></extra>",
                }
            )
    layout.update(
        {
            "template": _TEMPLATE,
            "height": 460,
            "margin": {"l": 10, "r": 10, "t": 40, "b": 20},
            "legend": {"orientation": "h", "y": -0.18},
        }
    )
    return {"data": traces, "layout": layout}


def _comparison(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for row in document.get("comparison") or []:
        cells = {}
        for column in _COLUMNS:
            cells[column] = {"value": _fmt(row.get(column)), "ci": _fmt_ci(row.get(f"{column}_ci"))}
        cells["q_d"] = {"value": _fmt(row.get("selection_rate_d")), "ci": ""}
        cells["q_a"] = {"value": _fmt(row.get("selection_rate_a")), "ci": ""}
        di = _finite(row.get("DI"))
        out.append(
            {
                "name": str(row.get("name", "")),
                "description": str(row.get("description", "")),
                "cells": cells,
                "di_fails": di is not None and not 0.8 <= di <= 1.25,
            }
        )
    return out


def _curve(document: Mapping[str, Any]) -> dict[str, Any] | None:
    curve = document.get("curve")
    if not isinstance(curve, Mapping):
        return None
    points = [
        {
            "value": _fmt(p.get("value")),
            "chosen": bool(p.get("chosen")),
            **{c: _fmt(p.get(c)) for c in ("accuracy", "DPPL", "DI", "RD", "SD")},
        }
        for p in curve.get("points") or []
        if isinstance(p, Mapping)
    ]
    return {"parameter": str(curve.get("parameter", "")), "description": str(curve.get("description", "")),
            "chosen": _fmt(curve.get("chosen")), "points": points}  # fmt: skip


def _pretty(value: Any) -> str:
    if isinstance(value, Sequence | Mapping) and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return "—" if value is None else str(value)


def render_mitigation_html(document: Mapping[str, Any]) -> str:
    """The whole page, offline (Plotly's JavaScript inline)."""
    from assay.reports.html import _plotly_js

    label = document.get("label") or {}
    facet = document.get("facet") or {}
    data = document.get("data") or {}
    facet_text = (
        f"{facet.get('column')} > {facet.get('threshold')}"
        if facet.get("threshold") is not None
        else f"{facet.get('column')} = {', '.join(str(v) for v in facet.get('values') or [])}"
    )
    label_text = (
        f"{label.get('column')} > {label.get('threshold')}"
        if label.get("threshold") is not None
        else f"{label.get('column')} = {', '.join(str(v) for v in label.get('values') or ['1'])}"
    )
    learnt = document.get("learnt") or {}
    page = template("mitigation.html.j2")
    return page.render(
        doc=document,
        method=str(document.get("method", "")),
        stage=str(document.get("stage", "")),
        constraint=document.get("constraint"),
        label=label_text,
        facet=facet_text,
        source=str(data.get("source", "")),
        rows=data.get("rows") or {},
        split=document.get("split") or {},
        comparison=_comparison(document),
        curve=_curve(document),
        figure=Markup(_figure_html(trade_off_figure(document), "assay-trade-off", 460)),
        parameters=[(str(k), _pretty(v)) for k, v in (document.get("parameters") or {}).items()],
        learnt=[(str(k), _pretty(v)) for k, v in learnt.items() if k != "search_on_training_rows"],
        deployment=document.get("deployment") or {},
        model=document.get("model") or {},
        lineage=document.get("lineage"),
        features=[str(f) for f in document.get("features") or []],
        plotly_js=_plotly_js(),
    )
