"""The Typer application, its error handling and exit codes (0 done, 2 bad input, 1 internal error)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from typer.exceptions import TyperException

from assay._version import __version__
from assay.cli import assess as assess_cmd
from assay.errors import AssayError, InvalidInput

__all__ = ["app", "main"]

app = typer.Typer(
    name="assay",
    help="Assay: measure, mitigate, document and govern AI systems, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("assess", no_args_is_help=True)(assess_cmd.assess)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"assay {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Assay: measure, mitigate, document and govern AI systems, offline."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input exits 2 with one line naming the problem, an internal error exits 1."""
    try:
        app(args=argv, standalone_mode=False)
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
    except InvalidInput as exc:
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
