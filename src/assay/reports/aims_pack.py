"""The certification pack as one HTML page (printed to PDF by WeasyPrint): see :mod:`assay.services.aims.pack`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assay.reports._jinja import template

__all__ = ["render_pack_html"]

_LABELS = {"system_id": "system", "created_by": "by", "approver_role": "approved as", "nonconformity_id": "NC"}


def _cell(value: Any) -> str:
    """A stored value as a person reads it: lists joined, exclusions as "what (why)", dates without time."""
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "; ".join(
            f"{v.get('what', '')} ({v.get('why', '')})" if isinstance(v, Mapping) else _cell(v) for v in value
        )
    text = str(value)
    if len(text) >= 19 and text[10] == "T" and text[4] == "-":  # an ISO time: to the minute
        return text[:16].replace("T", " ")
    return text


def _label(column: str) -> str:
    return _LABELS.get(column, column.replace("_", " "))


def render_pack_html(document: Mapping[str, Any], *, for_print: bool = False) -> str:
    """The pack's report: its sections' tables (each record with its ledger events), the Statements of
    Applicability and the readiness of clauses 4-10."""
    return template("aims_pack.html.j2", cell=_cell, label=_label).render(doc=document, for_print=for_print)
