"""``assay aims context|party|scope|document|policy|role|team``: the organisation's context and scope (ISO/IEC 42001
4.1-4.3), documents and policies (5.2, 7.5), governance roles and AI systems' teams (5.3, A.3.2); thin shells over
``workspace.aims``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli._shell import JsonOption, open_workspace, parse_date, print_json, print_record, table
from assay.errors import InvalidInput
from assay.governance.aims import DISCIPLINES, DOCUMENT_KINDS, GOVERNANCE_ROLES, PARTY_CATEGORIES

__all__ = ["register"]

context_app = typer.Typer(help="Internal and external issues (4.1): add, update, retire, list.", no_args_is_help=True)
party_app = typer.Typer(help="Interested parties and their requirements (4.2).", no_args_is_help=True)
scope_app = typer.Typer(help="The scope of the management system (4.3), in versions.", no_args_is_help=True)
document_app = typer.Typer(help="The register of documented information (7.5): versions, approval, reviews.",
                           no_args_is_help=True)  # fmt: skip
policy_app = typer.Typer(help="The AI policy and topic policies (5.2): what is in force.", no_args_is_help=True)
role_app = typer.Typer(help="Governance roles held by people (5.3): assign, end, list, who.", no_args_is_help=True)
team_app = typer.Typer(help="An AI system's team and its disciplines (A.3.2): add, update, remove, list, coverage.",
                       no_args_is_help=True)  # fmt: skip

_Optional = Annotated[str | None, typer.Option(show_default=False)]
_ISSUE_COLUMNS = ["id", "kind", "title", "category", "status", "created_by", "updated_at"]
_PARTY_COLUMNS = ["name", "category", "requirements", "addressed_by", "status"]
_DOC_COLUMNS = ["key", "version", "kind", "title", "owner", "status", "approved_by", "published_on", "next_review"]
_ROLE_COLUMNS = ["id", "role", "person", "system", "area", "since", "until", "status"]
_TEAM_COLUMNS = ["person", "disciplines", "role", "active", "updated_at"]


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


# -- issues --------------------------------------------------------------------------------------------------------


@context_app.command("add")
def context_add(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="internal or external.")],
    title: Annotated[str, typer.Argument(help="The issue, in a line.")],
    description: Annotated[str, typer.Option(help="More about it.")] = "",
    category: Annotated[str, typer.Option(help="legal, technical, social, economic, ... (free text).")] = "",
    as_json: JsonOption = False,
) -> None:
    """Record an internal or external issue."""
    issue = open_workspace(ctx).aims.context.add_issue(kind, title, description=description, category=category)
    print_record(issue.state(), title=f"issue {issue.id}", as_json=as_json)


@context_app.command("update")
def context_update(
    ctx: typer.Context,
    issue_id: Annotated[int, typer.Argument(help="The issue's id.")],
    kind: _Optional = None,
    title: _Optional = None,
    description: _Optional = None,
    category: _Optional = None,
    as_json: JsonOption = False,
) -> None:
    """Change an active issue."""
    changes = _given(kind=kind, title=title, description=description, category=category)
    issue = open_workspace(ctx).aims.context.update_issue(issue_id, **changes)
    print_record(issue.state(), title=f"issue {issue.id}", as_json=as_json)


@context_app.command("retire")
def context_retire(
    ctx: typer.Context,
    issue_id: Annotated[int, typer.Argument(help="The issue's id.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
) -> None:
    """Retire an issue that no longer applies (kept)."""
    open_workspace(ctx).aims.context.retire_issue(issue_id, reason=reason)
    typer.echo(f"issue {issue_id} retired")


@context_app.command("list")
def context_list(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help="internal or external.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Retired ones too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the issues (active ones unless --all)."""
    rows = open_workspace(ctx).aims.context.issues(kind=kind, status=None if all_ else "active")
    table([r.state() for r in rows], _ISSUE_COLUMNS, title="Issues", as_json=as_json)


# -- parties -------------------------------------------------------------------------------------------------------

_Requirement = Annotated[list[str] | None, typer.Option("--requirement", help="What they require. Repeatable.")]
_Addressed = Annotated[
    list[str] | None, typer.Option("--addressed-by", help="A control id or document key addressing it. Repeatable.")
]


