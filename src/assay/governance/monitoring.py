"""What a monitor is, validated: its checks, where its windows come from, how long a window is, when it runs.

A monitor watches one deployed model version. Each window (``window`` long, ending on a multiple of ``window``
since the Unix epoch, ``delay`` after its end at the earliest, so labels that arrive late are in) is read from the
model's captured inference records, a folder of dated files, data given to the run, or end users' feedback, and
every check (a compute kind that registers an ``outcome``) runs on it against its recorded baseline. The kinds and
their options are validated by the service (``services.monitors``), which knows the registry of kinds.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

from pydantic import BeforeValidator, Field, model_validator

from assay.governance.records import Name, _Record

__all__ = [
    "MAX_CHECKS",
    "MAX_WINDOW",
    "MIN_WINDOW",
    "CheckSpec",
    "MonitorSpec",
    "SourceSpec",
    "seconds",
]

MIN_WINDOW: Final = 60
MAX_WINDOW: Final = 366 * 86400
MAX_CHECKS: Final = 20
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SHORT = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_ISO = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$", re.IGNORECASE)


def seconds(value: Any) -> Any:
    """A duration in seconds from an integer, ``90s``, ``15m``, ``1h``, ``1d``, ``1w`` or ISO 8601 (``PT1H``,
    ``P1D``); anything else is left for pydantic to refuse."""
    if isinstance(value, str):
        text = value.strip()
        short = _SHORT.match(text)
        if short:
            return int(short.group(1)) * _UNITS[short.group(2).lower()]
        iso = _ISO.match(text)
        if iso and text.upper() not in ("P", "PT"):
            weeks, days, hours, minutes, secs = (int(part or 0) for part in iso.groups())
            return (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + secs
        if text.isdigit():
            return int(text)
        raise ValueError(f"{value!r} is not a duration: give seconds, or e.g. 15m, 1h, 1d, 1w, PT1H, P1D")
    return value


Window = Annotated[int, BeforeValidator(seconds), Field(ge=MIN_WINDOW, le=MAX_WINDOW)]
Delay = Annotated[int, BeforeValidator(seconds), Field(ge=0, le=MAX_WINDOW)]


class CheckSpec(_Record):
    """One check of a monitor: a compute kind, its options, and the recorded baseline it compares against."""

    kind: Annotated[str, Field(min_length=1, max_length=100)]
    options: dict[str, Any] = Field(default_factory=dict)
    baseline_id: Annotated[int, Field(ge=1)] | None = None


class SourceSpec(_Record):
    """Where a monitor's windows come from: the model's captured records (``capture``), a folder of files in dated
    sub-folders (``files``: CSV, Parquet, JSON Lines or SageMaker's capture format), data given to each run (``given``:
    a batch job hands its scored file to ``assay monitor run --data``), or end users' feedback on the model version
    (``feedback``: rating, scale, category, attributes as columns; for the ``satisfaction`` check), or a guardrail
    policy's decisions (``guard`` with ``policy``: the window's and the previous window's; for the
    ``guard-block-rate`` check). ``delay``: how
    long after a window's end it is first judged (ground truth that arrives late). ``columns``: the names of the
    values of a SageMaker capture's CSV payload (default ``_c0``, ``_c1``, ...). ``engine``: where a window is read and
    computed, DuckDB on one machine or Spark (the active session, or local mode)."""

    type: Literal["capture", "files", "given", "feedback", "guard"] = "capture"
    folder: Annotated[str, Field(min_length=1, max_length=2_000)] | None = None
    policy: Annotated[str, Field(min_length=1, max_length=100)] | None = None  # guard: the guardrail policy
    columns: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=2_000)] | None = None
    engine: Literal["duckdb", "spark"] = "duckdb"
    delay: Delay = 0

    @model_validator(mode="after")
    def _folder(self) -> SourceSpec:
        if (self.type == "files") != (self.folder is not None):
            raise ValueError("a files source needs a folder, and only a files source takes one")
        if (self.type == "guard") != (self.policy is not None):
            raise ValueError("a guard source needs a policy, and only a guard source takes one")
        return self


class MonitorSpec(_Record):
    """A new monitor of ``model_version`` (``MODEL@VERSION``) of a system."""

    name: Name
    model_version: Annotated[str, Field(min_length=3, max_length=201)]
    checks: Annotated[list[CheckSpec], Field(min_length=1, max_length=MAX_CHECKS)]
    source: SourceSpec = Field(default_factory=SourceSpec)
    window: Window = 86400
    cron: Annotated[str, Field(max_length=200)] | None = None
    interval: Annotated[int, BeforeValidator(seconds), Field(ge=60, le=MAX_WINDOW)] | None = None
    timezone: Annotated[str, Field(max_length=64)] = "UTC"
    alerting: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_schedule(self) -> MonitorSpec:
        if self.cron is not None and self.interval is not None:
            raise ValueError("give a cron expression or an interval, not both")
        return self
