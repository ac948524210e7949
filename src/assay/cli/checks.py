"""``assay check ...``: data checks (Model Monitor baseline and validation, duplicates, leakage, target leakage,
label issues, representativeness, PII). Each command calls one function of :mod:`assay.services.checks`, prints
the result's tables (or its document with ``--json``), writes its files with ``--out`` and records it with
``--system``. Exit 0, or 1 with ``--strict`` when the check fails; bad input exits 2."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from assay.checks.options import (
    BaselineOptions,
    DriftOptions,
    DuplicatesOptions,
    LabelIssuesOptions,
    LeakageOptions,
    PiiOptions,
    RepresentativenessOptions,
    TargetLeakageOptions,
    ValidateOptions,
)
from assay.cli._options import label_option, names, target_workspace
from assay.cli._shell import JsonOption, console, print_json
from assay.errors import InvalidInput
from assay.frames.options import Options

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
# each check's options: help texts and defaults are read from its options model (declared once, checks/options.py)
_B, _V, _D, _L = BaselineOptions, ValidateOptions, DuplicatesOptions, LeakageOptions
_T, _I, _R, _P = TargetLeakageOptions, LabelIssuesOptions, RepresentativenessOptions, PiiOptions
_F = DriftOptions


def _help(options: type[Options], name: str, **more: Any) -> Any:
    """The command-line option for ``name``, with the options model's help text."""
    return typer.Option(help=options.help(name), **more)


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
    max_categories: Annotated[int, _help(_B, "max_categories")] = _B.default("max_categories"),
    max_domain: Annotated[int, _help(_B, "max_domain")] = _B.default("max_domain"),
    comparison_threshold: Annotated[float, _help(_B, "comparison_threshold")] = _B.default("comparison_threshold"),
    comparison_method: Annotated[str, _help(_B, "comparison_method")] = _B.default("comparison_method"),
    categorical_drift_method: Annotated[str, _help(_B, "categorical_drift_method")] = _B.default(
        "categorical_drift_method"
    ),
    sketch_k: Annotated[int, _help(_B, "sketch_k")] = _B.default("sketch_k"),
    reference_sample: Annotated[int, _help(_B, "reference_sample")] = _B.default("reference_sample"),
    seed: Annotated[int, _help(_B, "seed")] = _B.default("seed"),
    as_json: JsonOption = False,
    system: _System = None,
    dataset_version: _DatasetVersion = None,
) -> None:
    """Profile a reference dataset and suggest constraints, in Model Monitor's formats (statistics.json also keeps
    the drift check's sketches)."""
    _run(ctx, "baseline", reference, system=system, dataset_version=dataset_version, out=out,
         as_json=as_json, strict=False, max_categories=max_categories, max_domain=max_domain,
         comparison_threshold=comparison_threshold, comparison_method=comparison_method,
         categorical_drift_method=categorical_drift_method, sketch_k=sketch_k,
         reference_sample=reference_sample, seed=seed)  # fmt: skip


@check_app.command("drift", no_args_is_help=True)
def drift(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="The current data (CSV or Parquet).", show_default=False)],
    baseline: Annotated[
        Path | None,
        typer.Option(help="Baseline folder of `assay check baseline` (its statistics.json).", show_default=False),
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="The reference data itself (CSV or Parquet), instead of --baseline.")
    ] = None,
    columns: _Columns = None,
    exclude: _Exclude = None,
    alpha: Annotated[float, _help(_F, "alpha")] = _F.default("alpha"),
    numeric_threshold: Annotated[float, _help(_F, "numeric_threshold")] = _F.default("numeric_threshold"),
    categorical_threshold: Annotated[float, _help(_F, "categorical_threshold")] = _F.default("categorical_threshold"),
    exact_rows: Annotated[int, _help(_F, "exact_rows")] = _F.default("exact_rows"),
    sketch_k: Annotated[int, _help(_F, "sketch_k")] = _F.default("sketch_k"),
    max_levels: Annotated[int, _help(_F, "max_levels")] = _F.default("max_levels"),
    multivariate: Annotated[bool, _help(_F, "multivariate")] = _F.default("multivariate"),
    classifier_sample: Annotated[int, _help(_F, "classifier_sample")] = _F.default("classifier_sample"),
    auc_threshold: Annotated[float, _help(_F, "auc_threshold")] = _F.default("auc_threshold"),
    seed: Annotated[int, _help(_F, "seed")] = _F.default("seed"),
    out: _Out = None,
    as_json: JsonOption = False,
    strict: _Strict = False,
    system: _System = None,
    dataset_version: _DatasetVersion = None,
) -> None:
    """Data drift per column (KS or two-sample chi-square, with an effect size) and a domain classifier, against
    a baseline's sketches or reference data."""
    if (baseline is None) == (reference is None):
        raise InvalidInput("give the reference as --baseline DIR (a baseline check's folder) or --reference FILE")
    _run(ctx, "drift", data, system=system, dataset_version=dataset_version, out=out, as_json=as_json,
         strict=strict, reference=reference, baseline=baseline, columns=names(columns, "--columns"),
         exclude=names(exclude, "--exclude") or [], alpha=alpha, numeric_threshold=numeric_threshold,
         categorical_threshold=categorical_threshold, exact_rows=exact_rows, sketch_k=sketch_k,
         max_levels=max_levels, multivariate=multivariate, classifier_sample=classifier_sample,
         auc_threshold=auc_threshold, seed=seed)  # fmt: skip


