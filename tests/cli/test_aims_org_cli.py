"""``assay aims context|party|scope|document|policy|role|team`` on a single-user workspace (the actor's word is
taken; the four-eyes rule on policies applies only to multi-user workspaces, tested in the services' tests): exit
code 2 with the field named for bad input, 1 for an incomplete team."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.cli import main
from assay.services.workspace import Workspace


def run(ws: Workspace, *args: str, actor: str = "maria") -> int:
    return main(["--workspace", str(ws.root), "--actor", actor, *args])


def test_the_organisation_from_the_command_line(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.set_mode("single-user")
    workspace.access.add_user("maria", "a password long enough")
    workspace.systems.create({"name": "release", "eu_ai_act_category": "high", "annex_iii_area": 6})
    assert run(workspace, "aims", "role", "assign", "top-management", "maria", "--area", "board") == 0
    assert run(workspace, "aims", "role", "assign", "boss", "maria") == 2
    assert "role must be one of top-management" in capsys.readouterr().err
    assert run(workspace, "aims", "context", "add", "external", "EU AI Act", "--category", "legal") == 0
    assert run(workspace, "aims", "party", "add", "Regulator", "--category", "regulator",
               "--requirement", "register") == 0  # fmt: skip
    assert run(workspace, "aims", "scope", "set", "Release decisions", "--system", "release",
               "--exclude", "HR chatbot") == 2  # fmt: skip
    assert "WRITE WHAT=WHY".lower() in capsys.readouterr().err.lower()
    assert run(workspace, "aims", "scope", "set", "Release decisions", "--system", "release",
               "--exclude", "HR chatbot=a supplier's service") == 0  # fmt: skip
    policy = tmp_path / "policy.md"
    policy.write_text("# AI policy\n", encoding="utf-8")
    assert run(workspace, "aims", "document", "add", "ai-policy", "--kind", "ai-policy", "--title", "AI policy",
               "--owner", "maria", "--file", str(policy)) == 0  # fmt: skip
    assert run(workspace, "aims", "document", "approve", "ai-policy", "--published-on", "2026-01-31") == 0
    capsys.readouterr()
    assert run(workspace, "aims", "policy", "show", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["location"].startswith("artifact:") and shown["next_review"] == "2027-01-31"
    assert run(workspace, "aims", "team", "add", "release", "maria", "--discipline", "legal") == 0
    capsys.readouterr()
    assert run(workspace, "aims", "team", "coverage", "release", "--json") == 1  # incomplete
    assert json.loads(capsys.readouterr().out)["missing"] == ["data-science", "engineering", "domain"]
    assert run(workspace, "aims", "team", "update", "release", "maria", "--discipline", "maths") == 2
    assert "unknown discipline 'maths'" in capsys.readouterr().err
    assert run(workspace, "aims", "role", "who", "top-management", "--json") == 0
    assert json.loads(capsys.readouterr().out) == ["maria"]
    for listing in (
        ("context", "list"),
        ("party", "list"),
        ("scope", "history"),
        ("document", "list"),
        ("document", "due", "--within-days", "400"),
        ("role", "list"),
        ("team", "list", "release"),
    ):
        assert run(workspace, "aims", *listing) == 0, listing  # fmt: skip
    assert workspace.audit.verify().ok
