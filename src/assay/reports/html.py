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

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from markupsafe import Markup

from assay.reports._figures import _calibration_figure, _metric_figure, _performance_figure, _present_rates
from assay.reports._format import (
    _SCORES,
    _confidence_label,
    _entries,
    _excludes_parity,
    _facet_order,
    _finite,
    _fmt,
    _fmt_ci,
    _fmt_count,
    _guide,
    _metric,
    _metric_names,
    _num,
    _overall,
    _performance,
    _stages,
)
from assay.reports._guide import _RATE_NOTES, _RATES, _STAGE_NOTES, _STAGES
from assay.reports._jinja import template

__all__ = ["render_report_html", "render_summary_html"]


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
        ("ft_max_rows", "FT row limit (seeded sample above it)"),
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
    page = template("report.html.j2")
    return page.render(
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
    page = template("summary.html.j2")
    return page.render(
        label=str(document.get("label", "")),
        positive=str(document.get("label_value_or_threshold", "")),
        source=str((document.get("data") or {}).get("source", "")),
        rows_total=_fmt_count(rows.get("total")),
        rows_used=_fmt_count(rows.get("used")),
        tables=tables,
        warnings=_warnings(document),
        confidence=_confidence_label(document),
    )
