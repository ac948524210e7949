"""``assay review ...``: the review queue of a system (see docs/review.md): its configuration (routing rules,
versioned), routing one prediction or a file of them, the queue, claims and decisions, and the decided outcomes as
labels. The kill switch is ``assay model pause|resume``."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli._shell import JsonOption, open_workspace, print_json, print_record, table
from assay.errors import InvalidInput

__all__ = ["register"]

review_app = typer.Typer(
    help="The review queue (human-in-the-loop): routing rules, items, claims, decisions, labels.",
    no_args_is_help=True,
)

_ITEM_COLUMNS = ["id", "inference_id", "model_version", "status", "reasons", "output", "claimed_by", "due_at",
                 "overdue", "final"]  # fmt: skip
System = Annotated[str, typer.Argument(help="AI system.")]
Item = Annotated[int, typer.Argument(help="The review item's id.")]


@review_app.command("configure")
def configure(
    ctx: typer.Context,
    system: System,
    path: Annotated[Path, typer.Argument(help="The review configuration (YAML, schema assay.review/1).")],
) -> None:
    """Store a new version of the system's review configuration: from now on it routes predictions."""
    stored = open_workspace(ctx).review.configure(system, path=path)
    typer.echo(f"{system}: review configuration version {stored['version']} is in force ({stored['sha256'][:12]})")


