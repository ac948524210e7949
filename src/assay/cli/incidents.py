"""``assay incident``: incidents of an AI system and their corrective actions (ISO/IEC 42001 clause 10.2)."""

from __future__ import annotations

from typing import Annotated

import typer

from assay.cli._shell import JsonOption, open_workspace, parse_date, print_json, print_record, table
from assay.governance.records import ACTION_STATUSES, INCIDENT_SEVERITIES, INCIDENT_STATUSES

__all__ = ["register"]

incident_app = typer.Typer(
    help="Incidents of an AI system: open, list, show, update, move through their states; corrective actions.",
    no_args_is_help=True,
)
action_app = typer.Typer(help="Corrective actions of an incident: add, done, list.", no_args_is_help=True)
incident_app.add_typer(action_app, name="action")

_System = Annotated[str, typer.Argument(help="The AI system.")]
_IncidentId = Annotated[int, typer.Argument(help="The incident's id.")]
_Text = Annotated[str | None, typer.Option(show_default=False)]
_When = Annotated[
    str | None,
    typer.Option(
        help="When it happened: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM] (UTC without a zone).",
        show_default=False,
    ),
]
_Severity = Annotated[str, typer.Option(help=f"Severity: {', '.join(INCIDENT_SEVERITIES)}.")]
_INCIDENT_COLUMNS = ["id", "title", "severity", "status", "occurred_at", "reported_by", "model_version_id"]
_INCIDENT_COLUMNS += ["closed_at"]
_ACTION_COLUMNS = ["id", "incident_id", "description", "owner", "due_date", "status", "completed_at"]


@incident_app.command("open")
def incident_open(
    ctx: typer.Context,
    system: _System,
    title: Annotated[str, typer.Option(help="Short title of the incident.")],
    severity: _Severity,
    description: _Text = None,
    model_version: Annotated[
        str | None, typer.Option(help="The model version involved, MODEL@VERSION.", show_default=False)
    ] = None,
    occurred_at: _When = None,
    as_json: JsonOption = False,
) -> None:
    """Record an incident (you are its reporter)."""
    given = {
        "title": title, "severity": severity, "description": description, "model_version": model_version,
        "occurred_at": occurred_at,
    }  # fmt: skip
    incident = open_workspace(ctx).incidents.open(system, {k: v for k, v in given.items() if v is not None})
    print_record(incident.state(), title=f"incident {incident.id} of {system}", as_json=as_json)


@incident_app.command("list")
def incident_list(
    ctx: typer.Context,
    system: _System,
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(INCIDENT_STATUSES)}.")] = None,
    severity: Annotated[str | None, typer.Option(help=f"Only this severity: {', '.join(INCIDENT_SEVERITIES)}.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the incidents of a system."""
    rows = [i.state() for i in open_workspace(ctx).incidents.list(system, status=status, severity=severity)]
    table(rows, _INCIDENT_COLUMNS, title=f"Incidents of {system}", as_json=as_json)


@incident_app.command("show")
def incident_show(ctx: typer.Context, system: _System, incident_id: _IncidentId, as_json: JsonOption = False) -> None:
    """Show an incident with its corrective actions."""
    detail = open_workspace(ctx).incidents.detail(system, incident_id)
    if as_json:
        print_json(detail.to_dict())
        return
    record = detail.incident.state()
    record["model_version"] = detail.model_version
    print_record(record, title=f"incident {incident_id} of {system}")
    table([a.state() for a in detail.actions], _ACTION_COLUMNS, title="Corrective actions")


@incident_app.command("update")
def incident_update(
    ctx: typer.Context,
    system: _System,
    incident_id: _IncidentId,
    title: _Text = None,
    description: _Text = None,
    severity: Annotated[
        str | None, typer.Option(help=f"Severity: {', '.join(INCIDENT_SEVERITIES)}.", show_default=False)
    ] = None,
    model_version: Annotated[
        str | None, typer.Option(help="The model version involved, MODEL@VERSION.", show_default=False)
    ] = None,
    occurred_at: _When = None,
    as_json: JsonOption = False,
) -> None:
    """Change fields of an incident that is not closed (its status changes with `assay incident status`)."""
    given = {
        "title": title, "description": description, "severity": severity, "model_version": model_version,
        "occurred_at": occurred_at,
    }  # fmt: skip
    incident = open_workspace(ctx).incidents.update(
        system, incident_id, {k: v for k, v in given.items() if v is not None}
    )
    print_record(incident.state(), title=f"incident {incident.id} of {system}", as_json=as_json)


@incident_app.command("status")
def incident_status(
    ctx: typer.Context,
    system: _System,
    incident_id: _IncidentId,
    new_status: Annotated[str, typer.Argument(help="investigating, resolved or closed.")],
    note: Annotated[str, typer.Option(help="Why (kept in the audit log).")] = "",
) -> None:
    """Move an incident: open -> investigating -> resolved -> closed (closing needs every action done)."""
    incident = open_workspace(ctx).incidents.set_status(system, incident_id, new_status, note=note)
    typer.echo(f"incident {incident.id} of {system} is now {incident.status}")


@action_app.command("add")
def action_add(
    ctx: typer.Context,
    system: _System,
    incident_id: _IncidentId,
    description: Annotated[str, typer.Option(help="What is to be done.")],
    owner: Annotated[str | None, typer.Option(help="Who does it.")] = None,
    due: Annotated[str | None, typer.Option(help="Due date, YYYY-MM-DD.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a corrective action to an incident."""
    given = {"description": description, "owner": owner, "due_date": parse_date(due, "--due")}
    action = open_workspace(ctx).incidents.add_action(
        system, incident_id, {k: v for k, v in given.items() if v is not None}
    )
    print_record(action.state(), title=f"corrective action {action.id}", as_json=as_json)


@action_app.command("done")
def action_done(
    ctx: typer.Context,
    system: _System,
    action_id: Annotated[int, typer.Argument(help="The corrective action's id.")],
    note: Annotated[str, typer.Option(help="How it was done (kept in the audit log).")] = "",
) -> None:
    """Mark a corrective action done."""
    action = open_workspace(ctx).incidents.complete_action(system, action_id, note=note)
    typer.echo(f"corrective action {action.id} of incident {action.incident_id} is done")


@action_app.command("list")
def action_list(
    ctx: typer.Context,
    system: _System,
    incident_id: Annotated[int | None, typer.Argument(help="Only this incident's actions.")] = None,
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(ACTION_STATUSES)}.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List corrective actions of a system's incidents."""
    actions = open_workspace(ctx).incidents.list_actions(system, incident_id, status=status)
    table([a.state() for a in actions], _ACTION_COLUMNS, title=f"Corrective actions of {system}", as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add ``assay incident`` (with ``assay incident action``) to the root app."""
    app.add_typer(incident_app, name="incident")
