"""The Typer application, its global options, error handling and exit codes.

Exit codes: 0 done; 2 the request cannot be done as given (bad input, unknown name, conflict with stored state,
not allowed); 1 a failed check (e.g. the audit ledger does not verify) or an internal error."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

from assay._version import __version__
from assay.cli import (
    approvals,
    audit,
    checks,
    controls,
    explain,
    gates,
    incidents,
    jobs,
    mitigate,
    registry,
    risks,
    server,
    workspace,
)
from assay.cli import assess as assess_cmd
from assay.cli._shell import Options
from assay.errors import AssayError, Conflict, InvalidInput, NotFound, PermissionDenied

__all__ = ["app", "main"]

app = typer.Typer(
    name="assay",
    help="Assay: measure, mitigate, document and govern AI systems, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("assess", no_args_is_help=True)(assess_cmd.assess)
for _module in (
    workspace,
    registry,
    risks,
    controls,
    approvals,
    incidents,
    gates,
    audit,
    explain,
    mitigate,
    checks,
    server,
    jobs,
):
    _module.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"assay {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    workspace_dir: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace folder (default: ASSAY_WORKSPACE, else the current folder or the nearest parent with "
            ".assay/).",
            show_default=False,
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="Governance database URL (default: ASSAY_DATABASE_URL, else the workspace's SQLite).",
            show_default=False,
        ),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(
            help="Who is acting, as the audit ledger records it, taken on trust (default: ASSAY_ACTOR, else your "
            "user). Approvals, waivers, revocations and role changes need --user instead, unless the workspace is "
            "single-user.",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="Act as this user, authenticated by their password (ASSAY_PASSWORD, else asked for): the same "
            "users and roles as the server (default: ASSAY_USER).",
            envvar="ASSAY_USER",
            show_default=False,
        ),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            help="Act through this Assay server (URL) with the API token in ASSAY_TOKEN, under its permission table: "
            "for the approval commands, waiver add, evidence revoke and policy set (default: ASSAY_SERVER).",
            envvar="ASSAY_SERVER",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Assay: measure, mitigate, document and govern AI systems, offline."""
    ctx.obj = Options(workspace=workspace_dir, database_url=database_url, actor=actor, user=user, server=server)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input exits 2 with one line naming the problem, an internal error exits 1."""
    try:
        returned = app(args=argv, standalone_mode=False)
        if isinstance(returned, int) and not isinstance(returned, bool):
            return returned  # click returns the code of typer.Exit(code) when not in standalone mode
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except TyperException as exc:  # usage errors from the command-line parser: a bad or missing option
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"error: {exc}", err=True)
        usage = any(cls.__name__ == "UsageError" for cls in type(exc).__mro__)
        return 2 if usage else int(getattr(exc, "exit_code", 1))
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except (InvalidInput, NotFound, Conflict, PermissionDenied) as exc:  # the request cannot be done as given
        typer.echo(f"error: {exc}", err=True)
        return 2
    except AssayError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 1
    except Exception as exc:  # a bug: say so in one line, keep the traceback behind ASSAY_DEBUG
        import os

        if os.environ.get("ASSAY_DEBUG"):
            raise
        typer.echo(f"internal error: {type(exc).__name__}: {exc} (set ASSAY_DEBUG=1 for the traceback)", err=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
