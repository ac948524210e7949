"""Statistics of human review: agreement between reviewers, override rates with intervals, the override-rate bias
signal, time to decision and overdue items. Pure: plain rows in, frozen results out (no database, no files).

- **Agreement** (:func:`cohen_kappa`, :func:`pair_agreement`): Cohen's kappa per reviewer pair on the items both
  reviewed, on the final outcome label each gave (:func:`outcome_label`: the model's prediction for ``accept``, the
  changed prediction for ``change``, ``"escalate"`` as its own category). Its interval is the analytic large-sample
  one (the standard error of Fleiss, Cohen and Everitt, 1969): deterministic (the same document every time, no seed),
  free to compute, and within a few per cent of a bootstrap's on 30 items or more (``tests/metrics``); below that the
  pair is reported with a warning rather than a verdict.
- **Override rates** (:func:`rate`, :func:`rates_by`): the share of decided items whose final prediction differs from
  the model's, with a Wilson score interval (SciPy's ``binomtest(...).proportion_ci(method="wilson")``): it stays
  inside [0, 1] and keeps its coverage at rates near 0, where review outcomes live, unlike the normal approximation.
- **Bias signal** (:func:`slice_signal`): a slice whose override rate is above the rest's, by Fisher's exact test
  (one-sided, SciPy), Holm-adjusted across the slices judged, flagged when the adjusted p-value is below ``alpha``
  AND the rate is at least ``min_ratio`` times the rest's; a slice with fewer than ``min_count`` items gets a
  warning, not a verdict. Measured false-alarm and detection rates: ``benchmarks/oversight_signal.py``.
- **Time** (:func:`durations`, :func:`overdue`): p50, p90 and max of the time to decision; the share decided after
  the deadline or still open past it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Final, Literal

import numpy as np
from scipy import stats

from assay.documents import Note

__all__ = [
    "ESCALATE",
    "Kappa",
    "PairAgreement",
    "Rate",
    "SliceTest",
    "cohen_kappa",
    "durations",
    "holm",
    "mean_rating",
    "outcome_label",
    "overdue",
    "pair_agreement",
    "period_key",
    "rate",
    "rates_by",
    "slice_signal",
    "slice_values",
    "wilson",
]

ESCALATE: Final = "escalate"  # the category of an escalated decision in the agreement table
KAPPA_FLOOR: Final = 0.6  # "substantial" agreement starts here (Landis and Koch, 1977)
MIN_SHARED: Final = 30  # items two reviewers share before their kappa is judged
ALPHA: Final = 0.01
MIN_COUNT: Final = 30
MIN_RATIO: Final = 1.25
INTERSECTION: Final = "×"

Period = Literal["day", "week"]


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), digits)


# -- agreement ------------------------------------------------------------------------------------------------------


def outcome_label(decision: str, model_prediction: Any, outcome: Mapping[str, Any] | None) -> str:
    """The final outcome a reviewer gave, as a category: the model's prediction for ``accept``, the changed prediction
    for ``change``, :data:`ESCALATE` for ``escalate``. Predictions are compared as JSON (``1`` and ``"1"`` differ)."""
    if decision == "escalate":
        return ESCALATE
    if decision == "change":
        if not isinstance(outcome, Mapping) or "prediction" not in outcome:
            raise ValueError("a 'change' decision has no outcome prediction")
        return json.dumps(outcome["prediction"], sort_keys=True)
    if decision == "accept":
        return json.dumps(model_prediction, sort_keys=True)
    raise ValueError(f"unknown decision {decision!r} (accept, change or escalate)")


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa of two raters on ``n`` items with its standard error and interval (``None`` when undefined:
    both raters gave one and the same category to every item, so chance agreement is 1)."""

    value: float | None
    se: float | None
    ci: tuple[float, float] | None
    n: int
    observed: float  # share of items on which they agree
    expected: float  # agreement expected by chance from their marginal shares
    categories: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kappa": _round(self.value),
            "se": _round(self.se),
            "ci": None if self.ci is None else [_round(self.ci[0]), _round(self.ci[1])],
            "n": self.n,
            "observed_agreement": _round(self.observed),
            "chance_agreement": _round(self.expected),
            "categories": list(self.categories),
        }


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable], *, confidence: float = 0.95) -> Kappa:
    """Cohen's kappa of the paired labels ``a`` and ``b`` and its interval ``kappa ± z·se``, clipped to [-1, 1]; the
    standard error is the large-sample one of Fleiss, Cohen and Everitt (1969), the same as SAS PROC FREQ's."""
    if len(a) != len(b):
        raise ValueError(f"the two raters label {len(a)} and {len(b)} items: give one pair per item")
    n = len(a)
    categories = sorted({*map(str, a), *map(str, b)})
    if n == 0:
        return Kappa(None, None, None, 0, math.nan, math.nan, ())
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)))
    np.add.at(table, ([index[str(x)] for x in a], [index[str(y)] for y in b]), 1.0)
    p = table / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    observed = float(np.trace(p))
    expected = float(rows @ cols)
    if expected >= 1.0 - 1e-12:
        return Kappa(None, None, None, n, observed, expected, tuple(categories))
    kappa = (observed - expected) / (1.0 - expected)
    diagonal = float(np.sum(np.diag(p) * (1.0 - (rows + cols) * (1.0 - kappa)) ** 2))
    spread = rows[None, :] + cols[:, None]  # p_.i + p_j. for cell (i, j)
    off = p * spread**2
    np.fill_diagonal(off, 0.0)
    variance = (diagonal + (1.0 - kappa) ** 2 * float(off.sum()) - (kappa - expected * (1.0 - kappa)) ** 2) / (
        n * (1.0 - expected) ** 2
    )
    se = math.sqrt(max(variance, 0.0))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    ci = (max(-1.0, kappa - z * se), min(1.0, kappa + z * se))
    return Kappa(kappa, se, ci, n, observed, expected, tuple(categories))


