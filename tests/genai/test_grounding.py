"""Contextual grounding and relevance of responses: support per sentence (lexical; embeddings in the tier marked
``embeddings``), the hard checks on numbers, dates, names and negations, relevance to the query, the guardrail's
findings and the entailment plug-in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from assay.errors import InvalidInput
from assay.genai.grounding import grounding_scores, set_entailment
from assay.genai.guard import Context, Guardrail
from assay.genai.policy import parse_guard_policy

SOURCE = (
    "New employees receive 25 days of paid annual leave per calendar year, in addition to public holidays. "
    "Leave accrues monthly from the first day of employment. Up to 5 unused days may be carried over into the next "
    "year, and carried-over days must be taken by 31 March. Requests are approved in Workday by the line manager. "
    "Leave cannot be taken during the probation period."
)
QUERY = "How many days of annual leave do new employees get?"


@pytest.mark.parametrize(
    ("answer", "failed"),
    [
        ("New employees receive 26 days of paid annual leave per calendar year.", "number 26"),
        ("Carried-over days must be taken by 31 May.", "date may"),  # "may" is in the source, as a verb
        ("Carried-over days must be taken by 31 April.", "date april"),
        ("Requests are approved in SAP SuccessFactors by the line manager.", "entity SAP SuccessFactors"),
        ("Leave can be taken during the probation period.", "negation"),
        ("New employees do not receive paid annual leave per calendar year.", "negation"),
        ("All 25 and 25 days of leave are paid.", "number 25"),
    ],
)
def test_hard_checks_catch_a_changed_claim(answer: str, failed: str) -> None:
    scores = grounding_scores(answer, [SOURCE], QUERY)
    assert scores.unsupported == (answer,)
    assert scores.grounding == 0.0 and scores.method == "lexical"
    assert failed in scores.sentences[0].failed, scores.sentences[0].failed


def test_a_supported_answer_is_grounded_sentence_by_sentence() -> None:
    answer = (
        "Sure! New employees get 25 days of paid annual leave per calendar year. "
        "Up to 5 unused days can be carried over, and they must be taken by 31 March."
    )
    scores = grounding_scores(answer, [SOURCE], QUERY)
    assert scores.unsupported == ()
    assert len(scores.sentences) == 2  # "Sure!" states nothing
    assert scores.grounding >= 0.6
    assert scores.relevance is not None and scores.relevance >= 0.6


def test_a_fabricated_sentence_makes_the_answer_ungrounded() -> None:
    answer = "New employees receive 25 days of paid annual leave. A company car is offered after two years of service."
    scores = grounding_scores(answer, [SOURCE], QUERY)
    assert scores.unsupported == ("A company car is offered after two years of service.",)
    assert scores.grounding == min(s.support for s in scores.sentences) < 0.4


def test_no_claim_is_grounded_and_no_source_grounds_nothing() -> None:
    assert grounding_scores("Sorry, I cannot help.", [SOURCE]).grounding == 1.0
    empty = grounding_scores("New employees receive 25 days of leave.", [])
    assert (empty.grounding, empty.method, empty.relevance) == (0.0, "none", None)


def test_relevance_is_the_share_of_the_question_answered() -> None:
    on = grounding_scores("New employees get 25 days of annual leave.", [SOURCE], QUERY).relevance
    off = grounding_scores("The canteen opens at noon.", [SOURCE], QUERY).relevance
    assert on is not None and off is not None and on > 0.5 > off


POLICY = """
schema: assay.guardrail/1
name: hr-bot
grounding: {{method: {method}, action: block}}
"""


def test_the_guardrail_blocks_an_ungrounded_response_and_explains() -> None:
    guard = Guardrail(parse_guard_policy(POLICY.format(method="auto")), Context())
    assert guard.methods == {"grounding": "lexical"}
    bad = guard.apply("OUTPUT", "New employees receive 30 days of paid annual leave.", sources=[SOURCE], query=QUERY)
    assert bad.blocked and bad.outputs == ("Sorry, the answer was withheld by the guardrail policy.",)
    (finding,) = bad.findings
    assert (finding.type, finding.kind, finding.threshold, finding.method) == ("GROUNDING", "filters", 0.4, "lexical")
    assert finding.detail is not None and finding.detail["unsupported"][0]["failed"] == ["number 30"]
    assessment = bad.to_dict()["assessments"][0]["contextualGroundingPolicy"]["filters"][0]
    assert assessment["type"] == "GROUNDING" and assessment["score"] == 0.0
    good = guard.apply("OUTPUT", "New employees receive 25 days of paid annual leave.", sources=[SOURCE], query=QUERY)
    assert not good.findings
    off_topic = guard.apply("OUTPUT", "The canteen opens at noon.", query=QUERY)  # no sources: relevance only
    assert [f.type for f in off_topic.findings] == ["RELEVANCE"]
    assert not guard.apply("INPUT", "The canteen opens at noon.", sources=[SOURCE], query=QUERY).findings
    with pytest.raises(InvalidInput, match=r"grounding\.method is embeddings but the embedding extra"):
        Guardrail(parse_guard_policy(POLICY.format(method="embeddings")), Context())


@pytest.fixture
def entailment() -> Iterator[list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []

    def model(premise: str, hypothesis: str) -> float:
        calls.append((premise, hypothesis))
        return 0.9 if "paid" in hypothesis else 0.1

    set_entailment(model, "toy-nli")
    yield calls
    set_entailment(None)


def test_an_installed_entailment_model_judges_support(entailment: list[tuple[str, str]]) -> None:
    scores = grounding_scores("Employees receive paid leave days. Employees receive leave days.", [SOURCE])
    assert scores.method == "toy-nli"
    assert [round(s.support, 1) for s in scores.sentences] == [0.9, 0.1]
    assert scores.unsupported == ("Employees receive leave days.",)
    assert entailment[0][0] in SOURCE or entailment[0][0].split(". ")[0] in SOURCE


@pytest.mark.embeddings
def test_embeddings_support_paraphrases_and_still_apply_the_hard_checks(embedder: Any) -> None:
    paraphrase = "Staff who have just joined are given twenty-five paid holiday days every year."
    lexical = grounding_scores(paraphrase, [SOURCE], QUERY)
    semantic = grounding_scores(paraphrase, [SOURCE], QUERY, embedder=embedder)
    assert semantic.method == "embeddings"
    assert semantic.sentences[0].similarity is not None and semantic.sentences[0].similarity > 0.5
    assert semantic.sentences[0].support > lexical.sentences[0].support
    changed = grounding_scores("New employees receive 20 days of paid annual leave.", [SOURCE], embedder=embedder)
    assert changed.unsupported and changed.sentences[0].failed == ("number 20",)
    relevant = grounding_scores("You get 25 days a year.", [SOURCE], QUERY, embedder=embedder).relevance
    other = grounding_scores("The canteen opens at noon.", [SOURCE], QUERY, embedder=embedder).relevance
    assert relevant is not None and other is not None and relevant > 0.4 > 0.2 > other
    guard = Guardrail(parse_guard_policy(POLICY.format(method="auto")), Context(embedder=embedder))
    assert guard.methods == {"grounding": "embeddings"}
