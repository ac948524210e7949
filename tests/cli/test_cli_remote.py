"""`assay --server URL`: approvals, waivers and revocations made through a real `assay serve` process with API
tokens, under the server's permission table (SQLite)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assay.cli import main
from assay.config import load_settings
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.people import People
from tests.support.serve import assay_serve

DOC: dict[str, Any] = {"schema": "assay.assessment", "schema_version": 1, "spec": {"predicted": "p"}, "data": {}}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Workspace]]:
    """A workspace with a minimal-risk system, alice (owner), bob (approver), vic (viewer) and a second system;
    `assay serve` on it; write tokens for each person."""
    folder = tmp_path / "ws"
    ws = Workspace.init(folder, load_settings(actor="setup", workspace=None))
    people = People(ws)
    for name in ("release", "triage"):
        people.admin.systems.create({"name": name, "eu_ai_act_category": "minimal"})
        people.admin.models.register_version(name, {"model": "lr", "version": "1"})
        people.admin.assessments.record(name, DOC, model_version="lr@1")
    people("alice", release="owner", triage="owner")
    people("bob", release="approver")
    people("vic", release="viewer")
    tokens = {name: people.admin.access.create_token(name, "cli", scope="write")[0] for name in ("alice", "bob", "vic")}
    try:
        with assay_serve(folder, tmp_path / "server.log") as served:
            yield served.base, tokens, ws
    finally:
        ws.close()


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, token: str, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("ASSAY_TOKEN", token)
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_approvals_through_the_server_follow_its_roles(
    served: tuple[str, dict[str, str], Workspace], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, tokens, ws = served
    remote = ["--server", base]
    code, out = run(capsys, monkeypatch, tokens["alice"], *remote, "approval", "request", "release", "lr@1")
    assert code == 0, out
    code, out = run(capsys, monkeypatch, tokens["alice"], *remote, "approval", "approve", "1")
    assert code == 2 and "may not approve" in out, out  # alice owns the system; approving is the approvers' role
    code, out = run(capsys, monkeypatch, tokens["vic"], *remote, "approval", "approve", "1")
    assert code == 2 and "may not approve" in out  # a viewer: the server's permission table refuses
    code, out = run(capsys, monkeypatch, tokens["bob"], *remote, "approval", "approve", "1", "--system", "triage")
    assert code == 2 and "no AI system named 'triage'" in out  # a system bob cannot see: not found (404)
    code, out = run(capsys, monkeypatch, tokens["bob"], *remote, "approval", "approve", "1", "--comment", "ok")
    assert code == 0, out
    assert ws.models.get_version("release", "lr@1").stage == "production"
    event = ws.audit.log(EventFilter(action="approval.approve"))[-1]
    assert event.actor == "bob" and "authenticated" not in event.payload  # authenticated by the server
    code, out = run(capsys, monkeypatch, tokens["bob"], *remote, "approval", "list", "release", "--json")
    assert code == 0 and '"status": "approved"' in out


def test_waivers_revocations_and_errors_through_the_server(
    served: tuple[str, dict[str, str], Workspace], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, tokens, ws = served
    remote = ["--server", base]
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    args = ["waiver", "add", "release", "assessed", "--reason", "pilot", "--expires", until]
    code, out = run(capsys, monkeypatch, tokens["bob"], *remote, *args)
    assert code == 2 and "may not write" in out  # an approver is not an owner
    code, out = run(capsys, monkeypatch, tokens["alice"], *remote, *args)
    assert code == 0 and "waived by alice" in out, out
    waiver = re.search(r"waiver (\d+):", out)
    assert waiver
    code, out = run(capsys, monkeypatch, tokens["alice"], *remote, "waiver", "revoke", "release", waiver.group(1),
                    "--reason", "pilot over")  # fmt: skip
    assert code == 0 and "revoked" in out, out
    assert ws.gates.waivers("release")[0]["state"] == "revoked"
    code, out = run(capsys, monkeypatch, tokens["alice"], *remote, "waiver", "revoke", "release", waiver.group(1),
                    "--reason", "twice")  # fmt: skip
    assert code != 0 and "already revoked" in out, out
    evidence = ws.controls.list_evidence("release")
    assert evidence, "recording an assessment links evidence"
    revoke = ["evidence", "revoke", "release", str(evidence[0].id), "--reason", "wrong data"]
    code, out = run(capsys, monkeypatch, tokens["alice"], *remote, *revoke)
    assert code == 0 and "revoked" in out, out
    assert ws.controls.list_evidence("release")[0].revoked
    code, out = run(capsys, monkeypatch, "assay_not-a-token", *remote, "approval", "list", "release")
    assert code == 2 and "token" in out
    code, out = run(capsys, monkeypatch, tokens["alice"], *remote, "risk", "list", "release")
    assert code == 2 and "works on a local workspace" in out
    code, out = run(capsys, monkeypatch, tokens["alice"], "--server", "ftp://x", "approval", "list", "release")
    assert code == 2 and "server's address" in out
