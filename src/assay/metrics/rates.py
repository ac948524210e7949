"""What the window checks of a monitor share (``satisfaction`` on end users' ratings, ``guard-block-rate`` on
guardrail decisions): the interval of a share and the bound of a difference of two shares, the document a check
returns, and how a monitor reads it.

- :func:`wilson`: Wilson's score interval of a share (good coverage for small counts and shares near 0 or 1, unlike
  the normal approximation);
- :func:`newcombe_lower`: the one-sided lower bound of the difference of two shares, Newcombe's hybrid score
  interval (method 10 of Newcombe 1998) built from the two Wilson intervals: a drop (satisfaction against its
  baseline) or a rise (the block rate against the previous window) is significant when it is above the margin;
- :class:`WindowResult`: the document (``to_dict``: the schema's head and the body) and its violations;
- :func:`window_outcome`: the status, violations and metrics a monitor records from such a document.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from assay.documents import head

__all__ = ["WindowResult", "newcombe_lower", "wilson", "window_outcome"]


def wilson(positive: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson's score interval of a share (two-sided, level ``confidence``); (0, 1) for no observation."""
    if n <= 0:
        return 0.0, 1.0
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    p = positive / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_lower(base: tuple[int, int], window: tuple[int, int], alpha: float) -> float:
    """One-sided lower bound, at level ``1 - alpha``, of (``base`` share - ``window`` share), each given as (count,
    n): Newcombe's hybrid score interval (method 10 of Newcombe 1998) from Wilson intervals of two-sided level
    ``1 - 2 alpha``."""
    (k1, n1), (k2, n2) = base, window
    p1, p2 = k1 / n1, k2 / n2
    l1, _ = wilson(k1, n1, 1 - 2 * alpha)
    _, u2 = wilson(k2, n2, 1 - 2 * alpha)
    return (p1 - p2) - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)


@dataclass(frozen=True)
class WindowResult:
    """The document of a window check (``to_dict``: the head of ``schema`` and the body; ``constraint_violations``:
    the body's violations)."""

    schema: ClassVar[str]
    body: dict[str, Any]
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {**head(self.schema, created_at=self.created_at), **self.body}

    def constraint_violations(self) -> dict[str, Any]:
        return {"violations": list(self.body["violations"])}


def window_outcome(
    document: Mapping[str, Any], metrics: Sequence[Mapping[str, Any]], subject: str = "subject"
) -> dict[str, Any]:
    """How a monitor reads a window check's document (``services.compute.Outcome``): its status, its violations
    (their subject under the key ``subject``) and ``metrics``."""
    violations = [
        {"check_type": v["check_type"], "subject": v[subject], "description": v["description"],
         "value": v.get("value"), "threshold": v.get("threshold")}
        for v in document.get("violations") or []
    ]  # fmt: skip
    return {"status": document.get("status", "warn"), "violations": violations, "metrics": [dict(m) for m in metrics]}
