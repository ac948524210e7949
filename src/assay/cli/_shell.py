"""What every governance command shares: opening the workspace from the global options, and printing records
as a table or as JSON (``--json``)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from assay.errors import InvalidInput

if TYPE_CHECKING:
    from assay.cli._remote import Remote
    from assay.services.workspace import Workspace

__all__ = [
    "JsonOption",
    "Options",
    "console",
    "open_workspace",
    "parse_date",
    "print_json",
    "print_record",
    "remote",
    "table",
]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@dataclass
class Options:
    """The root command's options (``assay --workspace DIR --database-url URL --actor NAME ...``)."""

    workspace: Path | None = None
    database_url: str | None = None
    actor: str | None = None
    user: str | None = None
    server: str | None = None


def console() -> Console:
    return Console(width=140 if not sys.stdout.isatty() else None, soft_wrap=False)


def _options(ctx: typer.Context) -> Options:
    root = ctx.find_root().obj
    return root if isinstance(root, Options) else Options()


def remote(ctx: typer.Context) -> Remote | None:
    """The server of ``--server URL`` (ASSAY_SERVER), acting as the owner of the API token in ASSAY_TOKEN; None
    without ``--server``. Only commands that act for a person (approvals, waivers, revocations, policies) take it."""
    options = _options(ctx)
    if options.server is None:
        return None
    import os

    from assay.cli._remote import Remote

    if options.user is not None or options.actor is not None:
        raise InvalidInput("with --server the API token says who acts: leave out --user and --actor")
    return Remote(options.server, os.environ.get("ASSAY_TOKEN", ""))


def open_workspace(ctx: typer.Context, *, check: bool = True) -> Workspace:
    """The workspace the global options (or ASSAY_WORKSPACE, ASSAY_DATABASE_URL, ASSAY_ACTOR) point at."""
    from assay.config import load_settings
    from assay.services.workspace import Workspace

    options = _options(ctx)
    if options.server is not None:
        raise InvalidInput(
            f"`assay {ctx.command_path.partition(' ')[2]}` works on a local workspace; --server is for the approval "
            "commands, waiver add and revoke, evidence revoke and policy set"
        )
    overrides: dict[str, Any] = {}
    if options.database_url is not None:
        overrides["database_url"] = options.database_url
    if options.actor is not None:
        overrides["actor"] = options.actor
    settings = load_settings(**overrides)
    workspace = Workspace.open(options.workspace, settings, check=check)
    ctx.call_on_close(workspace.close)
    if options.user is not None:
        if options.actor is not None and options.actor != options.user:
            raise InvalidInput("give --user (authenticated) or --actor (taken on trust), not both")
        return workspace.login(options.user, _password(options.user))
    return workspace


def _password(user: str) -> str:
    """The password of ``--user``: ASSAY_PASSWORD, else asked for on the terminal (never an option: it would be
    left in the shell's history and the process list)."""
    import os

    password = os.environ.get("ASSAY_PASSWORD")
    if password is not None:
        return password
    if not sys.stdin.isatty():
        raise InvalidInput(f"--user {user}: set ASSAY_PASSWORD or run on a terminal to be asked for the password")
    import getpass

    return getpass.getpass(f"password for {user}: ")


def print_json(value: Any) -> None:
    from assay.reports.jsonable import jsonable

    typer.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    as_json: bool = False,
    cell: Callable[[Any], str] = _cell,
) -> None:
    """Print ``rows`` (only ``columns``) as a rich table, or every field as a JSON list."""
    materialised = list(rows)
    if as_json:
        print_json(materialised)
        return
    out = Table(title=title)
    for column in columns:
        out.add_column(column.replace("_", " "))
    for row in materialised:
        out.add_row(*(cell(row.get(column)) for column in columns))
    console().print(out)


def print_record(record: Mapping[str, Any], *, title: str | None = None, as_json: bool = False) -> None:
    """One record as a two-column table (field, value), or as JSON."""
    if as_json:
        print_json(record)
        return
    out = Table(title=title, show_header=False)
    out.add_column("field", style="bold")
    out.add_column("value", overflow="fold")
    for key, value in record.items():
        out.add_row(key.replace("_", " "), _cell(value))
    console().print(out)


def parse_date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{option} {text!r}: write a date as YYYY-MM-DD") from None
