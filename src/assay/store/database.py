"""The unit of work: read sessions, and write transactions that record their audit events.

::

    store = Store(url, signer=key)
    with store.write(actor="alice") as tx:
        system = System(...)
        tx.session.add(system)
        tx.session.flush()
        tx.record("system.create", system, before=None)

Everything inside ``write`` commits together, the audit events included, or nothing does. A database error
that means "this already exists" or "that does not exist" becomes :class:`~assay.errors.Conflict`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from assay.errors import Conflict, IntegrityViolation, InvalidInput
from assay.store import audit
from assay.store.db import WRITE_OPTION, make_engine
from assay.store.ledger import Checkpoint, Event, Verification
from assay.store.migrate import current_revision, downgrade, head_revision, upgrade
from assay.store.models import Base

__all__ = ["Store", "Transaction"]


class Transaction:
    """A write transaction and the actor it is done by. ``authenticated`` says whether the actor proved who they
    are (a password or a token); the events of an unauthenticated actor say so in their payload."""

    def __init__(self, session: Session, actor: str, store: Store, *, authenticated: bool = False) -> None:
        self.session = session
        self.actor = actor
        self.authenticated = authenticated
        self._store = store
        self.events: list[Event] = []

    def record(
        self,
        action: str,
        obj: Base,
        *,
        before: Mapping[str, Any] | None,
        deleted: bool = False,
        payload: Mapping[str, Any] | None = None,
        object_id: str | None = None,
    ) -> Event:
        """Append the audit event of a change to ``obj`` (``before``: its state before, ``None`` when created)."""
        self.session.flush()
        after = None if deleted else obj.state()
        if not self.authenticated:
            payload = {**(payload or {}), "authenticated": False}
        event = audit.append(
            self.session,
            actor=self.actor,
            action=action,
            object_type=obj.__tablename__,
            object_id=object_id or audit.identity(obj),
            before=audit.digest(before),
            after=audit.digest(after),
            payload=payload,
            signer=self._store.signer,
            checkpoint_every=self._store.checkpoint_every,
        )
        self.events.append(event)
        return event


def _columns(connection: Connection) -> dict[str, set[str]]:
    """The governed tables the database has now, with their columns (at any schema revision)."""
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    return {
        table: {column["name"] for column in inspector.get_columns(table)}
        for table in audit.GOVERNED
        if table in present
    }


def _unstorable(exc: Exception) -> InvalidInput:
    """A value the database cannot hold (an integer out of its range, a NUL byte in text on PostgreSQL)."""
    detail = str(getattr(exc, "orig", exc)).splitlines()[0]
    return InvalidInput(f"a value cannot be stored or looked up: {detail}")


class Store:
    """A governance database (SQLite or PostgreSQL) with its ledger's keys.

    ``signer`` and ``public_key`` are keys, or functions that load them when first needed (a workspace reads its
    key files only then). When the signer is such a function, every write needs it, and one that cannot load it
    (``InvalidInput``) refuses the write before anything is done: checkpoints are signed every N events."""

    def __init__(
        self,
        url: str,
        *,
        signer: Ed25519PrivateKey | Callable[[], Ed25519PrivateKey] | None = None,
        public_key: Ed25519PublicKey | Callable[[], Ed25519PublicKey] | None = None,
        checkpoint_every: int = 100,
        engine: Engine | None = None,
    ) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self._signer = signer
        self._public_key = public_key
        self.checkpoint_every = checkpoint_every
        self._writer = self.engine.execution_options(**{WRITE_OPTION: True})
        self.before_commit: list[Callable[[Transaction], None]] = []

    @property
    def signer(self) -> Ed25519PrivateKey | None:
        if callable(self._signer):
            self._signer = self._signer()
        return self._signer

    @property
    def public_key(self) -> Ed25519PublicKey | None:
        if callable(self._public_key):
            self._public_key = self._public_key()
        if self._public_key is None and isinstance(self._signer, Ed25519PrivateKey):
            return self._signer.public_key()
        return self._public_key

    def check_schema(self) -> None:
        """Refuse to work on a database that is not at the schema this Assay knows.

        A refused store keeps no connection open: callers that give up on it need not dispose of it."""
        try:
            current = current_revision(self.engine)  # InvalidInput when the database cannot be reached
            head = head_revision()
            if current != head:
                state = "has no Assay schema" if current is None else f"is at schema revision {current}"
                raise InvalidInput(
                    f"the database {self.engine.url!r} {state}; run `assay db upgrade` (Assay needs {head})"
                )
        except BaseException:
            self.engine.dispose()
            raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except (DataError, OverflowError) as exc:
            raise _unstorable(exc) from exc

    @contextmanager
    def write(self, actor: str, *, authenticated: bool = False) -> Iterator[Transaction]:
        """A write transaction by ``actor``. The ``before_commit`` rules run on it last, in the same transaction
        (e.g. what follows when an approved state changes), so no change escapes them."""
        if not actor.strip():
            raise InvalidInput("the actor is empty: set --actor or ASSAY_ACTOR")
        self.signer  # noqa: B018 -- a key that cannot be loaded refuses the write before it begins
        try:
            with Session(self._writer, expire_on_commit=False) as session, session.begin():
                tx = Transaction(session, actor, self, authenticated=authenticated)
                yield tx
                for rule in self.before_commit:
                    rule(tx)
        except IntegrityError as exc:
            raise Conflict(f"the change conflicts with stored data: {exc.orig}") from exc
        except (DataError, OverflowError) as exc:
            raise _unstorable(exc) from exc

    def checkpoint(self, actor: str) -> Checkpoint | None:
        if self.signer is None:
            raise InvalidInput("this workspace has no signing key: checkpoints cannot be signed here")
        with self.write(actor) as tx:
            return audit.checkpoint(tx.session, self.signer)

    def verify(self, public_key: Ed25519PublicKey | None = None, *, records: bool = True) -> Verification:
        """The chain, the checkpoints and (``records``) every governed record against its last event."""
        with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":  # one snapshot (SQLite's read transaction is one already):
                connection.execution_options(isolation_level="REPEATABLE READ")  # a write meanwhile is not half seen
            return audit.verify_database(connection, public_key or self.public_key, records=records)

    def upgrade(self, actor: str, revision: str = "head") -> int:
        """Migrate the schema up to ``revision``, the ledger covering every record before and after (see
        :meth:`migrate`)."""
        return self.migrate(actor, "upgrade", revision)

    def downgrade(self, actor: str, revision: str) -> int:
        return self.migrate(actor, "downgrade", revision)

    def migrate(self, actor: str, verb: str, revision: str) -> int:
        """Migrate the schema (``verb``: upgrade or downgrade) and keep the ledger covering every governed record.

        The ledger is verified first, at the schema the database has (each record's state built from the columns
        its table has, as the Assay that wrote it built it), so that no change made outside Assay passes for the
        migration's; the migration is refused, with nothing changed, when it does not verify. Then one
        ``record.migrate`` event is appended for each record the migration changed (a column added or dropped, a
        value filled in), created or deleted. Returns the number of those events."""
        before = current_revision(self.engine)
        if before is not None:
            with self.engine.connect() as connection:
                verification = audit.verify_database(connection, self.public_key, columns=_columns(connection))
            if not verification.ok:
                raise IntegrityViolation(
                    f"the audit ledger does not verify at schema revision {before}: {verification.problem}; nothing "
                    f"was migrated (run `assay audit verify` for the whole list)"
                )
        (upgrade if verb == "upgrade" else downgrade)(self.engine, revision)
        after = current_revision(self.engine)
        if before is None or after is None or after == before:
            return 0  # a new database (nothing recorded yet), or one emptied to base (the ledger is gone with it)
        with self.write(actor) as tx:
            return audit.record_migration(
                tx.session,
                actor=tx.actor,
                payload={"from_revision": before, "to_revision": after},
                signer=self.signer,
                checkpoint_every=self.checkpoint_every,
                columns=_columns(tx.session.connection()),
            )

    def dispose(self) -> None:
        self.engine.dispose()
