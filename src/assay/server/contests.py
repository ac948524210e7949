"""The contested-decisions API: thin routes over :mod:`assay.services.contests`. Opening a case is the operator's
(``write``), deciding it needs ``oversee`` (an overseer or the owner; reviewers may not), reading needs ``read``."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from assay.server.deps import Auth, Page

__all__ = ["router"]

router = APIRouter(prefix="/api/systems/{system}/contests", tags=["contested decisions"])


class ContestOut(BaseModel):
    """A contested case: the decision and its input as they were, the explanation (top factors, SHAP values) and the
    counterfactual, the outcome with its rationale, and the letter once decided."""

    id: int
    system: str
    model_version: str
    inference_id: str
    item_id: int | None
    requester: str
    grounds: str
    decision: dict[str, Any]
    features: dict[str, Any]
    explanation: dict[str, Any] | None
    counterfactual: dict[str, Any] | None
    status: Literal["open", "decided", "withdrawn"]
    outcome: Literal["upheld", "overturned"] | None
    new_decision: dict[str, Any] | None
    reviewer: str | None
    rationale: str
    letter: str | None
    due_at: dt.datetime | None
    created_by: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


class ContestPage(BaseModel):
    items: list[ContestOut]
    total: int
    limit: int
    offset: int


class OpenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inference_id: str = Field(min_length=1, max_length=200, description="The inference id of the decision.")
    model_version: str | None = Field(default=None, description="MODEL@VERSION that decided (default: any).")
    requester: str = Field(default="", max_length=200, description="Who contests: a reference, not personal data.")
    grounds: str = Field(default="", max_length=5000, description="Why the person contests the decision.")
    decision: Any = Field(default=None, description="The decision, when it is neither queued nor captured.")
    features: dict[str, Any] | None = Field(default=None, description="Its input values, with decision.")


class DecideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["upheld", "overturned"]
    rationale: str = Field(min_length=1, max_length=5000, description="Why, in words the person understands.")
    new_decision: Any = Field(default=None, description="The decision that replaces it (with overturned).")


class WithdrawBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=5000)


def _out(auth: Any, system: str, case: Any) -> ContestOut:
    return ContestOut.model_validate(
        {
            **case.state(),
            "system": system,
            "model_version": auth.ws.contests.model_version_ref(case),
            "letter": case.letter,
        }
    )


@router.get("", response_model=ContestPage)
def list_contests(
    auth: Auth, system: str, paging: Page, status: Literal["open", "decided", "withdrawn"] | None = None
) -> ContestPage:
    found = auth.ws.contests.list(system, status=status, limit=paging.limit, offset=paging.offset)
    return ContestPage(
        items=[_out(auth, system, c) for c in found], total=found.total, limit=paging.limit, offset=paging.offset
    )


@router.post("", response_model=ContestOut, status_code=201)
async def open_contest(auth: Auth, system: str, body: OpenBody) -> ContestOut:
    """Open a case on the decision with ``inference_id`` (the review queue, then the capture, else as given); its
    explanation is prepared by a queued ``explain-decisions`` job. 404 naming the id when it is found nowhere."""
    case = await run_in_threadpool(
        auth.ws.contests.open, system, body.inference_id, model_version=body.model_version,
        requester=body.requester, grounds=body.grounds, decision=body.decision, features=body.features,
    )  # fmt: skip
    return _out(auth, system, case)


@router.get("/{case_id}", response_model=ContestOut)
def get_contest(auth: Auth, system: str, case_id: int) -> ContestOut:
    return _out(auth, system, auth.ws.contests.get(system, case_id))


@router.post("/{case_id}/decide", response_model=ContestOut)
def decide_contest(auth: Auth, system: str, case_id: int, body: DecideBody) -> ContestOut:
    """Decide the case (upheld or overturned); the letter to the person is rendered and recorded."""
    case = auth.ws.contests.decide(
        system, case_id, outcome=body.outcome, rationale=body.rationale, new_decision=body.new_decision
    )
    return _out(auth, system, case)


@router.post("/{case_id}/withdraw", response_model=ContestOut)
def withdraw_contest(auth: Auth, system: str, case_id: int, body: WithdrawBody | None = None) -> ContestOut:
    case = auth.ws.contests.withdraw(system, case_id, reason="" if body is None else body.reason)
    return _out(auth, system, case)


class LetterOut(BaseModel):
    case_id: int
    letter: str = Field(description="The letter to the person, plain text, as recorded when the case was decided.")


@router.get("/{case_id}/letter", response_model=LetterOut)
def contest_letter(auth: Auth, system: str, case_id: int) -> LetterOut:
    """The letter recorded when the case was decided (409 while it is open)."""
    return LetterOut(case_id=case_id, letter=auth.ws.contests.letter(system, case_id))
