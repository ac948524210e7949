#!/usr/bin/env python3
"""Audit-ledger benchmark: durable appends per second, and the time to verify a million events.

    python benchmarks/ledger.py [--appends 2000] [--repeat 5] [--verify-events 1000000]
                                [--checkpoint-every 100] [--no-postgres] [--workdir DIR]

1. Durable appends. Each append is its own committed write transaction, as Assay makes it:
   ``with store.write(actor) as tx: audit.append(tx.session, ...)`` (what ``Transaction.record`` does after
   flushing the change it records), with a signed checkpoint every ``--checkpoint-every`` events.

   * SQLite as Assay ships it: WAL journal, ``synchronous=FULL`` (each commit is on disk before it returns),
     ``BEGIN IMMEDIATE``. For comparison only: the same with ``synchronous=NORMAL`` (a commit survives a crash
     of the process, not of the machine), and appends through a service (``Workspace.systems.create``: a
     validated insert of an AI system plus its event).
   * PostgreSQL (skipped when ``initdb`` is not installed or with ``--no-postgres``): a throwaway server started
     the way ``tests/support/postgres.py`` does, but with ``fsync=on`` and ``synchronous_commit=on`` (durable), over
     TCP on 127.0.0.1.

   The figure is ``--appends`` appends over their wall time, the median of ``--repeat`` runs after a warm-up.

2. Verification. ``--verify-events`` events made by :func:`assay.store.ledger.append_event` (with a checkpoint
   signed every ``--checkpoint-every`` events, as a workspace does) are bulk-inserted in one transaction; then
   ``Store.verify()`` is timed: every event's hash and link, every checkpoint's signature and head. On SQLite the
   ledger is then exported as ``assay audit export`` writes it, and the export verified offline as
   ``assay audit verify --export`` does (both streamed; the peak memory of the whole run is printed).

Targets: at least 2,000 durable appends per second on SQLite; 1,000,000 events verified in under 20 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

from assay.config import load_settings
from assay.services.workspace import Workspace
from assay.store import audit
from assay.store.database import Store
from assay.store.db import make_engine, sqlite_url
from assay.store.ledger import (
    append_event,
    canonical_json,
    generate_signing_key,
    sign_checkpoint,
    verify_export,
    write_export,
)
from assay.store.migrate import upgrade
from assay.store.models import AuditCheckpoint, AuditEvent

TARGET_APPENDS_PER_SECOND = 2_000
TARGET_VERIFY_SECONDS = 20.0
_BATCH = 20_000


# -- PostgreSQL ------------------------------------------------------------------------------------------------


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """A durable throwaway PostgreSQL server (fsync on); yields its URL, or ``None`` when PostgreSQL is absent."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    found = [c for c in candidates if (c / "initdb").is_file()]
    bin_dir = found[-1] if found else (Path(w).parent if (w := shutil.which("initdb")) else None)
    if bin_dir is None:
        yield None
        return
    run_as: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="assay-pg-bench-"))  # its own folder: the server's user must enter it
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        run_as = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    folder.chmod(0o755)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    data = folder / "data"

    def pg(*args: str) -> None:
        done = subprocess.run([*run_as, *args], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-500:]}")

    pg(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8")
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on "
        "-c full_page_writes=on"
    )
    pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-o", options, "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop")
        shutil.rmtree(folder, ignore_errors=True)


# -- durable appends ---------------------------------------------------------------------------------------------


def _append_once(store: Store, i: int) -> None:
    with store.write("bench") as tx:
        audit.append(
            tx.session,
            actor="bench",
            action="system.update",
            object_type="systems",
            object_id=str(i % 97),
            before="a" * 64,
            after="b" * 64,
            payload={"changed": ["lifecycle_stage"], "i": i},
            signer=store.signer,
            checkpoint_every=store.checkpoint_every,
        )


def appends_per_second(append: Callable[[int], None], count: int, repeat: int) -> tuple[float, list[float], float]:
    """The median rate over ``repeat`` runs of ``count`` appends, every rate, and the median CPU time per append (µs)
    of this process: wall time above it is time spent waiting for the disk (fsync) or for a busy CPU."""
    for i in range(100):  # warm-up: connections, statement caches
        append(-1 - i)
    rates, cpu = [], []
    for r in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        for i in range(count):
            append(r * count + i)
        rates.append(count / (time.perf_counter() - start))
        cpu.append((time.process_time() - start_cpu) / count * 1e6)
    return statistics.median(rates), rates, statistics.median(cpu)


