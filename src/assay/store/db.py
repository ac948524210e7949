"""Database engines for the governance store: SQLite (the embedded default) and PostgreSQL.

Writes are serialised so that the audit ledger stays linear under concurrent writers:

- SQLite: a write transaction starts with ``BEGIN IMMEDIATE`` (the database's write lock is taken at the start,
  not at the first write, so two writers never read the same ledger head). WAL journal, ``synchronous=FULL``
  (a committed transaction survives a crash of the process and of the machine), foreign keys on, and a busy
  timeout so a waiting writer queues instead of failing.
- PostgreSQL: a write transaction takes a transaction-level advisory lock as it begins, before its first
  statement, so write transactions run one at a time as on SQLite: what a service checks (a name is free, a
  request is pending, the ledger head) cannot change before it commits, and the ledger lock is never waited for
  while holding row locks (no deadlock).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from assay.errors import InvalidInput

__all__ = ["LEDGER_LOCK_ID", "WRITE_OPTION", "make_engine", "sqlite_url"]

WRITE_OPTION: Final = "assay_write"  # execution option that marks a write transaction
LEDGER_LOCK_ID: Final = 4_242_001  # PostgreSQL advisory lock key of the audit ledger
_BUSY_TIMEOUT_MS: Final = 30_000


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (the pysqlite driver would defer it otherwise).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}",
    ):
        cursor.execute(pragma)
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    writing = connection.get_execution_options().get(WRITE_OPTION, False)
    # Straight to the driver: this runs once per transaction, and SQLAlchemy's statement machinery costs more than
    # the BEGIN itself (it matters for durable appends per second).
    connection.connection.driver_connection.execute("BEGIN IMMEDIATE" if writing else "BEGIN")  # type: ignore[union-attr]


def _postgresql_begin(connection: Connection) -> None:
    if connection.get_execution_options().get(WRITE_OPTION, False):
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LEDGER_LOCK_ID})")


def _private_database_file(database: str | None) -> None:
    """Create a SQLite database file that does not exist yet readable by the owner only (0600, whatever the umask):
    SQLite gives its -wal, -shm and -journal files the database file's mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return  # an existing database keeps its mode; a missing folder is SQLite's error to report
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # created by someone else in between: theirs
        return
    os.fchmod(descriptor, 0o600)
    os.close(descriptor)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///...`` or ``postgresql+psycopg://...``) with the write discipline above."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInput(f"database URL {url!r} is not a valid SQLAlchemy URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise InvalidInput(f"database URL {parsed!r}: Assay runs on sqlite or postgresql, not {backend}")
    try:
        if backend == "sqlite":
            _private_database_file(parsed.database)
            engine = create_engine(parsed, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
            event.listen(engine, "begin", _postgresql_begin)
    except (NoSuchModuleError, ImportError) as exc:
        raise InvalidInput(
            f"database URL {parsed!r} needs a driver that is not installed ({exc}); for PostgreSQL install "
            "assay[postgres] and use postgresql+psycopg://"
        ) from exc
    return engine


def lock_ledger(connection: Connection) -> None:
    """Serialise ledger appends on PostgreSQL (SQLite's BEGIN IMMEDIATE already holds the write lock).

    A transaction of :meth:`.Store.write` holds the lock from its start already; taking it again is harmless."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_ID})
