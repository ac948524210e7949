"""Assessment document (``assessment.json`` as a plain dict) -> HTML.

:func:`render_report_html` writes one self-contained page that works offline: Plotly's JavaScript is
embedded once in the head (from the installed ``plotly`` package), every figure is a ``<div>`` with its
data, and the CSS is inline. :func:`render_summary_html` writes a compact fragment (no JavaScript) for
Jupyter's ``_repr_html_``.

Values in the document may be numbers, ``null`` (undefined, with a reason in ``error``) or the strings
``"Infinity"`` / ``"-Infinity"``. Charts leave non-finite bars out and mark them ``∞`` / ``n/a``; tables show
4 significant digits. Every string from the document is HTML-escaped: by Jinja2's autoescape in the page,
and explicitly before it goes into a Plotly figure (Plotly renders a subset of HTML tags in its labels).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import Markup

__all__ = ["render_report_html", "render_summary_html"]

# ---- how to read the metrics --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Guide:
    parity: float  # the value that means "no bias"; drawn as the reference line
    signed: bool  # a signed difference or ratio (the CI excluding parity is flagged); False: a distance
    formula: str
    reading: str


_SAME = "0: facet d and facet a have the same label distribution; larger: more different."
_GUIDE: dict[str, _Guide] = {
    "CI": _Guide(
        0.0,
        True,
        "(n_a − n_d) / (n_a + n_d)",
        "−1 … 1. 0: both facets have as many rows. Positive: facet d has fewer rows (under-represented).",
    ),
    "DPL": _Guide(
        0.0,
        True,
        "q_a − q_d, q = share of positive labels",
        "−1 … 1. 0: parity. Positive: facet d has fewer positive labels than facet a.",
    ),
    "KL": _Guide(0.0, False, "KL(P_a ‖ P_d) of the label distributions", "≥ 0. " + _SAME),
    "JS": _Guide(0.0, False, "½ [KL(P_a ‖ P) + KL(P_d ‖ P)], P = ½ (P_a + P_d)", "0 … ln 2. " + _SAME),
    "LP": _Guide(0.0, False, "√ Σ_y (P_a(y) − P_d(y))²", "≥ 0. " + _SAME),
    "TVD": _Guide(0.0, False, "½ Σ_y |P_a(y) − P_d(y)|", "0 … 1. " + _SAME),
    "KS": _Guide(0.0, False, "max_y |P_a(y) − P_d(y)|", "0 … 1. " + _SAME),
    "CDDL": _Guide(
        0.0,
        True,
        "Σ_g n_g · DD_g / n; DD = share of facet d among the negative labels − among the positive labels",
        "−1 … 1. 0: no disparity within the groups. Positive: within the groups, facet d makes up more of "
        "the negative labels than of the positive ones.",
    ),
    "DPPL": _Guide(
        0.0,
        True,
        "q̂_a − q̂_d, q̂ = share of positive predictions",
        "−1 … 1. 0: parity. Positive: facet d gets fewer positive predictions than facet a.",
    ),
    "DI": _Guide(
        1.0,
        True,
        "q̂_d / q̂_a",
        "1: parity. Below 0.8 fails the four-fifths rule (facet d gets under 80 % of facet a's rate of "
        "positive predictions); above 1.25 is the same in reverse.",
    ),
    "DCA": _Guide(
        0.0,
        True,
        "c_a − c_d, c = positive labels / positive predictions",
        "0: parity. Negative: facet d gets fewer positive predictions than its labels warrant, compared with facet a.",
    ),
    "DCR": _Guide(
        0.0,
        True,
        "r_d − r_a, r = negative labels / negative predictions",
        "0: parity. Positive: facet d gets fewer negative predictions than its labels warrant, compared with facet a.",
    ),
    "RD": _Guide(
        0.0,
        True,
        "recall_a − recall_d",
        "0: parity. Positive: the model finds a smaller share of facet d's positives.",
    ),
    "SD": _Guide(
        0.0,
        True,
        "specificity_d − specificity_a (true negative rates)",
        "0: parity. Negative: facet d's negatives are more often predicted positive (more false positives).",
    ),
    "DAR": _Guide(
        0.0,
        True,
        "precision_a − precision_d",
        "0: parity. Positive: facet d's positive predictions are less often right.",
    ),
    "DRR": _Guide(
        0.0,
        True,
        "NPV_d − NPV_a, NPV = TN / (TN + FN)",
        "0: parity. Negative: facet d's negative predictions are less often right.",
    ),
    "AD": _Guide(0.0, True, "accuracy_a − accuracy_d", "0: parity. Positive: the model is less accurate for facet d."),
    "CDDPL": _Guide(
        0.0,
        True,
        "CDDL on the predicted labels",
        "−1 … 1. 0: no disparity within the groups. Positive: within the groups, facet d makes up more of "
        "the negative predictions than of the positive ones.",
    ),
    "TE": _Guide(
        0.0,
        True,
        "FN_d / FP_d − FN_a / FP_a",
        "0: both facets have the same ratio of false negatives to false positives. Positive: facet d's "
        "errors lean more towards false negatives.",
    ),
    "FT": _Guide(
        0.0,
        True,
        "(#d rows with ŷ = 1 whose facet-a neighbours get 0 − #d rows with ŷ = 0 whose neighbours get 1) / n_d",
        "−1 … 1. 0: facet d rows get the predictions of their nearest facet-a neighbours. Negative: facet d "
        "gets fewer positive predictions than similar facet-a rows.",
    ),
    "GE": _Guide(
        0.0,
        False,
        "generalized entropy (α = 2) of the benefit ŷ − y + 1 over all rows",
        "≥ 0. 0: every row gets the same benefit; larger: more unequal. It does not depend on the facet.",
    ),
}
_DEFAULT_GUIDE = _Guide(0.0, True, "", "")

_STAGES = {"pre_training": "Pre-training metrics", "post_training": "Post-training metrics"}
_STAGE_NOTES = {
    "pre_training": "Computed from the labels alone: is the data itself imbalanced between facet d and the rest?",
    "post_training": "Computed from the labels and the model's predictions: does the model treat facet d "
    "differently from the rest?",
}

_RATES: dict[str, str] = {
    "count": "Count",
    "share": "Share",
    "base_rate": "Base rate",
    "selection_rate": "Selection rate",
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall (TPR)",
    "fpr": "FPR",
    "fnr": "FNR",
    "f1": "F1",
}
_RATE_NOTES: dict[str, str] = {
    "count": "rows with a label",
    "share": "share of all rows with a label",
    "base_rate": "share of positive labels",
    "selection_rate": "share of positive predictions",
    "accuracy": "(TP + TN) / n",
    "precision": "TP / (TP + FP)",
    "recall": "TP / (TP + FN), the true positive rate",
    "fpr": "FP / (FP + TN), the false positive rate",
    "fnr": "FN / (FN + TP), the false negative rate",
    "f1": "2 TP / (2 TP + FP + FN)",
}
_CHARTED_RATES = ("selection_rate", "base_rate", "accuracy", "fpr", "fnr", "precision", "recall")
_SCORES: dict[str, str] = {
    "roc_auc": "ROC AUC",
    "brier": "Brier score",
    "ece": "ECE (equal width)",
    "ece_equal_mass": "ECE (equal mass)",
}

_PALETTE = (
    "#4C72B0",
    "#DD8452",
    "#55A868",
    "#C44E52",
    "#8172B3",
    "#937860",
    "#DA8BC3",
    "#8C8C8C",
    "#CCB974",
    "#64B5CD",
    "#1F3A93",
    "#A0522D",
    "#2E8B57",
    "#B8860B",
    "#6A5ACD",
    "#708090",
)
_BAR = "#4C72B0"
_BAR_FLAGGED = "#DD8452"
_OVERALL = "#9a9a9a"
_PLOT_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

# ---- numbers --------------------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A document value as a float (±inf for ``"Infinity"``/``"-Infinity"``), or None when undefined."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        x = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in {"infinity", "+infinity", "inf", "+inf"}:
            return math.inf
        if text in {"-infinity", "-inf"}:
            return -math.inf
        try:
            x = float(text)
        except ValueError:
            return None
    else:
        return None
    return None if math.isnan(x) else x


def _finite(value: Any) -> float | None:
    x = _num(value)
    return x if x is not None and math.isfinite(x) else None


def _fmt(value: Any) -> str:
    """4 significant digits; ``∞`` / ``-∞``; ``—`` when undefined."""
    x = _num(value)
    if x is None:
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    return f"{x:.4g}"


def _fmt_count(value: Any) -> str:
    x = _finite(value)
    if x is None:
        return "—"
    return f"{round(x):,}" if x == round(x) else _fmt(x)


def _interval(ci: Any) -> tuple[float | None, float | None] | None:
    if not isinstance(ci, Sequence) or isinstance(ci, str) or len(ci) != 2:
        return None
    lo, hi = _num(ci[0]), _num(ci[1])
    return None if lo is None and hi is None else (lo, hi)


def _fmt_ci(ci: Any) -> str:
    bounds = _interval(ci)
    return "" if bounds is None else f"[{_fmt(bounds[0])}, {_fmt(bounds[1])}]"


def _plain(value: Any) -> str:
    """Text for Plotly: Plotly interprets a subset of HTML in labels, so escape it to show it literally."""
    return html.escape(str(value), quote=False)


def _guide(name: str) -> _Guide:
    return _GUIDE.get(name, _DEFAULT_GUIDE)


def _excludes_parity(name: str, ci: Any) -> bool:
    g = _guide(name)
    bounds = _interval(ci)
    if not g.signed or bounds is None or bounds[0] is None or bounds[1] is None:
        return False
    return bounds[0] > g.parity or bounds[1] < g.parity


def _confidence_label(document: Mapping[str, Any]) -> str:
    bootstrap = (document.get("spec") or {}).get("bootstrap") or {}
    conf = _finite(bootstrap.get("confidence"))
    return f"{conf:.0%} CI" if conf is not None and 0 < conf < 1 else "CI"


# ---- document helpers -----------------------------------------------------------------------------------


def _facet_order(document: Mapping[str, Any]) -> list[str]:
    """Facet names in document order: bias entries first, then performance-only facets (not ``all``)."""
    names: list[str] = []
    for entry in document.get("facets") or []:
        if entry.get("facet") not in names:
            names.append(str(entry.get("facet")))
    for row in document.get("performance") or []:
        if not _is_overall(row) and str(row.get("facet")) not in names:
            names.append(str(row.get("facet")))
    return names


def _is_overall(row: Mapping[str, Any]) -> bool:
    return row.get("facet") == "all" and not row.get("columns")


def _entries(document: Mapping[str, Any], facet: str) -> list[Mapping[str, Any]]:
    return [e for e in document.get("facets") or [] if str(e.get("facet")) == facet]


def _performance(document: Mapping[str, Any], facet: str) -> list[Mapping[str, Any]]:
    return [p for p in document.get("performance") or [] if not _is_overall(p) and str(p.get("facet")) == facet]


def _overall(document: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next((p for p in document.get("performance") or [] if _is_overall(p)), None)


def _metric_names(entries: Iterable[Mapping[str, Any]], stage: str | None = None) -> list[str]:
    names: list[str] = []
    for entry in entries:
        for m in entry.get("metrics") or []:
            if (stage is None or m.get("stage") == stage) and m.get("name") not in names:
                names.append(str(m.get("name")))
    return names


def _metric(entry: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    return next((m for m in entry.get("metrics") or [] if m.get("name") == name), None)


def _stages(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    present = {str(m.get("stage")) for e in entries for m in e.get("metrics") or []}
    return [s for s in _STAGES if s in present] + sorted(present - set(_STAGES))


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


# ---- tables -----------------------------------------------------------------------------------------------


def _cell(entry: Mapping[str, Any], name: str) -> dict[str, Any]:
    m = _metric(entry, name)
    if m is None:
        return {"value": "", "ci": "", "error": None, "cls": "absent"}
    value = _num(m.get("value"))
    cls = ""
    if value is not None and _excludes_parity(name, m.get("ci")):
        cls = "sig"
    if name == "DI" and value is not None and not 0.8 <= value <= 1.25:
        cls += " fail"
    error = m.get("error")
    return {
        "value": _fmt(value) if value is not None or not error else "n/a",
        "ci": _fmt_ci(m.get("ci")),
        "error": None if error is None else str(error),
        "cls": cls.strip(),
    }


def _metric_table(document: Mapping[str, Any], facet: str) -> dict[str, Any]:
    entries = _entries(document, facet)
    min_size = _finite((document.get("spec") or {}).get("min_group_size"))
    columns = []
    for e in entries:
        n_d = _finite(e.get("n_d"))
        n_a = _finite(e.get("n_a"))
        small = min_size is not None and any(n is not None and n < min_size for n in (n_d, n_a))
        columns.append(
            {
                "value": str(e.get("value_or_threshold")),
                "n_d": _fmt_count(n_d),
                "n_a": _fmt_count(n_a),
                "small": small,
            }
        )
    stages = []
    for stage in _stages(entries):
        stages.append(
            {
                "title": _STAGES.get(stage, stage),
                "rows": [
                    {
                        "name": name,
                        "description": _description(entries, name),
                        "cells": [_cell(e, name) for e in entries],
                    }
                    for name in _metric_names(entries, stage)
                ],
            }
        )
    return {"columns": columns, "stages": stages}


def _description(entries: Iterable[Mapping[str, Any]], name: str) -> str:
    for e in entries:
        m = _metric(e, name)
        if m is not None and m.get("description"):
            return str(m["description"])
    return name


def _performance_table(rows: Sequence[Mapping[str, Any]], overall: Mapping[str, Any] | None) -> dict[str, Any]:
    series = ([(overall, "all rows", True)] if overall is not None else []) + [
        (r, str(r.get("value")), False) for r in rows
    ]
    keys = _present_rates([r for r, _, _ in series])
    out_rows = []
    for row, label, is_overall in series:
        metrics = row.get("metrics") or {}
        cis = row.get("ci") or {}
        cells = []
        for k in keys:
            text = _fmt_count(metrics.get(k)) if k == "count" else _fmt(metrics.get(k))
            cells.append({"value": text, "ci": _fmt_ci(cis.get(k))})
        out_rows.append({"label": label, "overall": is_overall, "cells": cells})
    return {
        "headers": [{"name": _RATES.get(k, k), "note": _RATE_NOTES.get(k, "")} for k in keys],
        "rows": out_rows,
    }


def _score_table(rows: Sequence[Mapping[str, Any]], overall: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    series = ([(overall, "all rows", True)] if overall is not None else []) + [
        (r, str(r.get("value")), False) for r in rows
    ]
    out = []
    for row, label, is_overall in series:
        score = row.get("score")
        if not isinstance(score, Mapping):
            continue
        out.append(
            {
                "label": label,
                "overall": is_overall,
                "count": _fmt_count((row.get("metrics") or {}).get("count")),
                "values": [_fmt(score.get(k)) for k in _SCORES],
                "notes": "; ".join(str(n) for n in score.get("notes") or []),
            }
        )
    return out


# ---- summary of the run ---------------------------------------------------------------------------------


def _column_spec(spec: Any) -> str:
    if not isinstance(spec, Mapping):
        return "" if spec is None else str(spec)
    text = str(spec.get("column", ""))
    values = spec.get("values")
    if values:
        text += " ∈ {" + ", ".join(str(v) for v in values) + "}"
    if spec.get("threshold") is not None:
        text += f" (threshold {_fmt(spec['threshold'])})"
    return text


def _summary_items(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """(title, [(key, value)]) groups for the summary box; everything already text."""
    spec = document.get("spec") or {}
    data = document.get("data") or {}
    rows = document.get("rows") or {}
    row_items = [(k.replace("_", " ").capitalize(), _fmt_count(v)) for k, v in rows.items()]

    label_spec = spec.get("label")
    label_text = _column_spec(label_spec) or str(document.get("label", ""))
    facets = [_column_spec(f) for f in spec.get("facets") or []]
    if spec.get("intersect"):
        facets.append("+ their intersections")
    predicted = spec.get("predicted")
    score = spec.get("score")
    if isinstance(predicted, Mapping) and predicted.get("column"):
        model = f"predicted label: {predicted['column']}"
    elif isinstance(score, Mapping) and score.get("column"):
        model = f"score: {score['column']} (positive when ≥ {_fmt(score.get('threshold'))})"
    else:
        model = "none (pre-training metrics only)"
    bootstrap = spec.get("bootstrap")
    if isinstance(bootstrap, Mapping) and bootstrap.get("replicates"):
        conf = _finite(bootstrap.get("confidence"))
        boot = f"{_fmt_count(bootstrap.get('replicates'))} replicates"
        boot += f", {conf:.0%} confidence" if conf is not None else ""
        boot += f", seed {bootstrap.get('seed')}" if bootstrap.get("seed") is not None else ""
    else:
        boot = "off (no confidence intervals)"
    spec_items = [
        ("Label", f"{label_text} — positive: {document.get('label_value_or_threshold', '')}"),
        ("Facets", "; ".join(facets) or "—"),
        ("Model output", model),
        ("Group", str(spec.get("group")) if spec.get("group") else "none (CDDL and CDDPL undefined)"),
        ("Bootstrap", boot),
    ]
    for key, title in (
        ("min_group_size", "Min group size"),
        ("divergence", "Divergences"),
        ("calibration_bins", "Calibration bins"),
    ):
        if spec.get(key) is not None:
            spec_items.append((title, str(spec[key])))
    if spec.get("features"):
        spec_items.append(("Features (FT)", ", ".join(str(f) for f in spec["features"])))
    if spec.get("metrics"):
        spec_items.append(("Metrics", ", ".join(str(m) for m in spec["metrics"])))

    run_items = [
        ("Source", str(data.get("source", "—"))),
        ("Engine", str(data.get("engine", "—"))),
        ("Fingerprint", str(data.get("fingerprint", "—"))),
        ("Assay version", str(document.get("assay_version", "—"))),
        ("Created", str(document.get("created_at", "—"))),
        ("Schema", f"{document.get('schema', '—')} v{document.get('schema_version', '?')}"),
    ]
    columns = data.get("columns")
    column_items = [(str(k), str(v)) for k, v in columns.items()] if isinstance(columns, Mapping) else []
    return [
        {"title": "Rows", "items": row_items},
        {"title": "Data and run", "items": run_items, "columns": column_items},
        {"title": "Specification", "items": spec_items},
    ]


# ---- rendering --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("assay.reports", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


@lru_cache(maxsize=1)
def _plotly_js() -> Markup:
    from plotly.offline import get_plotlyjs

    js: str = get_plotlyjs()
    if "</script" in js.lower():  # cannot happen with Plotly's bundle; guard the inline embedding anyway
        js = js.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
    return Markup(js)  # the installed plotly.js bundle


def _glossary(document: Mapping[str, Any]) -> list[dict[str, str]]:
    entries = document.get("facets") or []
    out = []
    for name in _metric_names(entries):
        g = _guide(name)
        out.append(
            {
                "name": name,
                "description": _description(entries, name),
                "formula": g.formula,
                "parity": _fmt(g.parity),
                "reading": g.reading,
            }
        )
    return out


def render_report_html(document: dict[str, Any]) -> str:
    """The whole report as one self-contained, offline HTML page (Plotly's JavaScript inline)."""
    confidence = _confidence_label(document)
    overall = _overall(document)
    sections = []
    for i, facet in enumerate(_facet_order(document), start=1):
        entries = _entries(document, facet)
        perf_rows = _performance(document, facet)
        charts = []
        for j, stage in enumerate(_stages(entries)):
            short = {"pre_training": "pre", "post_training": "post"}.get(stage, f"stage{j}")  # a safe div id
            figure = _metric_figure(facet, stage, entries, confidence, f"assay-f{i}-{short}")
            if figure is None:
                continue
            charts.append(
                {
                    "title": _STAGES.get(stage, stage),
                    "note": _STAGE_NOTES.get(stage, ""),
                    "figure": figure,
                }
            )
        sections.append(
            {
                "id": f"facet-{i}",
                "facet": facet,
                "columns": ", ".join(str(c) for c in (entries[0].get("columns") or []))
                if entries
                else ", ".join(str(c) for c in (perf_rows[0].get("columns") or []) if perf_rows),
                "n_values": len(entries) or len(perf_rows),
                "charts": charts,
                "table": _metric_table(document, facet) if entries else None,
                "performance_figure": _performance_figure(facet, perf_rows, overall, confidence, f"assay-f{i}-perf"),
                "performance_table": _performance_table(perf_rows, overall) if perf_rows else None,
                "calibration_figure": _calibration_figure(facet, perf_rows, overall, f"assay-f{i}-cal"),
                "score_table": _score_table(perf_rows, overall),
            }
        )
    template = _environment().get_template("report.html.j2")
    return template.render(
        doc=document,
        label=str(document.get("label", "")),
        positive=str(document.get("label_value_or_threshold", "")),
        source=str((document.get("data") or {}).get("source", "")),
        summary=_summary_items(document),
        warnings=_warnings(document),
        glossary=_glossary(document),
        sections=sections,
        confidence=confidence,
        score_names=list(_SCORES.values()),
        plotly_js=_plotly_js(),
    )


def _warnings(document: Mapping[str, Any]) -> list[dict[str, str]]:
    out = []
    for w in document.get("warnings") or []:
        if isinstance(w, Mapping):
            out.append({"code": str(w.get("code", "")), "message": str(w.get("message", ""))})
        else:
            out.append({"code": "", "message": str(w)})
    return out


def render_summary_html(document: dict[str, Any]) -> str:
    """A compact HTML fragment (no JavaScript) for Jupyter: the metrics per facet value, and the warnings."""
    tables = [
        {"facet": facet, "table": _metric_table(document, facet)}
        for facet in _facet_order(document)
        if _entries(document, facet)
    ]
    rows = document.get("rows") or {}
    template = _environment().get_template("summary.html.j2")
    return template.render(
        label=str(document.get("label", "")),
        positive=str(document.get("label_value_or_threshold", "")),
        source=str((document.get("data") or {}).get("source", "")),
        rows_total=_fmt_count(rows.get("total")),
        rows_used=_fmt_count(rows.get("used")),
        tables=tables,
        warnings=_warnings(document),
        confidence=_confidence_label(document),
    )