@party_app.command("add")
def party_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The party (unique regardless of case).")],
    category: Annotated[str, typer.Option(help=f"One of {', '.join(PARTY_CATEGORIES)}.")],
    requirement: _Requirement = None,
    addressed_by: _Addressed = None,
    as_json: JsonOption = False,
) -> None:
    """Record an interested party with its requirements."""
    party = open_workspace(ctx).aims.context.add_party(
        name, category, requirements=requirement or [], addressed_by=addressed_by or []
    )
    print_record(party.state(), title=f"party {party.name}", as_json=as_json)


@party_app.command("update")
def party_update(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The party.")],
    new_name: Annotated[str | None, typer.Option("--name", help="A new name.", show_default=False)] = None,
    category: _Optional = None,
    requirement: _Requirement = None,
    addressed_by: _Addressed = None,
    as_json: JsonOption = False,
) -> None:
    """Change a party (the lists given replace the stored ones)."""
    changes = _given(name=new_name, category=category, requirements=requirement, addressed_by=addressed_by)
    party = open_workspace(ctx).aims.context.update_party(name, **changes)
    print_record(party.state(), title=f"party {party.name}", as_json=as_json)


@party_app.command("retire")
def party_retire(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The party.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
) -> None:
    """Retire an interested party (kept)."""
    party = open_workspace(ctx).aims.context.retire_party(name, reason=reason)
    typer.echo(f"party {party.name} retired")


@party_app.command("list")
def party_list(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Retired ones too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the interested parties."""
    rows = open_workspace(ctx).aims.context.parties(status=None if all_ else "active")
    table([r.state() for r in rows], _PARTY_COLUMNS, title="Interested parties", as_json=as_json)


# -- scope ---------------------------------------------------------------------------------------------------------


@scope_app.command("set")
def scope_set(
    ctx: typer.Context,
    statement: Annotated[str, typer.Argument(help="The scope statement.")],
    system: Annotated[list[str] | None, typer.Option("--system", help="An AI system in scope. Repeatable.")] = None,
    unit: Annotated[list[str] | None, typer.Option("--unit", help="A unit in scope. Repeatable.")] = None,
    site: Annotated[list[str] | None, typer.Option("--site", help="A site in scope. Repeatable.")] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="WHAT=WHY: left out, and why. Repeatable.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record a new version of the scope (in force from now)."""
    exclusions = []
    for given in exclude or []:
        what, sep, why = given.partition("=")
        if not sep:
            raise InvalidInput(f"--exclude {given!r}: write WHAT=WHY (an exclusion needs its reason)")
        exclusions.append({"what": what, "why": why})
    scope = open_workspace(ctx).aims.context.set_scope(
        statement, systems=system or [], units=unit or [], sites=site or [], exclusions=exclusions
    )
    print_record(scope.state(), title=f"scope version {scope.version}", as_json=as_json)


@scope_app.command("show")
def scope_show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the scope in force."""
    scope = open_workspace(ctx).aims.context.scope()
    if scope is None:
        raise InvalidInput("no scope yet: set one with `assay aims scope set STATEMENT --system NAME ...`")
    print_record(scope.state(), title=f"scope version {scope.version}", as_json=as_json)


@scope_app.command("history")
def scope_history(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every version of the scope, with the AI systems each brought in and took out."""
    rows = open_workspace(ctx).aims.context.scopes()
    columns = ["version", "systems", "added", "removed", "units", "sites", "created_by", "created_at"]
    table(rows, columns, title="Scope versions", as_json=as_json)


# -- documents and policies ----------------------------------------------------------------------------------------


@document_app.command("add")
def document_add(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The document's key (lower case), the same across its versions.")],
    kind: Annotated[str, typer.Option(help=f"One of {', '.join(DOCUMENT_KINDS)}.")],
    title: Annotated[str, typer.Option(help="Its title.")],
    owner: Annotated[str, typer.Option(help="The user who owns it.")],
    text: Annotated[str, typer.Option(help="Its text (kept in the register).")] = "",
    file: Annotated[Path | None, typer.Option(help="A file, copied into the artifact store.")] = None,
    location: Annotated[str, typer.Option(help="artifact:SHA256 or an http(s) URL.")] = "",
    topic: Annotated[str, typer.Option(help="The topic (topic policies).")] = "",
    review_months: Annotated[int, typer.Option(help="Reviewed every this many months once approved.")] = 12,
    as_json: JsonOption = False,
) -> None:
    """Add a draft version of a document (the next version of KEY)."""
    document = open_workspace(ctx).aims.documents.add(
        key, kind, title, owner, text=text, location=location, file=file, topic=topic, review_months=review_months
    )
    print_record(document.state(), title=f"{key} version {document.version}", as_json=as_json)


@document_app.command("approve")
def document_approve(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The document's key.")],
    version: Annotated[int | None, typer.Option(help="The version (default: its draft).", show_default=False)] = None,
    published_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today).", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Approve and publish a draft (policies: top management, not its author); the previous version is superseded."""
    document = open_workspace(ctx).aims.documents.approve(
        key, version, published_on=parse_date(published_on, "--published-on")
    )
    print_record(document.state(), title=f"{key} version {document.version}", as_json=as_json)


@document_app.command("withdraw")
def document_withdraw(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="The document's key.")],
    reason: Annotated[str, typer.Option(help="Why (required).")],
    version: Annotated[int | None, typer.Option(help="The version (default: the newest live).")] = None,
) -> None:
    """Withdraw a draft or the approved version (kept)."""
    document = open_workspace(ctx).aims.documents.withdraw(key, version, reason=reason)
    typer.echo(f"{key} version {document.version} withdrawn")


