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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, Row, Select, func, insert, select
from sqlalchemy.orm import Session

from assay.store.db import lock_ledger
from assay.store.ledger import (
    GENESIS,
    ChainVerifier,
    Checkpoint,
    Event,
    RecordProblem,
    Verification,
    canonical_json,
    next_event,
    sign_checkpoint,
    stored_hash,
)
from assay.store.models import AuditCheckpoint, AuditEvent, Base
from assay.store.models import _json_value as json_value  # the conversion Base.state() makes

__all__ = [
    "GOVERNED",
    "EventFilter",
    "append",
    "check_records",
    "checkpoint",
    "count_events",
    "digest",
    "distinct",
    "head",
    "identity",
    "iter_events",
    "last_events",
    "list_checkpoints",
    "newest_events",
    "now_text",
    "record_migration",
    "touched",
    "verify_database",
]

_CHUNK = 20_000
_EVENTS = AuditEvent.__table__
_COLUMNS = tuple(
    _EVENTS.c[name]
    for name in (
        "seq",
        "time",
        "actor",
        "action",
        "object_type",
        "object_id",
        "before",
        "after",
        "payload",
        "prev_hash",
        "hash",
    )
)
_HEAD_SQL = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
_NAMES = ", ".join(c.name for c in _COLUMNS)
_INSERT_SQL = {  # by the driver's placeholder: sqlite3, psycopg
    mark: f"INSERT INTO audit_events ({_NAMES}) VALUES ({', '.join([mark] * len(_COLUMNS))})" for mark in ("?", "%s")
}
_INSERT_CHECKPOINT = insert(AuditCheckpoint)
_LEDGER_TABLES = frozenset({AuditEvent.__tablename__, AuditCheckpoint.__tablename__})


def _governed() -> dict[str, type[Base]]:
    """Every table whose changes are recorded (``tx.record``): all of them but the ledger's own two and the
    operational ones (``governed = False``: a job's progress and heartbeat, see :class:`.models.JobProgress`)."""
    models = (mapper.class_ for mapper in Base.registry.mappers)
    found = {
        model.__tablename__: model for model in models if model.__tablename__ not in _LEDGER_TABLES and model.governed
    }
    return dict(sorted(found.items()))


GOVERNED: dict[str, type[Base]] = _governed()
"""The governed tables by name: verification checks every record in them against the last event that touched it."""


def identity(obj: Base) -> str:
    """The ``object_id`` of an event about ``obj``: its primary key (parts of a composite key joined with "/")."""
    return "/".join(str(part) for part in obj.__mapper__.primary_key_from_instance(obj))


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


def head_seq(session: Session) -> int:
    """The last sequence number (0 when the ledger is empty), from the primary key index."""
    value = session.connection().execute(select(func.max(_EVENTS.c.seq))).scalar()
    return int(value or 0)


#: Beyond this many events between two heads, :func:`touched` does not read them (redoing the work costs less).
TOUCHED_LIMIT: Final = 5_000


def touched(session: Session, after: int, up_to: int, tables: Sequence[str]) -> dict[str, set[int]] | None:
    """The ids of the rows of ``tables`` that the events after ``after`` up to ``up_to`` changed, by table (one
    range of the primary key): what work kept at head ``after`` must redo at ``up_to``. None when that cannot be
    said cheaply or at all: more than :data:`TOUCHED_LIMIT` events between, or a row whose key is not one integer."""
    if up_to - after > TOUCHED_LIMIT:
        return None
    found: dict[str, set[int]] = {table: set() for table in tables}
    query = select(_EVENTS.c.object_type, _EVENTS.c.object_id).where(
        _EVENTS.c.seq > after, _EVENTS.c.seq <= up_to, _EVENTS.c.object_type.in_(list(tables))
    )
    for table, object_id in session.connection().execute(query):
        if not object_id.isdigit():
            return None
        found[table].add(int(object_id))
    return found


