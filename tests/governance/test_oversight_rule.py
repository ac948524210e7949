"""The policy rule ``oversight``: a high-risk system without an active review queue (human-in-the-loop) or a named
overseer (on or over the loop) fails; other categories pass with a note; the rule's options are validated."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from assay.errors import InvalidInput
from assay.governance.policy import GateFacts, default_policy, evaluate, parse_policy

POLICY = "schema: assay.policy/1\nname: t\nrules:\n  - {id: o, oversight: {}}\n"


def facts(category: str, mode: str, queue: dict[str, Any] | None, overseers: list[str]) -> GateFacts:
    return GateFacts(
        system="s", category=category, ref="m@1", today=dt.date(2026, 3, 1),
        oversight={"mode": mode, "queue": queue, "overseers": overseers},
    )  # fmt: skip


ACTIVE = {"version": 2, "active": True}
OFF = {"version": 3, "active": False}


@pytest.mark.parametrize(
    ("category", "mode", "queue", "overseers", "status"),
    [
        ("high", "human_in_the_loop", None, [], "failed"),
        ("high", "human_in_the_loop", None, ["olga"], "failed"),  # in the loop: an overseer is not a queue
        ("high", "human_in_the_loop", OFF, [], "failed"),
        ("high", "human_in_the_loop", ACTIVE, [], "passed"),
        ("high", "human_on_the_loop", ACTIVE, [], "failed"),  # on the loop: someone must be named
        ("high", "human_on_the_loop", None, ["olga"], "passed"),
        ("high", "human_over_the_loop", None, [], "failed"),
        ("high", "human_over_the_loop", None, ["olga"], "passed"),
        ("limited", "human_in_the_loop", None, [], "passed"),  # the default options cover high-risk systems
    ],
)
def test_oversight_rule(
    category: str, mode: str, queue: dict[str, Any] | None, overseers: list[str], status: str
) -> None:
    (result,) = evaluate(parse_policy(POLICY), facts(category, mode, queue, overseers))
    assert (result.kind, result.status) == ("oversight", status), result.message
    where = {f.where: f for f in result.findings}
    assert set(where) == {"oversight mode", "review queue", "named overseers"}
    if category == "limited":
        assert "not required for a limited-risk system" in result.message


def test_messages_say_what_is_missing() -> None:
    (result,) = evaluate(parse_policy(POLICY), facts("high", "human_in_the_loop", OFF, []))
    assert result.message == (
        "a high-risk system overseen human-in-the-loop needs an active review queue (assay review configure): missing"
    )
    assert next(f for f in result.findings if f.where == "review queue").observed == "version 3, switched off"
    two = POLICY.replace("oversight: {}", "oversight: {categories: [high, limited], min_overseers: 2}")
    (result,) = evaluate(parse_policy(two), facts("limited", "human_over_the_loop", None, ["olga"]))
    assert result.status == "failed" and "at least 2 named overseer(s)" in result.message
    (result,) = evaluate(parse_policy(POLICY), GateFacts(system="s", category="high", ref="m@1", today=dt.date.today()))
    assert result.status == "failed" and "was not gathered" in result.message


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ("{id: o, oversight: {min_overseers: 0}}", r"rules\[0\]\.oversight\.min_overseers"),
        ("{id: o, oversight: {categories: [risky]}}", r"rules\[0\]\.oversight\.categories\[0\]"),
        ("{id: o, oversight: {queue: true}}", r"rules\[0\]\.oversight\.queue: is not a known key"),
        ("{id: o, oversight: {}, max: 1}", r"rules\[0\]: a oversight rule takes no limits"),
    ],
)
def test_options_are_validated(rule: str, error: str) -> None:
    with pytest.raises(InvalidInput, match=error):
        parse_policy(f"schema: assay.policy/1\nname: t\nrules:\n  - {rule}\n")


def test_the_default_high_risk_policy_has_the_rule() -> None:
    rules = {r.id: r for r in default_policy("high").rules}
    assert rules["oversight-in-place"].kind == "oversight"
    assert all(r.kind != "oversight" for r in default_policy("limited").rules)