@dataclass(frozen=True)
class PairAgreement:
    """The agreement of two reviewers on the items both decided, and whether it is judged too low."""

    reviewers: tuple[str, str]
    kappa: Kappa
    verdict: Literal["ok", "low", "too_few", "undefined"]
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"reviewers": list(self.reviewers), **self.kappa.to_dict(), "verdict": self.verdict, "note": self.note}


def pair_agreement(
    labels: Iterable[tuple[Hashable, str, str]],
    *,
    floor: float = KAPPA_FLOOR,
    min_items: int = MIN_SHARED,
    confidence: float = 0.95,
) -> list[PairAgreement]:
    """Kappa for every pair of reviewers who decided the same items. ``labels`` are ``(item, reviewer, label)``
    (the reviewer's last label counts when they decided an item twice). A pair is ``low`` when its kappa is below
    ``floor`` on at least ``min_items`` shared items, ``too_few`` below that."""
    by_reviewer: dict[str, dict[Hashable, str]] = defaultdict(dict)
    for item, reviewer, label in labels:
        by_reviewer[reviewer][item] = label
    out = []
    for first, second in combinations(sorted(by_reviewer), 2):
        shared = sorted(set(by_reviewer[first]) & set(by_reviewer[second]), key=str)
        if not shared:
            continue
        kappa = cohen_kappa(
            [by_reviewer[first][i] for i in shared], [by_reviewer[second][i] for i in shared], confidence=confidence
        )
        verdict: Literal["ok", "low", "too_few", "undefined"]
        if kappa.value is None:
            verdict, note = "undefined", "both gave one and the same outcome to every shared item: kappa is undefined"
        elif kappa.n < min_items:
            verdict, note = "too_few", f"{kappa.n} shared items, fewer than {min_items}: not judged"
        elif kappa.value < floor:
            verdict, note = "low", f"kappa {kappa.value:.2f} is below the floor {floor:g} on {kappa.n} shared items"
        else:
            verdict, note = "ok", ""
        out.append(PairAgreement((first, second), kappa, verdict, note))
    return out


# -- rates ----------------------------------------------------------------------------------------------------------


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """The Wilson score interval of ``k`` successes in ``n`` trials (``None`` when ``n`` is 0)."""
    if n <= 0:
        return None
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


