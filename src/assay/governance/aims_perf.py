"""Objectives (ISO/IEC 42001 6.2) and competence (7.2, 7.3) as domain rules, without storage: when an objective's
target is met, which way its measure moved, when a training expires, and the columns of a training-records CSV
(see docs/management-system.md)."""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from assay.errors import InvalidInput
from assay.governance.aims import slug

__all__ = [
    "DIRECTIONS",
    "OBJECTIVE_STATUSES",
    "REMINDER_KINDS",
    "TRAINING_COLUMNS",
    "TRAINING_REQUIRED_COLUMNS",
    "TRAINING_STATES",
    "ObjectiveSpec",
    "ObjectiveUpdate",
    "TrainingRecordSpec",
    "TrainingSpec",
    "TrainingUpdate",
    "add_months",
    "change",
    "finite",
    "met",
    "training_state",
]

DIRECTIONS: Final = ("at_least", "at_most")
OBJECTIVE_STATUSES: Final = ("active", "achieved", "retired")
# a required training of a person: never done, expired, expiring within the window asked about, or current
TRAINING_STATES: Final = ("missing", "expired", "expiring", "current")
TRAINING_COLUMNS: Final = ("person", "training", "completed_on", "score", "expires_on", "evidence")
TRAINING_REQUIRED_COLUMNS: Final = ("person", "training", "completed_on")
REMINDER_KINDS: Final = (
    "document-review",
    "training",
    "evidence",
    "objective",
    "corrective-action",
    "nonconformity",
    "approval",
)


def finite(field: str, value: Any) -> float:
    """``value`` as a finite float; else :class:`InvalidInput` naming the field."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{field} must be a finite number, not {value!r}")
    return float(value)


def met(value: float | None, target: float | None, direction: str) -> bool | None:
    """Whether ``value`` reaches ``target`` (``at_least``: value >= target; ``at_most``: value <= target); None when
    either is unknown."""
    if value is None or target is None:
        return None
    return value >= target if direction == "at_least" else value <= target


def change(values: Sequence[float | None], direction: str) -> dict[str, Any]:
    """How the last value moved from the one before it: ``delta``, ``moved`` (up, down, flat; None with fewer than
    two known values) and ``improving`` (towards the target's side: up for ``at_least``, down for ``at_most``; None
    when flat or unknown)."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return {"delta": None, "moved": None, "improving": None}
    delta = known[-1] - known[-2]
    moved = "flat" if math.isclose(delta, 0.0, abs_tol=1e-12) else ("up" if delta > 0 else "down")
    improving = None if moved == "flat" else (moved == "up") == (direction == "at_least")
    return {"delta": delta, "moved": moved, "improving": improving}


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, on the last day of the month when that month is shorter (a training
    done on 31 January with a validity of one month expires on 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def training_state(expires_on: dt.date | None, today: dt.date, within_days: int) -> str:
    """``expired`` (before ``today``), ``expiring`` (within ``within_days`` of it) or ``current``; a record without
    an expiry date stays current."""
    if expires_on is None:
        return "current"
    if expires_on < today:
        return "expired"
    if (expires_on - today).days <= within_days:
        return "expiring"
    return "current"


# -- validated input (the services' specs) ------------------------------------------------------------------------


def _key(value: str) -> str:
    try:
        return slug("key", value)
    except InvalidInput as exc:
        raise ValueError(str(exc).removeprefix("key ")) from None


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Key = Annotated[str, AfterValidator(_key)]
Number = Annotated[float | None, AfterValidator(_finite)]
Title = Annotated[str, Field(min_length=1, max_length=300)]
Text = Annotated[str, Field(max_length=20_000)]
Person = Annotated[str, Field(min_length=1, max_length=200)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class ObjectiveSpec(_Spec):
    """A new objective: ``measure`` ``{"name": ..., parameters}`` names a measure Assay computes (none: measured by
    hand with ``record``)."""

    key: Key
    title: Title
    description: Text = ""
    target: Number = None
    direction: Literal["at_least", "at_most"] = "at_least"
    unit: Annotated[str, Field(max_length=40)] = ""
    owner: Person
    due_date: dt.date | None = None
    measure: dict[str, Any] | None = None


class ObjectiveUpdate(_Spec):
    title: Title | None = None
    description: Text | None = None
    target: Number = None
    direction: Literal["at_least", "at_most"] | None = None
    unit: Annotated[str | None, Field(max_length=40)] = None
    owner: Person | None = None
    due_date: dt.date | None = None
    measure: dict[str, Any] | None = None
    status: Literal["active", "achieved"] | None = None


class TrainingSpec(_Spec):
    """A training of the catalogue: valid ``validity_months`` after completion (none: does not expire), required
    for the roles in ``required_for`` (governance roles and system access roles)."""

    code: Key
    title: Title
    description: Text = ""
    validity_months: Annotated[int | None, Field(ge=1, le=600)] = None
    required_for: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(default_factory=list, max_length=50)


class TrainingUpdate(_Spec):
    title: Title | None = None
    description: Text | None = None
    validity_months: Annotated[int | None, Field(ge=1, le=600)] = None
    required_for: list[Annotated[str, Field(min_length=1, max_length=60)]] | None = Field(default=None, max_length=50)


class TrainingRecordSpec(_Spec):
    """A person's completion of a training; ``expires_on`` defaults to ``completed_on`` plus the training's
    validity."""

    person: Person
    training: Annotated[str, Field(min_length=1, max_length=100)]
    completed_on: dt.date
    score: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    expires_on: dt.date | None = None
    evidence: Annotated[str, Field(max_length=1000)] = ""
