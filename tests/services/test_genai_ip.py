"""Licences and provenance on the records, the licence check kept as risks, and protected corpora, on SQLite and
PostgreSQL through the services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assay.errors import InvalidInput, NotFound
from assay.genai.guard import Context, Guardrail
from assay.genai.policy import parse_guard_policy
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter


def events(ws: Workspace, action: str) -> list[Any]:
    return [e for e in ws.audit.log(EventFilter()) if e.action == action]


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.systems.create({"name": "assistant", "owner": "dana", "generative": True, "disclosure": "An AI."})
    return workspace


def test_licence_and_provenance_are_set_on_registration_and_update_and_audited(ws: Workspace) -> None:
    system = ws.systems.update("assistant", {"commercial": True})
    assert system.commercial is True
    data = ws.datasets.register_version(
        {"dataset": "reviews", "version": "1", "licence": "cc-by-nc-4.0", "terms": "research only"}, system="assistant"
    )
    assert (data.licence, data.terms) == ("CC-BY-NC-4.0", "research only")  # the SPDX id's own spelling
    model = ws.models.register_version(
        "assistant",
        {"model": "chat", "version": "1", "licence": "Llama-3-community", "source": "https://example.org/weights",
         "terms": "acceptable use policy", "foundation_model": "llama-3-8b-instruct", "provider": "Meta",
         "training_dataset": "reviews@1"},
    )  # fmt: skip
    assert (model.licence, model.foundation_model, model.provider) == (
        "Llama-3-community", "llama-3-8b-instruct", "Meta",
    )  # fmt: skip
    updated = ws.models.update_version("assistant", "chat@1", {"licence": "our own EULA", "provider": "Meta AI"})
    assert (updated.licence, updated.provider, updated.source) == (
        "our own EULA",
        "Meta AI",
        "https://example.org/weights",
    )
    ws.datasets.update_version("reviews@1", {"terms": "no redistribution"})
    last = events(ws, "model_version.update")[-1]
    assert last.payload["changed"] == ["licence", "provider"]
    assert "'our own EULA' is not a licence Assay knows" in last.payload["warnings"][0]
    assert "warnings" not in events(ws, "model_version.create")[-1].payload
    assert events(ws, "dataset_version.update")[-1].payload["changed"] == ["terms"]
    with pytest.raises(InvalidInput, match="provider"):
        ws.models.update_version("assistant", "chat@1", {"provider": "x" * 201})
    assert ws.audit.verify().ok


def test_the_licence_check_keeps_one_risk_per_finding_and_closes_resolved_ones(ws: Workspace) -> None:
    ws.systems.update("assistant", {"commercial": True})
    ws.datasets.register_version({"dataset": "scraped", "version": "1", "licence": "CC-BY-NC-4.0"}, system="assistant")
    ws.datasets.register_version(
        {"dataset": "clean", "version": "1", "licence": "CC-BY-4.0", "parents": ["scraped@1"]}, system="assistant"
    )
    ws.models.register_version(
        "assistant",
        {"model": "chat", "version": "1", "foundation_model": "mistral-7b", "training_dataset": "clean@1"},
    )
    first = ws.genai.licences.check("assistant")
    assert sorted(f.key for f in first.findings) == [
        "no-provider:model chat@1", "non-commercial:data scraped@1", "unknown-licence:model chat@1",
    ]  # fmt: skip
    assert len(first.created) == 3 and not first.closed
    risks = ws.risks.list("assistant")
    assert {r.source for r in risks} == {"licence"} and {r.owner for r in risks} == {"dana"}
    nc = next(r for r in risks if "scraped@1" in r.title)
    assert nc.controls == ["iso42001:A.7.5", "iso42001:A.7.3"] and nc.level == "high"

    again = ws.genai.licences.check("assistant")  # nothing changes the second time
    assert again.created == again.updated == again.closed == [] and len(again.unchanged) == 3
    assert len(ws.risks.list("assistant")) == 3

    ws.models.update_version("assistant", "chat@1", {"licence": "Apache-2.0", "provider": "Mistral AI"})
    ws.systems.update("assistant", {"commercial": False})
    resolved = ws.genai.licences.check("assistant")
    assert resolved.findings == [] and len(resolved.closed) == 3
    assert {r.status for r in ws.risks.list("assistant")} == {"closed"}

    ws.systems.update("assistant", {"commercial": True})
    back = ws.genai.licences.check("assistant")
    assert back.reopened == [nc.id] and ws.risks.get("assistant", nc.id).status == "open"
    assert len(ws.risks.list("assistant")) == 3
    checks = events(ws, "system.licence_check")
    assert [e.payload["counts"]["findings"] for e in checks] == [3, 3, 0, 1]
    assert next(e.payload["reason"] for e in events(ws, "risk.close")).startswith("resolved")
    assert ws.audit.verify().ok
    with pytest.raises(NotFound):
        ws.genai.licences.check("nobody")


def test_a_risk_a_person_rated_keeps_its_ratings_on_a_rerun(ws: Workspace) -> None:
    ws.models.register_version(
        "assistant", {"model": "chat", "version": "1", "foundation_model": "m", "licence": "MIT"}
    )
    risk_id = ws.genai.licences.check("assistant").created[0]
    ws.risks.update("assistant", risk_id, {"likelihood": 1, "impact": 2, "treatment": "accept"})
    again = ws.genai.licences.check("assistant")
    assert again.unchanged == [risk_id]
    risk = ws.risks.get("assistant", risk_id)
    assert (risk.likelihood, risk.impact, risk.treatment) == (1, 2, "accept")


def write_folder(root: Path, texts: dict[str, str]) -> Path:
    for name, text in texts.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


STYLE = (
    "Our house style asks every writer to open with the conclusion, to prefer short sentences over long ones, and "
    "to name the person who acts in every sentence so that the reader never wonders who did what to whom."
)


def test_corpora_are_versioned_audited_and_indexed_once(ws: Workspace, tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "docs", {"style.md": STYLE, "nested/other.txt": "A second document.", "x.csv": "no"}
    )
    first = ws.genai.corpora.add("house-style", folder, system="assistant", description="the style guide")
    assert (first.version, first.documents) == (1, 2)
    lines = tmp_path / "corpus.jsonl"
    lines.write_text(json.dumps({"id": "guide", "text": STYLE}) + "\n\n" + json.dumps({"text": "Second."}) + "\n")
    second = ws.genai.corpora.add("house-style", lines)
    assert (second.version, second.documents, second.system_id) == (2, 2, None)
    assert [(c.name, c.version) for c in ws.genai.corpora.list()] == [("house-style", 1), ("house-style", 2)]
    assert [d["name"] for d in ws.genai.corpora.documents("house-style", 1)] == ["nested/other.txt", "style.md"]
    created = events(ws, "protected_corpus.create")
    assert [e.payload["documents"] for e in created] == [2, 2] and created[0].payload["system"] == "assistant"

    index = ws.genai.corpora.index("house-style")
    assert index is ws.genai.corpora.index("house-style", 2)  # cached
    assert index.names == ("guide", "line 3")
    copied = "As we were told, " + " ".join(STYLE.split()[3:25]) + " and that is all."
    match = index.overlap(copied)
    assert match.longest_words == 22 and match.documents == ("guide",)

    policy = parse_guard_policy("schema: assay.guardrail/1\nname: p\nprotected_content: {corpus: house-style}\n")
    result = Guardrail(policy, Context(corpus=index)).apply("OUTPUT", copied)
    assert result.blocked
    assert ws.audit.verify().ok


def test_bad_corpora_are_refused_with_the_reason(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "a.csv").write_text("a")
    cases = {
        "bad.jsonl": "{]\n",
        "no-text.jsonl": '{"txt": 1}\n',
        "blank.jsonl": "\n",
        "nul.jsonl": '{"text": "a\\u0000"}\n',
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    for path, message in [
        ("missing", "does not exist"), ("empty", "has no .txt or .md files"), ("a.csv", "is not a JSON Lines file"),
        ("bad.jsonl", "line 1 is not JSON"), ("no-text.jsonl", "line 1: each line must be an object"),
        ("blank.jsonl", "has no documents"), ("nul.jsonl", "NUL character"),
    ]:  # fmt: skip
        with pytest.raises(InvalidInput, match=message):
            ws.genai.corpora.add("c", tmp_path / path)
    assert ws.genai.corpora.list() == []


def test_corpus_names_systems_and_lookups_are_checked(ws: Workspace, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "d", {"a.txt": STYLE})
    with pytest.raises(InvalidInput, match=r"corpus name '\.\./x'"):
        ws.genai.corpora.add("../x", folder)
    with pytest.raises(NotFound, match="no AI system named 'nobody'"):
        ws.genai.corpora.add("c", folder, system="nobody")
    with pytest.raises(NotFound, match="no protected corpus 'c'"):
        ws.genai.corpora.index("c")
    ws.genai.corpora.add("c", folder)
    with pytest.raises(NotFound, match="no protected version 7 of corpus 'c'"):
        ws.genai.corpora.get("c", 7)
