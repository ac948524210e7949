"""Control status, evidence, the crosswalk's counting and readiness, on SQLite and PostgreSQL, through the services
and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from assay.cli import app, main
from assay.errors import Conflict, InvalidInput, NotFound
from assay.governance.catalogues import Relation, load_catalogue
from assay.governance.readiness import assessed_entries, covering, evaluate
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.people import People

DOCS = Path(__file__).resolve().parents[2] / "docs"
TODAY = dt.datetime.now(dt.UTC).date()
SYSTEM = {"name": "release", "eu_ai_act_category": "high", "annex_iii_area": 6, "owner": "alice"}
DOCUMENT = {"schema": "assay.assessment", "schema_version": 1, "spec": {"predicted": "pred"}, "data": {}}


def events(ws: Workspace, **where: Any) -> list[Any]:
    return ws.audit.log(EventFilter(**where))


def evidence_rows(ws: Workspace) -> int:
    return len(ws.controls.list_evidence("release"))


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.systems.create(SYSTEM)
    return workspace


# ---- status --------------------------------------------------------------------------------------------------


def test_status_is_created_updated_and_audited(ws: Workspace) -> None:
    created = ws.controls.set_status("release", "iso42001", "A.6.2.4", implementation="planned", owner="bob")
    assert (created.applicable, created.implementation, created.owner) == (True, "planned", "bob")
    updated = ws.as_actor("bob").controls.set_status("release", "iso42001", "A.6.2.4", implementation="implemented")
    assert (updated.id, updated.implementation, updated.owner) == (created.id, "implemented", "bob")
    log = events(ws, action="control.status")
    assert [(e.actor, e.object_id) for e in log] == [("alice", str(created.id)), ("bob", str(created.id))]
    assert log[0].before is None and log[0].after == log[1].before != log[1].after
    assert log[1].payload["changed"] == ["implementation"]
    assert log[1].payload["before"]["implementation"] == "planned"
    assert log[1].payload["after"]["implementation"] == "implemented"
    assert log[0].payload["control"] == "iso42001:A.6.2.4"

    # a change that changes nothing writes nothing
    count = len(events(ws))
    ws.controls.set_status("release", "iso42001", "A.6.2.4", implementation="implemented")
    assert len(events(ws)) == count

    # an alias is stored under the catalogue's id; statuses come by framework in catalogue order
    ws.controls.set_status("release", "nist-ai-rmf", "GV-1.1", owner="carol")
    ws.controls.set_status("release", "iso42001", "A.2.2", implementation="in_progress")
    rows = ws.controls.statuses("release")
    assert [(r.framework, r.control_id) for r in rows] == [
        ("iso42001", "A.2.2"),
        ("iso42001", "A.6.2.4"),
        ("nist-ai-rmf", "GOVERN 1.1"),
    ]
    assert [r.control_id for r in ws.controls.statuses("release", "nist-ai-rmf")] == ["GOVERN 1.1"]
    assert ws.audit.verify().ok


def test_exclusion_needs_a_justification(ws: Workspace) -> None:
    with pytest.raises(InvalidInput, match=r"excluding iso42001:A\.10\.3 for release needs a justification"):
        ws.controls.set_status("release", "iso42001", "A.10.3", applicable=False)
    with pytest.raises(InvalidInput, match="justification"):
        ws.controls.set_status("release", "iso42001", "A.10.3", applicable=False, justification="   ")
    assert events(ws, action="control.status") == []
    assert ws.controls.statuses("release") == []

    excluded = ws.controls.set_status(
        "release", "iso42001", "A.10.3", applicable=False, justification="no suppliers: built in-house"
    )
    assert (excluded.applicable, excluded.justification) == (False, "no suppliers: built in-house")
    # including it again clears the exclusion's justification; excluding again needs a new one
    included = ws.controls.set_status("release", "iso42001", "A.10.3", applicable=True)
    assert (included.applicable, included.justification) == (True, "")
    with pytest.raises(InvalidInput, match="justification"):
        ws.controls.set_status("release", "iso42001", "A.10.3", applicable=False)
    assert ws.controls.statuses("release")[0].applicable is True
    assert len(events(ws, action="control.status")) == 2
    assert ws.audit.verify().ok


@pytest.mark.parametrize(
    ("framework", "control", "fields", "message"),
    [
        ("iso42001", "A.6.2.44", {"owner": "bob"}, r"no control 'A\.6\.2\.44' in iso42001; did you mean 'A\.6\.2\.4'"),
        (
            "iso",
            "A.6.2.4",
            {"owner": "bob"},
            r"unknown framework 'iso' \(known: eu-ai-act, iso42001, nist-ai-600-1, nist-ai-rmf\)",
        ),
        ("iso42001", "A.6", {"owner": "bob"}, r"iso42001:A\.6 is a group \(section\).*A\.6\.1\.2"),
        ("nist-ai-rmf", "MAP 5", {"owner": "bob"}, r"is a group \(category\).*MAP 5\.1, MAP 5\.2\)"),
        ("iso42001", "A.6.2.4", {"implementation": "done"}, r"implementation: Input should be"),
        ("iso42001", "A.6.2.4", {}, "give at least one of"),
    ],
)
def test_bad_status_writes_nothing(
    ws: Workspace, framework: str, control: str, fields: dict[str, Any], message: str
) -> None:
    count = len(events(ws))
    with pytest.raises(InvalidInput, match=message):
        ws.controls.set_status("release", framework, control, **fields)
    assert len(events(ws)) == count
    with pytest.raises(NotFound, match="no AI system named 'nope'"):
        ws.controls.set_status("nope", "iso42001", "A.6.2.4", owner="bob")


# ---- evidence ------------------------------------------------------------------------------------------------


def test_evidence_of_each_kind(ws: Workspace, tmp_path: Path) -> None:
    assessment = ws.assessments.record("release", DOCUMENT)
    auto = ws.controls.list_evidence("release", "iso42001", "A.6.2.4")
    assert [(e.kind, e.assessment_id, e.rule, e.current) for e in auto] == [
        ("assessment", assessment.id, "bias-pre-training", True)
    ]

    by_hand = ws.controls.add_evidence(
        "release", "iso42001", "A.9.2", kind="assessment", assessment_id=assessment.id, description="bias review"
    )
    assert (by_hand.kind, by_hand.assessment_id, by_hand.rule, by_hand.state) == (
        "assessment",
        assessment.id,
        None,
        "current",
    )
    assert by_hand.valid_from == TODAY
    assert by_hand.valid_until == TODAY + dt.timedelta(days=ws.settings.evidence_valid_days)

    policy = tmp_path / "oversight-policy.md"
    policy.write_text("# Human oversight\nDuty officers decide.\n")
    filed = ws.controls.add_evidence(
        "release", "iso42001", "A.9.3", kind="file", file=policy, valid_until=TODAY + dt.timedelta(days=30)
    )
    assert filed.artifact_sha256 is not None and ws.artifacts.has(filed.artifact_sha256)
    with ws.artifacts.open(filed.artifact_sha256) as handle:
        assert handle.read() == policy.read_bytes()
    assert filed.valid_until == TODAY + dt.timedelta(days=30)

    linked = ws.controls.add_evidence(
        "release",
        "eu-ai-act",
        "Art. 14.ob1",
        kind="url",
        url="https://wiki.example.org/oversight",
        description="runbook",
    )
    assert linked.url == "https://wiki.example.org/oversight" and linked.framework == "eu-ai-act"

    listed = ws.controls.list_evidence("release")
    assert {e.id for e in listed} >= {by_hand.id, filed.id, linked.id}
    assert all(e.current and e.via is None for e in listed)
    assert [e.id for e in ws.controls.list_evidence("release", "eu-ai-act") if e.kind == "url"] == [linked.id]
    assert [e.kind for e in ws.controls.list_evidence("release", "iso42001", "A.9.3")] == ["file"]

    actions = [e.action for e in events(ws)]
    assert actions.count("evidence.add") == 3 and actions.count("artifact.store") == 1
    assert events(ws, action="evidence.add")[1].payload["artifact_sha256"] == filed.artifact_sha256
    assert ws.audit.verify().ok


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"kind": "url", "url": "ftp://files.example.org/x"}, InvalidInput, r"is not an http\(s\) URL"),
        ({"kind": "url", "url": "javascript:alert(1)"}, InvalidInput, r"is not an http\(s\) URL"),
        ({"kind": "url"}, InvalidInput, "url is given with kind 'url'"),
        ({"kind": "file"}, InvalidInput, "a file is given with kind 'file'"),
        ({"kind": "assessment"}, InvalidInput, "assessment_id is given with kind 'assessment'"),
        ({"kind": "assessment", "assessment_id": 999}, NotFound, "no assessment with id 999"),
        ({"kind": "photo", "url": "https://x.org"}, InvalidInput, "kind: Input should be"),
        (
            {
                "kind": "url",
                "url": "https://x.org",
                "valid_from": dt.date(2025, 3, 2),
                "valid_until": dt.date(2025, 3, 1),
            },
            InvalidInput,
            "valid_until 2025-03-01 is before valid_from 2025-03-02",
        ),
    ],
)
def test_bad_evidence_writes_nothing(
    ws: Workspace, fields: dict[str, Any], error: type[Exception], message: str
) -> None:
    count = len(events(ws))
    with pytest.raises(error, match=message):
        ws.controls.add_evidence("release", "iso42001", "A.6.2.4", **fields)
    assert len(events(ws)) == count and evidence_rows(ws) == 0


def test_evidence_of_another_systems_assessment_is_refused(ws: Workspace) -> None:
    ws.systems.create({"name": "other"})
    foreign = ws.assessments.record("other", DOCUMENT)
    with pytest.raises(NotFound, match=f"no assessment with id {foreign.id}"):
        ws.controls.add_evidence("release", "iso42001", "A.6.2.4", kind="assessment", assessment_id=foreign.id)


def test_expired_and_future_evidence(ws: Workspace) -> None:
    old = ws.controls.add_evidence(
        "release",
        "iso42001",
        "A.2.2",
        kind="url",
        url="https://intranet.example.org/ai-policy-2020",
        valid_from=dt.date(2020, 1, 1),
        valid_until=dt.date(2020, 12, 31),
    )
    assert (old.state, old.current) == ("expired", False)
    later = ws.controls.add_evidence(
        "release", "iso42001", "A.2.3", kind="url", url="https://x.org/p", valid_from=TODAY + dt.timedelta(days=10)
    )
    assert (later.state, later.current) == ("not_yet_valid", False)
    # the day it is read on decides
    assert ws.controls.list_evidence("release", "iso42001", "A.2.2", as_of=dt.date(2020, 6, 1))[0].current
    assert ws.controls.list_evidence("release", "iso42001", "A.2.2", as_of=dt.date(2020, 12, 31))[0].current
    assert not ws.controls.list_evidence("release", "iso42001", "A.2.2", as_of=dt.date(2021, 1, 1))[0].current

    for control in ("A.2.2", "A.2.3"):
        ws.controls.set_status("release", "iso42001", control, implementation="implemented")
    gaps = {(g["control"], g["kind"]) for g in ws.controls.readiness("release")["systems"][0]["gaps"]}
    assert ("A.2.2", "evidence_expired") in gaps and ("A.2.2", "not_implemented") not in gaps
    assert ("A.2.3", "evidence_not_yet_valid") in gaps


def test_evidence_for_an_excluded_control_is_refused(ws: Workspace, tmp_path: Path) -> None:
    ws.controls.set_status("release", "iso42001", "A.10.3", applicable=False, justification="no suppliers")
    count = len(events(ws))
    document = tmp_path / "supplier-list.csv"
    document.write_text("supplier\nnone\n")
    with pytest.raises(Conflict, match=r"iso42001:A\.10\.3 is excluded for release \(no suppliers\)"):
        ws.controls.add_evidence("release", "iso42001", "A.10.3", kind="file", file=document)
    with pytest.raises(Conflict, match="excluded"):
        ws.controls.add_evidence("release", "iso42001", "A.10.3", kind="url", url="https://x.org/suppliers")
    assert len(events(ws)) == count and evidence_rows(ws) == 0
    assert not [path for path in (ws.home / "artifacts").rglob("*") if path.is_file()]  # the file was not copied
    assert ws.audit.verify().ok


def test_excluding_a_control_with_current_evidence_is_allowed_and_said(ws: Workspace) -> None:
    kept = ws.controls.add_evidence("release", "iso42001", "A.10.4", kind="url", url="https://x.org/customers")
    ws.controls.add_evidence(
        "release", "iso42001", "A.10.4", kind="url", url="https://x.org/old", valid_from=dt.date(2020, 1, 1),
        valid_until=dt.date(2020, 2, 1),
    )  # fmt: skip
    ws.controls.set_status("release", "iso42001", "A.10.4", applicable=False, justification="internal use only")
    payload = events(ws, action="control.status")[-1].payload
    assert payload["excluded_with_current_evidence"] == [kept.id]
    assert payload["after"]["applicable"] is False and payload["before"] is None


# ---- the crosswalk ---------------------------------------------------------------------------------------------


def test_evidence_counts_through_equal_and_subset_links_only(ws: Workspace, tmp_path: Path) -> None:
    impacts = tmp_path / "impact-assessment.pdf"
    impacts.write_bytes(b"%PDF-1.7 impact assessment")
    on_map5 = ws.controls.add_evidence("release", "nist-ai-rmf", "MAP 5", kind="file", file=impacts)

    # iso42001:A.5.4 subset nist-ai-rmf:MAP 5: MAP 5's evidence counts for A.5.4 (and A.5.5), and for MAP 5.1
    for framework, control, via in [
        ("iso42001", "A.5.4", "iso42001:A.5.4 subset nist-ai-rmf:MAP 5"),
        ("iso42001", "A.5.5", "iso42001:A.5.5 subset nist-ai-rmf:MAP 5"),
        ("nist-ai-rmf", "MAP 5.1", "nist-ai-rmf:MAP 5.1 is part of nist-ai-rmf:MAP 5"),
    ]:
        counted = ws.controls.list_evidence("release", framework, control)
        assert [(e.id, e.via) for e in counted] == [(on_map5.id, via)], control

    # ... but not the other way: A.5.4's own evidence does not count for MAP 5.1
    on_a54 = ws.controls.add_evidence("release", "iso42001", "A.5.4", kind="url", url="https://x.org/a54")
    assert [e.id for e in ws.controls.list_evidence("release", "nist-ai-rmf", "MAP 5.1")] == [on_map5.id]
    assert [e.id for e in ws.controls.list_evidence("release", "iso42001", "A.5.4")] == [on_a54.id, on_map5.id]

    # intersect never carries evidence: iso42001:A.6.2.4 intersect eu-ai-act:Art. 9.ob6
    ws.controls.add_evidence("release", "iso42001", "A.6.2.4", kind="url", url="https://x.org/vv")
    assert ws.controls.list_evidence("release", "eu-ai-act", "Art. 9.ob6") == []
    assert ws.controls.list_evidence("release", "nist-ai-rmf", "MEASURE 2.11") == []

    # in readiness: A.5.4 implemented is ready on MAP 5's evidence alone
    ws.controls.set_status("release", "iso42001", "A.5.5", implementation="implemented")
    result = ws.controls.readiness("release")["systems"][0]
    assert "A.5.5" in result["ready_controls"]


def test_covering_with_equal_and_superset_links() -> None:
    equal = [Relation("iso42001", "A.9.2", "nist-ai-rmf", "GOVERN 1.1", "equal")]
    assert [c.ref for c in covering("iso42001", "A.9.2", equal)] == [
        "iso42001:A.9",
        "nist-ai-rmf:GOVERN 1.1",
        "nist-ai-rmf:GOVERN 1",
        "nist-ai-rmf:GOVERN",
    ]
    assert "iso42001:A.9.2" in [c.ref for c in covering("nist-ai-rmf", "GOVERN 1.1", equal)]
    # A.9.2 superset GOVERN 1.1: A.9.2 asks for everything GOVERN 1.1 asks, so A.9.2's evidence counts for it
    wider = [Relation("iso42001", "A.9.2", "nist-ai-rmf", "GOVERN 1.1", "superset")]
    assert "iso42001:A.9.2" in [c.ref for c in covering("nist-ai-rmf", "GOVERN 1.1", wider)]
    assert "nist-ai-rmf:GOVERN 1.1" not in [c.ref for c in covering("iso42001", "A.9.2", wider)]
    # chains are followed: X subset Y equal Z lets Z's evidence count for X
    chain = [
        Relation("iso42001", "A.9.2", "nist-ai-rmf", "GOVERN 1.1", "subset"),
        Relation("nist-ai-rmf", "GOVERN 1.1", "eu-ai-act", "Art. 14.ob1", "equal"),
    ]
    found = {c.ref: c.path for c in covering("iso42001", "A.9.2", chain)}
    assert found["eu-ai-act:Art. 14.ob1"] == (
        "iso42001:A.9.2 subset nist-ai-rmf:GOVERN 1.1",
        "nist-ai-rmf:GOVERN 1.1 equal eu-ai-act:Art. 14.ob1",
    )
    intersect = [Relation("iso42001", "A.9.2", "nist-ai-rmf", "GOVERN 1.1", "intersect")]
    assert [c.ref for c in covering("iso42001", "A.9.2", intersect)] == ["iso42001:A.9"]


def test_counted_entries_and_the_verdict() -> None:
    counts = {framework: len(assessed_entries(framework)) for framework in ("iso42001", "nist-ai-rmf", "eu-ai-act")}
    assert counts == {"iso42001": 70, "nist-ai-rmf": 72, "eu-ai-act": 41}
    iso = load_catalogue("iso42001")
    kinds = {c.kind for c in assessed_entries("iso42001")}
    assert kinds == {"clause", "control"} and "6.1" not in [c.id for c in assessed_entries("iso42001")]
    assert [c for c in assessed_entries("iso42001") if c.kind == "control"] == list(iso.of_kind("control"))
    current, expired = {"state": "current"}, {"state": "expired"}
    assert evaluate(applicable=True, implementation="implemented", evidence=[expired, current]) == (True, [])
    assert evaluate(applicable=True, implementation="in_progress", evidence=[]) == (
        False,
        ["not_implemented", "no_evidence"],
    )
    assert evaluate(applicable=False, implementation="not_started", evidence=[]) == (False, [])


# ---- readiness ------------------------------------------------------------------------------------------------


def test_readiness_shares_by_hand(ws: Workspace, tmp_path: Path) -> None:
    ws.assessments.record("release", DOCUMENT)  # evidence for A.6.2.4, A.7.4, MEASURE 2.11/2.3/2.5, ...
    for control in ("A.10.3", "A.10.4"):
        ws.controls.set_status("release", "iso42001", control, applicable=False, justification="in-house only")
    ws.controls.set_status("release", "iso42001", "A.10.3", implementation="implemented")  # excluded: not counted
    impacts = tmp_path / "impacts.txt"
    impacts.write_text("impacts")
    ws.controls.add_evidence("release", "nist-ai-rmf", "MAP 5", kind="file", file=impacts)
    ws.controls.add_evidence("release", "iso42001", "4.1", kind="url", url="https://x.org/context")
    ws.controls.add_evidence(
        "release", "iso42001", "A.2.2", kind="url", url="https://x.org/p", valid_from=dt.date(2021, 1, 1),
        valid_until=dt.date(2021, 12, 31),
    )  # fmt: skip
    for control in ("A.6.2.4", "A.5.4", "4.1", "A.2.2", "A.3.2"):
        ws.controls.set_status("release", "iso42001", control, implementation="implemented")
    ws.controls.set_status("release", "iso42001", "A.7.4", implementation="in_progress")

    document = ws.controls.readiness("release", "iso42001")
    assert (document["schema"], document["schema_version"], document["framework"]["id"]) == (
        "assay.readiness",
        1,
        "iso42001",
    )
    result = document["systems"][0]
    # 38 entries (the Annex A controls: clauses 4-10 are judged for the organisation, so 4.1's status and evidence
    # do not count here), 2 excluded: 36 applicable; ready: A.5.4 (MAP 5's evidence through the crosswalk) and
    # A.6.2.4 (the assessment's evidence)
    assert (result["entries"], result["applicable"], result["excluded"]) == (38, 36, 2)
    assert result["ready_controls"] == ["A.5.4", "A.6.2.4"]
    assert result["ready"] == 2 and result["share"] == pytest.approx(2 / 36)
    assert result["implemented"] == 4  # A.2.2, A.3.2, A.5.4, A.6.2.4 (A.10.3 is excluded)
    gaps: dict[str, list[str]] = {}
    for gap in result["gaps"]:
        gaps.setdefault(gap["control"], []).append(gap["kind"])
    assert gaps["A.7.4"] == ["not_implemented"]
    assert gaps["A.2.2"] == ["evidence_expired"]
    assert gaps["A.3.2"] == ["no_evidence"]
    assert gaps["A.5.5"] == ["not_implemented"]  # MAP 5's evidence counts; not implemented
    assert gaps["A.2.3"] == ["not_implemented", "no_evidence"]
    assert not {"4.1", "A.5.4", "A.6.2.4", "A.10.3", "A.10.4"} & set(gaps)
    assert len(gaps) == 36 - 2

    # the same system against the NIST AI RMF: 72 subcategories, nothing implemented yet
    nist = ws.controls.readiness("release", "nist-ai-rmf")["systems"][0]
    assert (nist["entries"], nist["applicable"], nist["ready"], nist["share"]) == (72, 72, 0, 0.0)
    assert nist["with_current_evidence"] == 5  # MEASURE 2.3, 2.5, 2.11 (assessment); MAP 5.1, 5.2 (via MAP 5)
    ws.controls.set_status("release", "nist-ai-rmf", "MEASURE 2.11", implementation="implemented")
    assert ws.controls.readiness("release", "nist-ai-rmf")["systems"][0]["share"] == pytest.approx(1 / 72)


def test_readiness_of_every_system(ws: Workspace) -> None:
    ws.systems.create({"name": "chatbot", "eu_ai_act_category": "minimal"})
    for control in assessed_entries("eu-ai-act"):
        ws.controls.set_status("chatbot", "eu-ai-act", control.id, applicable=False, justification="not high-risk")
    document = ws.controls.readiness(None, "eu-ai-act")
    by_name = {r["system"]["name"]: r for r in document["systems"]}
    assert list(by_name) == ["chatbot", "release"]
    assert (by_name["chatbot"]["applicable"], by_name["chatbot"]["share"], by_name["chatbot"]["gaps"]) == (0, None, [])
    assert (by_name["release"]["entries"], by_name["release"]["share"]) == (41, 0.0)
    assert len(by_name["release"]["gaps"]) == 2 * 41
    with pytest.raises(InvalidInput, match="unknown framework 'nist'"):
        ws.controls.readiness("release", "nist")


def test_stale_approvals_are_gaps(ws: Workspace, people: People) -> None:
    ws.models.register_version("release", {"model": "lr", "version": "1"})
    ws.assessments.record("release", DOCUMENT, model_version="lr@1")
    request = people("alice", release="owner").approvals.request("release", "lr@1", "staging")
    people("bob", release="approver").approvals.decide(request.id, "approve")

    def stale() -> list[dict[str, Any]]:
        gaps = ws.controls.readiness("release")["systems"][0]["gaps"]
        return [g for g in gaps if g["kind"] == "stale_approval"]

    assert stale() == []
    ws.assessments.record("release", {**DOCUMENT, "data": {"fingerprint": "b" * 64}}, model_version="lr@1")
    [gap] = stale()
    assert gap["control"] is None
    assert gap["title"] == f"approval request {request.id}: lr@1 to staging"
    assert gap["detail"].startswith("lr@1 is in staging on this approval, but")  # still there: held
    assert gap["detail"].endswith("held until it is approved again")
    ws.models.set_stage("release", "lr@1", "development")  # no longer in the stage it was approved for
    [gap] = stale()
    assert gap["detail"].startswith("approved, but")


# ---- the command line -----------------------------------------------------------------------------------------


def run(ws: Workspace, *args: str) -> int:
    return main(["--workspace", str(ws.root), *args])


def test_cli_control_and_evidence(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ws, "--actor", "bob", "control", "set", "release", "iso42001", "A.6.2.4", "--status", "implemented",
               "--owner", "bob", "--json") == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["implementation"] == "implemented"
    assert events(ws, action="control.status")[-1].actor == "bob"
    assert run(ws, "control", "set", "release", "iso42001", "A.10.3", "--excluded", "--justification", "in-house") == 0
    assert "A.10.3" in capsys.readouterr().out
    assert run(ws, "control", "list", "release", "--framework", "iso42001", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["control_id"], r["applicable"]) for r in listed] == [("A.6.2.4", True), ("A.10.3", False)]

    record = tmp_path / "model-card.md"
    record.write_text("# Model card\n")
    assert run(ws, "evidence", "add", "release", "iso42001", "A.6.2.4", "--file", str(record),
               "--description", "model card", "--valid-until", "2099-01-01", "--json") == 0  # fmt: skip
    added = json.loads(capsys.readouterr().out)
    assert (added["kind"], added["valid_until"], added["current"]) == ("file", "2099-01-01", True)
    assert run(ws, "evidence", "add", "release", "nist-ai-rmf", "MEASURE 2.11", "--url", "https://x.org/bias") == 0
    recorded = ws.assessments.record("release", DOCUMENT)
    assert run(ws, "evidence", "add", "release", "iso42001", "A.9.2", "--assessment", str(recorded.id)) == 0
    capsys.readouterr()
    assert run(ws, "evidence", "list", "release", "--framework", "iso42001", "--control", "A.6.2.4", "--json") == 0
    kinds = [e["kind"] for e in json.loads(capsys.readouterr().out)]
    assert kinds == ["file", "assessment"]
    assert run(ws, "evidence", "list", "release") == 0
    assert "model card" in capsys.readouterr().out
    assert ws.audit.verify().ok


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evidence", "add", "release", "iso42001", "A.6.2.4"], "give exactly one of --file, --url or --assessment"),
        (["evidence", "add", "release", "iso42001", "A.6.2.4", "--url", "https://x.org", "--assessment", "1"],
         r"got --url, --assessment"),
        (["evidence", "add", "release", "iso42001", "A.10.3", "--url", "https://x.org"], "is excluded for release"),
        (["evidence", "add", "release", "iso42001", "A.6.2.4", "--url", "https://x.org", "--valid-until", "soon"],
         "--valid-until 'soon': write a date as YYYY-MM-DD"),
        (["control", "set", "release", "iso42001", "A.6.2.44", "--status", "planned"], "did you mean 'A.6.2.4'"),
        (["control", "set", "release", "iso42001", "A.10.4", "--excluded"], "needs a justification"),
        (["control", "set", "release", "iso42001", "A.6.2.4", "--status", "done"], "implementation"),
        (["evidence", "list", "release", "--control", "A.6.2.4"], "give its framework too"),
        (["readiness", "release", "--framework", "iso"], "unknown framework 'iso'"),
        (["readiness", "nope"], "no AI system named 'nope'"),
    ],
)  # fmt: skip
def test_cli_bad_input_exits_2_with_one_line(
    ws: Workspace, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    ws.controls.set_status("release", "iso42001", "A.10.3", applicable=False, justification="in-house")
    count = len(events(ws))
    assert run(ws, *args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and re.search(message, err), err
    assert len(events(ws)) == count


def test_cli_readiness(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.systems.create({"name": "chatbot"})
    ws.assessments.record("release", DOCUMENT)
    ws.controls.set_status("release", "iso42001", "A.6.2.4", implementation="implemented")
    assert run(ws, "readiness", "release") == 0
    out = capsys.readouterr().out
    assert "2.6%" in out  # 1 of 38 (Annex A; clauses 4-10 are judged for the organisation)
    gaps = out.split("Gaps of release")[1]
    assert "A.7.4" in gaps and "not_implemented" in gaps and "A.6.2.4" not in gaps
    assert run(ws, "readiness", "--framework", "nist-ai-rmf", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert [r["system"]["name"] for r in document["systems"]] == ["chatbot", "release"]
    assert all(r["share"] == 0.0 for r in document["systems"])


def test_the_guide_documents_every_option() -> None:
    text = (DOCS / "controls-and-soa.md").read_text()
    root = get_command(app)
    commands = {
        "control set": root.commands["control"].commands["set"],  # type: ignore[attr-defined]
        "control list": root.commands["control"].commands["list"],  # type: ignore[attr-defined]
        "evidence add": root.commands["evidence"].commands["add"],  # type: ignore[attr-defined]
        "evidence list": root.commands["evidence"].commands["list"],  # type: ignore[attr-defined]
        "soa": root.commands["soa"],  # type: ignore[attr-defined]
        "readiness": root.commands["readiness"],  # type: ignore[attr-defined]
    }
    for name, command in commands.items():
        assert f"assay {name}" in text, name
        for param in command.params:
            for opt in [*param.opts, *param.secondary_opts]:
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}" in text or f"{opt}`" in text or f" {opt}" in text, (name, opt)


def test_entries_kept_across_changes_are_the_entries_judged_afresh(ws: Workspace, people: People) -> None:
    """Readiness of every system keeps each system's entries from one head of the ledger to the next, judging again
    only the systems the events since touched: after every kind of change (a status, evidence attached and revoked,
    the system made generative, another system's change, a risk) the documents equal those judged from nothing, and
    a change elsewhere leaves a system's entries kept (the same objects)."""
    from assay.services import controls

    ws.systems.create({**SYSTEM, "name": "other"})
    frameworks = ("iso42001", "nist-ai-rmf", "nist-ai-600-1")

    def judged() -> dict[str, Any]:
        documents = ws.controls.readiness_of(None, frameworks)
        return {f: [dict(s.items()) for s in d["systems"]] for f, d in documents.items()}

    def afresh() -> dict[str, Any]:
        controls._ENTRIES.clear()
        return judged()

    first = afresh()
    assert judged() == first
    kept = dict(next(iter(controls._ENTRIES.values()))[2])
    ws.controls.set_status("release", "iso42001", "A.9.2", implementation="implemented")
    changed = judged()
    after = next(iter(controls._ENTRIES.values()))[2]
    other = next(s.id for s in ws.systems.list() if s.name == "other")
    assert [key for key in kept if after[key] is kept[key]] == [key for key in kept if key[0] == other]  # reused
    assert changed == afresh() != first
    assessment = ws.assessments.record("release", DOCUMENT)
    steps = [
        lambda: ws.controls.add_evidence(
            "release", "iso42001", "A.9.2", kind="assessment", assessment_id=assessment.id
        ),
        lambda: ws.controls.set_status("other", "nist-ai-rmf", "GOVERN 1.1", implementation="implemented"),
        lambda: people("alice", release="owner").controls.revoke_evidence(
            "release", ws.controls.list_evidence("release")[0].id, reason="wrong"
        ),
        lambda: ws.systems.update("other", {"generative": True, "disclosure": "You are talking to an AI."}),
        lambda: ws.risks.add(
            "release", {"title": "Drift", "source": "model", "likelihood": 2, "impact": 3, "treatment": "mitigate"}
        ),
    ]
    for step in steps:
        judged()  # kept at the head before the change
        step()
        assert judged() == afresh()
