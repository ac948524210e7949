"""Plotly figures (plain JSON dicts) of the HTML report: metric panels, performance, calibration."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markupsafe import Markup

from assay.reports._format import (
    _BAR,
    _BAR_FLAGGED,
    _CHARTED_RATES,
    _OVERALL,
    _PALETTE,
    _PLOT_CONFIG,
    _excludes_parity,
    _finite,
    _fmt,
    _fmt_ci,
    _fmt_count,
    _guide,
    _interval,
    _metric,
    _metric_names,
    _num,
    _plain,
)
from assay.reports._guide import _RATES, _STAGES

# ---- figures ----------------------------------------------------------------------------------------------
# Figures are plain Plotly JSON dicts rendered with ``plotly.io.to_html(..., validate=False)``: Plotly's
# object model validates every property on every update and made a large report take seconds.

Fig = dict[str, Any]

_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_AXIS: dict[str, Any] = {
    "gridcolor": "#e6e6e6",
    "zeroline": False,
    "linecolor": "#bbb",
    "showline": True,
    "automargin": True,
}
_TEMPLATE: dict[str, Any] = {
    "layout": {
        "font": {"family": _FONT, "size": 12, "color": "#1f2933"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": list(_PALETTE),
        "hoverlabel": {"align": "left"},
        "hovermode": "closest",
    }
}


def _axis_ref(n: int, axis: str) -> tuple[str, str]:
    """Layout key and trace reference of subplot ``n`` (1-based): ``("xaxis2", "x2")``; 1 has no number."""
    suffix = "" if n == 1 else str(n)
    return f"{axis}axis{suffix}", f"{axis}{suffix}"


def _grid(
    n: int, cols: int, *, hgap: float, vgap: float, titles: Sequence[str]
) -> tuple[dict[str, Any], list[tuple[str, str, str, str]]]:
    """Layout of ``n`` subplots on a grid (row-major) with titles: (layout, [(xkey, xref, ykey, yref)])."""
    rows = math.ceil(n / cols)
    width = (1 - hgap * (cols - 1)) / cols
    height = (1 - vgap * (rows - 1)) / rows
    layout: dict[str, Any] = {"annotations": []}
    refs = []
    for k in range(n):
        r, c = divmod(k, cols)
        x0 = c * (width + hgap)
        y1 = 1 - r * (height + vgap)
        xkey, xref = _axis_ref(k + 1, "x")
        ykey, yref = _axis_ref(k + 1, "y")
        layout[xkey] = {**_AXIS, "domain": [x0, x0 + width], "anchor": yref}
        layout[ykey] = {**_AXIS, "domain": [max(0.0, y1 - height), y1], "anchor": xref}
        refs.append((xkey, xref, ykey, yref))
        if k < len(titles):
            layout["annotations"].append(
                {
                    "text": titles[k],
                    "x": x0 + width / 2,
                    "y": y1,
                    "xref": "paper",
                    "yref": "paper",
                    "xanchor": "center",
                    "yanchor": "bottom",
                    "showarrow": False,
                    "font": {"size": 13},
                }
            )
    return layout, refs


def _figure_html(fig: Fig, div_id: str, height: int) -> Markup:
    import plotly.io as pio

    html_text: str = pio.to_html(
        fig,
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        validate=False,
        div_id=div_id,
        config=_PLOT_CONFIG,
        default_height=f"{height}px",
        default_width="100%",
    )
    return Markup(html_text)  # Plotly's own markup; its JSON escapes < > & inside the <script>


def _title(text: str) -> dict[str, Any]:
    return {"text": text, "font": {"size": 14}, "x": 0.0, "xanchor": "left", "xref": "paper"}


def _axis_range(points: Iterable[float | None], parity: float) -> tuple[float, float]:
    finite = [p for p in points if p is not None and math.isfinite(p)] + [parity]
    lo, hi = min(finite), max(finite)
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return lo - 0.08 * span, hi + 0.08 * span


def _error_length(v: float, bound: float | None, edge: float, *, upper: bool) -> float | None:
    """Length of one arm of an error bar; an infinite bound reaches ``edge`` (just past the axis)."""
    if bound is None:
        return None
    if math.isinf(bound):
        if (bound > 0) != upper:
            return None
        return abs(edge - v)
    return max(0.0, bound - v) if upper else max(0.0, v - bound)


def _metric_panel(
    name: str,
    labels: Sequence[str],
    entries: Sequence[Mapping[str, Any]],
    confidence: str,
    xref: str,
    yref: str,
) -> tuple[list[Fig], list[Fig], tuple[float, float]]:
    """Traces and reference lines of one metric's panel, and its x range."""
    g = _guide(name)
    values: list[float | None] = []
    bounds: list[tuple[float | None, float | None]] = []
    colors: list[str] = []
    hover: list[str] = []
    points: list[float | None] = []
    marks: list[tuple[str, str, str, str]] = []  # (label, where: hi/lo/parity, text, hover)
    for label, entry in zip(labels, entries, strict=True):
        m = _metric(entry, name) or {}
        v = _num(m.get("value"))
        ci = _interval(m.get("ci")) or (None, None)
        points += [v, *ci]
        ci_text = _fmt_ci(m.get("ci"))
        tip = f"<b>{label}</b><br>{_plain(name)} = {_fmt(v)}"
        tip += f"<br>{confidence} {ci_text}" if ci_text else ""
        tip += f"<br>n_d = {_fmt_count(entry.get('n_d'))}, n_a = {_fmt_count(entry.get('n_a'))}"
        hover.append(tip)
        colors.append(_BAR_FLAGGED if _excludes_parity(name, m.get("ci")) else _BAR)
        if v is None:
            reason = _plain(m.get("error") or "not computed")
            marks.append((label, "parity", "n/a", f"{tip}<br>{reason}"))
        elif math.isinf(v):
            marks.append((label, "hi" if v > 0 else "lo", _fmt(v), tip))
        values.append(v if v is not None and math.isfinite(v) else None)
        bounds.append(ci)
    lo, hi = _axis_range(points, g.parity)
    if name == "DI":
        lo, hi = min(lo, 0.0), max(hi, 1.3)
    overshoot = 0.05 * (hi - lo)
    plus = [
        None if v is None else _error_length(v, b[1], hi + overshoot, upper=True)
        for v, b in zip(values, bounds, strict=True)
    ]
    minus = [
        None if v is None else _error_length(v, b[0], lo - overshoot, upper=False)
        for v, b in zip(values, bounds, strict=True)
    ]
    traces: list[Fig] = [
        {
            "type": "bar",
            "orientation": "h",
            "x": values,
            "y": list(labels),
            "xaxis": xref,
            "yaxis": yref,
            "name": _plain(name),
            "marker": {"color": colors},
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": plus,
                "arrayminus": minus,
                "color": "#333",
                "thickness": 1.2,
                "width": 3,
            },
            "hovertext": hover,
            "hovertemplate": "%{hovertext}<extra></extra>",
            "showlegend": False,
        }
    ]
    for where, x, position in (
        ("hi", hi, "middle left"),
        ("lo", lo, "middle right"),
        ("parity", g.parity, "middle right"),
    ):
        selected = [t for t in marks if t[1] == where]
        if selected:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "text",
                    "x": [x] * len(selected),
                    "y": [t[0] for t in selected],
                    "xaxis": xref,
                    "yaxis": yref,
                    "text": [t[2] for t in selected],
                    "textposition": position,
                    "textfont": {"color": "#666" if where == "parity" else "#b3261e", "size": 13},
                    "hovertext": [t[3] for t in selected],
                    "hovertemplate": "%{hovertext}<extra></extra>",
                    "showlegend": False,
                    "cliponaxis": False,
                }
            )
    lines = [(g.parity, "#444", "dot")]
    if name == "DI":
        lines += [(0.8, "#C44E52", "dash"), (1.25, "#C44E52", "dash")]
    shapes: list[Fig] = [
        {
            "type": "line",
            "xref": xref,
            "yref": f"{yref} domain",
            "x0": x,
            "x1": x,
            "y0": 0,
            "y1": 1,
            "line": {"color": color, "width": 1, "dash": dash},
            "layer": "above",
        }
        for x, color, dash in lines
    ]
    return traces, shapes, (lo, hi)


