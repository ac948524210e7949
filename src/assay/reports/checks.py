"""Rendering of ``assay.data-check`` documents (plain dicts): the tables the CLI prints and a self-contained HTML
page. Only what the document holds is shown; the checks never put personal values in it."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from assay.reports._jinja import template

__all__ = ["check_tables", "render_check_html"]

Table = dict[str, Any]


def _cell(value: Any, percent: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.2%}" if percent else f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_cell(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value) or "-"
    return str(value)


def _table(title: str, columns: Sequence[tuple[str, str]], rows: Sequence[Mapping[str, Any]]) -> Table:
    """``columns`` are (key, heading); keys ending in ``share`` are shown as percentages."""
    return {
        "title": title,
        "columns": [heading for _key, heading in columns],
        "rows": [[_cell(row.get(key), percent=key.endswith("share")) for key, _heading in columns] for row in rows],
    }


def _numbers(title: str, result: Mapping[str, Any], keys: Sequence[tuple[str, str]]) -> Table:
    return {
        "title": title,
        "columns": ["measure", "value"],
        "rows": [[heading, _cell(result.get(key), percent=key.endswith("share"))] for key, heading in keys],
    }


def _baseline(doc: Mapping[str, Any]) -> list[Table]:
    rows = []
    for f in doc["result"]["features"]:
        summary = (
            f"{_cell(f.get('min'))} .. {_cell(f.get('max'))}, mean {_cell(f.get('mean'))}"
            if "mean" in f
            else f"{f.get('distinct_count')} distinct"
        )
        rows.append({**f, "summary": summary})
    columns = [
        ("name", "feature"),
        ("inferred_type", "type"),
        ("completeness", "completeness"),
        ("summary", "values"),
        ("completeness_constraint", "completeness ≥"),
        ("domain_size", "domain"),
    ]
    return [_table(f"Baseline of {doc['data']['source']} ({doc['data']['rows']} rows)", columns, rows)]


def _validate(doc: Mapping[str, Any]) -> list[Table]:
    result = doc["result"]
    tables = [
        _table(
            f"{result['status']}: {len(result['violations'])} violations",
            [("feature_name", "feature"), ("constraint_check_type", "check"), ("description", "description")],
            result["violations"],
        )
    ]
    rows = []
    for f in result["features"]:
        drift = f.get("drift") or {}
        rows.append(
            {
                **f,
                "drift": drift.get("distance", drift.get("p_value")),
                "method": drift.get("method"),
            }
        )
    tables.append(
        _table(
            "Measured per feature",
            [
                ("name", "feature"),
                ("inferred_type", "type"),
                ("completeness", "completeness"),
                ("completeness_constraint", "completeness ≥"),
                ("type_mismatch_share", "type mismatch"),
                ("unknown_value_share", "unknown values"),
                ("drift", "drift"),
                ("method", "method"),
            ],
            rows,
        )
    )
    return tables


def _duplicates(doc: Mapping[str, Any]) -> list[Table]:
    result = doc["result"]
    tables = [
        _numbers(
            "Duplicate rows",
            result,
            [
                ("duplicate_rows", "duplicate rows (beyond the first of each group)"),
                ("share", "share of rows"),
                ("groups", "groups of equal rows"),
                ("rows_in_groups", "rows in those groups"),
            ],
        )
    ]
    if result["examples"]:
        columns = [("rows", "rows"), ("positions", "first positions (0-based)")]
        if any("ids" in e for e in result["examples"]):
            columns.append(("ids", doc["spec"].get("id_column") or "ids"))
        if any("values" in e for e in result["examples"]):
            columns.append(("values", "values shown"))
        tables.append(_table("Largest groups", columns, result["examples"]))
    return tables


def _leakage(doc: Mapping[str, Any]) -> list[Table]:
    return [
        _numbers(
            f"Rows of {doc['data']['source']} also in {doc['reference']['source']}",
            doc["result"],
            [
                ("data_rows_shared", "rows of the data also in the reference"),
                ("share", "share of the data"),
                ("reference_rows_shared", "rows of the reference also in the data"),
                ("reference_share", "share of the reference"),
                ("distinct_rows_shared", "distinct rows shared"),
                ("example_positions", "first positions in the data (0-based)"),
            ],
        )
    ]


def _target_leakage(doc: Mapping[str, Any]) -> list[Table]:
    return [
        _table(
            f"Single-feature ROC AUC for {doc['spec']['label']['column']} (flagged at ≥ {doc['spec']['threshold']})",
            [
                ("feature", "feature"),
                ("inferred_type", "type"),
                ("roc_auc", "ROC AUC"),
                ("roc_auc_order", "by order"),
                ("roc_auc_target_encoded", "target-encoded"),
                ("groups", "values/bins"),
                ("leaks", "leaks"),
            ],
            doc["result"]["features"],
        )
    ]


def _label_issues(doc: Mapping[str, Any]) -> list[Table]:
    result = doc["result"]
    sample = doc["sample"]
    return [
        _numbers(
            f"Label issues in {doc['spec']['label']} ({sample['method']})",
            result,
            [
                ("issues", "rows likely mislabelled"),
                ("share", "share of the sample"),
                ("out_of_fold_accuracy", "out-of-fold accuracy"),
            ],
        ),
        _table(
            f"Rows, most likely mislabelled first (first {min(20, len(result['rows']))} of {result['issues']})",
            [
                ("position", "position (0-based)"),
                ("given_label", "given"),
                ("suggested_label", "suggested"),
                ("label_quality", "p(given)"),
            ],
            result["rows"][:20],
        ),
    ]


def _representativeness(doc: Mapping[str, Any]) -> list[Table]:
    tables = []
    for test in doc["result"]["tests"]:
        tables.append(
            _table(
                f"{test['column']}: chi-square {_cell(test['statistic'])}, df {test['degrees_of_freedom']}, "
                f"p-value {_cell(test['p_value'])} over {test['rows_tested']} rows",
                [
                    ("group", "group"),
                    ("rows", "rows"),
                    ("share", "share"),
                    ("population_share", "population share"),
                    ("difference", "difference"),
                    ("ratio", "ratio"),
                ],
                [{**g, "difference": _signed_percent(g["difference"])} for g in test["groups"]],
            )
        )
    return tables


def _signed_percent(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2%}"


def _pii(doc: Mapping[str, Any]) -> list[Table]:
    rows = [c for c in doc["result"]["columns"] if c["entities"] or c["from_name"] or c["values_with_entity"]]
    return [
        _table(
            f"Personal data in {doc['data']['source']} (values per column: {doc['spec']['values_per_column']}; "
            "values are never shown)",
            [
                ("column", "column"),
                ("inferred_type", "type"),
                ("entities", "flagged"),
                ("from_name", "name suggests"),
                ("values_scanned", "values scanned"),
                ("values_with_entity", "values with entity"),
            ],
            rows,
        )
    ]


def _drift(doc: Mapping[str, Any]) -> list[Table]:
    result = doc["result"]
    rows = []
    for c in result["columns"]:
        rows.append(
            {
                **c,
                "verdict": {"fail": "drift", "pass": "no drift", "warn": "not judged"}.get(c["status"], c["status"]),
                "effect": f"{c['effect_name']} {_cell(c['effect'])}" if c.get("effect") is not None else None,
                "psi": (c.get("metrics") or {}).get("psi"),
                "js": (c.get("metrics") or {}).get("js"),
            }
        )
    spec = doc["spec"]
    tables = [
        _table(
            f"Drift per column against {result['reference']['source']} ({result['reference']['rows']} rows): drift "
            f"when p, adjusted over the columns (Holm), is below {spec['alpha']} and the effect is at least its "
            "threshold",
            [
                ("name", "column"),
                ("type", "type"),
                ("test", "test"),
                ("statistic", "statistic"),
                ("p_value", "p-value"),
                ("p_adjusted", "adjusted p"),
                ("effect", "effect"),
                ("threshold", "threshold"),
                ("psi", "PSI"),
                ("js", "JS"),
                ("verdict", "verdict"),
            ],
            rows,
        )
    ]
    found = result.get("multivariate")
    if found:
        tables.append(
            _numbers(
                "Multivariate drift (domain classifier)",
                {**found, "interval": found.get("interval")},
                [
                    ("auc", "ROC AUC"),
                    ("interval", "95% interval"),
                    ("threshold", "threshold"),
                    ("rows", "rows (reference, current)"),
                    ("sentence", "verdict"),
                ],
            )
        )
    return tables


_TABLES: dict[str, Callable[[Mapping[str, Any]], list[Table]]] = {
    "baseline": _baseline,
    "validate": _validate,
    "duplicates": _duplicates,
    "leakage": _leakage,
    "target-leakage": _target_leakage,
    "label-issues": _label_issues,
    "representativeness": _representativeness,
    "pii": _pii,
    "drift": _drift,
}


def _generic(document: Mapping[str, Any]) -> list[Table]:
    """A check with no tables of its own (a kind added later): its result, one row per field."""
    result = document.get("result") or {}
    rows = [{"field": key, "value": value} for key, value in result.items()]
    return [_table(f"Result of the {document.get('check')} check", [("field", "field"), ("value", "value")], rows)]


def check_tables(document: Mapping[str, Any]) -> list[Table]:
    """The tables of a data-check document: each ``{"title", "columns", "rows"}`` with text cells. A check this module
    has no tables for gets its result listed field by field."""
    check = document.get("check")
    if document.get("schema") != "assay.data-check" or not isinstance(check, str):
        raise ValueError(f"not a data-check document: schema {document.get('schema')!r}, check {check!r}")
    return _TABLES.get(check, _generic)(document)


def distribution_svg(column: Mapping[str, Any]) -> Markup | None:
    """The reference's and the current data's distributions of one drift column drawn over each other (static SVG:
    the reference as grey bars, the current data as a blue outline), or None without bins."""
    bins = column.get("bins")
    if not isinstance(bins, Mapping):
        return None
    ref = [float(v or 0.0) for v in bins.get("reference") or []]
    cur = [float(v or 0.0) for v in bins.get("current") or []]
    if not ref or len(ref) != len(cur):
        return None
    width, height, left, bottom, top = 420, 150, 34, 28, 8
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max(max(ref), max(cur)) or 1.0
    step = plot_w / len(ref)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(str(column.get("name")))}: reference and current distributions">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="2" y="{top + 8}" font-size="10">{peak:.0%}</text>',
    ]
    for i, share in enumerate(ref):
        h = share / peak * plot_h
        parts.append(f'<rect x="{left + i * step + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(step - 2, 1):.1f}" '
                     f'height="{h:.1f}" fill="#b8bcc4"><title>reference {share:.2%}</title></rect>')  # fmt: skip
    path = []
    for i, share in enumerate(cur):
        y = top + plot_h - share / peak * plot_h
        path.append(f"{'M' if i == 0 else 'L'}{left + i * step:.1f},{y:.1f} L{left + (i + 1) * step:.1f},{y:.1f}")
    parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="#1f5fbf" stroke-width="2"/>')
    if "edges" in bins:
        edges = bins["edges"]
        parts.append(f'<text x="{left}" y="{height - 8}" font-size="10">{escape(_cell(edges[0]))}</text>')
        parts.append(f'<text x="{left + plot_w}" y="{height - 8}" font-size="10" text-anchor="end">'
                     f"{escape(_cell(edges[-1]))}</text>")  # fmt: skip
    else:
        for i, label in enumerate(bins.get("labels") or []):
            text = escape(str(label)[:12])
            x = left + (i + 0.5) * step
            parts.append(f'<text x="{x:.1f}" y="{height - 16}" font-size="9" text-anchor="end" '
                         f'transform="rotate(-30 {x:.1f} {height - 16})">{text}</text>')  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))


def _charts(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    if document.get("check") != "drift":
        return []
    out = []
    for column in (document.get("result") or {}).get("columns") or []:
        svg = distribution_svg(column)
        if svg is not None:
            out.append(
                {"title": column["name"], "status": column["status"], "sentence": column["sentence"], "svg": svg}
            )
    return out


def render_check_html(document: Mapping[str, Any]) -> str:
    """A self-contained HTML page of a data-check document (a drift check adds each column's two distributions
    drawn over each other)."""
    return template("check.html.j2").render(doc=document, tables=check_tables(document), charts=_charts(document))
