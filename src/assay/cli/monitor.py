"""``assay monitor ...``: monitors of deployed model versions (see docs/monitoring.md): create, list, show, run,
runs, pause, resume, delete. ``assay monitor run`` exits 0 when the window passed (or had no data), 1 when a check
found a violation, 2 on bad input or a failed check: fit for cron and CI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from assay.cli._shell import JsonOption, open_workspace, print_record, table
from assay.errors import InvalidInput

__all__ = ["register"]

monitor_app = typer.Typer(
    help="Monitors of deployed models: drift, data quality, model quality, bias and attribution drift per window.",
    no_args_is_help=True,
)

_COLUMNS = ["name", "model_version", "checks", "window", "source", "schedule", "paused"]
_RUN_COLUMNS = ["id", "window_start", "window_end", "status", "rows", "checks", "violations", "error"]


def _spec_file(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"--file {str(path)!r}: cannot read a YAML or JSON monitor from it ({exc})") from None
    if not isinstance(loaded, dict):
        raise InvalidInput(f"--file {str(path)!r}: give a mapping of the monitor's fields (name, model_version, ...)")
    return loaded


def _checks(given: list[str], settings: list[str]) -> list[dict[str, Any]]:
    """``KIND`` or ``KIND:BASELINE_ID`` texts, and ``KIND.OPTION=VALUE`` settings, as check specs."""
    from assay.cli.run import parse_settings
    from assay.services.compute import kind_of

    checks: dict[str, dict[str, Any]] = {}
    for text in given:
        name, _, baseline = text.partition(":")
        name = name.strip()
        if name in checks:
            raise InvalidInput(f"--check {name} is given twice")
        try:
            baseline_id = int(baseline) if baseline else None
        except ValueError:
            raise InvalidInput(f"--check {text!r}: write KIND or KIND:BASELINE_ID (an assessment id)") from None
        checks[name] = {"kind": name, "options": {}, "baseline_id": baseline_id}
    by_kind: dict[str, list[str]] = {}
    for item in settings:
        target, dot, rest = item.partition(".")
        if not dot or target not in checks:
            raise InvalidInput(f"--set {item!r}: write KIND.OPTION=VALUE for a KIND given with --check")
        by_kind.setdefault(target, []).append(rest)
    for name, items in by_kind.items():
        checks[name]["options"] = parse_settings(kind_of(name).options, items, None)
    return list(checks.values())


@monitor_app.command("create")
def create(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="AI system.")],
    name: Annotated[str | None, typer.Argument(help="The monitor's name (or in --file).", show_default=False)] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="The model version it watches, MODEL@VERSION.", show_default=False)
    ] = None,
    check: Annotated[
        list[str] | None,
        typer.Option(
            "--check",
            help="A check: KIND or KIND:BASELINE_ID (drift, validate, model-quality, bias-drift, attribution-drift, "
            "...). Repeatable.",
            show_default=False,
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="A check's option, KIND.OPTION=VALUE. Repeatable.", show_default=False),
    ] = None,
    window: Annotated[str, typer.Option(help="Window length: seconds or 15m, 1h, 1d, 1w.")] = "1d",
    delay: Annotated[str, typer.Option(help="How long after a window's end it is judged (late labels).")] = "0",
    source: Annotated[
        str, typer.Option(help="Where windows come from: capture (the model's captured records), files or given.")
    ] = "capture",
    folder: Annotated[
        str | None, typer.Option(help="The folder of dated files, for --source files.", show_default=False)
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(help="Names of a SageMaker capture's CSV payload values, comma-separated.", show_default=False),
    ] = None,
    engine: Annotated[str, typer.Option(help="Where windows are read and computed: duckdb or spark.")] = "duckdb",
    cron: Annotated[
        str | None, typer.Option(help="Run on this crontab expression (with --timezone).", show_default=False)
    ] = None,
    every: Annotated[str | None, typer.Option(help="Or run every this long (e.g. 1h).", show_default=False)] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone of --cron.")] = "UTC",
    alerting: Annotated[
        str | None,
        typer.Option(
            help="Alert settings: a JSON object or a YAML/JSON file (see docs/alerts.md).", show_default=False
        ),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="The whole monitor as YAML or JSON (flags override).")
    ] = None,
) -> None:
    """Create a monitor of a deployed model version: its checks, their baselines, the window and the schedule."""
    spec: dict[str, Any] = _spec_file(file) if file is not None else {}
    given = {
        "name": name, "model_version": model, "cron": cron, "interval": every,
        "checks": _checks(check or [], set_ or []) or None,
    }  # fmt: skip
    spec |= {key: value for key, value in given.items() if value is not None}
    spec.setdefault("window", window)
    spec.setdefault("timezone", timezone)
    source_spec: dict[str, Any] = {"type": source, "engine": engine, "delay": delay}
    if columns is not None:
        source_spec["columns"] = [c.strip() for c in columns.split(",") if c.strip()]
    if folder is not None:
        source_spec["folder"] = folder
    spec.setdefault("source", source_spec)
    if alerting is not None:
        path = Path(alerting)
        if path.is_file():
            spec["alerting"] = _spec_file(path)
        else:
            try:
                spec["alerting"] = json.loads(alerting)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"--alerting: neither a file nor a JSON object ({exc})") from None
    view = open_workspace(ctx).monitors.create(system, spec)
    when = "" if view.schedule is None else f", next run {view.schedule['next_run_at']}"
    typer.echo(f"monitor {view.name} created on {system} for {view.model_version}{when}")
    for url, secret in view.webhook_secrets.items():
        typer.echo(f"webhook {url}: signing secret {secret} (shown once; receivers check X-Assay-Signature with it)")


def _row(view: Any) -> dict[str, Any]:
    row: dict[str, Any] = view.as_dict()
    row["checks"] = ", ".join(
        c["kind"] + ("" if c["baseline_id"] is None else f":{c['baseline_id']}") for c in view.checks
    )
    row["source"] = view.source["type"]
    row["schedule"] = (
        "" if view.schedule is None else view.schedule["cron"] or f"every {view.schedule['interval_seconds']} s"
    )
    return row


@monitor_app.command("list")
def list_(
    ctx: typer.Context, system: Annotated[str, typer.Argument(help="AI system.")], as_json: JsonOption = False
) -> None:
    """List a system's monitors."""
    views = open_workspace(ctx).monitors.list(system)
    rows = [v.as_dict() if as_json else _row(v) for v in views]
    table(rows, _COLUMNS, title=f"Monitors of {system}", as_json=as_json)