def _metric_figure(
    facet: str, stage: str, entries: Sequence[Mapping[str, Any]], confidence: str, div_id: str
) -> Markup | None:
    """Small multiples: one horizontal bar chart per metric, the facet values on the (shared) y axis."""
    names = _metric_names(entries, stage)
    if not names or not entries:
        return None
    labels = [_plain(e.get("value_or_threshold")) for e in entries]
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    row_px = 22 * len(labels) + 80
    height = rows * row_px + 50
    layout, refs = _grid(
        len(names),
        cols,
        hgap=0.035,
        vgap=min(0.3, 60 / height) if rows > 1 else 0.0,
        titles=[_plain(n) for n in names],
    )
    traces: list[Fig] = []
    shapes: list[Fig] = []
    first_y = refs[0][3]
    for k, (name, (xkey, xref, ykey, yref)) in enumerate(zip(names, refs, strict=True)):
        panel, lines, (lo, hi) = _metric_panel(name, labels, entries, confidence, xref, yref)
        traces += panel
        shapes += lines
        layout[xkey].update(range=[lo, hi])
        layout[ykey].update(
            type="category",
            categoryorder="array",
            categoryarray=labels,
            autorange="reversed",
            showgrid=False,
            showticklabels=k % cols == 0,
        )
        if yref != first_y:
            layout[ykey]["matches"] = first_y
    layout.update(
        template=_TEMPLATE,
        height=height,
        margin={"l": 10, "r": 20, "t": 60, "b": 20},
        bargap=0.25,
        shapes=shapes,
        title=_title(f"{_plain(facet)}: {_STAGES.get(stage, _plain(stage)).lower()}"),
    )
    return _figure_html({"data": traces, "layout": layout}, div_id, height)


