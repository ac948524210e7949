"""Satisfaction of end users from their ratings: the mean rating and the share of positive ratings, with intervals,
judged against a floor and against a recorded baseline (the ``satisfaction`` kind; a monitor runs it on the window's
feedback, see docs/feedback.md).

Scales: ``2`` is thumbs (0 down, 1 up; positive = 1), ``5`` is stars (1 to 5; positive = 4 or 5).

Intervals: the share positive has Wilson's score interval (good coverage for small counts and shares near 0 or 1,
unlike the normal approximation; from ``metrics.rates``, shared with the guard-block-rate check); the mean rating
of stars has Student's t interval on the ratings (the mean of thumbs is their share, with Wilson's interval).
Judging:

- **floor**: a violation only when the whole interval lies below the floor (its upper bound is below it), so a
  window of a few unhappy users does not alarm on noise;
- **baseline** (a recorded ``satisfaction`` document): a violation when the drop from the baseline is significant,
  i.e. the one-sided lower bound of (baseline - window) at level ``1 - alpha`` is above ``max_drop``: Newcombe's
  hybrid score interval for the difference of two shares (built from the two Wilson intervals), Welch's t for the
  difference of two means;
- fewer than ``min_ratings`` ratings: status ``warn``, nothing judged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal

import numpy as np

from assay.documents import Note, now
from assay.errors import InvalidInput
from assay.metrics.rates import WindowResult, newcombe_lower, wilson, window_outcome

__all__ = [
    "POSITIVE",
    "SCALES",
    "SCHEMA",
    "SatisfactionResult",
    "newcombe_lower",
    "satisfaction",
    "satisfaction_outcome",
    "summarise",
    "t_interval",
    "welch_lower",
    "wilson",
]

SCHEMA: Final = "assay.satisfaction"
#: the ratings of each scale, and the lowest positive rating
SCALES: Final[dict[int, tuple[int, int]]] = {2: (0, 1), 5: (1, 5)}
POSITIVE: Final[dict[int, int]] = {2: 1, 5: 4}
Measure = Literal["positive", "mean"]


def t_interval(mean: float, sd: float, n: int, confidence: float) -> tuple[float, float]:
    """Student's t interval of a mean (two-sided); the mean itself when ``n < 2``."""
    if n < 2:
        return mean, mean
    from scipy.stats import t

    half = float(t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def welch_lower(base: tuple[float, float, int], window: tuple[float, float, int], alpha: float) -> float:
    """One-sided lower bound, at level ``1 - alpha``, of (baseline mean - window mean): Welch's t."""
    from scipy.stats import t

    (m1, s1, n1), (m2, s2, n2) = base, window
    v1, v2 = s1 * s1 / n1, s2 * s2 / n2
    se = math.sqrt(v1 + v2)
    if se == 0:
        return m1 - m2
    df = (v1 + v2) ** 2 / ((v1 * v1 / (n1 - 1) if n1 > 1 else 0) + (v2 * v2 / (n2 - 1) if n2 > 1 else 0) or 1e-300)
    return (m1 - m2) - float(t.ppf(1 - alpha, df)) * se


def summarise(ratings: Sequence[int] | np.ndarray[Any, Any], scale: int, confidence: float) -> dict[str, Any]:
    """Count, mean rating with its interval, share positive with Wilson's interval (the summary's and the check's
    figures). ``ratings`` are valid ratings of ``scale`` (no missing values)."""
    values = np.asarray(ratings, dtype=np.float64)
    n = int(values.size)
    positive = int((values >= POSITIVE[scale]).sum())
    mean = float(values.mean()) if n else None
    sd = float(values.std(ddof=1)) if n > 1 else 0.0
    share_interval = list(wilson(positive, n, confidence)) if n else None
    if mean is None:
        mean_interval, method = None, None
    elif scale == 2:
        mean_interval, method = share_interval, "wilson"
    else:
        mean_interval, method = list(t_interval(mean, sd, n, confidence)), "t"
    return {
        "count": n,
        "mean": {"value": mean, "sd": sd, "interval": mean_interval, "method": method},
        "positive": {"count": positive, "share": positive / n if n else None, "interval": share_interval,
                     "method": "wilson", "from_rating": POSITIVE[scale]},
    }  # fmt: skip


@dataclass(frozen=True)
class SatisfactionResult(WindowResult):
    """The document of a satisfaction check (``to_dict``)."""

    schema: ClassVar[str] = SCHEMA


def _column(frame: Any, name: str) -> np.ndarray[Any, Any]:
    import narwhals as nw

    return np.asarray(frame.lazy.select(nw.col(name)).collect()[name].to_numpy())


def _ratings(data: Any, rating: str, scale: int | None, scale_column: str) -> tuple[np.ndarray[Any, Any], int, int]:
    """(valid ratings, the scale, rows without a rating), or InvalidInput naming the column and values."""
    from assay.frames import open as open_frame

    frame = open_frame(data)
    frame.require_columns(rating)
    values = _column(frame, rating)
    if scale_column in frame.schema:
        scales = _column(frame, scale_column)
        present = sorted({int(s) for s in scales if s is not None and not (isinstance(s, float) and math.isnan(s))})
        if scale is None:
            if len(present) > 1:
                raise InvalidInput(
                    f"column {scale_column!r} holds the scales {present}: give scale (2 or 5) to judge one of them"
                )
            scale = present[0] if present else None
        values = values[np.asarray([s is not None and s == scale for s in scales.tolist()], dtype=bool)]
    if scale is None:
        raise InvalidInput(f"give scale (2: thumbs 0/1, 5: stars 1..5) or a {scale_column!r} column")
    if scale not in SCALES:
        raise InvalidInput(f"scale {scale} is not one of 2 (thumbs 0/1) or 5 (stars 1..5)")
    numbers = np.asarray([np.nan if v is None else v for v in values.tolist()], dtype=np.float64)
    missing = np.isnan(numbers)
    rated = numbers[~missing]
    low, high = SCALES[scale]
    bad = rated[(rated < low) | (rated > high) | (rated != np.round(rated))]
    if bad.size:
        shown = ", ".join(f"{v:g}" for v in sorted(set(bad.tolist()))[:5])
        raise InvalidInput(f"column {rating!r} holds {shown}: ratings of scale {scale} are whole numbers {low}..{high}")
    return rated.astype(np.int64), scale, int(missing.sum())


def satisfaction(
    data: Any,
    *,
    rating: str = "rating",
    scale: int | None = None,
    scale_column: str = "scale",
    measure: Measure = "positive",
    floor: float | None = None,
    min_ratings: int = 30,
    confidence: float = 0.99,
    baseline: Mapping[str, Any] | None = None,
    max_drop: float = 0.05,
    alpha: float = 0.0001,
) -> SatisfactionResult:
    """Satisfaction of ``data``'s ratings (see the module docstring); ``baseline`` is a recorded satisfaction
    document of the same scale."""
    ratings, scale, unrated = _ratings(data, rating, scale, scale_column)
    if measure == "positive" and floor is not None and not 0 <= floor <= 1:
        raise InvalidInput(f"floor {floor:g} is a share positive: give a number between 0 and 1")
    low, high = SCALES[scale]
    if measure == "mean" and floor is not None and not low <= floor <= high:
        raise InvalidInput(f"floor {floor:g} is a mean rating of scale {scale}: give a number between {low} and {high}")
    figures = summarise(ratings, scale, confidence)
    n = figures["count"]
    block = figures["positive"] if measure == "positive" else figures["mean"]
    value_key = "share" if measure == "positive" else "value"
    value, interval = block[value_key], block["interval"]
    notes: list[Note] = []
    violations: list[dict[str, Any]] = []
    judged = n >= min_ratings
    if not judged:
        notes.append(Note("few_ratings", f"{n} ratings, fewer than min_ratings {min_ratings}: not judged"))
    name = "share_positive" if measure == "positive" else "mean_rating"
    if judged and floor is not None and interval[1] < floor:
        violations.append({
            "check_type": "satisfaction_floor", "metric_name": name, "value": value, "threshold": floor,
            "description": f"{name} {value:.3f} (interval {interval[0]:.3f} to {interval[1]:.3f}, {n} ratings) is "
                           f"below the floor {floor:g}",
        })  # fmt: skip
    compared = _compare(baseline, figures, scale, measure, max_drop, alpha, min_ratings) if baseline else None
    if compared is not None:
        if compared.get("note"):
            notes.append(Note("baseline_not_judged", compared["note"]))
        elif judged and compared["significant"]:
            violations.append({
                "check_type": "satisfaction_drop", "metric_name": name, "value": value,
                "threshold": compared["value"] - max_drop,
                "description": f"{name} fell from {compared['value']:.3f} to {value:.3f} ({n} ratings): the drop is "
                               f"at least {compared['drop_lower']:.3f} at level {1 - alpha:g} (allowed {max_drop:g})",
            })  # fmt: skip
    if floor is None and baseline is None:
        notes.append(Note("nothing_judged", "no floor and no baseline: the window is measured, not judged"))
    status = "fail" if violations else ("warn" if not judged else "pass")
    body = {
        "status": status, "measure": measure, "scale": scale, "rows": n + unrated, "unrated": unrated,
        **figures, "confidence": confidence, "floor": floor, "min_ratings": min_ratings, "baseline": compared,
        "violations": violations, "warnings": [note.to_dict() for note in notes],
    }  # fmt: skip
    return SatisfactionResult(body, now())


def _compare(
    baseline: Mapping[str, Any],
    figures: Mapping[str, Any],
    scale: int,
    measure: Measure,
    max_drop: float,
    alpha: float,
    min_ratings: int,
) -> dict[str, Any]:
    if baseline.get("schema") != SCHEMA:
        raise InvalidInput(
            f"the baseline of satisfaction must be a satisfaction document (got {baseline.get('schema')!r})"
        )
    if baseline.get("scale") != scale:
        raise InvalidInput(f"the baseline rates on scale {baseline.get('scale')}, the window on scale {scale}")
    nb, nw = int(baseline["count"]), int(figures["count"])
    out: dict[str, Any] = {"count": nb, "max_drop": max_drop, "alpha": alpha}
    if measure == "positive":
        out["value"] = baseline["positive"]["share"]
        out["method"] = "newcombe"
    else:
        out["value"] = baseline["mean"]["value"]
        out["method"] = "welch-t"
    if nb < min_ratings or nw < 1:
        out.update(note=f"the baseline has {nb} ratings, fewer than min_ratings {min_ratings}", significant=False)
        return out
    if measure == "positive":
        lower = newcombe_lower((baseline["positive"]["count"], nb), (figures["positive"]["count"], nw), alpha)
        window_value = figures["positive"]["share"]
    else:
        b, w = baseline["mean"], figures["mean"]
        lower = welch_lower((b["value"], b["sd"], nb), (w["value"], w["sd"], nw), alpha)
        window_value = w["value"]
    out.update(drop=out["value"] - window_value, drop_lower=lower, significant=lower > max_drop)
    return out


def satisfaction_outcome(document: Mapping[str, Any]) -> dict[str, Any]:
    """How a monitor reads a satisfaction document (``services.compute.Outcome``)."""
    floor = document.get("floor")
    measure = document.get("measure")
    metrics: list[dict[str, Any]] = [{"name": "ratings", "subject": "", "value": float(document.get("count") or 0)}]
    share = (document.get("positive") or {}).get("share")
    mean = (document.get("mean") or {}).get("value")
    if isinstance(share, int | float):
        metrics.append({"name": "share_positive", "subject": "", "value": float(share),
                        "threshold": floor if measure == "positive" else None})  # fmt: skip
    if isinstance(mean, int | float):
        metrics.append({"name": "mean_rating", "subject": "", "value": float(mean),
                        "threshold": floor if measure == "mean" else None})  # fmt: skip
    return window_outcome(document, metrics, subject="metric_name")
