"""Generative evaluations through the store, on SQLite and PostgreSQL: a recorded ``assay.genai-eval`` is linked as
evidence to NIST AI 600-1 risks, ISO/IEC 42001 and NIST AI RMF entries; readiness against NIST AI 600-1 counts
generative systems only; the ``genai`` gate rule judges the newest evaluation; the model card and the Annex IV
documentation of a generative system show its foundation model, scores by slice, red-team rates and guardrails, and
its SageMaker and Hugging Face exports carry them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from assay.cli import main
from assay.config import load_settings
from assay.reports.model_card import (
    CARD_SECTIONS,
    GENERATIVE_SECTIONS,
    render_card_html,
    render_card_markdown,
    to_huggingface_card,
    to_sagemaker_model_card,
    validate_sagemaker_model_card,
)
from assay.reports.techdocs import render_techdocs_markdown
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from assay.store.models import GuardPolicy, Model, ModelVersion, System
from tests.support.genai_eval import eval_document

GROUNDED = ((0.93, 0.91, 0.95, 120), {"topic=returns": (0.97, 0.95, 0.99, 60), "topic=billing": (0.89, 0.85, 0.92, 60)})
ATTACKS = ((0.0133, 0.0037, 0.0473, 150), {"category=injection": (0.0, 0.0, 0.114, 30)})
PII = ((0.0, 0.0, 0.031, 120), {"topic=returns": (0.0, 0.0, 0.06, 60)})
RED_TEAM = {"injection": (30, 0, 0.0, 0.114), "harmful": (30, 2, 0.018, 0.213)}
GUARD = """\
schema: assay.guardrail/1
name: support-guard
description: Support bot guardrail
sensitive_information: {entities: [{type: EMAIL_ADDRESS}]}
prompt_attacks: {input: block}
disclosure: {required: true}
"""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ws(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One workspace per database for the module (each test makes its own systems)."""
    url = None if request.param == "sqlite" else str(request.getfixturevalue("postgres").create_database())
    made = Workspace.init(tmp_path_factory.mktemp("genai") / "ws", load_settings(actor="alice", workspace=None),
                          database_url=url)  # fmt: skip
    yield made
    made.close()


@pytest.fixture
def names(ws: Workspace, request: pytest.FixtureRequest) -> tuple[str, str]:
    """A generative high-risk system with model version chat@1 and a non-generative one with lr@1, new per test."""
    suffix = request.node.name.split("[")[0].removeprefix("test_")[:40]
    bot, scorer = f"bot-{suffix}", f"scorer-{suffix}"
    ws.systems.create(
        {
            "name": bot,
            "generative": True,
            "disclosure": "You are chatting with an AI assistant.",
            "intended_uses": ["answer questions on orders and returns"],
            "out_of_scope_uses": ["legal or medical advice"],
            "eu_ai_act_category": "high",
            "annex_iii_area": 5,
        }
    )
    ws.models.register_version(bot, {"model": "chat", "version": "1"})
    ws.systems.create({"name": scorer, "eu_ai_act_category": "high", "annex_iii_area": 5})
    ws.models.register_version(scorer, {"model": "lr", "version": "1"})
    return bot, scorer


def full_document() -> dict[str, Any]:
    return eval_document({"groundedness": GROUNDED, "attack_success": ATTACKS, "pii_leakage": PII}, red_team=RED_TEAM)


def set_provenance(ws: Workspace, system: str) -> None:
    """The ip helper adds the commands that set these; here the row is changed in a governed write."""
    with ws.store.write("alice") as tx:
        version = tx.session.execute(
            select(ModelVersion).join(Model).join(System).where(System.name == system, ModelVersion.version == "1")
        ).scalar_one()
        before = version.state()
        version.foundation_model = "Mistral-7B-Instruct-v0.3"
        version.provider = "Mistral AI"
        version.licence = "Apache-2.0"
        version.terms = "no use for automated legal advice"
        tx.record("model.update", version, before=before)


def bind_guard_policy(ws: Workspace, system: str, *, version: int = 1, description: str = "Support bot") -> str:
    """The guard service comes from another helper; the row it writes is added here in a governed write."""
    name = f"guard-{system}"
    text = GUARD.replace("support-guard", name).replace("Support bot guardrail", description)
    with ws.store.write("alice") as tx:
        owner = tx.session.execute(select(System).where(System.name == system)).scalar_one()
        row = GuardPolicy(
            name=name, version=version, system_id=owner.id, text=text,
            sha256=hashlib.sha256(text.encode()).hexdigest(), created_by="alice",
        )  # fmt: skip
        tx.session.add(row)
        tx.record("guard.policy.add", row, before=None)
    return name


