"""Login: the password check (rate limited per user name and client address, and refused from another site's
pages), the session cookie, and ``POST /api/login``. The web page's form (ui.py) uses the same ``login_response``."""

from __future__ import annotations

import threading
import time
from collections import deque
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from assay.errors import PermissionDenied
from assay.server import schemas as out
from assay.server.deps import SESSION_COOKIE, Unauthenticated, error_body
from assay.services.workspace import Workspace

__all__ = ["LoginLimiter", "login_response", "router"]

router = APIRouter(prefix="/api")


class LoginLimiter:
    """Failed logins in a sliding window of ``window`` seconds: at most ``attempts`` per (user name, client
    address), and at most ``per_address`` per client address whatever the names. An attacker at one address who
    hammers alice's name blocks only that address; alice logs in from hers. Refused attempts do not count (the
    block ends ``window`` seconds after the failures that caused it), and a success clears only its own (name,
    address) count, never the address's: logging in to one's own account does not reset a password spray."""

    def __init__(self, attempts: int = 5, window: float = 300.0, *, per_address: int = 20) -> None:
        self.attempts, self.window, self.per_address = attempts, window, per_address
        self._failures: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    def _count(self, key: tuple[str, ...], now: float) -> int:
        failures = self._failures.get(key)
        while failures and failures[0] < now - self.window:
            failures.popleft()
        if failures is not None and not failures:
            del self._failures[key]
            return 0
        return 0 if failures is None else len(failures)

    def blocked(self, name: str, address: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return (
                self._count((name, address), now) >= self.attempts or self._count((address,), now) >= self.per_address
            )

    def failed(self, name: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 100_000:  # bounded memory: forget whatever left the window
                for key in list(self._failures):
                    self._count(key, now)
            for key in ((name, address), (address,)):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            self._failures.pop((name, address), None)


def _check_origin(request: Request) -> None:
    """Login CSRF (OWASP): a login POST whose Origin (or, without one, Referer) is another site, or ``null``, is
    refused. With neither header the request is not a browser's cross-site form or fetch (browsers send Origin on
    every cross-site POST), so it is accepted: the command line, scripts and CI log in that way."""
    origin = request.headers.get("origin")
    source = origin if origin is not None else request.headers.get("referer")
    if source is None:
        return
    host = request.headers.get("host", "").lower()
    for default in (":80", ":443"):
        host = host.removesuffix(default)
    sent = urlsplit(source.strip()) if source.strip() != "null" else None
    netloc = "" if sent is None else sent.netloc.lower().removesuffix(":443" if sent.scheme == "https" else ":80")
    if sent is None or sent.scheme not in ("http", "https") or netloc != host:
        header = "Origin" if origin is not None else "Referer"
        raise PermissionDenied(
            f"cross-site login refused: the {header} {source[:100]!r} is not this server ({host or 'no Host'})"
        )


def login_response(request: Request, name: str, password: str, *, redirect: str | None = None) -> Response:
    """Check the password (rate limited), start a session, set the cookie; JSON or a redirect."""
    _check_origin(request)
    ws: Workspace = request.app.state.workspace
    limiter: LoginLimiter = request.app.state.login_limiter
    address = request.client.host if request.client else ""
    if limiter.blocked(name, address):
        return error_body("rate_limited", "too many failed logins: wait a few minutes", 429)
    try:
        who = ws.access.login(name, password)
    except PermissionDenied:
        limiter.failed(name, address)
        raise Unauthenticated("wrong user name or password") from None
    limiter.succeeded(name, address)
    secret, csrf = ws.access.start_session(who)
    response: Response
    if redirect is None:
        session = out.LoginSession(name=who.name, role=who.role, csrf_token=csrf)
        response = JSONResponse(session.model_dump())
    else:
        response = Response(status_code=303, headers={"Location": redirect})
    response.set_cookie(
        SESSION_COOKIE, secret, httponly=True, samesite="strict", secure=request.app.state.secure_cookies,
        max_age=12 * 3600, path="/",
    )  # fmt: skip
    return response


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)
    password: str = Field(max_length=1000)


@router.post("/login", tags=["access"], responses={200: {"model": out.LoginSession}})
def login(request: Request, body: LoginBody) -> Response:
    return login_response(request, body.name, body.password)
