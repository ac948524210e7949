"""``assay alert`` and ``assay retraining``: the alerts of the monitors and the retraining requests."""

from __future__ import annotations

from typing import Annotated

import typer

from assay.cli._shell import JsonOption, open_workspace, print_record, table

__all__ = ["register"]

alert_app = typer.Typer(
    help="Alerts of the monitors: list, show, acknowledge, resolve (the monitors open and resolve them).",
    no_args_is_help=True,
)
retraining_app = typer.Typer(
    help="Retraining requests (opened by an alert or a person): list, show, request, close.", no_args_is_help=True
)

_System = Annotated[str, typer.Argument(help="The AI system.")]
_AlertId = Annotated[int, typer.Argument(help="The alert's id.")]
_RequestId = Annotated[int, typer.Argument(help="The retraining request's id.")]
_Note = Annotated[str, typer.Option(help="Why (kept in the audit log).")]
_ALERT_COLUMNS = ["id", "monitor_id", "kind", "subject", "severity", "status", "occurrences", "incident_id"]
_ALERT_COLUMNS += ["rollback_to", "updated_at"]
_RETRAINING_COLUMNS = ["id", "model_version_id", "alert_id", "status", "reason", "resolved_by_version_id"]


@alert_app.command("list")
def alert_list(
    ctx: typer.Context,
    system: _System,
    status: Annotated[str | None, typer.Option(help="Only this status: open, acknowledged, resolved.")] = None,
    monitor: Annotated[str | None, typer.Option(help="Only this monitor's alerts.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the alerts of a system, newest first."""
    rows = [a.state() for a in open_workspace(ctx).alerts.list(system, status=status, monitor=monitor)]
    table(rows, _ALERT_COLUMNS, title=f"Alerts of {system}", as_json=as_json)


@alert_app.command("show")
def alert_show(ctx: typer.Context, system: _System, alert_id: _AlertId, as_json: JsonOption = False) -> None:
    """Show an alert: what fails, since when, its evidence, incident and recommended rollback."""
    alert = open_workspace(ctx).alerts.get(system, alert_id)
    print_record(alert.state(), title=f"alert {alert.id} of {system}", as_json=as_json)


@alert_app.command("acknowledge")
def alert_acknowledge(ctx: typer.Context, system: _System, alert_id: _AlertId, note: _Note = "") -> None:
    """You have it in hand: no more reminders (its resolution is still announced)."""
    alert = open_workspace(ctx).alerts.acknowledge(system, alert_id, note=note)
    typer.echo(f"alert {alert.id} of {system} is {alert.status}")


@alert_app.command("resolve")
def alert_resolve(ctx: typer.Context, system: _System, alert_id: _AlertId, note: _Note = "") -> None:
    """Resolve an alert by hand (a new one opens if the violation is found again)."""
    alert = open_workspace(ctx).alerts.resolve(system, alert_id, note=note)
    typer.echo(f"alert {alert.id} of {system} is {alert.status}")


@retraining_app.command("list")
def retraining_list(
    ctx: typer.Context,
    system: _System,
    status: Annotated[str | None, typer.Option(help="Only this status: open, done, declined.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the retraining requests of a system, newest first."""
    rows = [r.state() for r in open_workspace(ctx).alerts.retraining(system, status=status)]
    table(rows, _RETRAINING_COLUMNS, title=f"Retraining requests of {system}", as_json=as_json)


@retraining_app.command("show")
def retraining_show(ctx: typer.Context, system: _System, request_id: _RequestId, as_json: JsonOption = False) -> None:
    """Show a retraining request with its evidence."""
    request = open_workspace(ctx).alerts.get_retraining(system, request_id)
    print_record(request.state(), title=f"retraining request {request.id} of {system}", as_json=as_json)


@retraining_app.command("request")
def retraining_request(
    ctx: typer.Context,
    system: _System,
    model_version: Annotated[str, typer.Argument(help="MODEL@VERSION to retrain.")],
    reason: Annotated[str, typer.Option(help="Why it needs retraining.")],
) -> None:
    """Ask for a model version to be retrained."""
    request = open_workspace(ctx).alerts.request_retraining(system, model_version, reason=reason)
    typer.echo(f"retraining request {request.id} of {system} is open")


@retraining_app.command("close")
def retraining_close(
    ctx: typer.Context,
    system: _System,
    request_id: _RequestId,
    status: Annotated[str, typer.Option(help="done (give --version) or declined (give --resolution).")],
    version: Annotated[
        str | None, typer.Option(help="MODEL@VERSION that replaces the retrained one.", show_default=False)
    ] = None,
    resolution: Annotated[str, typer.Option(help="Why (required to decline).")] = "",
) -> None:
    """Close a retraining request: done by a new version, or declined with a reason."""
    request = open_workspace(ctx).alerts.close_retraining(
        system, request_id, status=status, resolution=resolution, version=version
    )
    typer.echo(f"retraining request {request.id} of {system} is {request.status}")


def register(app: typer.Typer) -> None:
    """Add ``assay alert`` and ``assay retraining`` to the root app."""
    app.add_typer(alert_app, name="alert")
    app.add_typer(retraining_app, name="retraining")
