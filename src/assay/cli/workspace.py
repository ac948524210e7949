"""``assay init`` and ``assay db upgrade|downgrade|current``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assay.cli._shell import Options, open_workspace

if TYPE_CHECKING:
    from assay.services.workspace import Workspace

__all__ = ["register"]

db_app = typer.Typer(help="The governance database's schema (Alembic migrations).", no_args_is_help=True)


def init(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Folder to make a workspace of.")] = Path("."),
    database_url: Annotated[
        str | None,
        typer.Option(
            help="Use this database (e.g. postgresql+psycopg://user@host/db) instead of SQLite.", show_default=False
        ),
    ] = None,
    single_user: Annotated[
        bool,
        typer.Option(
            "--single-user",
            help="Take --actor on trust (no users needed): events are marked unauthenticated, and no policy that "
            "asks for two approvals can be met. Default: multi-user.",
        ),
    ] = False,
) -> None:
    """Create a workspace: .assay/ with the database (migrated), the artifact store and the ledger's signing key."""
    from assay.config import load_settings
    from assay.services.workspace import WORKSPACE_DIR, Workspace

    options = ctx.find_root().obj if isinstance(ctx.find_root().obj, Options) else Options()
    url = database_url or options.database_url
    # What this command creates, removed again if it fails (a database that cannot be reached, ...): no half-made
    # workspace is left behind, and the next `assay init` starts afresh.
    made: Path | None = None
    if not folder.exists():
        made = folder.absolute()
        while not made.parent.exists():
            made = made.parent
    elif not (folder / WORKSPACE_DIR).exists():
        made = folder / WORKSPACE_DIR
    try:
        workspace = Workspace.init(folder, load_settings(), database_url=url, single_user=single_user)
    except BaseException:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        raise
    with workspace:
        typer.echo(f"workspace: {workspace.home}")
        typer.echo(f"database:  {workspace.store.engine.url.render_as_string(hide_password=True)}")
        typer.echo(f"artifacts: {workspace.artifacts.root}")
        typer.echo(f"public key of the audit ledger: {workspace.public_key_path} (give it to auditors)")
        typer.echo(f"mode:      {workspace.mode}")


def mode(
    ctx: typer.Context,
    new: Annotated[str | None, typer.Argument(help="multi-user or single-user (omit to print the mode).")] = None,
) -> None:
    """Print or set the workspace's mode. Going back to single-user needs an authenticated admin (--user)."""
    workspace = open_workspace(ctx)
    if new is not None:
        workspace.set_mode(new)
    typer.echo(workspace.mode)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Migrate the database up to REVISION (default: the newest). The audit ledger must verify first; each record
    the migration changes gets a record.migrate event, so the ledger keeps covering every record."""
    from assay.store.migrate import current_revision

    workspace = _unchecked(ctx)
    events = workspace.store.upgrade(workspace.actor, revision)
    typer.echo(f"database at revision {current_revision(workspace.store.engine)} ({events} records re-recorded)")


@db_app.command("downgrade")
def db_downgrade(
    ctx: typer.Context, revision: Annotated[str, typer.Argument(help="Target revision ('base' removes all).")]
) -> None:
    """Migrate the database down to REVISION (the audit ledger must verify first, as for an upgrade)."""
    from assay.store.migrate import current_revision

    workspace = _unchecked(ctx)
    events = workspace.store.downgrade(workspace.actor, revision)
    typer.echo(
        f"database at revision {current_revision(workspace.store.engine) or 'base'} ({events} records re-recorded)"
    )


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the database's schema revision and the newest this Assay knows."""
    from assay.store.migrate import current_revision, head_revision

    workspace = _unchecked(ctx)
    typer.echo(f"current: {current_revision(workspace.store.engine) or 'base (empty)'}")
    typer.echo(f"head:    {head_revision()}")


def _unchecked(ctx: typer.Context) -> Workspace:
    return open_workspace(ctx, check=False)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    workspace_app = typer.Typer(help="The workspace's settings.", no_args_is_help=True)
    workspace_app.command("mode")(mode)
    app.add_typer(workspace_app, name="workspace")
    app.add_typer(db_app, name="db")