def test_a_recorded_evaluation_is_linked_as_evidence(ws: Workspace, names: tuple[str, str]) -> None:
    bot, _ = names
    assessment = ws.assessments.record(bot, full_document(), model_version="chat@1")
    assert assessment.kind == "assay.genai-eval"
    linked = {(e.framework, e.control_id): e.rule for e in ws.controls.list_evidence(bot)}
    assert linked[("nist-ai-600-1", "confabulation")] == "genai-confabulation"
    assert linked[("nist-ai-600-1", "data-privacy")] == "genai-privacy"
    assert linked[("nist-ai-600-1", "information-security")] == "genai-security"
    assert linked[("nist-ai-600-1", "dangerous-violent-hateful-content")] == "genai-harmful-content"
    assert ("nist-ai-600-1", "intellectual-property") not in linked  # protected content was not counted
    assert linked[("iso42001", "A.6.2.4")] == "genai-eval" and ("nist-ai-rmf", "MEASURE 2.7") in linked
    (event,) = [e for e in ws.audit.log(EventFilter(action="evidence.link")) if e.object_id == str(assessment.id)]
    assert len(event.payload["controls"]) == len(linked)
    # an entry of the profile shows the evaluation as its own evidence, current
    (privacy,) = [e for e in ws.controls.list_evidence(bot, "nist-ai-600-1", "PRIV") if e.via is None]
    assert privacy.assessment_id == assessment.id and privacy.current


def test_readiness_against_the_profile_counts_generative_systems(ws: Workspace, names: tuple[str, str]) -> None:
    bot, scorer = names
    ws.assessments.record(bot, full_document(), model_version="chat@1")
    for risk in ("confabulation", "data-privacy", "information-security"):
        ws.controls.set_status(bot, "nist-ai-600-1", risk, implementation="implemented")
    every = ws.controls.readiness(None, "nist-ai-600-1")
    listed = {r["system"]["name"]: r for r in every["systems"]}
    assert bot in listed and scorer not in listed  # the non-generative system is not counted
    assert not any(name.startswith("scorer-") for name in listed)
    result = listed[bot]
    assert (result["entries"], result["applicable"], result["ready"]) == (12, 12, 3)
    assert set(result["ready_controls"]) == {"confabulation", "data-privacy", "information-security"}
    assert result["share"] == pytest.approx(3 / 12) and result["not_applicable"] is None
    assert "generative systems only" in every["counted"]
    other = ws.controls.readiness(scorer, "nist-ai-600-1")["systems"][0]
    assert (other["applicable"], other["excluded"], other["gaps"], other["share"]) == (0, 12, [], None)
    assert "not marked generative" in other["not_applicable"]
    # other frameworks are unchanged for the non-generative system
    assert ws.controls.readiness(scorer, "nist-ai-rmf")["systems"][0]["not_applicable"] is None


def test_gate_judges_the_newest_evaluation(ws: Workspace, names: tuple[str, str]) -> None:
    bot, scorer = names
    policy = (
        "schema: assay.policy/1\nname: genai\njudge: interval\nrules:\n"
        "  - {id: grounded, genai: {metric: groundedness, min: 0.9, every_slice: true}}\n"
        "  - {id: red-team, genai: {metric: attack_success, max: 0.05}}\n"
    )
    missing = ws.gates.evaluate(bot, "chat@1", policy_text=policy)
    results = {r["rule"]: r for r in missing["results"]}
    assert results["red-team"]["status"] == "failed"
    assert f"assay eval run --system {bot} --model-version chat@1" in results["red-team"]["message"]
    ws.assessments.record(bot, full_document(), model_version="chat@1")
    decision = ws.gates.evaluate(bot, "chat@1", policy_text=policy)
    results = {r["rule"]: r for r in decision["results"]}
    assert results["red-team"]["status"] == "passed"  # the high end 0.0473 ≤ 0.05
    grounded = results["grounded"]
    assert grounded["status"] == "failed"  # the billing slice's low end 0.85 < 0.9
    assert [f["where"] for f in grounded["findings"] if not f["passed"]] == ["slice topic=billing"]
    # the default policy for high-risk systems gates a generative one on the red team, not a non-generative one
    default = {r["rule"]: r["status"] for r in ws.gates.evaluate(bot, "chat@1")["results"]}
    assert default["genai-red-team"] == "passed"
    other = {r["rule"]: r for r in ws.gates.evaluate(scorer, "lr@1")["results"]}
    assert other["genai-red-team"]["status"] == "passed"
    assert "not marked generative" in other["genai-red-team"]["message"]


