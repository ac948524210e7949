"""The audit ledger as users see it: verify, export, list events, sign a checkpoint on demand."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import takewhile
from pathlib import Path

from sqlalchemy import select

from assay.errors import InvalidInput
from assay.services._base import Listing, Service
from assay.store import audit, ledger
from assay.store.ledger import Checkpoint, Event, Verification, load_public_key, write_export

__all__ = ["AuditLog", "verify_export"]

PUBLIC_KEY_FILE = "ledger.pub"
# the column that names a record, by preference (a table with none of them is named from the event's payload)
_NAME_COLUMNS = ("name", "title", "key", "control_id")


def _public_key_file(path: Path) -> bytes:
    if not path.is_file():
        raise InvalidInput(f"public key file {path} does not exist")
    return path.read_bytes()


def verify_export(folder: Path, public_key: Path) -> Verification:
    """Verify an export folder offline with the public key alone (no workspace, no database)."""
    return ledger.verify_export(folder, load_public_key(_public_key_file(public_key)))


class AuditLog(Service):
    def verify(self, public_key: Path | None = None) -> Verification:
        """Verify the database's ledger (with the workspace's public key, or the public key file an auditor holds):
        the chain, the signed checkpoints, and every governed record's current state against the last event that
        touched it. The private key is not needed."""
        key = None if public_key is None else load_public_key(_public_key_file(public_key))
        return self.ws.store.verify(key)  # without a file: the workspace's .assay/keys/ledger.pub

    def checkpoint(self) -> Checkpoint | None:
        """Sign the current head now (``None`` when nothing has been recorded yet)."""
        return self.ws.store.checkpoint(self.ws.actor)

    def export(self, out: Path) -> dict[str, Path]:
        """Sign a checkpoint of the head, then write events.jsonl and checkpoints.jsonl up to that head, and the
        public key: an export always ends at a signed checkpoint of its last event (the verifier requires it).
        Needs the signing key; an empty ledger has nothing to export."""
        signed = self.checkpoint()
        if signed is None:
            raise InvalidInput("the audit ledger is empty: there is nothing to export yet")
        head = signed.seq
        with self.ws.store.engine.connect() as connection:
            # Events and checkpoints up to the head just signed: those appended meanwhile belong to a later export.
            checkpoints = [c for c in audit.list_checkpoints(connection) if c.seq <= head]
            events = takewhile(lambda e: e.seq <= head, audit.iter_events(connection))
            paths = write_export(out, events, checkpoints)  # streamed
        paths["public_key"] = out / PUBLIC_KEY_FILE
        paths["public_key"].write_bytes(self.ws.public_key_pem())
        return paths

    def log(self, where: audit.EventFilter | None = None, *, limit: int | None = None) -> list[Event]:
        with self._read() as session:
            return list(audit.iter_events(session.connection(), where, limit=limit))

    def newest(
        self, where: audit.EventFilter, *, limit: int, offset: int = 0, count_at_most: int | None = None
    ) -> Listing[Event]:
        """One page of the events ``where`` selects, newest first, with how many it selects in all (both in the
        database, on one snapshot; the count stops at ``count_at_most`` when given): the ledger's page, fast on any
        ledger size."""
        with self._read() as session:
            connection = session.connection()
            events = audit.newest_events(connection, where, limit=limit, offset=offset)
            return Listing(events, audit.count_events(connection, where, at_most=count_at_most))

    def stream_newest(self, where: audit.EventFilter, *, limit: int, chunk: int = 1000) -> Iterator[Event]:
        """The events ``where`` selects, newest first, at most ``limit``, read ``chunk`` at a time (each chunk its
        own short read, keyed by sequence number: an export never holds a transaction open while it is sent)."""
        sent, before = 0, where.before_seq
        while sent < limit:
            with self._read() as session:
                page = audit.newest_events(
                    session.connection(), replace(where, before_seq=before), limit=min(chunk, limit - sent)
                )
            yield from page
            sent += len(page)
            if len(page) < chunk:
                return
            before = page[-1].seq

    def choices(self, after_seq: int = 0) -> tuple[int, dict[str, list[str]]]:
        """The actors, actions and object types of the events after ``after_seq`` (for the ledger page's filters),
        with the head they were read at: a caller keeps them and reads only what was appended since."""
        with self._read() as session:
            head = audit.head_seq(session)
            connection = session.connection()
            columns = ("actor", "action", "object_type")
            return head, {c: audit.distinct(connection, c, after_seq=after_seq) for c in columns}

    def object_names(self, events: Iterable[Event]) -> dict[tuple[str, str], str]:
        """What each event's object is called, where its record names it (a system's or user's name, a risk's
        title), read in one query per table: ``(object_type, object_id) -> name``. Records without a name, and
        deleted ones, are left out (the page names them from the event's payload)."""
        wanted: dict[str, set[int]] = defaultdict(set)
        for event in events:
            if event.object_id.isdigit():
                wanted[event.object_type].add(int(event.object_id))
        names: dict[tuple[str, str], str] = {}
        with self._read() as session:
            for table, ids in wanted.items():
                model = audit.GOVERNED.get(table)
                columns = model.__table__.columns if model is not None else None
                if columns is None or "id" not in columns:
                    continue
                label = next((columns[c] for c in _NAME_COLUMNS if c in columns), None)
                if label is None:
                    continue
                rows = session.connection().execute(select(columns["id"], label).where(columns["id"].in_(ids)))
                names.update({(table, str(key)): str(value) for key, value in rows if value not in (None, "")})
        return names

    def head_seq(self) -> int:
        """The sequence number of the last event (0 for an empty ledger): changes whenever anything changes."""
        with self._read() as session:
            last = audit.head_seq(session)
        return last

    def recent(self, count: int) -> list[Event]:
        """The last ``count`` events, newest first (reads only those)."""
        with self._read() as session:
            last = audit.head(session)
            if last is None:
                return []
            start = max(0, last.seq - count)
            return list(audit.iter_events(session.connection(), audit.EventFilter(after_seq=start)))[::-1]
