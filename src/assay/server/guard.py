"""The guardrail routes (thin routes over :mod:`assay.services.genai.guard`).

``POST /api/guardrails/{guardrail}/apply`` is shaped like Bedrock's ApplyGuardrail: the request gives ``source``
(INPUT or OUTPUT) and ``content`` blocks (``{"text": {"text": ..., "qualifiers": [...]}}``; a block qualified
``grounding_source`` is a source the response is grounded in, ``query`` the user's question, ``guard_content`` or no
qualifier the text to guard); the answer gives ``action``, ``outputs``, ``assessments``, ``guardrailCoverage`` and the
latency. Every decision is recorded (channel ``api``).

Who may: applying needs a session or a token of scope ``write`` (route action ``contribute``) and, for a policy bound to
a system, any role on that system (a service user with the viewer role is enough; others get 404); adding a policy
version needs the owner role on its system, or an admin for a policy of the organisation. Policies, decisions and
counts are read by whoever may read the policy's system (decisions of the organisation's policies: admins and
auditors).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from assay.errors import InvalidInput
from assay.genai.guard import MAX_BLOCKS, MAX_CHARACTERS
from assay.server.deps import Auth, Page

__all__ = ["router"]

router = APIRouter(prefix="/api/guardrails", tags=["guardrails"])

_Version = Annotated[int | None, Query(ge=1, le=1_000_000, description="This version (default: the newest).")]
_Since = Annotated[dt.datetime | None, Query(description="From this time (ISO 8601).")]
_Until = Annotated[dt.datetime | None, Query(description="Before this time (ISO 8601).")]


class TextBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_CHARACTERS)
    qualifiers: list[Literal["grounding_source", "query", "guard_content"]] = Field(default_factory=list, max_length=3)


class ContentBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: TextBlock


class ApplyBody(BaseModel):
    """Bedrock's ApplyGuardrail request, plus the policy ``version`` and the ``conversation`` (pseudonyms are kept
    consistent within one)."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["INPUT", "OUTPUT"]
    content: list[ContentBlock] = Field(min_length=1, max_length=MAX_BLOCKS)
    version: int | None = Field(default=None, ge=1, le=1_000_000)
    conversation: str | None = Field(default=None, max_length=200)


class OutputText(BaseModel):
    text: str


class PolicyRef(BaseModel):
    name: str
    version: int | None
    sections: list[str]


class Coverage(BaseModel):
    textCharacters: dict[str, int]


class ApplyOut(BaseModel):
    action: Literal["NONE", "GUARDRAIL_INTERVENED"]
    actionReason: str
    outputs: list[OutputText]
    assessments: list[dict[str, Any]] = Field(
        description="One assessment: per policy section its findings (type, action, match redacted, score, threshold,"
        " method), and invocationMetrics (guardrailProcessingLatency, guardrailCoverage, methods)."
    )
    guardrailCoverage: Coverage
    policy: PolicyRef
    source: Literal["INPUT", "OUTPUT"]
    latency_ms: float = Field(description="The guardrail's processing time in milliseconds.")


class PolicyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1_000_000, description="The policy (YAML, schema assay.guardrail/1).")
    system: str | None = Field(default=None, max_length=100, description="Bind it to this AI system.")


class PolicyOut(BaseModel):
    id: int
    name: str
    version: int
    system: str | None
    sha256: str
    description: str
    sections: list[str]
    keep_content: bool
    created_by: str
    created_at: dt.datetime
    text: str | None = None


class PolicyPage(BaseModel):
    items: list[PolicyOut]
    total: int
    limit: int
    offset: int


class DecisionOut(BaseModel):
    id: int
    policy: str
    version: int
    system: str | None
    source: str
    channel: str
    action: str
    outcome: str
    findings: list[dict[str, Any]]
    latency_ms: float
    characters: int
    conversation: str | None
    content: dict[str, Any] | None = Field(description="Only when the policy keeps content: personal data masked.")
    batch_id: int | None
    created_at: dt.datetime


class DecisionPage(BaseModel):
    items: list[DecisionOut]
    total: int
    limit: int
    offset: int


class DayCounts(BaseModel):
    policy: str
    system: str | None
    day: str
    decisions: int
    blocked: int
    masked: int
    detected: int
    none: int
    block_rate: float | None
    mean_latency_ms: float | None


