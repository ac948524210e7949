"""``assay feedback``: end users' feedback on a system's outputs (submit, import, list, summary)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli._shell import JsonOption, console, open_workspace, print_json, print_record, table
from assay.errors import InvalidInput

__all__ = ["register"]

feedback_app = typer.Typer(
    help="End users' feedback on a system's outputs: submit, import a file, list, summarise with intervals.",
    no_args_is_help=True,
)

_System = Annotated[str, typer.Argument(help="The AI system.")]
_Version = Annotated[str | None, typer.Option(help="MODEL@VERSION (submit: that answered; else: only its feedback).")]
_Since = Annotated[str | None, typer.Option(help="From this time (ISO 8601, UTC unless given).")]
_Until = Annotated[str | None, typer.Option(help="Before this time (ISO 8601, UTC unless given).")]
_COLUMNS = ["id", "created_at", "model_version", "rating", "scale", "category", "comment", "source"]


def _time(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option} {value!r} is not an ISO 8601 time, e.g. 2026-12-06T00:00:00Z") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


@feedback_app.command("submit")
def feedback_submit(
    ctx: typer.Context,
    system: _System,
    rating: Annotated[int | None, typer.Option(help="Thumbs 0/1 (--scale 2) or stars 1..5 (--scale 5).")] = None,
    scale: Annotated[int, typer.Option(help="2: thumbs down/up as 0/1; 5: stars 1 to 5.")] = 5,
    category: Annotated[str | None, typer.Option(help="Reason: one of the system's categories (e.g. wrong).")] = None,
    comment: Annotated[str, typer.Option(help="Free text (personal data in it is replaced by tags).")] = "",
    model_version: _Version = None,
    inference_id: Annotated[str | None, typer.Option(help="The id of the answer rated.")] = None,
    attribute: Annotated[
        list[str] | None, typer.Option(help="A slice attribute KEY=VALUE (e.g. channel=web). Repeatable.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Submit one piece of feedback (its comment redacted before it is stored)."""
    attributes: dict[str, Any] = {}
    for given in attribute or []:
        key, sep, text = given.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--attribute {given!r}: write KEY=VALUE")
        attributes[key] = text
    record: dict[str, Any] = {"scale": scale, "comment": comment, "attributes": attributes}
    optional: dict[str, Any] = {"rating": rating, "category": category, "model_version": model_version,
                                "inference_id": inference_id}  # fmt: skip
    record.update({key: value for key, value in optional.items() if value is not None})
    item = open_workspace(ctx).feedback.submit(system, record, source="client")
    if as_json:
        print_json(item.to_dict())
        return
    redacted = sum(item.feedback.redactions.values())
    typer.echo(f"feedback {item.feedback.id} of {system} stored" + (f" ({redacted} redacted)" if redacted else ""))


@feedback_app.command("import")
def feedback_import(
    ctx: typer.Context,
    system: _System,
    file: Annotated[Path, typer.Argument(help="A CSV or JSON Lines (.jsonl) file of feedback records.")],
) -> None:
    """Import feedback from a file (all or nothing): columns rating, scale, category, comment, model_version,
    inference_id, created_at, attributes.KEY (CSV) or an attributes object (JSON Lines)."""
    count = open_workspace(ctx).feedback.import_file(system, file)
    typer.echo(f"{count} feedback records of {system} imported")


@feedback_app.command("list")
def feedback_list(
    ctx: typer.Context,
    system: _System,
    model_version: _Version = None,
    since: _Since = None,
    until: _Until = None,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List feedback, newest first (comments as stored: redacted)."""
    items = open_workspace(ctx).feedback.list(
        system, model_version=model_version, since=_time(since, "--since"), until=_time(until, "--until"),
        category=category, limit=limit,
    )  # fmt: skip
    table([i.to_dict() for i in items], _COLUMNS, title=f"Feedback of {system} ({items.total})", as_json=as_json)


def _rows(label: str, key: str, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for group in groups:
        for figures in group["scales"]:
            mean, positive = figures["mean"], figures["positive"]
            rows.append({
                label: group.get(key), "scale": figures["scale"], "ratings": figures["count"],
                "mean": f"{mean['value']:.3f}", "mean interval": "{:.3f} .. {:.3f}".format(*mean["interval"]),
                "positive": f"{positive['share']:.3f}",
                "positive interval": "{:.3f} .. {:.3f}".format(*positive["interval"]),
                "categories": json.dumps(group["categories"]) if group["categories"] else "-",
            })  # fmt: skip
    return rows


@feedback_app.command("summary")
def feedback_summary(
    ctx: typer.Context,
    system: _System,
    model_version: _Version = None,
    since: _Since = None,
    until: _Until = None,
    by: Annotated[str | None, typer.Option(help="Also per value of this attribute (e.g. channel).")] = None,
    every: Annotated[str | None, typer.Option(help="Also per day or week.")] = None,
    confidence: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    as_json: JsonOption = False,
) -> None:
    """Count, mean rating and share positive with intervals (Wilson for thumbs and shares, Student's t for the mean
    of stars) per model version, and per attribute value and period when asked."""
    summary = open_workspace(ctx).feedback.summary(
        system, model_version=model_version, since=_time(since, "--since"), until=_time(until, "--until"), by=by,
        every=every,  # type: ignore[arg-type]  # checked by the service
        confidence=confidence,
    )  # fmt: skip
    if as_json:
        print_json(summary)
        return
    print_record({"system": system, "feedback": summary["feedback"], "confidence": confidence,
                  **summary["intervals"]}, title="Feedback")  # fmt: skip
    columns = ["scale", "ratings", "mean", "mean interval", "positive", "positive interval", "categories"]
    table(_rows("model version", "model_version", summary["model_versions"]), ["model version", *columns],
          title="Per model version")  # fmt: skip
    if by is not None:
        table(_rows(by, "value", summary["slices"]), [by, *columns], title=f"Per {by}")
    if every is not None:
        table(_rows(every, "period", summary["periods"]), [every, *columns], title=f"Per {every}")
    if not summary["feedback"]:
        console().print("no feedback yet")


def register(app: typer.Typer) -> None:
    """Add ``assay feedback`` to the root app."""
    app.add_typer(feedback_app, name="feedback")
