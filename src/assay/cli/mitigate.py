"""``assay mitigate``: fit a bias mitigation around a model, show the trade-off, write the mitigated model and the
report, and (with --system) register the model as a new version with lineage and record the comparison."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from assay.cli._shell import open_workspace
from assay.cli.assess import parse_role
from assay.errors import InvalidInput

if TYPE_CHECKING:
    from assay.services.mitigation import MitigationReport

__all__ = ["mitigate", "register"]

_METHODS = ("reweighing", "exponentiated-gradient", "threshold-optimizer", "reject-option")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("mitigate", no_args_is_help=True)(mitigate)


def _bounds(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    low, sep, high = text.partition(",")
    try:
        if not sep:
            raise ValueError
        return float(low), float(high)
    except ValueError:
        raise InvalidInput(f"--bounds {text!r}: write LOW,HIGH, e.g. -0.05,0.05 or 0.8,1.25") from None


def _metric(value: str) -> Any:
    if value.upper() not in ("DPPL", "DI"):
        raise InvalidInput(f"--metric must be DPPL or DI, not {value!r}")
    return value.upper()


def _format(value: str) -> Any:
    if value not in ("skops", "joblib"):
        raise InvalidInput(f"--format must be skops or joblib, not {value!r}")
    return value


def mitigate(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="CSV or Parquet file with the label, facet and feature columns.")],
    model: Annotated[str, typer.Option(help="The model: a .skops file, or .joblib/.pkl with --trust-pickle.")],
    label: Annotated[
        str, typer.Option(help="Label column and its positive (favourable) values: COL=V[,V...] or COL>T.")
    ],
    facet: Annotated[str, typer.Option(help="Facet d, the group to protect: COL=V[,V...] or 'COL>T'.")],
    method: Annotated[str, typer.Option(help=f"One of: {', '.join(_METHODS)}.")],
    constraint: Annotated[
        str | None,
        typer.Option(
            help="demographic_parity (default) or equalized_odds (exponentiated-gradient, threshold-optimizer)."
        ),
    ] = None,
    test_size: Annotated[float, typer.Option(help="Share of the rows held out to measure the trade-off.")] = 0.3,
    seed: Annotated[int, typer.Option(help="Seed of the split, the sample and the bootstrap.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for the model file, mitigation.json and report.html.")] = Path(
        "mitigation"
    ),
    features: Annotated[
        str | None, typer.Option(help="Comma-separated feature columns (default: the names the model was fit on).")
    ] = None,
    sample: Annotated[int | None, typer.Option(help="Use a random sample of this many rows.")] = None,
    difference_bound: Annotated[
        float, typer.Option(help="exponentiated-gradient: the largest difference between the groups allowed.")
    ] = 0.01,
    max_iter: Annotated[int, typer.Option(help="exponentiated-gradient: iterations.")] = 50,
    tolerance: Annotated[
        float | None, typer.Option(help="threshold-optimizer, demographic parity: selection-rate difference allowed.")
    ] = None,
    margin: Annotated[
        float | None, typer.Option(help="reject-option: half-width of the critical region (default: searched).")
    ] = None,
    metric: Annotated[
        str, typer.Option(help="reject-option: DPPL or DI, kept within --bounds by the search.")
    ] = "DPPL",
    bounds: Annotated[
        str | None, typer.Option(help="reject-option: LOW,HIGH for the metric (default -0.05,0.05 or 0.8,1.25).")
    ] = None,
    threshold: Annotated[float, typer.Option(help="reject-option: the decision threshold on the probability.")] = 0.5,
    curve: Annotated[bool, typer.Option(help="Compute the trade-off curve over the method's parameter.")] = True,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap replicates for the intervals (0: none).")] = 200,
    model_format: Annotated[str, typer.Option("--format", help="Mitigated model file: skops or joblib.")] = "skops",
    trust_pickle: Annotated[
        bool, typer.Option("--trust-pickle", help="Load a joblib/pickle model (it can run any code).")
    ] = False,
    trust_type: Annotated[
        list[str] | None, typer.Option(help="A type the skops model file may hold. Repeatable.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the output paths.")] = False,
    system: Annotated[
        str | None, typer.Option(help="Register the mitigated model and record the result in this AI system.")
    ] = None,
    model_version: Annotated[
        str | None, typer.Option(help="The original model version, MODEL@VERSION (with --system).")
    ] = None,
    new_version: Annotated[
        str | None, typer.Option(help="Version of the mitigated model (default: VERSION-METHOD).")
    ] = None,
) -> None:
    """Mitigate bias: reweighing, exponentiated gradient, threshold optimisation or reject-option classification.

    The rows are split; the mitigation is fitted on one part and the original and mitigated models are measured on
    the other (accuracy, DPPL, DI with intervals, and a curve over the method's parameter)."""
    label_column, label_values, label_threshold = parse_role(label, "--label")
    facet_column, facet_values, facet_threshold = parse_role(facet, "--facet")
    if facet_values is None and facet_threshold is None:
        raise InvalidInput(f"--facet {facet!r}: say which rows are facet d: COL=V[,V...] or 'COL>T'")
    if method not in _METHODS:
        raise InvalidInput(f"--method {method!r} is not one of {', '.join(_METHODS)}")
    fmt = _format(model_format)
    if system is None and (model_version or new_version):
        raise InvalidInput("--model-version and --new-version need --system: the AI system to record in")
    if system is not None and model_version is None:
        raise InvalidInput("--system needs --model-version: the original model version, MODEL@VERSION")
    workspace = None
    if system is not None and model_version is not None:
        workspace = open_workspace(ctx)
        workspace.mitigation.check_target(system, model_version=model_version, new_version=new_version, method=method)
    from assay.frames import Facet, Label
    from assay.services.mitigation import run_mitigation

    console = Console(stderr=True, quiet=quiet)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
    ) as bar:
        task = bar.add_task("mitigating", total=None)

        def progress(stage: str) -> None:
            bar.update(task, description=stage)

        done = run_mitigation(
            data,
            model,
            out=out,
            format=fmt,
            workspace=workspace,
            system=system,
            model_version=model_version,
            new_version=new_version,
            label=Label(label_column, label_values, label_threshold),
            facet=Facet(facet_column, facet_values, facet_threshold),
            method=method,
            constraint=constraint,
            features=[f.strip() for f in features.split(",") if f.strip()] if features else None,
            test_size=test_size,
            seed=seed,
            sample=sample,
            difference_bound=difference_bound,
            max_iter=max_iter,
            tolerance=tolerance,
            margin=margin,
            metric=_metric(metric),
            bounds=_bounds(bounds),
            threshold=threshold,
            curve=curve,
            bootstrap=bootstrap,
            trust_pickle=trust_pickle,
            trusted_types=trust_type or (),
            progress=progress,
        )
    stdout = Console() if sys.stdout.isatty() else Console(width=140)
    if not quiet:
        _summary(stdout, done.report)
    for name, path in done.paths.items():
        stdout.print(f"{name}: {path}", highlight=False, soft_wrap=True)
    if workspace is not None and done.recorded is not None:
        recorded = done.recorded
        stdout.print(
            f"registered: {recorded.ref} (parent {model_version}); recorded: assessment {recorded.assessment.id} "
            f"of {system} in {workspace.home}",
            highlight=False,
        )