def head(session: Session) -> Event | None:
    row = session.connection().execute(select(*_COLUMNS).order_by(_EVENTS.c.seq.desc()).limit(1)).first()
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
    connection = session.connection()
    lock_ledger(connection)
    # The head is read and the event inserted straight through the driver, in the same transaction: SQLAlchemy's
    # statement machinery costs several times more than these two statements, and appends per second count.
    placeholder = "?" if connection.dialect.paramstyle == "qmark" else "%s"  # sqlite3 / psycopg
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_HEAD_SQL)
        head_seq, head_hash = cursor.fetchone() or (0, GENESIS)
        event = next_event(
            head_seq,
            head_hash,
            time=now_text(),
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=before,
            after=after,
            payload=dict(payload or {}),
        )
        row = {**event.content(), "payload": canonical_json(dict(event.payload)).decode(), "hash": event.hash}
        cursor.execute(_INSERT_SQL[placeholder], tuple(row[c.name] for c in _COLUMNS))
    finally:
        cursor.close()
    if signer is not None and checkpoint_every and event.seq % checkpoint_every == 0:
        _add_checkpoint(connection, event, signer)
    return event


def _add_checkpoint(connection: Connection, event: Event, signer: Ed25519PrivateKey) -> Checkpoint:
    signed = sign_checkpoint(event, now_text(), signer)
    connection.execute(_INSERT_CHECKPOINT, asdict(signed))
    return signed


def checkpoint(session: Session, signer: Ed25519PrivateKey) -> Checkpoint | None:
    """Sign the current head now (``None`` when the ledger is empty)."""
    lock_ledger(session.connection())
    current = head(session)
    if current is None:
        return None
    return _add_checkpoint(session.connection(), current, signer)


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
    exclude_actions: tuple[str, ...] = ()  # e.g. the sign-ins, which crowd out the changes on the ledger's page
    before_seq: int | None = None  # only events before this sequence number (paging newest first by key)


def _filtered(query: Select[Any], where: EventFilter) -> Select[Any]:
    """``query`` restricted to the events ``where`` selects (every condition in SQL: filtered in the database)."""
    if where.after_seq:
        query = query.where(_EVENTS.c.seq > where.after_seq)
    if where.before_seq is not None:
        query = query.where(_EVENTS.c.seq < where.before_seq)
    for column in ("actor", "action", "object_type", "object_id"):
        value = getattr(where, column)
        if value is not None:
            query = query.where(_EVENTS.c[column] == value)
    if where.exclude_actions:
        query = query.where(_EVENTS.c.action.not_in(where.exclude_actions))
    if where.since is not None:
        query = query.where(_EVENTS.c.time >= where.since)
    if where.until is not None:
        query = query.where(_EVENTS.c.time < where.until)
    return query


def _rows(connection: Connection, where: EventFilter, limit: int | None) -> Iterator[Row[*tuple[Any, ...]]]:
    last = where.after_seq
    emitted = 0
    while True:
        query = _filtered(select(*_COLUMNS), replace(where, after_seq=last)).order_by(_EVENTS.c.seq).limit(_CHUNK)
        rows = connection.execute(query).all()
        for row in rows:
            yield row
            emitted += 1
            if limit is not None and emitted >= limit:
                return
        if len(rows) < _CHUNK:
            return
        last = rows[-1].seq


def newest_events(connection: Connection, where: EventFilter, *, limit: int, offset: int = 0) -> list[Event]:
    """The events ``where`` selects, newest first, from ``offset``, at most ``limit`` (cut in the database: the
    primary key read backwards, stopping once the page is full)."""
    query = _filtered(select(*_COLUMNS), where).order_by(_EVENTS.c.seq.desc()).limit(limit).offset(offset or None)
    return [_event(row) for row in connection.execute(query)]


def count_events(connection: Connection, where: EventFilter, *, at_most: int | None = None) -> int:
    """How many events ``where`` selects (counted in the database); with ``at_most``, counting stops there (the
    newest events read first, so a filter most events match is counted in a few pages' reads, not the ledger's)."""
    if at_most is None:
        return int(connection.execute(_filtered(select(func.count()).select_from(_EVENTS), where)).scalar_one())
    first = _filtered(select(_EVENTS.c.seq), where).order_by(_EVENTS.c.seq.desc()).limit(at_most).subquery()
    return int(connection.execute(select(func.count()).select_from(first)).scalar_one())


