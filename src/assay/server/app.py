"""The server: ``create_app(workspace)`` builds the FastAPI application (no import-time state).

Errors: one body shape, ``{"error": {"type": ..., "message": ...}}``, mapped from Assay's exception tree here
and only here. Security headers on every response, errors included (a CSP without inline script,
``frame-ancestors 'none'``, nosniff, ``Cache-Control: no-store``). Request bodies are limited before the
application reads them. Login attempts are rate limited per user name and client address and per client address,
and refused from another site's pages.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay._version import __version__
from assay.errors import AssayError, Conflict, IntegrityViolation, InvalidInput, NotFound, PermissionDenied
from assay.server import (
    aims_audit,
    aims_org,
    aims_pack,
    aims_perf,
    alerts,
    api,
    capture,
    compute,
    contests,
    feedback,
    genai_ip,
    guard,
    jobs,
    login,
    metrics,
    monitors,
    oversight,
    pages_admin,
    pages_approvals,
    pages_compute,
    pages_controls,
    pages_docs,
    pages_risks,
    pages_systems,
    pages_tasks,
    review,
    ui,
    uploads,
    web,
)
from assay.server.deps import Unauthenticated, error_body, page_user
from assay.server.login import LoginLimiter
from assay.services.workspace import Workspace

#: Every router the app serves (the permission table must cover each of their routes: tests/server/test_server.py).
ROUTERS: Final = tuple(
    module.router
    for module in (
        capture,  # first: the deployed services' calls (capture, "does this need review?") are matched the most,
        review,  # and Starlette tries the routes in order
        api,
        login,
        uploads,
        compute,
        jobs,
        monitors,
        alerts,
        contests,
        metrics,
        oversight,
        feedback,
        genai_ip,  # before the guardrail policies' /api/guardrails/{policy}: /api/guardrails/corpora is its own
        guard,
        aims_pack,
        aims_perf,
        aims_org,
        aims_audit,
        ui,
        pages_risks,
        pages_controls,
        pages_admin,
        pages_systems,
        pages_compute,
        pages_tasks,
        pages_approvals,
        pages_docs,
    )
)

__all__ = ["ROUTERS", "UPLOAD_ROUTES", "create_app"]

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: a browser sends "Origin: null" on a form POST under no-referrer, and the login
    # form's Origin must be checkable; other sites still get no referrer
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# The routes that take a file: they get the upload limit and are the only ones that accept a multipart body.
UPLOAD_ROUTES: Final = frozenset({("POST", "/api/artifacts")})
# the page forms that take a file, by their path: a model version's file, a dataset's (server/pages_systems.py), a
# piece of evidence (server/pages_controls.py)
UPLOAD_PAGES: Final = re.compile(r"^/systems/[^/]+/(?:models|datasets|evidence)$")


def is_upload(method: str, path: str) -> bool:
    """Whether a request is one of the uploads (the only ones that take a multipart body, with the upload limit)."""
    return (method, path) in UPLOAD_ROUTES or (method == "POST" and UPLOAD_PAGES.match(path) is not None)


_MIB: Final = 1024 * 1024
_STATUS: Final[tuple[tuple[type[AssayError], int, str], ...]] = (
    (Unauthenticated, 401, "unauthenticated"),
    (InvalidInput, 422, "invalid_input"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (PermissionDenied, 403, "forbidden"),
    (IntegrityViolation, 500, "integrity_violation"),
)


def _add_security_headers(headers: MutableHeaders, path: str) -> None:
    for header, value in SECURITY_HEADERS.items():
        if path.startswith("/api/docs") and header == "Content-Security-Policy":
            continue  # Swagger UI needs its own inline script; the API docs page serves no data
        headers.setdefault(header, value)
    if not path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")  # pages carry CSRF tokens and governed data


class SecurityHeaders:
    """Pure ASGI: the security headers on every response that passes, whatever made it (a route, an exception
    handler, the router's 404 and 405, the body limit's 413)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                _add_security_headers(MutableHeaders(scope=message), scope["path"])
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(StarletteHTTPException):
    """A request body over its limit (an HTTPException, so that FastAPI's body reading passes it on as it is)."""

    def __init__(self, message: str) -> None:
        super().__init__(status_code=413, detail=message)