@dataclass(frozen=True)
class Rate:
    """A share with its counts and Wilson interval; ``key`` names what it is the share of (a slice value, a reviewer,
    a period)."""

    key: str
    n: int
    k: int
    ci: tuple[float, float] | None

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "n": self.n,
            "overridden": self.k,
            "rate": _round(self.value),
            "ci": None if self.ci is None else [_round(self.ci[0]), _round(self.ci[1])],
        }


def rate(flags: Sequence[bool], key: str = "all", confidence: float = 0.95) -> Rate:
    k = sum(bool(f) for f in flags)
    return Rate(key, len(flags), k, wilson(k, len(flags), confidence))


def _text(value: Any) -> str:
    return "null" if value is None else str(value)


def slice_values(row: Mapping[str, Any], slice_: str) -> str | None:
    """The value of ``slice_`` (a column, or two joined by ``×``) in ``row``'s features, as text; ``None`` when a
    column is absent from the row."""
    parts = slice_.split(INTERSECTION)
    values = []
    for part in parts:
        if part not in row:
            return None
        values.append(_text(row[part]))
    return INTERSECTION.join(values)


def rates_by(
    rows: Sequence[tuple[str | None, bool]], *, confidence: float = 0.95, order: Sequence[str] | None = None
) -> list[Rate]:
    """Override rates by key from ``(key, overridden)`` pairs (rows whose key is ``None`` are left out), in
    ``order`` when given, else by key."""
    groups: dict[str, list[bool]] = defaultdict(list)
    for key, flag in rows:
        if key is not None:
            groups[key].append(flag)
    keys = [k for k in order if k in groups] if order is not None else sorted(groups)
    return [rate(groups[k], k, confidence) for k in keys]


def period_key(when: dt.datetime, period: Period) -> str:
    """The day (``2026-03-01``) or ISO week's Monday (``2026-W09``) a time falls in, in UTC."""
    when = when.astimezone(dt.UTC) if when.tzinfo else when
    if period == "day":
        return when.date().isoformat()
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


# -- the bias signal ------------------------------------------------------------------------------------------------


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running, m = 0.0, len(p_values)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class SliceTest:
    """One slice value's override rate against the rest of the items, and the verdict."""

    slice: str
    value: str
    n: int
    k: int
    rest_n: int
    rest_k: int
    p: float | None
    p_adjusted: float | None
    verdict: Literal["flagged", "ok", "too_few"]

    @property
    def rate(self) -> float:
        return self.k / self.n if self.n else math.nan

    @property
    def rest_rate(self) -> float:
        return self.rest_k / self.rest_n if self.rest_n else math.nan

    @property
    def ratio(self) -> float | None:
        if not self.n or not self.rest_n:
            return None
        return math.inf if self.rest_k == 0 and self.k else (self.rate / self.rest_rate if self.rest_k else None)

    def to_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "slice": self.slice,
            "value": self.value,
            "n": self.n,
            "overridden": self.k,
            "rate": _round(self.rate),
            "rest_n": self.rest_n,
            "rest_overridden": self.rest_k,
            "rest_rate": _round(self.rest_rate),
            "ratio": None if ratio is None else ("Infinity" if math.isinf(ratio) else _round(ratio)),
            "p": _round(self.p, 12),
            "p_adjusted": _round(self.p_adjusted, 12),
            "verdict": self.verdict,
        }


