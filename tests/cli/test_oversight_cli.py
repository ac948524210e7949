"""`assay oversight report` on a real workspace: the tables (override rates by slice with the signal, reviewers,
kappa), warnings, --json, --since/--until/--slice, --record (evidence), and bad input as exit code 2."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from assay.cli import main
from assay.services.workspace import Workspace
from tests.support.oversight import T0, add_item


def run(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--workspace", str(ws.root), "--actor", "alice", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_oversight_report(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    workspace.systems.create({"name": "loans", "eu_ai_act_category": "high", "annex_iii_area": 5})
    workspace.models.register_version("loans", {"model": "lr", "version": "1"})
    code, out, _ = run(workspace, capsys, "oversight", "report", "--system", "loans")
    assert code == 0 and "0 review items" in out and "no_items" in out
    for i in range(40):
        sex = "F" if i % 2 else "M"
        change = sex == "F" and i % 4 == 1
        add_item(workspace, "loans", "lr@1", f"i{i}", features={"sex": sex, "region": "north"},
                 decisions=[("ann", "change" if change else "accept", 0), ("ben", "accept", None)],
                 final=0 if change else 1, created_at=T0 + dt.timedelta(days=i % 4))  # fmt: skip
    code, out, _ = run(workspace, capsys, "oversight", "report", "--system", "loans", "--slice", "sex")
    assert code == 0, out
    assert "override rate 25.0%" in out and "override rate by slice" in out and "ann / ben" in out
    assert "one_reviewer" not in out
    code, out, _ = run(workspace, capsys, "oversight", "report", "--system", "loans", "--since", "2026-03-04",
                       "--until", "2026-03-05", "--slice", "sex*region", "--json")  # fmt: skip
    document = json.loads(out)
    assert code == 0 and document["items"]["total"] == 10
    assert document["overrides"]["by_slice"][0]["slice"] == "sex×region"
    code, out, _ = run(workspace, capsys, "oversight", "report", "--system", "loans", "--record")
    assert code == 0 and "recorded as assessment 1 of loans" in out
    assert workspace.assessments.get("loans", 1).kind == "assay.oversight-report"
    code, _, err = run(workspace, capsys, "oversight", "report", "--system", "loans", "--slice", "income")
    assert code == 2 and "slice column 'income' is not a feature" in err
    code, _, err = run(workspace, capsys, "oversight", "report", "--system", "loans", "--bucket", "month")
    assert code == 2 and "bucket 'month'" in err
    code, _, err = run(workspace, capsys, "oversight", "report", "--system", "nowhere")
    assert code != 0 and "nowhere" in err
