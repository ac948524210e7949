"""A minimal OpenAI-compatible chat server for the evaluation harness's tests: a real HTTP server (``http.server`` in
a thread) answering ``POST /v1/chat/completions`` with ``answer(request) -> str`` (the request's JSON body), with
``usage`` counted in words. Temporary: the proxy's ``tests/support/openai_server.py`` (streaming included) replaces
it once merged."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["OpenAIStub"]


def last_user(request: dict[str, Any]) -> str:
    """The content of the last user message of a chat request."""
    return str(next(m["content"] for m in reversed(request["messages"]) if m["role"] == "user"))


class OpenAIStub:
    """Serves ``answer(request) -> str`` on 127.0.0.1 while used as a context manager (``url`` is the API's base,
    ``.../v1``). ``requests`` keeps each request's body and headers; ``fail_next`` holds statuses answered (with an
    OpenAI-shaped error) before answering properly; ``fail_when(request) -> status | None`` fails chosen requests
    every time; ``delay`` seconds are slept before each answer."""

    def __init__(self, answer: Callable[[dict[str, Any]], str]) -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_next: list[int] = []
        self.fail_when: Callable[[dict[str, Any]], int | None] = lambda request: None
        self.delay = 0.0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with owner._lock:
                    owner.requests.append(body)
                    owner.headers.append(dict(self.headers.items()))
                    failing = owner.fail_next.pop(0) if owner.fail_next else None
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                failing = failing or owner.fail_when(body)
                if failing is not None:
                    self._send(failing, {"error": {"message": "scripted failure", "type": "server_error"}})
                    return
                time.sleep(owner.delay)
                text = owner.answer(body)
                prompt_words = sum(len(str(m["content"]).split()) for m in body["messages"])
                self._send(200, {
                    "id": "chatcmpl-stub", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": prompt_words, "completion_tokens": len(text.split()),
                              "total_tokens": prompt_words + len(text.split())},
                })  # fmt: skip

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def __enter__(self) -> OpenAIStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