def _present_rates(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    keys: list[str] = []
    for row in rows:
        for k in row.get("metrics") or {}:
            if k not in keys:
                keys.append(str(k))
    known = [k for k in _RATES if k in keys]
    return known + sorted(k for k in keys if k not in _RATES)


def _series(
    rows: Sequence[Mapping[str, Any]], overall: Mapping[str, Any] | None
) -> list[tuple[Mapping[str, Any], str, str, bool]]:
    """(row, plotly-safe label, color, is overall) with "all rows" first."""
    out = [(overall, "all rows", _OVERALL, True)] if overall is not None else []
    return out + [(r, _plain(r.get("value")), _PALETTE[i % len(_PALETTE)], False) for i, r in enumerate(rows)]


def _performance_figure(
    facet: str,
    rows: Sequence[Mapping[str, Any]],
    overall: Mapping[str, Any] | None,
    confidence: str,
    div_id: str,
) -> Markup | None:
    """Grouped bars: the rates on the x axis, one bar (with its CI) per facet value, overall in grey."""
    present = _present_rates([*rows, *([overall] if overall else [])])
    rates = [r for r in _CHARTED_RATES if r in present]
    if not rates or not rows:
        return None
    traces: list[Fig] = []
    for row, label, color, _ in _series(rows, overall):
        metrics = row.get("metrics") or {}
        cis = row.get("ci") or {}
        ys: list[float | None] = []
        plus: list[float | None] = []
        minus: list[float | None] = []
        hover: list[str] = []
        for r in rates:
            v = _finite(metrics.get(r))
            bounds = _interval(cis.get(r)) or (None, None)
            lo, hi = _finite(bounds[0]), _finite(bounds[1])
            ys.append(v)
            plus.append(None if v is None or hi is None else max(0.0, hi - v))
            minus.append(None if v is None or lo is None else max(0.0, v - lo))
            ci_text = _fmt_ci(cis.get(r))
            hover.append(
                f"<b>{label}</b><br>{_RATES[r]} = {_fmt(metrics.get(r))}"
                + (f"<br>{confidence} {ci_text}" if ci_text else "")
                + f"<br>n = {_fmt_count(metrics.get('count'))}"
            )
        traces.append(
            {
                "type": "bar",
                "x": [_RATES[r] for r in rates],
                "y": ys,
                "name": label,
                "marker": {"color": color},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": plus,
                    "arrayminus": minus,
                    "color": "#333",
                    "thickness": 1,
                    "width": 2,
                },
                "hovertext": hover,
                "hovertemplate": "%{hovertext}<extra></extra>",
            }
        )
    height = 430
    layout = {
        "template": _TEMPLATE,
        "barmode": "group",
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 50, "b": 20},
        "xaxis": {**_AXIS, "type": "category"},
        "yaxis": {**_AXIS, "range": [0, 1.05], "title": {"text": "rate"}},
        "legend": {"title": {"text": _plain(facet)}},
        "title": _title(f"{_plain(facet)}: group performance"),
    }
    return _figure_html({"data": traces, "layout": layout}, div_id, height)


