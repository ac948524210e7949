"""Risk scoring in the ISO/IEC 23894 style: likelihood and impact on 1-5 scales give a score and a level.

The bands are Assay's defaults for a 5 × 5 matrix (score = likelihood × impact): 1-4 low, 5-9 medium,
10-16 high, 20-25 critical. An organisation with its own matrix passes its own :class:`RiskMatrix`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from assay.errors import InvalidInput

__all__ = ["DEFAULT_MATRIX", "LEVELS", "RiskMatrix", "RiskScore", "score_risk"]

Level = Literal["low", "medium", "high", "critical"]
LEVELS: Final[tuple[Level, ...]] = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class RiskScore:
    likelihood: int
    impact: int
    score: int
    level: Level


@dataclass(frozen=True)
class RiskMatrix:
    """Upper bounds (inclusive) of the score for each level but the last, in :data:`LEVELS` order."""

    bounds: tuple[int, int, int] = (4, 9, 16)
    scale: int = field(default=5)

    def __post_init__(self) -> None:
        top = self.scale * self.scale
        if not (0 < self.bounds[0] < self.bounds[1] < self.bounds[2] < top):
            raise InvalidInput(f"risk matrix bounds {self.bounds} must increase strictly between 1 and {top}")

    def level(self, score: int) -> Level:
        for bound, level in zip(self.bounds, LEVELS, strict=False):
            if score <= bound:
                return level
        return LEVELS[-1]


DEFAULT_MATRIX: Final = RiskMatrix()


def _rating(name: str, value: object, scale: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= scale:
        raise InvalidInput(f"{name} must be a whole number from 1 to {scale}, not {value!r}")
    return value


def score_risk(likelihood: object, impact: object, matrix: RiskMatrix = DEFAULT_MATRIX) -> RiskScore:
    """Score a risk: ``likelihood`` and ``impact`` on 1..scale give ``score = likelihood × impact`` and a level."""
    lik = _rating("likelihood", likelihood, matrix.scale)
    imp = _rating("impact", impact, matrix.scale)
    score = lik * imp
    return RiskScore(lik, imp, score, matrix.level(score))
