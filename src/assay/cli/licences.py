"""``assay licences``: the licences Assay knows, and the licence and provenance check of a system (its findings
kept as risks)."""

from __future__ import annotations

from typing import Annotated

import typer

from assay.cli._shell import JsonOption, open_workspace, print_json, table

__all__ = ["register"]

licences_app = typer.Typer(
    help="Licences and provenance: the licences Assay knows; the check of a system's models and data (as risks).",
    no_args_is_help=True,
)


@licences_app.command("list")
def licences_list(as_json: JsonOption = False) -> None:
    """The licences the check knows (SPDX ids where SPDX has one) and what they allow."""
    from assay.governance.licences import known_licences

    rows = [
        {"id": t.id, "kind": t.kind, "commercial": t.commercial, "share_alike": t.share_alike,
         "derivatives": t.derivatives, "title": t.title}
        for t in known_licences()
    ]  # fmt: skip
    table(rows, ["id", "kind", "commercial", "share_alike", "derivatives", "title"], title="Licences", as_json=as_json)


@licences_app.command("check")
def licences_check(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="The AI system.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list the findings; leave the risk register as it is.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the licences and provenance of a system's model versions and training data; each finding becomes a risk
    (created, updated, reopened; closed when resolved). Exit 1 when something is flagged."""
    ws = open_workspace(ctx)
    if dry_run:
        found = ws.genai.licences.findings(system)
        rows: list[dict[str, object]] = [
            {"rule": f.rule, "subject": f.subject, "description": f.description} for f in found
        ]
        if as_json:
            print_json({"system": system, "findings": rows})
        else:
            table(rows, ["rule", "subject", "description"], title=f"Licence findings of {system}")
    else:
        result = ws.genai.licences.check(system)
        found = result.findings
        if as_json:
            print_json(result.to_dict())
        else:
            rows = [
                {"risk": result.risks.get(f.key), "rule": f.rule, "subject": f.subject, "description": f.description}
                for f in found
            ]
            table(rows, ["risk", "rule", "subject", "description"], title=f"Licence findings of {system}")
            typer.echo(
                f"risks: {len(result.created)} created, {len(result.updated)} updated, {len(result.reopened)} "
                f"reopened, {len(result.closed)} closed (resolved), {len(result.unchanged)} unchanged"
            )
    if found:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``assay licences`` to the root app."""
    app.add_typer(licences_app, name="licences")
