"""``assay approval request|approve|reject|withdraw|list|show``: moving model versions between stages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from assay.cli._shell import JsonOption, open_workspace, print_json, print_record, remote, table
from assay.governance.records import MODEL_STAGES

if TYPE_CHECKING:
    from assay.services.approvals import ApprovalView

__all__ = ["register"]

approval_app = typer.Typer(
    help="Approvals: request to move a model version to a stage; approvers decide.", no_args_is_help=True
)

_Comment = Annotated[str, typer.Option(help="Comment recorded with the decision.")]
_System = Annotated[
    str | None,
    typer.Option(
        "--system", help="The request's system (it must be one of its; found for you when pending).", show_default=False
    ),
]


def _approvals(ctx: typer.Context) -> Any:
    """Where approvals are decided: the server of --server, else the local workspace (same methods)."""
    return remote(ctx) or open_workspace(ctx).approvals


def _show(view: ApprovalView, as_json: bool) -> None:
    if as_json:
        print_json(view.to_dict())
        return
    record = view.to_dict()
    decisions = record.pop("decisions")
    record["decisions"] = [f"{d['approver']}: {d['decision']} {d['comment']!r}".rstrip() for d in decisions]
    print_record(record, title=f"approval request {view.id}")
    if view.held:
        typer.echo(f"HELD: {view.ref} is in {view.stage} on this approval, but its state changed since: request again.")
    elif view.stale:
        typer.echo("STALE: the model version, its assessments or the system's risks changed since the request.")


@approval_app.command("request")
def request(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    ref: Annotated[str, typer.Argument(help="Model version, MODEL@VERSION.")],
    stage: Annotated[str, typer.Option(help=f"Target stage: {', '.join(MODEL_STAGES)}.")] = "production",
    comment: Annotated[str, typer.Option(help="Why, for the approvers.")] = "",
    required: Annotated[
        int | None,
        typer.Option(
            help="Approvals needed (default: what the policy in force asks for; never fewer).", show_default=False
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Request approval to move a model version to a stage (its current state is frozen by a digest). The final
    approval takes effect only when the policy's gate passes then."""
    view = _approvals(ctx).request(system, ref, stage, comment=comment, required_approvals=required)
    _show(view, as_json)


@approval_app.command("approve")
def approve(
    ctx: typer.Context,
    request_id: Annotated[int, typer.Argument(help="The request's id.")],
    comment: _Comment = "",
    system: _System = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a request (not your own); with enough approvals, and the policy's gate passing, the model version
    moves to the stage."""
    _show(_approvals(ctx).decide(request_id, "approve", comment=comment, system=system), as_json)


@approval_app.command("reject")
def reject(
    ctx: typer.Context,
    request_id: Annotated[int, typer.Argument(help="The request's id.")],
    comment: Annotated[str, typer.Option(help="Why (required).")],
    system: _System = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a request, saying why."""
    _show(_approvals(ctx).decide(request_id, "reject", comment=comment, system=system), as_json)


@approval_app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    request_id: Annotated[int, typer.Argument(help="The request's id.")],
    comment: _Comment = "",
    system: _System = None,
) -> None:
    """Withdraw your own pending request."""
    _approvals(ctx).withdraw(request_id, comment=comment, system=system)
    typer.echo(f"approval request {request_id} withdrawn")


@approval_app.command("show")
def show(
    ctx: typer.Context,
    request_id: Annotated[int, typer.Argument(help="The request's id.")],
    system: _System = None,
    as_json: JsonOption = False,
) -> None:
    """Show a request, its decisions and whether it is stale."""
    _show(_approvals(ctx).get(request_id, system=system), as_json)


@approval_app.command("list")
def list_(
    ctx: typer.Context,
    system: Annotated[str | None, typer.Argument(help="Only this AI system.", show_default=False)] = None,
    status: Annotated[str | None, typer.Option(help="pending, approved, rejected or withdrawn.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List approval requests."""
    rows = [view.to_dict() for view in _approvals(ctx).list(system, status=status)]
    columns = ["id", "system", "ref", "stage", "status", "stale", "requested_by", "created_at"]
    table(rows, columns, title="Approval requests", as_json=as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(approval_app, name="approval")
