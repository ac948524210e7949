"""Raw database access to the audit ledger, as an attacker or an administrator has it (outside Assay), for the
ledger tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from assay.services.workspace import Workspace
from assay.store.ledger import Event, append_event, canonical_json


def sql(ws: Workspace, *statements: str, **params: Any) -> None:
    """Run statements in one transaction, outside Assay."""
    with ws.store.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), params)


def table_rows(ws: Workspace, table: str) -> list[tuple[Any, ...]]:
    with ws.store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]


_DROP_TRIGGERS = {
    "sqlite": [
        f"DROP TRIGGER {table}_no_{verb}"
        for table in ("audit_events", "audit_checkpoints")
        for verb in ("update", "delete", "replace")
    ],
    "postgresql": [
        f"DROP TRIGGER {table}_{name} ON {table}"
        for table in ("audit_events", "audit_checkpoints")
        for name in ("append_only", "no_truncate")
    ],
}


def drop_triggers(ws: Workspace) -> None:
    """What someone with database access does first (it fails if a trigger is not where the migration put it)."""
    sql(ws, *_DROP_TRIGGERS[ws.store.engine.dialect.name])


def insert_event(ws: Workspace, event: Event) -> None:
    columns = [*event.content(), "hash"]
    sql(
        ws,
        f"INSERT INTO audit_events ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})",
        **{**event.content(), "payload": canonical_json(dict(event.payload)).decode(), "hash": event.hash},
    )


_REWRITE = (
    "UPDATE audit_events SET actor = :actor, payload = :payload, prev_hash = :prev, hash = :hash WHERE seq = :seq"
)


def rewrite_from(ws: Workspace, seq: int, **changes: Any) -> list[Event]:
    """Change event ``seq`` and recompute every hash from there on with Assay's own functions: a chain that is
    consistent in itself. Returns the forged chain."""
    events = ws.audit.log()
    chain = events[: seq - 1]
    for event in events[seq - 1 :]:
        fields = {k: v for k, v in event.content().items() if k not in ("seq", "prev_hash")}
        if event.seq == seq:
            fields.update(changes)
        chain.append(append_event(chain[-1] if chain else None, **fields))
    with ws.store.engine.begin() as connection:
        for event in chain[seq - 1 :]:
            connection.execute(
                text(_REWRITE),
                {
                    "actor": event.actor,
                    "payload": canonical_json(dict(event.payload)).decode(),
                    "prev": event.prev_hash,
                    "hash": event.hash,
                    "seq": event.seq,
                },
            )
    return chain
