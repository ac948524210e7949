"""The server: ``create_app(workspace)`` builds the FastAPI application (no import-time state).

Errors: one body shape, ``{"error": {"type": ..., "message": ...}}``, mapped from Assay's exception tree here
and only here. Security headers on every response (a CSP without inline script, ``frame-ancestors 'none'``,
nosniff, no referrer). Login attempts are rate limited per user name and client address.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from assay._version import __version__
from assay.errors import AssayError, Conflict, IntegrityViolation, InvalidInput, NotFound, PermissionDenied
from assay.server.deps import SESSION_COOKIE, Unauthenticated
from assay.services.workspace import Workspace

__all__ = ["create_app", "login_response"]

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
_STATUS: Final[tuple[tuple[type[AssayError], int, str], ...]] = (
    (Unauthenticated, 401, "unauthenticated"),
    (InvalidInput, 422, "invalid_input"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (PermissionDenied, 403, "forbidden"),
    (IntegrityViolation, 500, "integrity_violation"),
)


def error_body(kind: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


class LoginLimiter:
    """At most ``attempts`` failed logins per (user name, client address) in ``window`` seconds."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] < now - self.window:
            failures.popleft()
        return failures

    def blocked(self, key: tuple[str, str]) -> bool:
        with self._lock:
            return len(self._recent(key, time.monotonic())) >= self.attempts

    def failed(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._recent(key, time.monotonic()).append(time.monotonic())

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)


def login_response(request: Request, name: str, password: str, *, redirect: str | None = None) -> Response:
    """Check the password (rate limited), start a session, set the cookie; JSON or a redirect."""
    ws: Workspace = request.app.state.workspace
    limiter: LoginLimiter = request.app.state.login_limiter
    key = (name, request.client.host if request.client else "")
    if limiter.blocked(key):
        return error_body("rate_limited", "too many failed logins: wait a few minutes", 429)
    try:
        who = ws.access.login(name, password)
    except PermissionDenied:
        limiter.failed(key)
        raise Unauthenticated("wrong user name or password") from None
    limiter.succeeded(key)
    secret, csrf = ws.access.start_session(who)
    response: Response
    if redirect is None:
        response = JSONResponse({"name": who.name, "role": who.role, "csrf_token": csrf})
    else:
        response = Response(status_code=303, headers={"Location": redirect})
    response.set_cookie(
        SESSION_COOKIE, secret, httponly=True, samesite="strict", secure=request.app.state.secure_cookies,
        max_age=12 * 3600, path="/",
    )  # fmt: skip
    return response


_ERROR_SCHEMA: Final = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def _openapi(app: FastAPI) -> dict[str, object]:
    """FastAPI's schema, with the bearer-token scheme and Assay's one error body for 422 and errors."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
    components.setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
    error = {
        "description": "Error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = error
            if path not in ("/api/health", "/api/login"):
                operation["security"] = [{"bearer": []}]
                for status in ("401", "403"):
                    responses.setdefault(status, error)
    app.openapi_schema = schema
    return schema


def create_app(workspace: Workspace, *, secure_cookies: bool = True, trust_pickle: bool = False) -> FastAPI:
    """The application over ``workspace``; ``secure_cookies=False`` only for plain-HTTP tests on loopback.
    ``trust_pickle`` lets the compute routes load registered joblib/pickle model files, which run any code they
    hold: only when the operator trusts everyone who can register a model version."""
    from assay.server.api import router
    from assay.server.ui import router as ui_router
    from assay.server.ui import static_files

    app = FastAPI(
        title="Assay",
        version=__version__,
        description="Assay's REST API: the same services as the command line. Authenticate with "
        "'Authorization: Bearer <token>' (assay token create) or a session cookie with the X-CSRF-Token header.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.workspace = workspace
    app.state.login_limiter = LoginLimiter()
    app.state.secure_cookies = secure_cookies
    app.state.trust_pickle = trust_pickle

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for header, value in SECURITY_HEADERS.items():
            if request.url.path.startswith("/api/docs") and header == "Content-Security-Policy":
                continue  # Swagger UI needs its own inline script; the API docs page serves no data
            response.headers.setdefault(header, value)
        return response

    @app.exception_handler(AssayError)
    async def assay_error(request: Request, exc: AssayError) -> Response:
        if isinstance(exc, Unauthenticated) and not request.url.path.startswith("/api/"):
            return RedirectResponse("/login", status_code=303)  # a web page without a session: log in
        for kind, status, name in _STATUS:
            if isinstance(exc, kind):
                return error_body(name, str(exc), status)
        return error_body("error", str(exc), 400)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            problems.append(f"{where}: {error.get('msg')}")
        return error_body("invalid_input", "; ".join(problems), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {400: "invalid_input", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "too_large"}  # fmt: skip
        return error_body(kinds.get(exc.status_code, "error"), str(exc.detail), exc.status_code)

    @app.exception_handler(json.JSONDecodeError)
    async def bad_json(request: Request, exc: json.JSONDecodeError) -> JSONResponse:
        return error_body("invalid_input", f"the body is not valid JSON: {exc}", 422)

    app.include_router(router)
    app.include_router(ui_router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.mount("/static", static_files(), name="static")
    return app