def store_at(url: str, checkpoint_every: int, synchronous: str | None = None) -> Store:
    engine = make_engine(url)
    if synchronous is not None:  # runs after Assay's own connect pragmas
        event.listen(engine, "connect", lambda dbapi, _: dbapi.execute(f"PRAGMA synchronous={synchronous}"))
    upgrade(engine)
    return Store(url, engine=engine, signer=generate_signing_key(), checkpoint_every=checkpoint_every)


def bench_appends(
    args: argparse.Namespace, work: Path, pg_url: str | None
) -> list[tuple[str, tuple[float, list[float], float]]]:
    rows = []
    for label, synchronous in (
        ("SQLite, synchronous=FULL (as shipped)", None),
        ("SQLite, synchronous=NORMAL", "NORMAL"),
    ):
        path = work / f"appends-{synchronous or 'full'}.db"
        store = store_at(sqlite_url(path), args.checkpoint_every, synchronous)
        with store.engine.connect() as connection:
            shown = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        measured = appends_per_second(lambda i, s=store: _append_once(s, i), args.appends, args.repeat)
        rows.append((f"{label} [PRAGMA synchronous={shown}]", measured))
        store.dispose()
    settings = load_settings(actor="bench", workspace=None, checkpoint_every=args.checkpoint_every)
    with Workspace.init(work / "service-ws", settings) as ws:
        measured = appends_per_second(lambda i: ws.systems.create({"name": f"s{i + 1000}"}), args.appends, args.repeat)
        rows.append(("SQLite FULL, through a service (systems.create: insert + event)", measured))
    if pg_url is not None:
        store = store_at(pg_url, args.checkpoint_every)
        with store.engine.connect() as connection:
            fsync = connection.exec_driver_sql("SHOW fsync").scalar()
            sync = connection.exec_driver_sql("SHOW synchronous_commit").scalar()
        measured = appends_per_second(lambda i: _append_once(store, i), args.appends, args.repeat)
        rows.append((f"PostgreSQL, fsync={fsync}, synchronous_commit={sync}", measured))
        store.dispose()
    return rows


# -- verification of a large ledger ----------------------------------------------------------------------------


def _actor(i: int) -> str:
    return ("alice", "bob", "carol", "dave", "erin")[i % 5]


def fill(store: Store, events: int, checkpoint_every: int) -> float:
    """Insert ``events`` chained events (and their checkpoints) in one transaction; returns seconds taken."""
    assert store.signer is not None
    start = time.perf_counter()
    previous = None
    with store.engine.begin() as connection:
        batch: list[dict[str, Any]] = []
        checkpoints: list[dict[str, Any]] = []
        for i in range(1, events + 1):
            previous = append_event(
                previous,
                time=f"2026-11-26T10:{i // 60_000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1_000_000:06d}Z",
                actor=_actor(i),
                action=("system.update", "risk.update", "evidence.link", "approval.approve")[i % 4],
                object_type=("systems", "risks", "evidence", "approval_requests")[i % 4],
                object_id=str(i % 977),
                before=f"{i - 1:064x}",
                after=f"{i:064x}",
                payload={"changed": ["lifecycle_stage", "owner"], "comment": f"change {i} ✓"},
            )
            batch.append(
                {
                    **previous.content(),
                    "payload": canonical_json(dict(previous.payload)).decode(),
                    "hash": previous.hash,
                }
            )
            if i % checkpoint_every == 0:
                signed = sign_checkpoint(previous, previous.time, store.signer)
                checkpoints.append(asdict(signed))
            if len(batch) == _BATCH:
                connection.execute(insert(AuditEvent), batch)
                batch = []
        if batch:
            connection.execute(insert(AuditEvent), batch)
        if checkpoints:
            connection.execute(insert(AuditCheckpoint), checkpoints)
    return time.perf_counter() - start


