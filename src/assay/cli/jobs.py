"""``assay job ...``, ``assay schedule ...`` and ``assay worker``: background jobs, their schedules, and a worker
process that runs them (see docs/jobs.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from assay.cli._shell import JsonOption, open_workspace, print_record, table
from assay.errors import InvalidInput

__all__ = ["register"]

job_app = typer.Typer(help="Background jobs: list, show, cancel.", no_args_is_help=True)
schedule_app = typer.Typer(help="Scheduled jobs (cron or interval, in an explicit time zone).", no_args_is_help=True)

_JOB_COLUMNS = ["id", "kind", "system", "status", "progress", "stage", "requested_by", "created_at", "error"]
_SCHEDULE_COLUMNS = ["id", "kind", "cron", "interval_seconds", "timezone", "missed", "paused", "next_run_at"]


def _job_row(view: Any) -> dict[str, Any]:
    row: dict[str, Any] = view.as_dict()
    if row["progress"] is not None and not isinstance(row["progress"], str):
        row["progress"] = f"{row['progress']:.0%}"
    return row


@job_app.command("list")
def job_list(
    ctx: typer.Context,
    system: Annotated[str | None, typer.Option(help="Only this AI system's jobs.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only jobs in this status: queued, running, succeeded, failed, cancelled.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many (newest first), 1-500.")] = 50,
    offset: Annotated[int, typer.Option(help="How many of the newest to skip.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """List jobs, newest first."""
    views, total = open_workspace(ctx).jobs.list(system=system, status=status, limit=limit, offset=offset)
    rows = [_job_row(v) if not as_json else v.as_dict() for v in views]
    table(rows, _JOB_COLUMNS, title=f"Jobs ({len(views)} of {total})", as_json=as_json)


@job_app.command("show")
def job_show(
    ctx: typer.Context, job_id: Annotated[int, typer.Argument(help="The job's id.")], as_json: JsonOption = False
) -> None:
    """Show one job: status, progress, stages, result or error."""
    view = open_workspace(ctx).jobs.get(job_id)
    if as_json:
        print_record(view.as_dict(), as_json=True)
        return
    row = _job_row(view)
    row["log"] = [f"{entry['at'][:19]} {entry['stage']}" for entry in view.log]
    row["params"] = json.dumps(view.params, sort_keys=True)
    row["result"] = None if view.result is None else json.dumps(view.result, sort_keys=True)
    print_record(row, title=f"Job {job_id}")


@job_app.command("cancel")
def job_cancel(ctx: typer.Context, job_id: Annotated[int, typer.Argument(help="The job's id.")]) -> None:
    """Cancel a queued job, or ask a running one to stop (it stops at its next progress report)."""
    view = open_workspace(ctx).jobs.cancel(job_id)
    if view.status == "cancelled":
        typer.echo(f"job {job_id} cancelled")
    else:
        typer.echo(f"job {job_id} is asked to stop: it ends cancelled at its next progress report")


def _params(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"--params is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidInput('--params must be a JSON object, e.g. \'{"metrics": ["DI"]}\'')
    return value


@schedule_app.command("add")
def schedule_add(
    ctx: typer.Context,
    system: Annotated[str, typer.Argument(help="AI system.")],
    kind: Annotated[str, typer.Argument(help="The job kind to run.")],
    timezone: Annotated[
        str, typer.Option(help="IANA time zone the cron expression is read in (required), e.g. Europe/Paris, UTC.")
    ],
    cron: Annotated[
        str | None, typer.Option(help="5-field crontab expression, e.g. '0 3 * * mon-fri'.", show_default=False)
    ] = None,
    every: Annotated[
        int | None, typer.Option(help="Or: run every this many seconds (at least 60).", show_default=False)
    ] = None,
    params: Annotated[str, typer.Option(help="The job's params as a JSON object.")] = "{}",
    missed: Annotated[
        str,
        typer.Option(help="Fire times missed while no worker ran: coalesce (run once now) or skip (run none)."),
    ] = "coalesce",
) -> None:
    """Schedule a job on a system: a cron expression or an interval, in an explicit time zone."""
    view = open_workspace(ctx).schedules.add(
        system, kind, _params(params), cron=cron, interval_seconds=every, timezone=timezone, missed=missed
    )
    when = "-" if view.next_run_at is None else view.next_run_at.isoformat()
    typer.echo(f"schedule {view.id} added on {system}: {kind}, next run {when}")


@schedule_app.command("list")
def schedule_list(
    ctx: typer.Context, system: Annotated[str, typer.Argument(help="AI system.")], as_json: JsonOption = False
) -> None:
    """List a system's schedules."""
    views, _ = open_workspace(ctx).schedules.list(system, limit=500)
    table([v.as_dict() for v in views], _SCHEDULE_COLUMNS, title=f"Schedules of {system}", as_json=as_json)


def _change(verb: str, done: str) -> Any:
    def command(
        ctx: typer.Context,
        system: Annotated[str, typer.Argument(help="AI system.")],
        schedule_id: Annotated[int, typer.Argument(help="The schedule's id.")],
    ) -> None:
        getattr(open_workspace(ctx).schedules, verb)(system, schedule_id)
        typer.echo(f"schedule {schedule_id} {done}")

    return command


schedule_app.command("pause", help="Pause a schedule (it does not run until resumed).")(_change("pause", "paused"))
schedule_app.command("resume", help="Resume a paused schedule (from its next fire time).")(_change("resume", "resumed"))
schedule_app.command("delete", help="Delete a schedule (its jobs stay).")(_change("delete", "deleted"))


def worker(
    ctx: typer.Context,
    threads: Annotated[
        int | None, typer.Option(help="Worker threads (default: ASSAY_WORKERS, at least 1).", show_default=False)
    ] = None,
    trust_pickle: Annotated[
        bool,
        typer.Option(
            "--trust-pickle",
            help="Let compute jobs load registered .joblib/.pkl model files (a pickle runs any code it holds).",
        ),
    ] = False,
    once: Annotated[
        bool, typer.Option("--once", help="Run what is queued (and due schedules), then exit: for tests and cron.")
    ] = False,
    from_server: Annotated[
        bool, typer.Option("--from-server", hidden=True, help="Started by `assay serve` (its pipe on stdin).")
    ] = False,
) -> None:
    """Run queued jobs and due schedules until Ctrl-C or SIGTERM (several workers may share one PostgreSQL database)."""
    workspace = open_workspace(ctx)
    if once:
        from assay.services.worker import run_until_idle

        count = run_until_idle(workspace, trust_pickle=trust_pickle)
        typer.echo(f"{count} job(s) run")
        return
    import logging
    import signal
    import sys
    import threading

    from assay.services.worker import WorkerPool, serve_parent

    if from_server:
        serve_parent(sys.stdin.buffer)
    count = threads if threads is not None else max(1, workspace.settings.workers)
    if count < 1:
        raise InvalidInput(f"--threads must be at least 1, not {count}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())  # a service manager's stop: as Ctrl-C
    pool = WorkerPool(workspace, threads=count, trust_pickle=trust_pickle)
    pool.start()
    typer.echo(f"assay worker: {count} thread(s) on {workspace.home}; Ctrl-C to stop", err=True)
    try:
        while not stopping.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        typer.echo("stopping: running jobs are asked to stop", err=True)
        pool.stop()


def register(app: typer.Typer) -> None:
    app.add_typer(job_app, name="job")
    app.add_typer(schedule_app, name="schedule")
    app.command("worker")(worker)
