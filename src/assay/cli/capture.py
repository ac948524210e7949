"""``assay capture ...``: capture of a deployed model version's inference records and labels (see docs/capture.md);
a thin shell over :class:`assay.services.capture.Capture`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli._shell import JsonOption, open_workspace, print_record, table
from assay.errors import InvalidInput

__all__ = ["register"]

capture_app = typer.Typer(
    help="Capture of inference records and labels: configure, show, ingest, labels, purge.", no_args_is_help=True
)

System = Annotated[str, typer.Argument(help="The AI system.")]
Version = Annotated[str, typer.Argument(help="The model version, MODEL@VERSION.")]
DataFile = Annotated[Path, typer.Argument(help="A JSON Lines, CSV or Parquet file of records.")]
BatchId = Annotated[
    str | None,
    typer.Option(help="Batch id (default: from the file's SHA-256, so ingesting the same file again stores nothing)."),
]


def _config_row(config: Any) -> dict[str, Any]:
    return {
        "fields": ", ".join(f"{f['name']}:{f['type']}" + ("" if f["required"] else "?") for f in config.fields),
        "id_column": config.id_column,
        "label_column": config.label_column,
        "time_column": config.time_column or "captured_at",
        "dropped": ", ".join(config.drop_columns),
        "hashed": ", ".join(config.hash_columns),
        "retention_days": config.retention_days,
        "enabled": config.enabled,
        "updated_at": config.updated_at,
    }


@capture_app.command("configure")
def capture_configure(
    ctx: typer.Context,
    system: System,
    model_version: Version,
    field: Annotated[
        list[str] | None,
        typer.Option(
            help="A field NAME:TYPE or NAME:TYPE:optional (types: integer, float, string, boolean, timestamp, date). "
            "Repeatable. Default: the columns of the model version's training dataset version, all required."
        ),
    ] = None,
    add_field: Annotated[
        list[str] | None,
        typer.Option(help="A field added to (or replacing one of) the default fields, e.g. prediction:integer."),
    ] = None,
    optional: Annotated[list[str] | None, typer.Option(help="A training-data column that may be missing.")] = None,
    id_column: Annotated[str, typer.Option(help="The inference id column labels join on.")] = "inference_id",
    label: Annotated[str | None, typer.Option(help="The label column, whose values arrive later as labels.")] = None,
    time_column: Annotated[
        str | None, typer.Option(help="A timestamp field holding the record's event time (default: capture time).")
    ] = None,
    drop: Annotated[list[str] | None, typer.Option(help="A column dropped at capture. Repeatable.")] = None,
    hash_column: Annotated[
        list[str] | None,
        typer.Option("--hash", help="A column hashed at capture (HMAC-SHA256, the workspace's key). Repeatable."),
    ] = None,
    pii: Annotated[
        str | None, typer.Option(help="drop or hash the columns the PII check found in the training data.")
    ] = None,
    retention_days: Annotated[
        int | None, typer.Option(help="Keep captured days this long (`assay capture purge` removes older).")
    ] = None,
    disable: Annotated[bool, typer.Option(help="Refuse new records (keeps what was captured).")] = False,
) -> None:
    """Set how a model version's inference records are captured (audited)."""
    from assay.services.capture import parse_field

    fields = None if not field else [parse_field(f) for f in field]
    if pii not in (None, "drop", "hash"):
        raise InvalidInput(f"--pii {pii!r}: write drop or hash")
    config = open_workspace(ctx).capture.configure(
        system,
        model_version,
        fields=fields,
        add_fields=[parse_field(f) for f in add_field or []],
        optional=optional or [],
        id_column=id_column,
        label_column=label,
        time_column=time_column,
        drop=drop or [],
        hash=hash_column or [],
        pii=pii,  # type: ignore[arg-type]
        retention_days=retention_days,
        enabled=not disable,
    )
    print_record(_config_row(config), title=f"Capture of {system} {model_version}")


@capture_app.command("show")
def capture_show(ctx: typer.Context, system: System, model_version: Version, as_json: JsonOption = False) -> None:
    """Show how a model version's records are captured."""
    config = open_workspace(ctx).capture.show(system, model_version)
    if as_json:
        print_record(config.state(), as_json=True)
        return
    print_record(_config_row(config), title=f"Capture of {system} {model_version}")


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InvalidInput(f"no file {path}")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        rows = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InvalidInput(f"{path} line {number} is not JSON: {exc.msg}") from None
        return rows
    if suffix == ".csv":
        from pyarrow import csv

        return list(csv.read_csv(path).to_pylist())
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return list(pq.read_table(path).to_pylist())
    raise InvalidInput(f"{path}: give a .jsonl, .csv or .parquet file")


def _send(ctx: typer.Context, what: str, system: str, model_version: str, path: Path, batch_id: str | None) -> None:
    records = _records(path)
    ws = open_workspace(ctx)
    size = ws.settings.capture_max_records
    base = batch_id or f"file-{hashlib.sha256(path.read_bytes()).hexdigest()[:32]}"
    method = ws.capture.ingest if what == "records" else ws.capture.labels
    stored = 0
    for number, start in enumerate(range(0, len(records), size)):
        chunk = records[start : start + size]
        name = base if len(records) <= size else f"{base}:{number}"
        try:
            answer = method(system, model_version, chunk, name)
        except InvalidInput as exc:
            if start:
                raise InvalidInput(f"records {start}-{start + len(chunk) - 1} of {path}: {exc}") from None
            raise
        stored += answer[what]
    typer.echo(f"{stored} {what} of {path} stored for {system} {model_version} (batch {base})")


@capture_app.command("ingest")
def capture_ingest(
    ctx: typer.Context, system: System, model_version: Version, file: DataFile, batch_id: BatchId = None
) -> None:
    """Store the inference records of a file (in batches of ASSAY_CAPTURE_MAX_RECORDS, each all or nothing)."""
    _send(ctx, "records", system, model_version, file, batch_id)


@capture_app.command("labels")
def capture_labels(
    ctx: typer.Context, system: System, model_version: Version, file: DataFile, batch_id: BatchId = None
) -> None:
    """Store ground-truth labels (inference id and label; optionally labelled_at) from a file."""
    _send(ctx, "labels", system, model_version, file, batch_id)


@capture_app.command("purge")
def capture_purge(
    ctx: typer.Context,
    system: Annotated[str | None, typer.Argument(help="Only this AI system (default: every capture).")] = None,
    model_version: Annotated[str | None, typer.Argument(help="Only this model version, MODEL@VERSION.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Remove captured days older than each capture's retention (audited, with the counts removed)."""
    done = open_workspace(ctx).capture.purge(system, model_version)
    table(done, ["system", "model_version", "before", "record_files", "records", "label_files", "labels"],
          title=f"Purged ({len(done)} captures)", as_json=as_json)  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(capture_app, name="capture")
