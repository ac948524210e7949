"""Is a guardrail blocking more than it should? The block rate of a window of guardrail decisions, judged against a
ceiling and against the previous window, so that noise does not raise alarms.

- **ceiling** (``max_rate``): a violation only when the one-sided lower confidence bound of the window's block rate
  (Wilson's score interval at level ``1 - alpha``) is above the ceiling: the rate is above it beyond chance;
- **rise** (``factor``): a violation when the window's rate is at least ``factor`` times the previous window's *and*
  the rise is significant: the one-sided lower bound at level ``1 - alpha`` of (window rate - previous rate),
  Newcombe's hybrid score interval, is above zero;
- fewer than ``min_decisions`` decisions in the window: status ``warn``, nothing judged (a rise also needs that many
  in the previous window).

On a stationary stream each test raises a false alarm in at most about ``alpha`` of the windows (the bounds are
one-sided at ``1 - alpha``; the rise test is further held back by the factor): tests/services/test_guard_alerts.py
measures it on a synthetic stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from assay.documents import Note, now
from assay.errors import InvalidInput
from assay.metrics.rates import WindowResult, newcombe_lower, wilson, window_outcome

__all__ = ["SCHEMA", "GuardRateResult", "block_rate_check", "guard_block_rate", "guard_rate_outcome"]

SCHEMA: Final = "assay.guard-block-rate"


def block_rate_check(
    current: tuple[int, int],
    previous: tuple[int, int] | None = None,
    *,
    max_rate: float | None = None,
    factor: float | None = None,
    alpha: float = 0.01,
    min_decisions: int = 50,
) -> dict[str, Any]:
    """Judge a window's block rate (``current``: blocked, decisions) against ``max_rate`` and against ``factor``
    times the ``previous`` window's rate. Returns ``status`` (pass, fail or warn), the rates with their bounds, and
    the violations (each with ``subject``, ``description``, ``value`` and ``threshold``)."""
    if max_rate is None and factor is None:
        raise InvalidInput("give max_rate (the highest acceptable block rate) or factor (the rise over the previous "
                           "window that is an alert), or both")  # fmt: skip
    if max_rate is not None and not 0 <= max_rate < 1:
        raise InvalidInput(f"max_rate {max_rate} must be at least 0 and below 1")
    if factor is not None and not 1 < factor <= 1000:
        raise InvalidInput(f"factor {factor} must be above 1 and at most 1000")
    if not 0 < alpha < 0.5:
        raise InvalidInput(f"alpha {alpha} must be above 0 and below 0.5")
    if min_decisions < 1:
        raise InvalidInput(f"min_decisions {min_decisions} must be at least 1")
    blocked, n = current
    if not 0 <= blocked <= n:
        raise InvalidInput(f"blocked {blocked} must be between 0 and the decisions ({n})")
    rate = blocked / n if n else None
    out: dict[str, Any] = {
        "schema": SCHEMA, "decisions": n, "blocked": blocked, "block_rate": rate, "alpha": alpha,
        "max_rate": max_rate, "factor": factor, "min_decisions": min_decisions, "previous": None, "violations": [],
    }  # fmt: skip
    if n < min_decisions:
        out["status"] = "warn"
        out["reason"] = f"{n} decisions in the window, fewer than min_decisions ({min_decisions}): nothing judged"
        return out
    violations: list[dict[str, Any]] = []
    lower, _ = wilson(blocked, n, 1 - 2 * alpha)  # one-sided at 1 - alpha
    out["lower_bound"] = lower
    if max_rate is not None and lower > max_rate:
        violations.append({
            "check_type": "guard_block_rate", "subject": "block_rate", "value": round(rate or 0.0, 6),
            "threshold": max_rate,
            "description": f"block rate {rate:.3f} ({blocked} of {n}) is above the ceiling {max_rate} (lower bound "
                           f"{lower:.3f})",
        })  # fmt: skip
    if factor is not None and previous is not None:
        before_blocked, before_n = previous
        judged = before_n >= min_decisions
        before_rate = before_blocked / before_n if before_n else None
        rise = newcombe_lower((blocked, n), previous, alpha) if judged else None
        out["previous"] = {"decisions": before_n, "blocked": before_blocked, "block_rate": before_rate,
                           "judged": judged, "rise_lower_bound": rise}  # fmt: skip
        share = blocked / n  # n >= min_decisions >= 1 here
        if rise is not None and before_rate is not None and rise > 0 and share > 0 and share >= factor * before_rate:
            times = share / before_rate if before_rate else float("inf")
            violations.append({
                "check_type": "guard_block_rate_rise", "subject": "block_rate_rise", "value": round(share, 6),
                "threshold": round(factor * before_rate, 6),
                "description": f"block rate {share:.3f} is {times:.1f} times the previous window's {before_rate:.3f} "
                               f"(factor {factor}; the rise's lower bound {rise:.3f} is above 0)",
            })  # fmt: skip
    out["violations"] = violations
    out["status"] = "fail" if violations else "pass"
    return out


@dataclass(frozen=True)
class GuardRateResult(WindowResult):
    """The document of a monitor's ``guard-block-rate`` check (``to_dict``)."""

    schema: ClassVar[str] = SCHEMA


def guard_block_rate(
    data: Any,
    *,
    max_rate: float | None = None,
    factor: float | None = None,
    alpha: float = 0.01,
    min_decisions: int = 50,
) -> GuardRateResult:
    """The check on a monitor's window of guardrail decisions (source ``guard``: a row per decision with its
    ``outcome`` and ``window``, ``current`` or ``previous``: the window before it, of the same length)."""
    import narwhals as nw

    from assay.frames import open as open_frame

    frame = open_frame(data)
    frame.require_columns("outcome", "window")
    flagged = frame.lazy.with_columns((nw.col("outcome") == "blocked").cast(nw.Int64).alias("_blocked"))
    counted = flagged.group_by("window").agg(nw.len().alias("n"), nw.col("_blocked").sum().alias("blocked")).collect()
    counts = {str(w): (int(b), int(n)) for w, n, b in zip(counted["window"].to_list(), counted["n"].to_list(),
                                                          counted["blocked"].to_list(), strict=True)}  # fmt: skip
    body = block_rate_check(counts.get("current", (0, 0)), counts.get("previous", (0, 0)), max_rate=max_rate,
                            factor=factor, alpha=alpha, min_decisions=min_decisions)  # fmt: skip
    body.pop("schema")
    reason = body.pop("reason", None)
    body["warnings"] = [Note("few_decisions", reason).to_dict()] if reason else []
    return GuardRateResult(body, now())


def guard_rate_outcome(document: Mapping[str, Any]) -> dict[str, Any]:
    """How a monitor reads a guard-block-rate document (``services.compute.Outcome``)."""
    metrics: list[dict[str, Any]] = [
        {"name": "decisions", "subject": "", "value": float(document.get("decisions") or 0)}
    ]
    if isinstance(document.get("block_rate"), int | float):
        metrics.append({"name": "block_rate", "subject": "", "value": float(document["block_rate"]),
                        "threshold": document.get("max_rate")})  # fmt: skip
    return window_outcome(document, metrics)
