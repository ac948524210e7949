"""How much SHAP attributions move when a row is perturbed slightly: the pure measures of the explanation stability
test (the test itself, which perturbs the rows and explains them, is :mod:`assay.services.stability`).

For each explained row, its clean attributions ``phi`` and those of each perturbed copy ``phi'``:

* **rank correlation**: Spearman's rho (SciPy's ranks) and Kendall's tau-b between ``|phi|`` and ``|phi'|``, the
  features' ranking by magnitude (the "SHAP ranking" a reader takes from an explanation). Both 1 when the ranking is
  kept; a row whose attributions are all equal on one side and not the other has none (not counted, and noted);
* **top-k overlap**: the Jaccard index of the ``k`` features with the largest ``|phi|`` and ``|phi'|`` (ties broken
  by feature order);
* **local Lipschitz estimate** (Alvarez-Melis & Jaakkola, "On the robustness of interpretability methods", 2018):
  ``||phi - phi'||_2 / d(x, x')`` with ``d`` the distance of the inputs (numbers in units of their column's spread,
  one per changed category), the largest over the row's copies; copies identical to the row are skipped;
* **global ranking**: Spearman's rho and the top-k Jaccard of the mean ``|phi|`` per feature over all rows, clean
  against each perturbed copy of the sample.

Per-row values are averaged over the row's copies (the Lipschitz estimate takes their maximum, as the paper does).
Intervals are percentile bootstraps over rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["RowMeasures", "bootstrap_interval", "global_interval", "global_measures", "row_measures"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class RowMeasures:
    """Per explained row (averaged over its perturbed copies): Spearman, Kendall, top-k Jaccard, Lipschitz (max)."""

    spearman: Array
    kendall: Array
    jaccard: Array
    lipschitz: Array
    undefined: int  # (row, copy) pairs whose rank correlation is undefined


def _top(magnitude: Array, k: int) -> NDArray[np.int64]:
    """The indices of the ``k`` largest values of each row (ties: the first feature first)."""
    order = np.argsort(-magnitude, axis=-1, kind="stable")
    return np.asarray(order[..., :k], dtype=np.int64)


def _jaccard(a: NDArray[np.int64], b: NDArray[np.int64], features: int) -> Array:
    """Row by row, the Jaccard index of two sets of feature indices."""
    left = np.zeros((len(a), features), dtype=bool)
    right = np.zeros((len(b), features), dtype=bool)
    np.put_along_axis(left, a, True, axis=1)
    np.put_along_axis(right, b, True, axis=1)
    both = (left & right).sum(axis=1)
    either = (left | right).sum(axis=1)
    return np.asarray(both / either, dtype=np.float64)


def _spearman(a: Array, b: Array) -> Array:
    """Row by row, Spearman's rho (Pearson's correlation of the average ranks); NaN when a row is constant."""
    from scipy.stats import rankdata

    ra = rankdata(a, axis=1) - (a.shape[1] + 1) / 2
    rb = rankdata(b, axis=1) - (b.shape[1] + 1) / 2
    norm = np.sqrt((ra * ra).sum(axis=1) * (rb * rb).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(norm > 0, (ra * rb).sum(axis=1) / norm, np.nan), dtype=np.float64)


def _kendall(a: Array, b: Array) -> Array:
    """Row by row, Kendall's tau-b (vectorised over rows: the same value as ``scipy.stats.kendalltau``, which takes
    one pair of vectors per call); NaN when a row is constant."""
    upper = np.triu_indices(a.shape[1], k=1)
    sa = np.sign(a[:, :, None] - a[:, None, :])[:, upper[0], upper[1]]
    sb = np.sign(b[:, :, None] - b[:, None, :])[:, upper[0], upper[1]]
    untied = np.sqrt((sa != 0).sum(axis=1) * (sb != 0).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(untied > 0, (sa * sb).sum(axis=1) / untied, np.nan), dtype=np.float64)


def _same_ranking(a: Array, b: Array) -> NDArray[np.bool_]:
    """Rows where both sides are constant: their (all-tied) rankings agree."""
    return np.asarray((np.ptp(a, axis=1) == 0) & (np.ptp(b, axis=1) == 0), dtype=bool)


def _mean_rows(values: Array) -> Array:
    """The mean over copies (axis 0), NaN only when every copy is NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmean(values, axis=0), dtype=np.float64)


