"""The gate's oversight facts from the store: a high-risk system fails the default policy's ``oversight-in-place``
rule without an active review queue (human-in-the-loop) or a named, active overseer (on or over the loop), and
passes once it has one. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from assay.services.workspace import Workspace
from tests.support.oversight import add_config
from tests.support.people import People


def oversight_result(ws: Workspace, system: str) -> dict[str, Any]:
    decision = ws.gates.evaluate(system, "lr@1")
    return next(r for r in decision["results"] if r["rule"] == "oversight-in-place")


def test_a_high_risk_system_needs_its_review_queue_or_a_named_overseer(workspace: Workspace, people: People) -> None:
    admin = people.admin
    admin.systems.create({"name": "loans", "eu_ai_act_category": "high", "annex_iii_area": 5})
    admin.models.register_version("loans", {"model": "lr", "version": "1"})
    # human-in-the-loop (the default mode): no review configuration yet
    result = oversight_result(admin, "loans")
    assert result["status"] == "failed" and "needs an active review queue" in result["message"]
    assert result["findings"][1]["observed"] == "none configured"
    add_config(workspace, "loans")
    assert oversight_result(admin, "loans")["status"] == "passed"
    add_config(workspace, "loans", active=False)  # the newest version switches the queue off
    result = oversight_result(admin, "loans")
    assert result["status"] == "failed" and result["findings"][1]["observed"] == "version 2, switched off"

    # on the loop: a named overseer, an active user with the overseer role
    admin.systems.update("loans", {"oversight": "human_on_the_loop"})
    result = oversight_result(admin, "loans")
    assert result["status"] == "failed" and "named overseer" in result["message"]
    people("rita", loans="reviewer")  # a reviewer is not an overseer
    people("olga", loans="overseer")
    result = oversight_result(admin, "loans")
    assert result["status"] == "passed" and result["findings"][2]["observed"] == "olga"
    admin.access.deactivate("olga")
    assert oversight_result(admin, "loans")["status"] == "failed"


def test_other_categories_pass_with_a_note(workspace: Workspace) -> None:
    workspace.systems.create({"name": "chat", "eu_ai_act_category": "limited"})
    workspace.models.register_version("chat", {"model": "lr", "version": "1"})
    policy = "schema: assay.policy/1\nname: t\nrules:\n  - {id: oversight-in-place, oversight: {}}\n"
    decision = workspace.gates.evaluate("chat", "lr@1", policy_text=policy)
    (result,) = decision["results"]
    assert result["status"] == "passed" and result["message"].startswith("not required for a limited-risk system")