@review_app.command("config")
def config(
    ctx: typer.Context,
    system: System,
    history: Annotated[bool, typer.Option("--history", help="Every version, newest first.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show the configuration in force (or every version)."""
    ws = open_workspace(ctx)
    if history:
        rows = ws.review.configs(system)
        if as_json:
            print_json(rows)
        else:
            table(rows, ["version", "active", "sha256", "created_by", "created_at"], title=f"{system}: review")
        return
    current = ws.review.config(system)
    if current is None:
        raise InvalidInput(f"{system} has no review configuration: run `assay review configure {system} FILE`")
    if as_json:
        print_json(current)
    else:
        typer.echo(f"# version {current['version']}, {'on' if current['active'] else 'OFF'}, by "
                   f"{current['created_by']} at {current['created_at']}")  # fmt: skip
        typer.echo(current["text"].rstrip())


@review_app.command("switch")
def switch(
    ctx: typer.Context,
    system: System,
    on: Annotated[bool, typer.Option("--on/--off", help="Turn the queue on or off.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log).")],
) -> None:
    """Turn the review queue off (nothing is routed) or on again, as a new version of the configuration."""
    stored = open_workspace(ctx).review.switch(system, active=on, reason=reason)
    typer.echo(f"{system}: the review queue is {'on' if stored['active'] else 'off'} (version {stored['version']})")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


@review_app.command("route")
def route(
    ctx: typer.Context,
    system: System,
    model: Annotated[str, typer.Argument(help="MODEL@VERSION.")],
    inference_id: Annotated[str, typer.Option("--id", help="The inference id.")],
    prediction: Annotated[str, typer.Option(help="The model's outcome.")],
    score: Annotated[float | None, typer.Option(help="The model's score.", show_default=False)] = None,
    feature: Annotated[
        list[str] | None, typer.Option("--feature", help="COLUMN=VALUE (repeatable).", show_default=False)
    ] = None,
) -> None:
    """Ask whether one prediction needs review (prints the answer as JSON; exit 0 proceed, 1 review or paused)."""
    features = {}
    for item in feature or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InvalidInput(f"--feature {item!r}: write COLUMN=VALUE")
        features[name] = _value(value)
    answer = open_workspace(ctx).review.route(
        system, model, inference_id, features, {"prediction": _value(prediction), "score": score}, source="cli"
    )
    print_json(answer)
    if answer["review"]:
        raise typer.Exit(1)


@review_app.command("submit")
def submit(
    ctx: typer.Context,
    system: System,
    model: Annotated[str, typer.Argument(help="MODEL@VERSION.")],
    path: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON Lines: inference id, prediction, features.")],
    id_column: Annotated[str, typer.Option(help="The inference id column.")] = "inference_id",
    prediction_column: Annotated[str, typer.Option(help="The model's outcome column.")] = "prediction",
    score_column: Annotated[str | None, typer.Option(help="The model's score column.", show_default=False)] = None,
    everything: Annotated[bool, typer.Option("--all", help="Queue every row instead of applying the rules.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Route the predictions of a file (or queue them all with --all), in one transaction."""
    from assay.services.review import read_records

    answer = open_workspace(ctx).review.submit(
        system, model, read_records(path), id_column=id_column, prediction_column=prediction_column,
        score_column=score_column, everything=everything,
    )  # fmt: skip
    if as_json:
        print_json(answer)
    else:
        typer.echo(f"{answer['records']} records: {answer['held']} held for review, {answer['proceed']} proceed, "
                   f"{answer['already_held']} held before")  # fmt: skip


@review_app.command("queue")
def queue(
    ctx: typer.Context,
    system: System,
    status: Annotated[str, typer.Option(help="open, pending, escalated, decided or all.")] = "open",
    overdue: Annotated[bool, typer.Option("--overdue", help="Only items past their time to decision.")] = False,
    mine: Annotated[bool, typer.Option("--mine", help="Only items I claimed.")] = False,
    model: Annotated[str | None, typer.Option(help="Only this MODEL@VERSION.", show_default=False)] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: JsonOption = False,
) -> None:
    """The queue, the most urgent first."""
    found = open_workspace(ctx).review.queue(
        system, status=None if status == "all" else status, overdue=True if overdue else None, mine=mine,
        model_version=model, limit=limit,
    )  # fmt: skip
    if as_json:
        print_json({"items": list(found), "total": found.total})
        return
    table(list(found), _ITEM_COLUMNS, title=f"{system}: {found.total} {status} item(s)")


@review_app.command("show")
def show(ctx: typer.Context, system: System, item: Item, as_json: JsonOption = False) -> None:
    """One item with its decisions (personal columns masked for your role)."""
    print_record(open_workspace(ctx).review.item(system, item), title=f"review item {item}", as_json=as_json)


@review_app.command("claim")
def claim(ctx: typer.Context, system: System, item: Item) -> None:
    """Take an item to decide it."""
    shown = open_workspace(ctx).review.claim(system, item)
    typer.echo(f"review item {item} is claimed by {', '.join(shown['claimed_by'])}")


@review_app.command("release")
def release(ctx: typer.Context, system: System, item: Item) -> None:
    """Give a claimed item back to the queue."""
    open_workspace(ctx).review.release(system, item)
    typer.echo(f"review item {item} is back in the queue")


@review_app.command("decide")
def decide(
    ctx: typer.Context,
    system: System,
    item: Item,
    decision: Annotated[str, typer.Argument(help="accept, change or escalate.")],
    outcome: Annotated[str | None, typer.Option(help="The new outcome (change).", show_default=False)] = None,
    reason: Annotated[str, typer.Option(help="Why (required for change and escalate).")] = "",
    as_json: JsonOption = False,
) -> None:
    """Decide an item: accept the model's outcome, change it, or escalate it to an overseer."""
    shown = open_workspace(ctx).review.decide(
        system, item, decision, outcome=None if outcome is None else _value(outcome), reason=reason
    )
    if as_json:
        print_json(shown)
        return
    final = f": {shown['final']['prediction']!r} takes effect" if shown["final"] else ""
    typer.echo(f"review item {item} is {shown['status']}{final}")


@review_app.command("labels")
def labels(
    ctx: typer.Context,
    system: System,
    model: Annotated[str | None, typer.Option(help="Only this MODEL@VERSION.", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(help="Write CSV here (default: standard output).")] = None,
) -> None:
    """The decided outcomes as ground-truth labels (CSV: model_version, inference_id, label, overridden, decided_at)."""
    rows = open_workspace(ctx).review.labels(system, model_version=model)
    fields = ["model_version", "inference_id", "label", "overridden", "decided_at"]
    handle = sys.stdout if out is None else out.open("w", newline="", encoding="utf-8")
    try:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    finally:
        if out is not None:
            handle.close()
            typer.echo(f"{len(rows)} labels written to {out}", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
