"""The feedback routes: end users' feedback on a system's outputs (thin routes over :mod:`assay.services.feedback`).

``POST /api/systems/{system}/feedback`` stores one piece of feedback (its comment redacted first) and answers 201;
``GET .../feedback`` lists it, ``GET .../feedback/summary`` summarises it with intervals. A web page submits with an
API token of scope ``feedback`` (the only route such a token may call) through the embeddable snippet
``/static/feedback.js``; the browser's cross-origin requests are answered by :class:`FeedbackCors` for the origins
configured for the system (``ASSAY_FEEDBACK_ORIGINS``) and refused for any other. Submissions are rate limited per
client address and per token (:class:`RateLimiter`; 429 with ``Retry-After``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import threading
import time
from collections import deque
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay.errors import AssayError
from assay.governance.feedback import MAX_ATTRIBUTE_VALUE, MAX_ATTRIBUTES, MAX_COMMENT
from assay.server.deps import Auth, Page, error_body

__all__ = ["FeedbackCors", "RateLimiter", "router"]

router = APIRouter(prefix="/api/systems/{system}/feedback", tags=["feedback"])
_PATH: Final = re.compile(r"^/api/systems/(?P<system>[^/]+)/feedback$")


class RateLimited(AssayError):
    """Too many submissions (429)."""


class RateLimiter:
    """At most ``limit`` events per key in any sliding window of ``window`` seconds (in this process's memory)."""

    def __init__(self, window: float = 60.0) -> None:
        self.window = window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str, limit: int) -> float:
        """0 and count the event when ``key`` is under ``limit``; else the seconds until it would be."""
        now = time.monotonic()
        with self._lock:
            if len(self._events) > 100_000:  # bounded memory: forget keys whose events left the window
                for stale in [k for k, v in self._events.items() if not v or v[-1] < now - self.window]:
                    del self._events[stale]
            events = self._events.setdefault(key, deque())
            while events and events[0] < now - self.window:
                events.popleft()
            if len(events) >= limit:
                return max(0.0, events[0] + self.window - now)
            events.append(now)
            return 0.0


_LIMITER_LOCK: Final = threading.Lock()


def _limiter(request: Request) -> RateLimiter:
    with _LIMITER_LOCK:
        limiter = getattr(request.app.state, "feedback_limiter", None)
        if limiter is None:
            limiter = request.app.state.feedback_limiter = RateLimiter()
    return limiter


def rate_limit(request: Request) -> None:
    """Before authentication (no database work for a client over its limit): per client address, then per token."""
    settings = request.app.state.workspace.settings
    limiter = _limiter(request)
    address = request.client.host if request.client else ""
    waits = [limiter.wait(f"client:{address}", settings.feedback_rate_per_client)]
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and not waits[0]:
        digest = hashlib.sha256(header[7:].strip().encode()).hexdigest()
        waits.append(limiter.wait(f"token:{digest}", settings.feedback_rate_per_token))
    wait = max(waits)
    if wait:
        raise RateLimited(f"too many feedback submissions: try again in {math.ceil(wait)} s")


class FeedbackBody(BaseModel):
    """One piece of feedback. ``scale`` 2 is thumbs (rating 0 down, 1 up), 5 is stars (1 to 5); ``category`` one of
    the system's (default wrong, unclear, unfair, offensive, other); ``comment`` is scanned for personal data,
    which is replaced by tags before it is stored."""

    model_config = ConfigDict(extra="forbid")

    rating: int | None = None
    scale: Literal[2, 5] = 5
    category: str | None = Field(default=None, max_length=50)
    comment: str = Field(default="", max_length=MAX_COMMENT)
    model_version: str | None = Field(default=None, max_length=201, description="MODEL@VERSION that answered.")
    inference_id: str | None = Field(default=None, max_length=200, description="The id of the answer rated.")
    attributes: dict[str, Annotated[str, Field(max_length=MAX_ATTRIBUTE_VALUE)] | bool | int | float] = Field(
        default_factory=dict, max_length=MAX_ATTRIBUTES, description="Slice attributes (channel, region, ...)."
    )
    source: Literal["api", "snippet", "client"] = "api"


class FeedbackOut(BaseModel):
    id: int
    system: str
    model_version: str | None
    inference_id: str | None
    rating: int | None
    scale: int
    category: str | None
    comment: str = Field(description="As stored: personal data replaced by tags such as <EMAIL_ADDRESS>.")
    redactions: dict[str, int]
    attributes: dict[str, Any]
    source: str
    created_by: str
    created_at: dt.datetime


class FeedbackPage(BaseModel):
    items: list[FeedbackOut]
    total: int
    limit: int
    offset: int


class Interval(BaseModel):
    value: float | None = None
    share: float | None = None
    count: int | None = None
    sd: float | None = None
    interval: list[float] | None
    method: str | None
    from_rating: int | None = None