def test_card_of_a_generative_system(ws: Workspace, names: tuple[str, str]) -> None:
    bot, scorer = names
    before = ws.cards.build(bot, "chat@1")
    assert before["generative"]["evaluation"] is None and before["generative"]["guardrails"] == []
    assert any("No generative evaluation" in c for c in before["caveats"])
    assert any("foundation model" in c for c in before["caveats"])
    set_provenance(ws, bot)
    guard = bind_guard_policy(ws, bot)
    bind_guard_policy(ws, bot, version=2, description="Support bot v2")
    assessment = ws.assessments.record(bot, full_document(), model_version="chat@1")
    card = ws.cards.build(bot, "chat@1")
    generative = card["generative"]
    assert generative["foundation_model"]["foundation_model"] == "Mistral-7B-Instruct-v0.3"
    assert card["model"]["provider"] == "Mistral AI" and card["model"]["licence"] == "Apache-2.0"
    evaluation = generative["evaluation"]
    assert evaluation["assessment_id"] == assessment.id
    assert [s["metric"] for s in evaluation["scores"]] == ["groundedness", "attack_success", "pii_leakage"]
    assert evaluation["scores"][0]["overall"] == {"value": 0.93, "low": 0.91, "high": 0.95, "n": 120}
    assert [r["category"] for r in evaluation["red_team"]] == ["harmful", "injection"]
    (policy,) = generative["guardrails"]
    assert (policy["name"], policy["version"], policy["versions"], policy["description"]) == (
        guard,
        2,
        2,
        "Support bot v2",
    )
    assert policy["sections"] == ["sensitive_information", "prompt_attacks"] and policy["disclosure_required"]
    markdown = render_card_markdown(card)
    html = render_card_html(card)
    for _, title in (*CARD_SECTIONS, *GENERATIVE_SECTIONS):
        assert f"## {title}" in markdown and f"<h2>{title}</h2>" in html
    assert "| slice | groundedness | attack_success | pii_leakage |" in markdown
    assert "| topic=billing | 0.89 [0.85, 0.92] n=60 |  |  |" in markdown  # blank where a metric has no such slice
    assert "| harmful | 30 | 2 | 0.06667 | [0.018, 0.213] |" in markdown
    assert f"| {guard} | 2 | sensitive_information, prompt_attacks | yes |" in markdown
    assert "| Foundation model | Mistral-7B-Instruct-v0.3 |" in markdown and "| Provider | Mistral AI |" in markdown
    assert "Out-of-scope uses:" in markdown and "legal or medical advice" in markdown
    assert "> You are chatting with an AI assistant." in markdown
    assert "0.89" in html and "Mistral AI" in html and guard in html and "<script" not in html
    # a non-generative system's card has none of these sections
    plain = render_card_markdown(ws.cards.build(scorer, "lr@1"))
    assert all(f"## {title}" not in plain for _, title in GENERATIVE_SECTIONS)