def slice_signal(
    rows: Sequence[tuple[Mapping[str, Any], bool]],
    slices: Sequence[str],
    *,
    alpha: float = ALPHA,
    min_count: int = MIN_COUNT,
    min_ratio: float = MIN_RATIO,
) -> tuple[list[SliceTest], list[Note]]:
    """Test every value of every slice for an override rate above the rest's. ``rows`` are ``(features,
    overridden)`` of decided items; ``slices`` are columns or ``a×b`` intersections. Fisher's exact test, one-sided
    ("greater"), on the 2×2 table (slice value or rest, overridden or not); Holm's adjustment over every slice value
    with at least ``min_count`` items (the family judged); flagged when the adjusted p-value is below ``alpha`` and
    the rate is at least ``min_ratio`` times the rest's. Smaller slice values are ``too_few``, with a note."""
    tests: list[SliceTest] = []
    notes: list[Note] = []
    for slice_ in slices:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for features, flag in rows:
            value = slice_values(features, slice_)
            if value is None:
                continue
            counts[value][0] += 1
            counts[value][1] += bool(flag)
        covered = sum(n for n, _ in counts.values())
        if len(counts) < 2:
            notes.append(
                Note(
                    "one_slice",
                    f"slice {slice_}: {len(counts)} value(s) among the decided items; an override rate needs another "
                    "group to be compared with",
                )
            )
            continue
        covered_k = sum(k for _, k in counts.values())
        small = []
        for value in sorted(counts):
            n, k = counts[value]
            rest_n, rest_k = covered - n, covered_k - k
            if n < min_count:
                small.append(f"{value} ({n})")
                tests.append(SliceTest(slice_, value, n, k, rest_n, rest_k, None, None, "too_few"))
                continue
            p = float(stats.fisher_exact([[k, n - k], [rest_k, rest_n - rest_k]], alternative="greater").pvalue)
            tests.append(SliceTest(slice_, value, n, k, rest_n, rest_k, p, None, "ok"))
        if small:
            notes.append(
                Note(
                    "small_slice",
                    f"slice {slice_}: fewer than {min_count} decided items in {', '.join(small)}: "
                    "their override rates are shown but not judged",
                )
            )
    judged = [i for i, t in enumerate(tests) if t.p is not None]
    adjusted = holm([float(tests[i].p) for i in judged])  # type: ignore[arg-type]
    for i, p_adj in zip(judged, adjusted, strict=True):
        t = tests[i]
        ratio = t.ratio
        flagged = p_adj < alpha and ratio is not None and ratio >= min_ratio
        tests[i] = SliceTest(t.slice, t.value, t.n, t.k, t.rest_n, t.rest_k, t.p, p_adj, "flagged" if flagged else "ok")
    return tests, notes


def mean_rating(ratings: Sequence[int], scale: int, confidence: float = 0.95) -> dict[str, Any]:
    """Mean rating on one scale with its interval: Wilson for thumbs (scale 2, ratings 0/1), Student's t otherwise."""
    n = len(ratings)
    if n == 0:
        return {"scale": scale, "n": 0, "mean": None, "ci": None, "interval": None}
    mean = sum(ratings) / n
    if scale == 2:
        ci = wilson(sum(ratings), n, confidence)
        method = "wilson"
    elif n >= 2:
        sd = math.sqrt(sum((r - mean) ** 2 for r in ratings) / (n - 1))
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
        ci, method = (mean - half, mean + half), "student-t"
    else:
        ci, method = None, None
    return {
        "scale": scale,
        "n": n,
        "mean": round(mean, 6),
        "ci": None if ci is None else [round(ci[0], 6), round(ci[1], 6)],
        "interval": method,
    }


# -- time -----------------------------------------------------------------------------------------------------------


def durations(seconds: Sequence[float]) -> dict[str, Any]:
    """p50, p90 and max of times to decision (seconds); ``None`` for each when there are none."""
    if not seconds:
        return {"n": 0, "p50": None, "p90": None, "max": None}
    values = np.asarray(seconds, dtype=float)
    return {
        "n": len(values),
        "p50": _round(float(np.quantile(values, 0.5)), 3),
        "p90": _round(float(np.quantile(values, 0.9)), 3),
        "max": _round(float(values.max()), 3),
    }


def overdue(items: Sequence[tuple[dt.datetime, dt.datetime | None]], now: dt.datetime) -> dict[str, Any]:
    """Items past their deadline: ``(due_at, decided_at or None)``; decided after ``due_at``, or still open at
    ``now`` past it. The share is of all items, with its Wilson interval."""
    late = sum(decided is not None and decided > due for due, decided in items)
    open_late = sum(decided is None and now > due for due, decided in items)
    n = len(items)
    count = late + open_late
    ci = wilson(count, n)
    return {
        "n": n,
        "count": count,
        "decided_late": late,
        "open_overdue": open_late,
        "share": _round(count / n) if n else None,
        "ci": None if ci is None else [_round(ci[0]), _round(ci[1])],
    }
