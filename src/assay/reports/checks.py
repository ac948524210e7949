"""Rendering of ``assay.data-check`` documents (plain dicts): the tables the CLI prints and a self-contained HTML
page. Only what the document holds is shown; the checks never put personal values in it."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

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


_TABLES: dict[str, Callable[[Mapping[str, Any]], list[Table]]] = {
    "baseline": _baseline,
    "validate": _validate,
    "duplicates": _duplicates,
    "leakage": _leakage,
    "target-leakage": _target_leakage,
    "label-issues": _label_issues,
    "representativeness": _representativeness,
    "pii": _pii,
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


def render_check_html(document: Mapping[str, Any]) -> str:
    """A self-contained HTML page of a data-check document."""
    return template("check.html.j2").render(doc=document, tables=check_tables(document))