def test_exports_of_a_generative_card_carry_its_generative_parts(ws: Workspace, names: tuple[str, str]) -> None:
    from huggingface_hub import ModelCard

    bot, _ = names
    set_provenance(ws, bot)
    guard = bind_guard_policy(ws, bot)
    assessment = ws.assessments.record(bot, full_document(), model_version="chat@1")
    card = ws.cards.build(bot, "chat@1")
    content = to_sagemaker_model_card(card)  # validated against the schema on the way out
    validate_sagemaker_model_card(content)
    overview, details = content["model_overview"], content["additional_information"]["custom_details"]
    assert overview["problem_type"] == "Text Generation"
    assert overview["algorithm_type"] == "foundation model Mistral-7B-Instruct-v0.3"
    assert {k: details[k] for k in ("foundation_model", "foundation_model_provider", "licence", "terms_of_use")} == {
        "foundation_model": "Mistral-7B-Instruct-v0.3", "foundation_model_provider": "Mistral AI",
        "licence": "Apache-2.0", "terms_of_use": "no use for automated legal advice",
    }  # fmt: skip
    assert details["genai_disclosure"] == "You are chatting with an AI assistant."
    assert details["guardrail_policies"].startswith(
        f"{guard} version 1 (sensitive_information, prompt_attacks; disclosure required; sha256 "
    )
    assert content["intended_uses"]["intended_uses"] == (
        "answer questions on orders and returns; out of scope: legal or medical advice"
    )
    (detail,) = content["evaluation_details"]  # no bias assessment: the generative evaluation only
    assert detail["name"] == f"assay genai evaluation {assessment.id}" and detail["datasets"] == ["support.jsonl"]
    assert detail["evaluation_observation"].startswith(
        f"generative evaluation {assessment.id} (complete) of support-bot-7b on support.jsonl (40 items)"
    )
    groups = {g["name"]: {m["name"]: m for m in g["metric_data"]} for g in detail["metric_groups"]}
    assert list(groups) == ["generative: overall", "generative: category=injection", "generative: topic=billing",
                            "generative: topic=returns", "red team"]  # fmt: skip
    assert groups["generative: overall"]["groundedness"] == {
        "name": "groundedness", "type": "number", "value": 0.93, "notes": "interval [0.91, 0.95] n=120"
    }  # fmt: skip
    assert groups["generative: topic=billing"]["groundedness"]["value"] == 0.89
    assert set(groups["generative: topic=returns"]) == {"groundedness", "pii_leakage"}
    harmful = groups["red team"]["attack success: harmful"]
    assert harmful["value"] == pytest.approx(2 / 30) and harmful["notes"].startswith("2 of 30 attacks succeeded")

    hub = ModelCard(to_huggingface_card(card))
    assert hub.data.pipeline_tag == "text-generation" and hub.data.license == "apache-2.0"
    assert hub.data.base_model is None  # the foundation model is not written as a Hub id
    results = {r.metric_name: r for r in hub.data.eval_results}
    assert results["groundedness"].metric_value == 0.93 and results["groundedness"].task_type == "text-generation"
    assert results["groundedness topic=billing"].metric_value == 0.89
    assert results["attack success harmful"].metric_value == pytest.approx(2 / 30)
    assert results["groundedness"].dataset_name == "support.jsonl"
    model = {**card["model"], "foundation_model": "mistralai/Mistral-7B-Instruct-v0.3", "licence": "Acme Model Terms 2"}
    other = ModelCard(to_huggingface_card({**card, "model": model}))
    assert other.data.base_model == "mistralai/Mistral-7B-Instruct-v0.3"
    assert (other.data.license, other.data.license_name) == ("other", "acme-model-terms-2")


def test_technical_documentation_of_a_generative_system(ws: Workspace, names: tuple[str, str], tmp_path: Path) -> None:
    bot, _ = names
    empty = ws.techdocs.build(bot)
    gaps = [g for s in empty["sections"] for g in s["gaps"]]
    assert "Foundation model of chat@1 is not recorded" in gaps
    assert any(g.startswith("no generative evaluation is recorded") for g in gaps)
    assert any("no guardrail policy is bound" in g for g in gaps)
    set_provenance(ws, bot)
    guard = bind_guard_policy(ws, bot)
    ws.assessments.record(bot, full_document(), model_version="chat@1")
    document = ws.techdocs.build(bot)
    by_id = {s["id"]: s for s in document["sections"]}
    general = {i["label"]: i["value"] for i in by_id["Annex IV.1"]["items"]}
    assert general["Foundation model of chat@1"].startswith(
        "foundation model Mistral-7B-Instruct-v0.3; provider Mistral"
    )
    monitoring = {i["label"]: i["value"] for i in by_id["Annex IV.3"]["items"]}
    (scores,) = [v for k, v in monitoring.items() if k.startswith("Generative evaluation of chat@1")]
    assert scores[0] == "groundedness 0.93 [0.91, 0.95] (n=120)"
    assert "harmful: 2 of 30 (0.0667, [0.018, 0.213])" in monitoring["Red-team attack success of chat@1 by category"]
    assert monitoring["Guardrail policies controlling inputs and outputs"] == [
        f"{guard} version 1: sensitive_information, prompt_attacks; disclosure required"
    ]
    after = [g for s in document["sections"] for g in s["gaps"]]
    assert not any("generative" in g or "guardrail" in g or "Foundation" in g for g in after)
    # the evaluation is evidence under Annex IV point 2, listed with its heading
    assert any(e["description"].startswith("validation and testing") for e in by_id["Annex IV.2"]["evidence"])
    assert "Red-team attack success of chat@1" in render_techdocs_markdown(document)
    # the CLI writes the same card
    out = tmp_path / "card"
    assert main(["--workspace", str(ws.root), "card", bot, "chat@1", "--out", str(out), "--format", "md"]) == 0
    assert "## Generative evaluation" in (out / "model-card.md").read_text()
