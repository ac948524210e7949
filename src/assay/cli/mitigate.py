"""``assay mitigate``: fit a bias mitigation around a model, show the trade-off, write the mitigated model and the
report, and (with --system) register the model as a new version with lineage and record the comparison."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from assay.cli._options import facet_option, label_option, names, progress_bar
from assay.cli._shell import open_workspace
from assay.errors import InvalidInput
from assay.mitigate.options import MitigationOptions

if TYPE_CHECKING:
    from assay.services.mitigation import MitigationReport

__all__ = ["mitigate", "register"]


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


def _format(value: str) -> Any:
    if value not in ("skops", "joblib"):
        raise InvalidInput(f"--format must be skops or joblib, not {value!r}")
    return value


_O = MitigationOptions


def mitigate(
    ctx: typer.Context,
    data: Annotated[str, typer.Argument(help="CSV or Parquet file with the label, facet and feature columns.")],
    model: Annotated[str, typer.Option(help="The model: a .skops file, or .joblib/.pkl with --trust-pickle.")],
    label: Annotated[
        str, typer.Option(help="Label column and its positive (favourable) values: COL=V[,V...] or COL>T.")
    ],
    facet: Annotated[str, typer.Option(help="Facet d, the group to protect: COL=V[,V...] or 'COL>T'.")],
    method: Annotated[str, typer.Option(help=_O.help("method"))],
    constraint: Annotated[str | None, typer.Option(help=_O.help("constraint"))] = _O.default("constraint"),
    test_size: Annotated[float, typer.Option(help=_O.help("test_size"))] = _O.default("test_size"),
    seed: Annotated[int, typer.Option(help=_O.help("seed"))] = _O.default("seed"),
    out: Annotated[Path, typer.Option(help="Folder for the model file, mitigation.json and report.html.")] = Path(
        "mitigation"
    ),
    features: Annotated[
        str | None, typer.Option(help="Comma-separated feature columns (default: the names the model was fit on).")
    ] = None,
    sample: Annotated[int | None, typer.Option(help=_O.help("sample"))] = _O.default("sample"),
    difference_bound: Annotated[float, typer.Option(help=_O.help("difference_bound"))] = _O.default("difference_bound"),
    max_iter: Annotated[int, typer.Option(help=_O.help("max_iter"))] = _O.default("max_iter"),
    tolerance: Annotated[float | None, typer.Option(help=_O.help("tolerance"))] = _O.default("tolerance"),
    margin: Annotated[float | None, typer.Option(help=_O.help("margin"))] = _O.default("margin"),
    metric: Annotated[str, typer.Option(help=_O.help("metric"))] = _O.default("metric"),
    bounds: Annotated[str | None, typer.Option(help=_O.help("bounds"))] = None,
    threshold: Annotated[float, typer.Option(help=_O.help("threshold"))] = _O.default("threshold"),
    curve: Annotated[bool, typer.Option(help=_O.help("curve"))] = _O.default("curve"),
    bootstrap: Annotated[int, typer.Option(help=_O.help("bootstrap"))] = _O.default("bootstrap"),
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
    chosen_facet = facet_option(facet)
    if chosen_facet.values is None and chosen_facet.threshold is None:
        raise InvalidInput(f"--facet {facet!r}: say which rows are facet d: COL=V[,V...] or 'COL>T'")
    options = _O.parse(
        flags=True,
        values={
            **label_option(label),
            "facet": chosen_facet,
            "method": method,
            "constraint": constraint,
            "features": names(features, "--features"),
            "test_size": test_size,
            "seed": seed,
            "sample": sample,
            "difference_bound": difference_bound,
            "max_iter": max_iter,
            "tolerance": tolerance,
            "margin": margin,
            "metric": metric.upper(),
            "bounds": _bounds(bounds),
            "threshold": threshold,
            "curve": curve,
            "bootstrap": bootstrap,
        },
    )
    fmt = _format(model_format)
    if system is None and (model_version or new_version):
        raise InvalidInput("--model-version and --new-version need --system: the AI system to record in")
    if system is not None and model_version is None:
        raise InvalidInput("--system needs --model-version: the original model version, MODEL@VERSION")
    workspace = None
    if system is not None and model_version is not None:
        workspace = open_workspace(ctx)
        workspace.mitigation.check_target(
            system, model_version=model_version, new_version=new_version, method=options.method
        )
    from assay.services import compute as runs
    from assay.services.mitigation import load_estimator, write_outputs

    with progress_bar(quiet, "mitigating") as progress:
        progress("loading the model")
        loaded = load_estimator(model, trust_pickle, trust_type or ())
        report = runs.compute("mitigation", runs.Inputs(data, model=loaded, progress=progress), options)
        progress("writing the model and the report")
        paths = write_outputs(report, out, format=fmt)
    stdout = Console() if sys.stdout.isatty() else Console(width=140)
    if not quiet:
        _summary(stdout, report)
    for name, path in paths.items():
        stdout.print(f"{name}: {path}", highlight=False, soft_wrap=True)
    if workspace is not None and system is not None and model_version is not None:
        recorded = workspace.mitigation.record(
            report, system, model_version=model_version, new_version=new_version, model_file=paths["model"],
            files={"mitigation.json": paths["mitigation"], "report.html": paths["report"]},
        )  # fmt: skip
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
    effect = doc.get("held_out_effect")
    if effect:
        console.print(effect["summary"], style=None if effect["helped"] else "bold yellow", markup=False)
    curve = doc.get("curve")
    if curve:
        points = Table(title=f"Curve over {curve['parameter']} ({curve['description']})")
        for column in (curve["parameter"], "accuracy", "DPPL", "DI"):
            points.add_column(column, justify="right")
        for p in curve["points"]:
            style = "bold" if p.get("chosen") else None
            points.add_row(*(_cell(p.get(k)) for k in ("value", "accuracy", "DPPL", "DI")), style=style)
        console.print(points)
