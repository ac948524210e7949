"""The management system's organisational records (ISO/IEC 42001 4.1-4.3, 5.2, 5.3, 7.5, A.3.2) through
``ws.aims``: context and scope, documents and policies, roles, teams and the gate's ``team`` rule. Every rule named
in the issue has a test here; each runs on SQLite and PostgreSQL (the ``workspace`` fixture) and ends with the
ledger verifying."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.governance.aims_org import add_months, coverage
from assay.services.workspace import Workspace
from assay.store.audit import EventFilter
from tests.support.people import People


def actions(ws: Workspace, prefix: str) -> list[str]:
    return [e.action for e in ws.audit.log(EventFilter()) if e.action.startswith(prefix)]


@pytest.fixture
def org(people: People) -> People:
    """An admin who names omar management-system owner, and maria and tom top management; pat is a member."""
    admin = people.admin
    for name in ("omar", "maria", "tom", "pat"):
        people(name)
    admin.aims.roles.assign("management-system-owner", "omar", area="AI management system")
    admin.aims.roles.assign("top-management", "maria", area="board")
    admin.aims.roles.assign("top-management", "tom", area="board")
    admin.systems.create({"name": "release", "eu_ai_act_category": "high", "annex_iii_area": 6})
    admin.systems.create({"name": "triage", "eu_ai_act_category": "limited"})
    return people


def test_context_issues_and_parties(org: People) -> None:
    omar, pat = org("omar"), org("pat")
    issue = omar.aims.context.add_issue("external", "EU AI Act obligations", category="legal")
    omar.aims.context.add_issue("internal", "Few data scientists", description="two people", category="staff")
    updated = omar.aims.context.update_issue(issue.id, description="Art. 6 and Annex III apply to release")
    assert (updated.kind, updated.category, updated.created_by) == ("external", "legal", "omar")
    assert [i.title for i in omar.aims.context.issues(kind="external")] == ["EU AI Act obligations"]
    omar.aims.context.retire_issue(issue.id, reason="covered by the scope")
    assert [i.kind for i in omar.aims.context.issues()] == ["internal"]
    assert len(omar.aims.context.issues(status=None)) == 2
    with pytest.raises(Conflict, match="retired"):
        omar.aims.context.update_issue(issue.id, title="again")
    with pytest.raises(InvalidInput, match=r"issue\.kind must be one of internal, external, not 'outside'"):
        omar.aims.context.add_issue("outside", "x")
    with pytest.raises(InvalidInput, match=r"unknown field 'colour'"):
        omar.aims.context.update_issue(issue.id, colour="red")

    party = omar.aims.context.add_party(
        "Parole Board", "regulator", requirements=["explain each recommendation"], addressed_by=["iso42001:A.8.2"]
    )
    with pytest.raises(Conflict, match=r"party\.name: an interested party named 'Parole Board' exists"):
        omar.aims.context.add_party("parole board", "customer")
    omar.aims.context.add_party("Detainees", "affected-persons", requirements=["contest a decision"])
    changed = omar.aims.context.update_party("PAROLE BOARD", requirements=["explain", "audit yearly"])
    assert changed.id == party.id and changed.requirements == ["explain", "audit yearly"]
    with pytest.raises(InvalidInput, match=r"party\.category must be one of customer, .*, not 'press'"):
        omar.aims.context.add_party("Press", "press")
    omar.aims.context.retire_party("detainees", reason="merged")
    assert [p.name for p in omar.aims.context.parties()] == ["Parole Board"]
    with pytest.raises(NotFound, match="no interested party named 'nobody'"):
        omar.aims.context.party("nobody")

    # the manager rule: a plain member is refused, the management-system owner (and an admin) may
    with pytest.raises(PermissionDenied, match="pat may not record an issue"):
        pat.aims.context.add_issue("internal", "x")
    with pytest.raises(PermissionDenied, match="needs an authenticated user"):
        org.base.as_actor("omar").aims.context.add_issue("internal", "x")
    assert actions(org.admin, "aims.").count("aims.issue.create") == 2
    assert {"aims.issue.update", "aims.issue.retire", "aims.party.update", "aims.party.retire"} <= set(
        actions(org.admin, "aims.")
    )
    assert org.admin.audit.verify().ok


def test_scope_versions_with_reasons_and_known_systems(org: People) -> None:
    omar = org("omar")
    assert omar.aims.context.scope() is None
    with pytest.raises(InvalidInput, match=r"scope\.systems\[1\]: no AI system named 'ghost'"):
        omar.aims.context.set_scope("AI at the ministry", systems=["release", "ghost"])
    with pytest.raises(InvalidInput, match=r"scope\.exclusions\[0\]\.why: 'HR chatbot' is excluded without a reason"):
        omar.aims.context.set_scope("AI at the ministry", exclusions=[{"what": "HR chatbot", "why": " "}])
    with pytest.raises(InvalidInput, match=r"scope\.statement is empty"):
        omar.aims.context.set_scope("")
    first = omar.aims.context.set_scope(
        "Decision support at the ministry", systems=["RELEASE"], units=["Probation"], sites=["Utrecht"],
        exclusions=[{"what": "HR chatbot", "why": "a supplier's service, covered by its contract"}],
    )  # fmt: skip
    assert (first.version, first.systems) == (1, ["release"])
    second = omar.aims.context.set_scope("Decision support and triage", systems=["triage"], units=["Probation"])
    assert omar.aims.context.scope().version == second.version == 2  # type: ignore[union-attr]
    history = omar.aims.context.scopes()
    assert [(h["version"], h["added"], h["removed"]) for h in history] == [
        (1, ["release"], []),
        (2, ["triage"], ["release"]),
    ]
    assert history[0]["exclusions"] == [{"what": "HR chatbot", "why": "a supplier's service, covered by its contract"}]
    with pytest.raises(PermissionDenied):
        org("pat").aims.context.set_scope("mine")
    events = org.admin.audit.log(EventFilter(action="aims.scope.set"))
    assert events[-1].payload["systems"] == {"added": ["triage"], "removed": ["release"]}
    assert org.admin.audit.verify().ok


def test_the_ai_policy_is_approved_by_top_management_not_its_author(org: People) -> None:
    omar, maria, tom = org("omar"), org("maria"), org("tom")
    draft = omar.aims.documents.add(
        "ai-policy", "ai-policy", "AI policy", "maria", text="We use AI lawfully, fairly and under oversight.",
        review_months=12,
    )  # fmt: skip
    assert (draft.version, draft.status, draft.created_by) == (1, "draft", "omar")
    with pytest.raises(PermissionDenied, match="omar does not hold top-management"):
        omar.aims.documents.approve("ai-policy")  # a management-system owner is not top management
    with pytest.raises(PermissionDenied, match="admin does not hold top-management"):
        org.admin.aims.documents.approve("ai-policy")  # nor is an admin
    with pytest.raises(PermissionDenied, match="needs an authenticated user"):
        org.base.as_actor("maria").aims.documents.approve("ai-policy")
    first = maria.aims.documents.approve("ai-policy", published_on=dt.date(2026, 1, 31))
    assert (first.status, first.approved_by, first.approver_role) == ("approved", "maria", "top-management")
    assert (first.published_on, first.next_review) == (dt.date(2026, 1, 31), dt.date(2027, 1, 31))
    assert omar.aims.documents.policy().id == first.id  # type: ignore[union-attr]

    maria.aims.documents.add("ai-policy", "ai-policy", "AI policy", "maria", text="v2: adds contestability.")
    with pytest.raises(Conflict, match="has a draft \\(version 2\\)"):
        omar.aims.documents.add("ai-policy", "ai-policy", "AI policy", "maria", text="v3")
    with pytest.raises(PermissionDenied, match="maria drafted version 2 and may not approve it \\(four eyes"):
        maria.aims.documents.approve("ai-policy", 2)
    second = tom.aims.documents.approve("ai-policy", 2)
    history = omar.aims.documents.history("ai-policy")
    assert [(d.version, d.status) for d in history] == [(1, "superseded"), (2, "approved")]  # both kept
    assert history[0].text.startswith("We use AI") and second.approved_by == "tom"
    assert [d.version for d in omar.aims.documents.list()] == [2]

    # one AI policy at a time: a second document of kind ai-policy cannot be approved beside it
    omar.aims.documents.add("ai-policy-b", "ai-policy", "Another AI policy", "tom", text="...")
    with pytest.raises(Conflict, match="the AI policy in force is 'ai-policy' version 2: there is one AI policy"):
        maria.aims.documents.approve("ai-policy-b")
    with pytest.raises(Conflict, match="ai-policy-b' is a ai-policy, its new version cannot be a procedure"):
        omar.aims.documents.add("ai-policy-b", "procedure", "x", "tom", text="x")
    with pytest.raises(PermissionDenied, match="withdrawing the approved ai-policy"):
        omar.aims.documents.withdraw("ai-policy", reason="replaced")
    maria.aims.documents.withdraw("ai-policy", reason="replaced by ai-policy-b")
    assert maria.aims.documents.approve("ai-policy-b").status == "approved"
    assert [d.key for d in omar.aims.documents.list(kind="ai-policy", status="approved")] == ["ai-policy-b"]
    assert actions(org.admin, "aims.document").count("aims.document.supersede") == 1
    assert org.admin.audit.verify().ok


def test_documents_register_locations_and_reviews(org: People, tmp_path: Path) -> None:
    omar, pat = org("omar"), org("pat")
    procedure = tmp_path / "incident-procedure.pdf"
    procedure.write_bytes(b"%PDF-1.4 the incident procedure")
    doc = omar.aims.documents.add("incident-procedure", "procedure", "Incident procedure", "omar", file=procedure,
                                  review_months=6)  # fmt: skip
    assert doc.location.startswith("artifact:") and omar.artifacts.has(doc.location.partition(":")[2])
    again = omar.aims.documents.add("risk-method", "procedure", "Risk method", "omar", location=doc.location)
    assert again.location == doc.location
    url = omar.aims.documents.add("soa", "record", "SoA", "pat", location="https://intranet.example/soa")
    with pytest.raises(InvalidInput, match=r"document\.location 'ftp://x/y' is neither artifact:SHA256"):
        omar.aims.documents.add("x", "record", "x", "omar", location="ftp://x/y")
    with pytest.raises(InvalidInput, match=r"document\.location: no file artifact:0{64} in the artifact store"):
        omar.aims.documents.add("x", "record", "x", "omar", location="artifact:" + "0" * 64)
    with pytest.raises(InvalidInput, match=r"document\.owner: no user named 'zed'"):
        omar.aims.documents.add("x", "record", "x", "zed", text="x")
    with pytest.raises(InvalidInput, match=r"document: give its text, a file or a location"):
        omar.aims.documents.add("x", "record", "x", "omar")
    with pytest.raises(InvalidInput, match=r"document\.key must be lower-case"):
        omar.aims.documents.add("X Y", "record", "x", "omar", text="x")
    with pytest.raises(InvalidInput, match=r"document\.kind must be one of ai-policy, .*, not 'memo'"):
        omar.aims.documents.add("x", "memo", "x", "omar", text="x")
    with pytest.raises(PermissionDenied, match="pat may not add a document"):
        pat.aims.documents.add("x", "record", "x", "omar", text="x")

    # other kinds are approved by a manager, not by a plain member
    with pytest.raises(PermissionDenied, match="pat may not approve document 'soa'"):
        pat.aims.documents.approve("soa")
    approved = omar.aims.documents.approve("incident-procedure", published_on=dt.date(2026, 8, 31))
    assert (approved.approver_role, approved.next_review) == ("management-system-owner", dt.date(2027, 2, 28))
    org.admin.aims.documents.approve("soa", published_on=dt.date(2026, 9, 1))
    due = omar.aims.documents.due_for_review(30, today=dt.date(2027, 2, 1))
    assert [d.key for d in due] == ["incident-procedure"]
    assert [d.key for d in omar.aims.documents.due_for_review(400, today=dt.date(2027, 2, 1))] == [
        "incident-procedure", "soa"
    ]  # fmt: skip
    with pytest.raises(Conflict, match="is approved: only a draft is approved"):
        omar.aims.documents.approve("soa", 1)
    withdrawn = omar.aims.documents.withdraw("risk-method", reason="merged into the risk procedure")
    assert withdrawn.status == "withdrawn" and url.status == "draft"
    assert {d.key: d.status for d in omar.aims.documents.list()} == {
        "incident-procedure": "approved", "risk-method": "withdrawn", "soa": "approved"
    }  # fmt: skip
    assert omar.aims.documents.counts()["approved"] == 2
    with pytest.raises(InvalidInput, match=r"reason is empty"):
        omar.aims.documents.withdraw("soa", reason="")
    assert org.admin.audit.verify().ok


def test_roles_assign_end_list_and_who(org: People) -> None:
    omar, pat = org("omar"), org("pat")
    a = omar.aims.roles.assign("risk-owner", "pat", system="release", area="release", responsibilities="risks")
    omar.aims.roles.assign("internal-auditor", "tom", area="internal audit")
    with pytest.raises(Conflict, match="pat already holds risk-owner for release"):
        omar.aims.roles.assign("risk-owner", "pat", system="release")
    with pytest.raises(InvalidInput, match=r"role must be one of top-management, .*, not 'boss'"):
        omar.aims.roles.assign("boss", "pat")
    with pytest.raises(InvalidInput, match=r"person: no user named 'zed'"):
        omar.aims.roles.assign("reviewer", "zed")
    with pytest.raises(InvalidInput, match="until 2026-01-01 is before since 2026-02-01"):
        omar.aims.roles.assign("reviewer", "pat", since=dt.date(2026, 2, 1), until=dt.date(2026, 1, 1))
    with pytest.raises(PermissionDenied, match="pat may not assign a governance role"):
        pat.aims.roles.assign("reviewer", "pat")
    assert omar.aims.roles.who("top-management") == ["maria", "tom"]
    assert omar.aims.roles.who("risk-owner", "release") == ["pat"]
    assert omar.aims.roles.who("risk-owner") == []  # held for a system, not the organisation
    listed = omar.aims.roles.list(person="pat")
    assert [(r["role"], r["system"], r["area"]) for r in listed] == [("risk-owner", "release", "release")]
    assert {r["role"] for r in omar.aims.roles.list(system="release")} == {
        "risk-owner", "internal-auditor", "management-system-owner", "top-management"
    }  # fmt: skip
    ended = omar.aims.roles.end(a.id, reason="moved")
    assert ended.status == "ended" and omar.aims.roles.who("risk-owner", "release") == []
    assert len(omar.aims.roles.list(person="pat", active=False)) == 1
    with pytest.raises(Conflict, match="has already ended"):
        omar.aims.roles.end(a.id)
    assert org.admin.audit.verify().ok


def test_team_coverage_and_the_gate_rule(org: People) -> None:
    omar, pat = org("omar"), org("pat")
    admin = org.admin
    admin.models.register_version("release", {"model": "lr", "version": "1"})
    org("olga", release="owner")
    olga = org("olga")

    def team_rule() -> dict[str, object]:
        decision = admin.gates.evaluate("release", "lr@1")
        return next(r for r in decision["results"] if r["rule"] == "team-disciplines")

    result = team_rule()
    assert result["status"] == "failed"
    assert "lacks data-science, engineering, legal, domain" in str(result["message"])

    with pytest.raises(
        InvalidInput, match=r"disciplines: unknown discipline 'maths' \(known: data-science, engineering"
    ):
        omar.aims.teams.add("release", "pat", ["maths"])
    with pytest.raises(NotFound, match="no AI system named 'release'"):  # pat cannot see it
        pat.aims.teams.add("release", "pat", ["legal"])
    org("pat", release="viewer")
    with pytest.raises(PermissionDenied, match="pat may not change the team of 'release'"):
        pat.aims.teams.add("release", "pat", ["legal"])
    omar.aims.teams.add("release", "pat", ["data-science", "engineering"], role="lead")
    olga.aims.teams.add("release", "olga", ["domain"])  # the system's owner keeps its team
    with pytest.raises(Conflict, match="pat is already in the team"):
        omar.aims.teams.add("release", "pat", ["legal"])
    cover = omar.aims.teams.coverage("release")
    assert cover["required"] == ["data-science", "engineering", "legal", "domain"]
    assert cover["missing"] == ["legal"] and cover["covered"]["domain"] == ["olga"] and not cover["complete"]
    result = team_rule()
    assert result["status"] == "failed" and "lacks legal" in str(result["message"])
    assert [f["passed"] for f in result["findings"]] == [True, True, False, True]  # type: ignore[index]

    omar.aims.teams.update("release", "olga", disciplines=["domain", "legal"])
    assert team_rule()["status"] == "passed"
    assert omar.aims.teams.coverage("release", ["ethics"])["missing"] == ["ethics"]
    omar.aims.teams.remove("release", "olga", reason="left")
    assert team_rule()["status"] == "failed" and [m.person for m in omar.aims.teams.list("release")] == ["pat"]
    omar.aims.teams.add("release", "olga", ["legal", "domain"])  # back again
    assert team_rule()["status"] == "passed"

    # a policy of one's own names its set; other categories pass with a note
    admin.models.register_version("triage", {"model": "lr", "version": "1"})
    policy = "schema: assay.policy/1\nname: t\nrules:\n  - {id: team, team: {disciplines: [ethics]}}\n"
    (limited,) = admin.gates.evaluate("triage", "lr@1", policy_text=policy)["results"]
    assert limited["status"] == "passed" and limited["message"].startswith("not required for a limited-risk")
    bad = "schema: assay.policy/1\nname: t\nrules:\n  - {id: team, team: {disciplines: [maths]}}\n"
    with pytest.raises(InvalidInput, match=r"rules\[0\]\.team\.disciplines\[0\]"):
        admin.gates.evaluate("triage", "lr@1", policy_text=bad)
    assert set(actions(admin, "aims.team")) == {"aims.team.add", "aims.team.update", "aims.team.remove"}
    assert admin.audit.verify().ok


def test_pure_rules() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 11, 15), 14) == dt.date(2028, 1, 15)
    team = {"ann": ["legal"], "bo": ["legal", "ethics"]}
    assert coverage(team, ["legal", "domain"]) == {
        "required": ["legal", "domain"], "covered": {"legal": ["ann", "bo"]}, "missing": ["domain"],
        "other": {"ethics": ["bo"]},
    }  # fmt: skip