def distinct(connection: Connection, column: str, *, after_seq: int = 0) -> list[str]:
    """The values ``column`` (actor, action, object_type) takes in the events after ``after_seq``, sorted."""
    if column not in ("actor", "action", "object_type"):
        raise ValueError(f"no distinct values of {column!r}")
    found = connection.execute(select(_EVENTS.c[column]).where(_EVENTS.c.seq > after_seq).distinct()).scalars()
    return sorted(str(value) for value in found)


def iter_events(
    connection: Connection, where: EventFilter | None = None, *, limit: int | None = None
) -> Iterator[Event]:
    """Events in sequence order, read in chunks (constant memory for any ledger size)."""
    for row in _rows(connection, where or EventFilter(), limit):
        yield _event(row)


def list_checkpoints(connection: Connection) -> list[Checkpoint]:
    table = AuditCheckpoint.__table__
    rows = connection.execute(select(table).order_by(table.c.id)).all()
    return [Checkpoint(r.seq, r.head_hash, r.time, r.key_id, r.signature) for r in rows]


_LastEvents = dict[str, dict[str, tuple[int, str | None]]]  # table -> object id -> (seq, after digest)


def verify_database(
    connection: Connection,
    public_key: Ed25519PublicKey | None,
    *,
    records: bool = True,
    columns: Mapping[str, set[str]] | None = None,
) -> Verification:
    """Verify every event and checkpoint stored in the database (streamed), then every governed record's current
    state against the last event that touched it (``records``; see :func:`check_records`).

    An intact event is checked on its stored text (:func:`.ledger.stored_hash`, no JSON parsing); any other is
    parsed and fed to the verifier, which names what is wrong. The last event of each governed object is kept as
    the events stream by (one entry per object, not per event)."""
    checkpoints = list_checkpoints(connection)  # before the events: a checkpoint signed meanwhile is not missed
    verifier = ChainVerifier(public_key)
    verifier.expect_checkpoints({c.seq for c in checkpoints})
    last: _LastEvents = {table: {} for table in GOVERNED}
    chain_ok = True
    for row in _rows(connection, EventFilter(), None):
        seq, time, actor, action, object_type, object_id, before, after, payload, prev_hash, stored = row
        objects = last.get(object_type)
        if objects is not None:
            objects[object_id] = (seq, after)
        if not chain_ok:
            continue  # the chain is broken: keep reading the last events, for the records' check only
        try:
            computed = stored_hash(seq, time, actor, action, object_type, object_id, before, after, payload, prev_hash)
        except TypeError:  # a value that is not text in a text column (SQLite allows it): let the full rules decide
            computed = ""
        if not verifier.accept_intact(seq, prev_hash, stored, computed) and not verifier.feed(_event(row)):
            if not records:
                break
            chain_ok = False
    result = verifier.finish(checkpoints)
    if not records:
        return result
    return result.with_records(*check_records(connection, last, columns))


_RECORD_CHUNK = 5_000


def check_records(
    connection: Connection, last: _LastEvents, columns: Mapping[str, set[str]] | None = None
) -> tuple[int, list[RecordProblem]]:
    """Compare every governed record's current state (the digest of :meth:`.models.Base.state` of the record as
    loaded) with the ``after`` digest of the last event that touched it. Returns how many records were checked,
    and the ones changed, deleted or inserted outside Assay, by table and id. ``last`` is consumed.

    ``columns``: the tables and columns the database holds, when it is at an older schema than this Assay's (before
    a migration): a record's state is then built from those columns only, as the Assay that wrote it built it."""
    problems: list[RecordProblem] = []
    checked = 0
    for table, model in GOVERNED.items():
        if columns is not None and table not in columns:
            continue  # a table the older schema does not have yet
        expected = last.get(table, {})
        for object_id, state in _states(connection, model, None if columns is None else columns[table]):
            checked += 1
            seq, after = expected.pop(object_id, (None, None))
            problem = None
            if seq is None:
                problem = "no audit event records it: inserted outside Assay"
            elif after is None:
                problem = f"event {seq} deleted it, yet it exists: inserted outside Assay"
            elif digest(state) != after:
                problem = f"changed outside Assay: it is not the state event {seq} recorded"
            if problem is not None:
                problems.append(RecordProblem(table, object_id, problem, seq))
        for object_id, (seq, after) in expected.items():
            if after is not None:
                problems.append(RecordProblem(table, object_id, f"deleted outside Assay: event {seq} recorded it", seq))
    problems.sort(key=lambda p: (p.table, _sort_key(p.id)))
    return checked, problems


