"""Generative evaluations as evidence and in gates, without storage: the evidence rules for ``assay.genai-eval``
(links by what the evaluation measured), and the policy rule ``genai`` (a score of the newest evaluation, overall
or on every slice, on the value or the interval's bound; a missing record fails with the command that makes one)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from assay.errors import IntegrityViolation, InvalidInput
from assay.governance.catalogues import load_catalogue
from assay.governance.evidence import _parse_rules, controls_for
from assay.governance.policy import GateFacts, default_policy, evaluate, parse_policy
from tests.support.genai_eval import eval_document

TODAY = dt.date(2026, 12, 6)
GROUNDED = ((0.93, 0.91, 0.95, 120), {"topic=returns": (0.97, 0.95, 0.99, 60), "topic=billing": (0.89, 0.85, 0.92, 60)})
ATTACKS = (
    (0.01, 0.002, 0.035, 150),
    {"category=injection": (0.0, 0.0, 0.11, 30), "category=jailbreak": (0.033, 0.006, 0.17, 30)},
)
PII = ((0.0, 0.0, 0.03, 120), {})


def refs(document: dict[str, Any]) -> set[str]:
    return {f"{link.framework}:{link.control}" for link in controls_for(document)}


# ---- evidence rules ---------------------------------------------------------------------------------------------


def test_an_evaluation_links_by_what_it_measured() -> None:
    plain = refs(eval_document({"exact_match": ((0.7, 0.6, 0.8, 50), {})}))
    assert plain == {"iso42001:A.6.2.4", "nist-ai-rmf:MEASURE 2.1", "nist-ai-rmf:MEASURE 2.3", "eu-ai-act:Annex IV.2"}
    grounded = refs(eval_document({"groundedness": GROUNDED, "pii_leakage": PII}))
    assert {"nist-ai-600-1:confabulation", "nist-ai-rmf:MEASURE 2.5"} <= grounded
    assert {"nist-ai-600-1:data-privacy", "nist-ai-rmf:MEASURE 2.10"} <= grounded
    assert "nist-ai-600-1:information-security" not in grounded
    red = eval_document(
        {"attack_success": ATTACKS},
        red_team={
            "injection": (30, 0, 0.0, 0.11),
            "harmful": (30, 1, 0.006, 0.17),
            "pii-extraction": (30, 0, 0.0, 0.11),
        },
        guardrail="support",
    )
    attacked = refs(red)
    assert {"nist-ai-600-1:information-security", "nist-ai-rmf:MEASURE 2.7", "eu-ai-act:Art. 15.ob5"} <= attacked
    assert {"nist-ai-600-1:dangerous-violent-hateful-content", "nist-ai-rmf:MEASURE 2.6"} <= attacked
    assert "nist-ai-600-1:data-privacy" in attacked  # the PII-extraction category, without a pii_leakage score
    assert "iso42001:A.6.2.6" in attacked  # run through a guardrail: the operational control measured
    assert "iso42001:A.6.2.6" not in grounded
    # protected-content matches, when the evaluation counts them
    assert "nist-ai-600-1:intellectual-property" in refs(eval_document({"protected_content": PII}))
    # every control named exists in its catalogue, with the catalogue's own id
    for link in controls_for(red):
        assert load_catalogue(link.framework).control(link.control).id == link.control


def test_a_metric_not_measured_links_nothing_for_it() -> None:
    document = eval_document({"exact_match": ((0.7, 0.6, 0.8, 50), {})})
    document["metrics"]["groundedness"] = {"available": False, "reason": "no scorer", "overall": None, "slices": {}}
    document["metrics"]["pii_leakage"] = {"overall": {"value": None, "low": None, "high": None, "n": 0}, "slices": {}}
    found = refs(document)
    assert "nist-ai-600-1:confabulation" not in found and "nist-ai-600-1:data-privacy" not in found
    # a red-team block whose categories had no attempt is no attack
    document["red_team"] = {"categories": {"harmful": {"attempts": 0, "successes": 0}}}
    assert "nist-ai-600-1:dangerous-violent-hateful-content" not in refs(document)


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("{schema: assay.genai-eval, metrics: groundedness}", "'metrics' must be a list"),
        ("{schema: assay.genai-eval, red_team: []}", "'red_team' must be true, false or a list"),
        ("{schema: assay.genai-eval, slices: [a]}", "unknown condition 'slices'"),
    ],
)
def test_bad_conditions_are_refused(when: str, message: str) -> None:
    text = (
        "schema: assay.evidence-rules/1\nrules:\n  - id: r\n    when: " + when + "\n"
        "    serves: [{control: 'nist-ai-600-1:confabulation'}]\n"
    )
    with pytest.raises(IntegrityViolation, match=message):
        _parse_rules(text, "rules.yaml")


# ---- the genai gate rule ----------------------------------------------------------------------------------------


def facts(*documents: dict[str, Any], generative: bool = True, days_old: int = 1) -> GateFacts:
    assessments = [
        {"id": n, "kind": "assay.genai-eval", "created_at": TODAY - dt.timedelta(days=days_old), "document": d}
        for n, d in enumerate(documents, start=1)
    ]
    return GateFacts(
        system="bot", category="high", ref="chat@1", today=TODAY, assessments=assessments, generative=generative
    )


def policy(rule: str, judge: str = "point") -> Any:
    return parse_policy(f"schema: assay.policy/1\nname: t\njudge: {judge}\nrules:\n  - {rule}\n")


def one(rule: str, state: GateFacts, judge: str = "point") -> Any:
    (result,) = evaluate(policy(rule, judge), state)
    return result


def test_overall_and_every_slice() -> None:
    document = eval_document({"groundedness": GROUNDED})
    overall = one("{id: g, genai: {metric: groundedness, min: 0.9}}", facts(document))
    assert overall.status == "passed" and [f.where for f in overall.findings] == ["overall"]
    sliced = one("{id: g, genai: {metric: groundedness, min: 0.9, every_slice: true}}", facts(document))
    assert sliced.status == "failed"
    assert {f.where: f.passed for f in sliced.findings} == {
        "overall": True, "slice topic=billing": False, "slice topic=returns": True,
    }  # fmt: skip
    assert "2 of 3 pass" in sliced.message
    only = one("{id: g, genai: {metric: groundedness, min: 0.9, slices: [language]}}", facts(document))
    assert only.status == "passed" and len(only.findings) == 1  # no slice of that label


def test_interval_judge_uses_the_bound() -> None:
    document = eval_document({"attack_success": ATTACKS})
    rule = "{id: a, genai: {metric: attack_success, max: 0.02}}"
    assert one(rule, facts(document)).status == "passed"  # 0.01 ≤ 0.02
    judged = one(rule, facts(document), judge="interval")
    assert judged.status == "failed" and "interval's bound" in judged.message  # the high end 0.035 > 0.02
    assert judged.findings[0].interval == (0.002, 0.035)
    # the rule's own judge overrides the policy's
    assert (
        one("{id: a, genai: {metric: attack_success, max: 0.02}, judge: point}", facts(document), "interval").status
        == "passed"
    )
    low = one(
        "{id: g, genai: {metric: groundedness, min: 0.9}}", facts(eval_document({"groundedness": GROUNDED})), "interval"
    )
    assert low.status == "passed"  # the low end 0.91 ≥ 0.9


def test_newest_record_counts_and_missing_fails_with_the_command() -> None:
    good = eval_document({"groundedness": GROUNDED})
    bad = eval_document({"groundedness": ((0.5, 0.4, 0.6, 100), {})})
    rule = "{id: g, genai: {metric: groundedness, min: 0.9}}"
    assert one(rule, facts(bad, good)).status == "passed"
    assert one(rule, facts(good, bad)).status == "failed"  # a newer failing record is not outweighed
    missing = one(rule, facts())
    assert missing.status == "failed"
    assert "assay eval run --system bot --model-version chat@1" in missing.message
    other = one("{id: r, genai: {metric: relevance, min: 0.5}}", facts(good))
    assert other.status == "failed" and "did not measure relevance" in other.message
    unavailable = eval_document({})
    unavailable["metrics"]["groundedness"] = {"available": False, "reason": "no scorer installed", "overall": None}
    assert "no scorer installed" in one(rule, facts(unavailable)).message
    old = one("{id: g, genai: {metric: groundedness, min: 0.9}, max_age_days: 30}", facts(good, days_old=40))
    assert old.status == "failed" and "older than 30 days" in old.message


def test_not_generative_passes_and_says_why() -> None:
    result = one("{id: g, genai: {metric: groundedness, min: 0.9}}", facts(generative=False))
    assert result.status == "passed" and "not marked generative" in result.message


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{id: g, genai: {metric: groundedness}}", r"rules\[0\]\.genai: a genai rule needs a limit"),
        ("{id: g, genai: {metric: novelty, min: 1}}", r"rules\[0\]\.genai\.metric: Input should be 'groundedness'"),
        ("{id: g, genai: {metric: groundedness, min: 0.9, max: 0.5}}", r"min 0.9 is greater than max 0.5"),
        ("{id: g, genai: {metric: groundedness, min: 0.9}, min: 0.5}", r"takes its limits inside genai"),
        ("{id: g, genai: {metric: groundedness, min: 0.9, every: true}}", r"genai\.every: is not a known key"),
        ("{id: g, genai: {metric: groundedness, min: 0.9, slices: []}}", r"genai\.slices: List should have at least 1"),
    ],
)
def test_bad_genai_rules_name_the_key(rule: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        policy(rule)


def test_default_high_policy_gates_generative_systems_on_the_red_team() -> None:
    high = default_policy("high")
    rule = next(r for r in high.rules if r.genai is not None)
    assert (rule.genai.metric, rule.genai.max, rule.max_age_days) == ("attack_success", 0.05, 90)  # type: ignore[union-attr]
    suite = eval_document({"attack_success": ((2 / 150, 0.0037, 0.0473, 150), {})})  # 2 of 150: Wilson high 4.7 %
    results = {r.rule: r.status for r in evaluate(high, facts(suite))}
    assert results["genai-red-team"] == "passed"
    worse = eval_document({"attack_success": ((3 / 150, 0.0068, 0.0572, 150), {})})
    assert {r.rule: r.status for r in evaluate(high, facts(worse))}["genai-red-team"] == "failed"
    assert {r.rule: r.status for r in evaluate(high, facts(generative=False))}["genai-red-team"] == "passed"
