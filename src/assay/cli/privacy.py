"""``assay anonymise DATA --out FOLDER``: pseudonymise identifiers, generalise quasi-identifiers, suppress rare
combinations, and measure k-anonymity, l-diversity, the re-identification risk and the utility lost."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from assay.cli._options import names
from assay.cli._shell import open_workspace, print_json
from assay.errors import InvalidInput
from assay.privacy.options import AnonymiseOptions as O

__all__ = ["anonymise", "register"]


def _rules(given: list[str]) -> dict[str, str]:
    rules: dict[str, str] = {}
    for item in given:
        column, sep, rule = item.partition("=")
        if not sep or not column.strip() or not rule.strip():
            raise InvalidInput(f"--generalise {item!r}: write COLUMN=RULE (band:10, truncate:3, month, year, other:50, "
                               "mask)")  # fmt: skip
        rules[column.strip()] = rule.strip()
    return rules


def anonymise(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="CSV or Parquet file.", show_default=False)],
    out: Annotated[Path, typer.Option(help="Folder for the anonymised data and anonymisation.json.")],
    identifiers: Annotated[
        str | None, typer.Option(help=O.help("identifiers") + " Comma-separated.", show_default=False)
    ] = None,
    generalise: Annotated[
        list[str] | None, typer.Option(help="COLUMN=RULE (band:W, truncate:N, month, year, other:N, mask). Repeatable.")
    ] = None,
    quasi_identifiers: Annotated[
        str | None, typer.Option(help=O.help("quasi_identifiers") + " Comma-separated.", show_default=False)
    ] = None,
    drop: Annotated[str | None, typer.Option(help=O.help("drop") + " Comma-separated.", show_default=False)] = None,
    k: Annotated[int, typer.Option(help=O.help("k"))] = O.default("k"),
    sensitive: Annotated[str | None, typer.Option(help=O.help("sensitive"), show_default=False)] = None,
    facet: Annotated[str | None, typer.Option(help=O.help("facet"), show_default=False)] = None,
    label: Annotated[
        str | None, typer.Option(help=O.help("label") + " COL or COL=POSITIVE.", show_default=False)
    ] = None,
    output_format: Annotated[
        Literal["parquet", "csv"], typer.Option("--format", help="Format of the anonymised data.")
    ] = "parquet",
    system: Annotated[
        str | None, typer.Option(help="Record the run (its settings, never the key) against this AI system.")
    ] = None,
    dataset_version: Annotated[
        str | None, typer.Option(help="The dataset version anonymised, DATASET@VERSION (needs --system).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the document as JSON.")] = False,
) -> None:
    """Anonymise a dataset and measure what privacy and utility it leaves.

    Identifiers are pseudonymised with HMAC-SHA256 under the workspace's key (.assay/keys/anonymise.key); quasi-
    identifiers are generalised and the rows of combinations held by fewer than k rows suppressed."""
    label_column, positive = (None, None)
    if label is not None:
        column, sep, value = label.partition("=")
        label_column, positive = column.strip(), (value.strip() if sep else None)
    options = O.parse(
        {"identifiers": names(identifiers, "--identifiers") or [], "generalise": _rules(generalise or []),
         "quasi_identifiers": names(quasi_identifiers, "--quasi-identifiers"), "drop": names(drop, "--drop") or [],
         "k": k, "sensitive": sensitive, "facet": facet, "label": label_column, "positive": positive},
        "anonymise", flags=True,
    )  # fmt: skip
    workspace = open_workspace(ctx)
    result, paths, recorded = workspace.anonymisation.run(
        data, out, options, system=system, dataset_version=dataset_version, output_format=output_format
    )
    document = result.to_dict()
    if as_json:
        print_json(document)
    else:
        typer.echo(f"{document['status']}: {document['summary']}")
    for name, path in paths.items():
        typer.echo(f"{name}: {path}", err=as_json)
    if recorded is not None:
        typer.echo(f"recorded: assessment {recorded.id} of {system} in {workspace.home}", err=as_json)


def register(app: typer.Typer) -> None:
    """Add this module's command to the root app."""
    app.command("anonymise", no_args_is_help=True)(anonymise)