@document_app.command("list")
def document_list(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help="Only this kind.", show_default=False)] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """The current version of each document (the approved one, else the newest)."""
    rows = open_workspace(ctx).aims.documents.list(kind=kind, status=status)
    table([r.state() for r in rows], _DOC_COLUMNS, title="Documents", as_json=as_json)


@document_app.command("history")
def document_history(
    ctx: typer.Context, key: Annotated[str, typer.Argument(help="The document's key.")], as_json: JsonOption = False
) -> None:
    """Every version of a document."""
    rows = open_workspace(ctx).aims.documents.history(key)
    table([r.state() for r in rows], _DOC_COLUMNS, title=f"Versions of {key}", as_json=as_json)


@document_app.command("due")
def document_due(
    ctx: typer.Context,
    within_days: Annotated[int, typer.Option(help="Due within this many days (overdue ones too).")] = 30,
    as_json: JsonOption = False,
) -> None:
    """Approved documents whose review is due."""
    rows = open_workspace(ctx).aims.documents.due_for_review(within_days)
    table([r.state() for r in rows], _DOC_COLUMNS, title=f"Reviews due within {within_days} days", as_json=as_json)


@policy_app.command("show")
def policy_show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The AI policy in force."""
    policy = open_workspace(ctx).aims.documents.policy()
    if policy is None:
        raise InvalidInput("no approved AI policy: `assay aims document add KEY --kind ai-policy ...`, then approve it")
    print_record(policy.state(), title=f"AI policy {policy.key} version {policy.version}", as_json=as_json)


@policy_app.command("list")
def policy_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The AI policy and topic policies (current versions)."""
    documents = open_workspace(ctx).aims.documents
    rows = [*documents.list(kind="ai-policy"), *documents.list(kind="topic-policy")]
    table([r.state() for r in rows], _DOC_COLUMNS, title="Policies", as_json=as_json)


# -- roles and teams -----------------------------------------------------------------------------------------------