class ScaleFigures(BaseModel):
    scale: int = Field(description="2: thumbs 0/1, 5: stars 1..5")
    count: int = Field(description="Ratings on this scale.")
    mean: Interval = Field(description="Mean rating: Wilson interval for thumbs, Student's t for stars.")
    positive: Interval = Field(description="Share of positive ratings (thumbs up, 4-5 stars), Wilson interval.")


class Figures(BaseModel):
    feedback: int = Field(description="Pieces of feedback, rated or not.")
    categories: dict[str, int]
    scales: list[ScaleFigures]


class VersionFigures(Figures):
    model_version: str | None


class SliceFigures(Figures):
    value: Any = Field(description="The value of the attribute (null: feedback without it).")


class PeriodFigures(Figures):
    period: str = Field(description="The day, or the Monday of the ISO week (UTC).")


class FeedbackSummary(BaseModel):
    system: str
    model_version: str | None
    since: str | None
    until: str | None
    confidence: float
    feedback: int
    intervals: dict[str, str]
    overall: Figures
    model_versions: list[VersionFigures]
    by: str | None = None
    slices: list[SliceFigures] | None = None
    every: str | None = None
    periods: list[PeriodFigures] | None = None


@router.post("", status_code=201, response_model=FeedbackOut, summary="Submit end-user feedback")
async def submit(
    system: str, body: FeedbackBody, _: Annotated[None, Depends(rate_limit)], auth: Auth
) -> dict[str, Any]:
    """Store one piece of feedback on an output of the system (its comment redacted first)."""
    record = body.model_dump(exclude={"source"}, exclude_unset=True)
    item = await run_in_threadpool(auth.ws.feedback.submit, system, record, source=body.source)
    return item.to_dict()


@router.get("", response_model=FeedbackPage, summary="List feedback, newest first")
def list_feedback(
    system: str,
    auth: Auth,
    paging: Page,
    model_version: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    category: str | None = None,
) -> Any:
    items = auth.ws.feedback.list(
        system, model_version=model_version, since=since, until=until, category=category, limit=paging.limit,
        offset=paging.offset,
    )  # fmt: skip
    return {"items": [i.to_dict() for i in items], "total": items.total, "limit": paging.limit,
            "offset": paging.offset}  # fmt: skip


@router.get(
    "/summary", response_model=FeedbackSummary,
    summary="Summarise feedback per model version, slice and period",
)  # fmt: skip
def summary(
    system: str,
    auth: Auth,
    model_version: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    by: Annotated[str | None, Query(max_length=50, description="An attribute to slice by.")] = None,
    every: Literal["day", "week"] | None = None,
    confidence: Annotated[float, Query(ge=0.5, lt=1)] = 0.95,
) -> dict[str, Any]:
    return auth.ws.feedback.summary(
        system, model_version=model_version, since=since, until=until, by=by, every=every, confidence=confidence
    )


class FeedbackCors:
    """Pure ASGI, for ``/api/systems/{system}/feedback`` only: a request with an ``Origin`` header from a page of
    another site is served when that origin is configured for the system (``ASSAY_FEEDBACK_ORIGINS``): a preflight
    (OPTIONS) is answered here (POST, headers Authorization and Content-Type, no cookies), the answer to the POST
    carries ``Access-Control-Allow-Origin`` (errors included, so the page can show them). Any other origin gets
    403 and reaches nothing. Requests without ``Origin`` (the command line, services) and same-origin ones pass."""

    def __init__(self, app: ASGIApp, *, origins: Any) -> None:
        self.app, self.origins = app, origins  # origins(system) -> tuple of allowed origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        origin = Headers(scope=scope).get("origin") if match else None
        if match is None or origin is None or _same_origin(scope, origin):
            await self.app(scope, receive, send)
            return
        if origin.rstrip("/") not in self.origins(match.group("system")):
            refusal = error_body(
                "forbidden", f"origin {origin[:100]!r} may not submit feedback to this system (ASSAY_FEEDBACK_ORIGINS)",
                403,
            )  # fmt: skip
            await refusal(scope, receive, send)
            return
        allow = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        if scope["method"] == "OPTIONS":
            headers = {**allow, "Access-Control-Allow-Methods": "POST", "Access-Control-Max-Age": "600",
                       "Access-Control-Allow-Headers": "Authorization, Content-Type"}  # fmt: skip
            await Response(status_code=204, headers=headers)(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in allow.items():
                    headers[key] = value
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _same_origin(scope: Scope, origin: str) -> bool:
    host = Headers(scope=scope).get("host", "")
    return origin.rstrip("/").split("://", 1)[-1] == host


def rate_limited_response(exc: RateLimited) -> JSONResponse:
    seconds = re.search(r"in (\d+) s", str(exc))
    return JSONResponse(
        {"error": {"type": "rate_limited", "message": str(exc)}}, status_code=429,
        headers={"Retry-After": seconds.group(1) if seconds else "60"},
    )  # fmt: skip
