"""Files of the monitoring kinds (``model-quality``, ``bias-drift``, ``attribution-drift``): the JSON document,
Model Monitor's files where it has them, and a self-contained ``report.html``. Works on the documents (plain dicts).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from assay.reports._jinja import template

__all__ = ["render_monitoring_html", "write_monitoring"]

Table = dict[str, Any]
_TITLES = {"assay.model-quality": "Model quality", "assay.bias-drift": "Bias drift",
           "assay.attribution-drift": "Feature attribution drift",
           "assay.satisfaction": "User satisfaction", "assay.guard-block-rate": "Guardrail block rate"}  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, list | tuple):
        return " .. ".join(_cell(v) for v in value) or "-"
    return str(value)


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], **extra: Any) -> Table:
    return {"title": title, "columns": list(columns), "rows": [[_cell(v) for v in row] for row in rows],
            "estimate": False, "note": "", **extra}  # fmt: skip


def _violations(doc: Mapping[str, Any], keys: Sequence[str]) -> Table:
    rows = [[v.get(k) for k in keys] for v in doc.get("violations") or []]
    return _table(f"Violations ({len(rows)})", keys, rows)


def _quality(doc: Mapping[str, Any]) -> tuple[str, list[Table]]:
    section = "binary_classification_metrics" if doc["problem"] == "binary" else "regression_metrics"
    metrics = doc["statistics"][section]
    judged = (doc.get("baseline") or {}).get("constraints") or {}
    constraints = doc.get("constraints") or {}
    suggested: Mapping[str, Any] = next((v for k, v in constraints.items() if k.endswith("_constraints")), {})
    rules = judged or suggested
    rows = []
    for name, entry in metrics.items():
        if isinstance(entry, Mapping) and "value" in entry:
            rule = rules.get(name) or {}
            rows.append([name, entry["value"], entry.get("interval"), entry.get("standard_deviation"),
                         rule.get("comparison_operator"), rule.get("threshold")])  # fmt: skip
    rows_info = doc["rows"]
    tables = [_violations(doc, ["metric_name", "constraint_check_type", "description"])]
    heading = "thresholds of the baseline" if judged else "suggested constraints" if suggested else "no constraints"
    tables.append(_table(f"Measured on {rows_info['labelled']:,} labelled rows ({heading})",
                         ["metric", "value", "interval", "std", "violation when", "threshold"], rows))  # fmt: skip
    matrix = metrics.get("confusion_matrix")
    if matrix:
        tables.append(_table("Confusion matrix (rows: label, columns: prediction; 1 = positive)", ["", "0", "1"],
                             [[k, matrix[k]["0"], matrix[k]["1"]] for k in ("0", "1")]))  # fmt: skip
    estimate = doc.get("estimated_binary_classification_metrics")
    if estimate:
        measured = {k: (v or {}).get("value") for k, v in metrics.items() if isinstance(v, Mapping)}
        est_rows = [[k, v["value"], measured.get(k)] for k, v in estimate.items()
                    if isinstance(v, Mapping) and "value" in v]  # fmt: skip
        tables.append(_table(f"ESTIMATE without labels (CBPE) on {estimate['rows']:,} scored rows",
                             ["metric", "estimated value", "measured (labelled rows)"], est_rows, estimate=True,
                             note="An estimate, not a measurement: " + estimate["method"] + ".")
                      )  # fmt: skip
    summary = (f"{doc['problem']} model quality of {rows_info['total']:,} rows, {rows_info['labelled']:,} with a "
               f"label; {len(doc.get('violations') or [])} violations.")  # fmt: skip
    return summary, tables


def _bias_drift(doc: Mapping[str, Any]) -> tuple[str, list[Table]]:
    tables = [_violations(doc, ["facet", "facet_value", "metric_name", "description"])]
    rows = [[c["facet"], c["facet_value"], c["metric_name"], c["baseline_value"], c["baseline_interval"],
             c["allowed"], c["value"], c["interval"], c["verdict"]] for c in doc["comparisons"]]  # fmt: skip
    minimum = f"; judged on at least {doc['min_count']} of every count a metric rests on" if "min_count" in doc else ""
    tables.append(_table(f"Metrics against the baseline (band {doc['band']:g}, DI: a factor e^band{minimum})",
                         ["facet", "value", "metric", "baseline", "baseline interval", "allowed", "window",
                          "window interval", "verdict"], rows))  # fmt: skip
    summary = (f"{len(doc['comparisons'])} metric comparisons of the window against the bias baseline; "
               f"{len(doc.get('violations') or [])} violations.")  # fmt: skip
    return summary, tables


def _attribution(doc: Mapping[str, Any]) -> tuple[str, list[Table]]:
    tables = [_violations(doc, ["label", "metric_name", "constraint_check_type", "description"])]
    rows = [[f["feature"], f["baseline_rank"], f["baseline"], f["window_rank"], f["window"]] for f in doc["features"]]
    tables.append(_table("Global SHAP (mean |SHAP|) by feature", ["feature", "baseline rank", "baseline",
                                                                   "window rank", "window"], rows))  # fmt: skip
    summary = f"NDCG {doc['ndcg']:.4f} (violation below {doc['threshold']:g})."
    return summary, tables


def _satisfaction(doc: Mapping[str, Any]) -> tuple[str, list[Table]]:
    tables = [_violations(doc, ["metric_name", "check_type", "description"])]
    mean, positive = doc["mean"], doc["positive"]
    tables.append(_table(f"{doc['count']:,} ratings on a scale of {doc['scale']} (level {doc['confidence']:g})",
                         ["measure", "value", "interval", "method", "floor"],
                         [["mean rating", mean["value"], mean["interval"], mean["method"],
                           doc["floor"] if doc["measure"] == "mean" else None],
                          [f"share positive (rating >= {positive['from_rating']})", positive["share"],
                           positive["interval"], positive["method"],
                           doc["floor"] if doc["measure"] == "positive" else None]]))  # fmt: skip
    base = doc.get("baseline")
    if base:
        tables.append(_table("Against the baseline", ["ratings", "value", "drop", "drop at least", "allowed", "method"],
                             [[base["count"], base["value"], base.get("drop"), base.get("drop_lower"),
                               base["max_drop"], base["method"]]]))  # fmt: skip
    return f"Satisfaction of {doc['count']:,} ratings; {len(doc.get('violations') or [])} violations.", tables


def _guard_rate(doc: Mapping[str, Any]) -> tuple[str, list[Table]]:
    tables = [_violations(doc, ["subject", "check_type", "description"])]
    previous = doc.get("previous") or {}
    tables.append(_table(f"Block rate (one-sided level {1 - doc['alpha']:g})",
                         ["window", "decisions", "blocked", "block rate", "lower bound", "ceiling", "factor"],
                         [["current", doc["decisions"], doc["blocked"], doc["block_rate"], doc.get("lower_bound"),
                           doc.get("max_rate"), doc.get("factor")],
                          ["previous", previous.get("decisions"), previous.get("blocked"), previous.get("block_rate"),
                           None, None, None]]))  # fmt: skip
    return (
        f"{doc['blocked']:,} of {doc['decisions']:,} decisions blocked; {len(doc.get('violations') or [])} violations.",
        tables,
    )


def render_monitoring_html(document: Mapping[str, Any]) -> str:
    """The self-contained HTML page of a monitoring document."""
    schema = str(document["schema"])
    render = {"assay.model-quality": _quality, "assay.bias-drift": _bias_drift,
              "assay.attribution-drift": _attribution, "assay.satisfaction": _satisfaction,
              "assay.guard-block-rate": _guard_rate}[schema]  # fmt: skip
    summary, tables = render(document)
    return template("monitoring.html.j2").render(
        doc=document, title=_TITLES[schema], status=document.get("status", "warn"),
        source=(document.get("data") or {}).get("source", ""), summary=summary, tables=tables,
    )  # fmt: skip


def write_monitoring(document: Mapping[str, Any], folder: Path, name: str, extra: Mapping[str, Any]) -> dict[str, Path]:
    """Write ``NAME.json`` (the document), the ``extra`` files (Model Monitor's) and ``report.html`` into ``folder``
    (made by the caller); the keys of the result are ``NAME``, the extra files' names and ``report``."""
    paths: dict[str, Path] = {}
    for key, file_name, content in [(name, f"{name}.json", document), *((k, k, v) for k, v in extra.items())]:
        path = folder / file_name
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
        paths[key] = path
    report = folder / "report.html"
    report.write_text(render_monitoring_html(document), encoding="utf-8")
    paths["report"] = report
    return paths
