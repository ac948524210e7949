"""Number formatting and document look-ups shared by the HTML report's figures and tables."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from assay.reports._guide import _DEFAULT_GUIDE, _GUIDE, _STAGES, _Guide

_CHARTED_RATES = ("selection_rate", "base_rate", "accuracy", "fpr", "fnr", "precision", "recall")
_SCORES: dict[str, str] = {
    "roc_auc": "ROC AUC",
    "brier": "Brier score",
    "ece": "ECE (equal width)",
    "ece_equal_mass": "ECE (equal mass)",
}

_PALETTE = (
    "#4C72B0",
    "#DD8452",
    "#55A868",
    "#C44E52",
    "#8172B3",
    "#937860",
    "#DA8BC3",
    "#8C8C8C",
    "#CCB974",
    "#64B5CD",
    "#1F3A93",
    "#A0522D",
    "#2E8B57",
    "#B8860B",
    "#6A5ACD",
    "#708090",
)
_BAR = "#4C72B0"
_BAR_FLAGGED = "#DD8452"
_OVERALL = "#9a9a9a"
_PLOT_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

# ---- numbers --------------------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A document value as a float (±inf for ``"Infinity"``/``"-Infinity"``), or None when undefined."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        x = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in {"infinity", "+infinity", "inf", "+inf"}:
            return math.inf
        if text in {"-infinity", "-inf"}:
            return -math.inf
        try:
            x = float(text)
        except ValueError:
            return None
    else:
        return None
    return None if math.isnan(x) else x


def _finite(value: Any) -> float | None:
    x = _num(value)
    return x if x is not None and math.isfinite(x) else None


def _fmt(value: Any) -> str:
    """4 significant digits; ``∞`` / ``-∞``; ``—`` when undefined."""
    x = _num(value)
    if x is None:
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    return f"{x:.4g}"


def _fmt_count(value: Any) -> str:
    x = _finite(value)
    if x is None:
        return "—"
    return f"{round(x):,}" if x == round(x) else _fmt(x)


def _interval(ci: Any) -> tuple[float | None, float | None] | None:
    if not isinstance(ci, Sequence) or isinstance(ci, str) or len(ci) != 2:
        return None
    lo, hi = _num(ci[0]), _num(ci[1])
    return None if lo is None and hi is None else (lo, hi)


def _fmt_ci(ci: Any) -> str:
    bounds = _interval(ci)
    return "" if bounds is None else f"[{_fmt(bounds[0])}, {_fmt(bounds[1])}]"


def _plain(value: Any) -> str:
    """Text for Plotly: Plotly interprets a subset of HTML in labels, so escape it to show it literally."""
    return html.escape(str(value), quote=False)


def _guide(name: str) -> _Guide:
    return _GUIDE.get(name, _DEFAULT_GUIDE)


def _excludes_parity(name: str, ci: Any) -> bool:
    g = _guide(name)
    bounds = _interval(ci)
    if not g.signed or bounds is None or bounds[0] is None or bounds[1] is None:
        return False
    return bounds[0] > g.parity or bounds[1] < g.parity


def _confidence_label(document: Mapping[str, Any]) -> str:
    bootstrap = (document.get("spec") or {}).get("bootstrap") or {}
    conf = _finite(bootstrap.get("confidence"))
    return f"{conf:.0%} CI" if conf is not None and 0 < conf < 1 else "CI"


# ---- document helpers -----------------------------------------------------------------------------------


def _facet_order(document: Mapping[str, Any]) -> list[str]:
    """Facet names in document order: bias entries first, then performance-only facets (not ``all``)."""
    names: list[str] = []
    for entry in document.get("facets") or []:
        if entry.get("facet") not in names:
            names.append(str(entry.get("facet")))
    for row in document.get("performance") or []:
        if not _is_overall(row) and str(row.get("facet")) not in names:
            names.append(str(row.get("facet")))
    return names


def _is_overall(row: Mapping[str, Any]) -> bool:
    return row.get("facet") == "all" and not row.get("columns")


def _entries(document: Mapping[str, Any], facet: str) -> list[Mapping[str, Any]]:
    return [e for e in document.get("facets") or [] if str(e.get("facet")) == facet]


def _performance(document: Mapping[str, Any], facet: str) -> list[Mapping[str, Any]]:
    return [p for p in document.get("performance") or [] if not _is_overall(p) and str(p.get("facet")) == facet]


def _overall(document: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next((p for p in document.get("performance") or [] if _is_overall(p)), None)


def _metric_names(entries: Iterable[Mapping[str, Any]], stage: str | None = None) -> list[str]:
    names: list[str] = []
    for entry in entries:
        for m in entry.get("metrics") or []:
            if (stage is None or m.get("stage") == stage) and m.get("name") not in names:
                names.append(str(m.get("name")))
    return names


def _metric(entry: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    return next((m for m in entry.get("metrics") or [] if m.get("name") == name), None)


def _stages(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    present = {str(m.get("stage")) for e in entries for m in e.get("metrics") or []}
    return [s for s in _STAGES if s in present] + sorted(present - set(_STAGES))