def _calibration_figure(
    facet: str, rows: Sequence[Mapping[str, Any]], overall: Mapping[str, Any] | None, div_id: str
) -> Markup | None:
    """Reliability diagrams (equal-width and equal-mass bins): mean score vs observed positive rate."""
    series = [s for s in _series(rows, overall) if isinstance(s[0].get("score"), Mapping)]
    if not any(not is_overall for *_, is_overall in series):
        return None
    layout, refs = _grid(2, 2, hgap=0.08, vgap=0.0, titles=["Equal-width bins", "Equal-mass bins"])
    traces: list[Fig] = []
    for col, (key, (xkey, xref, ykey, yref)) in enumerate(
        zip(("reliability", "reliability_equal_mass"), refs, strict=True)
    ):
        layout[xkey].update(range=[-0.02, 1.02], title={"text": "mean score in bin"})
        layout[ykey].update(range=[-0.02, 1.02], title={"text": "observed positive rate" if col == 0 else ""})
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [0, 1],
                "y": [0, 1],
                "xaxis": xref,
                "yaxis": yref,
                "line": {"color": "#999", "dash": "dot", "width": 1},
                "name": "perfect calibration",
                "legendgroup": "diagonal",
                "showlegend": col == 0,
                "hoverinfo": "skip",
            }
        )
        for i, (row, label, color, _) in enumerate(series):
            bins = [b for b in row["score"].get(key) or [] if isinstance(b, Mapping)]
            biggest = max([_finite(b.get("count")) or 0.0 for b in bins] + [1.0])
            pts = []
            for b in bins:
                x, y = _finite(b.get("mean_score")), _finite(b.get("observed_rate"))
                if x is not None and y is not None:
                    pts.append((x, y, b))
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "x": [p[0] for p in pts],
                    "y": [p[1] for p in pts],
                    "xaxis": xref,
                    "yaxis": yref,
                    "name": label,
                    "legendgroup": f"series{i}",
                    "showlegend": col == 0,
                    "line": {"color": color, "width": 1.5},
                    "marker": {
                        "size": [5 + 9 * math.sqrt((_finite(b.get("count")) or 0) / biggest) for _, _, b in pts],
                        "color": color,
                    },
                    "hovertext": [
                        f"<b>{label}</b><br>bin [{_fmt(b.get('lower'))}, {_fmt(b.get('upper'))}]"
                        f"<br>mean score = {_fmt(x)}<br>observed rate = {_fmt(y)}"
                        f"<br>n = {_fmt_count(b.get('count'))}"
                        for x, y, b in pts
                    ],
                    "hovertemplate": "%{hovertext}<extra></extra>",
                }
            )
    height = 450
    layout.update(
        template=_TEMPLATE,
        height=height,
        margin={"l": 10, "r": 10, "t": 70, "b": 20},
        legend={"title": {"text": _plain(facet)}},
        title=_title(f"{_plain(facet)}: calibration"),
    )
    return _figure_html({"data": traces, "layout": layout}, div_id, height)