@role_app.command("assign")
def role_assign(
    ctx: typer.Context,
    role: Annotated[str, typer.Argument(help=f"One of {', '.join(GOVERNANCE_ROLES)}.")],
    person: Annotated[str, typer.Argument(help="A user.")],
    system: Annotated[str | None, typer.Option(help="For this AI system (default: the organisation).")] = None,
    area: Annotated[str, typer.Option(help="The area they are responsible for.")] = "",
    responsibilities: Annotated[str, typer.Option(help="What they are responsible for.")] = "",
    since: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today).", show_default=False)] = None,
    until: Annotated[str | None, typer.Option(help="YYYY-MM-DD.", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Assign a governance role to a person."""
    row = open_workspace(ctx).aims.roles.assign(
        role, person, system=system, area=area, responsibilities=responsibilities,
        since=parse_date(since, "--since"), until=parse_date(until, "--until"),
    )  # fmt: skip
    print_record(row.state(), title=f"assignment {row.id}", as_json=as_json)


@role_app.command("end")
def role_end(
    ctx: typer.Context,
    assignment_id: Annotated[int, typer.Argument(help="The assignment's id.")],
    until: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today).", show_default=False)] = None,
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
) -> None:
    """End an assignment (kept)."""
    row = open_workspace(ctx).aims.roles.end(assignment_id, until=parse_date(until, "--until"), reason=reason)
    typer.echo(f"assignment {row.id} ({row.role} of {row.person}) ended on {row.until}")


@role_app.command("list")
def role_list(
    ctx: typer.Context,
    person: _Optional = None,
    role: _Optional = None,
    system: _Optional = None,
    all_: Annotated[bool, typer.Option("--all", help="Ended ones too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List governance role assignments."""
    rows = open_workspace(ctx).aims.roles.list(person=person, role=role, system=system, active=not all_)
    table(rows, _ROLE_COLUMNS, title="Governance roles", as_json=as_json)


@role_app.command("who")
def role_who(
    ctx: typer.Context,
    role: Annotated[str, typer.Argument(help="The governance role.")],
    system: Annotated[str | None, typer.Option(help="For this AI system.", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Who holds a role today."""
    names = open_workspace(ctx).aims.roles.who(role, system)
    if as_json:
        print_json(names)
        return
    typer.echo("\n".join(names) if names else f"nobody holds {role}")


_Discipline = Annotated[
    list[str] | None, typer.Option("--discipline", help=f"One of {', '.join(DISCIPLINES)}. Repeatable.")
]


@team_app.command("add")
def team_add(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    person: Annotated[str, typer.Argument(help="A user.")],
    discipline: _Discipline = None,
    role: Annotated[str, typer.Option(help="Their role in the team.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Add a member to a system's team with the disciplines they bring."""
    row = open_workspace(ctx).aims.teams.add(system, person, discipline or [], role=role)
    print_record(row.state(), title=f"{person} in the team of {system}", as_json=as_json)


@team_app.command("update")
def team_update(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    person: Annotated[str, typer.Argument(help="The member.")],
    discipline: _Discipline = None,
    role: _Optional = None,
    as_json: JsonOption = False,
) -> None:
    """Change a member's disciplines (replaced) or role."""
    row = open_workspace(ctx).aims.teams.update(system, person, disciplines=discipline or None, role=role)
    print_record(row.state(), title=f"{person} in the team of {system}", as_json=as_json)


@team_app.command("remove")
def team_remove(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    person: Annotated[str, typer.Argument(help="The member.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
) -> None:
    """Take a member off the team (kept, inactive)."""
    open_workspace(ctx).aims.teams.remove(system, person, reason=reason)
    typer.echo(f"{person} removed from the team of {system}")


@team_app.command("list")
def team_list(
    ctx: typer.Context, system: Annotated[str, typer.Argument(help="The AI system.")], as_json: JsonOption = False
) -> None:
    """The members of a system's team."""
    rows = open_workspace(ctx).aims.teams.list(system)
    table([r.state() for r in rows], _TEAM_COLUMNS, title=f"Team of {system}", as_json=as_json)


@team_app.command("coverage")
def team_coverage(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    require: _Discipline = None,
    as_json: JsonOption = False,
) -> None:
    """Disciplines the team covers and those missing (default: what the system's gate policy requires).
    Exit code 1 when some are missing."""
    cover = open_workspace(ctx).aims.teams.coverage(system, require or None)
    if as_json:
        print_json(cover)
    else:
        rows = [{"discipline": d, "members": ", ".join(cover["covered"].get(d, [])) or "-",
                 "covered": d in cover["covered"]} for d in cover["required"]]  # fmt: skip
        table(rows, ["discipline", "members", "covered"], title=f"Team of {system}: required disciplines")
        typer.echo("complete" if cover["complete"] else "missing: " + ", ".join(cover["missing"]))
    if not cover["complete"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the organisation's parts to ``assay aims``."""
    app.add_typer(context_app, name="context")
    app.add_typer(party_app, name="party")
    app.add_typer(scope_app, name="scope")
    app.add_typer(document_app, name="document")
    app.add_typer(policy_app, name="policy")
    app.add_typer(role_app, name="role")
    app.add_typer(team_app, name="team")
