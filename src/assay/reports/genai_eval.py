"""The files of a generative evaluation: its document (``genai_eval.json``) and an HTML page (``report.html``) with,
per metric, a static SVG chart of the value per slice with its confidence interval (matplotlib, as the model card),
the red-team table and the items; and the page of a comparison of two runs (``comparison.html``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup

from assay.reports._jinja import template
from assay.reports._static_charts import _finite, _pyplot, _svg

__all__ = ["render_comparison", "render_genai_eval", "slice_bars_svg", "write_comparison", "write_genai_eval"]

_BLUE = "#4C72B0"
_ORANGE = "#DD8452"
_SHOWN_ITEMS = 500


def _or(value: Any, default: float) -> float:
    found = _finite(value)
    return default if found is None else found


def slice_bars_svg(metric: str, entry: Mapping[str, Any]) -> Markup | None:
    """Horizontal bars: the metric overall and per slice, each with its confidence interval as an error bar."""
    rows = [("overall", entry.get("overall") or {})]
    rows += sorted((entry.get("slices") or {}).items())
    points = [(label, stat) for label, stat in rows if _finite(stat.get("value")) is not None]
    if not points:
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.2, 0.34 * len(points) + 0.9))
    values = [float(stat["value"]) for _, stat in points]
    lows = [v - _or(stat.get("low"), v) for v, (_, stat) in zip(values, points, strict=True)]
    highs = [_or(stat.get("high"), v) - v for v, (_, stat) in zip(values, points, strict=True)]
    colours = [_ORANGE if label == "overall" else _BLUE for label, _ in points]
    axis.barh(range(len(points)), values, xerr=[lows, highs], color=colours, alpha=0.85, capsize=3,
              error_kw={"elinewidth": 1, "ecolor": "#333333"})  # fmt: skip
    axis.set_yticks(range(len(points)), [f"{str(label)[:34]} (n={stat.get('n')})" for label, stat in points])
    axis.invert_yaxis()
    axis.set_xlabel(f"{metric}; bars: confidence interval")
    axis.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


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
