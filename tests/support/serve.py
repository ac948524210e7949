"""`assay serve` started as users start it, for the tests that need a real server process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:PORT
    port: int
    process: subprocess.Popen[bytes]


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def app_thread(workspace: Any) -> Iterator[str]:
    """The app over ``workspace`` served by uvicorn in a thread of this process on a free loopback port (plain
    HTTP); yields its base URL once it answers, and stops it after."""
    import threading

    import uvicorn

    from assay.server import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(workspace, secure_cookies=False), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def assay_serve(
    folder: Path, log: Path, env: Mapping[str, str] | None = None, *, port: int | None = None
) -> Iterator[Served]:
    """`assay -w FOLDER serve` on a free port of 127.0.0.1, or ``port`` (output to ``log``; ``env``: the whole
    environment, default this process's); yields once ``/api/health`` answers, and stops the server after."""
    if port is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    assay = shutil.which("assay", path=str(Path(sys.executable).parent)) or "assay"
    command = [assay, "-w", str(folder), "serve", "--host", "127.0.0.1", "--port", str(port), "--insecure-cookies"]
    environment = {**(os.environ if env is None else env), "NO_COLOR": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield Served(base, port, process)
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)
