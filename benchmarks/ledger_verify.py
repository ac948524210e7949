#!/usr/bin/env python3
"""``assay audit verify`` on a large workspace: a million events and 100,000 governed records.

    python benchmarks/ledger_verify.py [--events 1000000] [--records 100000] [--checkpoint-every 100]
                                       [--no-postgres] [--workdir DIR]

Build (not timed as verification): a database migrated to the current schema gets ``--records`` governed records
(one AI system in ten, the rest risks of those systems), bulk-inserted; each is read back through the ORM and the
digest of its ``state()`` computed, as ``tx.record`` does. Then ``--events`` chained events (made by
:func:`assay.store.ledger.append_event`, with a checkpoint signed every ``--checkpoint-every``, as a workspace
does) are bulk-inserted: they go round the records, and the last event of each record carries the digest of its
state, so the workspace verifies clean.

Timed, in a fresh process' view (a new engine):

* ``Store.verify()``: what ``assay audit verify`` runs: every hash and link, every checkpoint's signature and head,
  and every governed record's current state against the last event that touched it (the last events are kept in
  a dict as the events stream by);
* ``Store.verify(records=False)``: the chain and checkpoints alone, for the cost of the records' check;
* the alternative way to find each record's last event: a grouped ``max(seq)`` in SQL (not what Assay does; the
  figure shows why).

PostgreSQL (skipped without ``initdb`` or with ``--no-postgres``) runs in a throwaway server, as in
``benchmarks/ledger.py``. Target: 1M events and 100k records verified in under 30 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).parent))
from assay.store import audit
from assay.store.database import Store
from assay.store.db import make_engine, sqlite_url
from assay.store.ledger import append_event, canonical_json, generate_signing_key, sign_checkpoint
from assay.store.migrate import upgrade
from assay.store.models import AuditCheckpoint, AuditEvent, Risk, System
from ledger import postgres_server

TARGET_SECONDS = 30.0
_BATCH = 20_000
_LAST_EVENTS_SQL = (
    "SELECT object_type, object_id, seq, after FROM audit_events WHERE seq IN "
    "(SELECT max(seq) FROM audit_events GROUP BY object_type, object_id)"
)


def _records(connection: Any, count: int) -> None:
    """``count`` governed records: one system in ten, the rest risks spread over those systems."""
    systems = max(1, count // 10)
    now = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)
    rows: list[dict[str, Any]] = []
    for i in range(1, systems + 1):
        rows.append(
            {"id": i, "name": f"system-{i}", "name_key": f"system-{i}", "purpose": f"purpose {i} ✓",
             "intended_uses": ["triage", f"use {i}"],
             "out_of_scope_uses": [], "affected_people": ["applicants"], "deployment_context": "", "owner": "alice",
             "lifecycle_stage": "inception", "eu_ai_act_category": "limited", "annex_iii_area": None,
             "generative": False, "disclosure": None, "oversight": "human_in_the_loop",
             "created_at": now + dt.timedelta(microseconds=i), "updated_at": now + dt.timedelta(seconds=i)}
        )  # fmt: skip
        if len(rows) == _BATCH:
            connection.execute(insert(System), rows)
            rows = []
    if rows:
        connection.execute(insert(System), rows)
    rows = []
    for i in range(1, count - systems + 1):
        rows.append(
            {"id": i, "system_id": 1 + i % systems, "title": f"risk {i}", "source": "model", "description": "",
             "affected": ["group b"], "likelihood": 1 + i % 5, "impact": 1 + i % 4, "level": "medium",
             "treatment": "mitigate", "controls": ["iso42001:A.7.4"], "owner": "bob", "residual_likelihood": None,
             "residual_impact": None, "residual_level": None, "review_date": dt.date(2027, 1, 1 + i % 28),
             "status": "open", "created_at": now + dt.timedelta(microseconds=i), "updated_at": now}
        )  # fmt: skip
        if len(rows) == _BATCH:
            connection.execute(insert(Risk), rows)
            rows = []
    if rows:
        connection.execute(insert(Risk), rows)


def _digests(connection: Any) -> list[tuple[str, str, str | None]]:
    """(table, id, digest of state()) of every record, read back through the ORM as verification reads it."""
    found: list[tuple[str, str, str | None]] = []
    with Session(bind=connection) as session:
        for model in (System, Risk):
            for obj in session.scalars(select(model).order_by(model.id).execution_options(yield_per=5_000)):
                found.append((model.__tablename__, audit.identity(obj), audit.digest(obj.state())))
                session.expunge(obj)
    return found


def build(url: str, events: int, records: int, checkpoint_every: int) -> tuple[Any, float]:
    """The database at ``url`` filled as described above; returns the public key and the seconds it took."""
    start = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    signer = generate_signing_key()
    with engine.begin() as connection:
        _records(connection, records)
    with engine.connect() as connection:
        objects = _digests(connection)
    last_round = events - len(objects)  # from this event on, each record gets its last event
    previous = None
    with engine.begin() as connection:
        batch: list[dict[str, Any]] = []
        checkpoints: list[dict[str, Any]] = []
        for i in range(1, events + 1):
            table, object_id, state = objects[i % len(objects)]
            after = state if i > last_round else f"{i:064x}"
            previous = append_event(
                previous,
                time=f"2026-11-26T10:{i // 60_000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1_000_000:06d}Z",
                actor=("alice", "bob", "carol")[i % 3],
                action="risk.update" if table == "risks" else "system.update",
                object_type=table,
                object_id=object_id,
                before=f"{i - 1:064x}",
                after=after,
                payload={"changed": ["likelihood"], "comment": f"change {i} ✓"},
            )
            batch.append(
                {
                    **previous.content(),
                    "payload": canonical_json(dict(previous.payload)).decode(),
                    "hash": previous.hash,
                }
            )
            if i % checkpoint_every == 0:
                checkpoints.append(asdict(sign_checkpoint(previous, previous.time, signer)))
            if len(batch) == _BATCH:
                connection.execute(insert(AuditEvent), batch)
                batch = []
        if batch:
            connection.execute(insert(AuditEvent), batch)
        if checkpoints:
            connection.execute(insert(AuditCheckpoint), checkpoints)
    engine.dispose()
    return signer.public_key(), time.perf_counter() - start


def _cpu() -> float:
    return time.process_time()


def timed(url: str, public_key: Any, events: int, records: int) -> list[tuple[str, float, str]]:
    """Each row: what, wall seconds, and a note with this process' CPU seconds (on a shared machine the wall time
    includes waiting for a core; on PostgreSQL the server's CPU time is not in this process')."""
    rows = []
    store = Store(url, engine=make_engine(url), public_key=public_key)  # a fresh process' view
    start, cpu = time.perf_counter(), _cpu()
    result = store.verify()
    seconds = time.perf_counter() - start
    assert result.ok and (result.events, result.records) == (events, records), result
    rows.append(("`Store.verify()` (`assay audit verify`): chain, checkpoints, records", seconds,
                 f"clean; CPU {_cpu() - cpu:.1f} s"))  # fmt: skip
    start, cpu = time.perf_counter(), _cpu()
    chain = store.verify(records=False)
    rows.append(("`Store.verify(records=False)`: chain and checkpoints only", time.perf_counter() - start,
                 f"clean; CPU {_cpu() - cpu:.1f} s"))  # fmt: skip
    assert chain.ok
    with store.engine.connect() as connection:
        start = time.perf_counter()
        found = connection.execute(text(_LAST_EVENTS_SQL)).all()
        rows.append(
            (
                "alternative: last events by grouped `max(seq)` in SQL",
                time.perf_counter() - start,
                f"{len(found):,} rows",
            )
        )
    with store.engine.begin() as connection:  # and a record changed outside Assay is found
        connection.execute(text("UPDATE risks SET likelihood = 5, impact = 5 WHERE id = 1"))
    start, cpu = time.perf_counter(), _cpu()
    tampered = store.verify()
    seconds = time.perf_counter() - start
    assert [str(p) for p in tampered.record_problems][:1] == [
        f"risks 1: changed outside Assay: it is not the state event {tampered.record_problems[0].seq} recorded"
    ], tampered
    rows.append(("`Store.verify()` after `UPDATE risks ... WHERE id = 1`", seconds,
                 f"risks 1 reported; CPU {_cpu() - cpu:.1f} s"))  # fmt: skip
    store.dispose()
    return rows


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the ledger (default 1M)")
    parser.add_argument("--records", type=int, default=100_000, help="governed records (default 100k)")
    parser.add_argument("--checkpoint-every", type=int, default=100, help="as ASSAY_CHECKPOINT_EVERY (default 100)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the databases (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.events < args.records:
        parser.error("--events must be at least --records: every record needs its event")

    work = args.workdir or Path(tempfile.mkdtemp(prefix="assay-verify-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; databases in {work}")
    results: list[tuple[str, float, list[tuple[str, float, str]]]] = []
    with postgres_server() if not args.no_postgres else _nothing() as pg_url:
        targets = [("SQLite", sqlite_url(work / "verify.db"))]
        if pg_url is not None:
            targets.append(("PostgreSQL", pg_url))
        elif not args.no_postgres:
            print("PostgreSQL is not installed: SQLite only")
        for name, url in targets:
            public_key, built = build(url, args.events, args.records, args.checkpoint_every)
            print(f"{name}: built in {built:.0f} s; load average {os.getloadavg()[0]:.2f}; verifying", flush=True)
            results.append((name, built, timed(url, public_key, args.events, args.records)))
    print(f"\n{args.events:,} events, a checkpoint every {args.checkpoint_every}, {args.records:,} governed records:\n")
    print("| Database | What | Time s | |")
    print("|---|---|---:|---|")
    for name, built, rows in results:
        print(f"| {name} | build and bulk insert (not verification) | {built:.1f} | |")
        for what, seconds, note in rows:
            print(f"| {name} | {what} | {seconds:.2f} | {note} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process over the whole run: {peak:,.0f} MiB")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    worst = max(rows[0][1] for _, _, rows in results)
    print(f"target: {args.events:,} events and {args.records:,} records verified in < {TARGET_SECONDS:.0f} s: "
          f"slowest {worst:.1f} s ({'met' if worst < TARGET_SECONDS else 'MISSED'})")  # fmt: skip
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
