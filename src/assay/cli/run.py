"""``assay run KIND DATA``: any registered compute kind on the user's own files, its options given by name.

The options are the kind's options model (``--set NAME=VALUE``, repeatable, or ``--options`` with a JSON object),
validated by it: a kind registered in :mod:`assay.services.kinds` has this command without any code of its own. The
dedicated commands (``assay assess``, ``explain``, ``mitigate``, ``check ...``) are friendlier shells over the same
kinds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli._options import facet_option, progress_bar, target_workspace
from assay.errors import InvalidInput

__all__ = ["parse_settings", "register", "run"]


def _value(name: str, text: str, annotation: Any) -> Any:
    """``text`` as the value of option ``name``: JSON when it is JSON; a comma-separated list for a list option; a
    role (``COL``, ``COL=V,...``, ``COL>T``) for a facet; else the text (the options model converts it)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    shown = str(annotation)
    if name in ("facet", "facets") and "FacetOption" in shown:  # a role; a plain column name otherwise
        facets = [facet_option(part, f"--set {name}") for part in ([text] if name == "facet" else text.split(";"))]
        return facets[0] if name == "facet" else facets
    if "list[" in shown:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def parse_settings(options: type[Any], given: list[str], as_json: str | None) -> dict[str, Any]:
    """``NAME=VALUE`` texts (and a JSON object) -> the values of ``options``' fields, before validation."""
    values: dict[str, Any] = {}
    if as_json is not None:
        try:
            loaded = json.loads(Path(as_json).read_text(encoding="utf-8") if Path(as_json).is_file() else as_json)
        except (json.JSONDecodeError, OSError) as exc:
            raise InvalidInput(f"--options: not a JSON object or a file holding one ({exc})") from None
        if not isinstance(loaded, dict):
            raise InvalidInput("--options: give a JSON object of option names and values")
        values.update(loaded)
    for item in given:
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise InvalidInput(f"--set {item!r}: write NAME=VALUE")
        if name not in options.model_fields:
            known = ", ".join(options.option_names())
            raise InvalidInput(f"--set {name}: not an option of this kind; its options: {known}")
        values[name] = _value(name, text, options.model_fields[name].annotation)
    return values


def run(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="The compute kind: bias, explanations, mitigation, duplicates, ...")],
    data: Annotated[str, typer.Argument(help="CSV or Parquet file.", show_default=False)],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="An option, NAME=VALUE (JSON, or text; lists comma-separated). Repeatable."),
    ] = None,
    options: Annotated[
        str | None, typer.Option("--options", help="The options as a JSON object, or a file holding one.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the result's files.", show_default=False)] = None,
    model: Annotated[
        str | None, typer.Option(help="Model file (.skops, .onnx; .joblib/.pkl with --trust-pickle) or URL.")
    ] = None,
    trust_pickle: Annotated[bool, typer.Option(help="Load a .joblib/.pkl --model (it can run any code).")] = False,
    reference: Annotated[str | None, typer.Option(help="The reference dataset, for a kind that compares two.")] = None,
    baseline: Annotated[Path | None, typer.Option(help="A baseline folder, for a kind that validates one.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result document as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the output paths.")] = False,
    system: Annotated[
        str | None, typer.Option(help="Record the result in the workspace against this AI system.")
    ] = None,
    model_version: Annotated[
        str | None, typer.Option(help="The model version, MODEL@VERSION (needs --system).")
    ] = None,
    dataset_version: Annotated[
        str | None, typer.Option(help="The dataset version, DATASET@VERSION (needs --system).")
    ] = None,
) -> None:
    """Run any compute kind on your own files, its options by name (`assay run duplicates d.csv --set columns=a,b`).

    The options are checked by the kind's options model; `--system` records the result as `assay assess` does."""
    from assay.services import compute as runs

    chosen = runs.kind_of(kind)
    parsed = runs.options_of(chosen, parse_settings(chosen.options, set_ or [], options))
    workspace = target_workspace(ctx, system, model_version=model_version, dataset_version=dataset_version)
    loaded: Any = None
    if model is not None and chosen.model == "file":  # the file as it is (an endpoint description)
        loaded = Path(model)
    elif model is not None:
        from assay.adapters import load_model

        loaded = load_model(model, trust=trust_pickle)
    elif chosen.model == "required":
        raise InvalidInput(f"{chosen.title} needs a model: give --model")
    with progress_bar(quiet or as_json, chosen.title) as progress:
        inputs = runs.Inputs(data, model=loaded, reference=reference, baseline=baseline, progress=progress)
        result = runs.compute(chosen, inputs, parsed)
        paths = runs.write(chosen, result, out) if out is not None else {}
    document = result.to_dict()
    if as_json:
        typer.echo(json.dumps(document, indent=2, allow_nan=False))
    elif not quiet:
        summary = chosen.summary(document)
        line = f"{summary['status']}: {summary['summary']}" if summary.get("summary") else f"{chosen.title}: done"
        typer.echo(line)
    for name, path in paths.items():
        typer.echo(f"{name}: {path}", err=as_json)
    if workspace is not None and system is not None:
        recorded = workspace.runs.record(
            chosen, system, result, paths=paths, model_version=model_version, dataset_version=dataset_version
        )
        typer.echo(f"recorded: assessment {recorded.id} of {system} in {workspace.home}", err=as_json)


def register(app: typer.Typer) -> None:
    """Add this module's command to the root app."""
    app.command("run", no_args_is_help=True)(run)
