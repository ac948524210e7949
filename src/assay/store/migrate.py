"""Schema migrations (Alembic), run from inside Assay: ``assay db upgrade`` / ``downgrade`` / ``current``.

The migration scripts live in the package (``store/migrations``), so an installed Assay carries them. Alembic is
imported only to migrate: every command checks the database's schema revision (:func:`current_revision`,
:func:`head_revision`), and importing Alembic for that cost each command 0.3-0.5 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import OperationalError

from assay.errors import InvalidInput

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["current_revision", "downgrade", "head_revision", "upgrade"]


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(str(resources.files("assay.store") / "migrations"))))
    return config


def head_revision() -> str:
    """The newest schema revision this Assay carries: the largest number among the migration scripts' names
    (``NNNN_what.py``, whose ``revision`` is that number; one line of history, as tests/store/test_migrations.py
    holds against Alembic's own answer). Read from the names: no script is imported."""
    versions = resources.files("assay.store") / "migrations" / "versions"
    return max(p.name[:4] for p in versions.iterdir() if p.name[:4].isdigit() and p.name.endswith(".py"))


@contextmanager
def _database(engine: Engine, doing: str) -> Iterator[None]:
    """A database that cannot be reached (or a migration the database refuses) is the user's input to fix."""
    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise InvalidInput(f"cannot {doing} the database {engine.url!r}: {reason}") from exc


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision (None: no Assay schema), from Alembic's version table."""
    with _database(engine, "open"), engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    if len(found) > 1:
        raise InvalidInput(f"the database {engine.url!r} is at several schema revisions ({', '.join(found)})")
    return found[0] if found else None


def _run(engine: Engine, verb: str, revision: str) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.script.revision import ResolutionError
    from alembic.util import CommandError

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
