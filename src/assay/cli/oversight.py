"""``assay oversight``: the statistics of human review of a system (override rates by slice and reviewer, reviewer
agreement, time to decision, overdue items, contested cases, feedback) as the ``assay.oversight-report`` document,
and recording it as evidence."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from assay.cli._shell import JsonOption, console, open_workspace, print_json, table

__all__ = ["register"]

oversight_app = typer.Typer(
    help="Human oversight: override rates, reviewer agreement, time to decision; recorded as evidence.",
    no_args_is_help=True,
)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.1%}"


def _interval(ci: Any) -> str:
    return "-" if not ci else f"[{ci[0]:.1%}, {ci[1]:.1%}]"


def _show(document: dict[str, Any]) -> None:
    out = console()
    items, overall = document["items"], document["overrides"]["overall"]
    out.print(
        f"[bold]{document['system']}[/bold]: {items['total']} review items, {items['decided']} decided, "
        f"{items['pending'] + items['claimed']} open, {items['escalated']} escalated; "
        f"override rate {_pct(overall['rate'])} {_interval(overall['ci'])}"
    )
    rows = [
        {
            "slice": s["slice"],
            "value": r["key"],
            "n": r["n"],
            "overridden": r["overridden"],
            "rate": _pct(r["rate"]),
            "interval": _interval(r["ci"]),
        }
        for s in document["overrides"]["by_slice"]
        for r in s["rates"]
    ]
    verdicts = {(t["slice"], t["value"]): t for t in document["bias_signal"]["slices"]}
    for row in rows:
        test = verdicts.get((row["slice"], row["value"]))
        row["signal"] = "-" if test is None else test["verdict"]
        row["p_adjusted"] = "-" if test is None or test["p_adjusted"] is None else f"{test['p_adjusted']:.2g}"
    if rows:
        table(rows, ["slice", "value", "n", "overridden", "rate", "interval", "signal", "p_adjusted"],
              title="override rate by slice")  # fmt: skip
    reviewers = [
        {**r, "rate": _pct(r["rate"]), "interval": _interval(r["ci"]), "p50_seconds": r["seconds"]["p50"]}
        for r in document["overrides"]["by_reviewer"]
    ]
    if reviewers:
        table(reviewers, ["key", "decisions", "n", "overridden", "rate", "interval", "escalated", "p50_seconds"],
              title="by reviewer")  # fmt: skip
    pairs = [
        {"pair": " / ".join(p["reviewers"]), "n": p["n"], "kappa": p["kappa"],
         "interval": "-" if not p["ci"] else f"[{p['ci'][0]:.2f}, {p['ci'][1]:.2f}]", "verdict": p["verdict"]}
        for p in document["agreement"]["pairs"]
    ]  # fmt: skip
    if pairs:
        table(pairs, ["pair", "n", "kappa", "interval", "verdict"], title="agreement (Cohen's kappa)")
    ttd, late, contested = document["time_to_decision"], document["overdue"], document["contested"]
    out.print(
        f"time to decision (s): p50 {ttd['p50']}, p90 {ttd['p90']}, max {ttd['max']}; overdue {late['count']} of "
        f"{late['n']}; contested: {contested['opened']} opened, {contested['decided']} decided, "
        f"{contested['overturned']} overturned; feedback: {document['feedback']['count']}"
    )
    for note in document["warnings"]:
        out.print(f"[yellow]warning[/yellow] {note['code']}: {note['message']}")


@oversight_app.command("report")
def report(
    ctx: typer.Context,
    system: Annotated[str, typer.Option("--system", help="The AI system.")],
    since: Annotated[
        str | None, typer.Option(help="Items that arrived from this date or time (ISO 8601).", show_default=False)
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="... and before this date or time (ISO 8601).", show_default=False)
    ] = None,
    slices: Annotated[
        list[str] | None,
        typer.Option(
            "--slice",
            help="A feature column to break override rates down by, or two as an intersection ('sex*race'); "
            "repeat it. Default: every feature with at most 20 values.",
            show_default=False,
        ),
    ] = None,
    bucket: Annotated[
        str | None, typer.Option(help="Rates over time by day or week (default: day up to 31 days).")
    ] = None,
    record: Annotated[
        bool, typer.Option("--record", help="Record the report as an assessment of the system (evidence).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The human-oversight report of a system: override rates (overall, by slice, by reviewer, over time) with
    Wilson intervals, the override-rate bias signal per slice, Cohen's kappa per reviewer pair, time to decision,
    overdue items, contested cases and feedback."""
    ws = open_workspace(ctx)
    options: dict[str, Any] = {} if bucket is None else {"bucket": bucket}
    if record:
        recorded = ws.oversight.record(system, since, until, slices, **options)
        document = recorded.document
    else:
        document = ws.oversight.summary(system, since, until, slices, **options)
    if as_json:
        print_json(document)
        return
    _show(document)
    if record:
        console().print(f"recorded as assessment {recorded.id} of {system}")


def register(app: typer.Typer) -> None:
    """Add ``assay oversight`` to the root app."""
    app.add_typer(oversight_app, name="oversight")
