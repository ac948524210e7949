"""Technical documentation (EU AI Act Annex IV) rendered as Markdown, a self-contained HTML page or its PDF."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assay.reports._jinja import template

__all__ = ["render_techdocs_html", "render_techdocs_markdown", "render_techdocs_pdf"]


def _value(value: Any) -> str:
    if value is None:
        return "**(not recorded)**"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def render_techdocs_markdown(document: Mapping[str, Any]) -> str:
    lines = [
        f"# Technical documentation: {_md(document['system'])}",
        "",
        f"EU AI Act Annex IV headings, filled from the Assay store on {document['generated_at']} "
        f"(Assay {document['assay_version']}). Category: {document['category']}. "
        f"**{document['gaps']} gaps** are marked below.",
    ]
    for section in document["sections"]:
        lines += ["", f"## {section['id']}: {_md(section['title'])}", ""]
        for item in section["items"]:
            lines.append(f"- **{_md(item['label'])}**: {_md(_value(item['value']))}")
        for evidence in section["evidence"]:
            via = f" (via {evidence['via']})" if evidence["via"] else ""
            lines.append(f"- Evidence {evidence['id']} ({evidence['kind']}, {evidence['state']}){via}: "
                         f"{_md(evidence['description'])}")  # fmt: skip
        for gap in section["gaps"]:
            lines.append(f"- **GAP**: {_md(gap)}")
        if not (section["items"] or section["evidence"] or section["gaps"]):
            lines.append("- (nothing recorded)")
    return "\n".join(lines) + "\n"


def render_techdocs_html(document: Mapping[str, Any]) -> str:
    return template("techdocs.html.j2", value=_value).render(doc=document)


def render_techdocs_pdf(document: Mapping[str, Any]) -> bytes:
    """The HTML page printed to PDF by WeasyPrint, as the model card's (no browser, no network: the page's style
    is inline and it loads nothing)."""
    try:
        from weasyprint import HTML
    except ImportError as exc:  # pragma: no cover - the extra is part of the default install
        raise RuntimeError("PDF output needs WeasyPrint: pip install 'assay[pdf]'") from exc
    pdf: bytes = HTML(string=render_techdocs_html(document), base_url=None).write_pdf()
    return pdf
