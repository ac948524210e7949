"""The technical documentation page (``/systems/{s}/docs``, docs/web.md "Technical documentation"): the EU AI Act
Annex IV headings filled from the store (:class:`assay.services.techdocs.TechnicalDocs`, the document
``GET /api/systems/{s}/docs`` returns), each with what is recorded, the evidence attached to it and the gaps it
names, every gap linking to the page where it is closed; its ``.json`` twin and its downloads (Markdown, the
self-contained HTML page ``assay docs --format html`` writes, and that page as PDF).

Reading needs ``read`` on the system, as the API route; the page changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from assay.errors import InvalidInput
from assay.server import web
from assay.server.deps import Auth, Authorised, page_user
from assay.server.pages_controls import anchor, controls_path
from assay.services.access import allowed

__all__ = ["DOWNLOADS", "gap_link", "router"]

router = APIRouter(include_in_schema=False)

FRAMEWORK: Final = "eu-ai-act"  # the catalogue whose Annex IV headings the document follows
# format -> (media type, what the link says, file suffix)
DOWNLOADS: Final = {
    "md": ("text/markdown; charset=utf-8", "Markdown", "md"),
    "html": ("text/html; charset=utf-8", "HTML page", "html"),
    "pdf": ("application/pdf", "PDF", "pdf"),
}
_SAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")

Link = dict[str, str]


def _models(system: str, edit: str | None = None, *, dataset: bool = False) -> str:
    """The models and data page; with ``edit``, its form for that model (or dataset) version."""
    base = f"/systems/{quote(system)}/models"
    if edit is None:
        return base
    key, section = ("edit_dataset", "edit-dataset") if dataset else ("edit", "edit-model")
    return f"{base}?{key}={quote(edit)}#{section}"


# (pattern of a gap's text, where it is closed): the first that matches wins; the texts are those
# services.techdocs writes. A gap no pattern knows links to its heading's evidence on the controls page.
_GAP_PAGES: Final[tuple[tuple[re.Pattern[str], Callable[[str, str, re.Match[str]], Link]], ...]] = (
    (re.compile(r"^(Versions and their relation|Foundation model of)"),
     lambda s, h, m: {"text": "models and data", "href": _models(s)}),
    (re.compile(r" is not recorded$"),
     lambda s, h, m: {"text": "edit the system", "href": f"/systems/{quote(s)}/edit"}),
    (re.compile(r"^(?P<ref>[^:\s]+@[^:\s]+): (no training dataset version|framework) "),
     lambda s, h, m: {"text": f"edit {m['ref']}", "href": _models(s, m["ref"])}),
    (re.compile(r"^(?P<ref>[^:\s]+@[^:\s]+): (source|licence|collection method) not recorded$"),
     lambda s, h, m: {"text": f"edit {m['ref']}", "href": _models(s, m["ref"], dataset=True)}),
    (re.compile(r"^no model version is registered"),
     lambda s, h, m: {"text": "register a model version", "href": _models(s)}),
    (re.compile(r"^(no bias and performance assessment|accuracy for specific persons|no generative evaluation)"),
     lambda s, h, m: {"text": "run a test", "href": f"/systems/{quote(s)}/run"}),
    (re.compile(r"^(no risk is recorded|the risk register is empty)"),
     lambda s, h, m: {"text": "risk register", "href": f"/systems/{quote(s)}/risks"}),
    (re.compile(r"^risk (?P<id>\d+) has no review date"),
     lambda s, h, m: {"text": f"risk {m['id']}", "href": f"/systems/{quote(s)}/risks/{m['id']}"}),
    (re.compile(r"^no final impact assessment"),
     lambda s, h, m: {"text": "impact assessments", "href": f"/systems/{quote(s)}/impact"}),
    (re.compile(r"^no policy gate has been evaluated"),
     lambda s, h, m: {"text": "gates", "href": f"/systems/{quote(s)}/gates"}),
)  # fmt: skip

# the pages where what each heading draws on is kept
_HEADING_PAGES: Final = {
    "Annex IV.1": (("system record", ""), ("models and data", "/models")),
    "Annex IV.2": (("models and data", "/models"), ("run a test", "/run")),
    "Annex IV.3": (("risks", "/risks"), ("monitoring", "/monitoring"), ("human oversight", "/oversight"),
                   ("contested decisions", "/contests")),
    "Annex IV.4": (("gates and waivers", "/gates"),),
    "Annex IV.5": (("risks", "/risks"), ("impact assessments", "/impact")),
    "Annex IV.6": (("models and data", "/models"), ("approvals", "/approvals")),
    "Annex IV.9": (("incidents", "/incidents"), ("monitoring", "/monitoring")),
}  # fmt: skip


def gap_link(system: str, heading: str, gap: str) -> Link:
    """The page where ``gap`` (a gap of ``heading``, as the document words it) is closed."""
    for pattern, link in _GAP_PAGES:
        found = pattern.search(gap)
        if found is not None:
            return link(system, heading, found)
    return {"text": "attach evidence", "href": controls_path(system, FRAMEWORK, heading)}


def _section(system: str, section: Mapping[str, Any]) -> dict[str, Any]:
    heading = section["id"]
    base = f"/systems/{quote(system)}"
    pages = [{"text": text, "href": base + suffix} for text, suffix in _HEADING_PAGES.get(heading, ())]
    return {
        **section,
        "anchor": anchor(heading),
        "gaps": [{"text": gap, "link": gap_link(system, heading, gap)} for gap in section["gaps"]],
        "evidence_link": controls_path(system, FRAMEWORK, heading),
        "pages": pages,
    }


def _docs(auth: Authorised, system: str) -> dict[str, Any]:
    document = auth.ws.techdocs.build(system)
    name = document["system"]
    base = f"/systems/{quote(name)}/docs"
    return {
        "page": "docs",
        "user": page_user(auth.principal),
        **{key: value for key, value in document.items() if key != "sections"},
        "sections": [_section(name, s) for s in document["sections"]],
        "downloads": [
            {"format": fmt, "label": label, "href": f"{base}/download?format={fmt}"}
            for fmt, (_, label, _) in DOWNLOADS.items()
        ],
        "can_write": allowed(auth.principal, "write", name),
    }


@router.get("/systems/{system}/docs.json")
def docs_json(auth: Auth, system: str) -> Response:
    return web.twin(_docs(auth, system))


@router.get("/systems/{system}/docs/download")
def docs_download(auth: Auth, system: str, format: str = "md") -> Response:
    """The technical documentation as the file ``assay docs`` writes (Markdown or HTML), or that HTML as PDF."""
    from assay.reports.techdocs import render_techdocs_html, render_techdocs_markdown, render_techdocs_pdf

    if format not in DOWNLOADS:
        raise InvalidInput(f"format {format[:20]!r} is not one of {', '.join(DOWNLOADS)}", fields={"format": "?"})
    document = auth.ws.techdocs.build(system)
    media, _, suffix = DOWNLOADS[format]
    if format == "pdf":
        body: bytes | str = render_techdocs_pdf(document)
    else:
        body = (render_techdocs_markdown if format == "md" else render_techdocs_html)(document)
    filename = f"technical-documentation-{_SAFE_NAME.sub('-', document['system'])}.{suffix}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/systems/{system}/docs")
def docs_page(request: Request, auth: Auth, system: str) -> Response:
    """The technical documentation in the layout: each Annex IV heading with what is recorded, its evidence and
    its gaps, each gap linking to the page that closes it; its downloads."""
    return web.render(request, "docs", _docs(auth, system))
