"""The flip test (FT): does a facet-d row get the prediction its facet-a neighbours get?"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from assay.metrics._neighbours import nearest

__all__ = ["flip_test", "ft_cost", "ft_seconds"]

# The measured rate behind FT's cost statement (benchmarks/RESULTS.md, "Bounded FT"): FT on 1,000,000 rows of 10
# Gaussian features, 30 % in facet d, took about 20 s on 2 cores (2.1 GHz Xeon). The search grows faster than the
# rows (a k-d tree must look at more leaves as the data fills the space: about rows^1.3 between 100k and 1M rows)
# and with the features (about features^2 between 5 and 10 on these data). Real data with clusters or few
# distinct values is often faster; the statement calls it an estimate.
_SECONDS_1M_10F_2CORES = 20.0


def ft_seconds(rows: int, features: int, cores: int) -> float:
    """A rough estimate of FT's seconds on ``rows`` rows and ``features`` features, on ``cores`` cores."""
    if rows <= 0 or features <= 0:
        return 0.0
    return float(_SECONDS_1M_10F_2CORES * (rows / 1e6) ** 1.3 * (features / 10) ** 2 * 2 / max(1, cores))


def ft_cost(rows: int, total: int, features: int, max_rows: int | None, seed: int, cores: int) -> str:
    """The cost statement made before FT starts: rows (sampled or not) x features, and the estimated time."""
    if rows < total:
        which = f"{rows:,} rows (a random sample of the {total:,}, seed {seed}; --ft-exact uses every row)"
    elif max_rows is None:
        which = f"{rows:,} rows (every row: exact run)"
    else:
        which = f"{rows:,} rows (every row: at most {max_rows:,} are used)"
    estimate = _duration(ft_seconds(rows, features, cores))
    return (
        f"FT cost: {which} x {features} features; estimated {estimate} on {cores} core{'s' if cores != 1 else ''} "
        "(--metrics without FT skips it)"
    )


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under 1 s"
    if seconds < 120:
        return f"about {seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def _neighbour_votes(
    xa: NDArray[np.float64], ya: NDArray[np.bool_], xd: NDArray[np.float64], k: int
) -> NDArray[np.bool_]:
    """The majority prediction of each facet-d row's k nearest facet-a rows, as Clarify's k-NN gives it.

    ``nearest`` finds the neighbours exactly, on every core (see ``assay.metrics._neighbours``). Where the k
    nearest rows are unique, every exact search agrees; where the k-th and (k+1)-th distances tie, which row
    counts depends on the search, so those rows are asked of scikit-learn's ``KNeighborsClassifier`` with
    Clarify's settings instead.
    """
    from sklearn.neighbors import KNeighborsClassifier

    wanted = min(k + 1, len(xa))
    dist, idx = nearest(xa, xd, wanted)
    votes: NDArray[np.bool_] = ya[idx[:, :k]].sum(axis=1) * 2 > k  # k is odd: no tied votes
    tied = dist[:, k - 1] == dist[:, k] if wanted > k else np.zeros(len(xd), dtype=bool)
    if tied.any():
        knn = KNeighborsClassifier(n_neighbors=k, weights="uniform", p=2, metric="minkowski")
        knn.fit(xa, ya)
        votes[tied] = np.asarray(knn.predict(xd[tied]), dtype=bool)
    return votes


def flip_test(
    features: NDArray[np.float64] | Sequence[NDArray[np.float64]],
    in_d: NDArray[np.bool_],
    predicted: NDArray[np.bool_],
) -> tuple[float | None, str | None]:
    """Clarify's FT: k-NN (k = 5, or 1 when facet a has <= 9 rows; Euclidean, unscaled) fitted on facet a.

    ``features`` is the (row, feature) matrix, or its columns: then the whole matrix is never built, only facet
    a's and facet d's rows (the same arrays), which keeps a large run's memory down by one copy of the features.
    Returns ``(value, None)`` or ``(None, reason)``. Sign as Clarify's code:
    ``(#{d: yhat = 1, knn = 0} - #{d: yhat = 0, knn = 1}) / n_d``.
    """
    if isinstance(features, np.ndarray):
        width = features.shape[1]
        matrix = features

        def rows(mask: NDArray[np.bool_]) -> NDArray[np.float64]:
            return matrix[mask]
    else:
        width = len(features)
        columns = features

        def rows(mask: NDArray[np.bool_]) -> NDArray[np.float64]:
            return np.column_stack([column[mask] for column in columns])

    n_d = int(in_d.sum())
    n_a = int((~in_d).sum())
    if n_d == 0:
        return None, "facet d (the sensitive group) has no rows"
    if n_a == 0:
        return None, "facet a (every other row) has no rows"
    if width == 0:
        return None, "no numeric feature column for the nearest-neighbour search (give --features)"
    k = 5 if n_a > 9 else 1
    if_a = _neighbour_votes(rows(~in_d), predicted[~in_d], rows(in_d), k)
    model = predicted[in_d]
    flipped_pos = int(np.sum(model & ~if_a))
    flipped_neg = int(np.sum(~model & if_a))
    return (flipped_pos - flipped_neg) / n_d, None