class BodyLimit:
    """Pure ASGI, before the application reads a byte: a body declared (Content-Length) over its limit is refused
    at once with 413; a streamed (chunked) body is cut off with 413 as soon as it passes the limit; a multipart body
    is refused (415) except by the upload routes. Uploads get ``max_upload`` bytes, every other request
    ``max_body``."""

    def __init__(self, app: ASGIApp, *, max_upload: int, max_body: int) -> None:
        self.app, self.max_upload, self.max_body = app, max_upload, max_body

    def _limit(self, scope: Scope) -> tuple[int, str]:
        if is_upload(scope["method"], scope["path"]):
            return self.max_upload, f"the upload limit of {self.max_upload // _MIB} MiB (ASSAY_MAX_UPLOAD_MB)"
        return self.max_body, f"the request body limit of {self.max_body // _MIB} MiB (ASSAY_MAX_BODY_MB)"

    @staticmethod
    def _refusal(scope: Scope, limit: int, named: str) -> JSONResponse | None:
        """The answer to a request refused on its headers alone, or None."""
        headers = Headers(scope=scope)
        upload = is_upload(scope["method"], scope["path"])
        if not upload and headers.get("content-type", "").strip().lower().startswith("multipart/"):
            return error_body(
                "unsupported_media_type",
                "only the uploads (POST /api/artifacts, a model's, a dataset's or a piece of evidence's file) take a "
                "multipart body: send JSON or a form",
                415,
            )
        declared = headers.get("content-length")
        if declared is None:
            return None
        if not declared.strip().isdigit():
            return error_body("invalid_input", f"Content-Length {declared[:30]!r} is not a number of bytes", 400)
        if int(declared) > limit:
            return error_body("too_large", f"the request body ({int(declared)} bytes) is over {named}", 413)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, named = self._limit(scope)
        refusal = self._refusal(scope, limit, named)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        received = 0

        async def receive_with_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(f"the request body is over {named}")
            return message

        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_with_limit, send_tracking)
        except BodyTooLarge as exc:  # raised where no exception handler turned it into a response
            if started:
                raise
            await error_body("too_large", exc.detail, 413)(scope, receive, send)


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
            for status in ("404", "409"):  # not found (or not visible to you), conflicts with stored data
                responses.setdefault(status, error)
            if path not in ("/api/health", "/api/login"):
                operation["security"] = [{"bearer": []}]
                for status in ("401", "403"):
                    responses.setdefault(status, error)
    app.openapi_schema = schema
    return schema


@asynccontextmanager
async def _workers(app: FastAPI) -> AsyncIterator[None]:
    """The job workers of the server (ASSAY_WORKERS threads; 0: none), started and stopped with it: in a child
    ``assay worker`` process when the app was made with ``worker_process=True`` (``assay serve``), else in this
    process. At shutdown a running job is asked to stop and, if still running after the grace, marked failed."""
    from assay.services import jobs
    from assay.services.worker import WorkerPool, WorkerProcess

    workspace = app.state.workspace
    if isinstance(workspace, Workspace):
        # the job kinds (and what they import) load now, not in the first request that queues a job: the first held
        # prediction of the review queue would otherwise wait a second for it
        await asyncio.to_thread(jobs.known_kinds)
    if getattr(app.state, "freeze_gc", False):
        # what is loaded now lives as long as the server: keep the garbage collector from walking it on every full
        # collection (gc.freeze, as servers that fork or preload do)
        gc.collect()
        gc.freeze()
    warmer = None
    if getattr(app.state, "warm", False) and isinstance(workspace, Workspace):
        from assay.server import warm

        warmer = app.state.warmer = warm.Warmer(app).start()  # what the first views share (server/warm.py)
    trust = bool(getattr(app.state, "trust_pickle", False))
    serve = isinstance(workspace, Workspace) and workspace.settings.workers > 0
    kind = WorkerProcess if app.state.worker_process else WorkerPool
    pool = kind(workspace, trust_pickle=trust) if serve else None
    if pool is not None:
        pool.start()
    try:
        yield
    finally:
        if warmer is not None:
            warmer.stop()  # it reads the workspace, which its owner closes once the app has stopped
        if pool is not None:
            pool.stop()
        recorder = sys.modules.get("assay.services.genai.guard")  # loaded only when guardrails were applied
        if recorder is not None and isinstance(workspace, Workspace):
            recorder.close_recorder(workspace.store)  # write the guardrail decisions still buffered


