"""Evidence rules (result documents -> controls) and risk scoring."""

from __future__ import annotations

import pandas as pd
import pytest

import assay
from assay.errors import IntegrityViolation, InvalidInput
from assay.governance import RiskMatrix, controls_for, evidence_rules, load_catalogue, score_risk
from assay.governance.evidence import _parse_rules


def document(predicted: bool) -> dict[str, object]:
    df = pd.DataFrame({"y": [1, 0, 1, 0, 1, 0], "p": [1, 0, 0, 0, 1, 1], "f": ["a", "a", "b", "b", "a", "b"]})
    kwargs = {"predicted": "p"} if predicted else {}
    return assay.assess(df, label="y", facets=["f"], bootstrap=0, **kwargs).to_dict()  # type: ignore[arg-type]


def test_a_bias_assessment_is_evidence_for_the_documented_controls() -> None:
    pre = {(link.framework, link.control) for link in controls_for(document(predicted=False))}
    assert {("iso42001", "A.6.2.4"), ("iso42001", "A.7.4"), ("nist-ai-rmf", "MEASURE 2.11")} <= pre
    assert ("nist-ai-rmf", "MEASURE 2.3") not in pre  # needs predictions
    post = {(link.framework, link.control) for link in controls_for(document(predicted=True))}
    assert pre < post
    assert ("eu-ai-act", "Annex IV.2") in post
    assert controls_for({"schema": "something.else"}) == []


def test_every_rule_names_existing_controls_with_a_reason() -> None:
    for rule in evidence_rules():
        for link in rule.serves:
            assert load_catalogue(link.framework).control(link.control).id == link.control
            assert link.reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schema: nope\n", "schema must be"),
        ("schema: assay.evidence-rules/1\nrules:\n  - id: r\n    serves: [{control: 'iso42001:A.99'}]\n", "A.99"),
        ("schema: assay.evidence-rules/1\nrules:\n  - id: r\n    when: {colour: red}\n    serves: []\n", "colour"),
        ("schema: assay.evidence-rules/1\nrules:\n  - id: r\n    serves: []\n", "serves no control"),
        ("schema: assay.evidence-rules/1\nrules:\n  - id: r\n    serves: [{control: 'A.6.2.4'}]\n", "framework:"),
    ],
)
def test_bad_rules_are_refused_with_the_rule_named(text: str, message: str) -> None:
    with pytest.raises(IntegrityViolation, match=message):
        _parse_rules(text, "rules.yaml")


@pytest.mark.parametrize(
    ("likelihood", "impact", "score", "level"),
    [(1, 1, 1, "low"), (2, 2, 4, "low"), (1, 5, 5, "medium"), (3, 3, 9, "medium"), (2, 5, 10, "high"),
     (4, 4, 16, "high"), (4, 5, 20, "critical"), (5, 5, 25, "critical")],
)  # fmt: skip
def test_risk_levels(likelihood: int, impact: int, score: int, level: str) -> None:
    result = score_risk(likelihood, impact)
    assert (result.score, result.level) == (score, level)


@pytest.mark.parametrize(("likelihood", "impact"), [(0, 3), (6, 1), (2.5, 3), ("3", 3), (True, 2)])
def test_risk_ratings_must_be_whole_numbers_on_the_scale(likelihood: object, impact: object) -> None:
    with pytest.raises(InvalidInput, match="likelihood must be a whole number from 1 to 5"):
        score_risk(likelihood, impact)


def test_custom_matrix() -> None:
    strict = RiskMatrix(bounds=(2, 4, 8))
    assert score_risk(3, 3, strict).level == "critical"
    with pytest.raises(InvalidInput, match="must increase"):
        RiskMatrix(bounds=(9, 4, 16))
