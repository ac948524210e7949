"""``assay explain``: SHAP explanations and partial dependence of a model on a dataset."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from assay.cli._shell import open_workspace
from assay.cli.assess import parse_role
from assay.errors import InvalidInput

__all__ = ["explain", "parse_rows", "register"]


def parse_rows(text: str) -> int | list[int]:
    """``N`` (the first N rows) or ``I,J,...`` (those rows, counted from 0)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise InvalidInput(f"--rows {text!r}: give a number of rows, or row numbers separated by commas") from None
    if not numbers or any(n < 0 for n in numbers):
        raise InvalidInput(f"--rows {text!r}: give a number of rows, or row numbers separated by commas")
    return numbers[0] if len(parts) == 1 and "," not in text else numbers


def explain(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="CSV or Parquet file.", show_default=False)],
    model: Annotated[
        str,
        typer.Option(
            help="Model: a .skops, .onnx or .joblib/.pkl file (the last needs --trust-pickle), an http(s) URL, "
            "or package.module:function.",
            show_default=False,
        ),
    ],
    label: Annotated[
        str,
        typer.Option(
            help="Label column and its positive values (COL=V[,V...], 'COL>T', or COL): the positive value is the "
            "model class explained.",
            show_default=False,
        ),
    ],
    facet: Annotated[
        list[str] | None,
        typer.Option(help="Facet column for importance per group: COL, COL=V[,V...] or 'COL>T'. Repeatable."),
    ] = None,
    rows: Annotated[str, typer.Option(help="Local explanations: N (the first N rows) or row numbers I,J,...")] = "5",
    sample: Annotated[
        int | None,
        typer.Option(
            help="Rows explained, drawn at random (default: 1000 for tree/linear, 100 otherwise).", show_default=False
        ),
    ] = None,
    background: Annotated[
        int, typer.Option(help="Background rows of the linear, permutation and kernel explainers.")
    ] = 100,
    method: Annotated[str, typer.Option(help="Explainer: auto, tree, linear, permutation or kernel.")] = "auto",
    pdp: Annotated[int, typer.Option(help="Partial dependence for this many top features (0: none).")] = 5,
    features: Annotated[
        str | None, typer.Option(help="Comma-separated feature columns, for a model that does not name them.")
    ] = None,
    model_kind: Annotated[
        str | None, typer.Option(help="Kind of --model: sklearn, skops, onnx, callable or http (default: guessed).")
    ] = None,
    trust_pickle: Annotated[
        bool, typer.Option(help="Load a .joblib/.pkl model: a pickle runs any code it holds. Prefer skops.")
    ] = False,
    trust_type: Annotated[
        list[str] | None, typer.Option(help="A type the .skops model may hold, after you checked it. Repeatable.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample, the background and the explainer.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for explanations.json, analysis.json and report.html.")] = Path(
        "explanations"
    ),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the output paths.")] = False,
    system: Annotated[
        str | None, typer.Option(help="Record the explanations in the workspace against this AI system.")
    ] = None,
    model_version: Annotated[
        str | None, typer.Option(help="The model version explained, MODEL@VERSION (needs --system).")
    ] = None,
    dataset_version: Annotated[
        str | None, typer.Option(help="The dataset version explained, DATASET@VERSION (needs --system).")
    ] = None,
) -> None:
    """Explain a model: SHAP importance (global, per facet group, for chosen rows) and partial dependence.

    Only the model's own feature columns are passed to it. With --system the document is recorded in the
    workspace (kind assay.explanations)."""
    column, values, threshold = parse_role(label, "--label")
    chosen_rows = parse_rows(rows)
    if system is None and (model_version or dataset_version):
        raise InvalidInput("--model-version and --dataset-version need --system: the AI system to record against")
    workspace = None
    if system is not None:
        workspace = open_workspace(ctx)
        workspace.explanations.check_target(system, model_version=model_version, dataset_version=dataset_version)
    from assay.frames import Facet, Label
    from assay.services.explanations import run_explanations

    facets = [Facet(c, v, t) for c, v, t in (parse_role(f, "--facet") for f in facet or [])]
    console = Console(stderr=True, quiet=quiet)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task("loading the model", total=None)

        def progress(stage: str) -> None:
            bar.update(task, description=stage)

        done = run_explanations(
            data,
            model,
            out=out,
            workspace=workspace,
            system=system,
            model_version=model_version,
            dataset_version=dataset_version,
            label=Label(column, values, threshold),
            facets=facets,
            rows=chosen_rows,
            sample=sample,
            background=background,
            method=method,
            pdp=pdp,
            features=[f.strip() for f in features.split(",") if f.strip()] if features else None,
            kind=model_kind,
            trust=trust_pickle,
            trusted_types=trust_type or (),
            seed=seed,
            progress=progress,
        )
    stdout = Console() if sys.stdout.isatty() else Console(width=140)
    if not quiet:
        _summary(stdout, done.report.to_dict())
    for name, path in done.paths.items():
        stdout.print(f"{name}: {path}", highlight=False, soft_wrap=True)
    if workspace is not None and done.recorded is not None:
        stdout.print(f"recorded: explanations {done.recorded.id} of {system} in {workspace.home}", highlight=False)


def _summary(console: Console, document: dict[str, Any]) -> None:
    method = document["method"]
    background = method["background"]
    console.print(
        f"[bold]{method['shap_explainer']}[/] on {method['sample']['rows']} of {method['sample']['of']} rows, "
        f"{method['output_scale']} scale, expected value {document['expected_value']:.4g}, background "
        + (f"{background['rows']} rows" if background["rows"] is not None else "the trees' training cover"),
        highlight=False,
    )
    table = Table(title="Global importance (mean |SHAP|)")
    table.add_column("feature")
    table.add_column("mean |SHAP|", justify="right")
    table.add_column("mean SHAP", justify="right")
    for item in document["features"][:15]:
        table.add_row(str(item["feature"]), f"{item['mean_abs_shap']:.4g}", f"{item['mean_shap']:.4g}")
    console.print(table)
    for w in document["warnings"]:
        console.print(f"warning: {w['message']}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("explain", no_args_is_help=True)(explain)