def create_app(
    workspace: Workspace,
    *,
    secure_cookies: bool = True,
    trust_pickle: bool = False,
    worker_process: bool = False,
    freeze_gc: bool = False,
    warm: bool = False,
) -> FastAPI:
    """The application over ``workspace``; ``secure_cookies=False`` only for plain-HTTP tests on loopback.
    ``trust_pickle`` lets the compute routes load registered joblib/pickle model files, which run any code they
    hold: only when the operator trusts everyone who can register a model version. ``worker_process``: run the job
    workers in a child ``assay worker`` process (``assay serve``, ASSAY_WORKER_PROCESS) instead of threads here.
    ``freeze_gc``: once started, keep the garbage collector from walking what is loaded (``assay serve``, a process
    that is only the server; never in a process that also does other work, whose later garbage it would keep).
    ``warm``: once started, build what the first views share in the background (``assay serve``; server/warm.py)."""
    from assay.config import load_settings

    app = FastAPI(
        title="Assay",
        version=__version__,
        description="Assay's REST API: the same services as the command line. Authenticate with "
        "'Authorization: Bearer <token>' (assay token create) or a session cookie with the X-CSRF-Token header.",
        docs_url=None,  # served by _api_docs from files shipped with Assay (FastAPI's own page loads a CDN)
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_workers,
    )
    app.state.workspace = workspace
    app.state.login_limiter = LoginLimiter()
    app.state.secure_cookies = secure_cookies
    app.state.trust_pickle = trust_pickle
    app.state.worker_process = worker_process
    app.state.freeze_gc = freeze_gc
    app.state.warm = warm
    settings = getattr(workspace, "settings", None) or load_settings()  # None: the schema-only app of the fuzz test
    app.add_middleware(BodyLimit, max_upload=settings.max_upload_mb * _MIB, max_body=settings.max_body_mb * _MIB)
    feedback_origins = workspace.feedback.origins if isinstance(workspace, Workspace) else (lambda system: ())
    app.add_middleware(feedback.FeedbackCors, origins=feedback_origins)  # CORS of the feedback route only
    app.add_middleware(SecurityHeaders)  # added last: outside the body limit, so its 413s carry the headers too

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        # sent by Starlette's outermost middleware, past SecurityHeaders: the headers are added here
        message = "the server failed on this request: its log has the details"
        response = _page_error(request, 500, message) or error_body("server_error", message, 500)
        _add_security_headers(response.headers, request.url.path)
        return response

    @app.exception_handler(AssayError)
    async def assay_error(request: Request, exc: AssayError) -> Response:
        if isinstance(exc, Unauthenticated) and web.is_page_path(request.url.path):
            # a web page without a session: log in, then come back (a .json/.csv twin, the API and the metrics are a
            # machine's URLs: they answer 401 with the JSON error body below)
            asked = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target = "/login" if request.method != "GET" or asked == "/" else f"/login?{urlencode({'next': asked})}"
            return RedirectResponse(target, status_code=303)
        for kind, status, name in _STATUS:
            if isinstance(exc, kind):
                return _page_error(request, status, str(exc)) or error_body(name, str(exc), status)
        return _page_error(request, 400, str(exc)) or error_body("error", str(exc), 400)

    @app.exception_handler(feedback.RateLimited)
    async def rate_limited(request: Request, exc: feedback.RateLimited) -> Response:
        return feedback.rate_limited_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            problems.append(f"{where}: {error.get('msg')}")
        return _page_error(request, 422, "; ".join(problems)) or error_body("invalid_input", "; ".join(problems), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        kinds = {400: "invalid_input", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}  # fmt: skip
        page = _page_error(request, exc.status_code, str(exc.detail))
        if page is not None:
            return page
        return error_body(kinds.get(exc.status_code, "error"), str(exc.detail), exc.status_code)

    @app.exception_handler(json.JSONDecodeError)
    async def bad_json(request: Request, exc: json.JSONDecodeError) -> JSONResponse:
        return error_body("invalid_input", f"the body is not valid JSON: {exc}", 422)

    for router in ROUTERS:
        app.include_router(router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.mount("/static", ui.static_files(), name="static")
    _api_docs(app)
    return app


def _page_error(request: Request, status: int, message: str) -> Response | None:
    """An error as a page in the layout when a person's browser asked for a page (never raw JSON); None for the
    API, the ``.json`` twins, exports and the metrics, which keep the one JSON error body."""
    if not web.wants_page(request):
        return None
    who = getattr(request.state, "principal", None)
    request.state.page_user = page_user(who) if who is not None else None
    try:
        return web.render_error(request, None, status, message)
    except Exception:  # the error page itself failed: the plain body, never a second error
        return None


def _api_docs(app: FastAPI) -> None:
    """The API docs (Swagger UI) at ``/api/docs`` with its script, style and icon served by Assay itself, from the
    files the ``fastapi-offline`` package ships (FastAPI's default page loads them from a CDN: a blank page
    offline). Chosen over vendoring the files: the package is kept in step with Swagger UI's releases."""
    from importlib import resources

    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    files = resources.files("fastapi_offline") / "static"
    app.mount("/api/docs/static", StaticFiles(directory=str(files)), name="api-docs-static")

    @app.get("/api/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="Assay API",
            swagger_js_url="/api/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/api/docs/static/swagger-ui.css",
            swagger_favicon_url="/api/docs/static/favicon.png",
        )
