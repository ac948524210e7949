"""``assay audit verify|export|log|checkpoint``: the tamper-evident ledger."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assay.cli._shell import JsonOption, open_workspace, print_json, table
from assay.errors import IntegrityViolation, InvalidInput

if TYPE_CHECKING:
    from assay.store.ledger import Verification

__all__ = ["register"]

audit_app = typer.Typer(help="The audit ledger: verify, export, list, checkpoint.", no_args_is_help=True)


_LISTED = 50  # record problems printed before "... and N more"


def _report(result: Verification, where: str, *, as_json: bool = False) -> None:
    if as_json:
        print_json(result.to_dict())
        if not result.ok:
            raise typer.Exit(1)
        return
    if not result.ok:
        for problem in result.record_problems[:_LISTED]:
            typer.echo(f"  {problem}")
        if len(result.record_problems) > _LISTED:
            typer.echo(f"  ... and {len(result.record_problems) - _LISTED:,} more (--json lists them all)")
        if result.first_bad_seq is not None:
            raise IntegrityViolation(
                f"{where} does NOT verify: first bad sequence number {result.first_bad_seq}: {result.problem}"
            )
        raise IntegrityViolation(
            f"{where} does NOT verify: {len(result.record_problems):,} of {result.records:,} governed records differ "
            "from the last event that touched them (changed, deleted or inserted outside Assay; listed above)"
        )
    line = f"{where} verifies: {result.events:,} events, {result.checkpoints:,} signed checkpoints"
    if result.head_checkpoint_time is not None:
        line += f", the last event's signed at {result.head_checkpoint_time}"
    else:
        line += f"; {result.records:,} governed records match their last event"
    typer.echo(line)


@audit_app.command("verify")
def verify(
    ctx: typer.Context,
    public_key: Annotated[
        Path | None,
        typer.Option(
            help="Public key (PEM) to check checkpoint signatures with (default: the workspace's ledger.pub).",
            show_default=False,
        ),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(
            help="Verify this export folder offline instead of the database (needs --public-key).", show_default=False
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check every event's hash and link, every signed checkpoint and every governed record's current state against
    the last event that touched it; exit 1 naming the first bad event and the records changed outside Assay."""
    if export is not None:
        if public_key is None:
            raise InvalidInput("--export needs --public-key: an export is verified with the public key alone")
        from assay.services.audit import verify_export

        _report(verify_export(export, public_key), f"export {export}", as_json=as_json)
        return
    workspace = open_workspace(ctx)
    _report(workspace.audit.verify(public_key), "the audit ledger", as_json=as_json)


@audit_app.command("export")
def export(ctx: typer.Context, out: Annotated[Path, typer.Option(help="Folder to write the export to.")]) -> None:
    """Sign a checkpoint of the head and write events.jsonl, checkpoints.jsonl (up to it) and the public key."""
    paths = open_workspace(ctx).audit.export(out)
    for name, path in paths.items():
        typer.echo(f"{name}: {path}")
    typer.echo(f"verify offline: assay audit verify --export {out} --public-key {paths['public_key']}")


@audit_app.command("checkpoint")
def checkpoint(ctx: typer.Context) -> None:
    """Sign a checkpoint of the ledger's head now."""
    signed = open_workspace(ctx).audit.checkpoint()
    if signed is None:
        typer.echo("the ledger is empty: nothing to sign")
    else:
        typer.echo(f"signed checkpoint at event {signed.seq} ({signed.head_hash[:16]}…) with key {signed.key_id[:16]}…")


@audit_app.command("log")
def log(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="Only events by this actor.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. system.create.")] = None,
    object_type: Annotated[str | None, typer.Option(help="Only this object type, e.g. systems.")] = None,
    object_id: Annotated[str | None, typer.Option(help="Only this object id.")] = None,
    since: Annotated[str | None, typer.Option(help="From this time (ISO 8601, UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO 8601, UTC).")] = None,
    after: Annotated[int, typer.Option(help="Only events after this sequence number.")] = 0,
    limit: Annotated[int, typer.Option(min=1, help="At most this many events.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List audit events, oldest first, with filters."""
    from assay.store.audit import EventFilter

    where = EventFilter(actor, action, object_type, object_id, since, until, after)
    events = open_workspace(ctx).audit.log(where, limit=limit)
    rows = [{**e.content(), "hash": e.hash} for e in events]
    if as_json:
        print_json(rows)
        return
    table(rows, ["seq", "time", "actor", "action", "object_type", "object_id", "payload"], title="Audit events")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