def row_measures(clean: Array, perturbed: Array, distance: Array, top_k: int) -> RowMeasures:
    """The per-row measures of ``clean`` attributions ``(rows, features)`` against ``perturbed`` ones ``(copies,
    rows, features)``, the copies at input distance ``distance`` ``(copies, rows)`` from their rows."""
    magnitude = np.abs(clean)
    copies, rows, features = perturbed.shape
    spearman = np.empty((copies, rows))
    kendall = np.empty((copies, rows))
    jaccard = np.empty((copies, rows))
    ratio = np.full((copies, rows), np.nan)
    undefined = 0
    for c in range(copies):
        other = np.abs(perturbed[c])
        agree = _same_ranking(magnitude, other)
        spearman[c] = np.where(agree, 1.0, _spearman(magnitude, other))
        kendall[c] = np.where(agree, 1.0, _kendall(magnitude, other))
        undefined += int(np.isnan(spearman[c]).sum())
        jaccard[c] = _jaccard(_top(magnitude, top_k), _top(other, top_k), features)
        change = np.sqrt(((perturbed[c] - clean) ** 2).sum(axis=1))
        moved = distance[c] > 0
        ratio[c, moved] = change[moved] / distance[c, moved]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lipschitz = np.asarray(np.nanmax(ratio, axis=0), dtype=np.float64)
    return RowMeasures(_mean_rows(spearman), _mean_rows(kendall), jaccard.mean(axis=0), lipschitz, undefined)


def global_measures(clean: Array, perturbed: Array, top_k: int) -> dict[str, Any]:
    """The global ranking (mean ``|phi|`` per feature) of the clean rows against each perturbed copy of them: the
    Spearman correlation and top-k Jaccard per copy, and their means."""
    base = np.abs(clean).mean(axis=0)[None, :]
    spearman, jaccard = [], []
    for c in range(len(perturbed)):
        other = np.abs(perturbed[c]).mean(axis=0)[None, :]
        rho = _spearman(base, other)[0]
        spearman.append(1.0 if _same_ranking(base, other)[0] else float(rho))
        jaccard.append(float(_jaccard(_top(base, top_k), _top(other, top_k), base.shape[1])[0]))
    return {"spearman": spearman, "jaccard": jaccard}


def global_interval(
    clean: Array, perturbed: Array, replicates: int, confidence: float, rng: np.random.Generator
) -> tuple[float, float] | None:
    """A percentile bootstrap interval (rows resampled) of the global rankings' Spearman correlation, averaged over
    the copies; vectorised over replicates, in chunks."""
    rows = len(clean)
    if replicates <= 0 or rows < 2:
        return None
    magnitude, others = np.abs(clean), np.abs(perturbed)
    draws = []
    chunk = max(1, 2_000_000 // max(1, rows * clean.shape[1]))
    for start in range(0, replicates, chunk):
        at = rng.integers(0, rows, (min(chunk, replicates - start), rows))
        base = magnitude[at].mean(axis=1)
        per_copy = []
        for c in range(len(others)):
            other = others[c][at].mean(axis=1)
            per_copy.append(np.where(_same_ranking(base, other), 1.0, _spearman(base, other)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            draws.append(np.nanmean(np.stack(per_copy), axis=0))
    values = np.concatenate(draws)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None
    tail = (1 - confidence) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def bootstrap_interval(
    rows: int,
    statistic: Callable[[NDArray[np.int64]], float],
    replicates: int,
    confidence: float,
    rng: np.random.Generator,
) -> tuple[float, float] | None:
    """A percentile bootstrap interval of ``statistic(positions)`` over ``rows`` rows resampled with replacement;
    ``None`` without replicates, with fewer than two rows, or when no replicate is finite."""
    if replicates <= 0 or rows < 2:
        return None
    draws = np.array([statistic(rng.integers(0, rows, rows)) for _ in range(replicates)], dtype=np.float64)
    draws = draws[np.isfinite(draws)]
    if len(draws) == 0:
        return None
    tail = (1 - confidence) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return float(low), float(high)
