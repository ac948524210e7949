"""Real receivers of alert notifications: an HTTP server (http.server in a thread) that checks each webhook's
signature as a receiver would (the verifier of docs/alerts.md), and an SMTP server (aiosmtpd) that keeps the mail."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verify(secret: bytes, body: bytes, signature: str, timestamp: str, seen: set[str], tolerance: int = 300) -> Any:
    """docs/alerts.md's verifier: the signature, then the time and the delivery id the signature covers."""
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise ValueError("bad signature")
    message = json.loads(body)
    if str(message["timestamp"]) != timestamp or abs(time.time() - message["timestamp"]) > tolerance:
        raise ValueError("stale or mismatched timestamp")
    if message["delivery_id"] in seen:
        raise ValueError("replayed delivery")
    seen.add(message["delivery_id"])
    return message


@dataclass
class Hook:
    """What the webhook receiver got: verified messages, refused requests; ``fail_first`` answers 500 that many
    times first."""

    secret: bytes = b""
    fail_first: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    requests: int = 0
    seen: set[str] = field(default_factory=set)
    url: str = ""


@contextmanager
def webhook_receiver(secret: bytes = b"", fail_first: int = 0) -> Iterator[Hook]:
    hook = Hook(secret=secret, fail_first=fail_first)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                hook.requests += 1
                failing = hook.requests <= hook.fail_first
            if failing:
                self.send_response(500)
                self.end_headers()
                return
            try:
                message = verify(
                    hook.secret,
                    body,
                    self.headers.get("X-Assay-Signature", ""),
                    self.headers.get("X-Assay-Timestamp", ""),
                    hook.seen,
                )
            except ValueError as exc:
                hook.refused.append(str(exc))
                self.send_response(401)
                self.end_headers()
                return
            hook.messages.append(message)
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    port: int
    mail: list[tuple[str, list[str], Message]] = field(default_factory=list)  # (sender, recipients, message)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mail.append((envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server on loopback (aiosmtpd, no TLS: ASSAY_SMTP_STARTTLS=false)."""
    from aiosmtpd.controller import Controller

    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
