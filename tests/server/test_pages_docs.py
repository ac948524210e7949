"""The technical documentation page (EU AI Act Annex IV): each heading with what is recorded, its evidence and its
gaps, every gap linking to the page that closes it; for the roles that may read the system and refused to the
others; its JSON twin and its downloads (Markdown, HTML, PDF); the links to it from the system's overview and its
models page. The real app over a real workspace (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest

from assay.server.pages_docs import gap_link
from tests.support.server import HTML, Served


def _as(tokens: dict[str, str], name: str) -> dict[str, str]:
    return {**HTML, "Authorization": f"Bearer {tokens[name]}"}


def test_the_page_shows_each_heading_its_gaps_and_where_each_is_closed(served: Served) -> None:
    client, tokens, _ = served
    page = client.get("/systems/release/docs", headers=_as(tokens, "viewer"))
    assert page.status_code == 200, page.text
    assert page.text.count('<section id="control-Annex-IV.') == 9
    assert 'href="#control-Annex-IV.1"' in page.text  # the table of contents
    # release's one risk has no review date, no gate has run, no impact assessment is final, lr@1 has no data
    assert re.search(r"risk 1 has no review date · <a href=\"/systems/release/risks/1\">", page.text)
    assert re.search(r"no policy gate has been evaluated[^<]* · <a href=\"/systems/release/gates\">", page.text)
    assert re.search(r"no final impact assessment · <a href=\"/systems/release/impact\">", page.text)
    assert 'href="/systems/release/models?edit=lr%401#edit-model">edit lr@1</a>' in page.text
    assert 'href="/systems/release/controls?framework=eu-ai-act#control-Annex-IV.8">attach evidence</a>' in page.text
    assert "None for this heading." in page.text.split('id="control-Annex-IV.8"')[1].split("</section>")[0]
    for href in ("docs/download?format=md", "docs/download?format=html", "docs/download?format=pdf", "docs.json"):
        assert f'href="/systems/release/{href}"' in page.text
    assert client.get("/systems/release/docs", headers=_as(tokens, "owner")).status_code == 200
    assert client.get("/systems/release/docs", headers=_as(tokens, "auditor")).status_code == 200
    refused = client.get("/systems/release/docs", headers=_as(tokens, "stranger"))
    assert refused.status_code in (403, 404) and "<html" in refused.text  # an error page, in the layout
    assert client.get("/systems/nowhere/docs", headers=_as(tokens, "admin")).status_code == 404
    for path in ("/systems/release", "/systems/release/models"):  # the overview and the models page link to it
        linking = client.get(path, headers=_as(tokens, "viewer"))
        assert linking.status_code == 200 and 'href="/systems/release/docs"' in linking.text, path


def test_the_json_twin_and_the_downloads(served: Served) -> None:
    """The twin is the API's document with the links; the downloads are the files ``assay docs`` writes."""
    client, tokens, _ = served
    twin = client.get("/systems/release/docs.json", headers=_as(tokens, "viewer"))
    assert twin.status_code == 200
    api = client.get("/api/systems/release/docs", headers=_as(tokens, "viewer")).json()
    document = api.get("document", api)
    body = twin.json()
    assert body["schema"] == "assay.technical-documentation" and body["gaps"] == document["gaps"] > 0
    assert [s["id"] for s in body["sections"]] == [s["id"] for s in document["sections"]]
    for mine, theirs in zip(body["sections"], document["sections"], strict=True):
        assert [g["text"] for g in mine["gaps"]] == theirs["gaps"] and mine["items"] == theirs["items"]
        assert all(g["link"]["href"].startswith("/systems/release/") for g in mine["gaps"])
    assert client.get("/systems/release/docs.json", headers=_as(tokens, "stranger")).status_code in (403, 404)
    viewer = _as(tokens, "viewer")
    markdown = client.get("/systems/release/docs/download", params={"format": "md"}, headers=viewer)
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.headers["content-disposition"] == 'attachment; filename="technical-documentation-release.md"'
    assert markdown.text.startswith("# Technical documentation: release") and "**GAP**" in markdown.text
    page = client.get("/systems/release/docs/download", params={"format": "html"}, headers=viewer)
    assert page.status_code == 200 and "<h1>Technical documentation: release</h1>" in page.text
    pdf = client.get("/systems/release/docs/download", params={"format": "pdf"}, headers=viewer)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    wrong = client.get("/systems/release/docs/download", params={"format": "docx"}, headers=viewer)
    assert wrong.status_code == 422 and "docx" in wrong.text and "md, html, pdf" in wrong.text
    refused = client.get("/systems/release/docs/download", headers=_as(tokens, "stranger"))
    assert refused.status_code in (403, 404)


@pytest.mark.parametrize(
    ("heading", "gap", "href"),
    [
        ("Annex IV.1", "Intended purpose is not recorded", "/systems/s/edit"),
        ("Annex IV.1", "Versions and their relation to previous versions is not recorded", "/systems/s/models"),
        ("Annex IV.1", "Foundation model of chat@1 is not recorded", "/systems/s/models"),
        ("Annex IV.2", "m@2: no training dataset version recorded", "/systems/s/models?edit=m%402#edit-model"),
        ("Annex IV.2", "m@2: framework not recorded", "/systems/s/models?edit=m%402#edit-model"),
        ("Annex IV.2", "d@1: collection method not recorded", "/systems/s/models?edit_dataset=d%401#edit-dataset"),
        ("Annex IV.2", "no model version is registered", "/systems/s/models"),
        ("Annex IV.2", "no bias and performance assessment is recorded (...)", "/systems/s/run"),
        ("Annex IV.2", "no generative evaluation is recorded (assay eval run): ...", "/systems/s/run"),
        ("Annex IV.2", "design specifications, architecture and cybersecurity measures: attach them as evidence",
         "/systems/s/controls?framework=eu-ai-act#control-Annex-IV.2"),
        ("Annex IV.3", "accuracy for specific persons or groups is not measured", "/systems/s/run"),
        ("Annex IV.3", "no risk is recorded: foreseeable ...", "/systems/s/risks"),
        ("Annex IV.4", "no policy gate has been evaluated: ...", "/systems/s/gates"),
        ("Annex IV.5", "the risk register is empty", "/systems/s/risks"),
        ("Annex IV.5", "no final impact assessment", "/systems/s/impact"),
        ("Annex IV.5", "risk 12 has no review date", "/systems/s/risks/12"),
        ("Annex IV.9", "attach the post-market monitoring plan (Art. 72(3)) as evidence for this heading",
         "/systems/s/controls?framework=eu-ai-act#control-Annex-IV.9"),
    ],
)  # fmt: skip
def test_each_gap_links_to_the_page_that_closes_it(heading: str, gap: str, href: str) -> None:
    assert gap_link("s", heading, gap)["href"] == href
