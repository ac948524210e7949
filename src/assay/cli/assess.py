"""``assay assess``: measure bias in a dataset and write analysis.json, assessment.json and report.html."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from assay.cli._options import facet_option, label_option, names, progress_bar, target_workspace
from assay.cli.render import summary
from assay.metrics.options import BiasOptions

__all__ = ["assess"]


_O = BiasOptions


def assess(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="CSV or Parquet file.", show_default=False)],
    label: Annotated[
        str, typer.Option(help="Label column and its positive values: COL=V[,V...], COL>T, or COL for 0/1.")
    ],
    facet: Annotated[
        list[str],
        typer.Option(help="Facet column: COL (one-vs-all), COL=V[,V...] (facet d) or 'COL>T'. Repeatable."),
    ],
    out: Annotated[Path, typer.Option(help="Folder for analysis.json, assessment.json and report.html.")],
    predicted: Annotated[str | None, typer.Option(help=_O.help("predicted"))] = _O.default("predicted"),
    score: Annotated[str | None, typer.Option(help=_O.help("score"))] = _O.default("score"),
    threshold: Annotated[float, typer.Option(help=_O.help("threshold"))] = _O.default("threshold"),
    group: Annotated[str | None, typer.Option(help=_O.help("group"))] = _O.default("group"),
    intersect: Annotated[bool, typer.Option(help=_O.help("intersect"))] = _O.default("intersect"),
    metrics: Annotated[str | None, typer.Option(help="Comma-separated metric names (default: all).")] = None,
    features: Annotated[
        str | None, typer.Option(help="Comma-separated numeric feature columns for FT (default: Clarify's).")
    ] = None,
    bootstrap: Annotated[int | None, typer.Option(help=_O.help("bootstrap"), show_default=False)] = None,
    confidence: Annotated[float | None, typer.Option(help=_O.help("confidence"), show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(help=_O.help("seed"), show_default=False)] = None,
    min_group_size: Annotated[int | None, typer.Option(help=_O.help("min_group_size"), show_default=False)] = None,
    divergence: Annotated[str, typer.Option(help=_O.help("divergence"))] = _O.default("divergence"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the output paths.")] = False,
    system: Annotated[
        str | None, typer.Option(help="Record the assessment in the workspace against this AI system.")
    ] = None,
    model_version: Annotated[
        str | None, typer.Option(help="The model version assessed, MODEL@VERSION (needs --system).")
    ] = None,
    dataset_version: Annotated[
        str | None, typer.Option(help="The dataset version assessed, DATASET@VERSION (needs --system).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Model file (.skops, .onnx, .joblib/.pkl with --trust-pickle) or http(s) URL: computes the score "
            "column model_score from the model's own feature columns (instead of --score/--predicted)."
        ),
    ] = None,
    model_kind: Annotated[
        str | None, typer.Option(help="Kind of --model: sklearn, skops, onnx, callable or http (default: guessed).")
    ] = None,
    trust_pickle: Annotated[
        bool, typer.Option(help="Load a .joblib/.pkl --model: a pickle runs any code it holds. Prefer skops.")
    ] = False,
    trust_type: Annotated[
        list[str] | None, typer.Option(help="A type the .skops --model may hold, after you checked it. Repeatable.")
    ] = None,
    model_features: Annotated[
        str | None, typer.Option(help="Comma-separated feature columns, for a model that does not name them.")
    ] = None,
    ft_max_rows: Annotated[int | None, typer.Option(help=_O.help("ft_max_rows"), show_default=False)] = None,
    ft_exact: Annotated[bool, typer.Option("--ft-exact", help=_O.help("ft_exact"))] = _O.default("ft_exact"),
) -> None:
    """Measure bias: Clarify's pre- and post-training metrics with intervals, per-group performance.

    With --system the result is recorded in the workspace and linked as evidence to the controls it serves."""
    options = _O.parse(
        flags=True,
        values={
            **label_option(label),
            "facets": [facet_option(f) for f in facet],
            "predicted": predicted,
            "score": score,
            "threshold": threshold,
            "group": group,
            "intersect": intersect,
            "metrics": names(metrics, "--metrics"),
            "features": names(features, "--features"),
            "bootstrap": bootstrap,
            "confidence": confidence,
            "seed": seed,
            "min_group_size": min_group_size,
            "divergence": divergence,
            "ft_max_rows": ft_max_rows,
            "ft_exact": ft_exact,
        },
    )
    workspace = target_workspace(ctx, system, model_version=model_version, dataset_version=dataset_version)
    from assay.services import compute as runs

    loaded = None
    if model is not None:
        from assay.adapters import load_model

        loaded = load_model(
            model,
            kind=model_kind,
            trust=trust_pickle,
            trusted_types=trust_type or (),
            feature_names=names(model_features, "--model-features"),
        )
    with progress_bar(quiet, "assessing") as progress:
        report = runs.compute("bias", runs.Inputs(data, model=loaded, progress=progress), options)
        progress("writing reports")
        paths = runs.write("bias", report, out)
    # piped or captured output gets a fixed width wide enough for the tables instead of rich's 80 columns
    stdout = Console() if sys.stdout.isatty() else Console(width=140)
    if not quiet:
        summary(stdout, report.to_dict())
    for name, path in paths.items():
        stdout.print(f"{name}: {path}", highlight=False, soft_wrap=True)
    if loaded is not None:
        stdout.print(
            f"model: {loaded.source} ({loaded.kind}) on the columns {', '.join(loaded.feature_names)}",
            highlight=False,
            soft_wrap=True,
        )
    if workspace is not None and system is not None:
        recorded = workspace.runs.record(
            "bias", system, report, paths=paths, model_version=model_version, dataset_version=dataset_version
        )
        stdout.print(f"recorded: assessment {recorded.id} of {system} in {workspace.home}", highlight=False)
