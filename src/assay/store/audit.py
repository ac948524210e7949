"""The audit ledger in the database: append inside the caller's transaction, checkpoint, read, verify.

:mod:`.ledger` holds the integrity rules (hash chain, signatures); this module moves events between those rules
and the ``audit_events`` / ``audit_checkpoints`` tables. An append locks the ledger (see :func:`.db.lock_ledger`),
reads the head, and inserts the next event in the same transaction as the change it records, so either both
are committed or neither is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from assay.store.db import lock_ledger
from assay.store.ledger import (
    ChainVerifier,
    Checkpoint,
    Event,
    Verification,
    append_event,
    canonical_json,
    sign_checkpoint,
)
from assay.store.models import AuditCheckpoint, AuditEvent

__all__ = [
    "EventFilter",
    "append",
    "checkpoint",
    "digest",
    "head",
    "iter_events",
    "list_checkpoints",
    "now_text",
    "verify_database",
]

_CHUNK = 20_000


def now_text() -> str:
    """The ledger's time format: ISO 8601 UTC with microseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def digest(state: Mapping[str, Any] | None) -> str | None:
    """SHA-256 of an object's state in canonical JSON (``None`` for no state: before a create, after a delete)."""
    return None if state is None else hashlib.sha256(canonical_json(dict(state))).hexdigest()


def _payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    # A payload that is not a JSON object cannot have been written by Assay: keep it so that the hash fails.
    return value if isinstance(value, dict) else {"unreadable payload": text}


def _event(row: AuditEvent | Any) -> Event:
    return Event(
        seq=row.seq,
        time=row.time,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        before=row.before,
        after=row.after,
        payload=_payload(row.payload),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def head(session: Session) -> Event | None:
    row = session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one_or_none()
    return None if row is None else _event(row)


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: str | None,
    after: str | None,
    payload: Mapping[str, Any] | None = None,
    signer: Ed25519PrivateKey | None = None,
    checkpoint_every: int = 0,
) -> Event:
    """Append the next event in ``session``'s transaction; sign a checkpoint every ``checkpoint_every`` events."""
    lock_ledger(session.connection())
    event = append_event(
        head(session),
        time=now_text(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        payload=dict(payload or {}),
    )
    session.add(
        AuditEvent(
            seq=event.seq,
            time=event.time,
            actor=event.actor,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            before=event.before,
            after=event.after,
            payload=canonical_json(dict(event.payload)).decode(),
            prev_hash=event.prev_hash,
            hash=event.hash,
        )
    )
    if signer is not None and checkpoint_every and event.seq % checkpoint_every == 0:
        _add_checkpoint(session, event, signer)
    session.flush()
    return event


def _add_checkpoint(session: Session, event: Event, signer: Ed25519PrivateKey) -> Checkpoint:
    signed = sign_checkpoint(event, now_text(), signer)
    session.add(
        AuditCheckpoint(
            seq=signed.seq,
            head_hash=signed.head_hash,
            time=signed.time,
            key_id=signed.key_id,
            signature=signed.signature,
        )
    )
    return signed


def checkpoint(session: Session, signer: Ed25519PrivateKey) -> Checkpoint | None:
    """Sign the current head now (``None`` when the ledger is empty)."""
    lock_ledger(session.connection())
    current = head(session)
    if current is None:
        return None
    signed = _add_checkpoint(session, current, signer)
    session.flush()
    return signed


@dataclass(frozen=True)
class EventFilter:
    """Filters of :func:`iter_events` (all optional; combined with AND)."""

    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: str | None = None  # ISO time, inclusive
    until: str | None = None  # ISO time, exclusive
    after_seq: int = 0


def iter_events(
    connection: Connection, where: EventFilter | None = None, *, limit: int | None = None
) -> Iterator[Event]:
    """Events in sequence order, read in chunks (constant memory for any ledger size)."""
    where = where or EventFilter()
    table = AuditEvent.__table__
    last = where.after_seq
    emitted = 0
    while True:
        query = select(table).where(table.c.seq > last).order_by(table.c.seq).limit(_CHUNK)
        for column in ("actor", "action", "object_type", "object_id"):
            value = getattr(where, column)
            if value is not None:
                query = query.where(table.c[column] == value)
        if where.since is not None:
            query = query.where(table.c.time >= where.since)
        if where.until is not None:
            query = query.where(table.c.time < where.until)
        rows = connection.execute(query).all()
        for row in rows:
            yield _event(row)
            emitted += 1
            if limit is not None and emitted >= limit:
                return
        if len(rows) < _CHUNK:
            return
        last = rows[-1].seq


def list_checkpoints(connection: Connection) -> list[Checkpoint]:
    table = AuditCheckpoint.__table__
    rows = connection.execute(select(table).order_by(table.c.id)).all()
    return [Checkpoint(r.seq, r.head_hash, r.time, r.key_id, r.signature) for r in rows]


def verify_database(connection: Connection, public_key: Ed25519PublicKey | None) -> Verification:
    """Verify every event and checkpoint stored in the database (streamed)."""
    checkpoints = list_checkpoints(connection)
    verifier = ChainVerifier(public_key)
    verifier.expect_checkpoints({c.seq for c in checkpoints})
    for event in iter_events(connection):
        if not verifier.feed(event):
            break
    return verifier.finish(checkpoints)
