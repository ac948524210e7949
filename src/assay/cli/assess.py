"""``assay assess``: measure bias in a dataset and write analysis.json, assessment.json and report.html."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from assay.cli._shell import open_workspace
from assay.cli.render import summary
from assay.errors import InvalidInput

__all__ = ["assess", "parse_role"]


def parse_role(text: str, option: str) -> tuple[str, tuple[str, ...] | None, float | None]:
    """``COL``, ``COL=V1,V2`` (values) or ``COL>T`` (threshold) -> (column, values, threshold)."""
    if "=" in text:
        column, _, raw = text.partition("=")
        values = tuple(v.strip() for v in raw.split(","))
        if not column.strip() or not raw.strip() or any(v == "" for v in values):
            raise InvalidInput(f"{option} {text!r}: write COLUMN=VALUE[,VALUE...]")
        return column.strip(), values, None
    if ">" in text:
        column, _, raw = text.partition(">")
        try:
            threshold = float(raw)
        except ValueError:
            raise InvalidInput(f"{option} {text!r}: the threshold after '>' must be a number") from None
        return column.strip(), None, threshold
    if not text.strip():
        raise InvalidInput(f"{option}: give a column name")
    return text.strip(), None, None


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
    predicted: Annotated[
        str | None, typer.Option(help="Predicted-label column (uses the label's positive values).")
    ] = None,
    score: Annotated[str | None, typer.Option(help="Score column: probability of the positive class.")] = None,
    threshold: Annotated[float, typer.Option(help="Score threshold: score > T is positive.")] = 0.5,
    group: Annotated[str | None, typer.Option(help="Group column for CDDL and CDDPL.")] = None,
    intersect: Annotated[bool, typer.Option(help="Also assess every combination of the facets.")] = False,
    metrics: Annotated[str | None, typer.Option(help="Comma-separated metric names (default: all).")] = None,
    features: Annotated[
        str | None, typer.Option(help="Comma-separated numeric feature columns for FT (default: Clarify's).")
    ] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap replicates for the intervals (0: none).")] = 1000,
    confidence: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    min_group_size: Annotated[int, typer.Option(help="Warn about facet groups smaller than this.")] = 30,
    divergence: Annotated[
        str, typer.Option(help="sound (default) or clarify: Clarify's truncated KL/JS/LP/TVD/KS.")
    ] = "sound",
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
    ft_max_rows: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="FT on a seeded random sample of this many rows when there are more; the result says so "
            "(default: ASSAY_FT_MAX_ROWS, else 1,000,000).",
            show_default=False,
        ),
    ] = None,
    ft_exact: Annotated[
        bool, typer.Option("--ft-exact", help="FT on every row, however many (its cost is printed first).")
    ] = False,
) -> None:
    """Measure bias: Clarify's pre- and post-training metrics with intervals, per-group performance.

    With --system the result is recorded in the workspace and linked as evidence to the controls it serves."""
    column, values, label_threshold = parse_role(label, "--label")
    workspace = None
    if system is None and (model_version or dataset_version):
        raise InvalidInput("--model-version and --dataset-version need --system: the AI system to record against")
    if system is not None:
        workspace = open_workspace(ctx)
        workspace.assessments.check_target(system, model_version=model_version, dataset_version=dataset_version)
    from assay.frames import Facet, Label
    from assay.services import assess as run_assessment
    from assay.services import write_outputs

    facets = [Facet(c, v, t) for c, v, t in (parse_role(f, "--facet") for f in facet)]
    loaded = None
    if model is not None:
        from assay.services.explanations import load_model

        loaded = load_model(
            model,
            kind=model_kind,
            trust=trust_pickle,
            trusted_types=trust_type or (),
            feature_names=[f.strip() for f in model_features.split(",") if f.strip()] if model_features else None,
        )
    console = Console(stderr=True, quiet=quiet)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("assessing", total=None)

        def progress(stage: str) -> None:
            if stage.startswith("FT cost:"):  # stated before the flip test starts, and kept on the screen
                console.print(stage, highlight=False, soft_wrap=True)
            bar.update(task, description=stage)

        report = run_assessment(
            data,
            label=Label(column, values, label_threshold),
            facets=facets,
            predicted=predicted,
            score=score,
            threshold=threshold,
            group=group,
            intersect=intersect,
            metrics=list(metrics.split(",")) if metrics else None,
            features=[f.strip() for f in features.split(",") if f.strip()] if features else None,
            bootstrap=bootstrap,
            confidence=confidence,
            seed=seed,
            min_group_size=min_group_size,
            divergence=_divergence(divergence),
            progress=progress,
            model=loaded,
            ft_max_rows=ft_max_rows,
            ft_exact=ft_exact,
        )
        progress("writing reports")
        paths = write_outputs(report, out)
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
        recorded = workspace.assessments.record(
            system,
            report.to_dict(),
            model_version=model_version,
            dataset_version=dataset_version,
            files={path.name: path for path in paths.values()},
        )
        stdout.print(f"recorded: assessment {recorded.id} of {system} in {workspace.home}", highlight=False)


def _divergence(value: str) -> Any:
    if value not in ("sound", "clarify"):
        raise InvalidInput(f"--divergence must be 'sound' or 'clarify', not {value!r}")
    return value