class StatsOut(BaseModel):
    policy: str | None
    system: str | None
    since: str | None
    until: str | None
    decisions: int
    blocked: int
    masked: int
    detected: int
    none: int
    block_rate: float | None
    groups: list[DayCounts]


@router.get("", response_model=PolicyPage, summary="List guardrail policies (the newest version of each)")
def list_policies(
    auth: Auth,
    paging: Page,
    system: Annotated[str | None, Query(max_length=100, description="Only this system's policies.")] = None,
) -> dict[str, Any]:
    items = auth.ws.genai.guard.policies(system=system, limit=paging.limit, offset=paging.offset)
    return {"items": [p.to_dict() for p in items], "total": items.total, "limit": paging.limit,
            "offset": paging.offset}  # fmt: skip


@router.post("", status_code=201, response_model=PolicyOut, summary="Add a version of a guardrail policy")
def add_policy(body: PolicyBody, auth: Auth) -> dict[str, Any]:
    """The same text with the same binding again is not a new version: the stored version is returned."""
    return auth.ws.genai.guard.add_policy(body.text, system=body.system).to_dict(text=True)


@router.get("/{guardrail}", response_model=PolicyOut, summary="A guardrail policy version, with its text")
def show_policy(guardrail: str, auth: Auth, version: _Version = None) -> dict[str, Any]:
    return auth.ws.genai.guard.policy(guardrail, version).to_dict(text=True)


@router.post("/{guardrail}/apply", response_model=ApplyOut, summary="Apply a guardrail (Bedrock's ApplyGuardrail)")
def apply(guardrail: str, body: ApplyBody, auth: Auth) -> dict[str, Any]:
    """Guard the content blocks (those qualified ``guard_content``, or without qualifiers) as a prompt (INPUT) or a
    response (OUTPUT), with the ``grounding_source`` blocks as the sources and the ``query`` block as the question."""
    guarded, sources, queries = [], [], []
    for block in body.content:
        qualifiers = set(block.text.qualifiers)
        if "grounding_source" in qualifiers:
            sources.append(block.text.text)
        if "query" in qualifiers:
            queries.append(block.text.text)
        if not qualifiers or "guard_content" in qualifiers:
            guarded.append(block.text.text)
    if not guarded:
        raise InvalidInput("content: no block to guard (give a text block without qualifiers, or qualified "
                           "guard_content)")  # fmt: skip
    if len(queries) > 1:
        raise InvalidInput(f"content: {len(queries)} blocks qualified query; give at most one")
    result = auth.ws.genai.guard.apply(
        guardrail, body.source, guarded, sources=sources, query=queries[0] if queries else None,
        conversation=body.conversation, channel="api", version=body.version,
    )  # fmt: skip
    return {**result.to_dict(), "latency_ms": round(result.latency_ms, 3)}


@router.get("/{guardrail}/decisions", response_model=DecisionPage, summary="A guardrail's recorded decisions")
def list_decisions(
    guardrail: str,
    auth: Auth,
    paging: Page,
    system: Annotated[str | None, Query(max_length=100)] = None,
    action: Literal["NONE", "GUARDRAIL_INTERVENED"] | None = None,
    outcome: Literal["blocked", "masked", "detected", "none"] | None = None,
    source: Literal["INPUT", "OUTPUT"] | None = None,
    channel: Literal["library", "cli", "api", "proxy", "evaluation"] | None = None,
    since: _Since = None,
    until: _Until = None,
) -> dict[str, Any]:
    """Newest first (decisions still buffered are written first)."""
    auth.ws.genai.guard.policy(guardrail)  # 404 for a policy the caller cannot see
    items = auth.ws.genai.guard.decisions(
        policy=guardrail, system=system, action=action, outcome=outcome, source=source, channel=channel, since=since,
        until=until, limit=paging.limit, offset=paging.offset,
    )  # fmt: skip
    return {"items": list(items), "total": items.total, "limit": paging.limit, "offset": paging.offset}


@router.get("/{guardrail}/stats", response_model=StatsOut, summary="A guardrail's decisions counted per system and day")
def stats(
    guardrail: str,
    auth: Auth,
    system: Annotated[str | None, Query(max_length=100)] = None,
    since: _Since = None,
    until: _Until = None,
) -> dict[str, Any]:
    auth.ws.genai.guard.policy(guardrail)
    return auth.ws.genai.guard.stats(policy=guardrail, system=system, since=since, until=until)
