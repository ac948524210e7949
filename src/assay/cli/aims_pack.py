"""``assay aims readiness``, ``assay aims pack`` and ``assay aims verify-pack``: the management system judged for
the organisation (ISO/IEC 42001 clauses 4-10) and the certification pack an external auditor asks for first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from assay.cli._shell import JsonOption, console, open_workspace, parse_date, print_json
from assay.errors import IntegrityViolation

__all__ = ["register"]

_LISTED = 20


def readiness(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option(help="Judge on this day (YYYY-MM-DD; default today).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Clauses 4-10 judged for the organisation from the management system's records: ready or not, the gaps and
    the command that closes each, the records that are its evidence."""
    document = open_workspace(ctx).aims.readiness(as_of=parse_date(as_of, "--as-of"))
    if as_json:
        print_json(document)
        return
    out = console()
    table = Table(title=f"ISO/IEC 42001 clauses 4-10 for the organisation (as of {document['as_of']})")
    for column in ("clause", "title", "ready", "gaps", "evidence"):
        table.add_column(column, overflow="fold")
    for entry in document["entries"]:
        gaps = "; ".join(g["detail"] for g in entry["gaps"][:3])
        if len(entry["gaps"]) > 3:
            gaps += f"; ... (+{len(entry['gaps']) - 3})"
        table.add_row(entry["id"], entry["title"], "yes" if entry["ready"] else "no", gaps, str(len(entry["evidence"])))
    out.print(table)
    out.print(f"{document['ready']} of {document['clauses']} clauses ready; --json lists every gap with its fix")


def pack(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="A new or empty folder to write the pack to.")],
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also print the report to pack.pdf.")] = True,
    as_of: Annotated[str | None, typer.Option(help="Judge readiness on this day (YYYY-MM-DD).")] = None,
) -> None:
    """Write the certification pack: scope, AI policy, roles, SoA, risks, objectives, competence, internal audits,
    management reviews and nonconformities, each record with the ledger events that prove it; verifiable offline."""
    summary = open_workspace(ctx).aims.pack.write(out, pdf=pdf, as_of=parse_date(as_of, "--as-of"))
    typer.echo(f"pack written to {summary['out']}: {summary['records']} records, {summary['files']} files, ledger")
    typer.echo(f"signed up to event {summary['ledger_head']}; readiness: {summary['ready']}")
    typer.echo(f"verify offline: assay aims verify-pack {out} --public-key KEY (the ledger's public key you hold)")


def verify_pack(
    folder: Annotated[Path, typer.Argument(help="The pack's folder.")],
    public_key: Annotated[
        Path | None,
        typer.Option(
            help="The ledger's public key you hold (default: the pack's own ledger/ledger.pub).", show_default=False
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a pack offline (no workspace): the ledger export's chain and signature, every file against the
    manifest, every record against the last ledger event that touched it; exit 1 naming what fails."""
    from assay.services.aims.pack import verify_pack as verify

    result = verify(folder, public_key)
    if as_json:
        print_json({"ok": result.ok, "ledger": result.ledger.to_dict(), "files_checked": result.files_checked,
                    "records_checked": result.records_checked, "problems": list(result.problems)})  # fmt: skip
        if not result.ok:
            raise typer.Exit(1)
        return
    for problem in result.problems[:_LISTED]:
        typer.echo(f"  {problem}")
    if not result.ledger.ok:
        raise IntegrityViolation(f"the pack's ledger does NOT verify: {result.ledger.problem}")
    if result.problems:
        raise IntegrityViolation(f"the pack does NOT verify: {len(result.problems)} problem(s), listed above")
    typer.echo(
        f"the pack verifies: {result.ledger.events:,} ledger events, {result.files_checked} files, "
        f"{result.records_checked} records match their last ledger event"
    )


def register(app: typer.Typer) -> None:
    app.command("readiness")(readiness)
    app.command("pack")(pack)
    app.command("verify-pack")(verify_pack)
