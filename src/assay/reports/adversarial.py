"""The files of an adversarial robustness run: its document (``adversarial.json``) and a small HTML report with a
static SVG chart (the share of rows flipped against the size of the change allowed, overall and per group; matplotlib,
through the same helpers as the perturbation report)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup

from assay.reports._static_charts import _pyplot, _svg

__all__ = ["render_adversarial", "success_svg", "write_adversarial"]


def success_svg(result: Mapping[str, Any], max_distance: float) -> Markup:
    """The success rate of the numeric attacks against the distance budget (spreads), for all rows and each group."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5.6, 3.2))
    curve = result["overall"]["curve"]
    x = [0.0, *[c["max_distance"] for c in curve]]
    axis.plot(x, [0.0, *[c["success_rate"] for c in curve]], marker="o", linewidth=2.4, color="black",
              label="all rows")  # fmt: skip
    for group in result.get("groups") or []:
        axis.plot(x, [0.0, *[c["success_rate"] for c in group["curve"]]], marker=".", linewidth=1.2,
                  label=str(group["value"])[:30])  # fmt: skip
    axis.axvline(max_distance, color="grey", linestyle="--", linewidth=1)
    axis.set_xscale("symlog", linthresh=0.1)
    axis.set_xlabel("largest change allowed (L2, in spreads)")
    axis.set_ylabel("rows flipped")
    axis.set_ylim(0, 1)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="best")
    return _svg(figure)


def _cell(value: Any) -> str:
    return "" if value is None else html.escape(str(value))


def _judged(figures: Mapping[str, Any] | None) -> str:
    if not figures:
        return ""
    return f"{_cell(figures['successes'])} / {_cell(figures['rows'])} ({_cell(figures['success_rate'])})"


def _rows(entries: list[Mapping[str, Any]], first: str) -> str:
    head = (f"<tr><th>{first}</th><th>attacked</th><th>successes</th><th>success rate</th><th>interval</th>"
            "<th>judged: successes / rows (rate)</th><th>flipped (any size)</th><th>median change</th>"
            "<th>median columns</th></tr>")  # fmt: skip
    rows = [
        f"<tr><td>{_cell(e.get('value', e.get('name', 'all rows')))}</td><td>{_cell(e.get('attacked', ''))}</td>"
        f"<td>{_cell(e['successes'])}</td><td>{_cell(e['success_rate'])}</td><td>{_cell(e['interval'])}</td>"
        f"<td>{_judged(e.get('judged'))}</td><td>{_cell(e['flipped'])}</td><td>{_cell(e['median_distance'])}</td><td>{_cell(e['median_columns'])}</td>"
        "</tr>"
        for e in entries
    ]
    return f"<table>{head}{''.join(rows)}</table>"


def render_adversarial(document: Mapping[str, Any]) -> str:
    """The HTML report of an adversarial document."""
    result, spec, data = document["result"], document["spec"], document["data"]
    findings = "".join(f"<li>{html.escape(f['description'])}</li>" for f in result["findings"]) or "<li>none</li>"
    examples = (
        "".join(
            f"<li>row {e['row']} ({html.escape(e['attack'])}): "
            + html.escape("; ".join(f"{c}: {a!r} → {b!r}" for c, (a, b) in e["change"].items()))
            + "</li>"
            for e in result["examples"]
        )
        or "<li>none</li>"
    )
    q = result["queries"]
    style = ("body{font-family:sans-serif;max-width:960px;margin:2em auto}table{border-collapse:collapse;"
             "font-size:.85em}td,th{border:1px solid #ccc;padding:.2em .5em}")  # fmt: skip
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Adversarial robustness</title>"
        f"<style>{style}</style></head><body><h1>Adversarial robustness</h1>"
        f"<p><strong>{html.escape(str(document['status']))}</strong>: {html.escape(str(document['summary']))}</p>"
        f"<p>Model {html.escape(str(document['model'].get('source', '')))}; data {html.escape(str(data['source']))} "
        f"({data['sampled']} rows sampled of {data['rows']}, {data['correct']} predicted correctly). Attacks: "
        f"{html.escape(', '.join(spec['attacks']))}; numeric columns attacked: "
        f"{html.escape(', '.join(spec['numeric']) or 'none')}; categories: "
        f"{html.escape(', '.join(spec['categories']) or 'none')}; text: "
        f"{html.escape(', '.join(spec['texts']) or 'none')}"
        f"; never changed: {html.escape(', '.join(spec['immutable']) or 'none')}. Budget: a numeric change of at most "
        f"{spec['max_distance']} spreads (L2), at most {spec['max_changes']} categories or typos; judged: the rows "
        f"predicted with probability {spec.get('min_confidence', 0)} or more; fail when their success rate is above "
        f"{spec['max_success']} with its whole interval. Queries: {q['per_row']} per row on average "
        f"(at most {q['max_per_row']}), "
        f"{q['total']} in all, {q['seconds']} s.</p>"
        f"<h2>Findings</h2><ul>{findings}</ul>"
        f"<h2>Success against the size of the change</h2>{success_svg(result, spec['max_distance'])}"
        f"<h2>Overall and per group</h2>{_rows([result['overall'], *result['groups']], 'group')}"
        f"<h2>Per attack</h2>{_rows(list(result['attacks']), 'attack')}"
        f"<h2>Examples</h2><ul>{examples}</ul></body></html>\n"
    )


def write_adversarial(document: Mapping[str, Any], folder: Path) -> dict[str, Path]:
    """``adversarial.json`` and ``report.html`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "adversarial.json"
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    report = folder / "report.html"
    report.write_text(render_adversarial(document), encoding="utf-8")
    return {"adversarial": path, "report": report}
