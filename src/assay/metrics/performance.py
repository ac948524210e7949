"""Per-group performance from counts, and score metrics (ROC AUC, Brier, calibration) from weighted scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["ScoreMetrics", "rates", "score_metrics"]

Array = NDArray[np.float64]


def _ratio(num: Array, den: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def rates(pre_y: NDArray[np.int64], post_yp: NDArray[np.int64], total: NDArray[np.int64]) -> dict[str, Array]:
    """Group performance over a batch.

    ``pre_y[b, y]``: rows of the group with a label; ``post_yp[b, y, p]``: rows with label and prediction;
    ``total[b]``: rows with a label in the whole data. Undefined rates (0/0) are NaN.
    """
    n = pre_y.sum(axis=1).astype(np.float64)
    out: dict[str, Array] = {
        "count": n,
        "share": _ratio(n, total.astype(np.float64)),
        "base_rate": _ratio(pre_y[:, 1].astype(np.float64), n),
    }
    if post_yp.size:
        t = post_yp.astype(np.float64)
        tp, fp, fn, tn = t[:, 1, 1], t[:, 0, 1], t[:, 1, 0], t[:, 0, 0]
        m = tp + fp + fn + tn
        out.update(
            selection_rate=_ratio(tp + fp, m),
            accuracy=_ratio(tp + tn, m),
            precision=_ratio(tp, tp + fp),
            recall=_ratio(tp, tp + fn),
            fpr=_ratio(fp, fp + tn),
            fnr=_ratio(fn, fn + tp),
            f1=_ratio(2 * tp, 2 * tp + fp + fn),
        )
    return out


@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    count: int
    mean_score: float | None
    observed_rate: float | None


@dataclass(frozen=True)
class ScoreMetrics:
    roc_auc: float | None
    brier: float | None
    ece: float | None
    ece_equal_mass: float | None
    reliability: tuple[ReliabilityBin, ...]
    reliability_equal_mass: tuple[ReliabilityBin, ...]
    notes: tuple[str, ...] = ()


def _auc(y: NDArray[np.int8], s: Array, w: NDArray[np.int64]) -> float:
    """ROC AUC with ties counted half (Mann-Whitney), from weighted distinct scores."""
    order = np.argsort(s, kind="stable")
    s, y, w = s[order], y[order], w[order].astype(np.float64)
    pos = np.where(y == 1, w, 0.0)
    neg = np.where(y == 0, w, 0.0)
    # collapse equal scores
    edges = np.flatnonzero(np.diff(s)) + 1
    starts = np.concatenate(([0], edges))
    pos_t = np.add.reduceat(pos, starts)
    neg_t = np.add.reduceat(neg, starts)
    neg_below = np.cumsum(neg_t) - neg_t
    u = float(np.sum(pos_t * (neg_below + 0.5 * neg_t)))
    return u / (float(pos.sum()) * float(neg.sum()))


def _bins(
    assign: NDArray[np.intp], n_bins: int, s: Array, y: NDArray[np.int8], w: NDArray[np.int64],
    edges: Array,
) -> tuple[float, tuple[ReliabilityBin, ...]]:  # fmt: skip
    wf = w.astype(np.float64)
    count = np.bincount(assign, weights=wf, minlength=n_bins)
    score_sum = np.bincount(assign, weights=wf * s, minlength=n_bins)
    pos_sum = np.bincount(assign, weights=wf * y, minlength=n_bins)
    total = count.sum()
    ece = 0.0
    table = []
    for b in range(n_bins):
        if count[b] > 0:
            conf, obs = score_sum[b] / count[b], pos_sum[b] / count[b]
            ece += count[b] / total * abs(obs - conf)
            table.append(ReliabilityBin(float(edges[b]), float(edges[b + 1]), int(count[b]), conf, obs))
        else:
            table.append(ReliabilityBin(float(edges[b]), float(edges[b + 1]), 0, None, None))
    return float(ece), tuple(table)


def score_metrics(y: NDArray[np.int8], s: Array, w: NDArray[np.int64], n_bins: int = 10) -> ScoreMetrics:
    """Score metrics of one group from distinct (label, score) pairs with their row counts ``w``."""
    keep = w > 0
    y, s, w = y[keep], s[keep], w[keep]
    notes: list[str] = []
    if w.sum() == 0:
        return ScoreMetrics(None, None, None, None, (), (), ("no row with a label and a score",))
    wf = w.astype(np.float64)
    brier = float(np.sum(wf * (s - y) ** 2) / wf.sum())
    n_pos, n_neg = float(wf[y == 1].sum()), float(wf[y == 0].sum())
    auc: float | None
    if n_pos == 0 or n_neg == 0:
        auc = None
        notes.append("ROC AUC is undefined: the group has only one label class")
    else:
        auc = _auc(y, s, w)
    width_edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bins as scikit-learn's calibration_curve cuts them: [0, 0.1], (0.1, 0.2], ..., (0.9, 1]
    width_assign = np.searchsorted(width_edges[1:-1], s, side="left").astype(np.intp)
    ece, table = _bins(width_assign, n_bins, s, y, w, width_edges)
    # equal mass: cut the cumulative row count, in score order, into n_bins equal parts; ties stay together
    # (per distinct score, so that the result does not depend on the order of the rows)
    distinct, inverse = np.unique(s, return_inverse=True)
    per_score = np.bincount(inverse, weights=wf, minlength=len(distinct))
    cum = np.cumsum(per_score)
    mid = (cum - per_score / 2.0) / cum[-1]
    mass_assign = np.minimum((mid * n_bins).astype(np.intp), n_bins - 1)[inverse]
    lo = np.array([s[mass_assign == b].min() if np.any(mass_assign == b) else np.nan for b in range(n_bins)])
    hi = np.array([s[mass_assign == b].max() if np.any(mass_assign == b) else np.nan for b in range(n_bins)])
    mass_edges = np.concatenate((lo, hi[-1:]))
    ece_mass, table_mass = _bins(mass_assign, n_bins, s, y, w, mass_edges)
    fixed = tuple(
        ReliabilityBin(b.lower, float(hi[i]), b.count, b.mean_score, b.observed_rate) for i, b in enumerate(table_mass)
    )
    return ScoreMetrics(auc, brier, ece, ece_mass, table, fixed, tuple(notes))
