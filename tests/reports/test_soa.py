"""The Statement of Applicability (ISO/IEC 42001 6.1.3): the document, its Markdown, HTML and CSV renderings, and
``assay soa``; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest

from assay.cli import main
from assay.errors import InvalidInput
from assay.governance.catalogues import load_catalogue
from assay.reports.soa import CSV_COLUMNS, render_soa, render_soa_csv, render_soa_html, render_soa_markdown
from assay.services.workspace import Workspace

ANNEX_A = load_catalogue("iso42001").of_kind("control")
SCRIPT = "<script>alert('pwned')</script> & not relevant | here"
DOCUMENT = {"schema": "assay.assessment", "schema_version": 1, "spec": {}, "data": {}}


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.systems.create({"name": "release", "eu_ai_act_category": "high", "annex_iii_area": 6})
    return workspace


@pytest.fixture
def soa(ws: Workspace) -> dict[str, Any]:
    """A SoA with one excluded control (a hostile justification), one ready, one implemented with expired
    evidence, one owned by a formula."""
    ws.assessments.record("release", DOCUMENT)  # evidence for A.6.2.4 and A.7.4
    ws.controls.set_status("release", "iso42001", "A.10.3", applicable=False, justification=SCRIPT)
    ws.controls.set_status("release", "iso42001", "A.6.2.4", implementation="implemented", owner="=cmd|' /C calc'!A0")
    ws.controls.add_evidence(
        "release", "iso42001", "A.2.2", kind="url", url="https://x.org/policy", description="AI policy 2021",
        valid_from=dt.date(2021, 1, 1), valid_until=dt.date(2021, 12, 31),
    )  # fmt: skip
    ws.controls.set_status("release", "iso42001", "A.2.2", implementation="implemented", owner="carol")
    return ws.controls.soa("release")


def test_soa_has_the_38_annex_a_controls_with_their_statuses(ws: Workspace, soa: dict[str, Any]) -> None:
    assert (soa["schema"], soa["schema_version"], soa["framework"]["id"]) == ("assay.soa", 1, "iso42001")
    assert soa["system"]["name"] == "release" and soa["system"]["eu_ai_act_category"] == "high"
    assert dt.datetime.fromisoformat(soa["generated_at"]).tzinfo is not None
    rows = {row["id"]: row for row in soa["controls"]}
    assert [row["id"] for row in soa["controls"]] == [c.id for c in ANNEX_A] and len(rows) == 38
    assert [row["title"] for row in soa["controls"]] == [c.title for c in ANNEX_A]
    assert rows["A.6.2.4"]["objective"] == {"id": "A.6.2", "title": load_catalogue("iso42001").control("A.6.2").title}

    excluded = rows["A.10.3"]
    assert (excluded["applicable"], excluded["justification"], excluded["status_recorded"]) == (False, SCRIPT, True)
    assert excluded["implemented_with_current_evidence"] is False

    ready = rows["A.6.2.4"]
    assert (ready["implementation"], ready["current_evidence"], ready["implemented_with_current_evidence"]) == (
        "implemented",
        True,
        True,
    )
    assert [(e["kind"], e["current"], e["via"]) for e in ready["evidence"]] == [("assessment", True, None)]

    expired = rows["A.2.2"]
    assert expired["implementation"] == "implemented" and expired["owner"] == "carol"
    assert [(e["state"], e["valid_until"]) for e in expired["evidence"]] == [("expired", "2021-12-31")]
    assert expired["implemented_with_current_evidence"] is False

    default = rows["A.7.4"]  # no status recorded: applicable, not started; its evidence is listed all the same
    assert (default["applicable"], default["implementation"], default["status_recorded"]) == (
        True,
        "not_started",
        False,
    )
    assert default["current_evidence"] is True and default["implemented_with_current_evidence"] is False

    assert soa["summary"] == {
        "controls": 38,
        "applicable": 37,
        "excluded": 1,
        "implemented": 2,
        "implemented_with_current_evidence": 1,
        "without_recorded_status": 35,
    }
    # clauses and other frameworks are not rows of the SoA
    ws.controls.set_status("release", "iso42001", "6.1.3", implementation="implemented")
    ws.controls.set_status("release", "nist-ai-rmf", "MEASURE 2.11", implementation="implemented")
    assert [row["id"] for row in ws.controls.soa("release")["controls"]] == [c.id for c in ANNEX_A]


def test_markdown(soa: dict[str, Any]) -> None:
    text = render_soa_markdown(soa)
    assert text.startswith("# Statement of Applicability: release\n")
    rows = [line for line in text.splitlines() if line.startswith("| A.")]
    assert [line.split(" | ")[0].removeprefix("| ").replace("\\", "") for line in rows] == [c.id for c in ANNEX_A]
    excluded = next(line for line in rows if line.startswith("| A.10.3 "))
    assert "**excluded**" in excluded and "<script>" not in text
    assert r"\<script\>alert('pwned')\</script\> & not relevant \| here" in excluded
    # each row still has its 8 cells: escaped pipes do not split them
    assert all(len(re.split(r"(?<!\\)\|", line)) == 10 for line in rows)
    assert "not started (default)" in text and "**yes**" in text
    assert "#" in next(line for line in rows if line.startswith("| A.2.2 ")) and "expired" in text


def test_html_is_self_contained_and_escaped(soa: dict[str, Any]) -> None:
    page = render_soa_html(soa)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; &amp; not relevant | here" in page
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", page)  # nothing fetched
    assert page.count('<td class="id">A.') == 38
    assert "<strong>excluded</strong>" in page and '<span class="yes">yes</span>' in page


def test_csv_parses_with_the_csv_module(soa: dict[str, Any]) -> None:
    text = render_soa_csv(soa)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    rows = {row["control_id"]: row for row in reader}
    assert list(rows) == [c.id for c in ANNEX_A]
    assert (rows["A.10.3"]["applicable"], rows["A.10.3"]["justification"]) == ("no", SCRIPT)
    assert rows["A.6.2.4"]["owner"] == "'=cmd|' /C calc'!A0"  # not a formula for a spreadsheet
    assert rows["A.6.2.4"]["implemented_with_current_evidence"] == "yes"
    assert (rows["A.2.2"]["evidence_count"], rows["A.2.2"]["current_evidence"]) == ("1", "no")
    assert "AI policy 2021" in rows["A.2.2"]["evidence"] and "expired" in rows["A.2.2"]["evidence"]
    assert rows["A.7.4"]["status_recorded"] == "no"


def test_render_refuses_other_documents_and_formats(soa: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="not a Statement of Applicability"):
        render_soa_markdown({"schema": "assay.assessment"})
    with pytest.raises(InvalidInput, match="format 'pdf' is not one of md, html, csv"):
        render_soa(soa, "pdf")
    assert render_soa(soa, "csv") == render_soa_csv(soa)


def test_cli_soa(ws: Workspace, soa: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = ["--workspace", str(ws.root)]
    assert main([*root, "soa", "release"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Statement of Applicability: release") and out.count("\n| A.") == 38

    assert main([*root, "soa", "release", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))
    assert len(rows) == 38 and rows[-1]["control_id"] == ANNEX_A[-1].id

    page = tmp_path / "soa.html"
    assert main([*root, "soa", "release", "--format", "html", "--out", str(page)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {page}"
    assert "&lt;script&gt;" in page.read_text(encoding="utf-8")

    assert main([*root, "soa", "release", "--format", "pdf"]) == 2
    assert capsys.readouterr().err.strip() == "error: --format 'pdf' is not one of md, html, csv"
    assert main([*root, "soa", "nope"]) == 2
    assert "no AI system named 'nope'" in capsys.readouterr().err
    assert ws.audit.verify().ok
