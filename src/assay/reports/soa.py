"""A Statement of Applicability document (``assay.soa``, a plain dict) -> Markdown, HTML or CSV.

* Markdown: one table per Annex A objective. Text from the document is escaped (``\\``, ``|``, ``<``, ``>``,
  ``*``, ``_``, backticks and brackets), so a justification cannot break the table or inject HTML.
* HTML: one self-contained page (inline CSS, no script, nothing fetched), autoescaped by Jinja2.
* CSV: one row per control; a cell that a spreadsheet would read as a formula (starting with ``=``, ``+``,
  ``-``, ``@``) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from assay.errors import InvalidInput
from assay.reports._jinja import template

__all__ = ["CSV_COLUMNS", "SOA_FORMATS", "render_soa", "render_soa_csv", "render_soa_html", "render_soa_markdown"]

SOA_FORMATS: Final = ("md", "html", "csv")
CSV_COLUMNS: Final = (
    "control_id",
    "title",
    "objective_id",
    "objective",
    "applicable",
    "justification",
    "implementation",
    "owner",
    "status_recorded",
    "evidence_count",
    "current_evidence",
    "implemented_with_current_evidence",
    "evidence",
)
_MD_SPECIAL: Final = re.compile(r"([\\`*_\[\]<>|])")
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _rows(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rows = document.get("controls")
    if document.get("schema") != "assay.soa" or not isinstance(rows, Sequence):
        raise InvalidInput("not a Statement of Applicability document (schema 'assay.soa' with 'controls')")
    return [row for row in rows if isinstance(row, Mapping)]


def _implementation(row: Mapping[str, Any]) -> str:
    text = str(row.get("implementation", "")).replace("_", " ")
    return text if row.get("status_recorded", True) else f"{text} (default)"


def _evidence_text(item: Mapping[str, Any]) -> str:
    until = item.get("valid_until") or "no end"
    parts = [f"#{item.get('id')} {item.get('kind')}"]
    if item.get("description"):
        parts.append(str(item["description"]))
    if item.get("url"):
        parts.append(str(item["url"]))
    state = str(item.get("state", "")).replace("_", " ")
    if item.get("revoked_at"):  # withdrawn: listed, never counted
        state += f" by {item.get('revoked_by')} on {str(item['revoked_at'])[:10]}: {item.get('revoke_reason') or ''}"
    text = ": ".join(parts) + f" (until {until}, {state})"
    if item.get("via"):
        text += f" [via {item.get('control')}]"
    return text


def _groups(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows grouped by their objective, in document order."""
    groups: list[dict[str, Any]] = []
    for row in _rows(document):
        objective = row.get("objective") or {}
        key = (objective.get("id"), objective.get("title"))
        if not groups or groups[-1]["key"] != key:
            groups.append({"key": key, "id": key[0], "title": key[1], "rows": []})
        groups[-1]["rows"].append(row)
    return groups


def _header(document: Mapping[str, Any]) -> dict[str, Any]:
    system = document.get("system") or {}
    category = system.get("eu_ai_act_category")
    area = system.get("annex_iii_area")
    return {
        "title": document.get("title") or f"Statement of Applicability: {system.get('name', '')}",
        "system": system.get("name", ""),
        "category": "" if category is None else f"{category}" + ("" if area is None else f", Annex III area {area}"),
        "clause": document.get("clause", ""),
        "framework": (document.get("framework") or {}).get("name", ""),
        "as_of": document.get("as_of", ""),
        "generated_at": document.get("generated_at", ""),
        "generated_by": document.get("generated_by", ""),
        "summary": document.get("summary") or {},
        "notes": [str(note) for note in document.get("notes") or []],
    }


# ---- Markdown -----------------------------------------------------------------------------------------------


def _md(value: Any) -> str:
    text = " ".join(str(value).split())
    return _MD_SPECIAL.sub(r"\\\1", text) if text else "—"