@check_app.command("validate", no_args_is_help=True)
def validate(
    ctx: typer.Context,
    data: _Data,
    baseline: Annotated[Path, typer.Option(help="Baseline folder (constraints.json, statistics.json).")],
    out: Annotated[
        Path, typer.Option(help="Folder for constraint_violations.json, statistics.json, validate.json, report.html.")
    ],
    max_categories: Annotated[int, _help(_V, "max_categories")] = _V.default("max_categories"),
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
    id_column: Annotated[str | None, _help(_D, "id_column", show_default=False)] = None,
    show: Annotated[
        str | None, typer.Option(help="Comma-separated columns whose values the examples may show.", show_default=False)
    ] = None,
    examples: Annotated[int, _help(_D, "examples")] = _D.default("examples"),
    max_share: Annotated[float, _help(_D, "max_share")] = _D.default("max_share"),
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
    max_share: Annotated[float, _help(_L, "max_share")] = _L.default("max_share"),
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
    threshold: Annotated[float, _help(_T, "threshold")] = _T.default("threshold"),
    max_bins: Annotated[int, _help(_T, "max_bins")] = _T.default("max_bins"),
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
    label: Annotated[str, _help(_I, "label")],
    features: _Columns = None,
    exclude: _Exclude = None,
    sample: Annotated[int, _help(_I, "sample")] = _I.default("sample"),
    folds: Annotated[int, _help(_I, "folds")] = _I.default("folds"),
    seed: Annotated[int, _help(_I, "seed")] = _I.default("seed"),
    max_excess: Annotated[float, _help(_I, "max_excess")] = _I.default("max_excess"),
    max_share: Annotated[float | None, _help(_I, "max_share")] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            help="Trusted labelled rows (e.g. the training set): the model is fitted on them instead of "
            "cross-validated on the data, so random label flips are not absorbed.",
            show_default=False,
        ),
    ] = None,
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
         max_excess=max_excess, max_share=max_share, reference=reference)  # fmt: skip


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
    alpha: Annotated[float, _help(_R, "alpha")] = _R.default("alpha"),
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
    sample: Annotated[int, _help(_P, "sample")] = _P.default("sample"),
    min_score: Annotated[float, _help(_P, "min_score")] = _P.default("min_score"),
    seed: Annotated[int, _help(_P, "seed")] = _P.default("seed"),
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


@check_app.command("import-baseline", no_args_is_help=True)
def import_baseline(
    ctx: typer.Context,
    folder: Annotated[
        Path,
        typer.Argument(help="Folder with Model Monitor's statistics.json and constraints.json.", show_default=False),
    ],
    system: Annotated[str, typer.Option(help="The AI system it is recorded in.", show_default=False)],
    dataset_version: _DatasetVersion = None,
) -> None:
    """Record a baseline made by SageMaker Model Monitor (statistics.json, constraints.json) as a baseline check, for
    monitors and `validate` to use as it is."""
    from assay.cli._shell import open_workspace

    recorded = open_workspace(ctx).checks.import_baseline(system, folder, dataset_version=dataset_version)
    typer.echo(f"recorded: baseline check {recorded.id} of {system} ({recorded.document['summary']})")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(check_app, name="check")
