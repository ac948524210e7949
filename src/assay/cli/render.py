"""Terminal rendering of an assessment document with rich (presentation only)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["fmt", "summary"]

_KEY_METRICS = ("CI", "DPL", "DPPL", "DI", "AD", "RD", "FT")


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return {"Infinity": "∞", "-Infinity": "-∞"}.get(value, value)
    return f"{value:.4g}"


def summary(console: Console, doc: dict[str, Any]) -> None:
    """The key metrics per facet value, group performance and warnings."""
    rows = doc["rows"]
    console.print(
        f"[bold]{doc['label']}[/] = {doc['label_value_or_threshold']} · {rows['used']:,} of {rows['total']:,} "
        f"rows used · {doc['data']['source']}",
        highlight=False,
    )
    present = [m for m in _KEY_METRICS if any(x["name"] == m for e in doc["facets"] for x in e["metrics"])]
    table = Table(title="Bias (facet d against all other rows; 95% interval below each value)")
    table.add_column("facet", no_wrap=True)
    table.add_column("d", no_wrap=True)
    table.add_column("n_d", justify="right")
    for name in present:
        table.add_column(name, justify="right")
    for entry in doc["facets"]:
        by_name = {m["name"]: m for m in entry["metrics"]}
        cells = []
        for name in present:
            m = by_name.get(name)
            if m is None:
                cells.append("")
            elif m["error"]:
                cells.append("[dim]n/a[/]")
            else:
                ci = m["ci"]
                cells.append(fmt(m["value"]) + (f"\n[dim]{fmt(ci[0])}…{fmt(ci[1])}[/]" if ci else ""))
        table.add_row(entry["facet"], entry["value_or_threshold"], f"{entry['n_d']:,}", *cells)
    console.print(table)
    perf = Table(title="Performance by group")
    names = [
        n
        for n in ("count", "base_rate", "selection_rate", "accuracy", "fpr", "fnr")
        if any(p["metrics"].get(n) is not None for p in doc["performance"])
    ]
    has_score = any("score" in p for p in doc["performance"])
    perf.add_column("group", no_wrap=True)
    for n in names:
        perf.add_column(n.replace("_", " "), justify="right")
    if has_score:
        perf.add_column("roc_auc", justify="right")
        perf.add_column("ece", justify="right")
    for p in doc["performance"]:
        extra = [fmt(p["score"]["roc_auc"]), fmt(p["score"]["ece"])] if has_score and "score" in p else []
        label = "all rows" if p["facet"] == "all" else f"{p['facet']} = {p['value']}"
        values = [f"{int(v):,}" if n == "count" else fmt(v) for n in names for v in [p["metrics"].get(n)]]
        perf.add_row(label, *values, *extra)
    console.print(perf)
    for w in doc["warnings"]:
        console.print(f"[yellow]warning[/]: {w['message']}", highlight=False)
