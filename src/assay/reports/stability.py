"""The files of an explanation stability test: its document (``explanation_stability.json``) and a small HTML report
with static SVG charts (matplotlib, as the robustness report and the model card): the per-row rank correlations
against the threshold, the global ranking clean and perturbed, and the mean rank correlation per group."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup

from assay.reports._static_charts import _finite, _pyplot, _svg

__all__ = ["global_ranking_svg", "rank_correlation_svg", "render_stability", "write_stability"]


def rank_correlation_svg(document: Mapping[str, Any]) -> Markup | None:
    """A histogram of the per-row mean Spearman correlations, with the threshold."""
    values = [v for v in (_finite(x) for x in document["result"]["per_row"]["spearman"]) if v is not None]
    if not values:
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5.6, 2.8))
    axis.hist(values, bins=20, range=(min(-0.2, min(values)), 1.0), color="#4C72B0")
    axis.axvline(document["spec"]["min_rank_correlation"], color="#DD8452", linestyle="--", label="threshold (mean)")
    mean = document["result"]["rows"]["spearman"]["mean"]
    if _finite(mean) is not None:
        axis.axvline(mean, color="black", linewidth=1.6, label="mean")
    axis.set_xlabel("Spearman correlation of |SHAP|, clean vs perturbed (per row)")
    axis.set_ylabel("rows")
    axis.legend(fontsize=7, loc="upper left")
    axis.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def global_ranking_svg(document: Mapping[str, Any], limit: int = 15) -> Markup | None:
    """Mean |SHAP| per feature (the clean ranking, bars) and in each perturbed copy (dots)."""
    ranking = document["result"]["global"]["clean_ranking"][:limit]
    if not ranking:
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.2, 0.32 * len(ranking) + 1.0))
    names = [str(r["feature"])[:30] for r in ranking]
    axis.barh(range(len(ranking)), [r["mean_abs_shap"] or 0.0 for r in ranking], color="#4C72B0", label="clean")
    for k, copy in enumerate(document["result"]["global"]["perturbed_mean_abs_shap"]):
        axis.plot([copy.get(r["feature"]) or 0.0 for r in ranking], range(len(ranking)), "o", color="#DD8452",
                  markersize=3, label="perturbed" if k == 0 else None)  # fmt: skip
    axis.set_yticks(range(len(ranking)), names)
    axis.invert_yaxis()
    axis.set_xlabel(f"mean |SHAP| ({document['method']['output_scale']})")
    axis.legend(fontsize=7, loc="lower right")
    axis.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def _groups_svg(document: Mapping[str, Any]) -> Markup | None:
    groups = [g for g in document["result"]["groups"] if _finite(g["spearman"]["mean"]) is not None]
    if not groups:
        return None
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.2, 0.42 * len(groups) + 0.9))
    for position, group in enumerate(groups):
        interval = group["spearman"]["interval"]
        if interval and None not in interval:
            axis.plot(interval, [position, position], color="#4C72B0", linewidth=2)
        axis.plot([group["spearman"]["mean"]], [position], "o", color="#4C72B0" if group["judged"] else "#9a9a9a")
    axis.axvline(document["spec"]["min_rank_correlation"], color="#DD8452", linestyle="--", linewidth=1)
    axis.set_yticks(range(len(groups)), [f"{g['value']} ({g['rows']})"[:36] for g in groups])
    axis.invert_yaxis()
    axis.set_xlabel("mean rank correlation per group; line: interval (grey: too few rows to judge)")
    axis.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def _cell(summary: Mapping[str, Any], key: str) -> str:
    interval = summary.get("interval")
    shown = "" if not interval else f" [{interval[0]}, {interval[1]}]"
    return f"{summary.get(key)}{html.escape(shown)}"


def render_stability(document: Mapping[str, Any]) -> str:
    """The HTML report of an explanation stability document."""
    result, spec, method = document["result"], document["spec"], document["method"]
    rows = result["rows"]
    findings = "".join(f"<li>{html.escape(f['description'])}</li>" for f in result["findings"]) or "<li>none</li>"
    table = (
        "<table><tr><th>measure (per row)</th><th>value [interval]</th><th>tail</th></tr>"
        f"<tr><td>Spearman rho of |SHAP| (mean)</td><td>{_cell(rows['spearman'], 'mean')}</td>"
        f"<td>10th percentile {rows['spearman'].get('q10')}</td></tr>"
        f"<tr><td>Kendall tau-b of |SHAP| (mean)</td><td>{_cell(rows['kendall'], 'mean')}</td>"
        f"<td>10th percentile {rows['kendall'].get('q10')}</td></tr>"
        f"<tr><td>top-{spec['top_k']} Jaccard (mean)</td><td>{_cell(rows['jaccard'], 'mean')}</td>"
        f"<td>10th percentile {rows['jaccard'].get('q10')}</td></tr>"
        f"<tr><td>local Lipschitz estimate (median)</td><td>{_cell(rows['lipschitz'], 'median')}</td>"
        f"<td>90th percentile {rows['lipschitz'].get('q90')}, max {rows['lipschitz'].get('max')}</td></tr>"
        f"<tr><td>global ranking Spearman (mean of copies)</td><td>{result['global']['spearman_mean']}"
        f"{html.escape(str(result['global']['spearman_interval'] or ''))}</td>"
        f"<td>top-{spec['top_k']} Jaccard {result['global']['jaccard_mean']}</td></tr></table>"
    )
    group_rows = "".join(
        f"<tr><td>{html.escape(str(g['value']))}</td><td>{g['rows']}</td><td>{_cell(g['spearman'], 'mean')}</td>"
        f"<td>{g['jaccard']['mean']}</td><td>{g['gap']} {html.escape(str(g['gap_interval'] or ''))}</td>"
        f"<td>{'yes' if g['judged'] else 'no'}</td></tr>"
        for g in result["groups"]
    )
    groups = (
        f"<h2>Groups of {html.escape(str(spec['facet']))}</h2>{_groups_svg(document) or ''}<table><tr><th>value</th>"
        f"<th>rows</th><th>mean rho</th><th>top-k Jaccard</th><th>gap to the other rows</th><th>judged</th></tr>"
        f"{group_rows}</table>"
        if result["groups"]
        else ""
    )
    style = ("body{font-family:sans-serif;max-width:960px;margin:2em auto}table{border-collapse:collapse;"
             "font-size:.85em}td,th{border:1px solid #ccc;padding:.2em .5em}")  # fmt: skip
    swapped = f", {spec['swap']} of the rows given another category in {', '.join(spec['swapped'])}" if spec[
        "swapped"] else ""  # fmt: skip
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Explanation stability</title>"
        f"<style>{style}</style></head><body><h1>Explanation stability</h1>"
        f"<p><strong>{html.escape(str(document['status']))}</strong>: {html.escape(str(document['summary']))}</p>"
        f"<p>Model {html.escape(str(document['model'].get('source', '')))}; data "
        f"{html.escape(str(document['data']['source']))} ({document['data']['explained']} rows explained of "
        f"{document['data']['rows']}); {html.escape(method['shap_explainer'])} on the {method['output_scale']} scale; "
        f"{spec['perturbations']} perturbed copies of each row: Gaussian noise at {spec['severity']} × each column's "
        f"spread on {html.escape(', '.join(spec['noised']) or 'no column')}{html.escape(swapped)}.</p>"
        f"<h2>Findings</h2><ul>{findings}</ul>{table}{rank_correlation_svg(document) or ''}"
        f"<h2>Global ranking</h2>{global_ranking_svg(document) or ''}{groups}</body></html>\n"
    )


def write_stability(document: Mapping[str, Any], folder: Path) -> dict[str, Path]:
    """``explanation_stability.json`` and ``report.html`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "explanation_stability.json"
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    report = folder / "report.html"
    report.write_text(render_stability(document), encoding="utf-8")
    return {"explanation_stability": path, "report": report}
