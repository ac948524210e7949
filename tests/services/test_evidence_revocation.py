"""Revoking (withdrawing) evidence: it stays listed as ``revoked`` and no longer counts for readiness, the SoA,
gates or the technical documentation; the revocation is audited with its actor and reason. Through the services,
the CLI and the REST API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from assay.cli import app, main
from assay.errors import Conflict, InvalidInput, NotFound
from assay.governance.readiness import GAP_KINDS, evaluate, evidence_state
from assay.reports.soa import render_soa_csv, render_soa_html, render_soa_markdown
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.people import PASSWORD as USER_PASSWORD
from tests.support.people import People
from tests.support.server import PASSWORD, serving

DOCS = Path(__file__).resolve().parents[2] / "docs"
SYSTEM = {"name": "release", "eu_ai_act_category": "high", "annex_iii_area": 6, "owner": "alice"}
DOCUMENT = {"schema": "assay.assessment", "schema_version": 1, "spec": {}, "data": {}}


def events(ws: Workspace, **where: Any) -> list[Any]:
    return ws.audit.log(EventFilter(**where))


def gaps_of(ws: Workspace, framework: str = "iso42001") -> dict[str, list[str]]:
    gaps: dict[str, list[str]] = {}
    for gap in ws.controls.readiness("release", framework)["systems"][0]["gaps"]:
        gaps.setdefault(gap["control"], []).append(gap["kind"])
    return gaps


@pytest.fixture
def ws(workspace: Workspace, people: People) -> Workspace:
    """System "release", and alice's workspace, logged in as its owner (revoking evidence needs an authenticated
    owner)."""
    workspace.systems.create(SYSTEM)
    return people("alice", release="owner")  # type: ignore[no-any-return]


def _attach(ws: Workspace, control: str = "A.6.2.4", url: str = "https://x.org/verification") -> int:
    return ws.controls.add_evidence("release", "iso42001", control, kind="url", url=url, description="wrong file").id


# ---- the domain rule -------------------------------------------------------------------------------------------


def test_revoked_is_a_state_and_its_own_gap() -> None:
    import datetime as dt

    day = dt.date(2026, 1, 1)
    assert evidence_state(day, None, day, revoked=True) == "revoked"
    assert evidence_state(day, None, day) == "current"
    assert "evidence_revoked" in GAP_KINDS
    revoked, current, expired = {"state": "revoked"}, {"state": "current"}, {"state": "expired"}
    assert evaluate(applicable=True, implementation="implemented", evidence=[revoked]) == (False, ["evidence_revoked"])
    assert evaluate(applicable=True, implementation="implemented", evidence=[revoked, current]) == (True, [])
    assert evaluate(applicable=True, implementation="implemented", evidence=[revoked, expired]) == (
        False,
        ["evidence_expired"],
    )
    assert evaluate(applicable=False, implementation="implemented", evidence=[revoked]) == (False, [])


# ---- service -------------------------------------------------------------------------------------------------


def test_revoke_drops_readiness_shows_in_the_soa_and_is_audited(ws: Workspace, people: People) -> None:
    ws.controls.set_status("release", "iso42001", "A.6.2.4", implementation="implemented")
    evidence_id = _attach(ws)
    before = ws.controls.readiness("release")["systems"][0]
    assert before["ready_controls"] == ["A.6.2.4"] and before["share"] == pytest.approx(1 / 38)

    bob = people("bob", release="owner")
    revoked = bob.controls.revoke_evidence("release", evidence_id, reason="  wrong system's report ")
    assert (revoked.state, revoked.current, revoked.revoked) == ("revoked", False, True)
    assert (revoked.revoked_by, revoked.revoke_reason) == ("bob", "wrong system's report")
    assert revoked.revoked_at is not None and revoked.revoked_at.tzinfo is not None

    after = ws.controls.readiness("release")["systems"][0]
    assert after["ready"] == 0 and after["share"] == 0.0 and after["with_current_evidence"] == 0
    gap = next(g for g in after["gaps"] if g["control"] == "A.6.2.4")
    assert gap["kind"] == "evidence_revoked" and str(evidence_id) in gap["detail"]
    assert gaps_of(ws)["A.6.2.4"] == ["evidence_revoked"]

    soa = ws.controls.soa("release")
    row = next(r for r in soa["controls"] if r["id"] == "A.6.2.4")
    assert (row["current_evidence"], row["implemented_with_current_evidence"]) == (False, False)
    [item] = row["evidence"]
    assert (item["id"], item["state"], item["current"], item["revoked_by"]) == (evidence_id, "revoked", False, "bob")
    assert soa["summary"]["implemented_with_current_evidence"] == 0
    for rendered in (render_soa_markdown(soa), render_soa_html(soa), render_soa_csv(soa)):
        assert "revoked by bob on" in rendered and "wrong system" in rendered

    # listed with its revocation, unless hidden
    [listed] = ws.controls.list_evidence("release")
    assert listed.to_dict()["revoke_reason"] == "wrong system's report" and listed.to_dict()["state"] == "revoked"
    assert ws.controls.list_evidence("release", include_revoked=False) == []
    assert ws.controls.list_evidence("release", "iso42001", "A.6.2.4", include_revoked=False) == []

    [event] = events(ws, action="evidence.revoke")
    assert (event.actor, event.object_type, event.object_id) == ("bob", "evidence", str(evidence_id))
    assert event.before is not None and event.after is not None and event.before != event.after
    assert event.payload["reason"] == "wrong system's report"
    assert event.payload["control"] == "iso42001:A.6.2.4" and event.payload["system"] == "release"
    assert event.payload["before"]["state"] == "current" and event.payload["after"]["state"] == "revoked"
    assert event.payload["after"]["revoked_by"] == "bob"
    added = events(ws, action="evidence.add")[0]
    assert added.after == event.before  # the before state is the stored one
    assert ws.audit.verify().ok


def test_other_current_evidence_still_counts(ws: Workspace) -> None:
    ws.controls.set_status("release", "iso42001", "A.6.2.4", implementation="implemented")
    wrong, right = _attach(ws), _attach(ws, url="https://x.org/right")
    ws.controls.revoke_evidence("release", wrong, reason="attached by mistake")
    assert ws.controls.readiness("release")["systems"][0]["ready_controls"] == ["A.6.2.4"]
    assert [(e.id, e.state) for e in ws.controls.list_evidence("release")] == [(wrong, "revoked"), (right, "current")]


def test_counted_evidence_revoked_through_the_crosswalk(ws: Workspace) -> None:
    """Evidence on nist-ai-rmf:MAP 5 counts for iso42001:A.5.4 (A.5.4 subset MAP 5); revoked, it counts for neither."""
    ws.controls.set_status("release", "iso42001", "A.5.4", implementation="implemented")
    impact = ws.controls.add_evidence("release", "nist-ai-rmf", "MAP 5", kind="url", url="https://x.org/impact")
    assert "A.5.4" in ws.controls.readiness("release")["systems"][0]["ready_controls"]
    ws.controls.revoke_evidence("release", impact.id, reason="draft, not the approved assessment")
    [counted] = ws.controls.list_evidence("release", "iso42001", "A.5.4")
    assert counted.via is not None and counted.state == "revoked"
    assert gaps_of(ws)["A.5.4"] == ["evidence_revoked"]
    assert "evidence_revoked" in gaps_of(ws, "nist-ai-rmf")["MAP 5.1"]


def test_linked_evidence_can_be_revoked(ws: Workspace) -> None:
    ws.assessments.record("release", DOCUMENT)  # linked to A.6.2.4, A.7.4 and three more by the evidence rules
    linked = {(e.framework, e.control_id): e for e in ws.controls.list_evidence("release")}
    target = linked[("iso42001", "A.6.2.4")]
    assert target.rule == "bias-pre-training"
    revoked = ws.controls.revoke_evidence("release", target.id, reason="assessment of the wrong model")
    assert revoked.state == "revoked" and revoked.rule == "bias-pre-training"
    states = {(e.framework, e.control_id): e.state for e in ws.controls.list_evidence("release")}
    assert states.pop(("iso42001", "A.6.2.4")) == "revoked"
    assert set(states.values()) == {"current"}
    assert events(ws, action="evidence.revoke")[0].payload["rule"] == "bias-pre-training"


def test_revoked_evidence_is_not_current_when_a_control_is_excluded(ws: Workspace) -> None:
    kept, withdrawn = _attach(ws, "A.10.3"), _attach(ws, "A.10.3", url="https://x.org/other")
    ws.controls.revoke_evidence("release", withdrawn, reason="duplicate")
    ws.controls.set_status("release", "iso42001", "A.10.3", applicable=False, justification="built in-house")
    assert events(ws, action="control.status")[-1].payload["excluded_with_current_evidence"] == [kept]


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_a_blank_reason_is_refused_and_writes_nothing(ws: Workspace, reason: str) -> None:
    evidence_id = _attach(ws)
    count = len(events(ws))
    with pytest.raises(InvalidInput, match=r"revoking evidence \d+ of release: reason is required"):
        ws.controls.revoke_evidence("release", evidence_id, reason=reason)
    assert len(events(ws)) == count and events(ws, action="evidence.revoke") == []
    assert ws.controls.list_evidence("release")[0].state == "current"


def test_bad_reasons_and_double_revocation(ws: Workspace, people: People) -> None:
    evidence_id = _attach(ws)
    with pytest.raises(InvalidInput, match="longer than 2000 characters"):
        ws.controls.revoke_evidence("release", evidence_id, reason="x" * 2001)
    with pytest.raises(InvalidInput, match="NUL"):
        ws.controls.revoke_evidence("release", evidence_id, reason="a\x00b")
    ws.controls.revoke_evidence("release", evidence_id, reason="wrong")
    bob = people("bob", release="owner")
    count = len(events(ws))
    with pytest.raises(
        Conflict, match=rf"evidence {evidence_id} of release \(iso42001:A\.6\.2\.4\) was already revoked"
    ):
        bob.controls.revoke_evidence("release", evidence_id, reason="again")
    assert len(events(ws)) == count
    assert ws.controls.list_evidence("release")[0].revoked_by == "alice"  # the first revocation stands


def test_evidence_of_another_system_is_not_found(ws: Workspace) -> None:
    ws.systems.create({"name": "chatbot"}, owner_member="alice")  # alice sees both systems
    theirs = ws.controls.add_evidence("chatbot", "iso42001", "A.6.2.4", kind="url", url="https://x.org/c").id
    count = len(events(ws))
    with pytest.raises(NotFound, match=rf"no evidence of 'release' with id {theirs}"):
        ws.controls.revoke_evidence("release", theirs, reason="not ours")
    with pytest.raises(NotFound, match="no evidence of 'release' with id 999"):
        ws.controls.revoke_evidence("release", 999, reason="missing")
    with pytest.raises(NotFound, match="no AI system named 'nope'"):
        ws.controls.revoke_evidence("nope", theirs, reason="missing")
    assert len(events(ws)) == count
    assert ws.controls.list_evidence("chatbot")[0].state == "current"


# ---- the other readers: gates and the technical documentation --------------------------------------------------


def test_a_gate_evidence_rule_no_longer_passes_on_revoked_evidence(ws: Workspace) -> None:
    ws.models.register_version("release", {"model": "lr", "version": "1"})
    policy = "schema: assay.policy/1\nname: test\nrules:\n  - {id: oversight, evidence: 'eu-ai-act:Art. 14'}\n"
    evidence = ws.controls.add_evidence("release", "eu-ai-act", "Art. 14", kind="url", url="https://x.org/oversight")
    assert ws.gates.evaluate("release", "lr@1", policy_text=policy)["passed"]
    ws.controls.revoke_evidence("release", evidence.id, reason="describes another system")
    decision = ws.gates.evaluate("release", "lr@1", policy_text=policy)
    [result] = decision["results"]
    assert not decision["passed"] and result["status"] == "failed"
    assert [(f["passed"], f["note"]) for f in result["findings"]] == [(False, "revoked")]


def test_technical_documentation_counts_only_unrevoked_evidence(ws: Workspace) -> None:
    def declaration_gaps() -> list[str]:
        sections = {s["id"]: s for s in ws.techdocs.build("release")["sections"]}
        return [g for g in sections["Annex IV.8"]["gaps"] if "declaration" in g]

    assert declaration_gaps()
    declaration = ws.controls.add_evidence("release", "eu-ai-act", "Annex IV.8", kind="url", url="https://x.org/d")
    assert declaration_gaps() == []
    ws.controls.revoke_evidence("release", declaration.id, reason="unsigned draft")
    assert declaration_gaps()
    section = next(s for s in ws.techdocs.build("release")["sections"] if s["id"] == "Annex IV.8")
    assert [e["state"] for e in section["evidence"]] == ["revoked"]


# ---- the command line ------------------------------------------------------------------------------------------


def run(ws: Workspace, *args: str) -> int:
    return main(["--workspace", str(ws.root), *args])


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    """The password ``--user`` reads (the users of the ``people`` fixture share one)."""
    monkeypatch.setenv("ASSAY_PASSWORD", USER_PASSWORD)


def test_cli_revoke_and_list(ws: Workspace, people: People, password: None, capsys: pytest.CaptureFixture[str]) -> None:
    evidence_id = _attach(ws)
    _attach(ws, "A.7.4", url="https://x.org/data")
    people("bob", release="owner")
    assert run(ws, "--user", "bob", "evidence", "revoke", "release", str(evidence_id), "--reason", "wrong file",
               "--json") == 0  # fmt: skip
    shown = json.loads(capsys.readouterr().out)
    assert (shown["id"], shown["state"], shown["revoked_by"], shown["revoke_reason"]) == (
        evidence_id,
        "revoked",
        "bob",
        "wrong file",
    )
    assert events(ws, action="evidence.revoke")[-1].actor == "bob"
    assert run(ws, "evidence", "list", "release", "--json") == 0
    assert [e["state"] for e in json.loads(capsys.readouterr().out)] == ["revoked", "current"]
    assert run(ws, "evidence", "list", "release", "--hide-revoked", "--json") == 0
    assert [e["control_id"] for e in json.loads(capsys.readouterr().out)] == ["A.7.4"]
    assert run(ws, "evidence", "list", "release") == 0
    assert "revoked" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reason", "  "], "reason is required"),
        (["--reason", "again"], "was already revoked"),
        (["--reason", "x", "--bogus"], "No such option"),
        ([], "Missing option '--reason'"),
    ],
)
def test_cli_revoke_bad_input_exits_2(
    ws: Workspace, password: None, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    evidence_id = _attach(ws)
    _attach(ws, url="https://x.org/second")
    ws.controls.revoke_evidence("release", evidence_id + 1, reason="first")
    target = evidence_id + 1 if "again" in args else evidence_id
    count = len(events(ws))
    assert run(ws, "--user", "alice", "evidence", "revoke", "release", str(target), *args) == 2
    assert re.search(message, capsys.readouterr().err)
    assert len(events(ws)) == count
    assert run(ws, "--user", "alice", "evidence", "revoke", "nope", "1", "--reason", "x") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "no AI system named 'nope'" in err


def test_the_guide_documents_the_revocation() -> None:
    text = (DOCS / "controls-and-soa.md").read_text()
    evidence = get_command(app).commands["evidence"]  # type: ignore[attr-defined]
    assert "assay evidence revoke" in text and "evidence_revoked" in text
    for name in ("revoke", "list"):
        for param in evidence.commands[name].params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}" in text, (name, opt)
    assert "evidence (list, add, revoke)" in " ".join((DOCS / "server.md").read_text().split())


# ---- the REST API ----------------------------------------------------------------------------------------------


def test_api_revoke(workspace: Workspace) -> None:
    with serving(workspace) as (client, tokens, ws):
        owner = {"Authorization": f"Bearer {tokens['owner']}"}
        viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
        linked = client.get("/api/systems/release/evidence", headers=owner).json()["items"]
        assert linked and all(e["state"] == "current" for e in linked)  # serving()'s assessment is evidence
        evidence_id = linked[0]["id"]
        url = f"/api/systems/release/evidence/{evidence_id}/revoke"

        assert client.post(url, headers=viewer, json={"reason": "x"}).status_code == 403
        count = len(events(ws))
        for body in ({}, {"reason": "   "}, {"reason": "x", "extra": 1}, {"reason": "x" * 2001}):
            refused = client.post(url, headers=owner, json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.json()["error"]["type"] == "invalid_input"
        assert len(events(ws)) == count

        done = client.post(url, headers=owner, json={"reason": "wrong model version"})
        assert done.status_code == 200, done.text
        assert (done.json()["state"], done.json()["revoked_by"], done.json()["revoke_reason"]) == (
            "revoked",
            "owner",
            "wrong model version",
        )
        event = events(ws, action="evidence.revoke")[-1]
        assert (event.actor, event.payload["reason"]) == ("owner", "wrong model version")
        again = client.post(url, headers=owner, json={"reason": "again"})
        assert again.status_code == 409 and again.json()["error"]["type"] == "conflict"
        assert (
            client.post("/api/systems/release/evidence/999/revoke", headers=owner, json={"reason": "x"}).status_code
            == 404
        )

        listed = client.get("/api/systems/release/evidence", headers=owner).json()["items"]
        assert [e["state"] for e in listed if e["id"] == evidence_id] == ["revoked"]
        hidden = client.get("/api/systems/release/evidence?include_revoked=false", headers=owner).json()["items"]
        assert evidence_id not in [e["id"] for e in hidden] and len(hidden) == len(listed) - 1

        # the system page shows it as revoked
        client.post("/login", data={"name": "viewer", "password": PASSWORD}, follow_redirects=False)
        page = client.get("/systems/release/controls")  # page of the controls helper
        assert page.status_code == 200 and "revoked by owner on" in page.text and "wrong model version" in page.text
        twin = client.get("/systems/release.json").json()
        assert [e["state"] for e in twin["evidence"] if e["id"] == evidence_id] == ["revoked"]
