"""``assay check ...``: data checks (Model Monitor baseline and validation, duplicates, leakage, target leakage,
label issues, representativeness, PII). Each command calls one function of :mod:`assay.services.checks`, prints
the result's tables (or its document with ``--json``), writes its files with ``--out`` and records it with
``--system``. Exit 0, or 1 with ``--strict`` when the check fails; bad input exits 2."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from assay.checks.options import ValidateOptions
from assay.cli._options import label_option, names, target_workspace
from assay.cli._shell import JsonOption, console, print_json
from assay.errors import InvalidInput

if TYPE_CHECKING:
    pass

__all__ = ["register"]

check_app = typer.Typer(
    help="Data checks: Model Monitor baseline and validation, duplicates, leakage, label issues, "
    "representativeness, personal data.",
    no_args_is_help=True,
)

_Data = Annotated[str, typer.Argument(help="CSV or Parquet file.", show_default=False)]
_Out = Annotated[
    Path | None, typer.Option(help="Folder for the result document (CHECK.json) and report.html.", show_default=False)
]
_System = Annotated[
    str | None, typer.Option(help="Record the result in the workspace against this AI system.", show_default=False)
]
_DatasetVersion = Annotated[
    str | None, typer.Option(help="The dataset version checked, DATASET@VERSION (needs --system).", show_default=False)
]
_Strict = Annotated[bool, typer.Option("--strict", help="Exit 1 when the check fails (for CI).")]
_Columns = Annotated[str | None, typer.Option(help="Comma-separated columns (default: all).", show_default=False)]
_Exclude = Annotated[str | None, typer.Option(help="Comma-separated columns to leave out.", show_default=False)]


def _run(
    ctx: typer.Context,
    check: str,
    data: str,
    *,
    system: str | None,
    dataset_version: str | None,
    out: Path | None,
    as_json: bool,
    strict: bool,
    reference: str | None = None,
    baseline: Path | None = None,
    **options: Any,
) -> None:
    """Parse the options (the check's options model validates them), check the target (with --system), run the
    check, write its files (with --out) and record it; present it."""
    from assay.checks.options import CHECK_OPTIONS
    from assay.reports.checks import check_tables
    from assay.services import compute as runs

    chosen = CHECK_OPTIONS[check].parse(options, f"the {check} check", flags=True)
    workspace = target_workspace(ctx, system, dataset_version=dataset_version)
    inputs = runs.Inputs(data, reference=reference, baseline=baseline)
    result = runs.compute(check, inputs, chosen)
    paths = runs.write(check, result, out) if out is not None else {}
    document = result.to_dict()
    if as_json:
        print_json(document)
    else:
        screen = console()
        for spec in check_tables(document):
            table = Table(title=spec["title"], title_justify="left")
            for column in spec["columns"]:
                table.add_column(column, overflow="fold")
            for row in spec["rows"]:
                table.add_row(*row)
            screen.print(table)
        style = "green" if document["status"] == "pass" else "bold red"
        screen.print(f"[{style}]{document['status']}[/]: {document['summary']}", highlight=False)
        for name, path in paths.items():
            screen.print(f"{name}: {path}", highlight=False, soft_wrap=True)
    if workspace is not None and system is not None:
        recorded = workspace.runs.record(check, system, result, paths=paths, dataset_version=dataset_version)
        typer.echo(f"recorded: assessment {recorded.id} of {system} in {workspace.home}", err=as_json)
    if strict and document["status"] != "pass":
        raise typer.Exit(1)


@check_app.command("baseline", no_args_is_help=True)
def baseline(
    ctx: typer.Context,
    reference: _Data,
    out: Annotated[
        Path, typer.Option(help="Folder for statistics.json, constraints.json, baseline.json, report.html.")
    ],
    max_categories: Annotated[int, typer.Option(help="Values kept per text column in statistics.json.")] = 1000,
    max_domain: Annotated[int, typer.Option(help="Text columns with at most this many values get a domain.")] = 50,
    comparison_threshold: Annotated[float, typer.Option(help="Drift threshold (distance between CDFs).")] = 0.1,
    comparison_method: Annotated[str, typer.Option(help="Simple or Robust (Deequ's linf_simple/linf_robust).")] = (
        "Simple"
    ),
    categorical_drift_method: Annotated[str, typer.Option(help="LInfinity or ChiSquared.")] = "LInfinity",
    as_json: JsonOption = False,
    system: _System = None,
    dataset_version: _DatasetVersion = None,
) -> None:
    """Profile a reference dataset and suggest constraints, in Model Monitor's formats."""
    _run(ctx, "baseline", reference, system=system, dataset_version=dataset_version, out=out,
         as_json=as_json, strict=False, max_categories=max_categories, max_domain=max_domain,
         comparison_threshold=comparison_threshold, comparison_method=comparison_method,
         categorical_drift_method=categorical_drift_method)  # fmt: skip


@check_app.command("validate", no_args_is_help=True)
def validate(
    ctx: typer.Context,
    data: _Data,
    baseline: Annotated[Path, typer.Option(help="Baseline folder (constraints.json, statistics.json).")],
    out: Annotated[
        Path, typer.Option(help="Folder for constraint_violations.json, statistics.json, validate.json, report.html.")
    ],
    max_categories: Annotated[int, typer.Option(help=ValidateOptions.help("max_categories"))] = (
        ValidateOptions.default("max_categories")
    ),
    as_json: JsonOption = False,
    strict: _Strict = False,
    system: _System = None,
    dataset_version: _DatasetVersion = None,
) -> None:
    """Validate a dataset against a baseline; write constraint_violations.json (Model Monitor's check types)."""
    _run(ctx, "validate", data, system=system, dataset_version=dataset_version, out=out,
         as_json=as_json, strict=strict, baseline=baseline, max_categories=max_categories)  # fmt: skip


@check_app.command("duplicates", no_args_is_help=True)
def duplicates(
    ctx: typer.Context,
    data: _Data,
    columns: _Columns = None,
    exclude: _Exclude = None,
    id_column: Annotated[
        str | None, typer.Option(help="Column naming rows in the examples (not compared).", show_default=False)
    ] = None,
    show: Annotated[
        str | None, typer.Option(help="Comma-separated columns whose values the examples may show.", show_default=False)
    ] = None,
    examples: Annotated[int, typer.Option(help="Largest groups listed.")] = 5,
    max_share: Annotated[float, typer.Option(help="Pass when the share of duplicate rows is at most this.")] = 0.0,
    out: _Out = None,
    as_json: JsonOption = False,
    strict: _Strict = False,
    system: _System = None,
    dataset_version: _DatasetVersion = None,
) -> None:
    """Count duplicate rows; examples name rows by position, never by value."""
    _run(ctx, "duplicates", data, system=system, dataset_version=dataset_version, out=out,
         as_json=as_json, strict=strict, columns=names(columns, "--columns"),
         exclude=names(exclude, "--exclude") or [], id_column=id_column, examples=examples,
         show=names(show, "--show") or [], max_share=max_share)  # fmt: skip


@check_app.command("leakage", no_args_is_help=True)
def leakage(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="The dataset checked, e.g. the test set (CSV or Parquet).")],
    reference: Annotated[str, typer.Option(help="The dataset it must not share rows with, e.g. the training set.")],
    columns: _Columns = None,
    exclude: _Exclude = None,
    max_share: Annotated[float, typer.Option(help="Pass when the share of shared rows is at most this.")] = 0.0,
    out: _Out = None,
    as_json: JsonOption = False,
    strict: _Strict = False,
    system: _System = None,
    dataset_version: _DatasetVersion = None,
) -> None:
    """Rows of a dataset that also occur in another (e.g. test rows in the training set)."""
    _run(ctx, "leakage", data, system=system, dataset_version=dataset_version, out=out,
         as_json=as_json, strict=strict, reference=reference, columns=names(columns, "--columns"),
         exclude=names(exclude, "--exclude") or [], max_share=max_share)  # fmt: skip