def _cell(value: Any, ci: Any = None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return "∞" if value == "Infinity" else value
    text = f"{value:.4g}"
    if isinstance(ci, list) and len(ci) == 2 and all(isinstance(v, int | float) for v in ci):
        text += f" [{ci[0]:.3g}, {ci[1]:.3g}]"
    return text


def _summary(console: Console, report: MitigationReport) -> None:
    doc = report.document
    table = Table(title=f"Trade-off on {doc['data']['rows']['test']} held-out rows: {doc['method']}")
    for column in ("model", "accuracy", "DPPL", "DI", "RD", "SD", "q_d", "q_a"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in doc["comparison"]:
        table.add_row(
            row["name"],
            *(_cell(row.get(m), row.get(f"{m}_ci")) for m in ("accuracy", "DPPL", "DI")),
            *(_cell(row.get(m)) for m in ("RD", "SD", "selection_rate_d", "selection_rate_a")),
        )
    console.print(table)
    curve = doc.get("curve")
    if curve:
        points = Table(title=f"Curve over {curve['parameter']} ({curve['description']})")
        for column in (curve["parameter"], "accuracy", "DPPL", "DI"):
            points.add_column(column, justify="right")
        for p in curve["points"]:
            style = "bold" if p.get("chosen") else None
            points.add_row(*(_cell(p.get(k)) for k in ("value", "accuracy", "DPPL", "DI")), style=style)
        console.print(points)
