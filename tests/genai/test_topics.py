"""Denied topics and use-case scope: keywords and phrases without the embedding extra, embeddings with it (tests
marked ``embeddings``), the method named in every finding."""

from __future__ import annotations

from typing import Any

import pytest

from assay.errors import InvalidInput
from assay.genai.guard import Context, Guardrail
from assay.genai.policy import parse_guard_policy
from assay.genai.topics import units

POLICY = """
schema: assay.guardrail/1
name: bank-bot
denied_topics:
  method: {method}
  topics:
    - name: investment advice
      definition: Recommendations on which stocks, funds or crypto-assets to buy or sell.
      examples: ["Which shares should I buy this year?", "Is bitcoin a good investment right now?"]
      keywords: [stock tip, which shares]
    - name: medical
      definition: Diagnosis or treatment of illnesses and symptoms.
      keywords: [diagnosis]
      input: detect
      output: "off"
use_cases:
  allowed: [Answering questions about the bank's accounts, cards and fees]
  denied: [Credit scoring or deciding whether a person gets a loan]
"""


def guardrail(method: str = "auto", embedder: Any = None, context: Context | None = None) -> Guardrail:
    policy = parse_guard_policy(POLICY.format(method=method))
    return Guardrail(policy, context or Context(embedder=embedder))


def test_keywords_judge_without_the_extra_and_say_so() -> None:
    guard = guardrail()
    assert guard.methods == {"denied_topics": "keywords", "use_cases": "keywords"}
    result = guard.apply("INPUT", "Hi. Any Stock  Tips for me today?")
    assert result.blocked and result.outputs == ("Sorry, I cannot help with that request.",)
    (finding,) = result.findings
    assert (finding.type, finding.method, finding.match, finding.span) == (
        "investment advice", "keywords", "Stock  Tips", (8, 19),
    )  # fmt: skip
    assert result.to_dict()["assessments"][0]["topicPolicy"]["topics"][0]["method"] == "keywords"
    # without embeddings the examples are phrases too
    assert guard.apply("INPUT", "which shares should i buy this year?").blocked
    assert not guard.apply("INPUT", "What are the fees of the gold card?").findings


def test_per_topic_actions_by_source() -> None:
    guard = guardrail()
    detected = guard.apply("INPUT", "I need a diagnosis for this rash")
    assert not detected.blocked and [(f.type, f.action) for f in detected.findings] == [("medical", "NONE")]
    assert not guard.apply("OUTPUT", "I cannot give a diagnosis").findings  # output: off


def test_a_topic_without_keywords_cannot_be_judged_without_the_extra() -> None:
    text = POLICY.format(method="keywords").replace("      keywords: [diagnosis]\n", "")
    with pytest.raises(InvalidInput, match=r"denied_topics\.topics\[1\] \(medical\) has no keywords"):
        Guardrail(parse_guard_policy(text), Context())
    with pytest.raises(InvalidInput, match="method is embeddings but the embedding extra is not installed"):
        guardrail("embeddings")


def test_use_cases_by_content_words_judge_prompts_only() -> None:
    context = Context(intended_uses=("Resetting online banking passwords",), out_of_scope_uses=("Legal advice",))
    guard = guardrail(context=context)
    result = guard.apply("INPUT", "Can you do credit scoring of my friend before he gets a loan?")
    (finding,) = result.findings
    assert (finding.section, finding.type, finding.action, finding.method) == (
        "use_cases", "OUT_OF_SCOPE", "BLOCKED", "keywords",
    )  # fmt: skip
    assert finding.match == "Credit scoring or deciding whether a person gets a loan"
    assert guard.apply("INPUT", "I need legal advice about my lease").blocked  # the system's out-of-scope use
    assert not guard.apply("INPUT", "What is a credit card?").findings  # one word of four
    assert not guard.apply("OUTPUT", "I cannot do credit scoring or decide whether a person gets a loan").findings
    assert result.to_dict()["assessments"][0]["useCasePolicy"]["useCases"][0]["type"] == "OUT_OF_SCOPE"


def test_units_are_sentences_and_the_whole() -> None:
    assert units("One. Two?") == ["One.", "Two?", "One. Two?"]
    assert units("Only one") == ["Only one"]
    assert units("  ") == []


@pytest.mark.embeddings
def test_embeddings_find_a_paraphrase_no_keyword_names(embedder: Any) -> None:
    guard = guardrail(embedder=embedder)
    assert guard.methods == {"denied_topics": "embeddings", "use_cases": "embeddings"}
    result = guard.apply("INPUT", "Hello. What is the best crypto coin to buy for 2025?")
    (finding,) = result.findings
    assert (finding.type, finding.method, finding.action) == ("investment advice", "embeddings", "BLOCKED")
    assert finding.score is not None and finding.score >= 0.4 and finding.threshold == 0.4
    assert finding.detail is not None and finding.detail["unit"] in {"sentence 2", "whole text"}  # not the greeting
    # the keywords still judge, and unrelated questions pass
    assert guard.apply("INPUT", "any stock tips?").findings[0].method == "keywords"
    for prompt in ("How do I reset my online banking password?", "What fees does the gold card have?"):
        assert not guard.apply("INPUT", prompt).findings, prompt


@pytest.mark.embeddings
def test_embeddings_judge_use_cases_and_flag_unrelated_prompts(embedder: Any) -> None:
    guard = guardrail(embedder=embedder)
    blocked = guard.apply("INPUT", "Will I be approved for a loan with my credit score of 580?")
    assert [(f.type, f.action, f.method) for f in blocked.findings] == [("OUT_OF_SCOPE", "BLOCKED", "embeddings")]
    poem = guard.apply("INPUT", "Can you write me a poem about cats?")
    assert not poem.blocked
    assert [(f.type, f.action) for f in poem.findings] == [("UNRELATED", "NONE")]
    assert not guard.apply("INPUT", "What fees does the gold card have?").findings
    with_keywords = guardrail("keywords", embedder=embedder)
    assert with_keywords.methods["denied_topics"] == "keywords"


@pytest.mark.embeddings
def test_a_prompt_within_the_systems_intended_use_is_not_a_denied_topic(embedder: Any) -> None:
    """The system's own domain words sit near its denied topics: "summarise this arrest report" is 0.50 from "whether
    an arrested person should be released" (above the 0.4 threshold), but nearer to the intended use "summarise an
    arrest report"; with the intended use known it passes, and a real release question is still blocked."""
    text = (
        "schema: assay.guardrail/1\nname: drafting\ndenied_topics:\n  topics:\n    - name: release\n"
        "      definition: Advice on whether an arrested person should be released or detained.\n"
        "      keywords: [keep him in custody]\n"
    )
    summary, question = (
        "Summarise this arrest report in three sentences.",
        "Is he likely to show up in court if we let him out?",
    )
    alone = Guardrail(parse_guard_policy(text), Context(embedder=embedder))
    assert alone.apply("INPUT", summary).blocked  # the false alarm the contrast removes
    uses = Guardrail(
        parse_guard_policy(text), Context(intended_uses=("summarise an arrest report",), embedder=embedder)
    )
    assert not uses.apply("INPUT", summary).findings
    found = uses.apply("INPUT", question).findings
    assert [f.type for f in found] == ["release"] and found[0].detail is not None
    assert found[0].detail["intended_use_similarity"] < (found[0].score or 0)
    off = parse_guard_policy(text.replace("denied_topics:\n", "denied_topics:\n  contrast: false\n"))
    assert (
        Guardrail(off, Context(intended_uses=("summarise an arrest report",), embedder=embedder))
        .apply("INPUT", summary)
        .blocked
    )