def _states(
    connection: Connection, model: type[Base], present: set[str] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(object id, :meth:`.models.Base.state`) of every record of ``model``, streamed.

    The columns are read with their types' result processing (UTC times, JSON), exactly as the ORM loads them, and
    the state built as :meth:`~.models.Base.state` builds it (no model overrides it: a test checks), 2-3 times faster
    than loading objects."""
    mapper = model.__mapper__
    order = mapper.primary_key
    attributes = [a for a in mapper.column_attrs if present is None or a.columns[0].name in present]
    columns = [attribute.columns[0] for attribute in attributes]
    keys = [attribute.key for attribute in attributes]
    key_positions = [i for key in order for i, column in enumerate(columns) if column is key]
    query = select(*columns).order_by(*order).execution_options(yield_per=_RECORD_CHUNK)
    for row in connection.execute(query):
        yield "/".join(str(row[i]) for i in key_positions), {k: json_value(v) for k, v in zip(keys, row, strict=True)}


def last_events(connection: Connection) -> _LastEvents:
    """The last event (seq, after digest) of every governed object, streamed from the ledger."""
    last: _LastEvents = {table: {} for table in GOVERNED}
    query = (
        select(_EVENTS.c.object_type, _EVENTS.c.object_id, _EVENTS.c.seq, _EVENTS.c.after)
        .order_by(_EVENTS.c.seq)
        .execution_options(yield_per=_CHUNK)
    )
    for object_type, object_id, seq, after in connection.execute(query):
        objects = last.get(object_type)
        if objects is not None:
            objects[object_id] = (seq, after)
    return last


def record_migration(
    session: Session,
    *,
    actor: str,
    payload: Mapping[str, Any],
    signer: Ed25519PrivateKey | None,
    checkpoint_every: int,
    columns: Mapping[str, set[str]],
) -> int:
    """After a schema migration, one ``record.migrate`` event for every governed record whose state the migration
    changed (a new column, a value it filled in), created (a row it inserted) or deleted, so that the ledger covers
    the records as they now are. Call it only after the ledger verified at the old schema (see
    :meth:`.database.Store.migrate`): it would otherwise record a change made outside Assay as the migration's.
    ``columns``: the governed tables the database has now and their columns. Returns the number of events
    appended."""
    connection = session.connection()
    last = last_events(connection)
    changes: list[tuple[str, str, str | None, str | None]] = []  # table, id, before, after
    for table, model in GOVERNED.items():
        expected = last.get(table, {})
        for object_id, state in _states(connection, model, columns[table]) if table in columns else ():
            _, after = expected.pop(object_id, (None, None))
            now = digest(state)
            if now != after:
                changes.append((table, object_id, after, now))
        changes += [(table, object_id, after, None) for object_id, (_, after) in expected.items() if after is not None]
    for table, object_id, before, after in changes:  # appended after reading: no insert while a cursor streams
        append(
            session,
            actor=actor,
            action="record.migrate",
            object_type=table,
            object_id=object_id,
            before=before,
            after=after,
            payload=payload,
            signer=signer,
            checkpoint_every=checkpoint_every,
        )
    return len(changes)


def _sort_key(object_id: str) -> tuple[int, int, str]:
    return (0, int(object_id), "") if object_id.isdigit() else (1, 0, object_id)