@check_app.command("target-leakage", no_args_is_help=True)
def target_leakage(
    ctx: typer.Context,
    data: _Data,
    label: Annotated[
        str, typer.Option(help="Label column and its positive values: COL=V[,V...], COL>T, or COL (0/1).")
    ],
    features: _Columns = None,
    exclude: _Exclude = None,
    threshold: Annotated[float, typer.Option(help="Flag a feature whose ROC AUC alone is at least this.")] = 0.99,
    max_bins: Annotated[int, typer.Option(help="Bins for numeric features with more distinct values.")] = 1000,
    out: _Out = None,
    as_json: JsonOption = False,
    strict: _Strict = False,
    system: _System = None,
    dataset_version: _DatasetVersion = None,
) -> None:
    """Features that predict the label alone (ROC AUC >= threshold), computed on the engine."""
    _run(ctx, "target-leakage", data, system=system, dataset_version=dataset_version, out=out,
         as_json=as_json, strict=strict, **label_option(label), features=names(features, "--features"),
         exclude=names(exclude, "--exclude") or [], threshold=threshold, max_bins=max_bins)  # fmt: skip


@check_app.command("label-issues", no_args_is_help=True)
def label_issues(
    ctx: typer.Context,
    data: _Data,
    label: Annotated[str, typer.Option(help="Label column (any number of classes).")],
    features: _Columns = None,
    exclude: _Exclude = None,
    sample: Annotated[int, typer.Option(help="Rows sampled (at random) for the cross-validated model.")] = 5000,
    folds: Annotated[int, typer.Option(help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the sample and the folds.")] = 0,
    max_share: Annotated[
        float, typer.Option(help="Pass when the share of likely mislabelled rows is at most this.")
    ] = (0.05),
    out: _Out = None,
    as_json: JsonOption = False,
    strict: _Strict = False,
    system: _System = None,
    dataset_version: _DatasetVersion = None,
) -> None:
    """Rows likely mislabelled, by cross-validated confident learning (cleanlab) on a stated sample."""
    _run(ctx, "label-issues", data, system=system, dataset_version=dataset_version, out=out,
         as_json=as_json, strict=strict, label=label, features=names(features, "--features"),
         exclude=names(exclude, "--exclude") or [], sample=sample, folds=folds, seed=seed,
         max_share=max_share)  # fmt: skip


@check_app.command("representativeness", no_args_is_help=True)
def representativeness(
    ctx: typer.Context,
    data: _Data,
    population: Annotated[
        list[str],
        typer.Option(
            help="Reference population: COLUMN=GROUP:SHARE,GROUP:SHARE,... (e.g. sex=Female:0.51,Male:0.49). "
            "Repeatable."
        ),
    ],
    alpha: Annotated[float, typer.Option(help="Significance level of the chi-square test.")] = 0.05,
    out: _Out = None,
    as_json: JsonOption = False,
    strict: _Strict = False,
    system: _System = None,
    dataset_version: _DatasetVersion = None,
) -> None:
    """Group shares against a reference population, with a chi-square goodness-of-fit test."""
    _run(ctx, "representativeness", data, system=system, dataset_version=dataset_version, out=out,
         as_json=as_json, strict=strict, populations=_populations(population), alpha=alpha)  # fmt: skip


@check_app.command("pii", no_args_is_help=True)
def pii(
    ctx: typer.Context,
    data: _Data,
    columns: _Columns = None,
    sample: Annotated[int, typer.Option(help="Values scanned per column (drawn at random).")] = 200,
    min_score: Annotated[float, typer.Option(help="Least recogniser score that counts.")] = 0.4,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 0,
    out: _Out = None,
    as_json: JsonOption = False,
    strict: _Strict = False,
    system: _System = None,
    dataset_version: _DatasetVersion = None,
) -> None:
    """Personal data in column names and sampled values (Presidio, offline); never prints a value."""
    _run(ctx, "pii", data, system=system, dataset_version=dataset_version, out=out,
         as_json=as_json, strict=strict, columns=names(columns, "--columns"), sample=sample, seed=seed,
         min_score=min_score)  # fmt: skip


def _populations(texts: list[str]) -> dict[str, dict[str, float]]:
    """``COLUMN=GROUP:SHARE,...`` (repeatable) -> ``{column: {group: share}}``."""
    from assay.checks import parse_population

    parsed: dict[str, dict[str, float]] = {}
    for text in texts:
        column, shares = parse_population(text)
        if column in parsed:
            raise InvalidInput(f"the population of {column!r} is given twice")
        parsed[column] = dict(shares)
    return parsed


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(check_app, name="check")
