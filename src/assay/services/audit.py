"""The audit ledger as users see it: verify, export, list events, sign a checkpoint on demand."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from assay.errors import InvalidInput
from assay.services._base import Service
from assay.store import audit, ledger
from assay.store.ledger import Checkpoint, Event, Verification, load_public_key, write_export

if TYPE_CHECKING:
    pass

__all__ = ["AuditLog", "verify_export"]

PUBLIC_KEY_FILE = "ledger.pub"


def _public_key_file(path: Path) -> bytes:
    if not path.is_file():
        raise InvalidInput(f"public key file {path} does not exist")
    return path.read_bytes()


def verify_export(folder: Path, public_key: Path) -> Verification:
    """Verify an export folder offline with the public key alone (no workspace, no database)."""
    return ledger.verify_export(folder, load_public_key(_public_key_file(public_key)))


class AuditLog(Service):
    def verify(self, public_key: Path | None = None) -> Verification:
        """Verify the database's ledger (with the workspace key, or the public key file an auditor holds)."""
        key = None if public_key is None else load_public_key(_public_key_file(public_key))
        return self.ws.store.verify(key)

    def checkpoint(self) -> Checkpoint | None:
        """Sign the current head now (``None`` when nothing has been recorded yet)."""
        return self.ws.store.checkpoint(self.ws.actor)

    def export(self, out: Path) -> dict[str, Path]:
        """Sign a checkpoint of the head, then write events.jsonl, checkpoints.jsonl and the public key."""
        self.checkpoint()
        with self.ws.store.engine.connect() as connection:
            # The checkpoints first: one signed while the events are read would cover events not in the export.
            checkpoints = audit.list_checkpoints(connection)
            paths = write_export(out, audit.iter_events(connection), checkpoints)  # streamed
        paths["public_key"] = out / PUBLIC_KEY_FILE
        paths["public_key"].write_bytes(self.ws.public_key_pem())
        return paths

    def log(self, where: audit.EventFilter | None = None, *, limit: int | None = None) -> list[Event]:
        with self.ws.store.read() as session:
            return list(audit.iter_events(session.connection(), where, limit=limit))

    def head_seq(self) -> int:
        """The sequence number of the last event (0 for an empty ledger): changes whenever anything changes."""
        with self.ws.store.read() as session:
            last = audit.head_seq(session)
        return last

    def recent(self, count: int) -> list[Event]:
        """The last ``count`` events, newest first (reads only those)."""
        with self.ws.store.read() as session:
            last = audit.head(session)
            if last is None:
                return []
            start = max(0, last.seq - count)
            return list(audit.iter_events(session.connection(), audit.EventFilter(after_seq=start)))[::-1]
