"""A separate process that appends to a workspace's audit ledger, for the concurrency and crash tests.

::

    python tests/support/ledger_worker.py WORKSPACE PREFIX COUNT [--services] [--wait]

Each append is its own write transaction that creates the AI system ``PREFIX-<i>`` and records its event:
through ``Workspace.systems.create`` with ``--services``, else through ``Store.write`` and
``Transaction.record``. As soon as a transaction has committed, the worker prints the event's sequence number
(or, with ``--services``, the system's name) on its own line and flushes. ``COUNT`` 0 appends until the process is
killed. With ``--wait`` the worker opens the workspace, prints ``ready`` and waits for a line on stdin before it
starts, so that the parent can start several workers at the same moment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assay.config import load_settings
from assay.services.workspace import Workspace
from assay.store.models import System


def _record(ws: Workspace, name: str) -> str:
    with ws.store.write(ws.actor) as tx:
        system = System(
            name=name, lifecycle_stage="inception", eu_ai_act_category="minimal", oversight="human_in_the_loop"
        )
        tx.session.add(system)
        event = tx.record("system.create", system, before=None, payload={"worker": ws.actor})
    return str(event.seq)  # the ``with`` block has committed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("prefix")
    parser.add_argument("count", type=int)
    parser.add_argument("--services", action="store_true")
    parser.add_argument("--wait", action="store_true")
    args = parser.parse_args()
    with Workspace.open(args.workspace, load_settings(actor=args.prefix, workspace=None)) as ws:
        if args.wait:
            print("ready", flush=True)
            sys.stdin.readline()
        i = 0
        while args.count == 0 or i < args.count:
            name = f"{args.prefix}-{i}"
            if args.services:
                ws.systems.create({"name": name})
                print(name, flush=True)
            else:
                print(_record(ws, name), flush=True)
            i += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
