"""The risk register and impact assessments on SQLite and PostgreSQL, through the services and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from assay.cli import main
from assay.errors import Conflict, InvalidInput, NotFound
from assay.governance.records import IMPACT_HEADINGS
from assay.services.risks import risk_record
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter

SYSTEM = {"name": "release", "eu_ai_act_category": "high", "annex_iii_area": 6}

RISK: dict[str, Any] = {
    "title": "Disparate false positive rates by race",
    "source": "data",
    "description": "Historic arrest data over-represents some neighbourhoods.",
    "affected": ["arrested people"],
    "likelihood": 4,
    "impact": 4,
    "treatment": "mitigate",
    "controls": ["iso42001:A.6.2.4", "nist-ai-rmf:MEASURE 2.11", "eu-ai-act:Art. 9"],
    "owner": "alice",
    "residual_likelihood": 2,
    "residual_impact": 3,
    "review_date": "2026-06-30",
}


def events(ws: Workspace, **where: Any) -> list[Any]:
    return ws.audit.log(EventFilter(**where))


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.systems.create(SYSTEM)
    return workspace


def run(ws: Workspace, *args: str, actor: str = "carol") -> int:
    return main(["--workspace", str(ws.root), "--actor", actor, *args])


# --- risks: services ---------------------------------------------------------------------------------------------


def test_risk_add_show_update_close_with_audit_events(ws: Workspace) -> None:
    risk = ws.risks.add("release", RISK)
    assert (risk.level, risk.residual_level, risk.status) == ("high", "medium", "open")
    assert risk.review_date == dt.date(2026, 6, 30)
    assert risk.controls == RISK["controls"]
    record = risk_record(ws.risks.get("release", risk.id))
    assert (record["score"], record["residual_score"]) == (16, 6)

    updated = ws.as_actor("bob").risks.update("release", risk.id, {"likelihood": 5, "owner": "bob"})
    assert (updated.likelihood, updated.impact, updated.level, updated.owner) == (5, 4, "critical", "bob")
    assert updated.residual_level == "medium" and updated.title == RISK["title"]

    closed = ws.as_actor("bob").risks.close("release", risk.id, reason="mitigated and monitored")
    assert closed.status == "closed"
    with pytest.raises(Conflict, match="is closed: reopen it"):
        ws.risks.update("release", risk.id, {"owner": "alice"})
    with pytest.raises(Conflict, match="already closed"):
        ws.risks.close("release", risk.id)
    assert ws.risks.reopen("release", risk.id).status == "open"

    log = events(ws, object_type="risks")
    assert [(e.action, e.actor) for e in log] == [
        ("risk.create", "alice"),
        ("risk.update", "bob"),
        ("risk.close", "bob"),
        ("risk.reopen", "alice"),
    ]
    assert log[0].before is None and log[0].after == log[1].before != log[1].after
    unauthenticated = {"authenticated": False}  # alice and bob acted under names taken on trust: the ledger says so
    assert dict(log[1].payload) == {"changed": ["likelihood", "owner"], **unauthenticated}
    assert dict(log[2].payload) == {
        "from": "open",
        "to": "closed",
        "reason": "mitigated and monitored",
        **unauthenticated,
    }
    assert all(e.object_id == str(risk.id) for e in log)
    assert ws.audit.verify().ok


@pytest.mark.parametrize(
    ("likelihood", "impact", "score", "level"),
    [
        (1, 1, 1, "low"),
        (2, 2, 4, "low"),
        (1, 5, 5, "medium"),
        (3, 3, 9, "medium"),
        (2, 5, 10, "high"),
        (4, 4, 16, "high"),
        (5, 4, 20, "critical"),
        (5, 5, 25, "critical"),
    ],
)
def test_risk_level_is_computed_from_the_matrix(
    ws: Workspace, likelihood: int, impact: int, score: int, level: str
) -> None:
    risk = ws.risks.add("release", {**RISK, "likelihood": likelihood, "impact": impact} | _no_residual())
    assert risk.level == level and risk.residual_level is None
    assert risk_record(risk)["score"] == score


def _no_residual() -> dict[str, Any]:
    return {"residual_likelihood": None, "residual_impact": None}


def test_control_aliases_are_stored_by_their_catalogue_id(ws: Workspace) -> None:
    risk = ws.risks.add("release", {**RISK, "controls": ["nist-ai-rmf:MS-2.11", " iso42001 : A.6.2.4 "]})
    assert risk.controls == ["nist-ai-rmf:MEASURE 2.11", "iso42001:A.6.2.4"]
    again = ws.risks.add("release", {**RISK, "controls": ["nist-ai-rmf:MS-2.11", "nist-ai-rmf:MEASURE 2.11"]})
    assert again.controls == ["nist-ai-rmf:MEASURE 2.11"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"likelihood": 6}, "likelihood: must be a whole number from 1 to 5, not 6"),
        ({"likelihood": 0}, "likelihood: must be a whole number from 1 to 5, not 0"),
        ({"likelihood": "3"}, "likelihood: must be a whole number from 1 to 5, not '3'"),
        ({"impact": True}, "impact: must be a whole number from 1 to 5, not True"),
        ({"impact": 2.0}, "impact: must be a whole number from 1 to 5, not 2.0"),
        ({"residual_impact": 9}, "residual_impact: must be a whole number from 1 to 5, not 9"),
        ({"treatment": "ignore"}, "treatment: Input should be 'avoid', 'mitigate', 'transfer' or 'accept'"),
        ({"controls": ["iso42001:A.99.9"]}, r"no control 'A.99.9' in iso42001"),
        (
            {"controls": ["nist:GOVERN 1"]},
            r"unknown framework 'nist' \(known: eu-ai-act, iso42001, nist-ai-600-1, nist-ai-rmf\)",
        ),
        ({"controls": ["A.6.2.4"]}, "write FRAMEWORK:CONTROL"),
        ({"residual_impact": None}, "give residual_likelihood and residual_impact together, or neither"),
        (
            {"likelihood": 2, "impact": 2},
            r"residual level medium \(2×3=6\) is above the inherent level low \(2×2=4\): a treatment cannot raise",
        ),
        ({"title": ""}, "title: String should have at least 1 character"),
        ({"review_date": "next week"}, "review_date"),
        ({"colour": "red"}, "colour: is not a known field"),
    ],
)
def test_bad_risks_write_nothing(ws: Workspace, changes: dict[str, Any], message: str) -> None:
    before = len(events(ws))
    with pytest.raises(InvalidInput, match=message):
        ws.risks.add("release", {**RISK, **changes})
    assert ws.risks.list("release") == []
    assert len(events(ws)) == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"likelihood": 6}, "likelihood: must be a whole number from 1 to 5, not 6"),
        ({"impact": "4"}, "impact: must be a whole number from 1 to 5, not '4'"),
        ({"likelihood": None}, "likelihood: must be a whole number from 1 to 5, not None"),
        ({"impact": 1}, "above the inherent level low"),  # 4×1 low, residual 2×3 medium
        ({"residual_likelihood": None}, "together, or neither"),
        ({"controls": ["eu-ai-act:Art. 999"]}, "no control 'Art. 999' in eu-ai-act"),
        ({}, "give at least one field to change"),
        ({"status": "closed"}, "status: is not a known field"),
    ],
)
def test_bad_risk_updates_write_nothing(ws: Workspace, changes: dict[str, Any], message: str) -> None:
    risk = ws.risks.add("release", RISK)
    before = len(events(ws))
    with pytest.raises(InvalidInput, match=message):
        ws.risks.update("release", risk.id, changes)
    stored = ws.risks.get("release", risk.id)
    assert (stored.likelihood, stored.impact, stored.level, stored.residual_level) == (4, 4, "high", "medium")
    assert len(events(ws)) == before


def test_risk_update_can_clear_the_residual_rating_and_recompute(ws: Workspace) -> None:
    risk = ws.risks.add("release", RISK)
    cleared = ws.risks.update("release", risk.id, {"residual_likelihood": None, "residual_impact": None})
    assert (cleared.residual_likelihood, cleared.residual_impact, cleared.residual_level) == (None, None, None)
    lowered = ws.risks.update("release", risk.id, {"likelihood": 1, "impact": 3})
    assert lowered.level == "low"


def test_risk_list_filters_and_lookups(ws: Workspace) -> None:
    ws.systems.create({"name": "other"})
    high = ws.risks.add("release", RISK)
    low = ws.risks.add("release", {**RISK, "likelihood": 1, "impact": 2} | _no_residual())
    other = ws.risks.add("other", RISK)
    ws.risks.close("release", low.id)
    assert [r.id for r in ws.risks.list("release")] == [high.id, low.id]
    assert [r.id for r in ws.risks.list("release", status="open")] == [high.id]
    assert [r.id for r in ws.risks.list("release", level="low")] == [low.id]
    assert ws.risks.list("release", status="open", level="low") == []
    with pytest.raises(InvalidInput, match="risk level 'severe' is not one of low, medium, high, critical"):
        ws.risks.list("release", level="severe")
    with pytest.raises(InvalidInput, match="risk status 'done' is not one of open, closed"):
        ws.risks.list("release", status="done")
    with pytest.raises(NotFound, match=f"no risk of 'release' with id {other.id}"):
        ws.risks.get("release", other.id)
    with pytest.raises(NotFound, match="no AI system named 'nope'"):
        ws.risks.add("nope", RISK)
    before = len(events(ws))
    with pytest.raises(NotFound):
        ws.risks.update("release", 9999, {"owner": "x"})
    assert len(events(ws)) == before


# --- impact assessments: services ----------------------------------------------------------------------------------


def _all_sections() -> dict[str, str]:
    return {key: f"{title}: text" for key, title in IMPACT_HEADINGS.items()}


def test_impact_assessment_draft_update_finalise(ws: Workspace) -> None:
    created = ws.impact_assessments.create(
        "release", {"title": "Release 2025", "sections": {"harms": " Wrongful detention ", "scope": "Toronto"}}
    )
    assert (created.status, created.assessor) == ("draft", "alice")
    assert list(created.sections) == ["scope", "harms"]  # the standard's order, text stripped
    assert created.sections["harms"] == "Wrongful detention"

    with pytest.raises(Conflict, match="cannot be finalised: these headings have no text: system_information, "):
        ws.impact_assessments.finalise("release", created.id)

    bob = ws.as_actor("bob")
    partial = bob.impact_assessments.update("release", created.id, {"sections": {"benefits": "Fewer detentions"}})
    assert partial.sections["scope"] == "Toronto" and partial.sections["benefits"] == "Fewer detentions"
    cleared = bob.impact_assessments.update("release", created.id, {"sections": {"scope": ""}})
    assert "scope" not in cleared.sections
    full = bob.impact_assessments.update("release", created.id, {"sections": _all_sections(), "title": "Release"})
    assert full.title == "Release" and len(full.sections) == len(IMPACT_HEADINGS)
    final = bob.impact_assessments.finalise("release", created.id)
    assert final.status == "final"

    before = len(events(ws))
    with pytest.raises(Conflict, match="is final and cannot change: create a new one"):
        ws.impact_assessments.update("release", created.id, {"title": "Changed"})
    with pytest.raises(Conflict, match="already final"):
        ws.impact_assessments.finalise("release", created.id)
    assert len(events(ws)) == before
    assert ws.impact_assessments.get("release", created.id).title == "Release"
    assert [a.id for a in ws.impact_assessments.list("release", status="final")] == [created.id]
    assert ws.impact_assessments.list("release", status="draft") == []

    log = events(ws, object_type="impact_assessments")
    assert [(e.action, e.actor) for e in log] == [
        ("impact_assessment.create", "alice"),
        ("impact_assessment.update", "bob"),
        ("impact_assessment.update", "bob"),
        ("impact_assessment.update", "bob"),
        ("impact_assessment.finalise", "bob"),
    ]
    assert dict(log[1].payload) == {"changed": ["sections.benefits"], "authenticated": False}  # bob taken on trust
    assert ws.audit.verify().ok


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"title": "x", "sections": {"risks": "..."}}, "unknown heading 'risks' \\(known: scope, system_information"),
        ({"title": "", "sections": {}}, "title: String should have at least 1 character"),
        ({"title": "x", "status": "final"}, "status: is not a known field"),
    ],
)
def test_bad_impact_assessments_write_nothing(ws: Workspace, spec: dict[str, Any], message: str) -> None:
    before = len(events(ws))
    with pytest.raises(InvalidInput, match=message):
        ws.impact_assessments.create("release", spec)
    assert ws.impact_assessments.list("release") == []
    assert len(events(ws)) == before


def test_bad_impact_assessment_update_writes_nothing(ws: Workspace) -> None:
    created = ws.impact_assessments.create("release", {"title": "x", "sections": {"scope": "Toronto"}})
    before = len(events(ws))
    with pytest.raises(InvalidInput, match="unknown heading 'harm'"):
        ws.impact_assessments.update("release", created.id, {"sections": {"harm": "typo"}})
    with pytest.raises(InvalidInput, match="at least one field"):
        ws.impact_assessments.update("release", created.id, {})
    assert len(events(ws)) == before
    assert ws.impact_assessments.get("release", created.id).sections == {"scope": "Toronto"}


# --- the CLI -------------------------------------------------------------------------------------------------------


def test_risk_cli(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["risk", "add", "release", "--title", "Automation bias", "--source", "human oversight"]
    args += ["--likelihood", "5", "--impact", "4", "--treatment", "mitigate", "--control", "iso42001:A.6.2.4"]
    args += ["--control", "eu-ai-act:Art. 14", "--affected", "arrested people", "--residual-likelihood", "3"]
    args += ["--residual-impact", "4", "--review-date", "2026-01-31", "--json"]
    assert run(ws, *args) == 0
    added = json.loads(capsys.readouterr().out)
    assert (added["score"], added["level"], added["residual_score"], added["residual_level"]) == (
        20,
        "critical",
        12,
        "high",
    )
    assert added["controls"] == ["iso42001:A.6.2.4", "eu-ai-act:Art. 14"]

    assert run(ws, "risk", "update", "release", str(added["id"]), "--likelihood", "2", "--clear-residual") == 0
    assert "medium" in capsys.readouterr().out
    assert run(ws, "risk", "list", "release", "--level", "medium", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listed] == [added["id"]] and listed[0]["residual_level"] is None
    assert run(ws, "risk", "show", "release", str(added["id"])) == 0
    assert "Automation bias" in capsys.readouterr().out
    assert run(ws, "risk", "close", "release", str(added["id"]), "--reason", "accepted by board") == 0
    assert "is now closed" in capsys.readouterr().out
    assert run(ws, "risk", "list", "release") == 0
    assert "Automation bias" in capsys.readouterr().out

    log = events(ws, object_type="risks")
    assert [(e.action, e.actor) for e in log] == [(f"risk.{a}", "carol") for a in ("create", "update", "close")]
    assert ws.audit.verify().ok


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--likelihood", "6"], "likelihood: must be a whole number from 1 to 5, not 6"),
        (["--likelihood", "0"], "likelihood: must be a whole number from 1 to 5, not 0"),
        (["--control", "iso42001:Z.1"], "no control 'Z.1' in iso42001"),
        (["--control", "iso9001:8.5"], "unknown framework 'iso9001'"),
        (["--residual-likelihood", "5", "--residual-impact", "5"], "a treatment cannot raise the risk"),
        (["--review-date", "31/01/2026"], "--review-date '31/01/2026': write a date as YYYY-MM-DD"),
    ],
)
def test_risk_cli_bad_input_exits_2_with_one_line(
    ws: Workspace, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    before = len(events(ws))
    base = ["risk", "add", "release", "--title", "t", "--source", "data", "--impact", "3", "--treatment", "accept"]
    if "--likelihood" not in extra:
        base += ["--likelihood", "3"]
    assert run(ws, *base, *extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert len(events(ws)) == before


def test_impact_cli(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["impact", "create", "release", "--title", "Release IA", "--section", "scope=Toronto stations"]
    assert run(ws, *args, "--section", "harms=Wrongful detention", "--json") == 0
    created = json.loads(capsys.readouterr().out)
    assert created["sections"] == {"scope": "Toronto stations", "harms": "Wrongful detention"}
    ident = str(created["id"])

    assert run(ws, "impact", "finalise", "release", ident) == 2
    assert "these headings have no text: system_information" in capsys.readouterr().err
    sections = [f"--section={key}=text of {key}" for key in IMPACT_HEADINGS]
    assert run(ws, "impact", "update", "release", ident, *sections) == 0
    assert "text of benefits" in capsys.readouterr().out
    assert run(ws, "impact", "finalise", "release", ident) == 0
    assert "is now final" in capsys.readouterr().out
    assert run(ws, "impact", "update", "release", ident, "--title", "x") == 2
    assert "create a new one" in capsys.readouterr().err
    assert run(ws, "impact", "list", "release", "--json") == 0
    assert [a["status"] for a in json.loads(capsys.readouterr().out)] == ["final"]
    assert run(ws, "impact", "show", "release", ident) == 0
    assert "Actual and reasonably foreseeable harms" in capsys.readouterr().out

    assert run(ws, "impact", "create", "release", "--title", "t", "--section", "harms") == 2
    assert "write HEADING=TEXT" in capsys.readouterr().err
    assert run(ws, "impact", "create", "release", "--title", "t", "--section", "risk=x") == 2
    assert "unknown heading 'risk'" in capsys.readouterr().err
    assert [e.actor for e in events(ws, object_type="impact_assessments")] == ["carol"] * 3
    assert ws.audit.verify().ok


# --- the user guide ------------------------------------------------------------------------------------------------


def test_the_guide_documents_every_option_and_heading() -> None:
    from typer.main import get_command

    from assay.cli import app

    text = (Path(__file__).resolve().parents[2] / "docs" / "risks-and-incidents.md").read_text(encoding="utf-8")
    root = get_command(app)
    groups = {name: root.commands[name] for name in ("risk", "impact", "incident")}  # type: ignore[attr-defined]
    groups["incident action"] = groups["incident"].commands["action"]  # type: ignore[attr-defined]
    for group_name, group in groups.items():
        for name, command in group.commands.items():  # type: ignore[attr-defined]
            if name == "action":
                continue
            assert f"assay {group_name} {name} " in text, f"{group_name} {name}"
            for param in command.params:
                for option in param.opts:
                    if option.startswith("--") and option not in {"--json", "--help"}:
                        assert f"`{option}" in text or f" {option} " in text, f"{group_name} {name} {option}"
    for key, title in IMPACT_HEADINGS.items():
        assert f"| `{key}` | {title} |" in text


def test_risks_across_systems_are_filtered_sorted_and_paged_for_the_viewer(ws: Workspace, people: Any) -> None:
    from assay.services.risks import RiskQuery

    ws.systems.create({"name": "other"})
    base = {"source": "data", "treatment": "mitigate", "owner": "bob"}
    ws.risks.add("release", {**base, "title": "100% of 50_50 cases", "likelihood": 5, "impact": 5})
    ws.risks.add("release", {**base, "title": "late", "likelihood": 1, "impact": 2, "review_date": "2020-01-01"})
    ws.risks.add("release", {**base, "title": "undated", "likelihood": 3, "impact": 3, "owner": ""})
    ws.risks.add("other", {**base, "title": "elsewhere", "likelihood": 4, "impact": 4})
    bob = people("bob", release="owner")
    assert bob.access.members("release") == {"bob": "owner"}
    mine = bob.risks.across()
    assert [r["title"] for r in mine] == ["100% of 50_50 cases", "undated", "late"]  # the most severe first
    assert {r["system"] for r in mine} == {"release"} and mine.total == 3  # "other" is not bob's
    for desc in (False, True):  # without a review date: last, whichever the direction
        dated = [r["title"] for r in bob.risks.across(RiskQuery(sort="review_date", desc=desc))]
        assert dated == ["late", "100% of 50_50 cases", "undated"]
    late = bob.risks.across(RiskQuery(overdue=True, today=dt.date(2021, 1, 1)))
    assert [(r["title"], r["overdue"]) for r in late] == [("late", True)]
    assert bob.risks.across(RiskQuery(q="0%")).total == 1 and bob.risks.across(RiskQuery(q="0_5")).total == 1
    assert bob.risks.across(RiskQuery(q="x%")).total == 0  # % and _ are the title's own characters
    page = ws.risks.across(RiskQuery(sort="system", desc=False), limit=2, offset=2)
    assert page.total == 4 and [r["system"] for r in page] == ["release", "release"]
    assert [r["title"] for r in ws.risks.across(RiskQuery(likelihood=4, impact=4))] == ["elsewhere"]
    assert bob.risks.owners() == ("bob",)
    with pytest.raises(InvalidInput, match="cannot sort risks by 'score'"):
        ws.risks.across(RiskQuery(sort="score"))
    with pytest.raises(InvalidInput, match="risk level 'severe' is not one of"):
        ws.risks.across(RiskQuery(level="severe"))
    with pytest.raises(NotFound):
        bob.access.members("other")
