"""Policy gates: validation errors that name the key, every outcome (pass, fail, waived, stale approval, missing
and expired evidence), JUnit and Markdown outputs, the audit event; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from assay.cli import main
from assay.errors import InvalidInput, NotFound
from assay.governance.policy import DEFAULT_POLICIES, default_policy, parse_policy
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.assessments import record
from tests.support.people import People
from tests.support.policies import LENIENT


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.systems.create({"name": "release", "eu_ai_act_category": "limited"})
    workspace.models.register_version("release", {"model": "lr", "version": "1"})
    return workspace


def policy_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


BASE = "schema: assay.policy/1\nname: test\n"


def by_rule(decision: dict[str, Any]) -> dict[str, str]:
    return {r["rule"]: r["status"] for r in decision["results"]}


def test_default_policies_load_and_differ_by_category() -> None:
    policies = {c: default_policy(c) for c in DEFAULT_POLICIES}
    assert policies["high"].approvals == {"high": 2} and policies["high"].judge == "interval"
    assert len(policies["high"].rules) > len(policies["limited"].rules) > len(policies["minimal"].rules)
    assert policies["prohibited"].rules == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  - {id: a, metric: DI}\n", r"rules\[0\]: a metric rule needs a limit"),
        ("rules:\n  - {id: a, metric: DI, abs_max: -1}\n", r"rules\[0\]\.abs_max: Input should be greater"),
        ("rules:\n  - {id: a, metric: XYZ, max: 1}\n", r"rules\[0\]\.metric: Input should be 'CI'"),
        ("rules:\n  - {id: a, evidence: 'iso42001:A.99'}\n", r"rules\[0\]: iso42001 has no control 'A.99'"),
        ("rules:\n  - {id: a, metric: DI, max: 1, colour: red}\n", r"rules\[0\]\.colour: is not a known key"),
        ("rules:\n  - {id: a, metric: DI, max: 1}\n  - {id: a, metric: DPPL, max: 1}\n", "used twice"),
        ("judge: median\n", r"judge: Input should be 'point' or 'interval'"),
        ("approvals: {huge: 2}\n", r"approvals\.huge"),
        ("rules: [\n", "not valid YAML"),
    ],
)
def test_policy_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_policy(BASE + text)


def test_a_biased_model_fails_and_the_decision_is_recorded(ws: Workspace, tmp_path: Path) -> None:
    document = record(ws, tmp_path, disparity=0.3)
    di = next(m for m in document["facets"][0]["metrics"] if m["name"] == "DI")["value"]
    assert di < 0.8
    policy = policy_file(tmp_path, BASE + "rules:\n  - {id: four-fifths, metric: DI, min: 0.8, max: 1.25}\n")
    decision = ws.gates.evaluate("release", "lr@1", policy_file=policy)
    assert not decision["passed"] and by_rule(decision) == {"four-fifths": "failed"}
    finding = decision["results"][0]["findings"][0]
    assert finding["where"] == "g = b" and finding["observed"] == pytest.approx(di)
    event = ws.audit.log(EventFilter(action="gate.evaluate"))[0]
    assert event.payload["outcome"] == "failed" and event.payload["failed"] == 1
    assert ws.gates.runs("release", "lr@1")[0]["outcome"] == "failed"


def test_a_fair_model_passes_and_interval_judging_is_stricter(ws: Workspace, tmp_path: Path) -> None:
    document = record(ws, tmp_path, disparity=0.0)
    metric = next(m for m in document["facets"][0]["metrics"] if m["name"] == "DPPL")
    low, high = metric["ci"]
    limit = (abs(metric["value"]) + max(abs(low), abs(high))) / 2  # between the value and the interval's edge
    text = BASE + f"rules:\n  - {{id: parity, metric: DPPL, abs_max: {limit}}}\n"
    assert ws.gates.evaluate("release", "lr@1", policy_file=policy_file(tmp_path, text))["passed"]
    strict = policy_file(tmp_path, text + "judge: interval\n")
    assert by_rule(ws.gates.evaluate("release", "lr@1", policy_file=strict)) == {"parity": "failed"}


def test_waiver_turns_a_failure_into_waived_until_it_expires(ws: Workspace, tmp_path: Path, people: People) -> None:
    record(ws, tmp_path, disparity=0.3)
    policy = policy_file(tmp_path, BASE + "rules:\n  - {id: four-fifths, metric: DI, min: 0.8}\n")
    carol = people("carol", release="owner")  # waiving needs an authenticated owner
    with pytest.raises(InvalidInput, match="needs a reason"):
        carol.gates.waive("release", "four-fifths", reason=" ", expires=dt.date.today() + dt.timedelta(days=30))
    with pytest.raises(InvalidInput, match="after today"):
        carol.gates.waive("release", "four-fifths", reason="x", expires=dt.date.today())
    waiver = carol.gates.waive(
        "release", "four-fifths", reason="retraining scheduled", expires=dt.date.today() + dt.timedelta(days=30)
    )
    decision = ws.gates.evaluate("release", "lr@1", policy_file=policy)
    assert decision["passed"] and by_rule(decision) == {"four-fifths": "waived"}
    assert decision["results"][0]["waiver"]["waived_by"] == "carol"
    assert ws.audit.log(EventFilter(action="waiver.create"))[0].actor == "carol"
    assert ws.gates.waivers("release")[0]["id"] == waiver.id


def test_missing_expired_evidence_and_approvals(ws: Workspace, tmp_path: Path, people: People) -> None:
    text = BASE + (
        "approvals: {limited: 1}\n"
        "rules:\n  - {id: oversight, evidence: 'eu-ai-act:Art. 14'}\n  - {id: assessed, assessment: assay.assessment}\n"
    )
    policy = policy_file(tmp_path, text)
    decision = ws.gates.evaluate("release", "lr@1", policy_file=policy)
    assert by_rule(decision) == {"oversight": "failed", "assessed": "failed", "approvals": "failed"}
    old = dt.date.today() - dt.timedelta(days=400)
    ws.controls.add_evidence(
        "release", "eu-ai-act", "Art. 14", kind="url", url="https://example.org/oversight", valid_from=old,
        valid_until=old + dt.timedelta(days=30),
    )  # fmt: skip
    result = ws.gates.evaluate("release", "lr@1", policy_file=policy)["results"][0]
    assert result["status"] == "failed" and result["findings"][0]["note"] == "expired"
    ws.controls.add_evidence("release", "eu-ai-act", "Art. 14", kind="url", url="https://example.org/oversight-v2")
    record(ws, tmp_path, disparity=0.0)
    request = people("alice", release="owner").approvals.request("release", "lr@1", "production")
    assert by_rule(ws.gates.evaluate("release", "lr@1", policy_file=policy))["approvals"] == "failed"
    people("bob", release="approver").approvals.decide(request.id, "approve")
    assert ws.gates.evaluate("release", "lr@1", policy_file=policy)["passed"]
    # a stale approval no longer counts
    record(ws, tmp_path, disparity=0.0)
    assert by_rule(ws.gates.evaluate("release", "lr@1", policy_file=policy))["approvals"] == "failed"


def test_prohibited_systems_never_pass(workspace: Workspace) -> None:
    workspace.systems.create({"name": "scoring", "eu_ai_act_category": "prohibited"})
    workspace.models.register_version("scoring", {"model": "m", "version": "1"})
    decision = workspace.gates.evaluate("scoring", "m@1")
    assert not decision["passed"] and by_rule(decision) == {"not-prohibited": "failed"}


def test_cli_gate_exit_codes_junit_and_markdown(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record(ws, tmp_path, disparity=0.3)
    root = ["--workspace", str(ws.root)]
    junit, summary = tmp_path / "gate.xml", tmp_path / "gate.md"
    code = main([*root, "gate", "release", "lr@1", "--junit", str(junit), "--markdown", str(summary)])
    assert code == 1 and "FAILED" in capsys.readouterr().out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and int(suite.get("failures", "0")) >= 1
    assert {c.get("name") for c in suite.iter("testcase")} >= {"four-fifths", "group-size", "assessed"}
    assert "### Assay gate FAILED: release / lr@1 → production" in summary.read_text()
    fair = policy_file(tmp_path, BASE + "rules:\n  - {id: assessed, assessment: assay.assessment}\n")
    assert main([*root, "gate", "release", "lr@1", "--policy", str(fair), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["passed"] is True
    bad = policy_file(tmp_path, BASE + "rules:\n  - {id: x, metric: DI}\n")
    assert main([*root, "gate", "release", "lr@1", "--policy", str(bad)]) == 2
    assert "rules[0]: a metric rule needs a limit" in capsys.readouterr().err
    assert main([*root, "gate", "release", "lr@9"]) == 2


def test_facets_filter_includes_intersections(tmp_path: Path) -> None:
    from assay.governance.policy import GateFacts, evaluate

    def entry(facet: str, value: float) -> dict[str, Any]:
        metric = {"name": "DI", "value": value, "ci": None, "error": None}
        return {"facet": facet, "value_or_threshold": "x", "n_d": 50, "n_a": 50, "metrics": [metric]}

    document = {"facets": [entry("race", 0.9), entry("sex", 0.5), entry("race×sex", 0.6)], "performance": []}
    facts = GateFacts(
        system="s", category="minimal", ref="m@1", today=dt.date.today(),
        assessments=[{"id": 1, "kind": "assay.assessment", "created_at": dt.date.today(), "document": document}],
    )  # fmt: skip
    policy = parse_policy(BASE + "rules:\n  - {id: di, metric: DI, min: 0.8, facets: [race]}\n")
    [result] = evaluate(policy, facts)
    assert [f.where.split(" = ")[0] for f in result.findings] == ["race", "race×sex"]
    assert result.status == "failed"


def test_judging_many_gates_at_once_is_judging_each_alone(ws: Workspace, tmp_path: Path, people: People) -> None:
    """``check_many`` (the approvals inbox: every pending request's gate, its lookups read together) gives what
    ``check`` gives for each, stored policies (the newest) and defaults alike; what cannot be found raises the same
    error, visibility included."""
    ws.systems.create({"name": "other", "eu_ai_act_category": "minimal"})
    ws.systems.create({"name": "hidden", "eu_ai_act_category": "limited"})
    for system, ref in [("release", "lr@2"), ("release", "gb@1"), ("other", "lr@1"), ("hidden", "lr@1")]:
        model, version = ref.split("@")
        ws.models.register_version(system, {"model": model, "version": version})
    record(ws, tmp_path, disparity=0.3)  # release's lr@1 assessed: its rules have something to judge
    owner = people("owner", release="owner", other="owner")
    for on_change in ("hold", "demote"):  # two versions stored: the newer guards
        people.admin.gates.set_policy(
            "release", text=LENIENT.format(on_change=on_change).replace("production", "staging")
        )
    asked = [
        (system, ref, stage, by)
        for system, ref in [("release", "lr@1"), ("release", "lr@2"), ("release", "gb@1"), ("other", "lr@1")]
        for stage in ("staging", "production")
        for by in (None, "owner")
    ]
    many = owner.gates.check_many(asked)
    assert many == [owner.gates.check(*item[:3], ignore_waivers_by=item[3]) for item in asked]
    guarded = [m for m in many if m is not None]
    assert {m["policy"]["name"] for m in guarded} >= {"lenient-demote"} and "lenient-hold" not in str(guarded)
    for wrong, error in [
        (("hidden", "lr@1", "staging", None), "no AI system named 'hidden'"),  # owner cannot see it
        (("release", "lr@9", "staging", None), "has no version 'lr@9'|no version '9'"),
        (("release", "xx@1", "staging", None), "has no model 'xx'"),
        (("release", "1", "staging", None), "write MODEL@VERSION"),
    ]:
        with pytest.raises((NotFound, InvalidInput), match=error):
            owner.gates.check_many([asked[0], wrong])
    assert people.admin.gates.check_many([("hidden", "lr@1", "staging", None)]) == [
        people.admin.gates.check("hidden", "lr@1", "staging")
    ]
