"""Schema migrations (Alembic), run from inside Assay: ``assay db upgrade`` / ``downgrade`` / ``current``.

The migration scripts live in the package (``store/migrations``), so an installed Assay carries them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util import CommandError
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from assay.errors import InvalidInput

__all__ = ["current_revision", "downgrade", "head_revision", "upgrade"]


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(str(resources.files("assay.store") / "migrations"))))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


@contextmanager
def _database(engine: Engine, doing: str) -> Iterator[None]:
    """A database that cannot be reached (or a migration the database refuses) is the user's input to fix."""
    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise InvalidInput(f"cannot {doing} the database {engine.url!r}: {reason}") from exc


def current_revision(engine: Engine) -> str | None:
    with _database(engine, "open"), engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _run(engine: Engine, verb: str, revision: str) -> None:
    config = _config()
    scripts = ScriptDirectory.from_config(config)
    if revision not in ("head", "base") and revision.split("@")[0].lstrip("+-").isalpha():
        raise InvalidInput(f"unknown revision {revision!r}: give 'head', 'base' or a revision id")
    with (
        _database(engine, verb),
        engine.connect() as connection,
        _foreign_keys_checked_at_the_end(connection),
        connection.begin(),
    ):
        config.attributes["connection"] = connection
        try:
            getattr(command, verb)(config, revision)
        except (CommandError, ResolutionError) as exc:  # an unknown or unreachable revision
            known = ", ".join(s.revision for s in scripts.walk_revisions())
            raise InvalidInput(f"cannot {verb} to {revision!r}: {exc} (revisions: {known})") from exc
        _check_foreign_keys(connection)


@contextmanager
def _foreign_keys_checked_at_the_end(connection: Connection) -> Iterator[None]:
    """SQLite: migrations run with foreign keys off, as SQLite's procedure for changing a table requires (batch
    mode copies a table, drops it and renames the copy: with foreign keys on, dropping a table other rows refer
    to fails). The pragma only takes effect outside a transaction, so it is set before the migration's
    transaction begins and set back after it ends; :func:`_check_foreign_keys` checks every reference before the
    transaction commits. Other databases: nothing to do."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        table, row, parent, _ = broken[0]
        raise InvalidInput(
            f"the migration would leave {len(broken)} broken reference(s), e.g. row {row} of {table} to {parent}: "
            "nothing was changed"
        )


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, "downgrade", revision)
