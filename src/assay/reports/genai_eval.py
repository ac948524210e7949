"""The files of a generative evaluation: its document (``genai_eval.json``) and an HTML page (``report.html``) with,
per metric, a static SVG chart of the value per slice with its confidence interval,
the red-team table and the items; and the page of a comparison of two runs (``comparison.html``)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup

from assay.reports._jinja import template
from assay.reports._static_charts import _finite

__all__ = ["render_comparison", "render_genai_eval", "slice_bars_svg", "write_comparison", "write_genai_eval"]

_BLUE = "#4C72B0"
_ORANGE = "#DD8452"
_SHOWN_ITEMS = 500


def _or(value: Any, default: float) -> float:
    found = _finite(value)
    return default if found is None else found


def slice_bars_svg(metric: str, entry: Mapping[str, Any]) -> Markup | None:
    """Horizontal bars: the metric overall (orange) and per slice, each with its confidence interval as a whisker.

    Drawn as plain SVG (a few rectangles and lines per row), not with matplotlib: a page has a chart per metric and
    matplotlib takes about 0.2 s for each, this a millisecond; it is as static (the same in a browser and a PDF)."""
    rows = [("overall", entry.get("overall") or {}), *sorted((entry.get("slices") or {}).items())]
    points = [(str(label), stat) for label, stat in rows if _finite(stat.get("value")) is not None]
    if not points:
        return None
    values = [float(stat["value"]) for _, stat in points]
    top = max(1.0, *(_or(stat.get("high"), v) for v, (_, stat) in zip(values, points, strict=True)))
    label_width, plot_width, row, pad = 190, 250, 18, 4
    height = row * len(points) + 26
    scale = plot_width / top

    def x(value: float) -> float:
        return label_width + max(0.0, value) * scale

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_width + plot_width + 50}" height="{height}" role="img" '
        f'aria-label="{html.escape(metric)} per slice" font-family="sans-serif" font-size="11">'
    ]
    for index, ((label, stat), value) in enumerate(zip(points, values, strict=True)):
        y = index * row + pad
        colour = _ORANGE if index == 0 else _BLUE
        shown = f"{label[:30]} (n={stat.get('n')})"
        parts.append(f'<text x="{label_width - 6}" y="{y + 11}" text-anchor="end">{html.escape(shown)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 2}" width="{x(value) - label_width:.1f}" height="{row - 6}" '
                     f'fill="{colour}" fill-opacity="0.85"/>')  # fmt: skip
        low, high = _finite(stat.get("low")), _finite(stat.get("high"))
        if low is not None and high is not None:
            middle = y + row / 2 - 1
            for x1, x2, y1, y2 in ((x(low), x(high), middle, middle), (x(low), x(low), middle - 4, middle + 4),
                                   (x(high), x(high), middle - 4, middle + 4)):  # fmt: skip
                parts.append(f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y1}" y2="{y2}" stroke="#333"/>')
        parts.append(f'<text x="{x(max(value, high or value)) + 4:.1f}" y="{y + 11}">{value:g}</text>')
    axis_y = row * len(points) + pad
    parts.append(f'<line x1="{label_width}" x2="{label_width + plot_width}" y1="{axis_y}" y2="{axis_y}" '
                 'stroke="#999"/>')  # fmt: skip
    for tick in (0.0, top / 2, top):
        parts.append(f'<text x="{x(tick):.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#555">{tick:g}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _charts(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    charts = []
    for metric, entry in (document.get("metrics") or {}).items():
        if entry.get("available") is False:
            charts.append({"metric": metric, "svg": None, "note": entry.get("reason")})
            continue
        svg = slice_bars_svg(metric, entry)
        charts.append({"metric": metric, "svg": svg, "note": None if svg is not None else "no item measured"})
    return charts


def render_genai_eval(document: Mapping[str, Any]) -> str:
    """The HTML page of an ``assay.genai-eval`` document."""
    items = list(document.get("items") or [])
    return template("genai_eval.html.j2").render(
        doc=document, charts=_charts(document), items=items[:_SHOWN_ITEMS], more=max(0, len(items) - _SHOWN_ITEMS)
    )


def write_genai_eval(document: Mapping[str, Any], folder: Path) -> dict[str, Path]:
    """``genai_eval.json`` and ``report.html`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "genai_eval.json"
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    report = folder / "report.html"
    report.write_text(render_genai_eval(document), encoding="utf-8")
    return {"genai_eval": path, "report": report}


def render_comparison(document: Mapping[str, Any]) -> str:
    """The HTML page of an ``assay.genai-eval-comparison`` document."""
    rows = []
    for metric, entry in (document.get("metrics") or {}).items():
        groups = [("overall", entry.get("overall")), *sorted((entry.get("slices") or {}).items())]
        rows += [{"metric": metric, "group": group, **tested} for group, tested in groups if tested]
    return template("genai_eval_comparison.html.j2").render(doc=document, rows=rows)


def write_comparison(document: Mapping[str, Any], folder: Path) -> dict[str, Path]:
    """``comparison.json`` and ``comparison.html`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "comparison.json"
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    page = folder / "comparison.html"
    page.write_text(render_comparison(document), encoding="utf-8")
    return {"comparison": path, "page": page}
