"""Assessment rules that judge a recorded test's own verdict: ``passing`` (the newest record of the kind must have
passed: a membership-inference test under its max_auc, a PII scan) and ``check`` (one data check by name)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from assay.errors import InvalidInput
from assay.governance.policy import GateFacts, evaluate, parse_policy

TODAY = dt.date(2026, 12, 6)
POLICY = """
schema: assay.policy/1
name: privacy
rules:
  - {id: no-membership-leak, assessment: assay.membership-inference, passing: true, max_age_days: 90}
  - {id: pii-scanned, assessment: assay.data-check, check: pii, passing: true}
"""


def record(ident: int, kind: str, status: str, days_ago: int = 1, check: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"status": status} | ({"check": check} if check else {})
    return {"id": ident, "kind": kind, "created_at": TODAY - dt.timedelta(days=days_ago), "document": document}


def judge(*assessments: dict[str, Any]) -> dict[str, bool]:
    facts = GateFacts(system="s", category="high", ref="m@1", today=TODAY, assessments=assessments)
    return {r.rule: r.status == "passed" for r in evaluate(parse_policy(POLICY), facts)}


def test_the_newest_record_must_have_passed() -> None:
    mi = "assay.membership-inference"
    assert judge() == {"no-membership-leak": False, "pii-scanned": False}
    assert judge(record(1, mi, "pass"), record(2, "assay.data-check", "pass", check="pii")) == {
        "no-membership-leak": True, "pii-scanned": True}  # fmt: skip
    # a newer failing test is not outweighed by an older pass
    assert judge(record(1, mi, "pass", 5), record(2, mi, "fail", 1))["no-membership-leak"] is False
    assert judge(record(1, mi, "pass", 200))["no-membership-leak"] is False  # too old
    # another data check's pass does not count for pii
    assert judge(record(3, "assay.data-check", "pass", check="duplicates"))["pii-scanned"] is False


def test_check_and_passing_only_on_assessment_rules() -> None:
    with pytest.raises(InvalidInput, match="check and passing are for assessment rules"):
        parse_policy("schema: assay.policy/1\nname: x\nrules: [{id: a, min_group_size: 30, passing: true}]\n")
