"""A model served over HTTP by a real local server (``http.server`` in a thread), speaking the protocol of Assay's
HTTP adapter (:mod:`assay.adapters._http`): ``POST`` ``{"instances": [{feature: value}, ...]}`` answered by
``{"predictions": [...]}``. It counts what it receives, so a test can compare a client's count with the server's."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pandas as pd

__all__ = ["ModelEndpoint"]


class ModelEndpoint:
    """Serves ``answer(frame) -> list`` (one prediction per row of the request's instances) on 127.0.0.1 while used
    as a context manager. ``batches`` lists the rows of each answered request; ``fail_next`` holds statuses to answer
    (with ``{"error": "busy"}``) before answering properly; ``delay`` seconds are slept before each answer."""

    def __init__(self, answer: Callable[[pd.DataFrame], list[Any]]) -> None:
        self.answer = answer
        self.batches: list[int] = []
        self.fail_next: list[int] = []
        self.delay = 0.0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with owner._lock:
                    failing = owner.fail_next.pop(0) if owner.fail_next else None
                if failing is not None:
                    self._send(failing, {"error": "busy"})
                    return
                time.sleep(owner.delay)
                records = pd.DataFrame(body["instances"])
                with owner._lock:
                    owner.batches.append(len(records))
                self._send(200, {"predictions": owner.answer(records)})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/predict"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def rows(self) -> int:
        """Rows answered so far (the queries the model received)."""
        with self._lock:
            return sum(self.batches)

    def __enter__(self) -> ModelEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
