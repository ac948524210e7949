"""Model cards and technical documentation: every section present, numbers equal to the stored assessment, the
PDF opens and has pages, the SageMaker and Hugging Face exports validate; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from assay.cli import main
from assay.reports.model_card import (
    CARD_SECTIONS,
    render_card_html,
    render_card_markdown,
    to_sagemaker_model_card,
    validate_sagemaker_model_card,
)
from assay.reports.techdocs import render_techdocs_html, render_techdocs_markdown
from assay.services.workspace import Workspace
from tests.support.assessments import record


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    workspace.systems.create(
        {
            "name": "release",
            "purpose": "Recommend release <at> first appearance",
            "intended_uses": ["decision support"],
            "out_of_scope_uses": ["sentencing"],
            "eu_ai_act_category": "high",
            "annex_iii_area": 6,
            "owner": "alice",
        }
    )
    workspace.datasets.register_version(
        {"dataset": "arrests", "version": "1", "source": "Toronto Star", "licence": "public records"},
        system="release",
    )
    workspace.models.register_version(
        "release", {"model": "lr", "version": "1", "training_dataset": "arrests@1", "framework": "scikit-learn"}
    )
    workspace.risks.add(
        "release",
        {"title": "Disparate release rates", "source": "model", "likelihood": 4, "impact": 4, "treatment": "mitigate"},
    )
    return workspace


def di_of(document: dict[str, Any]) -> float:
    value = next(m for m in document["facets"][0]["metrics"] if m["name"] == "DI")["value"]
    assert isinstance(value, float)
    return value


def test_card_has_every_section_and_the_stored_numbers(ws: Workspace, tmp_path: Path) -> None:
    document = record(ws, tmp_path, disparity=0.2)
    ws.gates.evaluate("release", "lr@1")
    card = ws.cards.build("release", "lr@1")
    assert card["evaluation"]["facets"] == document["facets"]  # the numbers are the stored assessment's
    assert card["training_data"]["ref"] == "arrests@1" and card["risks"][0]["level"] == "high"
    assert card["gates"][0]["policy"] == "default-high"
    markdown = render_card_markdown(card)
    html = render_card_html(card)
    for _, title in CARD_SECTIONS:
        assert f"## {title}" in markdown and f"<h2>{title}</h2>" in html
    assert "Generative-AI disclosure" not in markdown
    assert f"{di_of(document):.4g}" in markdown and f"{di_of(document):.4g}" in html
    assert "<script" not in html and re.search(r'(src|href)="(https?:)?//', html) is None  # nothing fetched
    assert "Recommend release &lt;at&gt; first appearance" in html  # escaped
    assert html.count("<svg") >= 3  # DI, DPPL and performance charts


def test_generative_disclosure_section(workspace: Workspace) -> None:
    workspace.systems.create({"name": "chat", "generative": True, "disclosure": "You are talking to an AI."})
    workspace.models.register_version("chat", {"model": "llm", "version": "1"})
    card = workspace.cards.build("chat", "llm@1")
    assert "## Generative-AI disclosure\n\n> You are talking to an AI." in render_card_markdown(card)
    assert any("No bias assessment" in c for c in card["caveats"])


def test_pdf_opens_and_has_pages(ws: Workspace, tmp_path: Path) -> None:
    from pypdf import PdfReader

    record(ws, tmp_path, disparity=0.0)
    paths = ws.cards.write("release", "lr@1", tmp_path / "card", ("pdf",))
    reader = PdfReader(io.BytesIO(paths["pdf"].read_bytes()))
    assert len(reader.pages) >= 2
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Model card: release / lr@1" in text and "Risks and ethical considerations" in text


def test_sagemaker_export_validates_and_bad_content_does_not(ws: Workspace, tmp_path: Path) -> None:
    document = record(ws, tmp_path, disparity=0.2)
    content = to_sagemaker_model_card(ws.cards.build("release", "lr@1"))
    assert content["intended_uses"]["risk_rating"] == "High"
    metric = content["evaluation_details"][0]["metric_groups"][0]["metric_data"]
    assert {"name": "DI", "type": "number", "value": di_of(document)} in [
        {k: m[k] for k in ("name", "type", "value")} for m in metric
    ]
    with pytest.raises(ValueError, match="intended_uses/risk_rating"):
        validate_sagemaker_model_card({**content, "intended_uses": {"risk_rating": "Severe"}})
    with pytest.raises(ValueError, match="model_overview/model_name"):
        validate_sagemaker_model_card({**content, "model_overview": {"model_name": "bad name!"}})
    with pytest.raises(ValueError, match=r"is not valid|Additional properties"):
        validate_sagemaker_model_card({**content, "colour": "red"})


def test_huggingface_card_parses_with_its_model_index(ws: Workspace, tmp_path: Path) -> None:
    from huggingface_hub import ModelCard

    document = record(ws, tmp_path, disparity=0.2)
    text = ws.cards.render(ws.cards.build("release", "lr@1"), "huggingface").decode()
    card = ModelCard(text)
    results = card.data.eval_results
    assert results, "model-index was not understood"
    di = next(r for r in results if r.metric_type == "di")
    assert di.metric_value == pytest.approx(di_of(document))
    assert di.task_type == "tabular-classification" and card.data.datasets == ["arrests@1"]


def test_technical_documentation_marks_gaps_and_fills_from_the_store(ws: Workspace, tmp_path: Path) -> None:
    document = ws.techdocs.build("release")
    assert [s["id"] for s in document["sections"]] == [f"Annex IV.{n}" for n in range(1, 10)]
    gaps = {s["id"]: s["gaps"] for s in document["sections"]}
    assert any("no bias and performance assessment" in g for g in gaps["Annex IV.2"])
    assert any("declaration of conformity" in g for g in gaps["Annex IV.8"])
    before = document["gaps"]
    record(ws, tmp_path, disparity=0.0)
    ws.controls.add_evidence(
        "release", "eu-ai-act", "Annex IV.8", kind="url", url="https://example.org/declaration.pdf"
    )
    after = ws.techdocs.build("release")
    # the assessment closes two gaps (testing; accuracy by group), the attached declaration one
    assert after["gaps"] == before - 3
    assert not any("declaration" in g for s in after["sections"] for g in s["gaps"])
    markdown = render_techdocs_markdown(after)
    assert "## Annex IV.5: Detailed description of the risk management system (Art. 9)" in markdown
    assert "**GAP**" in markdown and "GAP" in render_techdocs_html(after)


def test_cli_card_and_docs(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record(ws, tmp_path, disparity=0.0)
    root = ["--workspace", str(ws.root)]
    out = tmp_path / "card"
    assert main([*root, "card", "release", "lr@1", "--format", "md", "--format", "json", "--out", str(out)]) == 0
    assert json.loads((out / "model-card.json").read_text())["model"]["ref"] == "lr@1"
    assert main([*root, "card", "release", "lr@1", "--format", "docx"]) == 2
    assert "not one of" in capsys.readouterr().err
    assert main([*root, "docs", "release"]) == 0
    assert "# Technical documentation: release" in capsys.readouterr().out
    assert main([*root, "docs", "release", "--format", "html", "--out", str(tmp_path / "docs.html")]) == 0
    assert (tmp_path / "docs.html").read_text().startswith("<!DOCTYPE html>")
