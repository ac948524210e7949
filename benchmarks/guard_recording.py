"""Recording guardrail decisions (``ws.genai.guard.record``): what a caller waits for, and how fast the background
writer seals decisions into batches. ``--threads`` callers each record ``--decisions`` decisions of a policy with no
checks (the cost measured is the recording's, not a check's) on a new SQLite workspace (or ``--database-url``).
Prints record()'s p50/p95/p99 in microseconds, the decisions written per second until the last batch committed, the
batches, and the time ``verify()`` takes to recompute every batch.

Run: ``PYTHONPATH=src python benchmarks/guard_recording.py [--threads 8] [--decisions 5000] [--database-url URL]``
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from assay.config import load_settings
from assay.services.workspace import Workspace

POLICY = "schema: assay.guardrail/1\nname: bench\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--decisions", type=int, default=5000, help="per thread")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ws = Workspace.init(Path(folder) / "ws", load_settings(actor="bench", workspace=None),
                            database_url=args.database_url)  # fmt: skip
        ws.genai.guard.add_policy(POLICY)
        result = ws.genai.guard.guardrail("bench").apply("INPUT", "x" * 1000)
        waits: list[float] = []
        lock = threading.Lock()

        def caller() -> None:
            guard, mine = ws.genai.guard, []
            for _ in range(args.decisions):
                started = time.perf_counter()
                guard.record(result, channel="proxy")
                mine.append(time.perf_counter() - started)
            with lock:
                waits.extend(mine)

        started = time.perf_counter()
        threads = [threading.Thread(target=caller) for _ in range(args.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        while ws.genai.guard.pending():
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        waits.sort()
        total = len(waits)
        stats = ws.genai.guard.stats()
        checked = time.perf_counter()
        verification = ws.genai.guard.verify()
        verify_s = time.perf_counter() - checked
        print(f"database: {ws.store.engine.dialect.name}; {args.threads} threads x {args.decisions} decisions")
        print("record() us: p50 {:.1f}  p95 {:.1f}  p99 {:.1f}".format(
            *(waits[int(total * q)] * 1e6 for q in (0.5, 0.95, 0.99))))  # fmt: skip
        print(f"written: {stats['decisions']} in {elapsed:.2f} s = {stats['decisions'] / elapsed:,.0f} decisions/s; "
              f"{verification.batches} batches; verify {verify_s:.2f} s, ok={verification.ok}")  # fmt: skip
        ws.close()


if __name__ == "__main__":
    main()
