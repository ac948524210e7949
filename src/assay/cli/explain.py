"""``assay explain``: SHAP explanations and partial dependence of a model on a dataset."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from assay.cli._options import facet_option, label_option, names, progress_bar, target_workspace
from assay.errors import InvalidInput
from assay.explain.options import ExplanationOptions

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


_O = ExplanationOptions


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
    rows: Annotated[str, typer.Option(help="Local explanations: N (the first N rows) or row numbers I,J,...")] = str(
        _O.default("rows")
    ),
    sample: Annotated[int | None, typer.Option(help=_O.help("sample"), show_default=False)] = _O.default("sample"),
    background: Annotated[int, typer.Option(help=_O.help("background"))] = _O.default("background"),
    method: Annotated[str, typer.Option(help=_O.help("method"))] = _O.default("method"),
    pdp: Annotated[int, typer.Option(help=_O.help("pdp"))] = _O.default("pdp"),
    grid_resolution: Annotated[int, typer.Option(help=_O.help("grid_resolution"))] = _O.default("grid_resolution"),
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
    seed: Annotated[int, typer.Option(help=_O.help("seed"))] = _O.default("seed"),
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
    options = _O.parse(
        flags=True,
        values={
            **label_option(label),
            "facets": [facet_option(f) for f in facet or []],
            "rows": parse_rows(rows),
            "sample": sample,
            "background": background,
            "method": method,
            "pdp": pdp,
            "grid_resolution": grid_resolution,
            "features": names(features, "--features"),
            "seed": seed,
        },
    )
    workspace = target_workspace(ctx, system, model_version=model_version, dataset_version=dataset_version)
    from assay.adapters import load_model
    from assay.services import compute as runs

    with progress_bar(quiet, "loading the model") as progress:
        loaded = load_model(
            model, kind=model_kind, trust=trust_pickle, trusted_types=trust_type or (), feature_names=options.features
        )
        report = runs.compute("explanations", runs.Inputs(data, model=loaded, progress=progress), options)
        progress("writing reports")
        paths = runs.write("explanations", report, out)
    stdout = Console() if sys.stdout.isatty() else Console(width=140)
    if not quiet:
        _summary(stdout, report.to_dict())
    for name, path in paths.items():
        stdout.print(f"{name}: {path}", highlight=False, soft_wrap=True)
    if workspace is not None and system is not None:
        recorded = workspace.runs.record(
            "explanations", system, report, paths=paths, model_version=model_version, dataset_version=dataset_version
        )
        stdout.print(f"recorded: explanations {recorded.id} of {system} in {workspace.home}", highlight=False)


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
