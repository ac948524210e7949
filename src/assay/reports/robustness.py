"""The files of a perturbation robustness run: its document (``robustness.json``) and a small HTML report with one
static SVG chart per corruption (accuracy against severity, overall and per group; matplotlib, as the model card)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup

from assay.reports._static_charts import _pyplot, _svg

__all__ = ["degradation_svg", "render_robustness", "sensitivity_svg", "write_robustness"]


def degradation_svg(corruption: Mapping[str, Any], clean: Mapping[str, Any]) -> Markup:
    """Accuracy against severity (0: the clean rows) for the whole sample and each group."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5.6, 3.2))
    steps = corruption["severities"]
    x = [0.0, *[s["severity"] for s in steps]]
    nan = float("nan")  # a severity whose rows the model refused: a gap in the line
    overall = [clean["accuracy"], *[nan if s["accuracy"] is None else s["accuracy"] for s in steps]]
    axis.plot(x, overall, marker="o", linewidth=2.4, color="black", label="all rows")
    for group in clean.get("groups") or []:
        value = group["value"]
        line = [group["accuracy"], *[next((g["accuracy"] for g in s["groups"] if g["value"] == value), nan)
                                     for s in steps]]  # fmt: skip
        axis.plot(x, line, marker=".", linewidth=1.2, label=str(value)[:30])
    axis.set_xlabel("severity")
    axis.set_ylabel("accuracy")
    axis.set_title(str(corruption["name"]))
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="best")
    return _svg(figure)


def sensitivity_svg(columns: list[Mapping[str, Any]], limit: int = 25) -> Markup:
    """Horizontal bars: the accuracy drop with each column corrupted alone, the most sensitive first."""
    plt = _pyplot()
    shown = columns[:limit]
    figure, axis = plt.subplots(figsize=(6.2, 0.3 * len(shown) + 1.0))
    drops = [c["accuracy_drop"] or 0.0 for c in shown]
    axis.barh(range(len(shown)), drops, color=["#DD8452" if d > 0 else "#4C72B0" for d in drops])
    axis.set_yticks(range(len(shown)), [f"{str(c['column'])[:28]} ({c['corruption']})" for c in shown])
    axis.invert_yaxis()
    axis.axvline(0, color="#9a9a9a", linewidth=1)
    axis.set_xlabel(f"accuracy drop, each column corrupted alone at severity {shown[0]['severity']}")
    axis.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def _sensitivity(columns: list[Mapping[str, Any]] | None) -> str:
    if not columns:
        return ""
    rows = "".join(
        f"<tr><td>{c['rank']}</td><td>{html.escape(str(c['column']))}</td><td>{c['corruption']}</td>"
        + (
            f"<td colspan='4'>the model refused these rows: {html.escape(c['refused'])}</td></tr>"
            if "refused" in c
            else f"<td>{c['accuracy']}</td><td>{c['accuracy_drop']}</td><td>{c['max_DI_shift']}</td><td>"
            + "; ".join(f"{html.escape(str(g['value']))}: {g['accuracy_drop']}, DI {g['DI']}" for g in c["groups"])
            + "</td></tr>"
        )
        for c in columns
    )
    return (
        f"<section><h2>Sensitivity per column</h2>{sensitivity_svg(columns)}<table><tr><th>rank</th><th>column</th>"
        "<th>corruption</th><th>accuracy</th><th>drop</th><th>largest DI shift from parity</th>"
        f"<th>groups (accuracy drop, DI)</th></tr>{rows}</table></section>"
    )


def _table(corruption: Mapping[str, Any]) -> str:
    head = (
        "<tr><th>severity</th><th>accuracy</th><th>drop</th><th>positive rate</th>"
        "<th>groups (accuracy, excess drop, DI, DPPL)</th></tr>"
    )
    rows = []
    for step in corruption["severities"]:
        groups = "; ".join(
            f"{html.escape(str(g['value']))}: {g['accuracy']}, {g.get('excess_drop')}, {g.get('DI')}, {g.get('DPPL')}"
            for g in step["groups"]
        )
        if "refused" in step:
            rows.append(f"<tr><td>{step['severity']}</td><td colspan='4'>the model refused these rows: "
                        f"{html.escape(step['refused'])}</td></tr>")  # fmt: skip
            continue
        rows.append(f"<tr><td>{step['severity']}</td><td>{step['accuracy']}</td><td>{step['accuracy_drop']}</td>"
                    f"<td>{step['positive_rate']}</td><td>{groups}</td></tr>")  # fmt: skip
    return f"<table>{head}{''.join(rows)}</table>"


def render_robustness(document: Mapping[str, Any]) -> str:
    """The HTML report of a robustness document."""
    result = document["result"]
    spec = document["spec"]
    findings = "".join(f"<li>{html.escape(f['description'])}</li>" for f in result["findings"]) or "<li>none</li>"
    sections = []
    for corruption in result["corruptions"]:
        columns = html.escape(", ".join(corruption["columns"]))
        sections.append(f"<section><h2>{html.escape(corruption['name'])}</h2><p>Columns: {columns}</p>"
                        f"{degradation_svg(corruption, result['clean'])}{_table(corruption)}</section>")  # fmt: skip
    style = ("body{font-family:sans-serif;max-width:960px;margin:2em auto}table{border-collapse:collapse;"
             "font-size:.85em}td,th{border:1px solid #ccc;padding:.2em .5em}")  # fmt: skip
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Perturbation robustness</title>"
        f"<style>{style}</style></head><body><h1>Perturbation robustness</h1>"
        f"<p><strong>{html.escape(str(document['status']))}</strong>: {html.escape(str(document['summary']))}</p>"
        f"<p>Model {html.escape(str(document['model'].get('source', '')))}; data "
        f"{html.escape(str(document['data']['source']))} ({document['data']['sampled']} rows sampled of "
        f"{document['data']['rows']}); clean accuracy {result['clean']['accuracy']}; judged at severities up to "
        f"{spec['at']} (largest accuracy drop {spec['max_accuracy_drop']}, group tolerance "
        f"{spec['group_tolerance']}, groups of at least {spec['min_group_size']} rows).</p>"
        f"<h2>Findings</h2><ul>{findings}</ul>{''.join(sections)}{_sensitivity(result.get('columns'))}"
        "</body></html>\n"
    )


def write_robustness(document: Mapping[str, Any], folder: Path) -> dict[str, Path]:
    """``robustness.json`` and ``report.html`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "robustness.json"
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    report = folder / "report.html"
    report.write_text(render_robustness(document), encoding="utf-8")
    return {"robustness": path, "report": report}