@monitor_app.command("show")
def show(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="AI system.")],
    name: Annotated[str, typer.Argument(help="The monitor.")],
    as_json: JsonOption = False,
) -> None:
    """Show a monitor: its checks with their options and baselines, window, source, alerting and schedule."""
    view = open_workspace(ctx).monitors.get(system, name)
    if as_json:
        print_record(view.as_dict(), as_json=True)
        return
    row = _row(view)
    row["options"] = json.dumps({c["kind"]: c["options"] for c in view.checks}, sort_keys=True)
    row["alerting"] = json.dumps(view.alerting, sort_keys=True)
    print_record(row, title=f"Monitor {name} of {system}")


def _run_row(view: Any) -> dict[str, Any]:
    row: dict[str, Any] = view.as_dict()
    row["checks"] = ", ".join(f"{r['kind']} {r['status']}" for r in view.results)
    row["violations"] = sum(len(r["violations"]) for r in view.results)
    return row


@monitor_app.command("run")
def run(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="AI system.")],
    name: Annotated[str, typer.Argument(help="The monitor.")],
    end: Annotated[
        str | None,
        typer.Option(help="The end of the window to judge (ISO 8601, UTC unless given); default: the latest one."),
    ] = None,
    data: Annotated[
        str | None, typer.Option(help="The window's data (CSV or Parquet), for a monitor of given data.")
    ] = None,
    trust_pickle: Annotated[bool, typer.Option(help="Load a .joblib/.pkl model file (it can run any code).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Run a monitor on its latest complete window (idempotent: a window already judged answers its run)."""
    when = None
    if end is not None:
        try:
            when = dt.datetime.fromisoformat(end)
        except ValueError:
            raise InvalidInput(f"--end {end!r} is not an ISO 8601 time, e.g. 2026-12-06T00:00:00Z") from None
    view = open_workspace(ctx).monitors.run(system, name, end=when, data=data, trust_pickle=trust_pickle)
    if as_json:
        print_record(view.as_dict(), as_json=True)
    else:
        again = " (already judged)" if view.existing else ""
        typer.echo(
            f"monitor {name}: window {view.window_start.isoformat()} to {view.window_end.isoformat()}, "
            f"{view.rows or 0} rows: {view.status}{again}"
        )
        for result in view.results:
            typer.echo(
                f"  {result['kind']}: {result['status']}" + (f" ({result['error']})" if result.get("error") else "")
            )
            for violation in result["violations"]:
                subject = f"{violation['subject']}: " if violation["subject"] else ""
                typer.echo(f"    {violation['check_type']} {subject}{violation['description']}")
    if view.status == "failed":
        raise typer.Exit(2)
    if view.status == "violations":
        raise typer.Exit(1)


@monitor_app.command("runs")
def runs(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="AI system.")],
    name: Annotated[str, typer.Argument(help="The monitor.")],
    limit: Annotated[int, typer.Option(help="How many (latest window first).")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List a monitor's runs, latest window first."""
    views = open_workspace(ctx).monitors.runs(system, name, limit=limit)
    rows = [v.as_dict() if as_json else _run_row(v) for v in views]
    table(rows, _RUN_COLUMNS, title=f"Runs of {name} ({len(views)} of {views.total})", as_json=as_json)


def _change(verb: str, done: str) -> Any:
    def command(
        ctx: typer.Context,
        system: Annotated[str, typer.Argument(help="AI system.")],
        name: Annotated[str, typer.Argument(help="The monitor.")],
    ) -> None:
        getattr(open_workspace(ctx).monitors, verb)(system, name)
        typer.echo(f"monitor {name} {done}")

    return command


monitor_app.command("pause", help="Pause a monitor and its schedule (no run until resumed).")(
    _change("pause", "paused")
)
monitor_app.command("resume", help="Resume a paused monitor.")(_change("resume", "resumed"))
monitor_app.command("delete", help="Delete a monitor and its schedule (its runs and alerts stay).")(
    _change("delete", "deleted")
)


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