def render_soa_markdown(document: Mapping[str, Any]) -> str:
    """The SoA as Markdown: a summary, then one table per Annex A objective."""
    head = _header(document)
    lines = [f"# {_md(head['title'])}", ""]
    facts = [
        f"**System:** {_md(head['system'])}",
        f"**EU AI Act category:** {_md(head['category'])}" if head["category"] else "",
        f"**Framework:** {_md(head['framework'])} ({_md(head['clause'])})",
        f"**As of:** {_md(head['as_of'])}",
        f"**Generated:** {_md(head['generated_at'])} by {_md(head['generated_by'])}",
    ]
    lines += [f"- {fact}" for fact in facts if fact]
    summary = head["summary"]
    if summary:
        lines += ["", "| Summary | |", "|---|---:|"]
        lines += [f"| {_md(str(key).replace('_', ' '))} | {_md(value)} |" for key, value in summary.items()]
    names = ["Control", "Title", "Applicable", "Justification", "Implementation", "Owner", "Evidence"]
    columns = "| " + " | ".join([*names, "Implemented with current evidence"]) + " |"
    for group in _groups(document):
        lines += ["", f"## {_md(group['id'] or '')} {_md(group['title'] or '')}".rstrip(), "", columns]
        lines.append("|---|---|---|---|---|---|---|---|")
        for row in group["rows"]:
            evidence = "<br>".join(_md(_evidence_text(item)) for item in row.get("evidence") or []) or "—"
            cells = [
                _md(row.get("id")),
                _md(row.get("title")),
                "yes" if row.get("applicable") else "**excluded**",
                _md(row.get("justification", "")),
                _md(_implementation(row)),
                _md(row.get("owner", "")),
                evidence,
                "**yes**" if row.get("implemented_with_current_evidence") else "no",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    if head["notes"]:
        lines += ["", "## Notes", ""] + [f"- {_md(note)}" for note in head["notes"]]
    return "\n".join(lines) + "\n"


# ---- HTML ---------------------------------------------------------------------------------------------------


def render_soa_html(document: Mapping[str, Any]) -> str:
    """The SoA as one self-contained HTML page (no script, no external resource)."""
    groups = [
        {
            "id": group["id"] or "",
            "title": group["title"] or "",
            "rows": [
                {
                    "id": str(row.get("id", "")),
                    "title": str(row.get("title", "")),
                    "applicable": bool(row.get("applicable")),
                    "justification": str(row.get("justification", "")),
                    "implementation": _implementation(row),
                    "owner": str(row.get("owner", "")),
                    "evidence": [
                        {"text": _evidence_text(item), "current": bool(item.get("current"))}
                        for item in row.get("evidence") or []
                    ],
                    "ready": bool(row.get("implemented_with_current_evidence")),
                }
                for row in group["rows"]
            ],
        }
        for group in _groups(document)
    ]
    head = _header(document)
    summary = [(str(key).replace("_", " "), value) for key, value in head["summary"].items()]
    return template("soa.html.j2").render(head=head, summary=summary, groups=groups)


# ---- CSV ----------------------------------------------------------------------------------------------------


def _csv_cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_soa_csv(document: Mapping[str, Any]) -> str:
    """The SoA as CSV (header ``CSV_COLUMNS``, one row per control; evidence joined with ``; ``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in _rows(document):
        objective = row.get("objective") or {}
        evidence = list(row.get("evidence") or [])
        values = {
            "control_id": row.get("id"),
            "title": row.get("title"),
            "objective_id": objective.get("id"),
            "objective": objective.get("title"),
            "applicable": bool(row.get("applicable")),
            "justification": row.get("justification", ""),
            "implementation": row.get("implementation", ""),
            "owner": row.get("owner", ""),
            "status_recorded": bool(row.get("status_recorded")),
            "evidence_count": len(evidence),
            "current_evidence": bool(row.get("current_evidence")),
            "implemented_with_current_evidence": bool(row.get("implemented_with_current_evidence")),
            "evidence": "; ".join(_evidence_text(item) for item in evidence),
        }
        writer.writerow([_csv_cell(values[column]) for column in CSV_COLUMNS])
    return out.getvalue()


def render_soa(document: Mapping[str, Any], fmt: str = "md") -> str:
    """Render in one of ``SOA_FORMATS`` (``md``, ``html``, ``csv``)."""
    renderers = {"md": render_soa_markdown, "html": render_soa_html, "csv": render_soa_csv}
    if fmt not in renderers:
        raise InvalidInput(f"format {fmt!r} is not one of {', '.join(SOA_FORMATS)}")
    return renderers[fmt](document)