def bench_export(store: Store, folder: Path) -> tuple[float, float, Any]:
    """``assay audit export`` (without the checkpoint it signs first) and the offline verification of the folder."""
    start = time.perf_counter()
    with store.engine.connect() as connection:
        checkpoints = audit.list_checkpoints(connection)
        write_export(folder, audit.iter_events(connection), checkpoints)
    exported = time.perf_counter() - start
    start = time.perf_counter()
    result = verify_export(folder, store.public_key)
    return exported, time.perf_counter() - start, result


def bench_verify(args: argparse.Namespace, work: Path, pg_url: str | None) -> list[tuple[str, float, float, Any]]:
    targets = [("SQLite", sqlite_url(work / "verify.db"))]
    if pg_url is not None and not args.no_postgres_verify:
        targets.append(("PostgreSQL", pg_url.rsplit("/", 1)[0] + "/verify"))
        admin = make_engine(pg_url)
        with admin.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
            connection.exec_driver_sql("CREATE DATABASE verify")
        admin.dispose()
    rows = []
    for name, url in targets:
        store = store_at(url, args.checkpoint_every)
        built = fill(store, args.verify_events, args.checkpoint_every)
        store.dispose()
        store = Store(url, engine=make_engine(url), public_key=store.public_key)  # a fresh process' view
        start = time.perf_counter()
        result = store.verify()
        seconds = time.perf_counter() - start
        assert result.ok and result.events == args.verify_events, result
        rows.append((f"{name}: Store.verify() (`assay audit verify`)", built, seconds, result))
        if name == "SQLite" and not args.no_export:
            exported, verified, offline = bench_export(store, work / "export")
            assert offline.ok and offline.events == args.verify_events, offline
            rows.append(("SQLite: export written (`assay audit export`)", 0.0, exported, offline))
            rows.append(("the export verified offline (`assay audit verify --export`)", 0.0, verified, offline))
        store.dispose()
    return rows


# -- report ------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=2000, help="appends per timed run (default 2000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the median is reported (default 5)")
    parser.add_argument("--verify-events", type=int, default=1_000_000, help="events to verify (default 1M)")
    parser.add_argument("--checkpoint-every", type=int, default=100, help="as ASSAY_CHECKPOINT_EVERY (default 100)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-postgres-verify", action="store_true", help="do not verify the large ledger on PG")
    parser.add_argument("--no-export", action="store_true", help="do not time the export and its offline verify")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the databases (default: a temp dir)")
    args = parser.parse_args(argv)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="assay-ledger-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; databases in {work}")
    with postgres_server() if not args.no_postgres else _nothing() as pg_url:
        if pg_url is None and not args.no_postgres:
            print("PostgreSQL is not installed: SQLite only")
        appends = bench_appends(args, work, pg_url)
        print(f"\nDurable appends ({args.appends} per run, median of {args.repeat}; one transaction each):\n")
        print("| Database | Appends/s (median) | Runs | CPU µs per append |")
        print("|---|---:|---|---:|")
        for label, (median, rates, cpu) in appends:
            print(f"| {label} | {median:,.0f} | {', '.join(f'{r:,.0f}' for r in rates)} | {cpu:.0f} |")
        verified = bench_verify(args, work, pg_url)
    print(f"\nVerification of {args.verify_events:,} events, a checkpoint every {args.checkpoint_every}:\n")
    print("| What | Build + bulk insert s | Time s | Events/s | Checkpoints |")
    print("|---|---:|---:|---:|---:|")
    for name, built, seconds, result in verified:
        made = f"{built:.1f}" if built else "–"
        print(f"| {name} | {made} | {seconds:.2f} | {result.events / seconds:,.0f} | {result.checkpoints:,} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process over the whole run: {peak:,.0f} MiB")
    sqlite_appends = appends[0][1][0]
    sqlite_verify = verified[0][2] * 1_000_000 / args.verify_events
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"targets: >= {TARGET_APPENDS_PER_SECOND:,} durable appends/s on SQLite: {sqlite_appends:,.0f} "
        f"({'met' if sqlite_appends >= TARGET_APPENDS_PER_SECOND else 'MISSED'}); 1M events verified in < "
        f"{TARGET_VERIFY_SECONDS:.0f} s: {sqlite_verify:.1f} s per 1M "
        f"({'met' if sqlite_verify < TARGET_VERIFY_SECONDS else 'MISSED'})"
    )
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    sys.exit(main())
