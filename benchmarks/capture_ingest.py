#!/usr/bin/env python3
"""Capture ingest benchmark: inference records per second into a real ``assay serve`` (issue 14: at least 20,000/s).

    python benchmarks/capture_ingest.py [--records 200000] [--batch 1000] [--threads 4] [--database-url URL]
                                        [--workdir DIR]

1. Makes a workspace (as ``assay init``) with an admin, the AI system ``credit``, model version ``scorer@1`` and a
   capture of 15 fields (6 integers, 6 floats, 2 strings, the prediction; every one required and checked), an
   owner and their ``ingest`` token.
2. Starts ``assay -w WS serve`` (uvicorn, one process, as users start it) on a free loopback port.
3. ``--threads`` client threads, each with one keep-alive HTTP connection, send batches of ``--batch`` records
   (pre-encoded JSON bodies, each with its own batch id) to ``POST /api/systems/credit/models/scorer@1/capture``
   until ``--records`` are acknowledged (200: durable: fsynced Parquet file, manifest and batch answer). A warm-up
   batch is sent first and not counted.
4. Prints records/s (acknowledged records over wall time), the per-batch latency p50/p95, the CPU seconds the server
   used, and checks that the window holds every record once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

FIELDS = (
    [{"name": f"n{i}", "type": "integer", "required": True} for i in range(6)]
    + [{"name": f"x{i}", "type": "float", "required": True} for i in range(6)]
    + [{"name": "segment", "type": "string", "required": True}, {"name": "region", "type": "string", "required": True}]
    + [{"name": "prediction", "type": "integer", "required": True}]
)
PASSWORD = "benchmark password 123"


def seed(folder: Path, database_url: str | None) -> str:
    from assay.config import load_settings
    from assay.services.workspace import Workspace

    ws = Workspace.init(folder, load_settings(actor="bench", workspace=None), database_url=database_url)
    ws.access.add_user("admin", PASSWORD, role="admin")
    admin = ws.login("admin", PASSWORD)
    admin.systems.create({"name": "credit"})
    admin.models.register_version("credit", {"model": "scorer", "version": "1"})
    admin.capture.configure("credit", "scorer@1", fields=FIELDS)
    admin.access.add_user("model-server", PASSWORD)
    admin.access.grant("model-server", "credit", "owner")
    token = admin.access.create_token("model-server", "bench", scope="ingest")[0]
    ws.close()
    return token


def body(batch_id: str, start: int, size: int) -> bytes:
    records = [
        {"inference_id": f"r{i}", **{f"n{k}": i + k for k in range(6)}, **{f"x{k}": i * 0.25 + k for k in range(6)},
         "segment": "abc"[i % 3], "region": f"region-{i % 17}", "prediction": i % 2}
        for i in range(start, start + size)
    ]  # fmt: skip
    return json.dumps({"batch_id": batch_id, "records": records}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    options = parser.parse_args()
    work = options.workdir or Path(tempfile.mkdtemp(prefix="assay-capture-bench-"))
    folder = work / "ws"
    token = seed(folder, options.database_url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assay = shutil.which("assay", path=str(Path(sys.executable).parent)) or "assay"
    environment = {**os.environ, "ASSAY_WORKERS": "0", "NO_COLOR": "1"}
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen(
        [assay, "-w", str(folder), "serve", "--host", "127.0.0.1", "--port", str(port), "--insecure-cookies"],
        stdout=log, stderr=subprocess.STDOUT, env=environment,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit((work / "serve.log").read_text())
            time.sleep(0.2)
        path = "/api/systems/credit/models/scorer@1/capture"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        batches = options.records // options.batch
        bodies = [body(f"b{n}", n * options.batch, options.batch) for n in range(batches)]
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        warm.request("POST", path, body=body("warm-up", 10**9, options.batch), headers=headers)
        assert warm.getresponse().read() and True
        warm.close()
        latencies: list[float] = []
        errors: list[str] = []
        next_batch = iter(range(batches))
        lock = threading.Lock()

        def send() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            while True:
                with lock:
                    number = next(next_batch, None)
                if number is None:
                    break
                began = time.perf_counter()
                connection.request("POST", path, body=bodies[number], headers=headers)
                response = connection.getresponse()
                text = response.read()
                with lock:
                    latencies.append(time.perf_counter() - began)
                    if response.status != 200:
                        errors.append(f"{response.status} {text[:200]!r}")
            connection.close()

        cpu_before = _cpu(server.pid)
        started = time.perf_counter()
        threads = [threading.Thread(target=send) for _ in range(options.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        cpu = _cpu(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    sent = batches * options.batch
    print(f"records: {sent} in {batches} batches of {options.batch}, {options.threads} client threads, errors: "
          f"{len(errors)} {errors[:2]}")  # fmt: skip
    print(f"wall: {wall:.2f} s  ->  {sent / wall:,.0f} records/s")
    ordered = sorted(latencies)
    print(f"batch latency p50 {statistics.median(ordered) * 1000:.0f} ms, p95 "
          f"{ordered[int(0.95 * (len(ordered) - 1))] * 1000:.0f} ms; server CPU {cpu:.1f} s "
          f"({cpu / sent * 1e6:.1f} us per record); load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"stored: {_count(folder)} records in the window (expected {sent + options.batch}, warm-up included)")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _count(folder: Path) -> int:
    from assay.services.workspace import Workspace

    now = dt.datetime.now(dt.UTC)
    with Workspace.open(folder) as ws, ws.capture.window("credit", "scorer@1", now - dt.timedelta(hours=2), now) as w:
        frame: Any = w.frame.lazy
        return int(frame.select("inference_id").collect().shape[0])


if __name__ == "__main__":
    main()
