"""The person's own queries at the issue's scale: 50 systems, 2,000 risks (some due for review, some owned by the
person), 1,000 evidence items and 100,000 audit events (risk updates by others, a share of them on the person's
systems). Times, for a member who owns 5 systems and approves 5 others, the task list (``ws.tasks()``), the unread
count and the first page of notifications (``ws.notifications``, never marked read: the whole ledger is unread), and
a search (``ws.search``); and the same for stan, concerned by nothing, whose queries walk the whole ledger. Each the
median of 5 calls after one warm-up, on SQLite (or ``--database-url``).

Run: ``PYTHONPATH=src python benchmarks/tasks_queries.py [--events 100000] [--database-url postgresql+psycopg://...]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assay.config import load_settings
from assay.services.workspace import Workspace
from assay.store.models import Evidence, Risk, System

PASSWORD = "a password long enough"


def _median_ms(call: Callable[[], Any], runs: int = 5) -> tuple[float, Any]:
    result = call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def build(root: Path, events: int, database_url: str | None) -> tuple[Workspace, Workspace]:
    ws = Workspace.init(root, load_settings(actor="setup", workspace=None), database_url=database_url)
    ws.access.add_user("admin", PASSWORD, role="admin")
    admin = ws.login("admin", PASSWORD)
    admin.access.add_user("olga", PASSWORD)
    admin.access.add_user("stan", PASSWORD)  # concerned by nothing: his queries walk the whole ledger
    today = dt.date.today()
    with ws.store.write("setup") as tx:  # the records as a bulk load (the events below are the ledger's load)
        for s in range(50):
            system = System(name=f"s{s:02}", purpose=f"system number {s}", lifecycle_stage="operation",
                            eu_ai_act_category="limited", oversight="human-on-the-loop")  # fmt: skip
            tx.session.add(system)
            tx.session.flush()
            tx.record("system.create", system, before=None)
            for r in range(40):
                risk = Risk(system_id=system.id, title=f"risk {r} of s{s:02}", source="model", likelihood=2, impact=3,
                            level="medium", treatment="mitigate", owner="olga" if r % 10 == 0 else "",
                            review_date=today + dt.timedelta(days=r - 10))  # fmt: skip
                tx.session.add(risk)
                tx.session.flush()
                tx.record("risk.create", risk, before=None)
            for e in range(20):
                evidence = Evidence(system_id=system.id, framework="iso42001", control_id=f"A.{e % 9 + 2}.2",
                                    kind="url", url=f"https://wiki.example.org/{s}/{e}", description="a test plan",
                                    valid_from=today, valid_until=today + dt.timedelta(days=e * 5),
                                    created_by="setup")  # fmt: skip
                tx.session.add(evidence)
                tx.session.flush()
                tx.record("evidence.add", evidence, before=None)
    for s in range(10):
        admin.access.grant("olga", f"s{s:02}", "owner" if s < 5 else "approver")
    with ws.store.read() as session:
        risks = list(session.query(Risk).order_by(Risk.id).limit(2000))
    done = 0
    while done < events:  # risk updates by someone else, in transactions of 1,000
        with ws.store.write("bob") as tx:
            for n in range(min(1000, events - done)):
                risk = risks[(done + n) % len(risks)]
                tx.record("risk.update", risk, before=risk.state(), payload={"changed": ["likelihood"]})
        done += 1000
    return ws.login("olga", PASSWORD), ws.login("stan", PASSWORD)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        olga, stan = build(Path(folder) / "ws", args.events, args.database_url)
        print(f"built in {time.perf_counter() - start:.0f} s; ledger head {olga.audit.head_seq():,}")
        for name, call in (
            ("tasks", lambda: olga.tasks()),
            ("notifications.unread", lambda: olga.notifications.unread()),
            ("notifications.list (page 1 of 50)", lambda: olga.notifications.list()),
            ("search 'risk 1'", lambda: olga.search("risk 1")),
            ("stan: tasks", lambda: stan.tasks()),
            ("stan: notifications.unread", lambda: stan.notifications.unread()),
            ("stan: notifications.list", lambda: stan.notifications.list()),
        ):
            ms, result = _median_ms(call)
            size = len(result) if isinstance(result, list) else result if isinstance(result, int) else ""
            print(f"{name:40} {ms:8.1f} ms  {size}")


if __name__ == "__main__":
    main()
